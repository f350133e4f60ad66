"""Analyses every pass and backend may need, built on the node kinds: the network's cost totals
(`network`: II, latency, FIFO sizing) over the per-node costs of `dfcc.kinds.cost`; the cycle-level
simulation of the generated pipeline (`schedules`, `simulation`) and the FIFO depths it needs
(`fifo_sizing`)."""
