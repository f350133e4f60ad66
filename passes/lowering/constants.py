"""Constant tensors and scalars folded with numpy while lowering (weights, batch-norm statistics,
broadcasts, masks, position ids): they produce no node."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith, tensor
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.builtin import AnyFloat, i1, DenseIntOrFPElementsAttr, DenseResourceAttr

from dfcc.dialects.scalar_body import evaluate_body
from dfcc.dialects import tm_tensor
from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Lowering, element_type, location, lowers


@lowers(arith.ConstantOp)
def on_constant(lw: Lowering, op: arith.ConstantOp) -> None:
    value = op.value
    dtype = np.float32 if isinstance(element_type(op.result.type), AnyFloat) else np.int64
    if isinstance(value, (DenseResourceAttr, DenseIntOrFPElementsAttr)):
        lw.values[op.result] = elements_array(value).astype(dtype, copy=False)
    elif hasattr(value, "value"):
        lw.values[op.result] = np.asarray(value.value.data != 0 if op.result.type == i1 else value.value.data, dtype=dtype)
    else:
        lw.reject(op, f"constant {value} is not a number or tensor")


@lowers(tm_tensor.ScanOp)
def on_scan(lw: Lowering, op: tm_tensor.ScanOp) -> None:
    """A scan (cumulative sum of position ids) of constants, folded one position at a time."""
    if len(op.inputs) != 1 or len(op.outputs) != 2 or any(not isinstance(lw.values.get(v), np.ndarray) for v in op.operands):
        raise DfccError(f"{location(op)}: a scan over an activation (cumulative sum) has no streaming node", "lower-to-dataflow")
    source, accumulator = lw.const(op.inputs[0], op), lw.const(op.outputs[1], op)
    axis = op.dimension.value.data
    carry = np.expand_dims(accumulator, axis)
    columns = []
    for i in range(source.shape[axis]):
        current = np.take(source, [i], axis=axis)
        if op.inclusive.value.data:
            carry = current if i == 0 else evaluate_body(op.body.block, [carry, current])[0]
            columns.append(carry)
        else:
            columns.append(carry)
            carry = evaluate_body(op.body.block, [carry, current])[0]
    lw.values[op.results[0]] = np.concatenate(columns, axis=axis).astype(source.dtype)
    lw.values[op.results[1]] = np.squeeze(carry, axis).astype(accumulator.dtype)


@lowers(tensor.EmptyOp)
def on_empty(lw: Lowering, op: tensor.EmptyOp) -> None:
    dtype = np.float32 if isinstance(op.tensor.type.get_element_type(), AnyFloat) else np.int64
    lw.values[op.tensor] = np.broadcast_to(dtype(0), op.tensor.type.get_shape())


@lowers(linalg.FillOp)
def on_fill(lw: Lowering, op: linalg.FillOp) -> None:
    scalar = lw.const(op.inputs[0], op)
    lw.values[op.res[0]] = np.broadcast_to(scalar, op.res[0].type.get_shape())


@lowers(linalg.BroadcastOp)
def on_broadcast(lw: Lowering, op: linalg.BroadcastOp) -> None:
    source = lw.const(op.input, op)
    shape = op.init.type.get_shape()
    dims = tuple(op.dimensions.get_values())
    lw.values[op.results[0]] = np.broadcast_to(np.expand_dims(source, dims), shape)
