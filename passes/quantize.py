"""`quantize`: float dataflow nodes become fixed-point ones, calibrated, with the error measured.

    quantize{weight-bits=8 act-bits=8}
    quantize{weight-bits=4 act-bits=8 per-channel=true calibration=data/cal.npz percentile=99.99
             override=conv0:w8a12,linear*:acc24 rounding=rnd overflow=sat}

Everything the pass decides is written into the IR (numbers follow `dialects/fixed_point.py` and the kinds' `run_fixed`):
- every stream's element type becomes `!dataflow.fixed<W, I, ...>`: W = act-bits, I from the
  calibrated range of that stream (min/max, or the `percentile` of the values), `unsigned` when the
  stream never went negative on the calibration data; rounding/overflow from the options;
  data-movement nodes (fork, reshape, transpose, slice, pad, nearest resize) and max pooling keep
  their input's format;
- conv/linear weights are quantized offline (round to nearest, saturate) to W = weight-bits with
  I from max |w| (per tensor, or per output channel with `per-channel=true`: then `format` is an
  array of FixedTypes); the WeightsOp gets `format`; pruned weights (`dataflow.sparse_weights`) are
  quantized the same way, their stored values only (a kept weight may round to zero; the mask or
  indices stay), so pruning before or after quantizing both work; the bias is quantized to the accumulator's
  fraction (at most 24 bits wide); `acc_format` has F_in + F_w fractional bits and enough integer
  bits for the worst case over all inputs, so it never overflows (with `acc-bits=N` it has N bits
  and wraps; a remark says when that can overflow); sum pools, sum/mean reductions and matmuls
  get the `acc_format` of their exact sum (kinds/accumulators.py);
- map parameters (per-channel constants) are quantized to `param-bits`; embedding tables to
  `weight-bits` like weights (the node's output then gets its own calibrated format); integer
  streams (token ids) stay integers;
- each node gets a discardable `sqnr` attribute: the signal-to-quantization-noise ratio in dB of its
  output against the float graph on the calibration data (`output`: the whole quantized graph so
  far; `format`: only rounding/clipping the float output to its format; `weights`: its weights).
  `dfcc ... -t quant-report` prints them as a table (or JSON).

Calibration data: `calibration=FILE.npz` with arrays arg0, arg1, ... each either one input of the
model's input shape or a stack of them (leading sample dim). Without it the pass calibrates on
`samples` random inputs (seeded, standard-normal; token ids uniform over the embedding table; more, up to 32, when the inputs are so small that
fewer would see under ~2000 values) and says so on stderr.

Per-node overrides: `override=PATTERN:SPEC,...` where PATTERN matches node names (fnmatch:
`conv*`) and SPEC is any of `wN` (weight bits), `aN` (output bits), `accN` (accumulator bits),
e.g. `conv0:w8a12`, `linear0:acc20`.
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, FloatAttr, IntegerType, ModuleOp, f64
from xdsl.interpreter import Interpreter
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dfcc.analyses.reference import Reference
from dfcc.analyses.small_pages import small_pages
from dfcc.dialects import fixed_point as fx
from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.dialects.resources import elements_array, make_resource
from dfcc.errors import DfccError, remark
from dfcc.kinds.accumulators import product_sum_format, sum_format
from dfcc.kinds.cost import SQNR_ATTR
from dfcc.passes.calibration import calibration_inputs

MIN_BITS, MAX_BITS = 2, 24  # <= 24: float32 holds every value exactly (weights blobs, sink outputs)
MAX_ACC_BITS = 53  # the float64 reference is exact up to 53 bits
SENTINEL = 1e30  # |x| at least this (or inf/nan) is a mask value, not data: never sizes a format
MASK_MARGIN = 24  # ... and so are values this far below all the others (Swin's -100; _finite_mask_cut)
SQNR_CAP = 300.0  # dB written for an exact (noise-free) stream
_PASS_THROUGH = {"dataflow.fork", "dataflow.reshape", "dataflow.transpose", "dataflow.slice", "dataflow.pad"}
_SPEC = re.compile(r"(?:w(?P<w>\d+))?(?:a(?P<a>\d+))?(?:acc(?P<acc>\d+))?")


WEIGHTED = (kinds.ConvOp, kinds.LinearOp, kinds.SparseConvOp, kinds.SparseLinearOp)  # nodes with quantized weights


def dense_weights(w_op: kinds.WeightsOp | kinds.SparseWeightsOp) -> np.ndarray:
    """The weights a node reads, as a dense float64 tensor (decoded when pruned)."""
    value = w_op.decode() if isinstance(w_op, kinds.SparseWeightsOp) else elements_array(w_op.value)
    return value.astype(np.float64)


def int_bits_for(lo: float, hi: float, signed: bool) -> int:
    """Fewest integer bits whose range holds [lo, hi] (the top value may lose one LSB to saturation)."""
    magnitude = max(hi, -lo) if signed else hi
    if not magnitude > 0 or not math.isfinite(magnitude):
        return 1
    return math.ceil(math.log2(magnitude)) + (1 if signed else 0)


def fixed_for(lo: float, hi: float, width: int, signed: bool, rounding: str, overflow: str) -> df.FixedType:
    """The format of `width` bits holding [lo, hi]; values too small for the finest format round to zero."""
    return df.FixedType(width, max(int_bits_for(lo, hi, signed), -df.MAX_INT_BITS), signed, rounding, overflow)


@dataclass
class _Stats:
    """Running statistics of one stream over the calibration runs."""

    lo: float = math.inf
    hi: float = -math.inf
    samples: list[np.ndarray] = field(default_factory=list)
    masked_lo: bool = False  # saw -inf / -FLT_MAX mask values, or finite ones below `mask_below`
    masked_hi: bool = False
    mask_below: float = -math.inf
    all_data: bool = True  # no value was a mask (|x| >= SENTINEL, inf, nan): the SQNR needs no mask

    def add(self, x: np.ndarray, keep: bool, finite_masks: bool) -> None:
        if x.size == 0:
            return
        lo, hi = float(x.min()), float(x.max())
        if not -SENTINEL < lo <= hi < SENTINEL:  # nan fails it too
            self.all_data = False
            data = np.abs(x) < SENTINEL  # -inf / -FLT_MAX masks saturate; they do not size the format
            self.masked_lo |= bool(np.any(x[~data] < 0))
            self.masked_hi |= bool(np.any(x[~data] > 0))
            x = x[data]
            if x.size == 0:
                return
            lo, hi = float(x.min()), float(x.max())
        if finite_masks and (cut := _finite_mask_cut(x)) is not None:
            self.masked_lo = True
            self.mask_below = cut if self.mask_below == -math.inf else min(self.mask_below, cut)
            x = x[x >= cut]
            lo = float(x.min())
        self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)
        if keep:
            flat = x.ravel()
            if flat.size > 100_000:
                flat = flat[:: flat.size // 100_000 + 1]
            self.samples.append(flat.astype(np.float32))

    def range(self, percentile: float) -> tuple[float, float]:
        if percentile >= 100 or not self.samples:
            return self.lo, self.hi
        values = np.concatenate(self.samples)
        return min(float(np.percentile(values, 100 - percentile)), 0.0), max(float(np.percentile(values, percentile)), 0.0)


def _adds_a_mask(op: Operation) -> bool:
    """A map with a constant parameter holding values MASK_MARGIN below zero (scores + mask): only there
    can a finite mask appear (elsewhere far values are data, as a conv channel of a near-constant input)."""
    return isinstance(op, kinds.MapOp) and any(
        isinstance(p.owner, kinds.WeightsOp) and float(elements_array(p.owner.value).min()) <= -MASK_MARGIN
        for p in op.params)


def _finite_mask_cut(x: np.ndarray) -> float | None:
    """The lowest data value when finite mask values (attention masks of -100 or -1e4 added to scores)
    lie below all of the data, across an empty gap below zero wider than MASK_MARGIN and than the data's
    own span, and make up at least 1 % of the values; else None (outliers of real data stay data)."""
    lo, hi = float(x.min()), float(x.max())
    if not hi - lo > MASK_MARGIN:
        return None
    flat = x.ravel()
    sample = np.sort(flat[:: flat.size // 100_000 + 1])  # finds the gap; the checks below use every value
    gaps = np.nonzero((np.diff(sample) > MASK_MARGIN) & (sample[1:] <= 0))[0]
    if not gaps.size:
        return None
    below = flat < (sample[gaps[-1]] + sample[gaps[-1] + 1]) / 2
    cut, top = float(flat[~below].min()), float(flat[below].max())
    return cut if cut - top > max(MASK_MARGIN, hi - cut) and below.mean() >= 0.01 else None


class _Recorder(Interpreter.Listener):
    """Calibration observer: statistics of every node's stream results."""

    def __init__(self, keep_values: bool):
        self.stats: dict[tuple[str, int], _Stats] = {}
        self.keep = keep_values

    def did_interpret_op(self, op: Operation, results) -> None:
        if not isinstance(op, df.NodeOp):
            return
        for index, (result, value) in enumerate(zip(op.results, results)):
            if isinstance(result.type, df.StreamType):
                self.stats.setdefault((op.node_name.data, index), _Stats()).add(np.asarray(value), self.keep,
                                                                                _adds_a_mask(op))


