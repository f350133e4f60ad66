"""Depth-to-space: the channels of each pixel spread over an SH x SW block of output pixels."""

from __future__ import annotations

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


@irdl_op_definition
class DepthToSpaceOp(NodeOp):
    """1 x H x W x (SH*SW*C) -> 1 x H*SH x W*SW x C, y[h*SH+i][w*SW+j][c] = x[h][w][(i*SW+j)*C + c]
    (ONNX DepthToSpace, DCR order: the block position outermost in the channels).

    It interleaves the SH*SW output phases of a transposed convolution computed as one convolution
    with SH*SW*C filters (Shi et al. 2016, "Real-time single image and video super-resolution using
    an efficient sub-pixel convolutional neural network": convolution then periodic shuffling).
    Buffer: two input rows (one read while the other is written out). Folding: `coarse` lanes over C;
    spatial parallelism: `pixels` = P adjacent whole output pixels per beat (`coarse` = C, SW dividing
    P, so that a beat is P/SW whole SW-pixel runs of an output row), the input in beats as wide.
    """

    name = "dataflow.depth_to_space"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    scale = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)
    pixels = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, scale: Sequence[int], name: str):
        n, h, w, c = input.type.get_shape()
        sh, sw = scale
        shape = (n, h * sh, w * sw, c // (sh * sw))
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "scale": int_array(scale)})

    def row_words(self) -> int:
        """Words of one input row: what the kernel writes after its last read."""
        return int(np.prod(self.input.type.get_shape()[2:]))

    def buffer_words(self) -> int:
        return 2 * self.row_words()

    def folding_extents(self) -> dict[str, int]:
        """Lanes over the output channels (each input beat then lies within one phase), then pixels per
        beat dividing the output width."""
        _, _, w, c = self.output.type.get_shape()
        return {"coarse": c, "pixels": w}

    def verify_node(self) -> None:
        shape, scale = self.input.type.get_shape(), self.ints_prop("scale")
        if len(shape) != 4 or shape[0] != 1 or len(scale) != 2 or min(scale) < 1:
            raise VerifyException(f"depth_to_space '{self.node_name.data}': needs a 1xHxWxC stream and "
                                  f"two scale factors >= 1, got {shape} by {scale}")
        _, h, w, c = shape
        sh, sw = scale
        if c % (sh * sw):
            raise VerifyException(f"depth_to_space '{self.node_name.data}': {c} channels do not split into "
                                  f"{sh}x{sw} blocks")
        expected = [1, h * sh, w * sw, c // (sh * sw)]
        if list(self.output.type.get_shape()) != expected:
            raise VerifyException(f"depth_to_space '{self.node_name.data}': output shape "
                                  f"{list(self.output.type.get_shape())}, expected {expected}")
        if not whole_runs(self, self.folding()):
            raise VerifyException(f"depth_to_space '{self.node_name.data}': pixels={self.int_prop('pixels')} per beat "
                                  f"needs whole pixels (coarse = {expected[-1]}) and a multiple of SW = {sw}")


def whole_runs(op: DepthToSpaceOp, folding: dict[str, int]) -> bool:
    """Whether `pixels` = P > 1 is realisable: whole output pixels a beat, P/SW runs of SW pixels (the
    SW phases of an input pixel on one output row, contiguous in it)."""
    px = folding["pixels"]
    return px == 1 or (folding["coarse"] == op.output.type.get_shape()[-1] and px % op.ints_prop("scale")[1] == 0)


@register
class DepthToSpace(FixedIsFloatThenCast, NodeKind):
    op = DepthToSpaceOp
    hls_headers = ("depth_to_space.h",)

    def stream_lanes(self, op: DepthToSpaceOp, folding=None) -> tuple[int, int]:
        """Its folding's `coarse` lanes times `pixels`, in and out (DepthToSpaceOp.folding_extents)."""
        lanes = coarse_pixel_lanes(op, folding)
        return lanes, lanes

    def cost(self, op: DepthToSpaceOp) -> NodeModel:
        words = op.input.type.num_elements
        factors = list(op.folding_extents())
        return buffered_stage(op, words, words, op.buffer_words(), stream_bits(op.input), tail_words=op.row_words(),
                              buildable=lambda folding: whole_runs(op, dict(zip(factors, folding))))

    def run_float(self, op: DepthToSpaceOp, args):
        return (depth_to_space(args[0], op.ints_prop("scale")),)

    def emit_hls(self, em, op: DepthToSpaceOp) -> None:
        """One `dfcc::depth_to_space` call (depth_to_space.h; `depth_to_space_px` at P > 1 pixels a beat)."""
        name = em.stage(op)
        _, h, w, c = op.output.type.get_shape()
        sh, sw = op.ints_prop("scale")
        p, _ = self.stream_lanes(op)
        x = em.read_stream(op.input, p, name)
        out = em.new_stream(f"s_{name}", op.output.type, p, value=op.output)
        em.define(op.output, out)
        px = op.int_prop("pixels")
        kernel, p = ("depth_to_space_px", px) if px > 1 else ("depth_to_space", p)  # the _px kernel takes P
        em.calls.append(f"dfcc::{kernel}<{h // sh}, {w // sw}, {c}, {sh}, {sw}, {p}, {x.elem}, {out.elem}>"
                        f"({x.name}, {out.name});  // {name}")


def depth_to_space(x: np.ndarray, scale: Sequence[int]) -> np.ndarray:
    """N x H x W x (SH*SW*C) -> N x H*SH x W*SW x C, block position outermost in the channels."""
    n, h, w, c = x.shape
    sh, sw = scale
    blocks = x.reshape(n, h, w, sh, sw, c // (sh * sw)).transpose(0, 1, 3, 2, 4, 5)
    return np.ascontiguousarray(blocks.reshape(n, h * sh, w * sw, c // (sh * sw)))
