"""Sum, mean or max over stream dims (global pooling, norms, softmax)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, stream_type_of
from dfcc.dialects.fixed_point import cast_result, fixed_of
from dfcc.hardware.cycles import streaming_cycles
from dfcc.hardware.dsp import multiplier_dsp
from dfcc.hardware.logic import lut_multiplier, stage_logic
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, acc_bits, array_cost, folding_of, node_label, stream_bits,
    whole_pixel_beats,
)
from dfcc.kinds.accumulators import sum_format
from dfcc.kinds.hls_mac import summing_acc
from dfcc.kinds.hls_types import HLS, cpp_type, exact_fx_for, float_literal, loops, sanitize, tile_major_loop
from dfcc.kinds.registry import NodeKind, register


REDUCE_KINDS = ("sum", "mean", "max")


@irdl_op_definition
class ReduceOp(NodeOp):
    """Reduces stream dims `dims` (sum, mean or max), keeping them as size 1.

    Global average pooling is `mean` over H and W of an N x H x W x C stream: one accumulator per
    channel, so its buffer is C words whatever the image size.

    Folding (fpgaConvNet global pooling): `coarse` channel lanes; spatial parallelism where W is reduced and C
    kept (`spatial_reduction`): `pixels` adjacent pixels of a row per beat, which needs every channel in a beat
    (`coarse` = C), each channel's P values folded into its accumulator in the beat's cycle.
    """

    name = "dataflow.reduce"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    kind = prop_def(StringAttr)
    dims = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)
    pixels = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)  # sum, mean: the exact sum's type (kinds/accumulators.py), set by quantize

    def __init__(self, input: SSAValue, *, name: str, kind: str, dims: Sequence[int]):
        shape = tuple(1 if i in dims else d for i, d in enumerate(input.type.get_shape()))
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "kind": StringAttr(kind), "dims": int_array(dims)})

    def verify_node(self) -> None:
        if self.kind.data not in REDUCE_KINDS:
            raise VerifyException(f"reduce kind must be one of {REDUCE_KINDS}, got '{self.kind.data}'")
        shape = stream_type_of(self.input, "reduce input").get_shape()
        dims = self.ints_prop("dims")
        if any(d < 0 or d >= len(shape) for d in dims):
            raise VerifyException(f"reduce dims {dims} out of range for rank {len(shape)}")
        expected = tuple(1 if i in dims else d for i, d in enumerate(shape))
        if self.output.type.get_shape() != expected:
            raise VerifyException(f"reduce output shape {self.output.type.get_shape()}, expected {expected}")
        folding = self.folding()
        if not whole_pixel_beats(folding["coarse"], folding["pixels"], shape[-1]):
            raise VerifyException(f"reduce '{self.node_name.data}': pixels={folding['pixels']} per beat needs whole "
                                  f"pixels (coarse = {shape[-1]} channels, got {folding['coarse']})")

    def order_problem(self) -> str | None:
        """A global pool (every pixel of an N x H x W x C stream reduced, the channels kept) reads a tile-major
        input too: each beat's channels follow from its place in the order, `coarse` lanes a beat dividing the
        block so a beat holds one pixel's channels; its output is pixel-major."""
        order = self.input.type.order
        if order is None or self.output.type.order is not None:
            return super().order_problem()
        shape, dims = self.input.type.get_shape(), self.ints_prop("dims")
        if 3 in dims or any(shape[d] > 1 and d not in dims for d in range(3)):
            return (f"reads a tile-major stream (tile {order[0]} block {order[1]}), which a reduction takes only over "
                    f"every pixel, its channels kept, got dims {list(dims)} of {list(shape)}")
        if order[1] % self.int_prop("coarse") or self.int_prop("pixels") > 1:
            return (f"reads a tile-major stream (tile {order[0]} block {order[1]}), which needs coarse dividing the "
                    f"block, one pixel a beat, got coarse={self.int_prop('coarse')}, pixels={self.int_prop('pixels')}")
        return None

    def folding_extents(self) -> dict[str, int]:
        """Channel lanes: the last dim of the input (fpgaConvNet global pooling); then pixels per beat dividing the
        width where the reduction takes them (`spatial_reduction`), else one."""
        shape = self.input.type.get_shape()
        return {"coarse": shape[-1], "pixels": shape[2] if spatial_reduction(self) else 1}


def spatial_reduction(op: ReduceOp) -> bool:
    """Whether the reduction may take several pixels a beat: an N x H x W x C stream with W reduced and C kept, so
    a beat's P adjacent pixels of a row fold into the same C accumulators."""
    shape, dims = op.input.type.get_shape(), op.ints_prop("dims")
    return len(shape) == 4 and 2 in dims and 3 not in dims


