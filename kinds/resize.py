"""Integer-factor upsampling (nearest) or zero insertion."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array
from dfcc.kinds.cost import NodeModel, buffered_stage, coarse_pixel_lanes, stream_bits
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


RESIZE_MODES = ("nearest", "zeros")


@irdl_op_definition
class ResizeOp(NodeOp):
    """Integer-factor upsampling of each stream dim by `scale`.

    `nearest` repeats every element scale times (n -> n*s; nn.Upsample(mode="nearest")); `zeros`
    inserts s-1 zeros between elements (n -> (n-1)*s+1), the input of a transposed convolution
    lowered to a convolution. Buffer: nearest re-emits each row of an NHWC stream s times, so it
    holds one row (W*C words); zeros holds nothing. Folding: `coarse` lanes over the last dim
    when that dim is not scaled; spatial parallelism (nearest, H and W of a 1 x H x W x C stream):
    `pixels` = P adjacent whole pixels per beat in and out (`coarse` = C), an input beat re-emitted
    SW*SH times as SW output beats on each of SH rows.
    """

    name = "dataflow.resize"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    mode = prop_def(StringAttr)
    scale = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)
    pixels = opt_prop_def(IntegerAttr)

    @staticmethod
    def output_shape(shape: Sequence[int], scale: Sequence[int], mode: str) -> tuple[int, ...]:
        if mode == "nearest":
            return tuple(d * s for d, s in zip(shape, scale))
        return tuple((d - 1) * s + 1 for d, s in zip(shape, scale))

    def __init__(self, input: SSAValue, scale: Sequence[int], mode: str, name: str):
        shape = self.output_shape(input.type.get_shape(), scale, mode)
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "mode": StringAttr(mode), "scale": int_array(scale)})

    def buffer_words(self) -> int:
        if self.mode.data != "nearest":
            return 0
        shape, scale = self.input.type.get_shape(), self.ints_prop("scale")
        outer = next((i for i, s in enumerate(scale) if s > 1), len(shape) - 1)
        return math.prod(shape[outer + 1:])

    def folding_extents(self) -> dict[str, int]:
        """Lanes over the last dim (fpgaConvNet resize), unless the last dim is scaled; pixels per beat
        dividing the input width of a nearest upsampling of H and W (else one)."""
        shape, scale = self.input.type.get_shape(), self.ints_prop("scale")
        spatial = self.mode.data == "nearest" and len(shape) == 4 and scale[0] == scale[3] == 1
        return {"coarse": shape[-1] if scale[-1] == 1 else 1, "pixels": shape[2] if spatial else 1}

    def verify_node(self) -> None:
        if self.mode.data not in RESIZE_MODES:
            raise VerifyException(f"resize mode must be one of {RESIZE_MODES}, got '{self.mode.data}'")
        shape, scale = self.input.type.get_shape(), self.ints_prop("scale")
        if len(scale) != len(shape) or min(scale) < 1:
            raise VerifyException(f"resize '{self.node_name.data}': scale needs one factor >= 1 per dim")
        expected = self.output_shape(shape, scale, self.mode.data)
        if self.output.type.get_shape() != expected:
            raise VerifyException(f"resize '{self.node_name.data}': output shape {self.output.type.get_shape()}, expected {expected}")
        if not whole_pixels(self, self.folding()):
            raise VerifyException(f"resize '{self.node_name.data}': pixels={self.int_prop('pixels')} per beat needs "
                                  f"whole pixels (coarse = {shape[-1]} channels, got {self.int_prop('coarse')})")


def whole_pixels(op: ResizeOp, folding: dict[str, int]) -> bool:
    """Whether `pixels` > 1 is realisable: every channel in a beat."""
    return folding["pixels"] == 1 or folding["coarse"] == op.input.type.get_shape()[-1]


@register
class Resize(FixedIsFloatThenCast, NodeKind):
    op = ResizeOp
    hls_headers = ("resize.h",)

    def stream_lanes(self, op: ResizeOp, folding=None) -> tuple[int, int]:
        """Its folding's `coarse` lanes (one when the last dim is scaled: ResizeOp.folding_extents),
        times `pixels`."""
        lanes = coarse_pixel_lanes(op, folding)
        return lanes, lanes

    def cost(self, op: ResizeOp) -> NodeModel:
        factors = list(op.folding_extents())
        return buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, op.buffer_words(),
                              stream_bits(op.input),
                              buildable=lambda folding: whole_pixels(op, dict(zip(factors, folding))))

    def run_float(self, op: ResizeOp, args):
        return (resize(args[0], op.ints_prop("scale"), op.mode.data),)

    def emit_hls(self, em, op: ResizeOp) -> None:
        """One `dfcc::upsample_nearest` or `dfcc::insert_zeros` call (resize.h); at P > 1 pixels per
        beat `dfcc::upsample_nearest_px` (P whole pixels, P*C lanes)."""
        name = em.stage(op)
        shape, scale = op.input.type.get_shape(), op.ints_prop("scale")
        if len(shape) != 4 or shape[0] != 1 or scale[0] != 1 or scale[3] != 1:
            raise em.error(op, f"resizing {shape} by {scale} is not supported (only H and W of a 1xHxWxC stream)")
        _, h, w, c = shape
        p, _ = self.stream_lanes(op)
        x = em.read_stream(op.input, p, name)
        out = em.new_stream(f"s_{name}", op.output.type, p, value=op.output)
        em.define(op.output, out)
        kernel = {"nearest": "upsample_nearest", "zeros": "insert_zeros"}.get(op.mode.data)
        if kernel is None:
            raise em.error(op, f"resize mode '{op.mode.data}' is not supported")
        px = op.int_prop("pixels")
        if px > 1:  # the _px kernel takes P, its beats P*C lanes
            kernel, p = f"{kernel}_px", px
        em.calls.append(f"dfcc::{kernel}<{h}, {w}, {c}, {scale[1]}, {scale[2]}, {p}, {x.elem}, {out.elem}>"
                        f"({x.name}, {out.name});  // {name}")


def resize(x: np.ndarray, scale, mode: str) -> np.ndarray:
    """Nearest upsampling (repeat) or zero insertion by an integer factor per dim."""
    if mode == "nearest":
        for axis, s in enumerate(scale):
            if s > 1:
                x = np.repeat(x, s, axis=axis)
        return x
    out = np.zeros(tuple((d - 1) * s + 1 for d, s in zip(x.shape, scale)), dtype=x.dtype)
    out[tuple(slice(None, None, s) for s in scale)] = x
    return out

