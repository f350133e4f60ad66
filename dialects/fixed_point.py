"""Fixed-point numbers: what a `!dataflow.fixed` value is and how a value is cast to one.

This docstring and the `run_fixed` methods of the node kinds (kinds/<kind>.py, each stating its own
rule) are THE number-semantics contract. The CPU reference implements it; the HLS kernels implement
the same with `ap_fixed`, and C simulation must match the CPU reference bit for bit. Change one only
together with the other.

Values
    `!dataflow.fixed<W, I[, unsigned][, rounding][, overflow]>` is `ap_fixed<W, I, Q, O>` (or
    `ap_ufixed`): a value is an integer code q times 2^-F, F = W - I. Signed codes lie in
    [-2^(W-1), 2^(W-1) - 1], unsigned in [0, 2^W - 1]. I may be negative or larger than W.

cast(x, T)  (`cast` below; ap_fixed's conversion from a wider value, including from a double)
    1. rounding to a multiple of 2^-F, on the exact value of x:
       trn      = floor (toward -inf)                               AP_TRN
       rnd      = round half toward +inf: floor(x * 2^F + 1/2)       AP_RND
       rnd_conv = round half to even                                AP_RND_CONV
    2. overflow of the code q to W bits:
       wrap = keep the low W bits (two's complement for signed)     AP_WRAP
       sat  = clamp to the smallest/largest code                    AP_SAT
    (non-finite inputs, which ap_fixed leaves undefined: nan -> 0, +-inf -> the code +-2^60 before
    overflow, i.e. the extreme code with sat and 0 with wrap.)

Nodes
    A node whose output stream is f32 runs in float. Otherwise, with `T_out` its output stream's
    element type, values are carried exactly (float64 holds every code of <= 53 bits) and each
    kind's `run_fixed` says where it rounds: most compute exactly and end with T_out(value)
    (`cast_result`); accumulating nodes first cast to their `acc_format` (`cast_accumulator`).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import ArrayAttr
from xdsl.ir import Operation, SSAValue

from dfcc.dialects.dataflow import FixedType, StreamType
from dfcc.errors import DfccError


def code_range(fmt: FixedType) -> tuple[int, int]:
    """Smallest and largest integer code of `fmt`."""
    width = fmt.width.data
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if fmt.is_signed else (0, (1 << width) - 1)


def value_range(fmt: FixedType) -> tuple[float, float]:
    lo, hi = code_range(fmt)
    return math.ldexp(lo, -fmt.frac_bits), math.ldexp(hi, -fmt.frac_bits)


def scale2(x, k: int, out: np.ndarray | None = None) -> np.ndarray:
    """x * 2^k as float64, the same numbers as np.ldexp(x, k) about ten times faster: IEEE 754
    rounds a product correctly, and the product by an exact power of two is the value ldexp rounds
    (both exact unless they overflow to inf or fall below the normal range, and rounded alike there)."""
    if not -1022 <= k <= 1023:  # 2^k itself is not a normal double
        return np.ldexp(np.asarray(x, dtype=np.float64), k, out=out)
    return np.multiply(x, math.ldexp(1.0, k), out=out, dtype=np.float64)  # float32 read as float64: no copy first


def to_codes(x: np.ndarray, fmt: FixedType) -> np.ndarray:
    """The integer codes (as float64) of cast(x, fmt): rounding, then overflow (see module doc).
    Works in place on one scaled copy of x (the reference casts every stream of a network this way)."""
    x = np.asarray(x)
    scaled = scale2(x, fmt.frac_bits, out=np.empty_like(x, dtype=np.float64))  # exact: a power-of-two scaling
    if scaled.size and -2.0 ** 52 < (lo := scaled.min()) and (hi := scaled.max()) < 2.0 ** 52:  # nan fails it
        return _round_codes(scaled, lo, hi, fmt)
    if not np.isfinite(scaled).all():
        np.nan_to_num(scaled, copy=False, nan=0.0, posinf=2.0 ** 60, neginf=-(2.0 ** 60))  # +-inf saturate/wrap as huge
    code = np.floor(scaled)
    mode = fmt.rounding.data
    if mode != "trn":
        rest = np.subtract(scaled, code, out=scaled)  # exact (Sterbenz); in [0, 1)
        code += rest >= 0.5 if mode == "rnd" else (rest > 0.5) | ((rest == 0.5) & (np.fmod(code, 2) != 0))
    return overflow_codes(code, fmt)


def _round_codes(scaled: np.ndarray, lo: float, hi: float, fmt: FixedType) -> np.ndarray:
    """to_codes's rounding and overflow in place, for finite scaled values below 2^52 in magnitude
    (lo, hi their extremes), where each mode is one numpy operation: x + 1/2 is exact there, so
    floor(x + 1/2) is `rnd`; rint rounds half to even, `rnd_conv`. Rounding is monotonic, so no code
    overflows when the extremes' codes do not."""
    mode = fmt.rounding.data
    if mode == "rnd":
        np.floor(np.add(scaled, 0.5, out=scaled), out=scaled)
        lo, hi = math.floor(lo + 0.5), math.floor(hi + 0.5)
    elif mode == "rnd_conv":
        np.add(np.rint(scaled, out=scaled), 0.0, out=scaled)  # + 0: a code is never -0, as to_codes's sum
        lo, hi = round(lo), round(hi)  # Python's round of a float is half to even too
    else:
        np.floor(scaled, out=scaled)
        lo, hi = math.floor(lo), math.floor(hi)
    code_lo, code_hi = code_range(fmt)
    return scaled if code_lo <= lo and hi <= code_hi else overflow_codes(scaled, fmt)