class _Collector(Interpreter.Listener):
    """Keeps every node's stream results of one run as the kinds return them (for the SQNR measurement)."""

    def __init__(self):
        self.values: dict[tuple[str, int], np.ndarray] = {}

    def did_interpret_op(self, op: Operation, results) -> None:
        if isinstance(op, df.NodeOp):
            for index, (result, value) in enumerate(zip(op.results, results)):
                if isinstance(result.type, df.StreamType):
                    self.values[(op.node_name.data, index)] = np.asarray(value)


class _Noise(Interpreter.Listener):
    """Adds up, as the quantized graph runs one calibration input, each measured node's signal power,
    noise power, format noise power and value count (`power`) against the float run of that input:
    node by node, so no quantized stream is kept after its consumers ran."""

    def __init__(self, floats: _Collector, power: dict[str, list[float]], masks: dict[str, float | None]):
        self.floats, self.power, self.masks = floats, power, masks

    def did_interpret_op(self, op: Operation, results) -> None:
        if not isinstance(op, df.NodeOp) or (node := op.node_name.data) not in self.power:
            return
        exact = self.floats.values[(node, 0)].astype(np.float64)  # a copy, squared in place last
        approx = np.asarray(results[0], dtype=np.float64)
        if (below := self.masks.get(node, -math.inf)) is not None:
            data = np.abs(exact) < SENTINEL  # masks are not signal
            if below > -math.inf:
                data &= exact >= below
            if not data.all():
                exact, approx = exact[data], approx[data]
        acc = self.power[node]
        acc[1] += _sum_of_squares(exact - approx)
        fmt = fx.fixed_of(op.results[0])
        if fmt is not None:
            rounded = fx.cast(exact, fmt)
            acc[2] += _sum_of_squares(np.subtract(exact, rounded, out=rounded))
        acc[3] += exact.size
        acc[0] += _sum_of_squares(exact)


