"""Bit-accurate fixed-point semantics: what every quantized dataflow node computes.

This docstring is THE number-semantics contract. The CPU reference implements it here; the HLS
kernels implement the same with `ap_fixed`, and C simulation must match the CPU reference bit for
bit. Change one only together with the other.

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

Nodes (`T_out` = the node's output stream element type; a node whose output is f32 runs in float)
    source      T_out(x): the float32 input cast to the source's FixedType.
    sink        the fixed input converted to float32, exactly (widths <= 24 bits).
    weights     `value` holds real numbers exactly on the grid of `format` (the quantize pass
                puts them there offline; this file checks it). `format` is one FixedType, or an
                array of FixedTypes, one per output channel (dim 0), for per-channel scales.
    conv/linear products are exact; acc = exact sum of all products + bias (the bias is on a grid
                no finer than the accumulator's, so it aligns exactly); then acc' = T_acc(acc)
                with T_acc = `acc_format` (skipped if absent); y = T_out(acc'). The quantize pass
                chooses T_acc with F_acc = F_in + max F_w and enough integer bits for the
                worst-case |acc| over all inputs of T_in, so T_acc(acc) is exact; when the user
                narrows it (acc-bits), T_acc keeps F_acc and overflows with `wrap`, which gives the
                same result whatever the order of the additions (a step-by-step accumulator
                wrapping at each addition ends at the same code).
                CPU: float64 (BLAS) on the real values; exact because every partial sum is a
                multiple of 2^-F_acc below 2^53 units (checked: `check_exact`).
    matmul      as conv/linear without bias: exact sum, optional acc_format, then T_out.
    pool max    exact max (padding -inf never wins), then T_out.
    pool sum    exact sum (padding 0), then T_out.
    reduce      max / sum exact, then T_out. mean = T_out(sum * R) with the constant reciprocal
                R = rnd(2^G / n) / 2^G, G = 16 + ceil(log2 n) (`mean_reciprocal(n)`; exact 1/n when
                n is a power of two); sum * R is exact in float64.
    map         the body is the real function (float scalar ops); its value is evaluated in
                float64 on the exact input values (f32 constants of the body taken at their exact
                float32 value; truncf/extf are no-ops), then y = T_out(value).
                * one stream input, no params, input width <= 16: this is exactly a lookup table
                  over every input code: `map_table(op)` returns it for the HLS emitter (same
                  numbers, same numpy functions, so transcendental bodies match bit for bit).
                * otherwise, bodies of add/sub/mul/neg/abs/max/min/cmp/select/constants and
                  division by a power of two are exact in float64 (operands <= 24 bits) and
                  HLS implements them with wide-enough ap_fixed intermediates;
                * any other body (exp, tanh, erf, division by a variable, ...) with several
                  inputs or params is evaluated in float64 too; an HLS implementation that
                  approximates it may differ in the last bit (`map_kind(op) == "float"`).
    fork, reshape, transpose, slice, pad, concat, resize, ... (data movement): exact, then
                T_out (the identity when the output type is the input type, as quantize sets).
    any other node with a FixedType output: its float implementation, then T_out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ArrayAttr
from xdsl.interpreter import _IMPL_DICT_KEY, Interpreter, OpImplResult, impl, register_impls
from xdsl.ir import Block, SSAValue

from dfcc.backends.cpu import kernels
from dfcc.backends.cpu.float_semantics import DataflowFunctions
from dfcc.backends.cpu.scalar_body import _eval_op
from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError

FixedType = df.FixedType

# ---- the number format -------------------------------------------------------------------------


def code_range(fmt: FixedType) -> tuple[int, int]:
    """Smallest and largest integer code of `fmt`."""
    width = fmt.width.data
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if fmt.is_signed else (0, (1 << width) - 1)


def value_range(fmt: FixedType) -> tuple[float, float]:
    lo, hi = code_range(fmt)
    return math.ldexp(lo, -fmt.frac_bits), math.ldexp(hi, -fmt.frac_bits)


def to_codes(x: np.ndarray, fmt: FixedType) -> np.ndarray:
    """The integer codes (as float64) of cast(x, fmt): rounding, then overflow (see module doc)."""
    scaled = np.ldexp(np.asarray(x, dtype=np.float64), fmt.frac_bits)  # exact: a power-of-two scaling
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=2.0 ** 60, neginf=-(2.0 ** 60))  # +-inf saturate/wrap as huge
    floor = np.floor(scaled)
    rest = scaled - floor  # exact (Sterbenz); in [0, 1)
    mode = fmt.rounding.data
    if mode == "trn":
        code = floor
    elif mode == "rnd":
        code = floor + (rest >= 0.5)
    else:  # rnd_conv
        code = floor + ((rest > 0.5) | ((rest == 0.5) & (np.fmod(floor, 2) != 0)))
    lo, hi = code_range(fmt)
    if fmt.overflow.data == "sat":
        return np.clip(code, lo, hi)
    span = float(1 << fmt.width.data)
    code = np.fmod(code, span)  # fmod is exact for floats
    code = np.where(code < lo, code + span, code)
    return np.where(code > hi, code - span, code)


def cast(x: np.ndarray, fmt: FixedType) -> np.ndarray:
    """cast(x, fmt) as float64 real values (exact: codes times a power of two)."""
    return np.ldexp(to_codes(x, fmt), -fmt.frac_bits)


def on_grid(x: np.ndarray, fmt: FixedType) -> bool:
    """Whether every value of x is exactly representable in fmt."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = value_range(fmt)
    scaled = np.ldexp(x, fmt.frac_bits)
    return bool(np.all(scaled == np.floor(scaled)) and np.all(x >= lo) and np.all(x <= hi))


