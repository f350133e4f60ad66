"""Table maps stored only where they vary (kinds/table_window.py): lossless against the full table for any formats
and functions, the windows of a sigmoid and a SiLU by hand, their cost, and C simulation bit-exact on every code."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dfcc.analyses.reference import run_reference
from dfcc.dialects.dataflow import FixedType
from dfcc.dialects.fixed_point import cast, code_range, scale2
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.logic import stage_logic
from dfcc.hardware.memory import bram18_two_reads
from dfcc.kinds.cost import node_cost
from dfcc.kinds.map import map_kind, map_table, map_window
from dfcc.kinds.table_window import Rule, TableWindow
from tests.test_map_division import HARDSWISH, _every_code, _maps, module_text

# torch's sigmoid, SiLU (x * sigmoid(x)), tanh and GELU as torch-mlir lowers them
SIGMOID = """
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    %c1 = arith.constant 1.0 : f32
    %d = arith.addf %e, %c1 : f32
    %y = arith.divf %c1, %d : f32"""
SILU = SIGMOID.replace("%y = arith.divf", "%s = arith.divf") + """
    %y = arith.mulf %x, %s : f32"""
TANH = """
    %y = math.tanh %x : f32"""
GELU = """
    %r = arith.constant 0.707106769 : f32
    %a = arith.mulf %x, %r : f32
    %f = math.erf %a : f32
    %c1 = arith.constant 1.0 : f32
    %b = arith.addf %f, %c1 : f32
    %h = arith.constant 0.5 : f32
    %m = arith.mulf %x, %h : f32
    %y = arith.mulf %m, %b : f32"""
BUMP = """
    %s = arith.mulf %x, %x : f32
    %n = arith.negf %s : f32
    %e = math.exp %n : f32
    %y = arith.addf %x, %e : f32"""  # x + exp(-x^2): the input itself on both sides
EXP = """
    %y = math.exp %x : f32"""
BODIES = {"sigmoid": SIGMOID, "silu": SILU, "tanh": TANH, "gelu": GELU, "hardswish": HARDSWISH, "bump": BUMP,
          "exp": EXP}
RND_SAT = "!dataflow.fixed<16, 8, rnd, sat>"


def _op(body: str, t_in: str, t_out: str, coarse: int = 1):
    (op,) = _maps(parse_module(module_text({"f": (body, t_in, t_out)}, coarse=coarse))).values()
    return op


def _spelled(fmt: FixedType) -> str:
    keywords = ([] if fmt.is_signed else ["unsigned"]) + [fmt.rounding.data, fmt.overflow.data]
    return f"!dataflow.fixed<{fmt.width.data}, {fmt.int_bits.data}, {', '.join(keywords)}>"


@st.composite
def formats(draw, max_width: int = 16) -> FixedType:
    width = draw(st.integers(2, max_width))
    return FixedType(width, draw(st.integers(-2, width + 2)), draw(st.booleans()),
                     draw(st.sampled_from(["trn", "rnd", "rnd_conv"])), draw(st.sampled_from(["wrap", "sat"])))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # exp of a wide input: inf, saturated
@settings(max_examples=60, derandomize=True, deadline=None, database=None)
@given(name=st.sampled_from(sorted(BODIES)), x_fmt=formats(), y_fmt=formats())
def test_window_gives_the_full_table_for_every_input_code(name, x_fmt, y_fmt):
    """Every input code reads through the window (its word, or its run's rule) the output the full table holds;
    each run next to the window takes a BRAM18 off the window's ROM; without runs the window is the whole table.
    (Where the runs stop: the hand-computed windows below.)"""
    op = _op(BODIES[name], _spelled(x_fmt), _spelled(y_fmt))
    table, window = map_table(op), map_window(op)
    lo, hi = code_range(x_fmt)
    codes = np.arange(lo, hi + 1)
    assert np.array_equal(_lookup(window, codes), table[codes % (1 << x_fmt.width.data)])
    assert window.size + sum(count for count, _ in window.runs) == 1 << x_fmt.width.data
    if not window.runs:
        assert window.start == 0 and np.array_equal(window.words, table)
        return
    bits, last = y_fmt.width.data, window.start + window.size - 1
    for beyond, (count, _) in ((last < hi, window.runs[0]), (window.start > lo, window.runs[-1])):
        if beyond:  # runs above the window (the first in k order), below it (the last)
            assert bram18_two_reads(bits, window.size + count) > bram18_two_reads(bits, window.size)


def _lookup(window: TableWindow, codes: np.ndarray) -> np.ndarray:
    """What the HLS body (`window_lines`) gives each input code: k = (code - start) mod 2^W indexes the window's
    words, past them each run in turn gives its rule's value."""
    k = (codes - window.start) % (1 << window.x_fmt.width.data)
    result = window.words[np.minimum(k, window.size - 1)]
    end = window.size
    for count, rule in window.runs:
        mine = (k >= end) & (k < end + count)
        result[mine] = _given(rule, codes[mine], window.x_fmt, window.y_fmt)
        end += count
    return result


def _given(rule: Rule, codes: np.ndarray, x_fmt: FixedType, y_fmt: FixedType) -> np.ndarray:
    """What `rule` gives input `codes`: its constant, or the input cast plus its offset."""
    if rule.value is not None:
        return np.full(len(codes), rule.value)
    return cast(scale2(codes.astype(np.float64), -x_fmt.frac_bits), y_fmt) + scale2(rule.lsbs, -y_fmt.frac_bits)


def test_sigmoid_and_silu_windows_by_hand():
    """16-bit in and out at 2^-8, rounding half up. A sigmoid rounds to 1 where 1 - sigmoid(x) = 1 / (1 + e^x)
    < 2^-9, x > ln(511) = 6.2364: the codes from 1,597 (6.2383) up, 31,171 of them; to 0 from -1,597 down (31,172):
    a window of 3,193 words, 4 BRAM18 at 18 x 1,024. It rounds to 1 - 2^-8 where 1 - sigmoid(x) < 1.5 * 2^-8,
    x > ln(256 / 1.5 - 1) = 5.1339: 1,315 .. 1,596, 282 codes, which take the window to 2,911 words, 3 BRAM18;
    the same run below (to 2^-8) would leave 2,629, still 3: it goes back into the window. A SiLU is x less
    x / (1 + e^x), which rounds to x where that is at most 2^-9: 8.3594 / (1 + e^8.3594) = 0.0019570 is more,
    8.3633 / (1 + e^8.3633) = 0.0019503 less, so the codes above 2,140 are the input itself; on the left it rounds
    to 0 from -2,141 down (x / (1 + e^-x) >= -2^-9)."""
    sigmoid = map_window(_op(SIGMOID, RND_SAT, RND_SAT))
    assert (sigmoid.start, sigmoid.size) == (-1596, 2911)
    assert sigmoid.runs == ((282, Rule(1 - 2 ** -8)), (31171, Rule(1.0)), (31172, Rule(0.0)))
    silu = map_window(_op(SILU, RND_SAT, RND_SAT))
    assert silu.start == -2140 and silu.runs[-2:] == ((30627, Rule()), (30628, Rule(0.0)))


def test_window_cost_by_hand():
    """The 16-bit sigmoid above in 4 lanes: 2 copies (two ports each) of 2,911 x 16 bits, 3 BRAM18 each at
    18 x 1,024 (the full table took 64 each); a lane's LUTs around the ROM: the index's offset and three
    comparisons on the 16 input bits (64) and a 4:1 choice of 16 bits (16); no DSP."""
    op = _op(SIGMOID, RND_SAT, RND_SAT, coarse=4)
    assert map_kind(op) == "table"
    cost = node_cost(op)
    assert cost.bram18 == 2 * 3 and cost.dsp == 0
    assert cost.lut == stage_logic(4, 16).lut + 4 * (64 + 16)


def test_csim_windows_bit_exact():
    """C simulation of 16-bit table maps on every input code, bit for bit against the CPU reference: a sigmoid
    (constant runs), a truncating SiLU (its input less 2^-8, then its input, above the window), x + exp(-x^2)
    (the input on both sides) and a tanh to an unsigned output (saturating to 0 below)."""
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim
    from dfcc.backends.hls.emit import emit_design

    cases = {"sigmoid": (SIGMOID, RND_SAT, RND_SAT),
             "silu_trn": (SILU, "!dataflow.fixed<16, 8>", "!dataflow.fixed<16, 8>"),
             "bump": (BUMP, "!dataflow.fixed<16, 5, rnd_conv, sat>", "!dataflow.fixed<16, 7, rnd_conv, sat>"),
             "tanh_unsigned": (TANH, "!dataflow.fixed<16, 6>", "!dataflow.fixed<16, 1, unsigned, rnd, sat>")}
    module = parse_module(module_text(cases))
    maps = _maps(module)
    windows = {name: map_window(op) for name, op in maps.items()}
    assert all(w.size < 1 << 15 for w in windows.values())
    assert windows["silu_trn"].runs[:2] == ((7467, Rule(None, -1)), (23363, Rule()))
    assert [rule for _, rule in windows["bump"].runs] == [Rule(), Rule()]
    files = emit_design(module).files
    for name, window in windows.items():
        assert f"t_{name}[{window.size}]" in files[f"weights/t_{name}.h"]
    inputs = [x for op in maps.values() for x in _every_code(op)]
    expected = run_reference(module, inputs)
    result = csim(module, inputs)
    assert result.warnings == [], result.warnings
    for name, out, ref in zip(maps, result.outputs, expected):
        assert np.array_equal(out, ref), f"{name}: {np.sum(out != ref)} of {out.size} values differ"