def overflow_codes(code: np.ndarray, fmt: FixedType) -> np.ndarray:
    """Integer codes (float64) to fmt's W bits, in place: saturated or wrapped (module doc, step 2)."""
    lo, hi = code_range(fmt)
    if code.size and lo <= code.min() and code.max() <= hi:  # none overflows (an accumulator sized for the worst case)
        return code
    if fmt.overflow.data == "sat":
        return np.clip(code, lo, hi, out=code)
    span = float(1 << fmt.width.data)
    np.fmod(code, span, out=code)  # fmod is exact for floats
    code[code < lo] += span
    code[code > hi] -= span
    return code


def cast(x: np.ndarray, fmt: FixedType) -> np.ndarray:
    """cast(x, fmt) as float64 real values (exact: codes times a power of two)."""
    codes = to_codes(x, fmt)
    return scale2(codes, -fmt.frac_bits, out=codes)


def on_grid(x: np.ndarray, fmt: FixedType) -> bool:
    """Whether every value of x is exactly representable in fmt."""
    scaled = scale2(x, fmt.frac_bits)
    lo, hi = code_range(fmt)
    if scaled.size and not lo <= scaled.min() <= scaled.max() <= hi:  # codes in range: scaled exactly (nan fails)
        return False
    return bool(np.array_equal(scaled, np.floor(scaled)))


def input_codes(fmt: FixedType) -> np.ndarray:
    """Every code of fmt, indexed by its W-bit pattern read as unsigned (two's complement)."""
    width = fmt.width.data
    patterns = np.arange(1 << width, dtype=np.int64)
    if fmt.is_signed:
        patterns = np.where(patterns >= 1 << (width - 1), patterns - (1 << width), patterns)
    return patterns.astype(np.float64)


# ---- weight formats --------------------------------------------------------------------------------


def formats_of(attr) -> list[FixedType] | FixedType | None:
    """A weights `format`: one FixedType, or (per channel) a list of them."""
    if attr is None or isinstance(attr, FixedType):
        return attr
    if isinstance(attr, ArrayAttr) and all(isinstance(a, FixedType) for a in attr.data):
        return list(attr.data)
    raise DfccError(f"weights format must be a !dataflow.fixed type or an array of them, got {attr}")


def cast_weights(values: np.ndarray, fmt) -> np.ndarray:
    """Cast weights to one format, or per output channel (dim 0) to a list of formats."""
    if isinstance(fmt, list):
        _check_channels(values, fmt)
        return np.stack([cast(values[c], f) for c, f in enumerate(fmt)])
    return cast(values, fmt)


def weights_on_grid(values: np.ndarray, fmt) -> bool:
    """Whether cast_weights(values, fmt) leaves every value as it is (checked without casting)."""
    if isinstance(fmt, list):
        _check_channels(values, fmt)
        return all(on_grid(values[c], f) for c, f in enumerate(fmt))
    return on_grid(values, fmt)


def _check_channels(values: np.ndarray, formats: list[FixedType]) -> None:
    if len(formats) != values.shape[0]:
        raise DfccError(f"{len(formats)} per-channel formats for {values.shape[0]} channels")


def frac_bits_of(fmt) -> int:
    return max(f.frac_bits for f in fmt) if isinstance(fmt, list) else fmt.frac_bits


# ---- accumulators ------------------------------------------------------------------------------------