def formats_of(attr, channels: int | None = None) -> list[FixedType] | FixedType | None:
    """A weights `format`: one FixedType, or (per channel) a list of them."""
    if attr is None or isinstance(attr, FixedType):
        return attr
    if isinstance(attr, ArrayAttr) and all(isinstance(a, FixedType) for a in attr.data):
        return list(attr.data)
    raise DfccError(f"weights format must be a !dataflow.fixed type or an array of them, got {attr}")


def cast_weights(values: np.ndarray, fmt) -> np.ndarray:
    """Cast weights to one format, or per output channel (dim 0) to a list of formats."""
    if isinstance(fmt, list):
        if len(fmt) != values.shape[0]:
            raise DfccError(f"{len(fmt)} per-channel formats for {values.shape[0]} channels")
        return np.stack([cast(values[c], f) for c, f in enumerate(fmt)])
    return cast(values, fmt)


def fixed_of(value: SSAValue) -> FixedType | None:
    t = value.type
    return t.element_type if isinstance(t, df.StreamType) and isinstance(t.element_type, FixedType) else None


def uses_fixed_point(func_op) -> bool:
    """Whether any stream in the function carries fixed-point numbers."""
    return any(fixed_of(r) is not None for op in func_op.walk() for r in op.results)


def mean_reciprocal(count: int) -> float:
    """R for reduce mean: rnd(2^G / n) / 2^G with G = 16 + ceil(log2 n) (see module doc)."""
    g = 16 + math.ceil(math.log2(count))
    return math.ldexp(math.floor(math.ldexp(1.0, g) / count + 0.5), -g)


def magnitude_bound(fmt: FixedType | None, values: np.ndarray | None = None) -> float:
    """Largest |x| of fmt (or of the observed values when there is no format)."""
    if fmt is not None:
        lo, hi = value_range(fmt)
        return max(-lo, hi)
    return float(np.max(np.abs(values))) if values is not None and values.size else 0.0


def accumulator_bound(x_fmt: FixedType, weights: np.ndarray, bias: np.ndarray | None) -> tuple[float, float]:
    """Worst-case (lowest, highest) accumulator over every input of x_fmt: per output channel
    sum_j min/max(w_j * x) + b, then the extreme over channels. Weights are F x (fan-in...)."""
    lo_x, hi_x = value_range(x_fmt)
    w = weights.reshape(weights.shape[0], -1).astype(np.float64)
    lo = np.minimum(w * lo_x, w * hi_x).sum(axis=1)
    hi = np.maximum(w * lo_x, w * hi_x).sum(axis=1)
    if bias is not None:
        lo, hi = lo + bias, hi + bias
    return float(lo.min()), float(hi.max())