@register
class Reduce(NodeKind):
    op = ReduceOp

    def stream_lanes(self, op: ReduceOp, folding=None) -> tuple[int, int]:
        """coarse x pixels lanes in; coarse out (the width is reduced: one pixel a beat), unless the last dim is
        reduced (then one value per beat)."""
        f = op.folding() if folding is None else folding
        shape = op.input.type.get_shape()
        reduces_last = len(shape) - 1 in op.ints_prop("dims") and shape[-1] > 1
        return f["coarse"] * f.get("pixels", 1), 1 if reduces_last else f["coarse"]

    def cost(self, op: ReduceOp) -> NodeModel:
        in_shape = op.input.type.get_shape()
        c = in_shape[-1]
        rows = op.input.type.num_elements // c
        kept = op.output.type.num_elements
        bits, a_bits = stream_bits(op.input), acc_bits(op)
        reduces_last = (len(in_shape) - 1) in op.ints_prop("dims")
        mean = op.kind.data == "mean"

        def evaluate(folding: Folding) -> NodeCost:
            coarse, px = folding
            # fpgaConvNet global pooling / streaming layers: H*W*C/coarse cycles; `pixels` adders a lane fold
            # P pixels a cycle (Ma et al., FPGA'17: unrolling Pox columns)
            cycles = streaming_cycles(rows // px, 1, c, coarse)
            # one accumulator per kept element, coarse of them per word
            m_bram, m_lut = array_cost(a_bits * coarse, -(-kept // coarse))
            logic = stage_logic(coarse * px, a_bits)
            dsp = multiplier_dsp(coarse, a_bits, bits) if mean else 0  # the 1/N scaling
            # the first output needs every input it reduces: all of them unless only C is reduced
            fill = 1.0 / rows if reduces_last else 1.0
            return NodeCost(cycles=cycles, depth=int(cycles * fill) + STAGE_PIPELINE_CYCLES, fill=fill, dsp=dsp,
                            bram18=m_bram, uram=0, lut=logic.lut + m_lut, ff=logic.ff,
                            out_lanes=self.stream_lanes(op, {"coarse": coarse, "pixels": px})[1],
                            mult_lut=coarse * lut_multiplier(a_bits, bits) if mean else 0)

        order = op.input.type.order  # a tile-major input: coarse dividing its block (ReduceOp.order_problem)

        def buildable(folding: Folding) -> bool:
            coarse, px = folding
            return whole_pixel_beats(coarse, px, c) and (order is None or (order[1] % coarse == 0 and px == 1))

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate, buildable=buildable)

    def run_float(self, op: ReduceOp, args):
        return (reduce(args[0], op.kind.data, op.ints_prop("dims")).astype(np.float32),)

    def run_fixed(self, op: ReduceOp, args):
        """max / sum exact, then T_out. mean = T_out(sum * R) with the constant reciprocal
        R = `mean_reciprocal(n)`; sum * R is exact in float64."""
        if fixed_of(op.output) is None:
            return self.run_float(op, args)
        x, dims = np.asarray(args[0], dtype=np.float64), tuple(op.ints_prop("dims"))
        if op.kind.data == "mean":
            count = int(np.prod([x.shape[d] for d in dims]))
            return (cast_result(op, x.sum(axis=dims, keepdims=True) * mean_reciprocal(count)),)
        return (cast_result(op, reduce(x, op.kind.data, dims)),)

    def emit_hls(self, em, op: ReduceOp) -> None:
        """A generated stage reading the input in stream order, one accumulator per kept element;
        fixed point: exact sums in acc_format (mean: times the reference's constant reciprocal)."""
        name = em.stage(op)
        fn = sanitize(name)
        shape = list(op.input.type.get_shape())
        rank = len(shape)
        dims = sorted(set(op.ints_prop("dims")))
        dims = [d for d in dims if shape[d] > 1] or dims
        kind = op.kind.data
        count = int(np.prod([shape[d] for d in dims]))
        lanes, p_out = self.stream_lanes(op)
        last_reduced = rank - 1 in dims and shape[-1] > 1
        t_in, t_out = cpp_type(op.input.type.element_type), cpp_type(op.output.type.element_type)
        x_fixed = em.fixed_type(op.input)
        if (x_fixed is None) != (em.fixed_type(op.output) is None):
            raise em.error(op, "reductions between float and fixed-point streams are not supported")
        if x_fixed is None:
            t_acc = "float"
            finish = {"sum": "acc[a]", "max": "acc[a]", "mean": f"acc[a] / {float_literal(float(count))}"}[kind]
            extra = []
        else:
            t_acc = t_in if kind == "max" else summing_acc(em, op, sum_format(x_fixed, count))
            r = mean_reciprocal(count)
            r_fx = exact_fx_for(np.array([r]))
            extra = [f"    const {r_fx.cpp} recip = {float_literal(r, single=False)};  // fixed_point.mean_reciprocal({count})"] if kind == "mean" else []
            finish = "acc[a] * recip" if kind == "mean" else "acc[a]"
        x = em.read(op.input, lanes, name)
        out = em.new_stream(f"s_{name}", op.output.type, p_out, value=op.output)
        em.define(op.output, out)
        combine = "acc[a] + v" if kind in ("sum", "mean") else "(v > acc[a] ? v : acc[a])"
        if op.input.type.order is not None or op.int_prop("pixels") > 1:
            stage = tile_major_stage if op.input.type.order is not None else pixels_stage
            em.defs.append(stage(op, fn, t_in, t_out, t_acc, lanes, extra, combine, finish))
            em.calls.append(f"stage_{fn}({x}, {out.name});  // {name}")
            return
        k0 = dims[0]
        keep_after = [d for d in range(k0 + 1, rank) if d not in dims]
        size, strides = 1, {}
        for d in reversed(keep_after):
            strides[d] = size
            size *= shape[d]
        terms = [(f"i{d}" if d < rank - 1 else "c") + f" * {strides[d]}" for d in keep_after if shape[d] > 1]
        index = " + ".join(terms) if terms else "0"
        first = " && ".join([f"i{d} == 0" for d in dims if d < rank - 1] + (["c == 0"] if last_reduced else [])) or "true"
        last = " && ".join([f"i{d} == {shape[d] - 1}" for d in dims if d < rank - 1]) or "true"
        loop_dims = shape[:-1] + [shape[-1] // lanes]
        heads, closers, ind = loops(loop_dims, "cb")
        emit_when = last + (f" && cb == {shape[-1] // lanes - 1}" if last_reduced else "")
        store = (f"{ind}    if (c == {shape[-1] - 1}) y.data[0] = {t_out}({finish});" if last_reduced
                 else f"{ind}    y.data[p] = {t_out}({finish});")
        stage = [
            f"// reduce '{name}': {kind} over dims {dims} of {'x'.join(map(str, shape))}, in stream order",
            f"static void stage_{fn}(hls::stream<dfcc::vec<{t_in}, {lanes}> >& in, hls::stream<dfcc::vec<{t_out}, {p_out}> >& out) {{",
            f"    {t_acc} acc[{size}] = {{}};",  # value-initialised: g++ cannot see the first lane writes it before any read
            *extra,
            *heads,
            f"{ind}{HLS}(PIPELINE II=1)",
            f"{ind}const dfcc::vec<{t_in}, {lanes}> x = in.read();",
            f"{ind}dfcc::vec<{t_out}, {p_out}> y;",
            f"{ind}for (int p = 0; p < {lanes}; p++) {{",
            f"{ind}    const int c = cb * {lanes} + p;",
            f"{ind}    const int a = {index};",
            f"{ind}    const {t_acc} v = {t_acc}(x.data[p]);",
            f"{ind}    acc[a] = ({first}) ? v : {t_acc}({combine});",
            store,
            f"{ind}}}",
            f"{ind}if ({emit_when}) out.write(y);",
            *closers,
            "}",
            "",
        ]
        text = "\n".join(stage)
        if " c " not in text.replace("const int c =", "") and "c ==" not in text and "c *" not in text:
            text = text.replace(f"{ind}    const int c = cb * {lanes} + p;\n", "")
        em.defs.append(text)
        em.calls.append(f"stage_{fn}({x}, {out.name});  // {name}")


def tile_major_stage(op: ReduceOp, fn: str, t_in: str, t_out: str, t_acc: str, lanes: int, extra: list[str],
                     combine: str, finish: str) -> str:
    """The global pool's stage over a tile-major input (`ReduceOp.order_problem`): one flat loop over the beats,
    counters for the beat in its block, the pixel in its tile (the last tile the pixels left), the block and the
    tile giving each lane's channel; the sums out once the last tile's last pixel of a block is in (the last tile
    holds every block, in channel order: the output's pixel-major beats)."""
    n, h, w, c = op.input.type.get_shape()
    tile, block = op.input.type.order
    pixels = n * h * w
    tiles, last_pixels = -(-pixels // tile), pixels - (-(-pixels // tile) - 1) * tile
    heads, closers, _ = tile_major_loop((n, h, w, c), (tile, block), lanes)
    return "\n".join([
        f"// reduce '{op.node_name.data}': {op.kind.data} over the {pixels} pixels of a tile-major {n}x{h}x{w}x{c} "
        f"stream (tile {tile} block {block})",
        f"static void stage_{fn}(hls::stream<dfcc::vec<{t_in}, {lanes}> >& in, "
        f"hls::stream<dfcc::vec<{t_out}, {lanes}> >& out) {{",
        f"    {t_acc} acc[{c}] = {{}};",
        *extra,
        *heads,
        f"        {HLS}(PIPELINE II=1)",
        f"        const dfcc::vec<{t_in}, {lanes}> x = in.read();",
        f"        const int tile_pixels = t == {tiles - 1} ? {last_pixels} : {tile};",
        f"        const bool first = t == 0 && j == 0, last = t == {tiles - 1} && j == tile_pixels - 1;",
        f"        dfcc::vec<{t_out}, {lanes}> y;",
        f"        for (int p = 0; p < {lanes}; p++) {{",
        f"            const int a = b * {block} + q * {lanes} + p;",
        f"            const {t_acc} v = {t_acc}(x.data[p]);",
        f"            acc[a] = first ? v : {t_acc}({combine});",
        f"            y.data[p] = {t_out}({finish});",
        "        }",
        "        if (last) out.write(y);",
        *closers,
        "}",
        "",
    ])


def pixels_stage(op: ReduceOp, fn: str, t_in: str, t_out: str, t_acc: str, lanes: int, extra: list[str],
                 combine: str, finish: str) -> str:
    """The stage of a reduction taking P whole pixels a beat (`spatial_reduction`): each channel's accumulator folds
    the beat's P values of it in pixel order (exact in fixed point, in any order); the kept elements out once the
    reduced dims reach their last beat."""
    n, h, w, c = op.input.type.get_shape()
    dims, px = op.ints_prop("dims"), op.int_prop("pixels")
    grid = (n, h, w // px)
    first = " && ".join(f"i{d} == 0" for d in range(3) if d in dims)
    last = " && ".join(f"i{d} == {grid[d] - 1}" for d in range(3) if d in dims)
    kept = " + ".join([f"i{d} * {c * math.prod(grid[e] for e in range(d + 1, 3) if e not in dims)}"
                       for d in range(3) if d not in dims and grid[d] > 1] + ["p"])
    size = c * math.prod(grid[d] for d in range(3) if d not in dims)
    heads = [f"{'    ' * (d + 1)}for (int i{d} = 0; i{d} < {grid[d]}; i{d}++) {{" for d in range(3)]
    ind = "    " * 4
    return "\n".join([
        f"// reduce '{op.node_name.data}': {op.kind.data} over dims {list(dims)} of {n}x{h}x{w}x{c}, "
        f"{px} pixels a beat",
        f"static void stage_{fn}(hls::stream<dfcc::vec<{t_in}, {lanes}> >& in, "
        f"hls::stream<dfcc::vec<{t_out}, {c}> >& out) {{",
        f"    {t_acc} acc[{size}] = {{}};",
        *extra,
        *heads,
        f"{ind}{HLS}(PIPELINE II=1)",
        f"{ind}const dfcc::vec<{t_in}, {lanes}> x = in.read();",
        f"{ind}dfcc::vec<{t_out}, {c}> y;",
        f"{ind}for (int p = 0; p < {c}; p++) {{",
        f"{ind}    const int a = {kept};",
        f"{ind}    for (int q = 0; q < {px}; q++) {{",
        f"{ind}        const {t_acc} v = {t_acc}(x.data[q * {c} + p]);",
        f"{ind}        acc[a] = ({first}) && q == 0 ? v : {t_acc}({combine});",
        f"{ind}    }}",
        f"{ind}    y.data[p] = {t_out}({finish});",
        f"{ind}}}",
        f"{ind}if ({last}) out.write(y);",
        *[f"{'    ' * (d + 1)}}}" for d in reversed(range(3))],
        "}",
        "",
    ])


def reduce(x: np.ndarray, kind: str, dims) -> np.ndarray:
    """max, sum or mean over `dims`, kept as size-1 dims."""
    dims = tuple(dims)
    if kind == "max":
        return x.max(axis=dims, keepdims=True)
    total = x.sum(axis=dims, keepdims=True)
    return total / np.prod([x.shape[d] for d in dims]) if kind == "mean" else total


def mean_reciprocal(count: int) -> float:
    """R = rnd(2^G / n) / 2^G with G = 16 + ceil(log2 n): the fixed-point mean's 1/n (exact when n
    is a power of two)."""
    g = 16 + math.ceil(math.log2(count))
    return math.ldexp(math.floor(math.ldexp(1.0, g) / count + 0.5), -g)

