"""2-D convolution (grouped and depthwise included)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import cache, partial
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, StringAttr, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import (
    TILE_LUTRAM_ATTR, TILE_LUTRAMS, StreamType, check_weights_shape, int_array, int_attr, stream_type_of,
    window_output_size,
)
from dfcc.dialects.fixed_point import fixed_of, mac_result
from dfcc.hardware.cycles import (
    WindowWalk, conv_cycles, px_output_span, px_stage_cycles, sliding_window_fill, tiled_conv_cycles, window_walk,
    windows_after_input,
)
from dfcc.hardware.dsp import conv_multipliers, macs_per_dsp, multiplier_dsp
from dfcc.hardware.ffip import ffip_cost, ffip_multipliers
from dfcc.hardware.logic import Logic, lut_multiplier, mac_logic, mux_luts, stage_logic, winograd_logic
from dfcc.hardware.memory import (
    FIFO_SRL_DEPTH, LUTRAM_DEPTH, bram18, bram18_two_reads, conv_weight_memory, fifo_blocks, lutram_luts,
    lutram_two_reads_luts,
)
from dfcc.hardware.offchip import (DDR_BURST, conv_weight_sweeps, evicted_line_buffer_bits, row_reader_cycles,
                                   row_ring_tokens)
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, LaneRam, NodeCost, NodeModel, WindowCost, acc_bits, array_cost, folding_of,
    lane_ram, node_label, sliding_window_cost, stream_bits, tile_lutram, weight_bits,
)
from dfcc.kinds.hls_mac import mac_types, mid_and_mul, winograd_fx
from dfcc.kinds.hls_types import Fx, format_fx, fx_of
from dfcc.kinds.ddr_fifo import DramBuffer, ring_adapters
from dfcc.kinds.hls_offchip import mac_weights
from dfcc.kinds.inner_product import check_inner_product, fixed_mac, pairs_products
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.sparse_weights import weights_format
from dfcc.kinds.window import WindowOp, conv2d


# explore's options: a folding with a partly idle filter step is costed only where it takes (1 + 1/N) times
# fewer MAC steps than any with no more multipliers (dfcc's choice: 12.5 % rungs; 25 % ones left the DSP-bound
# ResNet-18 on U250 at 0.71 of its multiplier bound, its convs one rung too fast, 0.79 with these, DenseNet-121
# 0.72 -> 0.75, ResNet-50 0.60 -> 0.68 for 6-10 % more options; with 6 % ones DenseNet-121's explore took
# 2.7 times as long and found a slower design, Lagrangian rounds being no exhaustive search)
SIFT_RUNG = 8
# explore's options: a weight-stationary tile not dividing the output pixels (the last tile partly idle) only where
# it sweeps the weights at most this many times, where the divisors leave wide gaps (7x7: tiles 49 and 7 sweep once
# and 7 times; 25, 17, 13, 10 and 9 fill in). dfcc's choice: ResNet-50 ZCU102 (16 bit) 41.5 -> 46.3 fps for explore
# 22.5 -> 30.8 CPU s, 1x1 windows only; every count (no bound) took 100 CPU s. 3x3 windows too, with the FIFOs of
# bursts into joins costed (analyses/network.py `_held_back`), 46.3 -> 54.6 fps 16-bit, 132.6 -> 142.4 8-bit
PARTIAL_TILE_SWEEPS = 8


class ConvFields(WindowOp):
    """Operands, properties, builder, verifier and folding of a convolution (dense or zero-skipping)."""

    input = operand_def(StreamType)
    weights = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(StreamType)
    groups = prop_def(IntegerAttr, default_value=int_attr(1))
    coarse_in = opt_prop_def(IntegerAttr)
    coarse_out = opt_prop_def(IntegerAttr)
    coarse_group = opt_prop_def(IntegerAttr)
    fine = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)

    def __init__(self, input: SSAValue, weights: SSAValue, bias: SSAValue | None, *, name: str,
                 stride: Sequence[int], dilation: Sequence[int], pad: Sequence[int], groups: int):
        f, _, kr, kc = weights.type.get_shape()
        n, h, w, _ = input.type.get_shape()
        ho = window_output_size(h, kr, stride[0], dilation[0], pad[0], pad[1])
        wo = window_output_size(w, kc, stride[1], dilation[1], pad[2], pad[3])
        super().__init__(
            operands=[input, weights, bias],
            result_types=[StreamType((n, ho, wo, f), input.type.element_type)],
            properties={"name": StringAttr(name), "kernel": int_array((kr, kc)), "stride": int_array(stride),
                        "dilation": int_array(dilation), "pad": int_array(pad), "groups": int_attr(groups)},
        )

    def verify_node(self) -> None:
        in_type, out_type = stream_type_of(self.input, "conv input"), stream_type_of(self.output, "conv output")
        groups = self.groups.value.data
        channels = in_type.get_shape()[-1]
        filters = out_type.get_shape()[-1]
        kr, kc = self.ints_prop("kernel")
        if groups < 1 or channels % groups or filters % groups:
            raise VerifyException(f"conv '{self.node_name.data}': groups={groups} must divide {channels} channels and {filters} filters")
        check_weights_shape(self, self.weights, (filters, channels // groups, kr, kc), "weights")
        if self.bias is not None:
            check_weights_shape(self, self.bias, (filters,), "bias")
        self._verify_window(in_type, out_type, filters)

    def folding_extents(self) -> dict[str, int]:
        """Per group: input channels, filters; groups; kernel positions (fpgaConvNet conv folding)."""
        channels, filters = self.input.type.get_shape()[-1], self.output.type.get_shape()[-1]
        groups = self.groups.value.data
        kr, kc = self.ints_prop("kernel")
        return {"coarse_in": channels // groups, "coarse_out": filters // groups, "coarse_group": groups,
                "fine": kr * kc}


def conv_lanes(c: int, cg: int, fg: int, ci: int, co: int, cgp: int) -> tuple[int, int]:
    """Input/output lanes realising (coarse_in, coarse_out, coarse_group) in conv.h's layout: the
    widest of (ci*cgp, co*cgp), (ci*cgp, co), (ci, co), (1, 1) whose input lanes split the channels
    into whole groups (or whole lanes per group) and whose output lanes divide the filters of the
    groups one input beat spans."""

    def legal(li: int, lo: int) -> bool:
        if c % li or not (cg % li == 0 or li % cg == 0):
            return False
        gpb = li // cg if li > cg else 1
        return (gpb * fg) % lo == 0

    for li, lo in ((ci * cgp, co * cgp), (ci * cgp, co), (ci, co), (1, 1)):
        if legal(li, lo):
            return li, lo
    return 1, 1


def beat_filters(filters: int, coarse_out: int) -> int:
    """Output lanes of an ungrouped conv computing `coarse_out` filters a step: the least divisor of the
    filters at least that many (conv.h conv_mac gathers a beat's filters, writing it when its last is done)."""
    return next(d for d in range(coarse_out, filters + 1) if filters % d == 0)


def beat_steps(filters: int, coarse_out: int, lanes_out: int) -> np.ndarray:
    """The step (of ceil(filters/coarse_out)) at which conv_mac writes each output beat of a group of
    input beats' `filters`: the one computing the beat's last filter."""
    return (np.arange(1, filters // lanes_out + 1) * lanes_out - 1) // coarse_out


def conv_pixel_cycles(channels: int, filters: int, k: int, groups: int, folding: Folding) -> int:
    """Cycles the dense MAC loop spends on one output pixel under (coarse_in, coarse_out, coarse_group, fine)."""
    ci, co, cg, fine = folding[:4]
    # fpgaConvNet (Venieris & Bouganis), conv compute term per output pixel: C*K^2/(fine*ci*cg) * F/(co*g)
    return -(-channels // (ci * cg)) * -(-k // fine) * -(-filters // (co * groups))


def channel_folding(folding: Mapping[str, int]) -> Folding:
    """(coarse_in, coarse_out, coarse_group, fine, winograd) of a conv's folding: what its MAC loop and window walk
    take (`winograd` 1 where the op has no such factor)."""
    return (*(folding[k] for k in ("coarse_in", "coarse_out", "coarse_group", "fine")), folding.get("winograd", 1))


def winograd_of(folding: Folding) -> int:
    """The `winograd` factor of a channel folding (`channel_folding`; 1 where it is absent)."""
    return folding[4] if len(folding) > 4 else 1


def winograd_pairs(op: ConvFields) -> int:
    """Output pixels conv.h conv_mac_wino takes a pair at a time, per inference: HO * ceil(WO/2) pairs."""
    _, ho, wo, _ = op.output.type.get_shape()
    return ho * -(-wo // 2)


def winograd_geometry(op: ConvFields) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int]]:
    """((KR, 4), (SR, 2), pads) of the window walk conv.h conv_wino runs: a window of 4 columns at column stride 2,
    one a pair of output columns (window.h's walk with conv_wino's geometry), an odd output width padded by a
    zero column on the right (the last pair's second pixel is computed from it and dropped)."""
    (kr, _), (sr, _), _, (pt, pb, pl, pr) = op.window_geometry()
    return (kr, 4), (sr, 2), (pt, pb, pl, pr + op.output.type.get_shape()[2] % 2)


class WindowStream:
    """conv.h conv's window stream between window.h's walk and conv_mac, for one conv: the walk, the MAC cycles a
    window beat, and the stream's depth (`depth`) under (coarse_in, coarse_out, coarse_group, fine). The op is read
    once: explore asks for every folding."""

    def __init__(self, op: ConvFields):
        _, h, w, self.channels = op.input.type.get_shape()
        _, self.rows_out, self.cols_out, self.filters = op.output.type.get_shape()
        (kr, kc), self.stride, (dr, dc), self.pads = op.window_geometry()
        pt, pb, pl, pr = self.pads
        self.padded, self.span, self.positions = (h + pt + pb, w + pl + pr), (dr * (kr - 1) + 1, dc * (kc - 1) + 1), kr * kc
        self.groups, self.bits = op.groups.value.data, stream_bits(op.input)
        self.kernel_rows = kr
        w_bits = weight_bits(op.weights)
        # dfcc's trade: a cycle share saved is worth that share of the MAC array, each multiplier and its adder at
        # its fabric LUTs (hardware/logic.py)
        self.multiplier_lut = lut_multiplier(self.bits, w_bits) + mac_logic(1, self.bits, w_bits, acc_bits(op)).lut
        self.op, self.depths = op, {}

    def walk(self, folding: Folding, interval: int = 1) -> tuple[WindowWalk, int]:
        """(window.h sliding_window's walk, MAC cycles per window beat), input beats at most one per `interval`
        (Winograd: a window of 4 columns a pair of output columns, `winograd_geometry`)."""
        ci, co, cg, fine = folding[:4]
        cols_out, padded, stride, pads, span = self.cols_out, self.padded, self.stride, self.pads, self.span
        if winograd_of(folding) > 1:
            _, stride, pads = winograd_geometry(self.op)
            cols_out, padded, span = -(-cols_out // 2), (padded[0], padded[1] + cols_out % 2), (span[0], 4)
        walk = window_walk(self.rows_out, cols_out, *padded, *stride, -(-self.channels // (ci * cg)),
                           interval, pads, span)
        return walk, -(-self.positions // fine) * -(-self.filters // (co * self.groups))

    def window_positions(self, folding: Folding) -> int:
        """Elements of a window beat per input lane: KR*KC, or KR*4 for Winograd's pair windows."""
        return self.kernel_rows * 4 if winograd_of(folding) > 1 else self.positions

    def multipliers(self, folding: Folding) -> int:
        """The MAC array's multipliers (Winograd F(2,3): 4 a kernel row of 3 columns instead of 3)."""
        ci, co, cg, fine = folding[:4]
        return conv_multipliers(ci, co, fine, cg) * (4 if winograd_of(folding) > 1 else 3) // 3

    def fifo_luts(self, folding: Folding, depth: int) -> int:
        """LUTs of the stream at `depth` beyond the default 2 (registers): a shift-register FIFO (FIFO_SRL_DEPTH) of
        KR*KC*CI-element windows."""
        if depth <= 2:
            return 0
        lanes = _channel_lanes(self.op, dict(zip(("coarse_in", "coarse_out", "coarse_group"), folding[:3])))[0]
        return fifo_blocks(self.window_positions(folding) * lanes * self.bits, depth)[2]

    def depth(self, folding: Folding) -> int:
        """The stream's depth (conv.h conv's WD): Vitis HLS's 2, or the shallowest of at most FIFO_SRL_DEPTH at which
        the walk's gaps (each inference's first rows, the rows a stride skips: the walk reads them while the MACs
        take the windows queued) stall the MACs least, when its LUTs are fewer than those of the multipliers (with
        their adders) whose share of the cycles it saves."""
        key = tuple(folding[:4]) + (winograd_of(folding),)
        if key not in self.depths:
            walk, per_beat = self.walk(key)
            deep = walk.shallowest_depth(per_beat, FIFO_SRL_DEPTH)
            shallow_cycles = walk.stage_cycles(per_beat)
            saved = (shallow_cycles - walk.stage_cycles(per_beat, deep)) / shallow_cycles
            worth = saved * self.multipliers(key) * self.multiplier_lut
            self.depths[key] = deep if saved and self.fifo_luts(key, deep) < worth else 2
        return self.depths[key]


def window_depth(op: ConvFields, folding: Folding) -> int:
    """Depth of conv.h conv's (or conv_wino's) window stream under (coarse_in, coarse_out, coarse_group, fine,
    winograd) (`WindowStream.depth`)."""
    return WindowStream(op).depth(folding)


def mac_multipliers(stream: WindowStream, folding: Folding, ffip: bool) -> int:
    """The MAC array's multipliers at a conv's folding (coarse_in, coarse_out, coarse_group, fine[, pixels, tile,
    winograd]), its products paired by FFIP (`ffip`) or not: the one count its cost and `Conv.sift` read."""
    ci, co, cg, fine = folding[:4]
    px = folding[4] if len(folding) > 4 else 1
    if ffip:  # Pogue & Nicolici (2024): hardware/ffip.py
        return sum(ffip_multipliers(co, ci * fine, px))
    # Ma et al. (FPGA'17): Pox columns side by side, Pox MAC arrays
    return stream.multipliers((ci, co, cg, fine, folding[6] if len(folding) > 6 else 1)) * px


@irdl_op_definition
class ConvOp(ConvFields):
    """2-D convolution (grouped/depthwise included); weights F x C/groups x Kr x Kc, bias F.

    Folding (fpgaConvNet): `coarse_in` input channels, `coarse_out` filters (ungrouped: any number up
    to F, output beats of the least divisor of F at least that many), `coarse_group` groups and `fine`
    kernel positions (any number up to KR*KC) are processed per cycle; spatial parallelism: `pixels` adjacent
    output columns side by side, P whole pixels per beat in and out (conv.h conv_px), which needs
    every channel and filter in one beat (`whole_pixels`). Weight-stationary tiles: `tile` output
    pixels each weight word serves before the next (conv.h conv_tiled: the input rows of their windows
    buffered once, the weights swept once per tile instead of once per pixel), ungrouped and one pixel per
    beat only. Winograd F(2,3) (Lavin & Gray, CVPR 2016): `winograd` = 2 computes two adjacent output columns
    with 4 multiplications a kernel row of 3 instead of 6 (conv.h conv_wino), where `winograd_problem` allows.
    """

    name = "dataflow.conv"
    pixels = opt_prop_def(IntegerAttr)
    tile = opt_prop_def(IntegerAttr)
    winograd = opt_prop_def(IntegerAttr)
    EVICTABLE_LINE_BUFFER: ClassVar[bool] = True

    def folding_extents(self) -> dict[str, int]:
        """ConvFields' factors, then `pixels` dividing the input and the output width, `tile` the output pixels,
        `winograd` the output columns a transform computes (2 where `winograd_problem` allows, else 1)."""
        _, _, w, _ = self.input.type.get_shape()
        _, ho, wo, _ = self.output.type.get_shape()
        return {**super().folding_extents(), "pixels": math.gcd(w, wo), "tile": ho * wo,
                "winograd": 1 if winograd_problem(self) else 2}

    def partial_factors(self) -> frozenset[str]:
        """`fine` need not divide KR*KC: conv.h takes ceil(KR*KC/fine) steps per window beat, the last
        one with its missing products skipped; nor, ungrouped, `coarse_out` the filters: ceil(F/coarse_out)
        steps, the last one's missing filters skipped (a zero-skipping conv's factors still divide); nor, ungrouped,
        `tile` the output pixels: ceil(HO*WO/tile) tiles, the last one's pixels past the image idle. The kernels
        that take neither partly idle filter step are excluded by `folding_problem`."""
        return frozenset({"fine", "coarse_out", "tile"}) if self.groups.value.data == 1 else frozenset({"fine"})

    def ffip_extent(self) -> tuple[int, int] | None:
        """The widest FFIP step (kinds/inner_product.py): every filter, every product of a pixel; ungrouped and
        fixed point only (a depthwise filter shares its window with no other filter)."""
        if self.groups.value.data != 1 or not fixed_mac(self):
            return None
        _, c, kr, kc = self.weights.type.get_shape()
        return self.output.type.get_shape()[-1], c * kr * kc

    def ffip_step(self, f: Mapping[str, int]) -> tuple[int, int] | None:
        """conv.h conv_mac's (and conv_mac_tiled's) step: CO filter lanes of CI*FINE products each; none at
        `winograd` = 2 (conv_mac_wino multiplies Winograd's transforms, not the products FFIP pairs)."""
        if f.get("winograd", 1) > 1:
            return None
        return f["coarse_out"], f["coarse_in"] * f["fine"]

    def splits_multipliers(self, folding: Mapping[str, int] | None = None) -> bool:
        """conv.h conv_mac numbers its multipliers (lanes) as the cost model counts them when ungrouped;
        conv_tiled does not split."""
        return self.groups.value.data == 1 and (self.folding() if folding is None else folding).get("tile", 1) == 1

    def verify_node(self) -> None:
        super().verify_node()
        check_inner_product(self)
        problem = folding_problem(self, self.folding())
        if problem is not None:
            raise VerifyException(f"conv '{self.node_name.data}': {problem}")
        lutram = self.attributes.get(TILE_LUTRAM_ATTR)
        if lutram is not None and not (isinstance(lutram, StringAttr) and lutram.data in TILE_LUTRAMS):
            raise VerifyException(f"conv '{self.node_name.data}': {TILE_LUTRAM_ATTR} must be one of "
                                  f"{', '.join(TILE_LUTRAMS)}, got {lutram}")
        if lutram is not None and self.int_prop("tile") == 1:
            raise VerifyException(f"conv '{self.node_name.data}': {TILE_LUTRAM_ATTR} places a tiled conv's tile "
                                  f"memories; this conv has no tiles (tile = 1)")

    def order_problem(self) -> str | None:
        """Its streams' orders are part of its folding's problems (`tile_order_problems`), checked with them."""
        return None


def conv_px_cycles(op: ConvOp, fine: int, pixels: int, interval: int = 1) -> int:
    """conv.h conv_px's cycles: one window beat for each group of P output columns, ceil(K/FINE) cycles each, its
    input beats one per `interval` cycles (`px_stage_cycles`)."""
    _, h, w, _ = op.input.type.get_shape()
    _, ho, wo, _ = op.output.type.get_shape()
    (kr, kc), strides, _, pads = op.window_geometry()
    return px_stage_cycles(ho, wo, h, w, strides, pads, pixels, -(-(kr * kc) // fine), interval)


def point_stride(op: ConvOp) -> int | None:
    """S of a 1x1 window at stride S x S without padding over an image of whole S x S blocks (S = 1: output pixel p
    is input pixel p; a ResNet downsample: S = 2, the block's top-left pixel), which conv.h conv_point_tm_in reads
    tile-major; None for any other window."""
    (kr, kc), (sr, sc), _, pads = op.window_geometry()
    _, h, w, _ = op.input.type.get_shape()
    if kr == kc == 1 and sr == sc and not any(pads) and h % sr == 0 and w % sr == 0:
        return sr
    return None


def tile_order_problems(op: ConvOp) -> Callable[[Mapping[str, int]], str | None]:
    """Why conv.h builds no stage for the orders of the op's streams, as a function of the folding f (None: it does),
    the op read once (explore asks ~10^5 times of a DenseNet-121's ordered convs, most of them foldings it rejects).
    A tile-major output (tile R block B) is written by conv_tiled_tm_out, tile = R and coarse_out = B: each filter
    step's outputs of the tile as it finishes them; a tile-major input is read by conv_point_tm_in, a 1x1 window at
    stride S without padding (`point_stride`), tile = R / S^2 output pixels (whole output rows where S > 1: a tile's
    input rows are then the S x S blocks of its outputs) and coarse_in = B: a block's beats of the tile, then each
    filter step's words applied to those it keeps."""
    order_in, order_out = op.input.type.order, op.output.type.order
    stride = point_stride(op) if order_in is not None else None
    wo = op.output.type.get_shape()[2]
    readable = stride is not None and not op.line_buffer_off_chip()

    def problem(f: Mapping[str, int]) -> str | None:
        if order_out is not None and (f["tile"], f["coarse_out"]) != order_out:
            return (f"writes a tile-major stream (tile {order_out[0]} block {order_out[1]}), which needs tile="
                    f"{order_out[0]} and coarse_out={order_out[1]}, got tile={f['tile']}, coarse_out={f['coarse_out']}")
        if order_in is None or (readable and (stride ** 2 * f["tile"], f["coarse_in"]) == order_in
                                and not (stride > 1 and f["tile"] % wo)):
            return None
        return (f"reads a tile-major stream (tile {order_in[0]} block {order_in[1]}), which needs a 1x1 window at "
                f"stride S on whole S x S blocks unpadded (whole output rows a tile if S > 1), its input on chip, "
                f"tile={order_in[0] // (stride or 1) ** 2} and coarse_in={order_in[1]}, got kernel {op.ints_prop('kernel')}, "
                f"stride {op.ints_prop('stride')}, pad {op.ints_prop('pad')}, tile={f['tile']}, coarse_in={f['coarse_in']}")

    return problem


def winograd_problem(op: ConvOp) -> str | None:
    """Why conv.h conv_wino cannot compute this conv (None: it can): Winograd F(2,3) takes a row of 3 kernel
    columns at column stride and dilation 1, an ungrouped conv, fixed-point numbers (its exact integer arithmetic
    gives the reference's bits; a float one would round differently) and the line buffer on chip."""
    (_, kc), (_, sc), (_, dc), _ = op.window_geometry()
    if kc != 3 or sc != 1 or dc != 1:
        return f"needs 3 kernel columns at column stride and dilation 1 (got {kc}, {sc}, {dc})"
    if op.groups.value.data != 1:
        return f"needs an ungrouped conv (groups={op.groups.value.data})"
    if not fixed_mac(op):
        return "needs fixed-point streams (run quantize first)"
    if op.line_buffer_off_chip():
        return "needs the line buffer on chip"
    return None


def winograd_types(op: ConvFields) -> tuple[Fx, Fx, Fx]:
    """Winograd's operand types (V, U) and accumulator type (M), as conv.h conv_mac_wino types them (the weights'
    ROM type: their format's, kinds/hls_mac.py mac_types)."""
    _, _, kr, _ = op.weights.type.get_shape()
    d_bits, w_bits, fixed_in = stream_bits(op.input), weight_bits(op.weights), fixed_of(op.input)
    return winograd_fx(fx_of(fixed_in) if fixed_in else Fx(d_bits, d_bits),
                       format_fx(getattr(op.weights.owner, "format", None)) or Fx(w_bits, w_bits),
                       op.input.type.get_shape()[-1] * kr)


def winograd_pays(op: ConvOp) -> bool:
    """Whether explore offers Winograd: its 4 multiplications of a kernel row's pair of outputs take fewer DSPs
    than the 6 direct products (not at 8 bits, where DSPs pack two direct products and none of the wider V x U)."""
    v_fx, u_fx, _ = winograd_types(op)
    # the fpgaConvNet DSP model with WP486 packing (hardware/dsp.py) at each product's widths
    return multiplier_dsp(4, v_fx.width, u_fx.width) < multiplier_dsp(6, stream_bits(op.input), weight_bits(op.weights))


def folding_problem(op: ConvOp, f: Mapping[str, int]) -> str | None:
    """Why conv.h builds no stage at the folding `f` (None: it does), beyond each factor's range: the one
    statement of which factors the kernels combine, which the verifier reports and explore's options skip.
    conv_px takes whole pixels a beat from an on-chip line buffer; conv_tiled is ungrouped, one pixel a
    beat, its input on chip and its filter steps full; a partly idle filter step is conv_mac's alone;
    conv_wino (`winograd_problem`) one pixel a beat, no tiles, whole kernel rows a step (fine a multiple of 3)."""
    return folding_problems(op)(f)


def folding_problems(op: ConvOp) -> Callable[[Mapping[str, int]], str | None]:
    """`folding_problem` of `op` as a function of the folding, the op read once (explore asks ~10^5 times)."""
    filters, groups, evicted = op.output.type.get_shape()[-1], op.groups.value.data, op.line_buffer_off_chip()
    winograd: list[str | None] = []  # winograd_problem(op), once asked
    order_problem = tile_order_problems(op) if op.input.type.order or op.output.type.order else None

    def problem(f: Mapping[str, int]) -> str | None:
        if order_problem is not None and (order := order_problem(f)) is not None:
            return order
        partial = filters % f["coarse_out"] != 0
        if f.get("winograd", 1) > 1:
            if not winograd:
                winograd.append(winograd_problem(op))
            problem = winograd[0]
            if problem is None and (f["pixels"] > 1 or f["tile"] > 1 or f["fine"] % 3):
                problem = (f"needs pixels=1, tile=1 and fine a multiple of 3 (got pixels={f['pixels']}, "
                           f"tile={f['tile']}, fine={f['fine']})")
            if problem is not None:
                return f"winograd={f['winograd']} (Winograd F(2,3)) {problem}"
        if f["tile"] > 1 and (f["pixels"] > 1 or groups > 1 or partial or evicted):
            return (f"tile={f['tile']} (weight-stationary tiles) needs groups=1 and pixels=1, coarse_out dividing the "
                    f"{filters} filters and a line buffer on chip, got groups={groups}, "
                    f"pixels={f['pixels']}, coarse_out={f['coarse_out']}"
                    f"{', a line buffer in DRAM' if evicted else ''}")
        if f["pixels"] > 1 and evicted:
            return f"a line buffer in DRAM takes one pixel per beat (pixels={f['pixels']})"
        if f["pixels"] > 1 and (partial or not whole_pixels(op, f)):
            return (f"pixels={f['pixels']} per beat needs whole pixels in and out (coarse_in*coarse_group = "
                    f"{op.input.type.get_shape()[-1]} channels, coarse_out*coarse_group = {filters} filters)")
        return None

    return problem


def _channel_lanes(op: ConvFields, f: Mapping[str, int]) -> tuple[int, int]:
    """conv.h's input/output lanes of one pixel under the folding `f` (ungrouped, `coarse_out` filters a
    step need not divide the filters: the output beats do, `beat_filters`)."""
    c, filters = op.input.type.get_shape()[-1], op.output.type.get_shape()[-1]
    groups = op.groups.value.data
    if groups == 1:
        return f["coarse_in"], beat_filters(filters, f["coarse_out"])
    return conv_lanes(c, c // groups, filters // groups, f["coarse_in"], f["coarse_out"], f["coarse_group"])


def mac_filters(op: ConvOp, f: Mapping[str, int]) -> int:
    """Filters conv.h's MAC array computes a step (its CO): an ungrouped conv's `coarse_out`, else (every
    step's filters one output beat) its output lanes of one pixel."""
    if op.groups.value.data == 1:
        return f["coarse_out"]
    return _channel_lanes(op, f)[1]


def subsampled(op: ConvOp) -> bool:
    """Whether conv.h conv_tiled's copy into its input FIFO keeps only the pixels its windows read: a 1x1 window
    striding without padding reads one pixel of each SR x SC block (a ResNet downsample), the rest is dropped there
    instead of being held in the FIFO and the tile buffer."""
    (kr, kc), (sr, sc), _, pads = op.window_geometry()
    return kr == kc == 1 and (sr > 1 or sc > 1) and not any(pads)


def held_image(op: ConvOp) -> tuple[int, int, int, int, int, int]:
    """(H, W, SR, SC, PT, PL) of the image conv.h conv_mac_tiled reads (its geometry's `held_geom`): the input, or,
    `subsampled`, the HO x WO pixels kept, a 1x1 window on each at stride 1."""
    _, h, w, _ = op.input.type.get_shape()
    _, ho, wo, _ = op.output.type.get_shape()
    _, (sr, sc), _, (pt, _, pl, _) = op.window_geometry()
    return (ho, wo, 1, 1, 0, 0) if subsampled(op) else (h, w, sr, sc, pt, pl)


def held_input_beats(op: ConvOp, lanes_in: int) -> np.ndarray:
    """The input beats conv.h conv_tiled's copy task writes into its FIFO, in order (all, unless `subsampled`)."""
    _, h, w, c = op.input.type.get_shape()
    _, ho, wo, _ = op.output.type.get_shape()
    _, (sr, sc), _, _ = op.window_geometry()
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    kept = np.ones((h, w), dtype=bool) if not subsampled(op) else (
        (rows % sr == 0) & (rows // sr < ho) & (cols % sc == 0) & (cols // sc < wo))
    return (np.flatnonzero(kept)[:, None] * (c // lanes_in) + np.arange(c // lanes_in)[None, :]).ravel()


def held_beats(op: ConvOp, lanes_in: int, tile: int) -> int:
    """Depth of conv.h conv_tiled's input FIFO: a tile's share of the beats it holds (all of them for one
    tile; a tile not dividing the output pixels: tile / pixels of them, a whole tile's), what the producer writes
    while the MACs work on a tile."""
    h, w, *_ = held_image(op)
    _, ho, wo, _ = op.output.type.get_shape()
    c = op.input.type.get_shape()[3]
    return -(-h * w * tile // (ho * wo)) * (c // lanes_in)


def _tile_pixel(op: ConvOp, pixels: np.ndarray, last: bool) -> np.ndarray:
    """Row-major index in the held image (`held_image`) where conv.h conv_mac_tiled's buffer of a tile starting
    (or, `last`, ending, past it) at output `pixels` begins (ends): a 1x1 window's pixel, else its first (last)
    window row, in the image."""
    h, w, sr, sc, pt, pl = held_image(op)
    wo = op.output.type.get_shape()[2]
    (kr, kc), _, (dr, dc), _ = op.window_geometry()
    kre, kce = dr * (kr - 1) + 1, dc * (kc - 1) + 1
    row = pixels // wo * sr - pt + (kre - 1 if last else 0)
    col = pixels % wo * sc - pl + int(last) if kre == kce == 1 else np.full_like(pixels, w if last else 0)
    return np.where(row < 0, 0, np.where(row >= h, h * w, row * w + np.clip(col, 0, w)))


def tile_pixels_read(op: ConvOp, tile: int) -> np.ndarray:
    """Pixels of the held image (`held_image`) conv.h conv_mac_tiled has read once each tile's are in its buffer
    (`tile_through`): through the pixel of its last 1x1 window, else the last row its windows reach in the image
    (the pixels past the last tile's are read and dropped after it)."""
    _, ho, wo, _ = op.output.type.get_shape()
    # each tile's last pixel (a last tile partly past the image: the image's last)
    last = np.minimum(np.arange(tile - 1, conv_weight_sweeps(ho * wo, tile) * tile, tile), ho * wo - 1)
    return _tile_pixel(op, last, last=True)


def _span(op: ConvOp) -> tuple[int, int]:
    """Rows and columns of the input a window spans (a dilated one dilation*(K-1)+1)."""
    (kr, kc), _, (dr, dc), _ = op.window_geometry()
    return dr * (kr - 1) + 1, dc * (kc - 1) + 1


def _tile_most(op: ConvOp, tile: int) -> int:
    """The most input pixels one tile's buffer spans, from its first window's first row (first pixel for a 1x1
    window) to `tile_pixels_read`."""
    _, ho, wo, _ = op.output.type.get_shape()
    return max(1, int((tile_pixels_read(op, tile) - _tile_pixel(op, np.arange(0, ho * wo, tile), last=False)).max()))


def _bank_depth(op: ConvOp, most: int, banks: tuple[int, int]) -> int:
    w, (kre, kce), (krb, kcb) = held_image(op)[1], _span(op), banks
    if kre == kce == 1:
        return most
    return -(-(-(-most // w)) // krb) * -(-w // kcb)


def tile_buffer_depth(op: ConvOp, tile: int, banks: tuple[int, int] | None = None) -> int:
    """Pixels each bank of conv.h conv_mac_tiled's tile buffer holds (`tile_buffer_depth`): the most one tile
    spans, a ring of pixels for a 1x1 window, else of whole rows, row r in row bank r % KRB (`banks` = (KRB, KCB),
    default one per row and column of the window span, KRE x KCE), each bank ceil(rows/KRB) rows of ceil(W/KCB)
    of their pixels."""
    return _bank_depth(op, _tile_most(op, tile), _span(op) if banks is None else banks)


def _buffer_cost(op: ConvOp, lanes_in: int, most: int, banks: tuple[int, int]) -> tuple[int, int]:
    (kr, kc), (kre, kce), (krb, kcb) = op.ints_prop("kernel"), _span(op), banks
    bits = lanes_in * stream_bits(op.input)
    depth = _bank_depth(op, most, banks) * (op.input.type.get_shape()[3] // lanes_in)  # CI-word beats
    column_reads = (kce - 1) // kcb + 1  # each bank's reads a cycle: ceil(KRE/KRB) x ceil(KCE/KCB), at most 2
    if ((kre - 1) // krb + 1) * column_reads == 1:
        bank_bram, bank_lut = array_cost(bits, depth)
    else:  # Zhang et al. (FPGA'15) input buffer, its banks read on both ports (UG573 true dual port)
        bank_bram = bram18_two_reads(bits, depth)
        bank_lut = 0 if bank_bram else lutram_two_reads_luts(bits, depth)
    # each kernel row takes each column read from one of the KRB row banks, each window position its pixel from
    # one of the KCB column banks (mux LUTs, UG574)
    select = kr * kcb * column_reads * mux_luts(bits, krb) + kr * kc * mux_luts(bits, kcb)
    return krb * kcb * bank_bram, krb * kcb * bank_lut + select


def tile_buffer_cost(op: ConvOp, lanes_in: int, tile: int, banks: tuple[int, int]) -> tuple[int, int]:
    """(BRAM18, LUT) of conv.h conv_mac_tiled's tile buffer in KRB x KCB `banks` and of the selection forming
    each window from their reads (`tile_buffer`)."""
    return _buffer_cost(op, lanes_in, _tile_most(op, tile), banks)


def tile_buffer(op: ConvOp, lanes_in: int, tile: int) -> tuple[tuple[int, int], int, int]:
    """((KRB, KCB), BRAM18, LUT): the row and column banks of conv.h conv_mac_tiled's tile buffer and their cost.
    One bank per row and column of the window span (KRE x KCE, each read once a cycle), or half as many of one
    of them (each read on both ports), whichever takes the fewest BRAM18, then LUTs: halving rows (or columns)
    halves the banks whose depth rounds up to a BRAM18's, and a ring of rows in ceil(rows/KRB) wastes fewer rows."""
    return banked_buffer(op, lanes_in, _tile_most(op, tile))


def banked_buffer(op: ConvOp, lanes_in: int, most: int) -> tuple[tuple[int, int], int, int]:
    """`tile_buffer` of a tile spanning `most` input pixels (`_tile_most`: the same for every lanes)."""
    kre, kce = _span(op)
    options = {banks: _buffer_cost(op, lanes_in, most, banks)
               for banks in ((kre, kce), (-(-kre // 2), kce), (kre, -(-kce // 2)))}
    banks = min(options, key=options.get)
    return (banks, *options[banks])


def tile_memories(op: ConvOp, lanes_out: int, tile: int, lutram: str | None = None) -> tuple[LaneRam, LaneRam]:
    """A tiled conv's memories of each filter lane (conv.h `lane_ram`, read and written each cycle), each in LUTRAM
    or BRAM (`lane_ram`; in LUTRAM whatever their size as `lutram`, dataflow.tile_lutram, says: the sums, or all):
    its sums and the outputs it keeps (`_tile_memory_shapes`)."""
    (sums_bits, sums_depth), (kept_bits, kept_depth) = _tile_memory_shapes(op, lanes_out, tile)
    return lane_ram(sums_bits, sums_depth, lutram is not None), lane_ram(kept_bits, kept_depth, lutram == "all")


def _tile_memory_shapes(op: ConvOp, lanes_out: int, tile: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(width, depth) of a filter lane's sums, a filter step's for each pixel of the tile (conv_mac_tiled) or every
    filter's (conv_point_tm_in, reading tile-major: F/LO x tile deep), and of the tile's outputs conv_mac_tiled keeps
    until its store (F/LO x tile deep; none writing tile-major, nor for conv_point_tm_in, which stores from its
    sums)."""
    steps = op.output.type.get_shape()[-1] // lanes_out
    if op.input.type.order is not None:
        return (acc_bits(op), steps * tile), (0, 0)
    kept = (stream_bits(op.output), steps * tile) if op.output.type.order is None else (0, 0)
    return (acc_bits(op), tile), kept


def tile_lutram_options(op: ConvOp, lanes_out: int, tile: int) -> tuple[str | None, ...]:
    """The places of a tiled conv's tile memories (`tile_memories`) explore weighs, each a cost of its own: the rule
    (None: BRAM above a BRAM's worth), and LUTRAM for those in BRAM no deeper than a LUT RAM (LUTRAM_DEPTH, as
    analyses/fifo_memory.py moves FIFOs): the sums ("sums"), or all ("all") where the kept outputs are such too.
    A deeper one takes a RAM64M8 row (UG574) every 64 words, more LUTs than a BRAM18 is worth to the search: offered
    at any depth, ResNet-50 ZCU102 16-bit fell from 54.6 to 35.6 fps (its search took them and ended slower)."""
    (sums_bits, sums_depth), (kept_bits, kept_depth) = _tile_memory_shapes(op, lanes_out, tile)
    sums, kept = lane_ram(sums_bits, sums_depth), lane_ram(kept_bits, kept_depth)
    sums_moves = bool(sums.bram18) and sums_depth <= LUTRAM_DEPTH
    kept_moves = bool(kept.bram18) and kept_depth <= LUTRAM_DEPTH and (sums_moves or not sums.bram18)
    return (None,) + (("sums",) if sums_moves else ()) + (("all",) if kept_moves else ())


def explored_tiles(op: ConvOp) -> frozenset[int]:
    """The tiles explore considers: those dividing the output pixels and the least tile for each count of weight
    sweeps up to PARTIAL_TILE_SWEEPS (the last tile partly idle; a window wider than 1x1 too, its first tile reading
    its extra rows: `tile_pixels_read`)."""
    pixels = math.prod(op.output.type.get_shape()[1:3])
    partial = range(1, PARTIAL_TILE_SWEEPS + 1)
    return frozenset(t for t in range(1, pixels + 1) if pixels % t == 0) | {-(-pixels // n) for n in partial}


def whole_pixels(op: ConvOp, f: Mapping[str, int]) -> bool:
    """Whether a beat carries every channel in and every filter out: then P such pixels side by
    side are P*C consecutive words of the stream, which is how conv_px takes them."""
    return _channel_lanes(op, f) == (op.input.type.get_shape()[-1], op.output.type.get_shape()[-1])


@register
class Conv(NodeKind):
    op = ConvOp
    hls_headers = ("conv.h",)

    def stream_lanes(self, op: ConvOp, folding: Mapping[str, int] | None = None) -> tuple[int, int]:
        f = op.folding() if folding is None else folding
        lanes_in, lanes_out = _channel_lanes(op, f)
        px = f.get("pixels", 1)  # spatial parallelism: `pixels` whole pixels per beat, in and out
        return lanes_in * px, lanes_out * px

    def cycles_function(self, op: ConvOp, interval: int = 1,
                        stream: WindowStream | None = None) -> Callable[[Folding], float]:
        """Cycles per inference as a function of the folding (dense: every product computed), its input
        beats coming at most one per `interval` cycles (`stream`: its window stream, if already at hand)."""
        _, h, w, c = op.input.type.get_shape()
        _, ho, wo, f = op.output.type.get_shape()
        (kr, kc), _, _, (pt, pb, pl, pr) = op.window_geometry()
        groups = op.groups.value.data
        evicted = op.line_buffer_off_chip()  # ddr_rows.h conv_rows: its window stream is Vitis HLS's 2 deep

        stream = stream or WindowStream(op)

        def cycles(folding: Folding) -> int:
            ci, co, cg, fine = folding[:4]
            # the MAC loop waits for the window generator between rows and inferences, less what its window
            # stream queues (its depth chosen at the input's own pace)
            walk, per_beat = stream.walk(folding, interval)
            windowed = walk.stage_cycles(per_beat, 2 if evicted else stream.depth(folding))
            if winograd_of(folding) > 1:
                # conv.h conv_wino: per pair of output columns C/CI window beats of ceil(F/CO)*ceil(K/FINE) steps;
                # its pair splitter writes every output beat, one a cycle (F/LO a pixel)
                out_beats = ho * wo * (f // beat_filters(f, co))
                read = (h + pt + pb) * (w + pl + pr + wo % 2) * -(-c // ci)  # fpgaConvNet's input term
                return max(windowed, read, out_beats)
            return max(windowed, conv_cycles(h, w, c, f, kr, kc, ho, wo, ci, co, fine, groups, cg, pt, pb, pl, pr))

        return cycles

    def paced_cycles(self, op: ConvOp, folding: Mapping[str, int], interval: int) -> int:
        if folding.get("pixels", 1) > 1:  # conv_px: a converter widening its producer's beats to P whole pixels
            return conv_px_cycles(op, folding["fine"], folding["pixels"], interval)
        return self.cycles_function(op, interval)(channel_folding(folding))

    def cost(self, op: ConvOp) -> NodeModel:
        _, h, w, c = op.input.type.get_shape()
        _, ho, wo, f = op.output.type.get_shape()
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
        groups = op.groups.value.data
        # a dilated window spans dilation*(K-1)+1 rows and columns of the input
        kr_span, kc_span = dr * (kr - 1) + 1, dc * (kc - 1) + 1
        d_bits, w_bits, a_bits = stream_bits(op.input), weight_bits(op.weights), acc_bits(op)
        has_bias = op.bias is not None
        x_signed = fixed_of(op.input) is None or fixed_of(op.input).is_signed

        stream = WindowStream(op)
        cycles_of = self.cycles_function(op, stream=stream)
        factors = tuple(op.folding_extents())
        evicted = op.line_buffer_off_chip()  # SMOF: the input waits in DRAM, its window rows are read back
        reread = evicted_line_buffer_bits(h, w, c, d_bits, ho, kr, sr, dr, pt) if evicted else 0
        # the share of its pixels it computes after its last input beat (none read from DRAM rows: they wait there)
        tail_share = 0.0 if evicted else windows_after_input(
            h, w, ho, wo, (sr, sc), (kr_span, kc_span), (pt, pb, pl, pr)) / (ho * wo)

        def generator(ci: int, cg: int, px: int, wino: int = 1) -> WindowCost:
            """The sliding-window generator (line buffer and window registers) of conv.h's conv_mac or conv_px,
            px columns side by side: the window spans (px-1)*stride more columns of the input; conv_wino's
            (`winograd_geometry`) 4 columns, an odd output width one zero column more on the right."""
            if wino > 1:
                return sliding_window_cost(h, w, c, kr_span, 4, winograd_geometry(op)[2], d_bits, ci, cg)
            return sliding_window_cost(h, w, c, kr_span, kc_span, (pt, pb, pl, pr), d_bits, ci, cg,
                                       line_buffer_on_chip=not evicted, pixels=px, col_stride=sc)

        v_fx, u_fx, m_fx = winograd_types(op) if factors[-1] == "winograd" else (None,) * 3

        # explore costs many tiles of each folding: what depends on the folding's lanes and tile alone, and what
        # conv_mac's stage took at that folding pixel-outer, worked out once each
        held_h, held_w, *_ = held_image(op)
        tile_spans: dict[int, tuple[int, int]] = {}
        tile_parts: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        untiled_parts: dict[Folding, tuple[int, int, int, int, int, int, int]] = {}

        def tile_part(li: int, tile: int) -> tuple[int, int, int, int]:
            """(BRAM18, LUT) of the tile buffer and of the FIFO holding a tile's share of the input, and the input
            beats read when the first tile's MACs start."""
            if (li, tile) not in tile_parts:
                if tile not in tile_spans:  # the pixels a tile's buffer spans and the input read: the same for all lanes
                    held = int(tile_pixels_read(op, tile)[0])  # the input read by then: through the last pixel held
                    tile_spans[tile] = _tile_most(op, tile), int(held_input_beats(op, c)[held - 1]) + 1 if held else 0
                most, read = tile_spans[tile]
                # Zhang et al. (FPGA'15): the tile's input held once (Tn x (S*Tr+K-S) x (S*Tc+K-S) words), here whole
                # rows in banks of CI words by row and column mod KRB x KCB (array partition, UG1399; tile_buffer)
                _, buffer_bram, buffer_lut = banked_buffer(op, li, most)
                # the FIFO holding a tile's share of the input (a FIFO's memory: BRAM, SRL or LUTRAM, UG573/UG574)
                held_bram = bram18(li * d_bits, held_beats(op, li, tile), fifo=True)
                held_lut = 0 if held_bram else lutram_luts(li * d_bits, held_beats(op, li, tile))
                tile_parts[li, tile] = buffer_bram + held_bram, buffer_lut + held_lut, read, conv_weight_sweeps(ho * wo, tile)
            return tile_parts[li, tile]

        def untiled_part(folding: Folding) -> tuple[int, int, int, int, int, int, int]:
            """(input lanes, output lanes, CI-word beats a pixel, output beats a pixel, kernel steps, BRAM18 and LUT
            of what conv_mac's stage takes that conv_tiled's does not) at a folding pixel-outer."""
            if folding not in untiled_parts:
                li, lo = self.stream_lanes(op, dict(zip(factors, folding)))
                pixel_acc_lut = lutram_luts(a_bits * lo, f // lo)  # what conv_mac's accumulators took
                window = generator(folding[0], 1, 1)  # what conv_mac's window generator and its stream took
                window_lut = window.lut + stream.fifo_luts(folding, stream.depth(folding))
                untiled_parts[folding] = (li, lo, c // li, f // lo, -(-(kr * kc) // folding[3]), window.bram18,
                                          window_lut + pixel_acc_lut)
            return untiled_parts[folding]

        order_in, order_out = op.input.type.order, op.output.type.order  # tile-major streams (tile_order_problems)
        memories = cache(partial(tile_memories, op))  # once for each output lanes, tile and place
        memory_options = cache(partial(tile_lutram_options, op))

        def lutram_options(folding: Folding) -> tuple[str | None, ...]:
            if len(folding) < 6 or folding[5] == 1:
                return (None,)  # no tiles, no tile memories
            return memory_options(untiled_part(folding[:5] + (1,) + folding[6:])[1], folding[5])

        def tiled(cost: NodeCost, folding: Folding, tile: int, lutram: str | None) -> NodeCost:
            """conv.h conv_tiled: `cost` (the same folding, pixel-outer) with a buffer of the tile's input rows
            instead of the window generator, a filter step's accumulators and every output for each pixel of
            the tile, each weight word swept once per tile, and its load-compute-store cycles; writing a
            tile-major output (conv_tiled_tm_out), no outputs kept and no store; reading a tile-major input
            (conv_point_tm_in), `point_tiles`; its tile memories in LUTRAM as `lutram` says (`tile_memories`)."""
            li, lo, cb, nf, kf, untiled_bram, untiled_lut = untiled_part(folding[:5] + (1,) + folding[6:])
            if order_in is not None:
                return point_tiles(cost, li, lo, cb, nf, tile, untiled_bram, untiled_lut, lutram)
            held_bram, held_lut, read, tiles = tile_part(li, tile)
            # the copy task reads every input beat, the MACs those it holds (`held_image`)
            # the last tile's pixels past the image (a tile not dividing them) take their MAC and output cycles
            stores = 0 if order_out is not None else nf  # tile-major: each written as its filter step ends
            cycles = max(h * w * cb, tiled_conv_cycles(held_h * held_w * cb, tiles * tile, cb, nf * kf, stores))
            # a filter step's accumulators for each pixel of the tile (tile deep) and the tile's outputs once each
            # step is done (NF*tile deep), one memory per filter lane (partitioned: all CO each cycle), each in
            # LUTRAM or BRAM (`tile_memories`)
            acc, kept = memories(lo, tile, lutram)
            first_load, compute = read * cb, tile * cb * nf * kf
            # the first output beat: after the tile's MACs, or, tile-major, after its first filter step's
            first_out = compute if order_out is None else tile * cb * kf
            return replace(
                cost, cycles=cycles, depth=first_load + first_out + STAGE_PIPELINE_CYCLES, fill=read / (h * w),
                bram18=cost.bram18 - untiled_bram + held_bram + lo * (acc.bram18 + kept.bram18),
                lut=cost.lut - untiled_lut + held_lut + lo * (acc.lut + kept.lut),
                weight_sweeps=tiles,
                # the last tile's MACs follow its last input rows; the first output is followed by the other tiles
                lag=compute, first_lag=first_out, drain=max(0, cycles - first_load - first_out), pixel_work=0,
                burst=0, lead=0, tail=0,
                out_burst=stores * tile,  # conv.h conv_tiled: a tile's outputs stored, one beat a cycle
            )

        def point_tiles(cost: NodeCost, li: int, lo: int, cb: int, nf: int, tile: int, untiled_bram: int,
                        untiled_lut: int, lutram: str | None) -> NodeCost:
            """conv.h conv_point_tm_in: `cost` (the same folding, pixel-outer) with, instead of the window generator,
            a block's beats of the tile's outputs (tile deep) and every filter's sums for each pixel of the tile; per
            tile and block, S^2 x tile cycles reading its input beats (the first filter step's MACs on the pixels it
            keeps) and F/CO - 1 filter steps of tile cycles, then, writing pixel-major, tile x F/CO output beats."""
            tiles, read = conv_weight_sweeps(ho * wo, tile), point_stride(op) ** 2 * tile
            per_block, stores = read + (nf - 1) * tile, 0 if order_out is not None else tile * nf
            compute = cb * per_block
            # output-stationary tiles (Zhang et al., FPGA'15, the loop order with the input channels outermost): a
            # tile's input block once, its outputs' partial sums on chip; one memory per filter lane, NF*tile deep
            acc, _ = memories(lo, tile, lutram)
            block_bram, block_lut = array_cost(li * d_bits, tile)
            first = (cb - 1) * per_block + 1 if order_out is not None else compute  # iterations to the first output
            return replace(
                cost, cycles=tiles * (compute + stores), depth=first + STAGE_PIPELINE_CYCLES, fill=read / (h * w),
                bram18=cost.bram18 - untiled_bram + lo * acc.bram18 + block_bram,
                lut=cost.lut - untiled_lut + lo * acc.lut + block_lut, weight_sweeps=tiles,
                # after a tile's last block is read: its filter steps, then its store
                lag=per_block + stores, drain=max(0, tiles * (compute + stores) - first), pixel_work=0, burst=0, tail=0,
                out_burst=stores,  # conv.h conv_point_tm_in: a tile's outputs, one beat a cycle
                lead=0,
            )

        def paired(direct: NodeCost, folding: Folding) -> NodeCost:
            """The point pairing its products by FFIP: `direct`, its direct twin at the folding (costed once for
            explore's two searches), with FFIP's multipliers, their logic and operand sums, and the bias less the
            w-only terms; the rest (cycles, memories, window) is the twin's."""
            ci, co, cg, fine = folding[:4]
            px = folding[4] if len(folding) > 4 else 1
            # hardware/ffip.py (Pogue & Nicolici 2024): a multiplier per pair of products per filter, and the shared
            # x-only ones; the fabric's operand sums
            mults, dsp, mult_lut, sums_lut = ffip_cost(co, ci * fine, px, d_bits, x_signed, w_bits)
            was, now = mac_logic(direct.multipliers, d_bits, w_bits, a_bits), mac_logic(mults, d_bits, w_bits, a_bits)
            # the bias less the w-only terms (hls_mac.py mac_types) at acc_bits, in distributed RAM (UG574)
            bias_was = lutram_luts(w_bits * co * cg, -(-f // (co * cg))) if has_bias else 0
            bias = lutram_luts(a_bits * co, -(-f // co))
            return replace(direct, dsp=dsp, mult_lut=mult_lut, multipliers=mults,
                           lut=direct.lut - was.lut - bias_was + now.lut + sums_lut + bias,
                           ff=direct.ff - was.ff + now.ff)

        def evaluate(folding: Folding, product: str | None = None, lutram: str | None = None) -> NodeCost:
            if len(folding) > 5 and folding[5] > 1:  # weight-stationary tiles (a zero-skipping conv has none)
                # the same folding pixel-outer, costed once for all its tiles and places (the model's cache)
                return tiled(model.evaluated(folding[:5] + (1,) + folding[6:], product), folding, folding[5], lutram)
            if pairs_products(op, dict(zip(factors, folding)), product):
                return paired(model.evaluated(folding, "direct"), folding)
            ci, co, cg, fine = folding[:4]
            px = folding[4] if len(folding) > 4 else 1  # a zero-skipping conv has no spatial parallelism
            wino = folding[6] if len(folding) > 6 else 1  # Winograd F(2,3): output columns a transform computes
            channels = (ci, co, cg, fine, wino)
            # Ma et al. (FPGA'17) loop unrolling of Pox output columns: multipliers x Pox, cycles / Pox
            # (conv.h conv_px: the window generator walks the padded rows in steps of Pox columns)
            cycles = cycles_of(channels) if px == 1 else conv_px_cycles(op, fine, px)
            # Lavin & Gray (CVPR 2016) F(2,3): 4 multiplications a kernel row for 2 outputs, of the widened
            # transforms (V, U) on the DSPs (or fabric)
            mults = mac_multipliers(stream, folding, False)
            mul_bits = (v_fx.width, u_fx.width) if wino > 1 else (d_bits, w_bits)
            sum_bits = m_fx.width if wino > 1 else a_bits
            dsp, mult_lut = multiplier_dsp(mults, *mul_bits), mults * lut_multiplier(*mul_bits)
            ww, wd = conv_weight_memory(c, f, kr, kc, w_bits, ci, co, fine, groups, cg)  # one word feeds every column
            w_bram, w_lut = array_cost(ww, wd)
            window = generator(ci, cg, px, wino)
            # conv.h conv's window stream, deeper than Vitis HLS's 2 where it pays (window_depth)
            window_fifo_lut = 0 if px > 1 or evicted else stream.fifo_luts(channels, stream.depth(channels))
            ring_bram, ring = ring_adapters(ci * cg, d_bits) if evicted else (0, Logic(0, 0))
            if evicted:
                cycles = max(cycles, row_reader_cycles(ho, w * -(-c // (ci * cg)), kr, h * w * -(-c // (ci * cg))))
            # accumulators (one acc_bits word per filter of each output stream; Winograd: 4 M sums a filter) and
            # biases are shallow arrays read every cycle: distributed RAM, not BRAM (fpgaConvNet accum/bias, UG574)
            a_bram, a_lut = 0, lutram_luts(sum_bits * co * cg * px * (4 if wino > 1 else 1), -(-f // (co * cg)))
            b_bram, b_lut = (0, lutram_luts(w_bits * co * cg, -(-f // (co * cg)))) if has_bias else (0, 0)
            logic = mac_logic(mults, *mul_bits, sum_bits) + stage_logic(
                ci * cg * kr * (4 if wino > 1 else kc) * px, d_bits)
            if wino > 1:
                lo = beat_filters(f, co)
                # the Winograd transforms, and conv_pair_split: a register of both pixels' beat and the second
                # pixel's F/LO beats held in LUTRAM until the first's are written (UG574)
                logic += winograd_logic(ci * fine // 3, co, v_fx.width, u_fx.width, m_fx.width) + stage_logic(
                    2 * lo, stream_bits(op.output))
                a_lut += lutram_luts(lo * stream_bits(op.output), f // lo)
            per_pixel = conv_pixel_cycles(c, f, kr * kc, groups, folding)
            pixels = winograd_pairs(op) if wino > 1 else -(-ho * wo // px)  # the MAC loop's pixels (pairs)
            # conv.h conv_mac: a group's output beats follow its last window beat (a dense conv's: the pixel's)
            beats = -(-c // (ci * cg))
            group_beats = max(1, (c // groups) // (ci * cg))
            return NodeCost(
                cycles=cycles, depth=window.fill + per_pixel + STAGE_PIPELINE_CYCLES,
                fill=window.fill_fraction, dsp=dsp,
                bram18=w_bram + window.bram18 + a_bram + b_bram + ring_bram, uram=0,
                lut=logic.lut + w_lut + window.lut + window_fifo_lut + a_lut + b_lut + ring.lut, ff=logic.ff + ring.ff,
                offchip_bits=reread,
                out_lanes=self.stream_lanes(op, dict(zip(factors, folding)))[1], weight_width=ww, weight_depth=wd, weight_bits=w_bits, word_stream=True, mult_lut=mult_lut,
                multipliers=mults,
                weight_sweeps=pixels,
                # conv.h conv_mac: each window beat's MACs run as it arrives (after the last one, a beat's
                # worth is left), the pixels one after the other
                lag=per_pixel // beats,
                # conv_px: its groups of P pixels at least as far apart as its window walk emits them
                drain=max((pixels - 1) * per_pixel,
                          0 if px == 1 else px_output_span(ho, wo, w, (sr, sc), (pt, pb, pl, pr), px)),
                pixel_work=group_beats * (per_pixel // beats),
                pixel_fill=max(0.0, window.fill_fraction * h * w - 1) / max(1, h * w - 1),
                burst=per_pixel - (group_beats - 1) * (per_pixel // beats),
                # window.h walks the top and left padding from the start, before it reads an input beat
                lead=0 if px > 1 or evicted else (sliding_window_fill(w, c, kr_span, 4 if wino > 1 else kc_span, ci, cg,
                                                                      pl, winograd_geometry(op)[2][3] if wino > 1 else pr)
                                                  + per_pixel + STAGE_PIPELINE_CYCLES),
                tail=int(cycles * tail_share),
            )

        model = NodeModel(
            op, node_label(op), op.name, *folding_of(op), evaluate,
            macs=ho * wo * f * (c // groups) * kr * kc, macs_per_dsp=macs_per_dsp(d_bits, w_bits), lut_per_mac=lut_multiplier(d_bits, w_bits),
            adder_lut_per_mac=mac_logic(1, d_bits, w_bits, a_bits).lut, has_weights=True,
            buildable=self.buildable(op, factors), sift=self.sift(op, factors),
            tile_lutrams=lutram_options if "tile" in factors else None,
        )
        return model

    @staticmethod
    def buildable(op: ConvOp, factors: tuple[str, ...]) -> Callable[[Folding], bool] | None:
        """The foldings `folding_problem` lets through, with tiles explore considers (`explored_tiles`: of the
        many not dividing the output pixels, few) (explore asks ~10^4 times: one pixel a beat without tiles,
        conv_mac, takes every channel folding, asked of nothing more; conv_wino, at one pixel a beat without tiles
        (offered only where `winograd_problem` allows), every fine a multiple of 3)."""
        if "pixels" not in factors:
            return None  # a zero-skipping conv: one pixel per beat, any channel folding
        at, tile, tiles = factors.index("pixels"), factors.index("tile"), explored_tiles(op)
        wino, fine, problem = factors.index("winograd"), factors.index("fine"), folding_problems(op)

        ordered = op.input.type.order is not None or op.output.type.order is not None  # tile_order_problems

        def buildable(folding: Folding) -> bool:
            if folding[at] == 1 and folding[tile] == 1 and not ordered:
                return folding[wino] == 1 or folding[fine] % 3 == 0
            return folding[tile] in tiles and problem(dict(zip(factors, folding))) is None

        return buildable

    @staticmethod
    def sift(op: ConvOp, factors: tuple[str, ...]) -> Callable[[list[Folding], str | None], list[Folding]] | None:
        """Explore's time: the (multipliers, MAC steps a pixel) of the foldings with a partly idle filter
        step (coarse_out not dividing F) are many and close; one of them is costed only where it is a rung
        of the ladder of the fewest steps by multipliers, faster than the rung below by a SIFT_RUNG-th
        (the foldings whose coarse_out divides all stay), so a dropped one is at most a SIFT_RUNG-th slower than a
        kept one with no more multipliers. ResNet-50's 1x1 conv 512 -> 2048 keeps 66 of 780; its 3x3 conv
        64 -> 64 21 of 280. Winograd's foldings (their multipliers of other widths) are sifted apart, among
        themselves, and only where they take fewer DSPs (`winograd_pays`). The multipliers are those the point is
        costed with (`mac_multipliers`) for the inner product asked (None: the IR's); for "ffip", of the foldings
        whose products it pairs (kinds/inner_product.py), the others being the direct points."""
        if "coarse_out" not in op.partial_factors():
            return None
        c, f = op.input.type.get_shape()[-1], op.output.type.get_shape()[-1]
        k, groups, out = math.prod(op.ints_prop("kernel")), op.groups.value.data, factors.index("coarse_out")
        wino = factors.index("winograd") if "winograd" in factors else None
        stream = WindowStream(op)

        def sift(options: list[Folding], product: str | None) -> list[Folding]:
            steps: dict[tuple[int, int] | None, bool] = {}  # pairs_products reads a folding only through its step

            def pairs(folding: Mapping[str, int]) -> bool:
                step = op.ffip_step(folding)
                if step not in steps:
                    steps[step] = pairs_products(op, folding, product)
                return steps[step]

            paired = {o: pairs(dict(zip(factors, o))) for o in options}
            if product == "ffip":
                options = [o for o in options if paired[o]]
            if wino is None or all(o[wino] == 1 for o in options):
                return sift_alike(options, paired)
            direct = sift_alike([o for o in options if o[wino] == 1], paired)
            return direct + sift_alike([o for o in options if o[wino] > 1], paired) if winograd_pays(op) else direct

        def sift_alike(options: list[Folding], paired: dict[Folding, bool]) -> list[Folding]:
            paces = [(mac_multipliers(stream, o, paired[o]), conv_pixel_cycles(c, f, k, groups, o)) for o in options]
            dividing = {p for o, p in zip(options, paces) if f % o[out] == 0}
            rungs, last = set(), math.inf
            for m, s in sorted(set(paces)):
                if s < last and ((m, s) in dividing or s * (1 + 1 / SIFT_RUNG) <= last):
                    rungs.add((m, s))
                    last = s
            kept: set[tuple[int, int]] = set()  # the first partial folding at each of its rungs
            sifted = []
            for o, p in zip(options, paces):
                if f % o[out] == 0 or (p in rungs and p not in dividing and p not in kept):
                    kept.add(p)
                    sifted.append(o)
            return sifted

        return sift

    def run_float(self, op: ConvOp, args):
        x, weights, *bias = args
        return (conv2d(x, weights, bias[0] if bias else None, op.ints_prop("stride"), op.ints_prop("dilation"),
                       op.ints_prop("pad"), op.groups.value.data).astype(np.float32),)

    def run_fixed(self, op: ConvOp, args):
        """Exact products; acc = exact sum of all products + bias (the bias is on a grid no finer
        than the accumulator's, so it aligns exactly); y = T_out(T_acc(acc)), T_acc = `acc_format`.
        Quantize chooses T_acc with F_acc = F_in + max F_w and enough integer bits for the worst
        case over all inputs of T_in, so T_acc(acc) is exact; a user-narrowed T_acc (acc-bits) keeps
        F_acc and wraps, which gives the same result whatever the order of the additions. Computed
        in float64 (BLAS), exact because every partial sum is a multiple of 2^-F_acc below 2^53
        units (`check_exact`), or in float32 on the integer codes when every sum stays below 2^24
        (`exact_products`); when quantize had to give T_acc fewer fraction bits than the
        products (an exact accumulator over 53 bits), the bias is added on T_acc's grid (`mac_result`)."""
        if fixed_of(op.output) is None:
            return self.run_float(op, args)
        x, weights, *bias = (np.asarray(a, dtype=np.float64) for a in args)
        return (mac_result(op, x, weights, weights_format(op.weights), bias[0] if bias else None,
                           lambda v, w, b: conv2d(v, w, b, op.ints_prop("stride"), op.ints_prop("dilation"),
                                                  op.ints_prop("pad"), op.groups.value.data, exact=True)),)

    def emit_hls(self, em, op: ConvOp) -> None:
        """One `dfcc::conv` call (conv.h): sliding window, then the MAC array (its weights on chip, or
        streamed from DRAM: kinds/hls_offchip.py); `dfcc::conv_px` for more than one pixel per beat,
        `dfcc::conv_tiled` for weight-stationary tiles (a sweep of the weights per tile; `conv_tiled_tm_out` writing
        a tile-major stream, `conv_point_tm_in` reading one), `dfcc::conv_wino` for Winograd F(2,3) (a sweep per
        pair of output columns)."""
        name = em.stage(op)
        n, h, w, c = op.input.type.get_shape()
        f = op.output.type.get_shape()[-1]
        if n != 1:
            raise em.error(op, f"batch {n} streams are not supported (batch 1 only)")
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
        groups = op.groups.value.data
        lanes_in, lanes_out = self.stream_lanes(op)
        co = mac_filters(op, op.folding())  # conv.h's CO; its output lanes are those of `out`
        x = em.read(op.input, lanes_in, name)
        out = em.new_stream(f"s_{name}", op.output.type, lanes_out, value=op.output)
        em.define(op.output, out)
        px = op.int_prop("pixels")  # the P MAC copies share each weight word: lanes per pixel, a sweep per beat
        ffip = pairs_products(op, op.folding())  # the products paired (inner_product.h), the bias folded (hls_mac.py)
        step = (lanes_in // px, op.int_prop("fine")) if ffip else None
        w_rom, b_rom, t_acc, t_mid = mac_types(em, op, (f, c // groups, kr, kc), step)
        _, ho, wo, _ = op.output.type.get_shape()
        tile, wino = op.int_prop("tile"), op.int_prop("winograd")
        sweeps = winograd_pairs(op) if wino > 1 else conv_weight_sweeps(ho * wo // px, tile)
        order_in, order_out = op.input.type.order, op.output.type.order  # tile-major streams (tile_order_problems)
        # conv_tiled's words filter step outermost; conv_point_tm_in's conv_mac's order, input beat outermost
        w_arg = mac_weights(em, op, w_rom, sweeps, channels=c, groups=groups, lanes_in=lanes_in // px, lanes_out=co,
                            fine=op.int_prop("fine"), filters_outer=tile > 1 and order_in is None)
        geom = f"dfcc::geom<{h}, {w}, {c}, {kr}, {kc}, {sr}, {sc}, {dr}, {dc}, {pt}, {pb}, {pl}, {pr}>"
        types = f"{em.elem(op.input)}, {w_rom.elem}, {b_rom.elem}, {t_acc}, {out.elem}" + mid_and_mul(op, t_acc, t_mid, ffip)
        fine = op.int_prop("fine")
        if op.line_buffer_off_chip():  # ddr_rows.h: the input waits in a DRAM ring, its window rows read back
            tokens = row_ring_tokens(h, w * c // lanes_in, op.output.type.get_shape()[1], kr, sr, dr, pt)
            if tokens < 1:
                raise em.error(op, f"its line buffer in DRAM needs an image of more rows than its window reads at "
                                   f"once ({h} rows of {w * c // lanes_in} beats); keep it on chip")
            ring = DramBuffer(em.unique(f"ddr_{name}"), f"dfcc::vec<{em.elem(op.input)}, {lanes_in}>",
                              h * w * c // lanes_in, (em.unique(f"{name}_wr"), em.unique(f"{name}_rd")), DDR_BURST)
            em.dram.append(ring)
            em.headers.add("ddr_rows.h")
            em.calls.append(f"dfcc::conv_rows<{geom}, {f}, {groups}, {lanes_in}, {co}, {fine}, {DDR_BURST}, {tokens}, "
                            f"{types}>({x}, {out.name}, {w_arg}, {b_rom.name}, {', '.join(ring.ports)});  // {name}")
            return
        if wino > 1:  # its transforms' types (kinds/hls_mac.py winograd_fx), exact
            v_fx, u_fx, m_fx = winograd_fx(fx_of(em.fixed_type(op.input)), w_rom.fx, c * kr)
            depth = window_depth(op, channel_folding(op.folding()))
            em.calls.append(f"dfcc::conv_wino<{geom}, {f}, {lanes_in}, {co}, {fine}, {depth}, {v_fx.cpp}, {u_fx.cpp}, "
                            f"{m_fx.cpp}, {types}>({x}, {out.name}, {w_arg}, {b_rom.name});  // {name}")
            return
        # the tile's memories in LUTRAM or BRAM, as its cost has them
        acc, kept = (str(m.lutram).lower() for m in tile_memories(op, lanes_out, tile, tile_lutram(op)))
        if order_in is not None:  # output-stationary over a tile-major input, its output in either order
            em.calls.append(f"dfcc::conv_point_tm_in<{str(order_out is not None).lower()}, {geom}, {f}, {lanes_in}, "
                            f"{lanes_out}, {tile}, {acc}, {types}>({x}, {out.name}, {w_arg}, {b_rom.name});  // {name}")
            return
        tiled = "conv_tiled_tm_out" if order_out is not None else "conv_tiled"  # writing tile-major, or pixel-major
        call = (f"dfcc::conv_px<{geom}, {f}, {groups}, {px}, " if px > 1 else  # P whole pixels per beat
                f"dfcc::{tiled}<{geom}, {f}, {lanes_in}, {lanes_out}, {tile}, "
                f"{', '.join(map(str, tile_buffer(op, lanes_in, tile)[0]))}, {acc}, {kept}, " if tile > 1 else
                f"dfcc::conv<{geom}, {f}, {groups}, {lanes_in}, {co}, ")
        depth = "" if px > 1 or tile > 1 else f", {window_depth(op, channel_folding(op.folding()))}"  # conv's window stream
        em.calls.append(f"{call}{fine}{depth}, {types}>({x}, {out.name}, {w_arg}, {b_rom.name});  // {name}")