def frac_bits_of(fmt) -> int:
    return max(f.frac_bits for f in fmt) if isinstance(fmt, list) else fmt.frac_bits


def check_exact(op, x_fmt: FixedType | None, weights: np.ndarray, w_fmt, bias: np.ndarray | None) -> None:
    """Raise unless float64 computes this conv/linear's accumulator exactly (see module doc)."""
    if x_fmt is None or w_fmt is None:
        return
    frac = x_fmt.frac_bits + frac_bits_of(w_fmt)
    lo, hi = accumulator_bound(x_fmt, weights, bias)
    if math.ldexp(max(-lo, hi), frac) >= 2.0 ** 53:
        raise DfccError(f"{op.name} '{op.node_name.data}': the accumulator needs more than 53 bits "
                        "(too wide for the exact float64 reference); use fewer bits")


# ---- map bodies ----------------------------------------------------------------------------------

_EXACT_SCALAR_OPS = frozenset({
    "arith.addf", "arith.subf", "arith.mulf", "arith.negf", "math.absf", "arith.maximumf", "arith.minimumf",
    "arith.maxnumf", "arith.minnumf", "arith.cmpf", "arith.select", "arith.constant", "arith.truncf",
    "arith.extf", "cf.assert",
})


def evaluate_body_f64(block: Block, args: list[np.ndarray]) -> np.ndarray:
    """The body's value in float64 (truncf/extf are no-ops; f32 constants at their exact value)."""
    env: dict[SSAValue, Any] = {a: np.asarray(v, dtype=np.float64) for a, v in zip(block.args, args)}
    with np.errstate(all="ignore"):
        for op in block.ops:
            operands = [env[v] for v in op.operands]
            if op is block.last_op:
                return np.asarray(operands[0], dtype=np.float64)
            if op.name in ("arith.truncf", "arith.extf"):
                result = operands[0]
            else:
                result = _eval_op(op, operands)
                if isinstance(result, np.ndarray) and result.dtype == np.float32:
                    result = result.astype(np.float64)
            if op.results:
                env[op.results[0]] = result
    raise DfccError("element-wise body has no terminator")


def _is_power_of_two_constant(value: SSAValue) -> bool:
    owner = value.owner
    if getattr(owner, "name", None) != "arith.constant":
        return False
    from dfcc.backends.cpu.scalar_body import constant_value

    c = float(constant_value(owner))
    return c != 0 and math.frexp(abs(c))[0] == 0.5


def map_kind(op: kinds.MapOp) -> str:
    """How HLS realises this quantized map (all three compute the same numbers as this file):
    "table" (one input of <= 16 bits, no params: `map_table`), "exact" (piecewise-linear body
    computed exactly), or "float" (any other body; last-bit differences possible in HLS)."""
    x_fmt = fixed_of(op.inputs[0]) if len(op.inputs) == 1 else None
    if x_fmt is not None and not op.params and x_fmt.width.data <= 16:
        return "table"
    for body_op in op.body.block.ops:
        if body_op is op.body.block.last_op or body_op.name in _EXACT_SCALAR_OPS:
            continue
        if body_op.name == "arith.divf" and _is_power_of_two_constant(body_op.operands[1]):
            continue
        return "float"
    return "exact"


def input_codes(fmt: FixedType) -> np.ndarray:
    """Every code of fmt, indexed by its W-bit pattern read as unsigned (two's complement)."""
    width = fmt.width.data
    patterns = np.arange(1 << width, dtype=np.int64)
    if fmt.is_signed:
        patterns = np.where(patterns >= 1 << (width - 1), patterns - (1 << width), patterns)
    return patterns.astype(np.float64)


