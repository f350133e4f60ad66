"""Division by a constant in maps without a table (issue 14: MobileNetV3's hardswish and hardsigmoid at 16 bits):
the magic multiplier, the exact evaluation, the cost, and C simulation bit-exact for every input code."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import StringAttr

from dfcc.analyses.reference import run_reference
from dfcc.dialects.fixed_point import fixed_of, input_codes, scale2
from dfcc.frontends.mlir import parse_module
from dfcc.kinds.cost import node_cost
from dfcc.kinds.exact_division import Divider, odd_part
from dfcc.kinds.map import MapOp, map_kind, map_table, map_window, quotient_range
from dfcc.kinds.table_window import Rule

# torch's hardswish and hardsigmoid as torch-mlir lowers them (MobileNetV3), and hardsigmoid's other spelling
CLAMP_X_PLUS_3 = """
    %c3 = arith.constant 3.0 : f32
    %a = arith.addf %x, %c3 : f32
    %c0 = arith.constant 0.0 : f32
    %lt = arith.cmpf ult, %a, %c0 : f32
    %lo = arith.select %lt, %c0, %a : f32
    %c6 = arith.constant 6.0 : f32
    %gt = arith.cmpf ugt, %lo, %c6 : f32
    %hi = arith.select %gt, %c6, %lo : f32"""  # %hi = clamp(x + 3, 0, 6)
HARDSWISH = CLAMP_X_PLUS_3 + """
    %m = arith.mulf %x, %hi : f32
    %d6 = arith.constant 6.0 : f32
    %y = arith.divf %m, %d6 : f32"""
HARDSIGMOID = CLAMP_X_PLUS_3 + """
    %d6 = arith.constant 6.0 : f32
    %y = arith.divf %hi, %d6 : f32"""
HARDSIGMOID_AFFINE = """
    %d6 = arith.constant 6.0 : f32
    %q = arith.divf %x, %d6 : f32
    %h = arith.constant 0.5 : f32
    %a = arith.addf %q, %h : f32
    %c0 = arith.constant 0.0 : f32
    %lo = arith.maximumf %a, %c0 : f32
    %c1 = arith.constant 1.0 : f32
    %y = arith.minimumf %lo, %c1 : f32"""
MEAN49 = """
    %n = arith.constant 49.0 : f32
    %y = arith.divf %x, %n : f32"""
PRODUCT_OVER_6 = """
    %p = arith.mulf %x, %z : f32
    %d6 = arith.constant 6.0 : f32
    %y = arith.divf %p, %d6 : f32"""
GATE = """
    %d6 = arith.constant 6.0 : f32
    %q = arith.divf %z, %d6 : f32
    %y = arith.mulf %x, %q : f32"""
ABSORBED = """
    %d3 = arith.constant 3.0 : f32
    %q = arith.divf %x, %d3 : f32
    %big = arith.constant 1099511627776.0 : f32
    %s = arith.addf %q, %big : f32
    %y = arith.subf %s, %big : f32"""

# (body, input type, output type): the bench's emulated formats, every rounding and overflow mode, and 8-bit inputs
# to outputs wide enough that a table would take 2 BRAM18 (an 8-bit output's table is cheaper: stays a table)
CASES = {
    "hardswish16": (HARDSWISH, "!dataflow.fixed<16, 8>", "!dataflow.fixed<16, 8>"),
    "hardswish16_rnd_conv_sat": (HARDSWISH, "!dataflow.fixed<16, 5>", "!dataflow.fixed<16, 4, rnd_conv, sat>"),
    "hardsigmoid16": (HARDSIGMOID, "!dataflow.fixed<16, 8>", "!dataflow.fixed<16, 8>"),
    "hardsigmoid16_affine_rnd": (HARDSIGMOID_AFFINE, "!dataflow.fixed<16, 4>", "!dataflow.fixed<16, 1, rnd>"),
    "mean49_16_rnd_conv": (MEAN49, "!dataflow.fixed<16, 8>", "!dataflow.fixed<16, 3, rnd_conv>"),
    # beyond a table's domain, proven from the types (the division makes the result): two streams, a 20-bit input
    "product_over_6_rnd": (PRODUCT_OVER_6, ("!dataflow.fixed<16, 8>", "!dataflow.fixed<16, 4>"),
                           "!dataflow.fixed<16, 8, rnd>"),
    "mean49_20bit_sat": (MEAN49, "!dataflow.fixed<20, 12>", "!dataflow.fixed<16, 6, rnd_conv, sat>"),
    "hardswish8_rnd": (HARDSWISH, "!dataflow.fixed<8, 4>", "!dataflow.fixed<24, 4, rnd>"),
    "hardsigmoid8": (HARDSIGMOID, "!dataflow.fixed<8, 4>", "!dataflow.fixed<24, 1>"),
    "hardsigmoid8_affine_unsigned": (HARDSIGMOID_AFFINE, "!dataflow.fixed<8, 3>",
                                     "!dataflow.fixed<24, 0, unsigned, rnd_conv, sat>"),
}


def _side(width: int) -> int:
    return 1 << (width // 2)  # every code of a `width`-bit input: a side x side image


def module_text(cases: dict[str, tuple[str, str | tuple[str, str], str]], coarse: int = 1) -> str:
    """One source(s) -> map -> sink chain per case, each input every input code (`coarse` channels); a case of
    two input types reads a second stream %z of the same shape."""
    args, lines, results, types = [], [], [], []
    for i, (name, (body, t_in, t_out)) in enumerate(cases.items()):
        t_ins = (t_in,) if isinstance(t_in, str) else t_in
        side = _side(int(t_ins[0].split("<")[1].split(",")[0]))
        h, w, c = side, side // coarse, coarse
        tensor, stream_out = f"tensor<1x{c}x{h}x{w}xf32>", f"!dataflow.stream<1x{h}x{w}x{c}x{t_out}>"
        streams = [f"!dataflow.stream<1x{h}x{w}x{c}x{t}>" for t in t_ins]
        for j, stream in enumerate(streams):
            args.append(f"%in{i}_{j}: {tensor}")
            lines.append(f'  %s{i}_{j} = dataflow.source %in{i}_{j} {{name = "in{i}_{j}", perm = array<i64: 0, 2, 3, 1>}} '
                         f": ({tensor}) -> {stream}")
        lines += [
            f'  %m{i} = dataflow.map {", ".join(f"%s{i}_{j}" for j in range(len(streams)))} '
            f'{{name = "{name}", coarse = {coarse} : i64}} : {", ".join(streams)} -> {stream_out} {{',
            "  ^bb0(%x: f32" + (", %z: f32" if len(streams) > 1 else "") + "):" + body,
            "    dataflow.yield %y : f32",
            "  }",
            f'  %t{i} = dataflow.sink %m{i} {{name = "out{i}", perm = array<i64: 0, 2, 3, 1>}} : ({stream_out}) -> {tensor}',
        ]
        results.append(f"%t{i}")
        types.append(tensor)
    return "\n".join([f"func.func @main({', '.join(args)}) -> ({', '.join(types)}) {{", *lines,
                      f"  func.return {', '.join(results)} : {', '.join(types)}", "}"])


def _maps(module) -> dict[str, MapOp]:
    return {op.node_name.data: op for op in module.walk() if isinstance(op, MapOp)}


def _every_code(op: MapOp) -> list[np.ndarray]:
    """Every code of each input (a second input's in a shuffled order: each code meets a random partner)."""
    arrays = []
    for k, value in enumerate(op.inputs):
        fmt = fixed_of(value)
        n, h, w, c = value.type.get_shape()
        codes = input_codes(fmt)
        if k:
            codes = np.random.default_rng(k).permutation(codes)
        arrays.append(scale2(codes, -fmt.frac_bits).astype(np.float32).reshape(n, c, h, w))
    return arrays


def test_odd_part():
    assert odd_part(6.0) == (1, 3, 1) and odd_part(-0.375) == (-1, 3, -3) and odd_part(196.0) == (1, 49, 2)
    assert odd_part(3136.0) == (1, 49, 6) and odd_part(0.5) == (1, 1, -1)


def test_divider_hand_computed_and_exhaustive():
    """3 over p <= 98,589 (the 16-bit hardswish's): s = 16 gives m = ceil(2^16 / 3) = 21,846, e = 2, and
    98,589 * 2 >= 2^16; s = 17: m = 43,691, e = 1, 98,589 < 2^17. Every p of the range is divided exactly, and
    so for other divisors and bounds (49 = 3,136 / 64 and 196 / 4, the mean pools'; f32 0.1's odd part)."""
    divider = Divider.of(3, 98_589)
    assert (divider.m, divider.s) == (43_691, 17)
    for d, p_max in ((3, 98_589), (49, 1 << 20), (49, 65_535), (7, 5), (13_421_773, 1 << 22), (1, 100)):
        div = Divider.of(d, p_max)
        p = np.arange(p_max + 1, dtype=np.int64)
        assert np.array_equal((p * div.m) >> div.s, p // d), (d, p_max)


def test_divisions_are_exact_maps_with_the_reference_numbers():
    """Every case is realised exactly (no table, no double): proven equal to run_fixed for every input code
    (the map's table) or, beyond a table's domain, from the types (`test_final_division_proven_from_types`)."""
    module = parse_module(module_text(CASES))
    for name, op in _maps(module).items():
        assert map_kind(op) == "exact", name
        assert quotient_range(op) is not None, name


def test_final_division_proven_from_types():
    """x * y / 6 of two fixed<16, 8> streams to fixed<16, 8>: the dividend x * y is 32 bits at 2^-16 (b = 31,
    e = 16), 6 = 3 * 2^1 (k = 1), F = 8: 31 + max(17, 9) - 17 = 31 <= 53, proven. n = x * y / 2 is typed
    ap_fixed<34, 17>: p = floor(n * 2^8) spans [-2^24, 2^24 - 1]. Dividing first and multiplying after (a gate
    x * (z / 6)) rounds twice in float64 and is not proven: the map stays in double."""
    t16 = "!dataflow.fixed<16, 8>"
    module = parse_module(module_text({"xy": (PRODUCT_OVER_6, (t16, t16), t16), "gate": (GATE, (t16, t16), t16)}))
    xy, gate = _maps(module).values()
    assert map_kind(xy) == "exact" and quotient_range(xy) == (-(1 << 24), (1 << 24) - 1)
    assert map_kind(gate) == "float" and quotient_range(gate) is None


def test_small_tables_stay_tables():
    """An 8-bit hardswish to 8 bits: its table varies on the codes -47 .. 47 only (0 from x <= -3 down, x itself
    from 3 up: kinds/table_window.py), 95 x 8 bits in LUTRAM for two lanes (the whole table took one BRAM18),
    where the divider takes a DSP a lane besides the product's (8 x 9 bits, not packed): the table stays."""
    module = parse_module(module_text({"hardswish8": (HARDSWISH, "!dataflow.fixed<8, 4>", "!dataflow.fixed<8, 4>")},
                                      coarse=2))
    (op,) = _maps(module).values()
    assert quotient_range(op) is not None and map_kind(op) == "table"
    window = map_window(op)
    assert (window.start, window.size, window.runs) == (-47, 95, ((80, Rule()), (81, Rule(0.0))))
    cost = node_cost(op)
    assert cost.bram18 == 0 and cost.dsp == 0


def test_unproven_division_falls_back_to_the_table():
    """(x / 3 + 2^40) - 2^40 in float64 keeps x / 3 only to 2^-12 (the sum's ulp), so its cast to 14 fraction
    bits is not the exact one's: the realisation would differ from the reference, and the body stays a table."""
    x = scale2(np.arange(-(1 << 15), 1 << 15, dtype=np.float64), -8)
    assert np.any(np.floor(((x / 3 + 2.0 ** 40) - 2.0 ** 40) * 2 ** 14) != np.floor(x * 2 ** 14 / 3))
    module = parse_module(module_text({"absorbed": (ABSORBED, "!dataflow.fixed<16, 8>", "!dataflow.fixed<16, 2>")}))
    (op,) = _maps(module).values()
    assert quotient_range(op) is None and map_kind(op) == "table"


def test_cost_hand_computed():
    """16-bit hardswish (in and out fixed<16, 8>, trn), 4 lanes. n = x * clamp(x + 3, 0, 6) / 2 over 3: the
    product is 16 x 17 bits (x, and the clamp's select of a 17-bit sum and constants); p = floor(n * 2^8) lies
    in [-288, 98,301] (n from -1.125 at x = -1.5 to 127.99609375 * 3); biased by -288 (a multiple of 3), p + 288
    <= 98,589 takes 17 bits and m = 43,691 16: the divider multiplies 18 x 17 bits signed. 1 DSP48 each ->
    8 DSP, no BRAM (the table was 2 copies of 64 BRAM18); in fabric 4 x (16 * 17 + 18 * 17) = 2,312 LUT."""
    module = parse_module(module_text({"hardswish": CASES["hardswish16"]}, coarse=4))
    (op,) = _maps(module).values()
    assert quotient_range(op) == (-288, 98_301)
    cost = node_cost(op)
    assert cost.dsp == 8 and cost.bram18 == 0 and cost.mult_lut == 2_312
    op.attributes["dataflow.mult_impl"] = StringAttr("lut")
    fabric = node_cost(op)
    assert fabric.dsp == 0 and fabric.lut == cost.lut + 2_312
    table = map_table(op)  # what the table held: 2^16 words
    assert table.shape == (1 << 16,)


@pytest.mark.parametrize("fabric", [False, True])
def test_csim_every_input_code_bit_exact(fabric):
    """C simulation (g++, ap_types) of every case against the CPU reference on every input code, bit for bit,
    the divider's multiplier on DSPs or pinned to fabric."""
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim
    from dfcc.backends.hls.emit import emit_design

    cases = CASES if not fabric else {k: CASES[k] for k in ("hardswish16", "hardsigmoid16_affine_rnd")}
    module = parse_module(module_text(cases))
    maps = _maps(module)
    if fabric:
        for op in maps.values():
            op.attributes["dataflow.mult_impl"] = StringAttr("lut")
    top = emit_design(module).files["top.cpp"]
    assert "(exact)" in top and "(table)" not in top
    if fabric:
        assert top.count("op=mul impl=fabric") == 3  # hardswish's product and divider, hardsigmoid's divider
    inputs = [x for op in maps.values() for x in _every_code(op)]
    expected = run_reference(module, inputs)
    result = csim(module, inputs)
    assert result.warnings == [], result.warnings
    assert len(result.outputs) == len(maps)
    for name, out, ref in zip(maps, result.outputs, expected):
        assert np.array_equal(out, ref), f"{name}: {np.sum(out != ref)} of {out.size} values differ"
