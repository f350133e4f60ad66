"""HLS types of the multiply-accumulate kernels (conv.h, linear.h): weight and bias ROMs, the
accumulator type and the cast to `acc_format`, as the CPU reference's contract defines them
(the kinds' run_fixed, dialects/fixed_point.py): exact products and sums, then T_acc = acc_format, then T_out.

`em` is the HLS backend's Emitter (ROMs, stream types, the reference's accumulator bound).
"""

from __future__ import annotations

import math

import numpy as np

from dfcc.dialects.dataflow import FixedType
from dfcc.dialects.fixed_point import accumulator_bound
from dfcc.dialects.resources import elements_array
from dfcc.hardware.dsp import dsp_lanes
from dfcc.kinds.cost import node_cost
from dfcc.kinds.hls_types import Fx, Rom, cpp_type, fx_of, sanitize


def acc_types(exact: Fx, acc_fmt) -> tuple[str, str | None]:
    """(T_acc, T_mid) for an exact sum of type `exact` and the node's `acc_format`.

    acc_format itself can accumulate when it keeps every fraction bit and either wraps
    (order-independent) or holds the worst case: then T_acc(each partial sum) is the same as one
    cast of the exact sum. Otherwise the kernel sums exactly and casts once (T_mid)."""
    if not isinstance(acc_fmt, FixedType):
        return exact.cpp, None
    a = fx_of(acc_fmt)
    if a.frac >= exact.frac and (acc_fmt.overflow.data == "wrap" or (a.int_bits >= exact.int_bits and a.signed)):
        return cpp_type(acc_fmt), None
    return exact.cpp, cpp_type(acc_fmt)


def mid_and_mul(op, t_acc: str, t_mid: str | None) -> str:
    """The MAC kernels' trailing template arguments: T_mid, and the multipliers' policy (multiply.h):
    fabric_mul for `mult_impl = "lut"`, split_mul<D> with a `dsp_share` (its first D multipliers on DSPs,
    D as the cost model counts them: the split costed is the split built)."""
    share = op.dsp_share()
    if share == 100:
        return f", {t_mid}" if t_mid else ""
    if share == 0:
        return f", {t_mid or t_acc}, dfcc::fabric_mul"
    return f", {t_mid or t_acc}, dfcc::split_mul<{dsp_lanes(node_cost(op).multipliers, share)}>"


def zero_rom(em, name: str, count: int, fx: Fx | None) -> Rom:
    if fx is None:
        return em.add_rom(Rom(name, "float", "float", (count,), np.zeros(count), None, "no bias"))
    return em.add_rom(Rom.of_codes(name, fx, (count,), np.zeros(count), "no bias"))


def fixed_bias_rom(em, b_op, zero_name: str, count: int) -> tuple[np.ndarray | None, Fx, Rom]:
    """A fixed-point MAC's bias: its values (None without one), its number format and its ROM
    (zeros when the node has no bias)."""
    if b_op is None:
        fx = Fx(2, 2)
        return None, fx, zero_rom(em, zero_name, count, fx)
    values = np.asarray(elements_array(b_op.value), dtype=np.float64)
    fx = em.weights_fx(b_op, values)
    return values, fx, em.rom(b_op, fx=fx)


def mac_types(em, op, w_shape: tuple[int, ...]) -> tuple[Rom, Rom, str, str | None]:
    """ROMs of weights and bias, the accumulator type and the optional intermediate cast (the weights'
    ROM holds their values, not part of the design: the MAC reads their words, kinds/hls_offchip.py)."""
    name = op.node_name.data
    w_op = em.weights(op.weights, op, "weights")
    f = w_shape[0]
    b_op = em.weights(op.bias, op, "bias") if op.bias is not None else None
    out_fixed = em.fixed_type(op.output)
    if out_fixed is None:
        w_rom = em.rom(w_op, shape=w_shape, keep=False)
        b_rom = em.rom(b_op) if b_op is not None else zero_rom(em, f"b_{sanitize(name)}_zero", f, None)
        return w_rom, b_rom, "float", None
    x_fixed = em.fixed_type(op.input)
    if x_fixed is None:
        raise em.error(op, "a fixed-point output needs a fixed-point input")
    w_values = np.asarray(elements_array(w_op.value), dtype=np.float64)
    w_fx = em.weights_fx(w_op, w_values)
    w_rom = em.rom(w_op, shape=w_shape, fx=w_fx, keep=False)
    b_values, b_fx, b_rom = fixed_bias_rom(em, b_op, f"b_{sanitize(name)}_zero", f)
    # exact accumulator: every product and the bias on its grid, the worst case in range
    x_fx = fx_of(x_fixed)
    frac = max(x_fx.frac + w_fx.frac, b_fx.frac)
    lo, hi = accumulator_bound(x_fixed, w_values, b_values)
    magnitude = max(-lo, hi, 1.0)
    ints = math.ceil(math.log2(magnitude + 2.0 ** -frac)) + 2
    t_acc, t_mid = acc_types(Fx(ints + frac, ints), op.properties.get("acc_format"))
    return w_rom, b_rom, t_acc, t_mid


def summing_acc(em, op, exact: FixedType) -> str:
    """The accumulator type of a node that sums exactly (sum pools, reductions, matmul's exact
    path): its `acc_format`, which must hold the exact sum `exact` as the reference computes it."""
    acc = op.properties.get("acc_format")
    if not isinstance(acc, FixedType):
        raise em.error(op, "a fixed-point sum needs the node's acc_format (written by the quantize pass)")
    a, e = fx_of(acc), fx_of(exact)
    if not (a.signed and a.frac >= e.frac and a.int_bits >= e.int_bits):
        raise em.error(op, f"acc_format {a.cpp} cannot hold the exact sum ({e.cpp}) the reference computes")
    return a.cpp


def winograd_fx(x: Fx, w: Fx, terms: int) -> tuple[Fx, Fx, Fx]:
    """(V, U, M) of conv.h conv_mac_wino, Winograd F(2,3) (Lavin & Gray, CVPR 2016) on inputs of type `x` and
    weights of type `w`, `terms` (channel, kernel row) triples summed into each M: exact by construction.
    V = B^T d (d0-d2, d1+d2, d2-d1, d1-d3): a difference of two inputs, signed, one integer bit more (two for an
    unsigned input); U = 2 G g (2g0, g0+g1+g2, g0-g1+g2, 2g2): at most 4 max|g| in magnitude, two integer bits more;
    M holds `terms` products V*U, then the output transform's sum of three of them (M0+M1+M2, M1-M2-M3)."""
    v = Fx(x.width + (1 if x.signed else 2), x.int_bits + (1 if x.signed else 2))
    u = Fx(w.width + (2 if w.signed else 3), w.int_bits + (2 if w.signed else 3))
    grow = math.ceil(math.log2(terms)) + 2  # the sum of `terms` products, then of three sums
    return v, u, Fx(v.width + u.width + grow, v.int_bits + u.int_bits + grow)