def _sum_of_squares(x: np.ndarray) -> float:
    """sum(x ** 2) of a temporary, squared in place (the same numbers, one array fewer)."""
    return float(np.sum(np.square(x, out=x)))


def sqnr_db(signal_power: float, noise_power: float) -> float:
    if noise_power <= 0:
        return SQNR_CAP
    if signal_power <= 0:
        return -SQNR_CAP
    return round(min(10 * math.log10(signal_power / noise_power), SQNR_CAP), 2)


@dataclass(frozen=True)
class Quantize(ModulePass):
    """Fixed-point quantization, calibrated, with per-node error measurement (module doc)."""

    name = "quantize"

    weight_bits: int = 8
    act_bits: int = 8
    acc_bits: int | None = None
    param_bits: int = 16
    per_channel: bool = False
    rounding: str = "rnd"
    overflow: str = "sat"
    unsigned: bool = True
    calibration: str | None = None
    percentile: int | float = 100
    samples: int = 4
    seed: int = 0
    override: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for option, bits in (("weight-bits", self.weight_bits), ("act-bits", self.act_bits), ("param-bits", self.param_bits)):
            _check_bits(option, bits, MIN_BITS, MAX_BITS)
        if self.acc_bits is not None:
            _check_bits("acc-bits", self.acc_bits, MIN_BITS, MAX_ACC_BITS)
        if self.rounding not in df.ROUNDING_MODES:
            raise DfccError(f"quantize: rounding={self.rounding} is not one of {', '.join(df.ROUNDING_MODES)}")
        if self.overflow not in df.OVERFLOW_MODES:
            raise DfccError(f"quantize: overflow={self.overflow} is not one of {', '.join(df.OVERFLOW_MODES)}")
        if not 50 < self.percentile <= 100:
            raise DfccError(f"quantize: percentile={self.percentile} must be in (50, 100] (100 = min/max)")
        if self.samples < 1:
            raise DfccError(f"quantize: samples={self.samples} must be at least 1")
        if self.seed < 0:
            raise DfccError(f"quantize: seed={self.seed} must be a non-negative integer")
        if self.calibration is not None and not os.path.isfile(str(self.calibration)):
            raise DfccError(f"quantize: calibration file '{self.calibration}' does not exist "
                            "(an .npz with arrays arg0, arg1, ...)")
        self._parsed_overrides()

    # ---- options -------------------------------------------------------------------------------
    def _parsed_overrides(self) -> list[tuple[str, dict[str, int]]]:
        parsed = []
        for item in self.override:
            pattern, sep, spec = str(item).rpartition(":")
            match = _SPEC.fullmatch(spec)
            if not sep or not pattern or not spec or match is None:
                raise DfccError(f"quantize: override '{item}' must be NODE:SPEC with SPEC like w4, a8, acc20 or "
                                "w4a8acc20 (NODE may use * and ?)")
            values = {k: int(v) for k, v in match.groupdict().items() if v is not None}
            for key, bits in values.items():
                limit = MAX_ACC_BITS if key == "acc" else MAX_BITS
                _check_bits(f"override {item}: {key}", bits, MIN_BITS, limit)
            parsed.append((pattern, values))
        return parsed

    def _bits(self, node: str, key: str) -> int | None:
        value = {"w": self.weight_bits, "a": self.act_bits, "acc": self.acc_bits}[key]
        for pattern, values in self._parsed_overrides():
            if key in values and fnmatch.fnmatchcase(node, pattern):
                value = values[key]
        return value

    # ---- the pass -------------------------------------------------------------------------------
    def apply(self, ctx: Context, op: ModuleOp) -> None:
        functions = [f for f in op.walk() if isinstance(f, func.FuncOp) and any(isinstance(o, kinds.SourceOp) for o in f.walk())]
        if not functions:
            raise DfccError("quantize works on dataflow graphs; run lower-to-dataflow first", "quantize")
        names = {o.node_name.data for f in functions for o in f.walk() if isinstance(o, df.NodeOp)}
        for pattern, _ in self._parsed_overrides():
            if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                raise DfccError(f"override pattern '{pattern}' matches no node (nodes: {', '.join(sorted(names))})", "quantize")
        with small_pages():  # the weights' casts and the calibration runs (analyses/small_pages.py)
            for function in functions:
                self._quantize_function(op, function)

    def _quantize_function(self, module: ModuleOp, function: func.FuncOp) -> None:
        name = function.sym_name.data
        if fx.uses_fixed_point(function):
            raise DfccError(f"@{name} is already quantized (its streams carry fixed-point types)", "quantize")
        inputs = calibration_inputs(function, self.calibration, self.samples, self.seed, self.name)
        recorder = _Recorder(keep_values=self.percentile < 100)
        floats = [_Collector() for _ in inputs]  # the float streams, kept for the SQNR measurement
        reference = Reference(module, name)
        for sample, collector in zip(inputs, floats):
            reference.run(sample, observers=(recorder, collector))
        weights_sqnr = self._assign_formats(function, recorder.stats)
        module.verify()
        self._measure(module, function, name, inputs, floats, weights_sqnr, _sqnr_masks(function, recorder.stats))

    def _act_format(self, node: str, stats: _Stats) -> df.FixedType:
        lo, hi = stats.range(float(self.percentile))
        signed = not (self.unsigned and stats.lo >= 0 and not stats.masked_lo)
        bits = self._bits(node, "a")
        if int_bits_for(lo, hi, signed) < -df.MAX_INT_BITS:
            remark(f"'{node}' stays within +-{max(hi, -lo):.3g} on the calibration data, below what the finest "
                   f"format resolves (fixed<{bits}, -{df.MAX_INT_BITS}>, step 2^-{bits + df.MAX_INT_BITS}): it is "
                   "quantized as zero", "quantize")
        fmt = fixed_for(lo, hi, bits, signed, self.rounding, self.overflow)
        if stats.masked_lo or stats.masked_hi:
            # a mask value must stay MASK_MARGIN beyond the data (exp(-24) ~ 4e-11 after a softmax's
            # max subtraction): extra integer bits, same fractional bits, a wider stream
            wide = int_bits_for(lo - MASK_MARGIN * stats.masked_lo, hi + MASK_MARGIN * stats.masked_hi, signed)
            extra = max(0, wide - fmt.int_bits.data)
            remark(f"'{node}' carries mask values (inf, |x| >= 1e30, or more than {MASK_MARGIN} below all the data): "
                   f"{extra} extra integer bit(s) so they "
                   f"saturate {MASK_MARGIN} beyond the data", "quantize")
            fmt = df.FixedType(fmt.width.data + extra, fmt.int_bits.data + extra, signed, self.rounding, self.overflow)
        return fmt

    def _assign_formats(self, function: func.FuncOp, stats: dict[tuple[str, int], _Stats]) -> dict[str, float]:
        """Formats of every stream and constant; returns each weighted node's weights SQNR."""
        weights_sqnr = {}
        for op in list(function.body.walk()):
            if not isinstance(op, df.NodeOp) or isinstance(op, (kinds.WeightsOp, kinds.SinkOp)):
                continue
            node = op.node_name.data
            in_fmt = fx.fixed_of(op.operands[0]) if op.operands and isinstance(op.operands[0].type, df.StreamType) else None
            for index, result in enumerate(op.results):
                if not isinstance(result.type, df.StreamType) or isinstance(result.type.element_type, IntegerType):
                    continue  # integer streams (token ids) stay integers
                keep_input = in_fmt is not None and (
                    op.name in _PASS_THROUGH
                    or (isinstance(op, (kinds.PoolOp, kinds.ReduceOp)) and op.kind.data == "max")
                    or (op.name == "dataflow.resize" and getattr(op, "mode", None) is not None and op.mode.data == "nearest"))
                fmt = in_fmt if keep_input else self._act_format(node, stats[(node, index)])
                Rewriter.replace_value_with_new_type(result, result.type.with_element_type(fmt))
            if isinstance(op, WEIGHTED):
                weights_sqnr[node] = self._quantize_weights(op, in_fmt)
            elif isinstance(op, kinds.MapOp):
                for param in op.params:
                    self._quantize_param(op, param)
            elif isinstance(op, (kinds.PoolOp, kinds.ReduceOp, kinds.MatmulOp)):
                _set_sum_format(op)
            elif isinstance(op, kinds.EmbeddingOp):
                self._quantize_table(op)
        return weights_sqnr

    def _own_weights(self, op: Operation, value: SSAValue) -> kinds.WeightsOp | kinds.SparseWeightsOp:
        owner = value.owner
        if not isinstance(owner, (kinds.WeightsOp, kinds.SparseWeightsOp)):
            raise DfccError(f"{op.name} '{op.node_name.data}': weights must come from dataflow.weights", "quantize")
        if len(list(value.uses)) > 1:  # shared by several nodes: this node gets its own copy
            clone = owner.clone()
            Rewriter.insert_op(clone, InsertPoint.before(op))
            op.operands[list(op.operands).index(value)] = clone.output
            return clone
        return owner

    def _quantize_weights(self, op: Operation, in_fmt: df.FixedType | None) -> float:
        """Quantizes the weights (and bias, acc_format) of a conv/linear; returns the weights' SQNR in dB."""
        node = op.node_name.data
        w_op = self._own_weights(op, op.weights)
        weights = dense_weights(w_op)
        bits = self._bits(node, "w")
        if self.per_channel:
            w_fmt = [fixed_for(float(c.min()), float(c.max()), bits, True, "rnd", "sat") for c in weights]
            w_attr = ArrayAttr(w_fmt)
        else:
            w_fmt = fixed_for(float(weights.min()), float(weights.max()), bits, True, "rnd", "sat")
            w_attr = w_fmt
        quantized = fx.cast_weights(weights, w_fmt)
        if isinstance(w_op, kinds.SparseWeightsOp):  # the kept values only, in their stored order
            values = quantized.reshape(-1)[w_op.kept_positions()]
            w_op.properties["values"] = make_resource(f"{w_op.node_name.data}_values_q", values)
        else:
            w_op.properties["value"] = make_resource(f"{w_op.node_name.data}_q", quantized)
        w_op.properties["format"] = w_attr
        stored = dense_weights(w_op)
        sqnr = sqnr_db(float(np.sum(weights * weights)), float(np.sum((weights - stored) ** 2)))
        if in_fmt is None:
            return sqnr
        acc_frac = in_fmt.frac_bits + fx.frac_bits_of(w_fmt)
        b_op = self._own_weights(op, op.bias) if op.bias is not None else None
        float_bias = elements_array(b_op.value).astype(np.float64) if b_op is not None else None
        bias = self._quantize_bias(b_op, float_bias, acc_frac)
        lo, hi = fx.accumulator_bound(in_fmt, quantized, bias)
        needed = int_bits_for(lo, hi + math.ldexp(1.0, -acc_frac), True) + acc_frac
        exact_bits, exact_frac = needed, acc_frac
        while needed > MAX_ACC_BITS:
            # a tiny input range or tiny weights beside a large bias: the products' lowest fraction bits
            # lie far below anything the output keeps; T_acc truncates them (the kinds' mac_result, HLS alike)
            acc_frac -= needed - MAX_ACC_BITS
            bias = self._quantize_bias(b_op, float_bias, acc_frac)
            lo, hi = fx.accumulator_bound(in_fmt, quantized, bias)
            needed = int_bits_for(lo, hi + math.ldexp(1.0, -acc_frac), True) + acc_frac
        if acc_frac < exact_frac:
            remark(f"{op.name} '{node}': an exact accumulator needs {exact_bits} bits, more than the {MAX_ACC_BITS} "
                   f"the float64 reference holds exactly; it keeps {acc_frac} fraction bits (the output keeps "
                   f"{fx.fixed_of(op.output).frac_bits}) and truncates the {exact_frac - acc_frac} below", "quantize")
        acc_bits = self._bits(node, "acc")
        if acc_bits is None:
            acc_bits = needed
        elif acc_bits <= acc_frac:
            raise DfccError(f"{op.name} '{node}': acc-bits={acc_bits} cannot hold the {acc_frac} fractional bits of "
                            f"the exact products (needs more than {acc_frac}; {needed} never overflow)", "quantize")
        elif acc_bits < needed:
            remark(f"{op.name} '{node}': acc-bits={acc_bits} < {needed} bits needed in the worst case; "
                   "the accumulator may overflow and then wraps", "quantize")
        op.properties["acc_format"] = df.FixedType(acc_bits, acc_bits - acc_frac, True, "trn", "wrap")
        return sqnr

    def _quantize_bias(self, b_op: kinds.WeightsOp | None, bias: np.ndarray | None, acc_frac: int) -> np.ndarray | None:
        """The bias on the accumulator's grid (at most MAX_BITS wide), written into its weights op."""
        if b_op is None:
            return None
        b_int = int_bits_for(float(bias.min()), float(bias.max()), True)
        b_frac = min(acc_frac, MAX_BITS - b_int)
        b_fmt = df.FixedType(max(b_int + b_frac, MIN_BITS), b_int, True, "rnd", "sat")
        quantized = fx.cast(bias, b_fmt)
        b_op.properties["value"] = make_resource(f"{b_op.node_name.data}_q", quantized)
        b_op.properties["format"] = b_fmt
        return quantized

    def _quantize_table(self, op: kinds.EmbeddingOp) -> None:
        """An embedding table is quantized as weights are (per tensor, weight-bits, round to nearest, saturate)."""
        t_op = self._own_weights(op, op.table)
        table = elements_array(t_op.value).astype(np.float64)
        t_fmt = fixed_for(float(table.min()), float(table.max()), self._bits(op.node_name.data, "w"), True, "rnd", "sat")
        t_op.properties["value"] = make_resource(f"{t_op.node_name.data}_q", fx.cast(table, t_fmt))
        t_op.properties["format"] = t_fmt

    def _quantize_param(self, op: kinds.MapOp, param: SSAValue) -> None:
        p_op = self._own_weights(op, param)
        values = elements_array(p_op.value).astype(np.float64)
        if not np.all(np.abs(values) < SENTINEL):
            remark(f"map '{op.node_name.data}': parameter '{p_op.node_name.data}' holds inf or |x| >= 1e30 (a mask?); "
                   "left in float, the map is evaluated in float64 and cast", "quantize")
            return
        p_fmt = fixed_for(float(values.min()), float(values.max()), self.param_bits, True, "rnd", "sat")
        p_op.properties["value"] = make_resource(f"{p_op.node_name.data}_q", fx.cast(values, p_fmt))
        p_op.properties["format"] = p_fmt

    # ---- error measurement ------------------------------------------------------------------------
    def _measure(self, module: ModuleOp, function: func.FuncOp, name: str, inputs: list[list[np.ndarray]],
                 floats: list[_Collector], weights_sqnr: dict[str, float], masks: dict[str, float | None]) -> None:
        nodes = [o for o in function.body.walk() if isinstance(o, df.NodeOp) and not isinstance(o, (kinds.WeightsOp, kinds.SparseWeightsOp, kinds.SinkOp))]
        # signal, noise, format noise (summed squares), values
        power: dict[str, list[float]] = {o.node_name.data: [0.0, 0.0, 0.0, 0] for o in nodes}
        quantized = Reference(module, name)
        for sample, reference in zip(inputs, floats):
            quantized.run(sample, observers=(_Noise(reference, power, masks),))
        cancelled = _cancelling(nodes, power)
        worst = None
        for o in nodes:
            node = o.node_name.data
            signal, noise, format_noise, _ = power[node]
            entries = {"output": sqnr_db(signal, noise), "format": sqnr_db(signal, format_noise)}
            if node in weights_sqnr:
                entries["weights"] = weights_sqnr[node]
            o.attributes[SQNR_ATTR] = DictionaryAttr({k: FloatAttr(v, f64) for k, v in entries.items()})
            if node not in cancelled and (worst is None or entries["output"] < worst[1]):
                worst = (node, entries["output"])
        if worst is not None:
            remark(f"@{name}: lowest output SQNR {worst[1]:.1f} dB at '{worst[0]}' on {len(inputs)} calibration "
                   "input(s) (per-node table: -t quant-report)", "quantize")
        if cancelled:
            listed = sorted(cancelled, key=lambda n: power[n][0])
            remark(f"@{name}: {len(cancelled)} stream(s) are sums smaller than the noise their n terms bring (n times "
                   "a term's noise power; terms that cancel, as a LayerNorm's mean of a normalised stream): their "
                   "SQNR measures the inputs' noise, not their own format: "
                   f"{', '.join(listed[:6])}{', ...' if len(listed) > 6 else ''}", "quantize")


