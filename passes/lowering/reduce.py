"""Reducing linalg.generic (sum, max, any/all of masks) -> `dataflow.reduce`."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.builtin import Float32Type, i1
from xdsl.ir.affine import AffineDimExpr

from dfcc import kinds
from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Act, Lowering, location
from dfcc.passes.lowering.map import compare_constant, select_constants, unary_map


def lower_reduction(lw: Lowering, op: linalg.GenericOp) -> None:
    """A sum / max (or any / all of a mask) over some dims as a reduce node."""
    body = op.body.block
    combiner = body.last_op.operands[0].owner
    reduction_kinds = {"arith.addf": "sum", "arith.maximumf": "max", "arith.maxnumf": "max", "arith.ori": "any", "arith.andi": "all"}
    out_arg = body.args[len(op.inputs)]
    # torch-mlir's max reduction also computes the argmax; dropped when nobody reads it.
    extra_unused = len(op.results) > 1 and all(not r.uses for r in op.results[1:])
    if (len(op.inputs) != 1 or (len(list(body.ops)) != 2 and not extra_unused) or combiner.name not in reduction_kinds
            or out_arg not in combiner.operands or body.args[0] not in combiner.operands):
        lw.reject(op, name="linalg.generic (reduction other than sum or max)")
        return
    kind = reduction_kinds[combiner.name]
    if kind in ("any", "all") and combiner.results[0].type != i1:
        lw.reject(op, name="linalg.generic (bitwise reduction of integers)")
        return
    init = lw.const(op.outputs[0], op)
    expected = {"sum": 0.0, "max": -np.inf, "any": 0, "all": 1}[kind]
    if not np.all(init == expected):
        raise DfccError(f"{location(op)}: reduction starts from a non-neutral value", "lower-to-dataflow")
    act = lw.act(op.inputs[0], op)
    maps = [m.data for m in op.indexing_maps.data]
    if [e.position for e in maps[0].results if isinstance(e, AffineDimExpr)] != list(range(len(act.shape))):
        lw.reject(op, name="linalg.generic (reduction with a permuting input map)")
        return
    kept = {e.position for e in maps[1].results if isinstance(e, AffineDimExpr)}
    reduced = [d for d in range(len(act.shape)) if d not in kept]
    out_shape = op.results[0].type.get_shape()
    if all(act.shape[d] == 1 for d in reduced):  # over one element (adaptive pooling's unit windows): no node
        lw.values[op.results[0]] = act if act.shape == out_shape else lw.reshape(act, out_shape)
        return
    if kind in ("any", "all"):  # of a mask: a max over 1.0 where the mask holds (any) or fails (all)
        act = unary_map(lw, act, Float32Type(), lambda block, x: select_constants(block, x, *((1.0, 0.0) if kind == "any" else (0.0, 1.0))))
    node_kind = "max" if kind in ("any", "all") else kind
    node = lw.emit(kinds.ReduceOp(act.stream, name=lw.fresh(f"reduce_{node_kind}"), kind=node_kind,
                                  dims=sorted(act.perm.index(d) for d in reduced)))
    kept_shape = tuple(1 if d in reduced else s for d, s in enumerate(act.shape))
    result = Act(node.output, kept_shape, act.perm)
    if kind in ("any", "all"):
        predicate = "ogt" if kind == "any" else "olt"
        result = unary_map(lw, result, i1, lambda block, x: compare_constant(block, x, predicate, 0.5))
    lw.values[op.results[0]] = result if kept_shape == out_shape else lw.reshape(result, out_shape)
