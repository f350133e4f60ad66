"""Stream FIFOs of an explored design moved out of BRAM where it is over budget, written into the IR.

Explore's search costs only the skip FIFOs (and moves them with the storage rule, analyses/fifo_memory.py);
FIFO sizing then deepens other streams too. `place_ir_fifos` applies the same rule to every FIFO the IR holds,
the memories already written staying, and records each one it moves in its stream type.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.rewriter import Rewriter

from dfcc.analyses.network import Network, Totals


def place_ir_fifos(module: ModuleOp, limits: dict[str, float]) -> Totals:
    """The design's totals at its IR depths with its FIFOs placed within `limits` (per resource)."""
    network = Network.from_module(module)
    totals = network.evaluate(network.ir_choices(), respect_ir_depths=True, fifo_limits=limits)
    for e, memory in totals.fifo_memories.items():
        value = network.edges[e].value
        if value.type.memory.data != memory:
            Rewriter.replace_value_with_new_type(value, value.type.with_memory(memory))
    return totals
