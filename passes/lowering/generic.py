"""linalg.generic: folded when it reads constants only, otherwise a map (`map.py`), reduce
(`reduce.py`), gather (`gather.py`) or embedding lookup (`embedding.py`) by what its body and
iterators do."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.linalg.attrs import IteratorType
from xdsl.ir.affine import AffineDimExpr

from dfcc.dialects.scalar_body import INDEXING_OPS, SUPPORTED_SCALAR_OPS, evaluate_body
from dfcc.dialects.linalg_extra import GenericOp
from dfcc.passes.lowering.core import Lowering, lowers
from dfcc.passes.lowering.loops import loop_aligned, loop_indices, loop_shape_of, outer_scalar, to_output
from dfcc.passes.lowering.embedding import lower_embedding
from dfcc.passes.lowering.gather import lower_gather
from dfcc.passes.lowering.map import lower_map
from dfcc.passes.lowering.reduce import lower_reduction


@lowers(GenericOp, linalg.GenericOp)
def on_generic(lw: Lowering, op: linalg.GenericOp) -> None:
    body = op.body.block
    for inner in body.ops:
        if inner.name not in SUPPORTED_SCALAR_OPS | INDEXING_OPS and inner.name != "linalg.yield":
            lw.reject(op, name=f"{inner.name} (inside linalg.generic)")
            return
    items = [lw.values.get(v) for v in op.inputs]
    reads_activation = any(inner.name == "tensor.extract" and not isinstance(lw.values.get(inner.operands[0]), np.ndarray)
                           for inner in body.ops)
    reduction = any(it.data == IteratorType.REDUCTION for it in op.iterator_types.data)
    if _looks_up_table(lw, op):
        lower_embedding(lw, op)
    elif reduction and all(isinstance(item, np.ndarray) for item in items):
        _fold_reduction(lw, op)
    elif reduction:
        lower_reduction(lw, op)
    elif reads_activation:
        lower_gather(lw, op)
    elif all(isinstance(item, np.ndarray) for item in items):
        _fold_generic(lw, op)
    else:
        lower_map(lw, op)


def _looks_up_table(lw: Lowering, op: linalg.GenericOp) -> bool:
    """Whether the body reads a constant tensor at positions computed from an activation input."""
    body = op.body.block
    derived = {arg for arg, v in zip(body.args, op.inputs) if not isinstance(lw.values.get(v), np.ndarray)}
    for inner in body.ops:
        if (inner.name == "tensor.extract" and isinstance(lw.values.get(inner.operands[0]), np.ndarray)
                and any(v in derived for v in inner.operands[1:])):
            return True
        if any(v in derived for v in inner.operands):
            derived.update(inner.results)
    return False


def _fold_generic(lw: Lowering, op: linalg.GenericOp) -> None:
    loop_shape = loop_shape_of(op)
    maps = [m.data for m in op.indexing_maps.data]
    if any(a for a in [m for m in maps[-1].results if not isinstance(m, AffineDimExpr)]):
        lw.reject(op, name="linalg.generic (broadcasting output map)")
        return
    args = [loop_aligned(lw.values[v], m, loop_shape, op) for v, m in zip(op.inputs, maps)]
    args += [loop_aligned(lw.const(v, op), m, loop_shape, op) for v, m in zip(op.outputs, maps[len(op.inputs):])]
    (result,) = evaluate_body(op.body.block, args, outer_scalar(lw, op, tensors=True), loop_indices(loop_shape))
    lw.values[op.results[0]] = to_output(result, maps[-1], loop_shape, op.results[0])


def _fold_reduction(lw: Lowering, op: linalg.GenericOp) -> None:
    """A reduction of constants, evaluated one reduction position at a time (accumulators in the loop space)."""
    loop_shape = loop_shape_of(op)
    maps = [m.data for m in op.indexing_maps.data]
    reduced = [d for d, it in enumerate(op.iterator_types.data) if it.data == IteratorType.REDUCTION]
    ins = [np.broadcast_to(loop_aligned(lw.values[v], m, loop_shape, op), loop_shape)
           for v, m in zip(op.inputs, maps)]
    n_in = len(op.inputs)
    acc_shape = tuple(1 if d in reduced else n for d, n in enumerate(loop_shape))
    accs = [np.broadcast_to(loop_aligned(lw.const(v, op), m, loop_shape, op), acc_shape)
            for v, m in zip(op.outputs, maps[n_in:])]
    grids = loop_indices(loop_shape)
    for position in np.ndindex(*(loop_shape[d] for d in reduced)):
        at = dict(zip(reduced, position))
        take = tuple(slice(at[d], at[d] + 1) if d in at else slice(None) for d in range(len(loop_shape)))
        indices = [np.full((1,) * len(loop_shape), at[d]) if d in at else grid for d, grid in enumerate(grids)]
        accs = evaluate_body(op.body.block, [x[take] for x in ins] + accs, outer_scalar(lw, op, tensors=True), indices)
    for result, acc, out_map in zip(op.results, accs, maps[n_in:]):
        lw.values[result] = to_output(np.broadcast_to(acc, acc_shape), out_map, acc_shape, result)
