"""A product of two activations (attention) -> `dataflow.matmul`."""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation

from dfcc import kinds
from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Act, Lowering, location


def lower_stream_matmul(lw: Lowering, op: Operation) -> None:
    """Product of two activations (attention): a matmul node reading both streams row-major."""
    if np.any(lw.const(op.outputs[0], op)):
        raise DfccError(f"{location(op)}: a matmul of activations must start from zero", "lower-to-dataflow")
    rank = len(op.results[0].type.get_shape())
    lhs, rhs = (lw.relayout(lw.act(v, op), tuple(range(rank))) for v in op.inputs)
    node = lw.emit(kinds.MatmulOp(lhs.stream, rhs.stream, lw.fresh("matmul")))
    lw.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), tuple(range(rank)))
