"""linalg convolutions (plain, depthwise, grouped) -> `dataflow.conv`, padding folded in."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Operation

from dfcc import kinds
from dfcc.dialects.linalg_extra import DepthwiseConv2DNchwChwOp
from dfcc.passes.lowering.core import NCHW_TO_STREAM, Act, Grouped, Lowering, lowers, per_channel_bias, ungrouped
from dfcc.passes.lowering.deconv import lower_transposed


def _conv(lw: Lowering, op: Operation, weights: np.ndarray, groups: int) -> None:
    act, pad = lw.window_input(op.inputs[0], op, 0.0)
    out_shape = op.results[0].type.get_shape()
    init = lw.const(op.outputs[0], op)
    if len(out_shape) == 5:  # grouped: N x G x F/G x H x W
        out_shape = ungrouped(out_shape)
        init = init.reshape(out_shape)
    act, pad = lw.fit_window(act, pad, weights.shape[2:], tuple(op.strides.get_values()),
                             tuple(op.dilations.get_values()), out_shape[2:], op)
    name = lw.fresh("conv")
    bias = per_channel_bias(init, op)
    node = lw.emit(kinds.ConvOp(
        act.stream, lw.weights(np.ascontiguousarray(weights), f"{name}_w"),
        None if bias is None else lw.weights(bias, f"{name}_b"),
        name=name, stride=tuple(op.strides.get_values()), dilation=tuple(op.dilations.get_values()),
        pad=pad, groups=groups))
    result = Act(node.output, out_shape, NCHW_TO_STREAM)
    shape = op.results[0].type.get_shape()
    lw.values[op.results[0]] = Grouped(result, shape) if len(shape) == 5 else result


@lowers(linalg.Conv2DNchwFchwOp)
def on_conv(lw: Lowering, op: linalg.Conv2DNchwFchwOp) -> None:
    """A conv, or a transposed conv by phases when its input is zero-inserted (deconv.py)."""
    weights = lw.const(op.inputs[1], op)
    if not lower_transposed(lw, op, weights):
        _conv(lw, op, weights, 1)


@lowers(DepthwiseConv2DNchwChwOp)
def on_depthwise_conv(lw: Lowering, op: DepthwiseConv2DNchwChwOp) -> None:
    weights = lw.const(op.inputs[1], op)
    _conv(lw, op, weights[:, None, :, :], weights.shape[0])


@lowers(linalg.Conv2DNgchwGfchwOp, linalg.Conv2DNgchwFgchwOp)
def on_grouped_conv(lw: Lowering, op: linalg.Conv2DNgchwGfchwOp | linalg.Conv2DNgchwFgchwOp) -> None:
    """Grouped conv on an N x G x C/G x H x W view; weights G x F/G x C/G x Kh x Kw (or F/G x G x ..)."""
    weights = lw.const(op.inputs[1], op)
    if isinstance(op, linalg.Conv2DNgchwFgchwOp):
        weights = weights.transpose(1, 0, 2, 3, 4)
    groups, fg, cg, kh, kw = weights.shape
    if not isinstance(lw.values.get(op.inputs[0]), Grouped):
        n, g, c, h, w = op.inputs[0].type.get_shape()
        lw.values[op.inputs[0]] = Grouped(lw.reshape(lw.act(op.inputs[0], op), (n, g * c, h, w)), (n, g, c, h, w))
    _conv(lw, op, weights.reshape(groups * fg, cg, kh, kw), groups)