def map_table(op: kinds.MapOp) -> np.ndarray:
    """The lookup table of a one-input map: entry i = the output value (float64, on the output's
    grid) for the input whose W-bit pattern, read as an unsigned number, is i."""
    x_fmt, y_fmt = fixed_of(op.inputs[0]) if len(op.inputs) == 1 else None, fixed_of(op.output)
    if x_fmt is None or y_fmt is None or op.params or x_fmt.width.data > 16:
        raise DfccError(f"map '{op.node_name.data}' is not a table map (needs one fixed input of <= 16 bits, "
                        "no params and a fixed output)")
    values = np.ldexp(input_codes(x_fmt), -x_fmt.frac_bits)
    return cast(np.broadcast_to(evaluate_body_f64(op.body.block, [values]), values.shape), y_fmt)


# ---- the node implementations ------------------------------------------------------------------

_FLOAT = DataflowFunctions()


def _out(op, value: np.ndarray, result: SSAValue | None = None) -> np.ndarray:
    fmt = fixed_of(result if result is not None else op.results[0])
    if fmt is None:
        return np.asarray(value, dtype=np.float32)
    return cast(value, fmt)


def check_weights_on_grid(module) -> None:
    """Refuse weights whose values are off the grid of their `format`, as the reference does, for
    consumers (the C simulation) that would otherwise round them silently."""
    for op in module.walk():
        if isinstance(op, kinds.WeightsOp) and op.format is not None:
            _check_weights(op, elements_array(op.value).astype(np.float64), formats_of(op.format))
        elif isinstance(op, kinds.SparseWeightsOp) and op.format is not None:
            _check_weights(op, op.decode().astype(np.float64), formats_of(op.format))


def _check_weights(op: kinds.WeightsOp | kinds.SparseWeightsOp, value: np.ndarray, fmt) -> None:
    if fmt is not None and not np.array_equal(cast_weights(value, fmt), value):
        raise DfccError(f"weights '{op.node_name.data}' hold values that are not on the grid of their format")


def _acc_then_out(op, acc: np.ndarray) -> np.ndarray:
    acc_fmt = op.properties.get("acc_format")
    if isinstance(acc_fmt, FixedType):
        acc = cast(acc, acc_fmt)
    return _out(op, acc)


def _weights_format(value: SSAValue):
    owner = value.owner
    if isinstance(owner, (kinds.WeightsOp, kinds.SparseWeightsOp)):
        return formats_of(owner.format)
    return None