def _sqnr_masks(function: func.FuncOp, stats: dict[tuple[str, int], _Stats]) -> dict[str, float | None]:
    """Per node, which of its float output values the SQNR leaves out as masks: None when none were
    on the calibration data, else those below the node's finite mask threshold (-inf: none) and
    those of magnitude at least SENTINEL."""
    below = _mask_thresholds(function, stats)
    return {node: None if threshold == -math.inf and stats[(node, 0)].all_data else threshold
            for node, threshold in below.items() if (node, 0) in stats}


def _mask_thresholds(function: func.FuncOp, stats: dict[tuple[str, int], _Stats]) -> dict[str, float]:
    """Per node, the value below which its output holds finite masks, not signal: found where a mask is
    added, and kept by the data-movement nodes after it (they keep the format too)."""
    below: dict[str, float] = {}
    for op in function.body.walk():
        if not isinstance(op, df.NodeOp):
            continue
        node = op.node_name.data
        source = op.operands[0].owner if op.operands else None
        if op.name in _PASS_THROUGH and isinstance(source, df.NodeOp):
            below[node] = below.get(source.node_name.data, -math.inf)
        elif (node, 0) in stats:
            below[node] = stats[(node, 0)].mask_below
    return below


def _cancelling(nodes: list[Operation], power: dict[str, list[float]]) -> set[str]:
    """Nodes whose float output is smaller than the noise their quantized inputs bring.

    A weightless sum of n terms adds their errors (n times a term's noise power when independent),
    while terms that cancel leave a small sum; below that noise the sum is not resolved by its inputs
    whatever its own format, and a node computed only from such streams is not either."""
    found: set[str] = set()
    for op in nodes:
        node = op.node_name.data
        if isinstance(op, (kinds.PoolOp, kinds.ReduceOp)) and op.properties.get("acc_format") is not None:
            source = op.input.owner
            if isinstance(source, df.NodeOp) and source.node_name.data in power:
                signal, _, _, count = power[node]
                _, noise_in, _, count_in = power[source.node_name.data]
                if count and count_in and signal / count < _summed_count(op) * noise_in / count_in:
                    found.add(node)
            continue
        sources = [v.owner for v in op.operands if isinstance(v.type, df.StreamType)]
        if sources and all(isinstance(s, df.NodeOp) and s.node_name.data in found for s in sources):
            found.add(node)
    return found