def accumulator_bound(x_fmt: FixedType, weights: np.ndarray, bias: np.ndarray | None) -> tuple[float, float]:
    """Worst-case (lowest, highest) accumulator over every input of x_fmt: per output channel
    sum_j min/max(w_j * x) + b, then the extreme over channels. Weights are F x (fan-in...)."""
    lo_x, hi_x = value_range(x_fmt)
    w = np.asarray(weights.reshape(weights.shape[0], -1), dtype=np.float64)
    at_lo, at_hi = w * lo_x, w * hi_x
    lo = np.minimum(at_lo, at_hi).sum(axis=1)
    hi = np.maximum(at_lo, at_hi).sum(axis=1)
    if bias is not None:
        lo, hi = lo + bias, hi + bias
    return float(lo.min()), float(hi.max())


def check_exact(op: Operation, x_fmt: FixedType | None, weights: np.ndarray, w_fmt, bias: np.ndarray | None) -> None:
    """Raise unless float64 computes this conv/linear's accumulator exactly: every partial sum is a
    multiple of 2^-F_acc, exact while below 2^53 units. The worst case over all inputs
    (`accumulator_bound`, a pass over sums of products) is only needed when the coarse bound
    fan-in * max|w| * max|x| + max|b| reaches 2^52 units; below that, half the limit (a margin for
    both bounds' float rounding), it cannot reach 2^53: the reference runs every conv this way."""
    if x_fmt is None or w_fmt is None:
        return
    frac = x_fmt.frac_bits + frac_bits_of(w_fmt)
    if weights.size and _coarse_bound(x_fmt, weights, bias) < math.ldexp(1.0, 52 - frac):
        return
    lo, hi = accumulator_bound(x_fmt, weights, bias)
    if math.ldexp(max(-lo, hi), frac) >= 2.0 ** 53:
        raise DfccError(f"{op.name} '{op.node_name.data}': the accumulator needs more than 53 bits "
                        "(too wide for the exact float64 reference); use fewer bits")


def _coarse_bound(x_fmt: FixedType, weights: np.ndarray, bias: np.ndarray | None) -> float:
    """fan-in * max|w| * max|x| + max|b|: no partial sum of a conv/linear accumulator exceeds it
    (nan when a weight is; then the caller's comparison fails and it computes the precise bound)."""
    lo_x, hi_x = value_range(x_fmt)
    fan_in = weights.size // weights.shape[0]
    largest = derived(weights, "max_abs", lambda: max(-float(weights.min()), float(weights.max()))) * max(-lo_x, hi_x) * fan_in
    return largest + (float(np.abs(bias).max()) if bias is not None and bias.size else 0.0)


# ---- node results ------------------------------------------------------------------------------------


def fixed_of(value: SSAValue) -> FixedType | None:
    """The fixed-point element type of a stream, None for a float stream or a tensor."""
    t = value.type
    return t.element_type if isinstance(t, StreamType) and isinstance(t.element_type, FixedType) else None


def uses_fixed_point(func_op: Operation) -> bool:
    """Whether any stream in the function carries fixed-point numbers."""
    return any(fixed_of(r) is not None for op in func_op.walk() for r in op.results)


def cast_result(op: Operation, value: np.ndarray, result: SSAValue | None = None) -> np.ndarray:
    """T_out(value) for `result` (default: the op's first result); float32 when it is a float stream."""
    fmt = fixed_of(result if result is not None else op.results[0])
    if fmt is None:
        return np.asarray(value, dtype=np.float32)
    return cast(value, fmt)


def cast_accumulator(op: Operation, acc: np.ndarray) -> np.ndarray:
    """T_out(T_acc(acc)), T_acc the op's `acc_format` (skipped when it has none)."""
    acc_fmt = op.properties.get("acc_format")
    if isinstance(acc_fmt, FixedType):
        acc = cast(acc, acc_fmt)
    return cast_result(op, acc)


