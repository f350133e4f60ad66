"""A product of two activations (attention) -> `dataflow.matmul`."""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation

from dfcc import kinds
from dfcc.errors import DfccError
from dfcc.kinds.matmul import layout_error
from dfcc.passes.lowering.core import Act, Lowering, location


def lower_stream_matmul(lw: Lowering, op: Operation) -> None:
    """Product of two activations (attention): a matmul node reading each stream in the order it
    comes when the node has a stage for that order (heads split off a token-major projection, a
    token-major K read as Kᵀ), else after a relayout to logical order."""
    if np.any(lw.const(op.outputs[0], op)):
        raise DfccError(f"{location(op)}: a matmul of activations must start from zero", "lower-to-dataflow")
    rank = len(op.results[0].type.get_shape())
    logical = tuple(range(rank))
    lhs, rhs = (lw.act(v, op) for v in op.inputs)
    if layout_error(lhs.stream.type.get_shape(), lhs.perm, rhs.shape, logical) is not None:
        lhs = lw.relayout(lhs, logical)
    if layout_error(lhs.stream.type.get_shape(), lhs.perm, rhs.stream.type.get_shape(), rhs.perm) is not None:
        rhs = lw.relayout(rhs, logical)
    node = lw.emit(kinds.MatmulOp(lhs.stream, rhs.stream, lw.fresh("matmul"), lhs.perm, rhs.perm))
    lw.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), lhs.perm)
