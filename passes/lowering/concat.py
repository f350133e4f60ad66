"""tensor.concat of activations -> `dataflow.concat` (constants joined in: a pad and an add)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import DenseArrayBase, Float32Type, StringAttr, i32
from xdsl.ir import Block, Region

from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Act, Lowering, location, lowers
from dfcc.passes.lowering.loops import param_array


@lowers(tensor.ConcatOp)
def on_concat(lw: Lowering, op: tensor.ConcatOp) -> None:
    dim = op.dim.value.data
    items = [lw.values.get(v) for v in op.inputs]
    if all(isinstance(item, np.ndarray) for item in items):
        lw.values[op.result] = np.concatenate(items, axis=dim)
        return
    if any(isinstance(item, np.ndarray) for item in items):
        _concat_constants(lw, op, dim, items)
        return
    acts = [lw.act(v, op) for v in op.inputs]
    perm = acts[0].perm
    streams = [lw.relayout(a, perm).stream for a in acts]
    node = lw.emit(kinds.ConcatOp(streams, perm.index(dim), lw.fresh("concat")))
    lw.values[op.result] = Act(node.output, op.result.type.get_shape(), perm)


def _concat_constants(lw: Lowering, op: tensor.ConcatOp, dim: int, items: list) -> None:
    """Constants joined with an activation (a class token before the patch tokens): the activation
    padded with zeros along `dim`, plus a parameter holding the constants there and zeros elsewhere."""
    is_const = [isinstance(item, np.ndarray) for item in items]
    first, last = is_const.index(False), len(is_const) - 1 - is_const[::-1].index(False)
    if not all(not c for c in is_const[first:last + 1]):
        raise DfccError(f"{location(op)}: constants between activations in a concatenation", "lower-to-dataflow")
    acts = [lw.act(v, op) for v in op.inputs[first:last + 1]]
    perm = acts[0].perm
    streams = [lw.relayout(a, perm).stream for a in acts]
    stream = streams[0] if len(streams) == 1 else lw.emit(kinds.ConcatOp(streams, perm.index(dim), lw.fresh("concat"))).output
    before, after = (sum(item.shape[dim] for item in items[a:b]) for a, b in ((0, first), (last + 1, len(items))))
    pad = [x for p in perm for x in ((before, after) if p == dim else (0, 0))]
    padded = lw.emit(kinds.PadOp(stream, pad, "constant", lw.fresh("pad"), 0.0)).output
    out_shape = op.result.type.get_shape()
    constants = np.concatenate([item if c else np.zeros(v.type.get_shape(), np.float32)
                                for item, c, v in zip(items, is_const, op.inputs)], axis=dim).astype(np.float32)
    param = lw.weights(param_array(constants, perm), lw.fresh("param"))
    block = Block(arg_types=[padded.type.element_type, Float32Type()])
    add = arith.AddfOp(block.args[0], block.args[1])
    block.add_op(add)
    block.add_op(kinds.YieldOp(add.result))
    node = kinds.MapOp.create(
        operands=[padded, param], result_types=[df.StreamType([out_shape[p] for p in perm], padded.type.element_type)],
        regions=[Region(block)],
        properties={"name": StringAttr(lw.fresh("map")), "operandSegmentSizes": DenseArrayBase.from_list(i32, [1, 1])})
    lw.emit(node)
    lw.values[op.result] = Act(node.output, out_shape, perm)
