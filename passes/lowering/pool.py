"""linalg max / sum pooling -> `dataflow.pool`, padding folded in."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Operation

from dfcc import kinds
from dfcc.dialects.linalg_extra import PoolingNchwSumOp
from dfcc.passes.lowering.core import NCHW_TO_STREAM, Act, Lowering, lowers


def _pool(lw: Lowering, op: Operation, kind: str, pad_value: float) -> None:
    act, pad = lw.window_input(op.inputs[0], op, pad_value)
    kernel = op.inputs[1].type.get_shape()
    act, pad = lw.fit_window(act, pad, kernel, tuple(op.strides.get_values()), tuple(op.dilations.get_values()),
                             op.results[0].type.get_shape()[2:], op)
    node = lw.emit(kinds.PoolOp(act.stream, name=lw.fresh(f"{kind}pool"), kind=kind, kernel=kernel,
                                stride=tuple(op.strides.get_values()), dilation=tuple(op.dilations.get_values()), pad=pad))
    lw.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), NCHW_TO_STREAM)


@lowers(linalg.PoolingNchwMaxOp)
def on_max_pool(lw: Lowering, op: linalg.PoolingNchwMaxOp) -> None:
    _pool(lw, op, "max", -np.inf)


@lowers(PoolingNchwSumOp)
def on_sum_pool(lw: Lowering, op: PoolingNchwSumOp) -> None:
    _pool(lw, op, "sum", 0.0)
