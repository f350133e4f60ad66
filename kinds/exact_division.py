"""Division by a constant in an exact map body, without a table.

A finite f32 constant c is +-m * 2^k with m odd, so an exact body (kinds/map.py `map_kind`) that divides by
constants keeps every value as n / D: n an exact dyadic (ap_fixed in HLS) and D an odd positive integer known
when compiling (the product of the odd parts of the divisors met). Only the output needs the quotient: its code
is R(n * 2^F / D) (R the output's rounding), one floor division of an integer p by the odd constant D, which
hardware computes with one multiplier as (p * m) >> s (`Divider`).

`exact_codes` evaluates a body this way on numpy codes: the numbers HLS computes (kinds/hls_body.py
`translate_exact` realises the same steps in ap_fixed). `map_kind` accepts such a body only where these equal
the CPU reference's (float64, then the cast) for every input code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith
from xdsl.ir import Block, SSAValue

from dfcc.dialects.scalar_body import constant_value
from dfcc.kinds.hls_types import exact_fx_for

INT_BITS = 62  # numerators stay int64 codes with a bit to spare; a body needing more is not realised this way


def odd_part(c: float) -> tuple[int, int, int]:
    """(sign, m, k) with c = sign * m * 2^k, m odd (c a finite nonzero float)."""
    mantissa, exponent = math.frexp(abs(c))  # abs(c) = mantissa * 2^exponent, 0.5 <= mantissa < 1
    m, k = int(math.ldexp(mantissa, 53)), exponent - 53
    while m % 2 == 0:
        m, k = m // 2, k + 1
    return (1 if c > 0 else -1), m, k


@dataclass(frozen=True)
class Divider:
    """floor(p / d) = (p * m) >> s for every integer 0 <= p <= p_max (d odd)."""

    d: int
    p_max: int
    m: int
    s: int

    @staticmethod
    def of(d: int, p_max: int) -> Divider:
        """The smallest shift s (so the narrowest m) that is exact on [0, p_max]."""
        # Granlund & Montgomery, PLDI 1994, thm 4.2: m = ceil(2^s / d), e = m*d - 2^s; p*m/2^s = p/d + p*e/(d*2^s)
        # and p*e < 2^s keeps the excess below 1/d, so the floor is p // d
        s = 0
        while True:
            m = -(-(1 << s) // d)
            if p_max * (m * d - (1 << s)) < (1 << s):
                return Divider(d, p_max, m, s)
            s += 1


@dataclass
class _Value:
    """Codes n (int64, or a bool array for a comparison) of value n * 2^-e / d."""

    n: np.ndarray
    e: int = 0
    d: int = 1


def _bits(n: np.ndarray) -> int:
    """Bits of the largest magnitude in n (0 for all zeros)."""
    return int(np.max(np.abs(n), initial=0)).bit_length()


def _aligned(a: _Value, b: _Value) -> tuple[np.ndarray, np.ndarray, int, int] | None:
    """a's and b's codes over one scale 2^-e and one denominator lcm(d_a, d_b), or None past INT_BITS."""
    e, d = max(a.e, b.e), math.lcm(a.d, b.d)
    fa, fb = (d // a.d) << (e - a.e), (d // b.d) << (e - b.e)
    if _bits(a.n) + fa.bit_length() > INT_BITS or _bits(b.n) + fb.bit_length() > INT_BITS:
        return None
    return a.n * fa, b.n * fb, e, d


def exact_codes(block: Block, codes: np.ndarray, frac: int, out_frac: int, rounding: str
                ) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The output codes (before overflow) of a one-input body computed as n / D, for input `codes` at 2^-`frac`;
    and the range of p, the integer HLS divides by D (`p_range` of translate_exact). None where an intermediate
    would pass INT_BITS."""
    env: dict[SSAValue, _Value] = {block.args[0]: _Value(np.asarray(codes, dtype=np.int64), frac)}
    for op in block.ops:
        if op is block.last_op:
            return _output_codes(env[op.operands[0]], out_frac, rounding)
        if op.name == "cf.assert":
            continue
        a = [env[v] for v in op.operands if v in env]
        name = op.name
        if name == "arith.constant":
            value = float(constant_value(op))
            fx = exact_fx_for(np.array([value]))
            result = _Value(np.int64(int(math.ldexp(value, fx.frac))), fx.frac)
        elif name in ("arith.truncf", "arith.extf"):
            result = a[0]
        elif name == "arith.negf":
            result = _Value(-a[0].n, a[0].e, a[0].d)
        elif name == "math.absf":
            result = _Value(np.abs(a[0].n), a[0].e, a[0].d)
        elif name == "arith.mulf":
            if _bits(a[0].n) + _bits(a[1].n) > INT_BITS:
                return None
            result = _Value(a[0].n * a[1].n, a[0].e + a[1].e, a[0].d * a[1].d)
        elif name == "arith.divf":  # by a constant (map_kind checked): n / (d * m) * 2^-k
            sign, m, k = odd_part(float(constant_value(op.operands[1].owner)))
            result = _Value(sign * a[0].n, a[0].e + k, a[0].d * m)
        elif name == "arith.select":
            aligned = _aligned(a[1], a[2])
            if aligned is None:
                return None
            x, y, e, d = aligned
            result = _Value(np.where(a[0].n, x, y), e, d)
        else:
            aligned = _aligned(a[0], a[1])
            if aligned is None:
                return None
            x, y, e, d = aligned
            if name in ("arith.addf", "arith.subf"):
                if max(_bits(x), _bits(y)) + 1 > INT_BITS:
                    return None
                result = _Value(x + y if name == "arith.addf" else x - y, e, d)
            elif name == "arith.cmpf":
                predicate = arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
                result = _Value(_COMPARE[predicate](x, y))
            else:  # maximum/minimum: d > 0 keeps the order of the codes
                result = _Value((np.maximum if "max" in name else np.minimum)(x, y), e, d)
        env[op.results[0]] = result
    return None


_COMPARE = {"oeq": np.equal, "ueq": np.equal, "one": np.not_equal, "une": np.not_equal, "ogt": np.greater,
            "ugt": np.greater, "oge": np.greater_equal, "uge": np.greater_equal, "olt": np.less, "ult": np.less,
            "ole": np.less_equal, "ule": np.less_equal}


def _output_codes(v: _Value, out_frac: int, rounding: str) -> tuple[np.ndarray, tuple[int, int]] | None:
    """R(n * 2^F / d) exactly: p = floor(n * 2^F + d/2 [rnd, rnd_conv]), code = floor(p / d); round half to
    even steps back from an odd code when the sum was exactly p = code * d (dialects/fixed_point.py cast)."""
    half = rounding != "trn"
    j = out_frac - v.e + 1  # t = 2 * (n * 2^F + half * d/2) as an integer t * 2^-shift
    if j >= 0:
        if _bits(v.n) + j + 1 > INT_BITS:
            return None
        t, shift = (v.n << j) + (v.d if half else 0), 1
    else:
        t, shift = v.n + ((v.d << -j) if half else 0), 1 - j
    p = t >> shift
    code = p // v.d
    if rounding == "rnd_conv":
        tie = (t & ((1 << shift) - 1) == 0) & (p == code * v.d) & (code % 2 != 0)
        code = code - tie
    return code, (int(p.min()), int(p.max()))
