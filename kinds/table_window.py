"""A table map's ROM stored only where its function varies: a window of input codes, and on each side of it runs of
codes that follow one rule, a constant or the input itself cast to the output format.

A sigmoid saturates to 0 and 1 outside a narrow window, a SiLU is 0 on the far left and its input on the far
right, a tanh saturates: of a 16-bit input's 2^16 words the window keeps a few thousand. The rules reproduce
the full table exactly: the window is cut where they stop holding, not approximated, and only where that saves
block RAM (`table_window`). A signed input's table can also be stored for the codes from 0 up only, where
every negative code's output is an affine function of its mirror's (-x's): c - y(-x) (a sigmoid, a tanh) or
y(-x) + x cast (a SiLU, a GELU), checked on every code (`Mirror`). The cost (`window_luts`, and the window's
words) and the HLS body (`window_lines`) read the same runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfcc.dialects.dataflow import FixedType
from dfcc.dialects.fixed_point import code_range, scale2, to_codes
from dfcc.hardware.logic import mux_luts
from dfcc.hardware.memory import bram18_two_reads
from dfcc.kinds.cost import LUT_PER_SCALAR_OP_BIT
from dfcc.kinds.hls_types import Fx, exact_fx_for, float_literal

# runs a side: a truncating sigmoid is 1 - 2^-F, then 1 where float64's sigmoid is 1.0 (x > 36.7); a truncating
# SiLU its input less 2^-F, then its input
RUNS_PER_SIDE = 2


@dataclass(frozen=True)
class Rule:
    """The output of a run of input codes outside the window: `value`, a constant; or, with `value` None, the
    input cast to the output format (`cast`: its rounding and overflow, ap_fixed's T_out(x)) plus `lsbs` times
    the output's least bit."""

    value: float | None = None
    lsbs: int = 0


@dataclass(frozen=True)
class Mirror:
    """A negative input code x's output, in output codes, from its mirror -x's: `lsbs` less it (`negate`), or it
    plus the input cast to the output format plus `lsbs`."""

    negate: bool
    lsbs: int


@dataclass(frozen=True)
class TableWindow:
    """The outputs of input codes `start` .. `start + size - 1` (modulo 2^W), and the runs of codes outside it,
    each (codes, rule), in the order k = (code - start) mod 2^W meets them: above the window from its end up, then
    below it from the lowest code up. With a `mirror`, the codes looked up are the input's magnitude |x| (0 ..
    2^(W-1)): the window from 0, its runs above, then the most negative code's own (a constant); a negative
    input's output follows from its mirror's by `mirror`."""

    x_fmt: FixedType
    y_fmt: FixedType
    start: int
    words: np.ndarray  # float64 output values, on the output's grid
    runs: tuple[tuple[int, Rule], ...]
    mirror: Mirror | None = None

    @property
    def size(self) -> int:
        return len(self.words)


def table_window(table: np.ndarray, x_fmt: FixedType, y_fmt: FixedType, mirrored: bool = True) -> TableWindow:
    """The window of `table` (a map's output for every input bit pattern read unsigned, `map_table`) past its
    runs (`_runs`); without runs the window is the whole table from code 0, its bit patterns in order. Where a
    `Mirror` holds (and `mirrored`), the half from code 0 up (its window past runs above, `_runs`), if that takes
    a BRAM18 off the window's ROM (`bram18_two_reads`, as the cost counts it)."""
    lo, hi = code_range(x_fmt)
    n, frac, bits = hi - lo + 1, y_fmt.frac_bits, y_fmt.width.data
    y = scale2(np.roll(table, -(lo % n)), frac)  # output codes in input code order (code c's pattern: c mod 2^W)
    c = to_codes(scale2(np.arange(lo, hi + 1, dtype=np.float64), -x_fmt.frac_bits), y_fmt)
    below, above = _runs(y, c, frac, bits, True)
    if not below and not above:
        whole = TableWindow(x_fmt, y_fmt, 0, table, ())
    else:
        under, over = _count(below), _count(above)
        whole = TableWindow(x_fmt, y_fmt, lo + under, scale2(y[under:n - over], -frac) + 0.0,
                            tuple(above[::-1]) + tuple(below))
    mirror = _mirror(y, c, lo, y_fmt) if mirrored and lo < -1 else None
    if mirror is None:
        return whole
    _, above = _runs(y[-lo:], c[-lo:], frac, bits, False)
    runs = above[::-1] + [(1, Rule(float(scale2(_stand_in(mirror, y[0], c[0]), -frac)) + 0.0))]
    if len(runs) > 1 and runs[-2][1] == runs[-1][1]:  # the top run's constant: one run to the end
        runs[-2:] = [(runs[-2][0] + 1, runs[-1][1])]
    half = TableWindow(x_fmt, y_fmt, 0, scale2(y[-lo:n - _count(above)], -frac) + 0.0, tuple(runs), mirror)
    return half if bram18_two_reads(bits, half.size) < bram18_two_reads(bits, whole.size) else whole


def _runs(y: np.ndarray, c: np.ndarray, frac: int, bits: int, from_below: bool) -> tuple[list, list]:
    """The runs past the window of output codes `y` (input cast `c`) from its lowest code (if `from_below`) and
    its highest, up to RUNS_PER_SIDE a side, each the longest a rule gives from where it starts (one word always
    stays in the window: where the sides meet, the top's last run is cut short of it); then, from the window out,
    each run that takes no BRAM18 off the window's ROM (`bram18_two_reads`, as the cost counts it) goes back into
    the window: its comparison would cost LUTs in every lane and save none (an 8-bit table of 128 words or more
    is one BRAM18 whatever its window). Each side's runs from the end in."""
    n = len(y)
    found: tuple[list[tuple[int, Rule]], list[tuple[int, Rule]]] = ([], [])  # from the lowest code, the highest
    for depth in range(RUNS_PER_SIDE):
        for side, (codes, cast_codes) in enumerate(((y, c), (y[::-1], c[::-1]))):
            taken, size = _count(found[side]), n - _count(found[0]) - _count(found[1])
            if (side or from_below) and len(found[side]) == depth and size > 1:
                found[side].append(_run(codes[taken:taken + size - 1], cast_codes[taken:taken + size - 1], frac))
    size = n - _count(found[0]) - _count(found[1])
    while idle := [s for s in found if s and bram18_two_reads(bits, size + s[-1][0]) == bram18_two_reads(bits, size)]:
        size += idle[0].pop()[0]
    return found


def _count(runs: list[tuple[int, Rule]]) -> int:
    return sum(count for count, _ in runs)


def _mirror(y: np.ndarray, c: np.ndarray, lo: int, y_fmt: FixedType) -> Mirror | None:
    """The `Mirror` every negative code but the most negative follows (output codes `y` and input cast `c` from
    code `lo`), if one does and the most negative code's stand-in word fits an output code of one more bit (a
    SiLU's at its input's format is the largest output code plus one); else None."""
    negative, mirrored = y[1:-lo], y[:-lo:-1]  # codes lo + 1 .. -1, and their mirrors hi .. 1
    for mirror in (Mirror(True, int(negative[0] + mirrored[0])),
                   Mirror(False, int(negative[0] - mirrored[0] - c[1]))):
        follows = negative == (mirror.lsbs - mirrored if mirror.negate else mirrored + c[1:-lo] + mirror.lsbs)
        if follows.all() and -(1 << y_fmt.width.data) <= _stand_in(mirror, y[0], c[0]) < 1 << y_fmt.width.data:
            return mirror
    return None


def _stand_in(mirror: Mirror, y: float, c: float) -> float:
    """The output code the most negative code's mirror, 2^(W-1) past the largest code, stands for: the one
    `mirror` takes to its output code `y` (its input cast `c`)."""
    return mirror.lsbs - y if mirror.negate else y - c - mirror.lsbs


def _run(codes: np.ndarray, cast_codes: np.ndarray, frac: int) -> tuple[int, Rule]:
    """The longest leading run of output `codes` one rule gives (the constant where the cast input, offset by the
    first code's difference, reaches no further), and that rule."""
    constant = _leading(codes == codes[0])
    lsbs = codes[0] - cast_codes[0]
    offset = _leading(codes == cast_codes + lsbs)
    if constant >= offset:
        return constant, Rule(float(scale2(codes[0], -frac)) + 0.0)  # -0.0 as 0.0
    return offset, Rule(None, int(lsbs))


def _leading(same: np.ndarray) -> int:
    """How many leading entries are True."""
    return len(same) if same.all() else int(np.argmin(same))


def window_luts(window: TableWindow, in_bits: int, out_bits: int) -> int:
    """LUTs of a lane around its window's ROM (`window_lines`): the index's offset (with a mirror, the input's
    negation instead) and a comparison a run on the input's bits, a cast (and an offset's adder) a run that casts
    the input on the output's bits, and the choice of the word or a run's value; with a mirror also the choice
    of the input or its negation, the mirror's adders (and cast) on the output's bits and the choice of the
    mirrored output or not."""
    if not window.runs:
        return 0
    casts = sum((rule.value is None) + (rule.lsbs != 0) for _, rule in window.runs)
    mirror = window.mirror
    adders = 0 if mirror is None else 1 if mirror.negate else 2 + (mirror.lsbs != 0)
    # UG574 (CARRY8): an adder or comparator takes a LUT a bit (LUT_PER_SCALAR_OP_BIT); the choice a mux tree
    return (LUT_PER_SCALAR_OP_BIT * ((1 + len(window.runs)) * in_bits + (casts + adders) * out_bits)
            + mux_luts(out_bits, 1 + len(window.runs))
            + (0 if mirror is None else mux_luts(in_bits, 2) + mux_luts(out_bits, 2)))


def window_lines(window: TableWindow, rom: str, t_out: str) -> list[str]:
    """The C++ of a table map's body (input a0) over its window's ROM `rom`: k, the input's code less the window's
    first modulo 2^W (the input's bits read unsigned), indexes the ROM inside the window; past it each run in
    turn (`TableWindow.runs`' order). With a mirror, k is the code of v = |a0| (exact in one more bit), the runs
    cast v, their output r has one more bit than the output (the most negative code's stand-in may need it), and
    a negative input's output is the mirror's function of r."""
    width = window.x_fmt.width.data
    mask = (1 << width) - 1
    if not window.runs:
        return [f"return dfcc::val({rom}[a0.range({width - 1}, 0).to_uint()]);"]
    arg = "a0" if window.mirror is None else "v"
    y_fmt = window.y_fmt
    wide = t_out if window.mirror is None else Fx(y_fmt.width.data + 1, y_fmt.int_bits.data + 1).cpp
    picks, end = [(window.size, f"dfcc::val({rom}[k])")], window.size
    for count, rule in window.runs:
        end += count
        picks.append((end, _rule_text(rule, y_fmt, t_out, arg, wide)))
    if window.mirror is None:
        return ([f"const unsigned k = (a0.range({width - 1}, 0).to_uint() - {window.start & mask}u) & {mask}u;"]
                + [f"if (k < {end}u) return {text};" for end, text in picks[:-1]] + [f"return {picks[-1][1]};"])
    v = Fx(width + 1, window.x_fmt.int_bits.data + 1).cpp
    return [f"const {v} v = a0 < 0 ? {v}(-a0) : {v}(a0);",
            f"const unsigned k = v.range({width - 1}, 0).to_uint();",
            f"{wide} r;",
            *(f"{'else ' if i else ''}if (k < {end}u) r = {text};" for i, (end, text) in enumerate(picks[:-1])),
            f"else r = {picks[-1][1]};",
            f"return a0 < 0 ? {t_out}({_mirror_text(window.mirror, y_fmt, t_out)}) : {t_out}(r);"]


def _rule_text(rule: Rule, y_fmt: FixedType, t_out: str, arg: str, t_const: str) -> str:
    """A run's value in C++: the constant (exact: a double on the output's grid, in type `t_const`'s range), or
    the input `arg` cast to T_out plus its offset (an exact ap_fixed constant; the sum is on the output's grid and
    in its range: the run's codes)."""
    if rule.value is not None:
        return f"{t_const}({float_literal(rule.value, single=False)})"
    if not rule.lsbs:
        return f"{t_out}({arg})"
    return f"{t_out}({t_out}({arg}) + {_lsbs_text(rule.lsbs, y_fmt)})"


def _mirror_text(mirror: Mirror, y_fmt: FixedType, t_out: str) -> str:
    """A negative input's output from its mirror's r, exact in ap_fixed (on the output's grid and in its range:
    the full table's codes): its offset less r, or r plus the input cast plus its offset."""
    if mirror.negate:
        return f"{_lsbs_text(mirror.lsbs, y_fmt)} - r" if mirror.lsbs else "-r"
    return f"r + {t_out}(a0)" + (f" + {_lsbs_text(mirror.lsbs, y_fmt)}" if mirror.lsbs else "")


def _lsbs_text(lsbs: int, y_fmt: FixedType) -> str:
    """`lsbs` times the output's least bit as an exact ap_fixed constant."""
    offset = scale2(lsbs, -y_fmt.frac_bits)
    return f"{exact_fx_for(np.array([offset])).cpp}({float_literal(offset, single=False)})"
