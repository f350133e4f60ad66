"""Token embedding (nn.Embedding, torch.embedding): a linalg.generic whose body reads a constant
table at a row given by an integer activation, torch-mlir's lowering of the gather,
becomes a `dataflow.embedding` node. A lookup at constant positions (position ids from an
arange) reads constants only and is folded like any constant generic."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import IntegerType
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import BlockArgument, SSAValue
from xdsl.ir.affine import AffineDimExpr

from dfcc import kinds
from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Act, Lowering, location

_ID_CASTS = {"arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui", "arith.trunci"}


def _traced(value: SSAValue) -> SSAValue:
    """The value an index is an integer cast of (itself when it is not a cast)."""
    while not isinstance(value, BlockArgument) and value.owner.name in _ID_CASTS:
        value = value.owner.operands[0]
    return value


def _loop_dim(value: SSAValue) -> int | None:
    owner = value.owner if not isinstance(value, BlockArgument) else None
    return owner.dim.value.data if owner is not None and owner.name == "linalg.index" else None


def lower_embedding(lw: Lowering, op: linalg.GenericOp) -> None:
    """out[i..., d] = table[ids[i...], d] (or the table's transpose) as one embedding node."""
    def refuse(why: str) -> DfccError:
        return DfccError(f"{location(op)}: a lookup in a constant table indexed by activation values is only "
                         f"supported as a token embedding (out[..., d] = table[ids[...], d]): {why}", "lower-to-dataflow")

    body = op.body.block
    extract = body.last_op.operands[0].owner
    if len(op.results) != 1 or isinstance(body.last_op.operands[0], BlockArgument) or extract.name != "tensor.extract":
        raise refuse("the body computes with the looked-up value")
    table = lw.values.get(extract.operands[0])
    if not isinstance(table, np.ndarray) or table.ndim != 2:
        raise refuse("the table is not a constant matrix")
    activations = [(arg, value) for arg, value in zip(body.args, op.inputs) if not isinstance(lw.values.get(value), np.ndarray)]
    if len(activations) != 1:
        raise refuse("more than one activation input")
    ids_arg, ids_value = activations[0]
    row, col = (_traced(v) for v in extract.operands[1:])
    if col is ids_arg and row is not ids_arg:
        table, row, col = table.T, col, row
    rank = len(op.results[0].type.get_shape())
    out_map, ids_map = op.indexing_maps.data[-1].data, op.indexing_maps.data[list(op.inputs).index(ids_value)].data
    identity = all(isinstance(e, AffineDimExpr) and e.position == d for d, e in enumerate(out_map.results))
    ids_dims = [e.position if isinstance(e, AffineDimExpr) else None for e in ids_map.results]
    if row is not ids_arg or _loop_dim(col) != rank - 1 or not identity or ids_dims != list(range(rank - 1)):
        raise refuse("the row is not an id of the input at the same position, or the column not the last loop")
    ids = lw.act(ids_value, op)
    if not isinstance(ids.stream.type.element_type, IntegerType):
        raise refuse("the ids are computed values, not an integer input")
    ids = lw.relayout(ids, tuple(range(len(ids.shape))))
    node = lw.emit(kinds.EmbeddingOp(ids.stream, lw.weights(np.ascontiguousarray(table, dtype=np.float32), lw.fresh("table")),
                                     lw.fresh("embedding")))
    lw.values[op.results[0]] = Act(node.output, tuple(op.results[0].type.get_shape()), tuple(range(rank)))
