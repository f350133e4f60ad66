"""Map bodies (arith/math scalar ops) as C++ statements, for the map kind's HLS stage.

- float designs: the same float32 (or f64) operations as dialects/scalar_body.py evaluates with
  numpy (erf mirrors its `_erf` approximation);
- fixed-point bodies the reference computes exactly (kinds/map.py `map_kind` =
  "exact"): ap_fixed intermediates wide enough to be exact, their types tracked here.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import Float64Type, IntegerType
from xdsl.ir import Block, SSAValue

from dfcc.dialects.scalar_body import constant_value
from dfcc.errors import DfccError
from dfcc.dialects.dataflow import FixedType
from dfcc.kinds.exact_division import Divider, odd_part
from dfcc.kinds.hls_types import HLS, Fx, exact_fx_for, float_literal, join_fx

_CMP = {"oeq": "==", "ueq": "==", "one": "!=", "une": "!=", "ogt": ">", "ugt": ">", "oge": ">=", "uge": ">=",
        "olt": "<", "ult": "<", "ole": "<=", "ule": "<="}
_BIN = {"arith.addf": "+", "arith.subf": "-", "arith.mulf": "*", "arith.divf": "/"}
_FUN1 = {"math.exp": "std::exp", "math.log": "std::log", "math.tanh": "std::tanh", "math.sqrt": "std::sqrt",
         "math.absf": "std::fabs", "math.floor": "std::floor", "math.ceil": "std::ceil", "math.roundeven": "std::nearbyint"}
_FUN2 = {"arith.maxnumf": "std::fmax", "arith.minnumf": "std::fmin", "math.powf": "std::pow", "arith.remf": "std::fmod",
         "math.fpowi": "std::pow"}

ERF_HELPER = """// erf as dialects/scalar_body.py's _erf computes it (Numerical Recipes' erfc fit, in double)
static inline double dfcc_erf(double x) {
    const double z = std::fabs(x);
    const double t = 1.0 / (1.0 + 0.5 * z);
    const double poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    const double r = 1.0 - t * std::exp(poly);
    return x > 0 ? r : (x < 0 ? -r : 0.0 * r);
}
"""


def _ctype_of(t) -> str:
    if isinstance(t, Float64Type):
        return "double"
    if isinstance(t, IntegerType):
        return "bool" if t.width.data == 1 else "int"
    return "float"


def translate_float(block: Block, args: list[str], all_double: bool) -> tuple[list[str], str, bool]:
    """C++ statements computing the body in float (per MLIR type) or, with all_double, in double.
    Returns (lines, result expression, uses erf)."""
    env: dict[SSAValue, str] = dict(zip(block.args, args))
    types: dict[SSAValue, str] = {a: ("double" if all_double else _ctype_of(a.type)) for a in block.args}
    lines: list[str] = []
    uses_erf = False
    for n, op in enumerate(block.ops):
        if op is block.last_op:
            return lines, env[op.operands[0]], uses_erf
        if op.name == "cf.assert":
            continue
        result = op.results[0]
        t = "bool" if _ctype_of(result.type) == "bool" else ("double" if all_double else _ctype_of(result.type))
        a = [env[v] for v in op.operands]
        name = op.name
        if name == "arith.constant":
            value = float(constant_value(op))
            expr = float_literal(value, single=(t == "float"))
        elif name in _BIN:
            expr = f"{a[0]} {_BIN[name]} {a[1]}"
        elif name == "arith.negf":
            expr = f"-{a[0]}"
        elif name in ("arith.maximumf", "arith.minimumf"):
            cmp = ">" if name == "arith.maximumf" else "<"
            expr = f"({a[0]} {cmp} {a[1]} ? {a[0]} : {a[1]})"
        elif name in _FUN1:
            expr = f"{_FUN1[name]}({a[0]})"
        elif name in _FUN2:
            expr = f"{_FUN2[name]}({a[0]}, {t}({a[1]}))"
        elif name == "math.rsqrt":
            expr = f"{t}(1) / std::sqrt({a[0]})"
        elif name == "math.erf":
            uses_erf = True
            expr = f"{t}(dfcc_erf({a[0]}))"
        elif name == "arith.cmpf":
            predicate = arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
            if predicate not in _CMP:
                raise DfccError(f"comparison '{predicate}' in a map body is not supported by the HLS backend")
            expr = f"{a[0]} {_CMP[predicate]} {a[1]}"
        elif name == "arith.select":
            expr = f"({a[0]} ? {a[1]} : {a[2]})"
        elif name in ("arith.truncf", "arith.extf"):
            expr = f"{t}({a[0]})"
        else:
            raise DfccError(f"scalar operation '{name}' in a map body is not supported by the HLS backend")
        var = f"v{n}"
        lines.append(f"const {t} {var} = {expr};")
        env[result], types[result] = var, t
    raise DfccError("map body has no terminator")


def translate_exact(block: Block, args: list[str], arg_fx: list[Fx], fabric: bool = False,
                    products: list[tuple[int, int]] | None = None, out: FixedType | None = None,
                    p_range: tuple[int, int] | None = None,
                    types: dict[SSAValue, tuple[Fx | None, int]] | None = None) -> tuple[list[str], str]:
    """C++ statements computing a piecewise-linear body exactly in ap_fixed (types tracked here); with `fabric`
    each product is built in LUTs (a map's `mult_impl = lut`, as multiply.h's fabric_mul binds them);
    `products` receives each multiplication's operand widths (what the map's cost counts).

    A division by a constant +-m * 2^k (m odd) keeps a value as n / D (kinds/exact_division.py): n in ap_fixed,
    the odd D tracked here; values of different D meet over their least common multiple. A result with D > 1
    is divided once, to the grid of the output type `out` (then the caller's T_out(result) only overflows),
    p_range bounding the integer divided (exact_division.exact_codes). `types` (the walk then stops before that
    division) receives each value's numerator type and D."""
    env: dict[SSAValue, str] = dict(zip(block.args, args))
    fxs: dict[SSAValue, Fx | None] = dict(zip(block.args, arg_fx))
    dens: dict[SSAValue, int] = {a: 1 for a in block.args}
    lines: list[str] = []

    def scaled(value: SSAValue, factor: int, var: str) -> tuple[str, Fx]:
        """value's numerator times the integer `factor` (to a common denominator): a constant folded, else a
        product by a constant."""
        if factor == 1:
            return env[value], fxs[value]
        k = exact_fx_for(np.array([float(factor)]))
        x = fxs[value].as_signed()
        if value.owner is not None and getattr(value.owner, "name", None) == "arith.constant":
            scaled_value = float(constant_value(value.owner)) * factor
            t = exact_fx_for(np.array([scaled_value]))
            lines.append(f"const {t.cpp} {var} = {float_literal(scaled_value, single=False)};")
            return var, t
        t = Fx(x.width + k.width, x.int_bits + k.int_bits)
        lines.append(f"const {t.cpp} {var} = {env[value]} * {k.cpp}({float_literal(float(factor), single=False)});")
        _product(var, x.width, k.width)
        return var, t

    def _product(var: str, a_bits: int, b_bits: int) -> None:
        if products is not None:
            products.append((a_bits, b_bits))
        if fabric:
            lines.append(f"{HLS}(BIND_OP variable={var} op=mul impl=fabric)")

    def common(values, var: str) -> tuple[list[str], list[Fx], int]:
        """The numerators of `values` over their least common denominator."""
        d = math.lcm(*(dens[v] for v in values))
        pairs = [scaled(v, d // dens[v], f"{var}_{i}") for i, v in enumerate(values)]
        return [e for e, _ in pairs], [t for _, t in pairs], d

    for n, op in enumerate(block.ops):
        if op is block.last_op:
            result = op.operands[0]
            if types is not None:  # the types asked for: no division yet
                types.update({v: (fxs[v], dens[v]) for v in fxs})
                return lines, env[result]
            if dens[result] == 1:
                return lines, env[result]
            if out is None or p_range is None:
                raise DfccError("a body dividing by a constant needs its output type and the range of its quotient")
            return lines, _divide(lines, env[result], fxs[result], dens[result], out, p_range, f"v{n}", _product)
        if op.name == "cf.assert":
            continue
        result = op.results[0]
        name, var = op.name, f"v{n}"
        d = 1
        if name == "arith.constant":
            value = float(constant_value(op))
            t = exact_fx_for(np.array([value]))
            lines.append(f"const {t.cpp} {var} = {float_literal(value, single=False)};")
        elif name in ("arith.addf", "arith.subf"):
            (x, y), (fx, fy), d = common(op.operands, var)
            j = join_fx(fx, fy)
            t = Fx(j.width + 1, j.int_bits + 1)
            lines.append(f"const {t.cpp} {var} = {x} {_BIN[name]} {y};")
        elif name == "arith.mulf":
            x, y = fxs[op.operands[0]].as_signed(), fxs[op.operands[1]].as_signed()
            t = Fx(x.width + y.width, x.int_bits + y.int_bits)
            d = dens[op.operands[0]] * dens[op.operands[1]]
            lines.append(f"const {t.cpp} {var} = {env[op.operands[0]]} * {env[op.operands[1]]};")
            _product(var, x.width, y.width)
        elif name == "arith.divf":  # by a constant (map_kind checked): the numerator times +-2^-k, D times m
            sign, m, k = odd_part(float(constant_value(op.operands[1].owner)))
            inv = exact_fx_for(np.array([sign * math.ldexp(1.0, -k)]))
            x = fxs[op.operands[0]].as_signed()
            t = Fx(x.width + inv.width, x.int_bits + inv.int_bits)
            d = dens[op.operands[0]] * m
            lines.append(f"const {t.cpp} {var} = {env[op.operands[0]]} * "
                         f"{inv.cpp}({float_literal(sign * math.ldexp(1.0, -k), single=False)});")
        elif name == "arith.negf":
            x = fxs[op.operands[0]].as_signed()
            t, d = Fx(x.width + 1, x.int_bits + 1), dens[op.operands[0]]
            lines.append(f"const {t.cpp} {var} = -{env[op.operands[0]]};")
        elif name == "math.absf":
            x = fxs[op.operands[0]].as_signed()
            t, d, a = Fx(x.width + 1, x.int_bits + 1), dens[op.operands[0]], env[op.operands[0]]
            lines.append(f"const {t.cpp} {var} = {a} < 0 ? {t.cpp}(-{a}) : {t.cpp}({a});")
        elif name in ("arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf"):
            (x, y), (fx, fy), d = common(op.operands, var)
            t = join_fx(fx, fy)
            cmp = ">" if "max" in name else "<"
            lines.append(f"const {t.cpp} {var} = {x} {cmp} {y} ? {t.cpp}({x}) : {t.cpp}({y});")
        elif name == "arith.cmpf":
            predicate = arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
            if predicate not in _CMP:
                raise DfccError(f"comparison '{predicate}' in a map body is not supported by the HLS backend")
            (x, y), _, _ = common(op.operands, var)
            t = None
            lines.append(f"const bool {var} = {x} {_CMP[predicate]} {y};")
        elif name == "arith.select":
            (x, y), (fx, fy), d = common(op.operands[1:], var)
            t = join_fx(fx, fy)
            lines.append(f"const {t.cpp} {var} = {env[op.operands[0]]} ? {t.cpp}({x}) : {t.cpp}({y});")
        elif name in ("arith.truncf", "arith.extf"):
            t, d = fxs[op.operands[0]], dens[op.operands[0]]
            lines.append(f"const {t.cpp} {var} = {env[op.operands[0]]};")
        else:
            raise DfccError(f"scalar operation '{name}' cannot be computed exactly in fixed point")
        env[result], fxs[result], dens[result] = var, t, d
    raise DfccError("map body has no terminator")


def _integer(lo: int, hi: int) -> Fx:
    """The smallest signed integer type holding [lo, hi]."""
    width = max(lo.bit_length(), hi.bit_length()) + 1
    return Fx(width, width)


def _times(x: Fx, c: float) -> Fx:
    """The exact type of x times the constant c (a dyadic), as ap_fixed's product types it."""
    k, x = exact_fx_for(np.array([c])), x.as_signed()
    return Fx(x.width + k.width, x.int_bits + k.int_bits)


def _constant(value: float) -> str:
    """value (a dyadic) as an exact ap_fixed constant."""
    return f"{exact_fx_for(np.array([value])).cpp}({float_literal(value, single=False)})"


def _divide(lines: list[str], n: str, fx: Fx, d: int, out: FixedType, p_range: tuple[int, int], var: str,
            product) -> str:
    """Statements dividing the value n / d to out's grid: p = floor(n * 2^F + d/2 [rounding to nearest]), its
    floor quotient by d as one multiplication by a constant (`Divider`), round half to even stepping back on a
    tie; returns the quotient times 2^-F (exact: T_out of it only overflows, as fixed_point.cast does)."""
    f, rounding = out.frac_bits, out.rounding.data
    lo, hi = p_range
    bias = d * (lo // d)  # a multiple of d at or below every p: p - bias >= 0, floor((p - bias) / d) + bias / d
    divider = Divider.of(d, hi - bias)
    u, mb = max((hi - bias).bit_length(), 1), divider.m.bit_length()
    code = _integer(lo // d, hi // d)
    half = rounding != "trn"
    x = f"{n} * {_constant(math.ldexp(1.0, f))}" + (f" + {_constant(d / 2)}" if half else "")
    lines.append(f"// {var}: floor(p / {d}) = (p * {divider.m}) >> {divider.s} for 0 <= p <= {hi - bias} "
                 "(Granlund & Montgomery, PLDI 1994)")
    if rounding == "rnd_conv":
        j = join_fx(_times(fx, math.ldexp(1.0, f)), exact_fx_for(np.array([d / 2])))
        exact = Fx(j.width + 1, j.int_bits + 1)  # the sum, unrounded
        lines.append(f"const {exact.cpp} {var}_x = {x};")
        x = f"{var}_x"
    p = _integer(lo, hi)
    lines.append(f"const {p.cpp} {var}_p = {x};")  # ap_fixed's AP_TRN: the floor
    lines.append(f"const ap_ufixed<{u}, {u}> {var}_b = {var}_p - {_constant(float(bias))};")
    lines.append(f"const ap_ufixed<{u + mb}, {u + mb}> {var}_q = {var}_b * ap_ufixed<{mb}, {mb}>({divider.m}.0);")
    product(f"{var}_q", u + 1, mb + 1)  # unsigned operands on a signed multiplier: a bit each
    lines.append(f"const {code.cpp} {var}_c = {var}_q * {_constant(math.ldexp(1.0, -divider.s))}"
                 f" + {_constant(float(bias // d))};")
    result = f"{var}_c"
    if rounding == "rnd_conv":  # a tie is n * 2^F + d/2 = code * d exactly: the nearest even code is one below
        wide, k = _times(code, float(d)), exact_fx_for(np.array([float(d)]))
        lines.append(f"const {wide.cpp} {var}_m = {var}_c * {_constant(float(d))};")
        product(f"{var}_m", code.width, k.width)
        lines.append(f"const {code.cpp} {var}_r = ({var}_x == {var}_p && {var}_p == {var}_m && {var}_c[0]) ? "
                     f"{code.cpp}({var}_c - 1) : {var}_c;")
        result = f"{var}_r"
    value = _times(code, math.ldexp(1.0, -f))
    lines.append(f"const {value.cpp} {var}_y = {result} * {_constant(math.ldexp(1.0, -f))};")
    return f"{var}_y"
