"""Analyses every pass and backend may need, built on the node kinds: the network's cost totals
(`network`: II, latency, FIFO sizing) over the per-node costs of `dfcc.kinds.cost`."""
