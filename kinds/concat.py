"""Joins streams along one stream dim."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, opt_prop_def, prop_def, result_def, var_operand_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_attr, stream_type_of
from dfcc.hardware.logic import stage_logic
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, buffered_stage, folding_of, node_label, stream_bits,
)
from dfcc.kinds.hls_types import prod
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class ConcatOp(NodeOp):
    """Joins streams along stream dim `axis` (channel concat is the last dim of an NHWC stream).

    Folding (fpgaConvNet concat): `coarse` lanes; a channel concat also `side`. side = 1: the inputs
    in turn, `coarse` lanes (dividing g, the gcd of the inputs' channels) of one input per cycle,
    C/coarse cycles per pixel. side = 2: every input read side by side, input i in C_i*coarse/g
    lanes, so g/coarse cycles per pixel (`pixel_beats()`), whole pixels out (one pixel per cycle
    at coarse = g, at the price of a pixel-wide beat). Spatial parallelism: `pixels` = P adjacent
    whole pixels of an N x H x W x C stream per beat (side by side at coarse = g), input i in
    P*C_i lanes, P*C out. An outer-axis concat moves `coarse` lanes of one input at a time.
    Buffer: for the last dim none (at most the pixel being gathered); for an outer
    dim every input after the first waits until the earlier ones are done, so `buffer_words()`
    counts their elements (realised as FIFO depth on those inputs).
    """

    name = "dataflow.concat"
    inputs = var_operand_def(StreamType)
    output = result_def(StreamType)
    axis = prop_def(IntegerAttr)
    coarse = opt_prop_def(IntegerAttr)
    side = opt_prop_def(IntegerAttr)
    pixels = opt_prop_def(IntegerAttr)

    def __init__(self, inputs: Sequence[SSAValue], axis: int, name: str):
        shapes = [v.type.get_shape() for v in inputs]
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        super().__init__(operands=[inputs], result_types=[StreamType(shape, inputs[0].type.element_type)],
                         properties={"name": StringAttr(name), "axis": int_attr(axis)})

    def buffer_words(self) -> int:
        axis = self.axis.value.data
        if axis == len(self.output.type.get_shape()) - 1:
            return 0
        return sum(v.type.num_elements for v in self.inputs[1:])

    def is_channel_concat(self) -> bool:
        return self.axis.value.data == len(self.output.type.get_shape()) - 1

    def folding_extents(self) -> dict[str, int]:
        """Channel concat: the gcd of the inputs' channels, side by side or not, and pixels per beat
        dividing the width of an N x H x W x C stream (other ranks: one); otherwise lanes over the last dim."""
        shape = self.output.type.get_shape()
        if not self.is_channel_concat():
            return {"coarse": shape[-1]}
        return {"coarse": math.gcd(*(v.type.get_shape()[-1] for v in self.inputs)), "side": 2,
                "pixels": shape[2] if len(shape) == 4 else 1}

    def side_by_side(self) -> bool:
        return self.is_channel_concat() and self.int_prop("side") == 2

    def pixel_beats(self) -> int:
        """Channel concat: beats per pixel of every input (g/coarse), the cycles per pixel."""
        return self.folding_extents()["coarse"] // self.int_prop("coarse")

    def verify_node(self) -> None:
        axis = self.axis.value.data
        shapes = [stream_type_of(v, "concat input").get_shape() for v in self.inputs]
        out = stream_type_of(self.output, "concat output").get_shape()
        if not shapes or not 0 <= axis < len(out):
            raise VerifyException(f"concat '{self.node_name.data}': axis {axis} out of range")
        expected = list(shapes[0])
        expected[axis] = sum(s[axis] for s in shapes)
        if any(len(s) != len(out) or s[:axis] + s[axis + 1:] != out[:axis] + out[axis + 1:] for s in shapes) or tuple(expected) != out:
            raise VerifyException(f"concat '{self.node_name.data}': inputs {shapes} do not concatenate to {out} on axis {axis}")
        if self.is_channel_concat() and not whole_pixels(self, self.folding()):
            raise VerifyException(f"concat '{self.node_name.data}': pixels={self.int_prop('pixels')} per beat needs "
                                  f"whole pixels (side = 2, coarse = {self.folding_extents()['coarse']})")


    def order_problem(self) -> str | None:
        """A channel concat takes tile-major streams (tile R block B) too, one order on every stream: a tile of
        the output is each input's tile in turn (B divides every input's channels), so the inputs in turn
        (side = 1, one pixel a beat) and R dividing the pixels, every tile whole (emit_hls: `concat_blocks` over
        the tiles)."""
        order = self.output.type.order
        if order is None:
            return super().order_problem()
        shape = self.output.type.get_shape()
        pixels = self.output.type.num_elements // shape[-1]
        if not self.is_channel_concat() or self.side_by_side() or self.int_prop("pixels") > 1 or pixels % order[0]:
            return (f"writes a tile-major stream (tile {order[0]} block {order[1]}), which a concat takes over the "
                    f"channels, its inputs in turn (side=1, pixels=1), the tile dividing the {pixels} pixels")
        return self.same_order_problem()


def whole_pixels(op: ConcatOp, folding: dict[str, int]) -> bool:
    """Whether `pixels` > 1 is realisable: every input read side by side, one beat a pixel (K = 1)."""
    return folding.get("pixels", 1) == 1 or (folding["side"] == 2 and folding["coarse"] == op.folding_extents()["coarse"])


@register
class Concat(FixedIsFloatThenCast, NodeKind):
    op = ConcatOp
    hls_headers = ("concat.h",)

    def stream_lanes(self, op: ConcatOp, folding=None) -> tuple[int, int]:
        """`coarse` lanes in and out (they divide every block it joins: ConcatOp.folding_extents);
        side by side (side = 2), the first input in C_0/K lanes (K = g/coarse beats per pixel) and
        whole pixels out; `pixels` = P of them a beat: P times each."""
        folding = op.folding() if folding is None else folding
        coarse = folding["coarse"]
        if op.is_channel_concat() and folding.get("side", 1) == 2:
            k, px = op.folding_extents()["coarse"] // coarse, folding.get("pixels", 1)
            return px * op.inputs[0].type.get_shape()[-1] // k, px * op.output.type.get_shape()[-1]
        return coarse, coarse

    def read_lanes(self, op: ConcatOp, value, folding=None, producer_lanes: int = 1) -> int:
        """Side by side, input i in P*C_i/K lanes (K = g/coarse beats per pixel, P pixels per beat);
        else `coarse`."""
        folding = op.folding() if folding is None else folding
        if op.is_channel_concat() and folding.get("side", 1) == 2:
            k = op.folding_extents()["coarse"] // folding["coarse"]
            return folding.get("pixels", 1) * value.type.get_shape()[-1] // k
        return self.stream_lanes(op, folding)[0]

    def cost(self, op: ConcatOp) -> NodeModel:
        words = op.output.type.num_elements
        bits = stream_bits(op.output)
        if not op.is_channel_concat():
            # an outer-axis concat waits for the earlier inputs: buffer_words() of them
            return buffered_stage(op, words, words, op.buffer_words(), bits)
        c = op.output.type.get_shape()[-1]
        pixels = words // c
        g = op.folding_extents()["coarse"]

        def evaluate(folding: Folding) -> NodeCost:
            coarse, side, px = folding
            if side == 1:
                # fpgaConvNet concat: H*W*sum(C_i)/coarse cycles, one input's `coarse` lanes per cycle
                logic = stage_logic(coarse, bits)
                return NodeCost(cycles=pixels * (c // coarse), depth=STAGE_PIPELINE_CYCLES, fill=0.0, dsp=0,
                                bram18=0, uram=0, lut=logic.lut, ff=logic.ff,
                                out_lanes=coarse)
            beats = g // coarse
            # fpgaConvNet concat: H*W*sum(C_i)/coarse' cycles, here coarse' = coarse*sum(C_i)/g lanes read side by
            # side; P pixels a beat (Ma et al., FPGA'17: Pox unrolled) divide the pixels
            logic = stage_logic(c * px, bits)
            gather = c * bits if beats > 1 else 0  # concat.h concat_pixels: the pixel gathered in registers
            return NodeCost(cycles=pixels // px * beats, depth=beats + STAGE_PIPELINE_CYCLES, fill=0.0, dsp=0, bram18=0,
                            uram=0, lut=logic.lut, ff=logic.ff + gather, out_lanes=c * px)

        factors, _ = folding_of(op)
        ordered = op.output.type.order is not None  # ConcatOp.order_problem: the inputs in turn

        def buildable(folding: Folding) -> bool:
            f = dict(zip(factors, folding))
            return (f["side"] == 1 and f["pixels"] == 1) if ordered else whole_pixels(op, f)

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate, buildable=buildable)

    def run_float(self, op: ConcatOp, args):
        return (np.concatenate(args, axis=op.axis.value.data),)

    def emit_hls(self, em, op: ConcatOp) -> None:
        """Inputs in turn: `dfcc::concat_blocks` calls (over tile-major streams a tile of each input in turn: outer
        the tiles, each input's words of a tile); side by side: `concat_pixels` calls, inputs in
        C_i/K lanes (K = `pixel_beats()`), whole pixels out; at P > 1 pixels a beat `concat_pixels_px`
        calls, inputs in P*C_i lanes (all in concat.h)."""
        name = em.stage(op)
        px = op.int_prop("pixels")
        if px > 1:
            beats = op.output.type.num_elements // op.output.type.get_shape()[-1] // px

            def join_px(left, right, i):
                ca, cb = left.lanes // px, right.lanes // px
                return left.lanes + right.lanes, f"concat_pixels_px<{beats}, {px}, {ca}, {cb}"
            self._chain(em, op, name, lambda value: px * value.type.get_shape()[-1], join_px)
            return
        if op.side_by_side():
            k = op.pixel_beats()
            pixels = op.output.type.num_elements // op.output.type.get_shape()[-1]

            def join_pixels(left, right, i):
                ka = k if i == 1 else 1  # the first input arrives in K beats per pixel, joined pairs in one
                return ka * left.lanes + right.lanes * k, f"concat_pixels<{pixels}, {ka}, {k}, {left.lanes}, {right.lanes}"
            self._chain(em, op, name, lambda value: value.type.get_shape()[-1] // k, join_pixels)
            return
        axis = op.axis.value.data
        p, _ = self.stream_lanes(op)
        outer = prod(op.output.type.get_shape()[:axis])
        order = op.output.type.order

        def words(value) -> int:
            return prod(value.type.get_shape()[axis:]) * (order[0] if order else 1)

        if order is not None:  # a tile of each input in turn (ConcatOp.order_problem: every tile whole)
            outer //= order[0]

        def join_blocks(left, right, i):
            left_words = sum(words(value) for value in op.inputs[:i])
            return p, f"concat_blocks<{outer}, {left_words // p}, {words(op.inputs[i]) // p}, {p}"
        self._chain(em, op, name, lambda value: p, join_blocks)

    @staticmethod
    def _chain(em, op: ConcatOp, name: str, lanes_of, join) -> None:
        """Pairwise calls, each joining what is gathered so far with input i (a chain for more than two
        inputs); `join(left, right, i)` gives the joined lanes and the call's leading template text."""
        t_out = em.elem(op.output)
        left = em.read_stream(op.inputs[0], lanes_of(op.inputs[0]), name)
        for i, value in enumerate(op.inputs[1:], start=1):
            right = em.read_stream(value, lanes_of(value), name)
            lanes, template = join(left, right, i)
            if i == len(op.inputs) - 1:
                out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
            else:
                out = em.temp_stream(f"s_{name}_part{i}", t_out, lanes)
            em.calls.append(f"dfcc::{template}, {left.elem}, {right.elem}, {t_out}>({left.name}, {right.name}, "
                            f"{out.name});  // {name}")
            left = out
        em.define(op.output, left)
