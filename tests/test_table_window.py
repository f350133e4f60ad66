"""Table maps stored only where they vary (kinds/table_window.py), and a signed input's only from code 0 up where
the negative codes mirror it: lossless against the full table for any formats and functions, the windows of a
sigmoid, a SiLU and a tanh by hand, their cost, and C simulation bit-exact on every code."""

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
from dfcc.kinds.table_window import Mirror, Rule, TableWindow
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
    _check_window(name, x_fmt, y_fmt)


@st.composite
def precise_formats(draw) -> tuple[FixedType, FixedType]:
    """A signed input and an output of its width, both with few integer bits: windows that barely shrink."""
    width = draw(st.integers(10, 16))
    return tuple(FixedType(width, draw(st.integers(1, 5)), True, draw(st.sampled_from(["trn", "rnd", "rnd_conv"])),
                           draw(st.sampled_from(["wrap", "sat"]))) for _ in range(2))


@settings(max_examples=30, derandomize=True, deadline=None, database=None)
@given(name=st.sampled_from(["sigmoid", "silu", "tanh", "gelu"]), fmts=precise_formats())
def test_mirrored_window_gives_the_full_table_for_every_input_code(name, fmts):
    """As above, for the functions a mirror may fold at formats where it pays (12 of these 30 examples)."""
    _check_window(name, *fmts)


def _check_window(name: str, x_fmt: FixedType, y_fmt: FixedType):
    """Every input code reads through the window (its word, or its run's rule, for a negative code with a mirror
    its mirror's through the mirror's function) the output the full table holds; each run next to the window takes
    a BRAM18 off the window's ROM; without runs the window is the whole table; a mirrored one covers the codes
    0 .. 2^(W-1). (Where the runs stop: the hand-computed windows below.)"""
    op = _op(BODIES[name], _spelled(x_fmt), _spelled(y_fmt))
    table, window = map_table(op), map_window(op)
    lo, hi = code_range(x_fmt)
    codes = np.arange(lo, hi + 1)
    assert np.array_equal(_lookup(window, codes), table[codes % (1 << x_fmt.width.data)])
    mirrored = window.mirror is not None
    covered = window.size + sum(count for count, _ in window.runs)
    assert covered == ((1 << x_fmt.width.data - 1) + 1 if mirrored else 1 << x_fmt.width.data)
    if not window.runs:
        assert window.start == 0 and np.array_equal(window.words, table)
        return
    bits, last = y_fmt.width.data, window.start + window.size - 1
    for beyond, (count, _) in ((last < hi, window.runs[0]), (window.start > lo and not mirrored, window.runs[-1])):
        if beyond:  # runs above the window (the first in k order), below it (the last)
            assert bram18_two_reads(bits, window.size + count) > bram18_two_reads(bits, window.size)


def _lookup(window: TableWindow, codes: np.ndarray) -> np.ndarray:
    """What the HLS body (`window_lines`) gives each input code: with a mirror, |code|'s output, mirrored for a
    negative code."""
    if window.mirror is None:
        return _looked_up(window, codes)
    mirror, y_fmt = window.mirror, window.y_fmt
    result = _looked_up(window, np.abs(codes))
    negative = codes < 0
    lsbs = scale2(mirror.lsbs, -y_fmt.frac_bits)
    result[negative] = (lsbs - result[negative] if mirror.negate
                        else result[negative] + _given(Rule(None, mirror.lsbs), codes[negative], window.x_fmt, y_fmt))
    return result


