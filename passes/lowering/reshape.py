"""tensor.expand_shape / collapse_shape / cast and linalg.transpose: a new view of an activation, a
`dataflow.reshape` or `dataflow.transpose` when its stream order changes."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import tensor
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Operation

from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Act, Grouped, Lowering, Padded, location, logical_shape, lowers, ungrouped


@lowers(tensor.ExpandShapeOp, tensor.CollapseShapeOp)
def on_reshape(lw: Lowering, op: Operation) -> None:
    result = op.results[0]
    shape = result.type.get_shape()
    item = lw.values.get(op.operands[0])
    if isinstance(item, np.ndarray):
        lw.values[result] = item.reshape(shape)
    elif isinstance(item, Grouped) and shape == ungrouped(item.shape):
        lw.values[result] = item.item
    elif isinstance(item, (Act, Padded)) and len(item_shape := logical_shape(item)) == 4 and len(shape) == 5 \
            and ungrouped(shape) == item_shape:
        lw.values[result] = Grouped(item, shape)  # N x C x H x W viewed as N x G x C/G x H x W
    else:
        lw.values[result] = lw.reshape(lw.act(op.operands[0], op), shape)


@lowers(tensor.CastOp)
def on_cast(lw: Lowering, op: tensor.CastOp) -> None:
    """A cast that only forgets static sizes (torch.roll's halves before their concat): the same value."""
    known, target = op.source.type.get_shape(), op.dest.type.get_shape()
    if any(k < 0 for k in known) or len(target) != len(known) or any(t >= 0 and t != k for t, k in zip(target, known)):
        raise DfccError(f"{location(op)}: tensor.cast from {op.source.type} to {op.dest.type} is not a cast to "
                        "unknown sizes of a static tensor (streams have static sizes)", "lower-to-dataflow")
    lw.values[op.dest] = lw.values[op.source]


@lowers(linalg.TransposeOp)
def on_transpose(lw: Lowering, op: linalg.TransposeOp) -> None:
    perm = tuple(op.permutation.get_values())
    item = lw.values.get(op.inputs[0])
    if isinstance(item, np.ndarray):
        lw.values[op.results[0]] = np.transpose(item, perm)
        return
    act = lw.act(op.inputs[0], op)
    lw.values[op.results[0]] = Act(act.stream, tuple(act.shape[p] for p in perm), tuple(perm.index(p) for p in act.perm))
