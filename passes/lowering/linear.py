"""linalg.matmul / batch_matmul by constant weights (shared by the batch) -> `dataflow.linear` (of two
activations: `matmul.py`)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.linalg import ops as linalg

from dfcc import kinds
from dfcc.dialects.linalg_extra import BatchMatmulOp
from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Act, Lowering, location, lowers, per_channel_bias
from dfcc.passes.lowering.matmul import lower_stream_matmul


@lowers(linalg.MatmulOp, BatchMatmulOp)
def on_matmul(lw: Lowering, op: linalg.MatmulOp | BatchMatmulOp) -> None:
    lhs, rhs = op.inputs
    if isinstance(lw.values.get(lhs), np.ndarray):
        raise DfccError(f"{location(op)}: a constant left operand is not supported", "lower-to-dataflow")
    if not isinstance(lw.values.get(rhs), np.ndarray):
        lower_stream_matmul(lw, op)
        return
    weights, init = lw.const(rhs, op), lw.const(op.outputs[0], op)
    shape = op.results[0].type.get_shape()
    if isinstance(op, BatchMatmulOp):
        _batch_shared(weights, init, op)
        weights, init = weights[0], init[0]
        act = lw.relayout(lw.act(lhs, op), (0, 1, 2))
        act = lw.reshape(act, (act.shape[0] * act.shape[1], act.shape[2]))
    else:
        act = lw.relayout(lw.act(lhs, op), (0, 1))
    name = lw.fresh("linear")
    bias = per_channel_bias(init[None], op)
    node = lw.emit(kinds.LinearOp(act.stream, lw.weights(np.ascontiguousarray(weights.T), f"{name}_w"),
                                  None if bias is None else lw.weights(bias, f"{name}_b"), name=name))
    out = Act(node.output, (act.shape[0], weights.shape[1]), (0, 1))
    lw.values[op.results[0]] = out if len(shape) == 2 else lw.reshape(out, shape)


def _batch_shared(weights: np.ndarray, init: np.ndarray, op: BatchMatmulOp) -> None:
    """A batched product by constants is one linear layer over all rows when every batch entry has the
    same weights and init (a linear layer on a rank-3 activation, as MobileViT's patch transformer)."""
    if not (np.array_equal(weights, np.broadcast_to(weights[:1], weights.shape))
            and np.array_equal(init, np.broadcast_to(init[:1], init.shape))):
        raise DfccError(f"{location(op)}: batched matmul with different constant weights per batch entry",
                        "lower-to-dataflow")
