"""The loop space of a linalg.generic: how its operands align with the loops, and results laid out
back as tensors (shared by the element-wise, reduction and gather lowerings)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.builtin import AnyFloat
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr

from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Lowering, location


def loop_indices(loop_shape: tuple[int, ...]) -> list[np.ndarray]:
    """Broadcastable index grids of a loop nest (what `linalg.index d` reads)."""
    return [np.arange(n).reshape([-1 if a == d else 1 for a in range(len(loop_shape))]) for d, n in enumerate(loop_shape)]


def loop_aligned(array_or_shape, affine_map, loop_shape, op) -> tuple[int, ...] | np.ndarray:
    """An operand viewed in the loop space: its dims moved to the loop dims its map names."""
    exprs = affine_map.results
    dims = []
    for expr in exprs:
        if isinstance(expr, AffineDimExpr):
            dims.append(expr.position)
        elif isinstance(expr, AffineConstantExpr) and expr.value == 0:
            dims.append(None)
        else:
            raise DfccError(f"{location(op)}: indexing map {affine_map} is not a permutation or broadcast", "lower-to-dataflow")
    used = [d for d in dims if d is not None]
    if isinstance(array_or_shape, np.ndarray):
        array = array_or_shape.reshape([s for s, d in zip(array_or_shape.shape, dims) if d is not None])
        order = sorted(range(len(used)), key=lambda i: used[i])
        array = np.transpose(array, order)
        full = [loop_shape[d] if d in used else 1 for d in range(len(loop_shape))]
        return array.reshape(full)
    if used != sorted(used):
        raise DfccError(f"{location(op)}: a transposing indexing map on an activation is not supported", "lower-to-dataflow")
    return tuple(loop_shape[d] if d in used else 1 for d in range(len(loop_shape)))


def loop_shape_of(op: linalg.GenericOp) -> tuple[int, ...]:
    """The extent of each loop of a generic, from its output and input shapes."""
    out_map = op.indexing_maps.data[-1].data
    out_shape = op.outputs[0].type.get_shape()
    shape = [1] * out_map.num_dims
    for expr, size in zip(out_map.results, out_shape):
        if isinstance(expr, AffineDimExpr):
            shape[expr.position] = size
    for value, map_attr in zip(op.inputs, op.indexing_maps.data):
        for expr, size in zip(map_attr.data.results, value.type.get_shape()):
            if isinstance(expr, AffineDimExpr):
                shape[expr.position] = max(shape[expr.position], size)
    return tuple(shape)


def outer_scalar(lw: Lowering, op: Operation, tensors: bool = False):
    """Resolves values a body reads from outside it: constants (scalars, or tensors with `tensors`)."""
    def lookup(value: SSAValue) -> np.ndarray:
        item = lw.values.get(value)
        if not isinstance(item, np.ndarray) or (item.ndim != 0 and not tensors):
            raise DfccError(f"{location(op)}: body uses a non-scalar outer value", "lower-to-dataflow")
        return item
    return lookup


def to_output(result: np.ndarray, out_map, loop_shape, value: SSAValue) -> np.ndarray:
    """A body's result over the loop space, laid out as the generic's output tensor."""
    out_dims = [e.position for e in out_map.results if isinstance(e, AffineDimExpr)]  # the others are size-1 dims
    result = np.broadcast_to(result, loop_shape).transpose(out_dims + [d for d in range(len(loop_shape)) if d not in out_dims])
    dtype = np.float32 if isinstance(value.type.get_element_type(), AnyFloat) else np.int64
    return np.ascontiguousarray(result.reshape(value.type.get_shape()), dtype=dtype)


def param_array(array: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
    """A loop-aligned constant as a map parameter: in stream order, leading unit dims dropped."""
    array = np.transpose(array, perm)
    if array.size == 1:
        return np.ascontiguousarray(array.reshape(()))
    while array.ndim and array.shape[0] == 1:
        array = array[0]
    return np.ascontiguousarray(array)