def mac_result(op: Operation, x: np.ndarray, weights: np.ndarray, w_fmt, bias: np.ndarray | None,
               sum_of_products: Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]) -> np.ndarray:
    """T_out(T_acc(sum of products + bias)) of a conv or linear node, exact in float64.

    `sum_of_products(x, w, b)` is the node's sum of products of x and w plus `b` (None: no bias). When
    T_acc truncates to a grid the bias lies on, T_acc(P + b) = T_acc(T_trn(P) + b): the bias is added on
    T_acc's grid, so only the products' sum must be exact in float64, not the whole accumulator
    (quantize drops the products' lowest fraction bits when an exact accumulator would exceed 53
    bits; the HLS kernels sum exactly in ap_fixed and then cast, which is the same number)."""
    x_fmt = fixed_of(op.operands[0])
    acc_fmt = op.properties.get("acc_format")
    aligned = (bias is not None and isinstance(acc_fmt, FixedType) and acc_fmt.rounding.data == "trn"
               and np.array_equal(scale2(bias, acc_fmt.frac_bits), np.floor(scale2(bias, acc_fmt.frac_bits))))
    if bias is not None and not aligned:
        check_exact(op, x_fmt, weights, w_fmt, bias)
        return cast_accumulator(op, sum_of_products(x, weights, bias))
    check_exact(op, x_fmt, weights, w_fmt, None)
    codes, frac = exact_codes(x, x_fmt, weights, w_fmt, sum_of_products)
    if bias is not None and frac == acc_fmt.frac_bits:  # T_acc's codes already: floor(integers) + the bias's
        codes = np.add(codes, scale2(bias, frac), out=codes)
    else:
        products = codes if frac is None else scale2(codes, -frac, out=codes)
        if bias is None:
            return cast_accumulator(op, products)
        codes = np.floor(scale2(products, acc_fmt.frac_bits)) + scale2(bias, acc_fmt.frac_bits)
    if codes.size and not -2.0 ** 53 < codes.min() <= codes.max() < 2.0 ** 53:
        raise DfccError(f"{op.name} '{op.node_name.data}': the accumulator's codes need more than 53 bits "
                        "(too wide for the exact float64 reference); give it fewer fraction bits")
    return cast_result(op, scale2(overflow_codes(codes, acc_fmt), -acc_fmt.frac_bits))  # T_acc: on its grid already


def exact_products(x: np.ndarray, x_fmt: FixedType | None, weights: np.ndarray, w_fmt,
                   sum_of_products: Callable[[np.ndarray, np.ndarray, None], np.ndarray]) -> np.ndarray:
    """The exact float64 sum of products of x (on x_fmt's grid, the number contract) and weights (on
    w_fmt's, checked by their WeightsOp): `exact_codes` in real units."""
    codes, frac = exact_codes(x, x_fmt, weights, w_fmt, sum_of_products)
    return codes if frac is None else scale2(codes, -frac, out=codes)


def exact_codes(x: np.ndarray, x_fmt: FixedType | None, weights: np.ndarray, w_fmt,
                sum_of_products: Callable[[np.ndarray, np.ndarray, None], np.ndarray]) -> tuple[np.ndarray, int | None]:
    """The exact sums of products as a new float64 array, with frac: integer codes of 2^-frac, computed in
    single precision when they can be, frac = F_x + F_w: when every output's sum of |products| stays below
    2^24 (the largest code of x_fmt times a filter's sum of |weight codes|), every partial sum is an integer
    float32 holds, so BLAS adds them exactly in any order, about twice as fast as in float64. Else the real
    sums in float64, exact by `check_exact`, and frac None."""
    if x_fmt is None or w_fmt is None or not weights.size:
        return np.asarray(sum_of_products(x, weights, None), dtype=np.float64), None
    x_frac, w_frac = x_fmt.frac_bits, frac_bits_of(w_fmt)
    filter_sum, w_codes = derived(weights, ("codes", w_frac), lambda: _single_codes(weights, w_frac))
    largest_x = max(-code_range(x_fmt)[0], code_range(x_fmt)[1])
    if filter_sum * largest_x >= 2.0 ** 24:
        return np.asarray(sum_of_products(x, weights, None), dtype=np.float64), None
    codes = sum_of_products(scale2(x, x_frac).astype(np.float32), w_codes, None)
    return codes.astype(np.float64), x_frac + w_frac


def _single_codes(weights: np.ndarray, w_frac: int) -> tuple[float, np.ndarray]:
    """The largest sum of |codes| of a filter (dim 0), and the codes in float32 (read-only: kept with the
    weights, and what the kernels derive from them kept in turn)."""
    w_codes = scale2(weights, w_frac)
    single = w_codes.astype(np.float32)
    single.setflags(write=False)
    return float(np.abs(w_codes).reshape(len(w_codes), -1).sum(axis=1).max()), single


# What the functions above derive from read-only weights, by id while the array lives: the same weights
# feed every reference run of a calibrating pass (analyses/reference.py keeps them).
_DERIVED: dict[int, tuple[weakref.ref, dict]] = {}


def derived(weights: np.ndarray, key, compute: Callable[[], object]):
    """compute(), kept for `key` with `weights` when no one can change them (read-only down to their owner)."""
    array = weights
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return compute()
        array = array.base
    if array is not None and not isinstance(array, bytes):
        return compute()
    entry = _DERIVED.get(id(weights))
    if entry is None or entry[0]() is not weights:
        entry = _DERIVED[id(weights)] = (weakref.ref(weights), {})
        weakref.finalize(weights, _DERIVED.pop, id(weights), None)
    if key not in entry[1]:
        entry[1][key] = compute()
    return entry[1][key]