def _looked_up(window: TableWindow, codes: np.ndarray) -> np.ndarray:
    """k = (code - start) mod 2^W indexes the window's words, past them each run in turn gives its rule's value."""
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
    to 0 from -2,141 down (x / (1 + e^-x) >= -2^-9).
    Mirrored, the sigmoid is stored from code 0 only: sigmoid(-x) = 1 - sigmoid(x), and rounding half up keeps it
    in codes off ties (the values are transcendental, none is one), y(x) = 256 - y(-x): the codes 0 .. 1,596,
    1,597 words, 2 BRAM18 where 2,911 took 3 (the run to 1 - 2^-8 from 1,315 would leave 1,315, still 2); then 1
    up to 32,767, and the most negative code's stand-in, 256 less its output 0: 1 too, one run of 31,171 + 1.
    A tanh likewise: 1 - tanh(x) = 2 / (e^2x + 1) < 2^-9 from x > ln(1023) / 2 = 3.4652, code 888 up; its window
    0 .. 887 one BRAM18 (-887 .. 887 took two). The SiLU too: silu(-x) = silu(x) - x, x on the output's grid:
    x less 2^-8 where x / (1 + e^x) <= 1.5 * 2^-8, 7.1016 / (1 + e^7.1016) = 0.0058456 (7.0977: 0.0058652 more),
    codes 1,818 .. 2,140, then x; a window of 1,818 words, 2 BRAM18 (-2,140 .. 1,817 took 4); -128's output 0
    less -128 stands in for code 2^15: 128, one more bit than the output."""
    sigmoid = map_window(_op(SIGMOID, RND_SAT, RND_SAT))
    assert (sigmoid.start, sigmoid.size, sigmoid.mirror) == (0, 1597, Mirror(True, 256))
    assert sigmoid.runs == ((31172, Rule(1.0)),)
    tanh = map_window(_op(TANH, RND_SAT, RND_SAT))
    assert (tanh.start, tanh.size, tanh.mirror, tanh.runs) == (0, 888, Mirror(True, 0), ((31881, Rule(1.0)),))
    silu = map_window(_op(SILU, RND_SAT, RND_SAT))
    assert (silu.start, silu.size, silu.mirror) == (0, 1818, Mirror(False, 0))
    assert silu.runs == ((323, Rule(None, -1)), (30627, Rule()), (1, Rule(128.0)))


def test_realisation_reads_the_unmirrored_window():
    """A 16-bit hardswish (fixed<16, 8>, trn) is 0 from -3 (code -768) down and x from 3 up: its window -767 .. 767,
    1,535 words, 2 BRAM18; mirrored (hardswish(-x) = hardswish(x) - x) 0 .. 767, 768 words, one. Whether it is a
    table reads the first: it stays an exact division (a table would take block RAM where the divider takes none)."""
    op = _op(HARDSWISH, "!dataflow.fixed<16, 8>", "!dataflow.fixed<16, 8>")
    mirrored = map_window(op)
    assert (map_window(op, mirrored=False).size, mirrored.size, mirrored.mirror) == (1535, 768, Mirror(False, 0))
    assert map_kind(op) == "exact"


def test_window_cost_by_hand():
    """The 16-bit sigmoid above in 4 lanes: 2 copies (two ports each) of 1,597 x 16 bits, 2 BRAM18 each at
    18 x 1,024 (the full table took 64 each); a lane's LUTs around the ROM: the input's negation and one
    comparison on its 16 bits (32), the mirror's subtraction on the 16 output bits (16), and three 2:1 choices of
    16 bits (48: the input or its negation, the word or the run, the output or its mirror's); no DSP."""
    op = _op(SIGMOID, RND_SAT, RND_SAT, coarse=4)
    assert map_kind(op) == "table"
    cost = node_cost(op)
    assert cost.bram18 == 2 * 2 and cost.dsp == 0
    assert cost.lut == stage_logic(4, 16).lut + 4 * (32 + 16 + 48)


def test_csim_windows_bit_exact():
    """C simulation of 16-bit table maps on every input code, bit for bit against the CPU reference: a sigmoid
    (mirrored, a constant run), a truncating SiLU (its input less 2^-8, then its input, above the window),
    x + exp(-x^2) (the input on both sides), a tanh to an unsigned output (saturating to 0 below), and at 2^-12,
    where their windows barely shrink, a mirrored SiLU (y(-x) + x) and sigmoid (1 - y(-x), runs above); a SiLU
    at 2^-11 rounding (-16's stand-in 16 past the output's range)."""
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim
    from dfcc.backends.hls.emit import emit_design

    cases = {"sigmoid": (SIGMOID, RND_SAT, RND_SAT),
             "silu_trn": (SILU, "!dataflow.fixed<16, 8>", "!dataflow.fixed<16, 8>"),
             "bump": (BUMP, "!dataflow.fixed<16, 5, rnd_conv, sat>", "!dataflow.fixed<16, 7, rnd_conv, sat>"),
             "tanh_unsigned": (TANH, "!dataflow.fixed<16, 6>", "!dataflow.fixed<16, 1, unsigned, rnd, sat>"),
             "silu_fine": (SILU, "!dataflow.fixed<16, 4>", "!dataflow.fixed<16, 4>"),
             "sigmoid_fine": (SIGMOID, "!dataflow.fixed<16, 4, rnd, sat>", "!dataflow.fixed<16, 4, rnd, sat>"),
             "silu_rnd": (SILU, "!dataflow.fixed<16, 5, rnd, sat>", "!dataflow.fixed<16, 5, rnd, sat>")}
    module = parse_module(module_text(cases))
    maps = _maps(module)
    windows = {name: map_window(op) for name, op in maps.items()}
    assert all(w.size <= 1 << 15 for w in windows.values())
    assert [name for name, w in windows.items() if w.mirror] == ["sigmoid", "silu_fine", "sigmoid_fine", "silu_rnd"]
    assert windows["silu_fine"].mirror == Mirror(False, 0) and len(windows["sigmoid_fine"].runs) == 2
    assert windows["silu_rnd"].runs[-1] == (1, Rule(16.0))
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
