"""Max and sum pooling over a sliding window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import math

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import StreamType, int_array, stream_type_of, window_output_size
from dfcc.dialects.fixed_point import cast_result, fixed_of
from dfcc.hardware.cycles import px_output_span, px_stage_cycles, stage_cycles, windowed_stage_cycles
from dfcc.hardware.logic import stage_logic
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, array_cost, coarse_pixel_lanes, folding_of, node_label,
    sliding_window_cost, stream_bits, whole_pixel_beats,
)
from dfcc.kinds.accumulators import sum_format
from dfcc.kinds.hls_mac import summing_acc
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.window import WindowOp, pool2d


POOL_KINDS = ("max", "sum")


@irdl_op_definition
class PoolOp(WindowOp):
    """Max or sum pooling over Kr x Kc windows; padding contributes -inf (max) or 0 (sum).

    Average pooling is a sum pool followed by a map dividing by the window size (or, for PyTorch's
    count_include_pad=False, by a per-position count), exactly as torch-mlir expresses it.

    Folding (fpgaConvNet pooling): `coarse` channel lanes; spatial parallelism: `pixels` adjacent
    output columns side by side, P whole pixels per beat in and out (pool.h max_pool_px/sum_pool_px
    over window.h sliding_window_px), which needs every channel in a beat (`coarse` = C).
    Its output may be tile-major (`order_problem`): DenseNet's pools write the chains its dense blocks'
    convs read (passes/tile_order.py).
    """

    name = "dataflow.pool"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    kind = prop_def(StringAttr)
    coarse = opt_prop_def(IntegerAttr)
    pixels = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)  # sum: the exact sum's type (kinds/accumulators.py), set by quantize

    def __init__(self, input: SSAValue, *, name: str, kind: str, kernel: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int], pad: Sequence[int]):
        n, h, w, c = input.type.get_shape()
        ho = window_output_size(h, kernel[0], stride[0], dilation[0], pad[0], pad[1])
        wo = window_output_size(w, kernel[1], stride[1], dilation[1], pad[2], pad[3])
        props = {"name": StringAttr(name), "kind": StringAttr(kind), "kernel": int_array(kernel),
                 "stride": int_array(stride), "dilation": int_array(dilation), "pad": int_array(pad)}
        super().__init__(operands=[input], result_types=[StreamType((n, ho, wo, c), input.type.element_type)],
                         properties=props)

    def verify_node(self) -> None:
        if self.kind.data not in POOL_KINDS:
            raise VerifyException(f"pool kind must be one of {POOL_KINDS}, got '{self.kind.data}'")
        in_type = stream_type_of(self.input, "pool input")
        self._verify_window(in_type, stream_type_of(self.output, "pool output"), in_type.get_shape()[-1])
        folding = self.folding()
        if not whole_pixel_beats(folding["coarse"], folding["pixels"], in_type.get_shape()[-1]):
            raise VerifyException(f"pool '{self.node_name.data}': pixels={folding['pixels']} per beat needs whole pixels "
                                  f"(coarse = {in_type.get_shape()[-1]} channels, got {folding['coarse']})")

    def order_problem(self) -> str | None:
        """A tile-major output (tile R block B) from a pixel-major input: the pixel-major beats reordered a tile at
        a time (pool.h tile_major_out), so a beat holds one pixel's channels of one block: `coarse` dividing B,
        one pixel a beat."""
        order = self.output.type.order
        if order is None or self.input.type.order is not None:
            return super().order_problem()
        coarse, pixels = self.int_prop("coarse"), self.int_prop("pixels")
        if order[1] % coarse or pixels > 1:
            return (f"writes a tile-major stream (tile {order[0]} block {order[1]}), which a pool writes at coarse "
                    f"dividing the block, one pixel a beat, got coarse={coarse}, pixels={pixels}")
        return None

    def folding_extents(self) -> dict[str, int]:
        """Channel lanes, then pixels per beat dividing the input and the output width."""
        w, wo = self.input.type.get_shape()[2], self.output.type.get_shape()[2]
        return {"coarse": self.input.type.get_shape()[-1], "pixels": math.gcd(w, wo)}


@register
class Pool(NodeKind):
    op = PoolOp
    hls_headers = ("pool.h",)

    def stream_lanes(self, op: PoolOp, folding=None) -> tuple[int, int]:
        lanes = coarse_pixel_lanes(op, folding)  # `pixels` whole pixels per beat
        return lanes, lanes

    def cost(self, op: PoolOp) -> NodeModel:
        _, h, w, c = op.input.type.get_shape()
        _, ho, wo, _ = op.output.type.get_shape()
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
        kr_span, kc_span = dr * (kr - 1) + 1, dc * (kc - 1) + 1
        hp, wp = h + pt + pb, w + pl + pr
        bits = stream_bits(op.input)
        order = op.output.type.order

        def evaluate(folding: Folding) -> NodeCost:
            coarse, px = folding
            if px == 1:
                # fpgaConvNet pooling: a sliding window over the padded input, H*W*C/coarse words in
                cycles = stage_cycles(hp * wp * -(-c // coarse), 1, ho * wo * -(-c // coarse), 1)
            else:
                # window.h sliding_window_px: one group of P windows out per step of P columns at most
                cycles = px_stage_cycles(ho, wo, h, w, (sr, sc), (pt, pb, pl, pr), px, 1)
            window = sliding_window_cost(h, w, c, kr_span, kc_span, (pt, pb, pl, pr), bits, coarse, pixels=px,
                                         col_stride=sc)
            logic = stage_logic(coarse * px * kr * kc, bits)
            cost = NodeCost(cycles=int(cycles), depth=window.fill + STAGE_PIPELINE_CYCLES, fill=window.fill_fraction,
                            dsp=0, bram18=window.bram18, uram=0, lut=logic.lut + window.lut, ff=logic.ff,
                            out_lanes=coarse * px,
                            # its groups of P pixels as far apart as its window walk emits them
                            drain=0 if px == 1 else px_output_span(ho, wo, w, (sr, sc), (pt, pb, pl, pr), px))
            return cost if order is None else _tile_major_out(cost, ho * wo, c, order[0], coarse, bits)

        def buildable(folding: Folding) -> bool:
            if order is not None:  # PoolOp.order_problem
                return folding[1] == 1 and order[1] % folding[0] == 0
            return whole_pixel_beats(*folding, c)

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate, buildable=buildable)

    def paced_cycles(self, op: PoolOp, folding, interval: int) -> int:
        """Its window walk with the input's beats one per `interval` cycles (padding made up at one a cycle)."""
        _, h, w, c = op.input.type.get_shape()
        _, ho, wo, _ = op.output.type.get_shape()
        (kr, kc), (sr, sc), (dr, dc), pads = op.window_geometry()
        if folding.get("pixels", 1) > 1:  # sliding_window_px: a converter widening its producer's beats to P pixels
            return px_stage_cycles(ho, wo, h, w, (sr, sc), pads, folding["pixels"], 1, interval)
        pt, pb, pl, pr = pads
        # fpgaConvNet's sliding window walk, each input beat read as it comes (hardware/cycles.py)
        return windowed_stage_cycles(ho, wo, h + pt + pb, w + pl + pr, sr, sc, -(-c // folding["coarse"]), 1,
                                     input_interval=interval, pads=pads,
                                     span=(dr * (kr - 1) + 1, dc * (kc - 1) + 1))

    def run_float(self, op: PoolOp, args):
        return (pool2d(args[0], op.kind.data, op.ints_prop("kernel"), op.ints_prop("stride"),
                       op.ints_prop("dilation"), op.ints_prop("pad")).astype(np.float32),)

    def run_fixed(self, op: PoolOp, args):
        """max: exact max (padding -inf never wins); sum: exact sum (padding 0); then T_out."""
        if fixed_of(op.output) is None:
            return self.run_float(op, args)
        x = np.asarray(args[0], dtype=np.float64)
        return (cast_result(op, pool2d(x, op.kind.data, op.ints_prop("kernel"), op.ints_prop("stride"),
                                       op.ints_prop("dilation"), op.ints_prop("pad"))),)

    def emit_hls(self, em, op: PoolOp) -> None:
        """One `dfcc::max_pool` or `dfcc::sum_pool` call (pool.h; their `_px` forms for P > 1 pixels
        per beat); a fixed-point sum accumulates in the node's acc_format, which must hold the exact
        sum (the reference's). A tile-major output: that call's pixel-major beats, then `tile_major_out`."""
        name = em.stage(op)
        n, h, w, c = op.input.type.get_shape()
        if n != 1:
            raise em.error(op, f"batch {n} streams are not supported (batch 1 only)")
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
        p, _ = self.stream_lanes(op)
        px = op.int_prop("pixels")  # P whole pixels per beat: the _px kernels take P, not lanes
        x = em.read(op.input, p, name)
        out = em.new_stream(f"s_{name}", op.output.type, p, value=op.output)
        em.define(op.output, out)
        order = op.output.type.order  # PoolOp.order_problem
        pooled = out if order is None else em.temp_stream(f"s_{name}_px", out.elem, p)
        geom = f"dfcc::geom<{h}, {w}, {c}, {kr}, {kc}, {sr}, {sc}, {dr}, {dc}, {pt}, {pb}, {pl}, {pr}>"
        t_in = em.elem(op.input)
        if op.kind.data == "max":
            if t_in != out.elem:
                raise em.error(op, f"max pooling from {t_in} to {out.elem} (a format change) is not supported")
            em.calls.append(f"dfcc::max_pool{'_px' if px > 1 else ''}<{geom}, {px if px > 1 else p}>({x}, "
                            f"{pooled.name});  // {name}")
        else:
            x_fixed = em.fixed_type(op.input)
            t_acc = "float" if x_fixed is None else summing_acc(em, op, sum_format(x_fixed, kr * kc))
            em.calls.append(f"dfcc::sum_pool{'_px' if px > 1 else ''}<{geom}, {px if px > 1 else p}, {t_in}, "
                            f"{t_acc}, {out.elem}>({x}, {pooled.name});  // {name}")
        if order is not None:
            _, ho, wo, _ = op.output.type.get_shape()
            em.calls.append(f"dfcc::tile_major_out<{ho * wo}, {c}, {order[0]}, {order[1]}, {p}, {out.elem}>("
                            f"{pooled.name}, {out.name});  // {name}")


def _tile_major_out(cost: NodeCost, pixels: int, channels: int, tile: int, lanes: int, bits: int) -> NodeCost:
    """`cost` of a pool followed by pool.h tile_major_out (tile `tile` of its `pixels` output pixels): (tiles + 1)
    x tile*C/lanes iterations beside the pool's, the first beat out once the first tile is in, two tiles held."""
    beats = tile * channels // lanes
    # double buffering (Zhang et al., FPGA'15: ping-pong buffers): a tile read into one half while the other leaves
    blocks, luts = array_cost(bits * lanes, beats)
    return replace(cost, cycles=max(cost.cycles, (-(-pixels // tile) + 1) * beats), depth=cost.depth + beats,
                   fill=min(1.0, cost.fill + tile / pixels), bram18=cost.bram18 + 2 * blocks, lut=cost.lut + 2 * luts)
