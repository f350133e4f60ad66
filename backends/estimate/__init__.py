"""The `-t estimate` report (`report`) of the network totals (`dfcc.analyses.network`: II,
latency, FIFO sizing) over each node's cost (its kind's, `dfcc.kinds.cost`)."""

from dfcc.kinds.cost import NodeCost, NodeModel, describe, node_cost
from dfcc.analyses.network import Network, Totals
from dfcc.backends.estimate.report import Estimate, run_estimate

__all__ = ["Estimate", "Network", "NodeCost", "NodeModel", "Totals", "describe", "node_cost",
           "run_estimate"]
