"""linalg.matmul / batch_matmul by constant weights -> `dataflow.linear` (of two activations:
`matmul.py`)."""

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
    if isinstance(op, BatchMatmulOp):
        raise DfccError(f"{location(op)}: batched matmul with constant weights per batch entry", "lower-to-dataflow")
    act = lw.relayout(lw.act(lhs, op), (0, 1))
    name = lw.fresh("linear")
    init = lw.const(op.outputs[0], op)
    bias = per_channel_bias(init[None], op)
    node = lw.emit(kinds.LinearOp(act.stream, lw.weights(np.ascontiguousarray(lw.const(rhs, op).T), f"{name}_w"),
                                  None if bias is None else lw.weights(bias, f"{name}_b"), name=name))
    lw.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), (0, 1))