@register_impls
class FixedPointFunctions(DataflowFunctions):
    """DataflowFunctions with the contract above for nodes whose output is a FixedType stream."""

    @impl(kinds.SourceOp)
    def run_source(self, interpreter: Interpreter, op: kinds.SourceOp, args: tuple[Any, ...]):
        x = np.ascontiguousarray(np.transpose(np.asarray(args[0], dtype=np.float32), op.ints_prop("perm")))
        return (_out(op, x.astype(np.float64)),)

    @impl(kinds.SinkOp)
    def run_sink(self, interpreter: Interpreter, op: kinds.SinkOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(np.transpose(args[0], np.argsort(op.ints_prop("perm"))), dtype=np.float32),)

    @impl(kinds.WeightsOp)
    def run_weights(self, interpreter: Interpreter, op: kinds.WeightsOp, args: tuple[Any, ...]):
        value = elements_array(op.value)
        fmt = formats_of(op.format)
        if fmt is None:
            return (value,)
        value = value.astype(np.float64)
        _check_weights(op, value, fmt)
        return (value,)

    @impl(kinds.SparseWeightsOp)
    def run_sparse_weights(self, interpreter: Interpreter, op: kinds.SparseWeightsOp, args: tuple[Any, ...]):
        value = op.decode().astype(np.float64)
        _check_weights(op, value, formats_of(op.format))
        return (value,)

    @impl(kinds.ConvOp)
    def run_conv(self, interpreter: Interpreter, op: kinds.ConvOp, args: tuple[Any, ...]):
        if fixed_of(op.output) is None:
            return super().run_conv(interpreter, op, args).values
        x, weights, *bias = (np.asarray(a, dtype=np.float64) for a in args)
        check_exact(op, fixed_of(op.input), weights, _weights_format(op.weights), bias[0] if bias else None)
        acc = kernels.conv2d(x, weights, bias[0] if bias else None, op.ints_prop("stride"), op.ints_prop("dilation"),
                             op.ints_prop("pad"), op.groups.value.data)
        return (_acc_then_out(op, acc),)

    @impl(kinds.SparseConvOp)
    def run_sparse_conv(self, interpreter: Interpreter, op: kinds.SparseConvOp, args: tuple[Any, ...]):
        return self.run_conv(interpreter, op, args).values

    @impl(kinds.LinearOp)
    def run_linear(self, interpreter: Interpreter, op: kinds.LinearOp, args: tuple[Any, ...]):
        if fixed_of(op.output) is None:
            return super().run_linear(interpreter, op, args).values
        x, weights, *bias = (np.asarray(a, dtype=np.float64) for a in args)
        check_exact(op, fixed_of(op.input), weights, _weights_format(op.weights), bias[0] if bias else None)
        return (_acc_then_out(op, kernels.linear(x, weights, bias[0] if bias else None)),)

    @impl(kinds.PoolOp)
    def run_pool(self, interpreter: Interpreter, op: kinds.PoolOp, args: tuple[Any, ...]):
        if fixed_of(op.output) is None:
            return super().run_pool(interpreter, op, args).values
        x = np.asarray(args[0], dtype=np.float64)
        return (_out(op, kernels.pool2d(x, op.kind.data, op.ints_prop("kernel"), op.ints_prop("stride"),
                                        op.ints_prop("dilation"), op.ints_prop("pad"))),)

    @impl(kinds.ReduceOp)
    def run_reduce(self, interpreter: Interpreter, op: kinds.ReduceOp, args: tuple[Any, ...]):
        if fixed_of(op.output) is None:
            return super().run_reduce(interpreter, op, args).values
        x, dims = np.asarray(args[0], dtype=np.float64), tuple(op.ints_prop("dims"))
        if op.kind.data == "mean":
            count = int(np.prod([x.shape[d] for d in dims]))
            return (_out(op, x.sum(axis=dims, keepdims=True) * mean_reciprocal(count)),)
        return (_out(op, kernels.reduce(x, op.kind.data, dims)),)

    @impl(kinds.MapOp)
    def run_map(self, interpreter: Interpreter, op: kinds.MapOp, args: tuple[Any, ...]):
        if fixed_of(op.output) is None:
            return super().run_map(interpreter, op, args).values
        value = evaluate_body_f64(op.body.block, list(args))
        return (_out(op, np.broadcast_to(value, op.output.type.get_shape())),)

    @impl(kinds.MatmulOp)
    def run_matmul(self, interpreter: Interpreter, op: kinds.MatmulOp, args: tuple[Any, ...]):
        """matmul of two streams: exact float64 product, then acc_format and T_out (module doc)."""
        if fixed_of(op.output) is None:
            return super().run_matmul(interpreter, op, args).values
        a, b = (np.asarray(v, dtype=np.float64) for v in args)
        return (_acc_then_out(op, np.matmul(a, b)),)

    @impl(kinds.ForkOp)
    def run_fork(self, interpreter: Interpreter, op: kinds.ForkOp, args: tuple[Any, ...]):
        return tuple(_out(op, args[0], r) if fixed_of(r) else args[0] for r in op.outputs)


def _cast_after(float_impl):
    """Wrap a float implementation: run it on the exact values, then cast to the output types."""

    def run(self, interpreter: Interpreter, op, args: tuple[Any, ...]) -> OpImplResult:
        results = float_impl(self, interpreter, op, args).values
        return OpImplResult(tuple(cast(np.asarray(v, dtype=np.float64), fixed_of(r)) if fixed_of(r) is not None else v
                                  for v, r in zip(results, op.results)), None)

    return run


def _complete_registry() -> None:
    """Every node implementation FixedPointFunctions does not define itself (reshape, transpose,
    concat, ... and nodes added later) becomes 'float implementation, then cast to T_out'."""
    table = getattr(FixedPointFunctions, _IMPL_DICT_KEY)  # the registry @register_impls fills
    own = {id(v) for v in FixedPointFunctions.__dict__.values()}
    for op_type, function in list(table.items()):
        if id(function) not in own and issubclass(op_type, df.NodeOp):
            table[op_type] = _cast_after(function)


_complete_registry()