def _set_sum_format(op: kinds.PoolOp | kinds.ReduceOp | kinds.MatmulOp) -> None:
    """acc_format of the nodes that sum without weights: the exact sum (kinds/accumulators.py),
    which the estimate and the HLS kernels read."""
    if isinstance(op, kinds.MatmulOp):
        a, b = fx.fixed_of(op.lhs), fx.fixed_of(op.rhs)
        if a is not None and b is not None:
            op.properties["acc_format"] = product_sum_format(a, b, op.lhs.type.get_shape()[-1])
        return
    x = fx.fixed_of(op.input)
    if x is None or op.kind.data == "max":
        return
    op.properties["acc_format"] = sum_format(x, _summed_count(op))


def _summed_count(op: kinds.PoolOp | kinds.ReduceOp) -> int:
    """How many input values each output of a sum pool or reduce adds."""
    if isinstance(op, kinds.PoolOp):
        kr, kc = op.ints_prop("kernel")
        return kr * kc
    shape = op.input.type.get_shape()
    return math.prod(shape[d] for d in set(op.ints_prop("dims")))


def _check_bits(option: str, bits, low: int, high: int) -> None:
    if not isinstance(bits, int) or not low <= bits <= high:
        raise DfccError(f"quantize: {option}={bits} is out of range; it must be an integer from {low} to {high} bits")
