"""Cycle and resource estimates of dataflow IR: the per-node model (`model`), network totals
(`network`: II, latency, FIFO sizing) and the `-t estimate` report (`report`)."""

from dfcc.backends.estimate.model import NodeCost, NodeModel, describe, node_cost, node_model
from dfcc.backends.estimate.network import Network, Totals
from dfcc.backends.estimate.report import Estimate, run_estimate

__all__ = ["Estimate", "Network", "NodeCost", "NodeModel", "Totals", "describe", "node_cost", "node_model",
           "run_estimate"]
