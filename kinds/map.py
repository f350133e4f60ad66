"""Element-wise stages: a scalar body applied to one or more streams."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from xdsl.dialects.builtin import IntegerAttr, IntegerType, TensorType
from xdsl.ir import Attribute, Block, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments, IRDLOperation, ParsePropInAttrDict, irdl_op_definition, opt_prop_def, region_def,
    result_def, traits_def, var_operand_def,
)
from xdsl.traits import HasParent, IsTerminator
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import FixedType, NodeOp, StreamType, stream_type_of
from dfcc.dialects.fixed_point import cast, cast_result, fixed_of, input_codes, overflow_codes, scale2
from dfcc.dialects.scalar_body import constant_value, evaluate_body, evaluate_op

from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError
from dfcc.hardware.cycles import streaming_cycles
from dfcc.hardware.dsp import multiplier_dsp
from dfcc.hardware.logic import lut_multiplier, stage_logic
from dfcc.hardware.memory import bram18_two_reads, lutram_luts
from dfcc.kinds.cost import (
    LUT_PER_SCALAR_OP_BIT, LUT_PER_TRANSCENDENTAL_BIT, STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel,
    array_cost, coarse_pixel_lanes, folding_of, node_label, stream_bits, tensor_elements, weight_bits,
)
from dfcc.kinds.exact_division import exact_codes, odd_part
from dfcc.kinds.hls_body import ERF_HELPER, translate_exact, translate_float
from dfcc.kinds.hls_types import (
    HLS, Fx, Rom, code_storage, cpp_type, exact_fx_for, float_literal, format_fx, fx_of, loops, sanitize,
    tile_major_loop,
)
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.table_window import TableWindow, table_window, window_lines, window_luts


def broadcast_shape(shapes: Sequence[Sequence[int]]) -> tuple[int, ...] | None:
    """numpy broadcasting of shapes aligned on the right, or None if they do not broadcast."""
    rank = max(len(s) for s in shapes)
    result = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0} - {1}
        if len(sizes) > 1:
            return None
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


@irdl_op_definition
class MapOp(NodeOp):
    """Element-wise stage: applies its scalar body to each element of its input streams.

    The body's block arguments are one scalar per input stream, then one per parameter tensor
    (per-channel constants such as a scale, broadcast to the output shape by numpy rules in stream
    order). One input stream is an activation (ReLU, GELU, ...); two are a join (residual add,
    gating or squeeze-excitation multiply, a smaller stream being broadcast).

    Folding (fpgaConvNet element-wise layers): `coarse` channels per beat; spatial parallelism:
    `pixels` adjacent pixels of an N x H x W x C stream per beat, which needs every channel in a
    beat (`coarse` = C) and each smaller input broadcast along W (`pixel_beats`).
    """

    name = "dataflow.map"
    inputs = var_operand_def(StreamType)
    params = var_operand_def(TensorType)
    output = result_def(StreamType)
    body = region_def("single_block")
    coarse = opt_prop_def(IntegerAttr)
    pixels = opt_prop_def(IntegerAttr)

    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = "$inputs (`params` `(` $params^ `:` type($params) `)`)? attr-dict `:` type($inputs) `->` type($output) $body"

    def verify_node(self) -> None:
        out_shape = self.output.type.get_shape()
        in_shapes = [stream_type_of(v, "map input").get_shape() for v in self.inputs]
        if broadcast_shape([*in_shapes, out_shape]) != out_shape:
            raise VerifyException(f"map '{self.node_name.data}': inputs {in_shapes} do not broadcast to {out_shape}")
        for param in self.params:
            if broadcast_shape([param.type.get_shape(), out_shape]) != out_shape:
                raise VerifyException(f"map '{self.node_name.data}': parameter {param.type.get_shape()} does not broadcast to {out_shape}")
        block = self.body.block
        if len(block.args) != len(self.inputs) + len(self.params):
            raise VerifyException(f"map '{self.node_name.data}': body takes {len(block.args)} arguments, expected {len(self.inputs) + len(self.params)}")
        if not isinstance(block.last_op, YieldOp) or len(block.last_op.operands) != 1:
            raise VerifyException(f"map '{self.node_name.data}': body must end in dataflow.yield of one value")
        folding = self.folding()
        if folding["pixels"] > 1 and not pixel_beats(self, folding):
            raise VerifyException(f"map '{self.node_name.data}': pixels={folding['pixels']} per beat needs every channel "
                                  f"in a beat (coarse = {out_shape[-1]}) and each smaller input broadcast along the width")

    def order_problem(self) -> str | None:
        """The body applied to each element whatever its position: any order, the same on every stream, unless a
        parameter or a broadcast input indexes by position (pixel-major only); parameters varying along the
        channels only (a batch norm's scale and shift) follow a tile-major order too, a beat's lanes the channels
        of one pixel: `coarse` dividing the block, one pixel a beat (emit_hls: `tile_major_loop`)."""
        if self.order_free():
            return self.same_order_problem()
        order = self.output.type.order
        if order is None or not self.per_channel():
            return super().order_problem()
        coarse, pixels = self.int_prop("coarse"), self.int_prop("pixels")
        if order[1] % coarse or pixels > 1:
            return (f"writes a tile-major stream (tile {order[0]} block {order[1]}), which a map with per-channel "
                    f"parameters takes at coarse dividing the block, one pixel a beat, got coarse={coarse}, "
                    f"pixels={pixels}")
        return self.same_order_problem()

    def order_free(self) -> bool:
        """Whether the body sees nothing of an element's position: no parameter, no broadcast input."""
        return not self.params and all(v.type.get_shape() == self.output.type.get_shape() for v in self.inputs)

    def per_channel(self) -> bool:
        """Whether the body sees an element's channel only: parameters varying along the last dim alone, no
        broadcast input (in any order a lane's values follow from its channel)."""
        shape = self.output.type.get_shape()
        return all(v.type.get_shape() == shape for v in self.inputs) and all(
            all(d == 1 for d in padded_shape(p, len(shape))[:-1]) for p in self.params)

    def folding_extents(self) -> dict[str, int]:
        """Lanes over the last (channel) dim of the output, then pixels per beat dividing the width
        of an N x H x W x C output (other ranks: one)."""
        shape = self.output.type.get_shape()
        return {"coarse": shape[-1], "pixels": shape[2] if len(shape) == 4 else 1}


def padded_shape(value: SSAValue, rank: int) -> list[int]:
    """The shape of `value` with leading ones up to `rank` (numpy broadcasting against the output)."""
    shape = list(value.type.get_shape())
    return [1] * (rank - len(shape)) + shape


def pixel_beats(op: MapOp, folding: dict[str, int]) -> bool:
    """Whether `pixels` > 1 is realisable: whole pixels per beat (P*C consecutive words of the
    stream), and every input either the output's shape or broadcast along W (one value per channel
    for the whole beat)."""
    out_shape = list(op.output.type.get_shape())
    return folding["coarse"] == out_shape[-1] and all(
        shape == out_shape or shape[2] == 1 for shape in (padded_shape(v, len(out_shape)) for v in op.inputs))


def iteration_grid(op: MapOp, folding: dict[str, int] | None = None) -> list[int]:
    """The stage's loop extents, one beat per iteration: the output's dims with the width in steps
    of `pixels` and the channels in steps of `coarse` (kinds/map.py emit_hls, analyses/schedules.py)."""
    f = op.folding() if folding is None else folding
    shape = list(op.output.type.get_shape())
    if f["pixels"] > 1:
        shape[2] //= f["pixels"]
    return shape[:-1] + [shape[-1] // f["coarse"]]


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminates a map body with the scalar it computes."""

    name = "dataflow.yield"
    values = var_operand_def(Attribute)
    traits = traits_def(IsTerminator(), HasParent(MapOp))
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[values])


MUL_OPS = {"arith.mulf", "arith.muli", "arith.divf", "arith.divsi", "arith.divui"}
DIV_OPS = {"arith.divf", "arith.divsi", "arith.divui"}  # an exact body's by constants: shifts (quotient_range)
FREE_OPS = {"arith.constant", "dataflow.yield"}


def _small_exact(values: np.ndarray) -> bool:
    """Whether finite dyadic `values` fit an exact fixed type a ROM can store (<= 63 bits)."""
    try:
        return exact_fx_for(values).width <= 63
    except DfccError:
        return False


@register
class Map(NodeKind):
    op = MapOp

    def stream_lanes(self, op: MapOp, folding=None) -> tuple[int, int]:
        """coarse x pixels lanes in (inputs broadcast: fewer, `read_lanes`) and out."""
        lanes = coarse_pixel_lanes(op, folding)
        return lanes, lanes

    def read_lanes(self, op: MapOp, value, folding=None, producer_lanes: int = 1) -> int:
        """An input of the output's shape in every lane; one broadcast along W but as long as the
        output's last dim in coarse lanes (one beat's channels); one broadcast along it in one."""
        f = op.folding() if folding is None else folding
        out_shape = list(op.output.type.get_shape())
        shape = padded_shape(value, len(out_shape))
        if shape == out_shape:
            return self.stream_lanes(op, f)[1]
        return f["coarse"] if shape[-1] == out_shape[-1] else 1

    def cost(self, op: MapOp) -> NodeModel:
        """The stage as `emit_hls` builds it (`map_kind`): a table map looks its output up in a ROM (no
        arithmetic), an exact one computes its body in ap_fixed (multiplications on DSPs, or in fabric with
        `mult_impl = lut`; a division by a constant a shift, the quotient's one multiplication by a constant
        and two adders), a float one in double (on DSPs)."""
        out = op.output.type
        c = out.get_shape()[-1]
        rows = out.num_elements // c
        bits = stream_bits(op.output)
        kind, p_range = ("float", None) if fixed_of(op.output) is None else map_realisation(op)
        body = [o for o in op.body.block.ops if o.name not in FREE_OPS]
        if kind == "table":
            body = []
        mults = sum(o.name in (("arith.mulf", "arith.muli") if kind == "exact" else MUL_OPS) for o in body)
        transcendental = sum(o.name.startswith("math.") for o in body)
        shifts = sum(o.name in DIV_OPS for o in body) if kind == "exact" else 0
        # a quotient's divider: besides its multiplier (in `widths`), the bias subtracted and added back
        divider_ops = 2 if kind == "exact" and p_range else 0
        simple = len(body) - mults - transcendental - shifts + divider_ops
        window = map_window(op) if kind == "table" else None
        window_lut = window_luts(window, stream_bits(op.inputs[0]), bits) if window is not None else 0
        widths = _product_widths(op, p_range) if kind == "exact" else None
        products = widths or [(bits, bits)] * mults  # operand widths of each multiplier of a lane
        param_bits = [weight_bits(p) for p in op.params]
        n_inputs = len(op.inputs)

        factors, _ = folding_of(op)

        def evaluate(folding: Folding) -> NodeCost:
            coarse, px = folding
            # fpgaConvNet element-wise layers: H*W*C/coarse cycles; `pixels` copies of the lanes
            # side by side take P pixels per cycle (Ma et al., FPGA'17: unrolling Pox columns)
            cycles = streaming_cycles(rows // px, 1, c, coarse)
            lanes = coarse * px
            dsp = sum(multiplier_dsp(lanes, a, b) for a, b in products)
            lut = lanes * bits * (simple * LUT_PER_SCALAR_OP_BIT + transcendental * LUT_PER_TRANSCENDENTAL_BIT)
            logic = stage_logic(lanes * n_inputs, bits)
            p_bram = p_lut = 0
            for param, pbits in zip(op.params, param_bits):
                # the P pixels of a beat read the same coarse words of a per-channel parameter
                words = tensor_elements(param)
                blocks, luts = array_cost(pbits * coarse, -(-words // coarse))
                p_bram, p_lut = p_bram + blocks, p_lut + luts
            if window is not None:
                # UG573: a block RAM's two ports read two addresses a cycle, so a copy of the window's words per
                # two lanes; below a block RAM's worth it is LUTRAM (fpgaConvNet array model); each lane tests the
                # runs past the window (window_luts)
                copies, blocks = -(-lanes // 2), bram18_two_reads(bits, window.size)
                p_bram += copies * blocks
                p_lut += window_lut * lanes + (0 if blocks else copies * lutram_luts(bits, window.size))
            # fabric multipliers only where the HLS stage builds them (an exact body's products, multiply.h)
            mult_lut = lanes * sum(lut_multiplier(a, b) for a, b in products) if kind == "exact" else 0
            return NodeCost(cycles=cycles, depth=STAGE_PIPELINE_CYCLES, fill=0.0, dsp=dsp, bram18=p_bram, uram=0,
                            lut=logic.lut + lut + p_lut, ff=logic.ff + lanes * bits * len(body),
                            out_lanes=lanes, mult_lut=mult_lut)

        order = None if op.order_free() else op.output.type.order  # MapOp.order_problem

        def buildable(folding: Folding) -> bool:
            if order is not None:
                return folding[1] == 1 and order[1] % folding[0] == 0
            return folding[1] == 1 or pixel_beats(op, dict(zip(factors, folding)))

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate, buildable=buildable)

    def run_float(self, op: MapOp, args):
        (result,) = evaluate_body(op.body.block, args)
        return (np.ascontiguousarray(np.broadcast_to(result, op.output.type.get_shape()), dtype=np.float32),)

    def run_fixed(self, op: MapOp, args):
        """The body is the real function (float scalar ops): its value is evaluated in float64 on
        the exact input values (f32 constants at their exact float32 value; truncf/extf are no-ops),
        then y = T_out(value). How HLS computes the same numbers: `map_kind`."""
        if fixed_of(op.output) is None:
            return self.run_float(op, args)
        value = evaluate_body_f64(op.body.block, list(args))
        return (cast_result(op, np.broadcast_to(value, op.output.type.get_shape())),)

    def emit_hls(self, em, op: MapOp) -> None:
        """A generated stage: the body as a functor struct, applied per lane in stream order;
        inputs smaller than the output (numpy broadcasting, e.g. squeeze-excitation scales
        [1,1,1,C] against [1,H,W,C]) are read when first needed and kept in a buffer covering the
        dims after their first broadcast dim; parameters are ROMs indexed as numpy broadcasts.
        Fixed point (`map_kind`): "table" -> a ROM of the window of `map_table` where it varies (`map_window`),
        indexed by the input's code, the runs of codes past it each a constant or the input cast;
        "exact" -> exact ap_fixed intermediates; "float" -> double, then the cast to T_out.
        With `pixels` = P > 1 a beat is P whole pixels: lane p is channel p % C of column
        i{W} * P + p / C."""
        name = em.stage(op)
        fn = sanitize(name)
        out_shape = list(op.output.type.get_shape())
        rank = len(out_shape)
        c_out = out_shape[-1]
        _, lanes = self.stream_lanes(op)
        coarse, px = op.int_prop("coarse"), op.int_prop("pixels")
        order = None if op.order_free() else op.output.type.order  # tile-major: per-channel parameters only
        channel = f"cb * {lanes} + p" if px == 1 else f"p % {coarse}"  # the lane's channel index
        if order is not None:
            channel = f"b * {order[1]} + q * {lanes} + p"  # tile_major_loop's block b, beat q in the block
        column = "i2" if px == 1 else f"(i2 * {px} + p / {coarse})"  # (rank 4) the lane's column index
        out_fixed = em.fixed_type(op.output)
        t_out = cpp_type(op.output.type.element_type)
        kind, p_range = ("float", None) if out_fixed is None else map_realisation(op)
        if out_fixed is not None and any(em.fixed_type(v) is None and not _is_flag(v) for v in op.inputs):
            raise em.error(op, "a fixed-point map needs fixed-point (or i1 flag) inputs")

        # inputs: full streams and broadcast ones (buffered)
        ports, reads, setup, value_exprs = [], [], [], []
        lane_lines: list[str] = []
        for k, value in enumerate(op.inputs):
            shape = padded_shape(value, rank)
            t_in = cpp_type(value.type.element_type)
            p_in = self.read_lanes(op, value)
            stream = em.read(value, p_in, name)
            ports.append(f"hls::stream<dfcc::vec<{t_in}, {p_in}> >& in{k}")
            reads.append(stream)
            if shape == out_shape:
                lane_lines.append(f"const dfcc::vec<{t_in}, {p_in}> x{k} = in{k}.read();")
                value_exprs.append(f"x{k}.data[p]")
                continue
            bdims = [d for d in range(rank) if shape[d] == 1 and out_shape[d] > 1]
            k0 = bdims[0]
            after = list(range(k0 + 1, rank))
            size = 1
            strides = {}
            for d in reversed(after):
                strides[d] = size
                size *= shape[d]
            base_terms = [f"i{d} * {strides[d]}" for d in after if d < rank - 1 and shape[d] > 1]
            base = " + ".join(base_terms) if base_terms else "0"
            cond_terms = [f"i{d} == 0" for d in bdims if d < rank - 1] + (["cb == 0"] if rank - 1 in bdims else [])
            cond = " && ".join(cond_terms) if cond_terms else "true"
            setup.append(f"    {t_in} buf{k}[{max(size, 1)}] = {{}};")  # value-initialised: g++ cannot see the first beat fills it
            if p_in > 1:
                setup.append(f"    {HLS}(ARRAY_PARTITION variable=buf{k} cyclic factor={p_in})")
            if shape[-1] == c_out and c_out > 1:
                lane_lines.append(f"if ({cond}) {{ const dfcc::vec<{t_in}, {p_in}> b = in{k}.read(); "
                                  f"for (int q = 0; q < {p_in}; q++) buf{k}[{base} + cb * {p_in} + q] = b.data[q]; }}")
                value_exprs.append(f"buf{k}[{base} + {channel}]")
            else:
                lane_lines.append(f"if ({cond}) buf{k}[{base}] = in{k}.read().data[0];")
                value_exprs.append(f"buf{k}[{base}]")

        # parameters: ROMs broadcast like numpy
        param_fx: list[Fx | None] = []
        for k, param in enumerate(op.params):
            w_op = em.weights(param, op, f"parameter {k}")
            shape = padded_shape(param, rank)
            values = np.asarray(elements_array(w_op.value))
            if out_fixed is None:
                rom = em.rom(w_op, name=f"p_{fn}_{k}", shape=tuple(shape))
                param_fx.append(None)
            elif w_op.format is None and not _small_exact(values):
                # unquantized constants (e.g. a -inf attention mask): a double ROM, the body in double
                rom = Rom(f"p_{fn}_{k}", "double", "double", tuple(shape), values.reshape(shape), None,
                          f"map '{name}': unquantized parameter {k}")
                em.add_rom(rom)
                param_fx.append(None)
                kind = "float"
            else:
                fx = em.weights_fx(w_op, values.astype(np.float64))
                rom = em.rom(w_op, name=f"p_{fn}_{k}", shape=tuple(shape), fx=fx)
                param_fx.append(fx)
            index = "".join(f"[{channel if d == rank - 1 else column if d == 2 and rank == 4 else f'i{d}'}]"
                            if shape[d] > 1 else "[0]" for d in range(rank))
            value_exprs.append(f"dfcc::val({rom.name}{index})")

        # the functor
        arg_types = [cpp_type(v.type.element_type) for v in op.inputs]
        arg_types += [("float" if out_fixed is None else "double") if fx is None else fx.cpp for fx in param_fx]
        params = ", ".join(f"const {t}& a{i}" for i, t in enumerate(arg_types))
        block = op.body.block
        body_lines: list[str]
        if kind == "table":
            window = map_window(op)
            out_fx = fx_of(out_fixed)
            held = ("output for every input bit pattern (map_table)" if not window.runs
                    else f"the outputs of {window.size} input codes from {window.start} on (map_window)"
                    + (", a negative code's from its mirror's" if window.mirror else ""))
            rom = Rom(f"t_{fn}", f"dfcc::code<{t_out}, {code_storage(out_fx)} >", t_out, (window.size,),
                      window.words, out_fx.frac, f"map '{name}': {held}")
            em.add_rom(rom)
            body_lines = window_lines(window, rom.name, t_out)
            ret = t_out
        elif kind == "exact":
            arg_fx = [None if _is_flag(v) else fx_of(em.fixed_type(v)) for v in op.inputs] + param_fx
            lines, result = translate_exact(block, [f"a{i}" for i in range(len(arg_types))], arg_fx,
                                            fabric=op.dsp_share() == 0, out=out_fixed, p_range=p_range)
            body_lines = lines + [f"return {t_out}({result});"]
            ret = t_out
        else:
            # in double whenever a number is fixed point (an i1 result compares ap_fixed inputs: a float
            # constant beside them is an ambiguous overload)
            all_double = out_fixed is not None or any(em.fixed_type(v) is not None for v in op.inputs)
            if all_double:
                args = [f"d{i}" for i in range(len(arg_types))]
                conv = [f"const double d{i} = {'a%d' % i if t in ('float', 'double', 'bool') else 'a%d.to_double()' % i};"
                        for i, t in enumerate(arg_types)]
            else:
                args, conv = [f"a{i}" for i in range(len(arg_types))], []
            lines, result, uses_erf = translate_float(block, args, all_double)
            if uses_erf and ERF_HELPER not in em.defs:
                em.defs.insert(0, ERF_HELPER)
            if out_fixed is not None:  # non-finite values cast as fixed_point.to_codes does: nan -> 0, +-inf -> code +-2^60
                big = float_literal(math.ldexp(1.0, 60 - fx_of(out_fixed).frac), single=False)
                body_lines = conv + lines + [
                    f"const double r = {result};",
                    f"return std::isnan(r) ? {t_out}(0) : (std::isinf(r) ? {t_out}(r > 0 ? {big} : -{big}) : {t_out}(r));"]
            else:
                body_lines = conv + lines + [f"return {t_out}({result});"]
            ret = t_out
        em.defs.append("\n".join([
            f"// map '{name}' ({kind}): the scalar body of the dataflow.map",
            f"struct {fn}_body {{",
            f"    static {ret} apply({params}) {{",
            *("        " + line for line in body_lines),
            "    }",
            "};",
            "",
        ]))

        # the stage
        out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
        em.define(op.output, out)
        if order is None:
            heads, closers, ind = loops(iteration_grid(op), "cb")
        else:
            heads, closers, ind = tile_major_loop(out_shape, order, lanes)
        call = f"{fn}_body::apply({', '.join(value_exprs)})"
        stage = [
            f"// map '{name}': {'x'.join(map(str, out_shape))} in {lanes} lane(s)",
            f"static void stage_{fn}({', '.join(ports + [f'hls::stream<dfcc::vec<{t_out}, {lanes}> >& out'])}) {{",
            *setup,
            *heads,
            f"{ind}{HLS}(PIPELINE II=1)",
            *(ind + line for line in lane_lines),
            f"{ind}dfcc::vec<{t_out}, {lanes}> y;",
            f"{ind}for (int p = 0; p < {lanes}; p++) y.data[p] = {t_out}({call});",
            f"{ind}out.write(y);",
            *closers,
            "}",
            "",
        ]
        em.defs.append("\n".join(stage))
        em.calls.append(f"stage_{fn}({', '.join(reads)}, {out.name});  // {name}")


_EXACT_SCALAR_OPS = frozenset({
    "arith.addf", "arith.subf", "arith.mulf", "arith.negf", "math.absf", "arith.maximumf", "arith.minimumf",
    "arith.maxnumf", "arith.minnumf", "arith.cmpf", "arith.select", "arith.truncf",
    "arith.extf", "cf.assert",
})


def _argument_types(op: MapOp) -> list[Fx | None] | None:
    """The exact types of the body's arguments as `emit_hls` types them: inputs at their format (None for a flag),
    parameters at theirs; None where one has neither a format nor a small exact type (the stage computes in double)."""
    arg_fx: list[Fx | None] = []
    for value in op.inputs:
        fmt = fixed_of(value)
        if fmt is None and not _is_flag(value):
            return None
        arg_fx.append(None if fmt is None else fx_of(fmt))
    for param in op.params:
        owner = param.owner
        fx = format_fx(getattr(owner, "format", None))  # quantized values are exact in their format
        if fx is None:
            values = np.asarray(elements_array(owner.value), dtype=np.float64) if hasattr(owner, "value") else None
            if values is None or not _small_exact(values):
                return None
            fx = exact_fx_for(values)
        arg_fx.append(fx)
    return arg_fx


def _product_widths(op: MapOp, p_range: tuple[int, int] | None) -> list[tuple[int, int]] | None:
    """The operand widths of each multiplication of an exact body, as `emit_hls` types them (exact
    intermediates grow: BN's (x - mean) * invstd * gamma multiplies 17 x 16 bits, then 33 x 16), parameters
    at their format; None where an argument has no exact type."""
    arg_fx = _argument_types(op)
    if arg_fx is None:
        return None
    products: list[tuple[int, int]] = []
    translate_exact(op.body.block, [f"a{i}" for i in range(len(arg_fx))], arg_fx, products=products,
                    out=fixed_of(op.output), p_range=p_range)
    return products


def evaluate_body_f64(block: Block, args: list[np.ndarray]) -> np.ndarray:
    """The body's value in float64 (truncf/extf are no-ops; f32 constants at their exact value)."""
    env: dict[SSAValue, Any] = {a: np.asarray(v, dtype=np.float64) for a, v in zip(block.args, args)}
    with np.errstate(all="ignore"):
        for op in block.ops:
            operands = [env[v] for v in op.operands]
            if op is block.last_op:
                return np.asarray(operands[0], dtype=np.float64)
            if op.name in ("arith.truncf", "arith.extf"):
                result = operands[0]
            else:
                result = evaluate_op(op, operands)
                if isinstance(result, np.ndarray) and result.dtype == np.float32:
                    result = result.astype(np.float64)
            if op.results:
                env[op.results[0]] = result
    raise DfccError("element-wise body has no terminator")


def _constant_divisor(op) -> float | None:
    """The finite nonzero constant a division divides by, else None."""
    owner = op.operands[1].owner
    if getattr(owner, "name", None) != "arith.constant":
        return None
    c = float(constant_value(owner))
    return c if c != 0 and math.isfinite(c) else None


def _divides_by_non_power_of_two(op: MapOp) -> bool:
    return any(o.name == "arith.divf" and math.frexp(abs(_constant_divisor(o) or 1.0))[0] != 0.5
               for o in op.body.block.ops)


def _is_flag(value: SSAValue) -> bool:
    """An i1 stream: a comparison's result another map selects by (safe softmax's all-masked guard)."""
    t = value.type.element_type
    return isinstance(t, IntegerType) and t.width.data == 1


def map_kind(op: MapOp) -> str:
    """How HLS realises this quantized map (all three compute the numbers of `run_fixed`):
    "exact" (add/sub/mul/neg/abs/max/min/cmp/select/finite constants and division by a constant: exact in
    float64 for operands <= 24 bits, realised with wide-enough ap_fixed intermediates: a ReLU is a
    comparison, not a table of 2^w words; a division by a power of two is a shift, one by any other constant
    one multiplier, `quotient_range`, unless its table is small), "table" (any other body of one input of <= 16
    bits, no params: `map_table`, same numbers from the same numpy functions, so transcendental bodies match bit
    for bit), or "float" (any other body: an HLS approximation may differ in the last bit)."""
    return map_realisation(op)[0]


def map_realisation(op: MapOp) -> tuple[str, tuple[int, int] | None]:
    """`map_kind`, and for an exact body dividing by a constant that is not a power of two its `quotient_range`
    (else None): what the cost and the HLS stage both need, the body evaluated once."""
    if all(body_op is op.body.block.last_op
           or (body_op.name == "arith.constant" and _small_exact(np.array([float(constant_value(body_op))])))
           or body_op.name in _EXACT_SCALAR_OPS
           or (body_op.name == "arith.divf" and _constant_divisor(body_op) is not None)
           for body_op in op.body.block.ops):
        if not _divides_by_non_power_of_two(op):
            return "exact", None
        p_range = None if _table_is_small(op) else quotient_range(op)
        if p_range is not None:
            return "exact", p_range
    return ("table" if _table_input(op) is not None else "float"), None


TABLE_INPUT_BITS = 16  # a table map's ROM has 2^w words


def _table_input(op: MapOp) -> FixedType | None:
    """The input format of a map a table can realise (one fixed input of at most TABLE_INPUT_BITS, no params),
    else None."""
    x_fmt = fixed_of(op.inputs[0]) if len(op.inputs) == 1 else None
    return x_fmt if x_fmt is not None and not op.params and x_fmt.width.data <= TABLE_INPUT_BITS else None


def _table_is_small(op: MapOp) -> bool:
    """Whether the map's table (one copy of its window serving two lanes) takes at most one BRAM18: cheaper than
    dividing by a constant, one or two DSPs a lane (the product and the divider: 8-bit hardswish). Its window
    unmirrored: a mirror would turn a 16-bit hardswish (1,535 words, 2 BRAM18) into a table of 768 (one), block
    RAM where the divider took none, and on ZCU102, where block RAM binds, mobilenet_v3_small loses 7% fps."""
    if _table_input(op) is None:
        return False
    # UG573: a copy of the window's words per two lanes (as `cost` counts it)
    return bram18_two_reads(stream_bits(op.output), map_window(op, mirrored=False).size) <= 1


QUOTIENT_BITS = 52  # the divided integer and its bias stay exact as double literals in the C++


def quotient_range(op: MapOp) -> tuple[int, int] | None:
    """For a body dividing by constants that are not powers of two, the range of the integer p its HLS divides
    (kinds/exact_division.py: the value kept as n / D, one division p / D to the output grid), if that
    computes `run_fixed`'s numbers; else (and for any other body) None.

    Why it can: float64 divides correctly rounded, so for an exact dividend E (|E| < 2^b at 2^-e) over a
    constant m * 2^k the computed quotient is within |E / c| * 2^-53 of the true one, while a true quotient
    that is not itself a rounding boundary of the output grid (2^-(F+1) apart) lies at least
    1 / (m * 2^max(e+k, F+1)) from every boundary, and one that is, is a double: when
    b + max(e + k, F + 1) - e - k <= 53 (16-bit hardswish: 26 + 17 - 17) no rounding error moves the quotient
    across a boundary and the cast is the exact one (`_final_division_range`). Ops after a division (the +0.5
    and clamp of a hardsigmoid) round again in float64; rather than bound each, a body of one input of <= 16
    bits and no params (a table's domain) is checked: its exact codes must equal the reference's for every
    input code."""
    x_fmt, y_fmt = _table_input(op), fixed_of(op.output)
    if y_fmt is None or not _divides_by_non_power_of_two(op):
        return None
    if x_fmt is None:
        return _final_division_range(op)
    exact = exact_codes(op.body.block, input_codes(x_fmt).astype(np.int64), x_fmt.frac_bits, y_fmt.frac_bits,
                        y_fmt.rounding.data)
    if exact is None or max(abs(b).bit_length() for b in exact[1]) > QUOTIENT_BITS:
        return None
    codes, p_range = exact
    reference = scale2(map_table(op), y_fmt.frac_bits)
    return p_range if np.array_equal(overflow_codes(codes.astype(np.float64), y_fmt), reference) else None


def _final_division_range(op: MapOp) -> tuple[int, int] | None:
    """The range of p for a body whose one division by a constant that is not a power of two makes its result
    (x * y / 6 of two streams, a mean of wide sums), from the types, where `quotient_range`'s bound proves it;
    else None."""
    block, y_fmt = op.body.block, fixed_of(op.output)
    result = block.last_op.operands[0]
    division = result.owner
    if (getattr(division, "name", None) != "arith.divf" or _constant_divisor(division) is None
            or sum(o.name == "arith.divf" and math.frexp(abs(_constant_divisor(o) or 1.0))[0] != 0.5
                   for o in block.ops) != 1):
        return None
    arg_fx = _argument_types(op)
    if arg_fx is None:
        return None
    types: dict[SSAValue, tuple[Fx | None, int]] = {}
    translate_exact(block, [f"a{i}" for i in range(len(arg_fx))], arg_fx, types=types)
    (dividend, d0), (numerator, d) = types[division.operands[0]], types[result]
    if d0 != 1 or dividend is None or any(fx is not None and dd == 1 and fx.width > 53 for fx, dd in types.values()):
        return None  # the reference computes the dividend exactly in float64 (values of <= 53 bits)
    _, _, k = odd_part(_constant_divisor(division))
    b, e, f = dividend.as_signed().width - 1, dividend.frac, y_fmt.frac_bits
    if b + max(e + k, f + 1) - e - k > 53:
        return None
    # p = floor(n * 2^F (+ d/2 rounding to nearest)) over every value of the numerator's type
    half = Fraction(d, 2) if y_fmt.rounding.data != "trn" else Fraction(0)
    scale = Fraction(2) ** (f - numerator.frac)
    top = 1 << (numerator.width - 1)
    p_range = (math.floor(-top * scale + half), math.floor((top - 1) * scale + half))
    return p_range if max(abs(p).bit_length() for p in p_range) <= QUOTIENT_BITS else None


def map_table(op: MapOp) -> np.ndarray:
    """The lookup table of a one-input map: entry i = the output value (float64, on the output's
    grid) for the input whose W-bit pattern, read as an unsigned number, is i."""
    x_fmt, y_fmt = _table_input(op), fixed_of(op.output)
    if x_fmt is None or y_fmt is None:
        raise DfccError(f"map '{op.node_name.data}' is not a table map (needs one fixed input of <= 16 bits, "
                        "no params and a fixed output)")
    values = scale2(input_codes(x_fmt), -x_fmt.frac_bits)
    return cast(np.broadcast_to(evaluate_body_f64(op.body.block, [values]), values.shape), y_fmt)


def map_window(op: MapOp, mirrored: bool = True) -> TableWindow:
    """A table map's ROM as its cost, its HLS stage and `map_realisation` read it: `map_table` stored only where
    it varies, the runs of codes past the window each a constant or the input cast, a signed input's from code 0
    up where its negative codes mirror it (if `mirrored`; kinds/table_window.py)."""
    return table_window(map_table(op), _table_input(op), fixed_of(op.output), mirrored)
