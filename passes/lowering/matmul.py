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
    token-major K read as Kᵀ), else after a relayout (`_lhs_order`)."""
    if np.any(lw.const(op.outputs[0], op)):
        raise DfccError(f"{location(op)}: a matmul of activations must start from zero", "lower-to-dataflow")
    rank = len(op.results[0].type.get_shape())
    logical = tuple(range(rank))
    lhs, rhs = (lw.act(v, op) for v in op.inputs)
    if layout_error(lhs.stream.type.get_shape(), lhs.perm, rhs.shape, logical) is not None:
        lhs = lw.relayout(lhs, _lhs_order(lhs.shape, rhs))
    if layout_error(lhs.stream.type.get_shape(), lhs.perm, rhs.stream.type.get_shape(), rhs.perm) is not None:
        rhs = lw.relayout(rhs, logical)
    node = lw.emit(kinds.MatmulOp(lhs.stream, rhs.stream, lw.fresh("matmul"), lhs.perm, rhs.perm))
    lw.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), lhs.perm)


def _lhs_order(shape, rhs: Act) -> tuple[int, ...]:
    """The order a left operand is relaid out to: rows before the batch dims (token-major heads)
    when the right operand can then be read as it streams (its batch dims not first: one block of
    rows, `layout_error`), so one transpose is built instead of two; else logical order."""
    rank, rhs_stream = len(shape), rhs.stream.type.get_shape()
    logical, rows_first = tuple(range(rank)), (rank - 2, *range(rank - 2), rank - 1)
    if layout_error([shape[d] for d in rows_first], rows_first, rhs_stream, rhs.perm) is None and \
            layout_error(list(shape), logical, rhs_stream, rhs.perm) is not None:
        return rows_first
    return logical
