"""A table map's ROM stored only where its function varies: a window of input codes, and on each side of it runs of
codes that follow one rule, a constant or the input itself cast to the output format.

A sigmoid saturates to 0 and 1 outside a narrow window, a SiLU is 0 on the far left and its input on the far
right, a tanh saturates: of a 16-bit input's 2^16 words the window keeps a few thousand. The rules reproduce
the full table exactly: the window is cut where they stop holding, not approximated, and only where that saves
block RAM (`table_window`). The cost (`window_luts`, and the window's words) and the HLS body (`window_lines`)
read the same runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfcc.dialects.dataflow import FixedType
from dfcc.dialects.fixed_point import code_range, scale2, to_codes
from dfcc.hardware.logic import mux_luts
from dfcc.hardware.memory import bram18_two_reads
from dfcc.kinds.cost import LUT_PER_SCALAR_OP_BIT
from dfcc.kinds.hls_types import exact_fx_for, float_literal

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
class TableWindow:
    """The outputs of input codes `start` .. `start + size - 1` (modulo 2^W), and the runs of codes outside it,
    each (codes, rule), in the order k = (code - start) mod 2^W meets them: above the window from its end up, then
    below it from the lowest code up."""

    x_fmt: FixedType
    y_fmt: FixedType
    start: int
    words: np.ndarray  # float64 output values, on the output's grid
    runs: tuple[tuple[int, Rule], ...]

    @property
    def size(self) -> int:
        return len(self.words)


def table_window(table: np.ndarray, x_fmt: FixedType, y_fmt: FixedType) -> TableWindow:
    """The window of `table` (a map's output for every input bit pattern read unsigned, `map_table`) past runs
    from each end, up to RUNS_PER_SIDE a side, each the longest a rule gives from where it starts (one word always
    stays in the window: where the sides meet, the top's last run is cut short of it); then, from the window out,
    each run that takes no BRAM18 off the window's ROM (`bram18_two_reads`, as the cost counts it) goes back into
    the window: its comparison would cost LUTs in every lane and save none (an 8-bit table of 128 words or more
    is one BRAM18 whatever its window). Without runs the window is the whole table from code 0, its bit patterns
    in order."""
    lo, hi = code_range(x_fmt)
    n, frac, bits = hi - lo + 1, y_fmt.frac_bits, y_fmt.width.data
    y = scale2(np.roll(table, -(lo % n)), frac)  # output codes in input code order (code c's pattern: c mod 2^W)
    c = to_codes(scale2(np.arange(lo, hi + 1, dtype=np.float64), -x_fmt.frac_bits), y_fmt)
    sides: tuple[list[tuple[int, Rule]], list[tuple[int, Rule]]] = ([], [])  # from the lowest code, the highest
    for depth in range(RUNS_PER_SIDE):
        for side, (codes, cast_codes) in enumerate(((y, c), (y[::-1], c[::-1]))):
            taken, size = sum(count for count, _ in sides[side]), n - sum(count for s in sides for count, _ in s)
            if len(sides[side]) == depth and size > 1:
                sides[side].append(_run(codes[taken:taken + size - 1], cast_codes[taken:taken + size - 1], frac))
    size = n - sum(count for s in sides for count, _ in s)
    while idle := [s for s in sides if s and bram18_two_reads(bits, size + s[-1][0]) == bram18_two_reads(bits, size)]:
        size += idle[0].pop()[0]
    if not any(sides):
        return TableWindow(x_fmt, y_fmt, 0, table, ())
    below, above = (sum(count for count, _ in s) for s in sides)
    return TableWindow(x_fmt, y_fmt, lo + below, scale2(y[below:n - above], -frac) + 0.0,
                       tuple(sides[1][::-1]) + tuple(sides[0]))


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
    """LUTs of a lane around its window's ROM (`window_lines`): the index's offset and a comparison a run on the
    input's bits, a cast (and an offset's adder) a run that casts the input on the output's bits, and the choice
    of the word or a run's value."""
    if not window.runs:
        return 0
    casts = sum((rule.value is None) + (rule.lsbs != 0) for _, rule in window.runs)
    # UG574 (CARRY8): an adder or comparator takes a LUT a bit (LUT_PER_SCALAR_OP_BIT); the choice a mux tree
    return (LUT_PER_SCALAR_OP_BIT * ((1 + len(window.runs)) * in_bits + casts * out_bits)
            + mux_luts(out_bits, 1 + len(window.runs)))


def window_lines(window: TableWindow, rom: str, t_out: str) -> list[str]:
    """The C++ of a table map's body (input a0) over its window's ROM `rom`: k, the input's code less the window's
    first modulo 2^W (the input's bits read unsigned), indexes the ROM inside the window; past it each run in
    turn (`TableWindow.runs`' order)."""
    width = window.x_fmt.width.data
    mask = (1 << width) - 1
    if not window.runs:
        return [f"return dfcc::val({rom}[a0.range({width - 1}, 0).to_uint()]);"]
    lines = [f"const unsigned k = (a0.range({width - 1}, 0).to_uint() - {window.start & mask}u) & {mask}u;",
             f"if (k < {window.size}u) return dfcc::val({rom}[k]);"]
    end = window.size
    for count, rule in window.runs[:-1]:
        end += count
        lines.append(f"if (k < {end}u) return {_rule_text(rule, window.y_fmt, t_out)};")
    return lines + [f"return {_rule_text(window.runs[-1][1], window.y_fmt, t_out)};"]


def _rule_text(rule: Rule, y_fmt: FixedType, t_out: str) -> str:
    """A run's value in C++: the constant (exact: a double on the output's grid), or the input cast to T_out plus
    its offset (an exact ap_fixed constant; the sum is on the output's grid and in its range: the run's codes)."""
    if rule.value is not None:
        return f"{t_out}({float_literal(rule.value, single=False)})"
    if not rule.lsbs:
        return f"{t_out}(a0)"
    offset = scale2(rule.lsbs, -y_fmt.frac_bits)
    return f"{t_out}({t_out}(a0) + {exact_fx_for(np.array([offset])).cpp}({float_literal(offset, single=False)}))"
