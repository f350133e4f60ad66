"""Pure data movement (tensor.pad, extract_slice, insert_slice, index-computing generics): recorded as
a `Gathered` activation, built as `dataflow.slice` / `resize` / `pad` nodes when a compute op reads it
(`Lowering.materialize`), or folded into the window node reading it."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import tensor
from xdsl.dialects.linalg import ops as linalg

from dfcc.dialects.scalar_body import evaluate_body
from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Act, Gathered, Lowering, Padded, location, lowers
from dfcc.passes.lowering.loops import loop_aligned, loop_indices, loop_shape_of, outer_scalar, to_output


@lowers(tensor.PadOp)
def on_pad(lw: Lowering, op: tensor.PadOp) -> None:
    low, high = list(op.static_low.get_values()), list(op.static_high.get_values())
    yielded = op.region.block.last_op.operands[0]
    pad_value = float(lw.values[yielded]) if yielded in lw.values else None
    if pad_value is None or any(v < 0 for v in low + high):
        lw.reject(op, name="tensor.pad (non-constant or negative padding)")
        return
    item = lw.values.get(op.source)
    if isinstance(item, np.ndarray):
        lw.values[op.result] = np.pad(item, list(zip(low, high)), constant_values=pad_value)
    elif isinstance(item, Act) and len(low) == 4 and low[:2] == [0, 0] and high[:2] == [0, 0]:
        lw.values[op.result] = Padded(item, (low[2], high[2], low[3], high[3]), pad_value)
    else:
        g = lw.gathered(op.source, op)
        fill = pad_value if g.fill in (None, pad_value) and not (g.index < 0).any() or g.fill == pad_value else None
        lw.values[op.result] = Gathered(g.act, np.pad(g.index, list(zip(low, high)), constant_values=-1), fill)


def _slices(op) -> tuple[slice, ...]:
    return tuple(slice(o, o + st * (n - 1) + 1, st) for o, n, st in
                 zip(op.static_offsets.get_values(), op.static_sizes.get_values(), op.static_strides.get_values()))


@lowers(tensor.ExtractSliceOp)
def on_extract_slice(lw: Lowering, op: tensor.ExtractSliceOp) -> None:
    item, shape = lw.values.get(op.source), op.result.type.get_shape()
    if isinstance(item, np.ndarray):
        lw.values[op.result] = item[_slices(op)].reshape(shape)
        return
    g = lw.gathered(op.source, op)
    sliced = Gathered(g.act, g.index[_slices(op)], g.fill)
    if sliced.index.ndim == len(shape):
        lw.values[op.result] = sliced
    else:  # rank-reducing slice
        lw.values[op.result] = lw.reshape(lw.resolve(sliced, op), shape)


@lowers(tensor.InsertSliceOp)
def on_insert_slice(lw: Lowering, op: tensor.InsertSliceOp) -> None:
    dest, source = lw.values.get(op.dest), lw.values.get(op.source)
    sizes = tuple(op.static_sizes.get_values())
    if isinstance(dest, np.ndarray) and isinstance(source, np.ndarray):
        result = np.array(dest)
        result[_slices(op)] = source.reshape(sizes)
        lw.values[op.result] = result
        return
    if isinstance(source, np.ndarray):
        raise DfccError(f"{location(op)}: inserting constants into an activation", "lower-to-dataflow")
    src = lw.gathered(op.source, op)
    if isinstance(dest, np.ndarray):
        uniform = dest.size and np.all(dest == dest.flat[0])
        index, fill = np.full(dest.shape, -1, np.int64), float(dest.flat[0]) if uniform else None
    else:
        into = lw.gathered(op.dest, op)
        if into.act.stream is not src.act.stream or into.act.shape != src.act.shape:
            raise DfccError(f"{location(op)}: inserting one activation into another (use a concatenation)", "lower-to-dataflow")
        index, fill = np.array(into.index), into.fill
    index[_slices(op)] = src.index.reshape(sizes)
    if (src.index < 0).any() and src.fill != fill:
        fill = None
    lw.values[op.result] = Gathered(src.act, index, fill)


def lower_gather(lw: Lowering, op: linalg.GenericOp) -> None:
    """A generic copying activation elements by computed indices (upsampling, padding modes)."""
    body = op.body.block
    yielded = body.last_op.operands[0].owner
    extracts = [inner for inner in body.ops if inner.name == "tensor.extract"
                and not isinstance(lw.values.get(inner.operands[0]), np.ndarray)]
    if len(extracts) != 1 or yielded is not extracts[0] or len(op.results) != 1:
        raise DfccError(f"{location(op)}: computes with gathered activation elements", "lower-to-dataflow")
    source = lw.gathered(yielded.operands[0], op)
    loop_shape = loop_shape_of(op)
    maps = [m.data for m in op.indexing_maps.data]
    args = [loop_aligned(lw.const(v, op), m, loop_shape, op) for v, m in zip([*op.inputs, *op.outputs], maps)]
    constants = outer_scalar(lw, op, tensors=True)
    lookup = lambda value: source.index if value is yielded.operands[0] else constants(value)  # noqa: E731
    (index,) = evaluate_body(body, args, lookup, loop_indices(loop_shape))
    lw.values[op.results[0]] = Gathered(source.act, to_output(index, maps[-1], loop_shape, op.results[0]).astype(np.int64), source.fill)
