"""A table map's ROM stored only where its function varies: a window of input codes, and on each side of it one
rule, a constant or the input itself cast to the output format.

A sigmoid saturates to 0 and 1 outside a narrow window, a SiLU is 0 on the far left and its input on the far
right, a tanh saturates: of a 16-bit input's 2^16 words the window keeps a few thousand. The rules reproduce
the full table exactly (`TableWindow.lookup`): the window is cut where they stop holding, not approximated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfcc.dialects.dataflow import FixedType
from dfcc.dialects.fixed_point import cast, code_range, scale2
from dfcc.hardware.logic import mux_luts
from dfcc.kinds.cost import LUT_PER_SCALAR_OP_BIT
from dfcc.kinds.hls_types import float_literal


@dataclass(frozen=True)
class TableWindow:
    """The outputs of input codes `start` .. `start + size - 1` (signed codes, in order), and the rule of each
    side: `below` (codes under the window) and `above` (codes over it), each a constant output value, or None
    for the input cast to the output format (`cast`: the output's rounding and overflow, ap_fixed's T_out(x))."""

    x_fmt: FixedType
    y_fmt: FixedType
    start: int
    words: np.ndarray  # float64 output values, on the output's grid
    below: float | None
    above: float | None

    @property
    def size(self) -> int:
        return len(self.words)

    def tail_codes(self) -> tuple[int, int]:
        """How many input codes lie below the window and above it."""
        lo, hi = code_range(self.x_fmt)
        return self.start - lo, hi - (self.start + self.size - 1)

    def sides(self) -> list[float | None]:
        """The rules of the sides that hold input codes: above the window, then below (as `window_lines` tests)."""
        below, above = self.tail_codes()
        return [rule for count, rule in ((above, self.above), (below, self.below)) if count]

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """The output value of each input code: the window's word, or its side's rule."""
        codes = np.asarray(codes, dtype=np.int64)
        index = codes - self.start
        inside = (index >= 0) & (index < self.size)
        result = np.where(inside, self.words[np.clip(index, 0, self.size - 1)], 0.0)
        for side, rule in ((index < 0, self.below), (index >= self.size, self.above)):
            if rule is None:
                result[side] = cast(scale2(codes[side], -self.x_fmt.frac_bits), self.y_fmt)
            else:
                result[side] = rule
        return result


def table_window(table: np.ndarray, x_fmt: FixedType, y_fmt: FixedType) -> TableWindow:
    """The smallest window of `table` (a map's output for every input bit pattern read unsigned, `map_table`)
    outside which each side follows one rule: the longest run from each end that a constant or the cast input
    gives (the constant where both reach as far). Where the runs meet, one word stays in the window (each end's
    own code is a run of one: a table varying at both ends keeps a side of one code each)."""
    lo, hi = code_range(x_fmt)
    n = hi - lo + 1
    by_code = np.roll(table, -(lo % n))  # pattern of code c: c mod 2^W
    identity = cast(scale2(np.arange(lo, hi + 1, dtype=np.float64), -x_fmt.frac_bits), y_fmt)
    n_below, below = _side(by_code, identity)
    n_above, above = _side(by_code[::-1], identity[::-1])
    if n_below + n_above >= n:
        n_below = min(n_below, n - 1)
        n_above = n - 1 - n_below
    return TableWindow(x_fmt, y_fmt, lo + n_below, by_code[n_below:n - n_above].copy(), below, above)


def _side(values: np.ndarray, identity: np.ndarray) -> tuple[int, float | None]:
    """The longest leading run of `values` one rule gives, and the rule (a constant, or None: the cast input)."""
    constant, cast_input = _leading(values == values[0]), _leading(values == identity)
    return (constant, float(values[0]) + 0.0) if constant >= cast_input else (cast_input, None)  # -0.0 as 0.0


def _leading(same: np.ndarray) -> int:
    """How many leading entries are True."""
    return len(same) if same.all() else int(np.argmin(same))


def window_luts(window: TableWindow, in_bits: int, out_bits: int) -> int:
    """LUTs of a lane around its window's ROM (`window_lines`): the index's offset and a comparison a side on the
    input's bits, a cast a side that casts the input on the output's bits, and the choice of the word or a side."""
    sides = window.sides()
    # UG574 (CARRY8): an adder or comparator takes a LUT a bit (LUT_PER_SCALAR_OP_BIT); the choice a mux tree
    return (LUT_PER_SCALAR_OP_BIT * ((1 + len(sides)) * in_bits + sum(r is None for r in sides) * out_bits)
            + mux_luts(out_bits, 1 + len(sides)))


def window_lines(window: TableWindow, rom: str, t_out: str) -> list[str]:
    """The C++ of a table map's body (input a0) over its window's ROM `rom`: k, the input's code less the window's
    first modulo 2^W (the input's bits read unsigned), indexes the ROM inside the window; past it come the codes
    above the window (k < size + above), then those below (wrapped to the top of k's range)."""
    width = window.x_fmt.width.data
    mask = (1 << width) - 1
    sides = window.sides()
    lines = [f"const unsigned k = (a0.range({width - 1}, 0).to_uint() - {window.start & mask}u) & {mask}u;",
             f"if (k < {window.size}u) return dfcc::val({rom}[k]);"]
    if len(sides) == 2:
        lines.append(f"if (k < {window.size + window.tail_codes()[1]}u) return {_rule_text(sides[0], t_out)};")
    return lines + [f"return {_rule_text(sides[-1], t_out)};"]


def _rule_text(rule: float | None, t_out: str) -> str:
    """A side's value in C++: the constant (exact: a double on the output's grid), or the input cast to T_out."""
    return f"{t_out}(a0)" if rule is None else f"{t_out}({float_literal(rule, single=False)})"
