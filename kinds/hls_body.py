"""Map bodies (arith/math scalar ops) as C++ statements, for the map kind's HLS stage.

- float designs: the same float32 (or f64) operations as dialects/scalar_body.py evaluates with
  numpy (erf mirrors its `_erf` approximation);
- fixed-point bodies the reference computes exactly (kinds/map.py `map_kind` =
  "exact"): ap_fixed intermediates wide enough to be exact, their types tracked here.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import Float64Type, IntegerType
from xdsl.ir import Block, SSAValue

from dfcc.dialects.scalar_body import constant_value
from dfcc.errors import DfccError
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
                    products: list[tuple[int, int]] | None = None) -> tuple[list[str], str]:
    """C++ statements computing a piecewise-linear body exactly in ap_fixed (types tracked here); with `fabric`
    each product is built in LUTs (a map's `mult_impl = lut`, as multiply.h's fabric_mul binds them);
    `products` receives each multiplication's operand widths (what the map's cost counts)."""
    env: dict[SSAValue, str] = dict(zip(block.args, args))
    fxs: dict[SSAValue, Fx | None] = dict(zip(block.args, arg_fx))
    lines: list[str] = []
    for n, op in enumerate(block.ops):
        if op is block.last_op:
            return lines, env[op.operands[0]]
        if op.name == "cf.assert":
            continue
        result = op.results[0]
        a = [env.get(v) for v in op.operands]
        f = [fxs.get(v) for v in op.operands]
        name, var = op.name, f"v{n}"
        if name == "arith.constant":
            value = float(constant_value(op))
            t = exact_fx_for(np.array([value]))
            lines.append(f"const {t.cpp} {var} = {float_literal(value, single=False)};")
        elif name in ("arith.addf", "arith.subf"):
            j = join_fx(f[0], f[1])
            t = Fx(j.width + 1, j.int_bits + 1)
            lines.append(f"const {t.cpp} {var} = {a[0]} {_BIN[name]} {a[1]};")
        elif name == "arith.mulf":
            x, y = f[0].as_signed(), f[1].as_signed()
            t = Fx(x.width + y.width, x.int_bits + y.int_bits)
            lines.append(f"const {t.cpp} {var} = {a[0]} * {a[1]};")
            if products is not None:
                products.append((x.width, y.width))
            if fabric:
                lines.append(f"{HLS}(BIND_OP variable={var} op=mul impl=fabric)")
        elif name == "arith.divf":  # by a power-of-two constant (map_kind checked)
            c = float(constant_value(op.operands[1].owner))
            inv = exact_fx_for(np.array([1.0 / c]))
            x = f[0].as_signed()
            t = Fx(x.width + inv.width, x.int_bits + inv.int_bits)
            lines.append(f"const {t.cpp} {var} = {a[0]} * {inv.cpp}({float_literal(1.0 / c, single=False)});")
        elif name == "arith.negf":
            x = f[0].as_signed()
            t = Fx(x.width + 1, x.int_bits + 1)
            lines.append(f"const {t.cpp} {var} = -{a[0]};")
        elif name == "math.absf":
            x = f[0].as_signed()
            t = Fx(x.width + 1, x.int_bits + 1)
            lines.append(f"const {t.cpp} {var} = {a[0]} < 0 ? {t.cpp}(-{a[0]}) : {t.cpp}({a[0]});")
        elif name in ("arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf"):
            t = join_fx(f[0], f[1])
            cmp = ">" if "max" in name else "<"
            lines.append(f"const {t.cpp} {var} = {a[0]} {cmp} {a[1]} ? {t.cpp}({a[0]}) : {t.cpp}({a[1]});")
        elif name == "arith.cmpf":
            predicate = arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
            if predicate not in _CMP:
                raise DfccError(f"comparison '{predicate}' in a map body is not supported by the HLS backend")
            t = None
            lines.append(f"const bool {var} = {a[0]} {_CMP[predicate]} {a[1]};")
        elif name == "arith.select":
            t = join_fx(f[1], f[2])
            lines.append(f"const {t.cpp} {var} = {a[0]} ? {t.cpp}({a[1]}) : {t.cpp}({a[2]});")
        elif name in ("arith.truncf", "arith.extf"):
            t = f[0]
            lines.append(f"const {t.cpp} {var} = {a[0]};")
        else:
            raise DfccError(f"scalar operation '{name}' cannot be computed exactly in fixed point")
        env[result], fxs[result] = var, t
    raise DfccError("map body has no terminator")
