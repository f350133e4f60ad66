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


def mid_and_mul(op, t_acc: str, t_mid: str | None, ffip: bool = False) -> str:
    """The MAC kernels' trailing template arguments: T_mid, the multipliers' policy (multiply.h):
    fabric_mul for `mult_impl = "lut"`, split_mul<D> with a `dsp_share` (its first D multipliers on DSPs,
    D as the cost model counts them: the split costed is the split built), and with `ffip` the inner product's
    (inner_product.h ffip_product)."""
    share = op.dsp_share()
    mul = "dfcc::dsp_mul" if share == 100 else "dfcc::fabric_mul" if share == 0 else \
        f"dfcc::split_mul<{dsp_lanes(node_cost(op).multipliers, share)}>"
    if ffip:
        return f", {t_mid or t_acc}, {mul}, dfcc::ffip_product"
    if share == 100:
        return f", {t_mid}" if t_mid else ""
    return f", {t_mid or t_acc}, {mul}"


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


def mac_types(em, op, w_shape: tuple[int, ...], ffip_step: tuple[int, int] | None = None
              ) -> tuple[Rom, Rom, str, str | None]:
    """ROMs of weights and bias, the accumulator type and the optional intermediate cast (the weights'
    ROM holds their values, not part of the design: the MAC reads their words, kinds/hls_offchip.py).
    With `ffip_step` (the channels and kernel positions of a MAC step whose products inner_product.h pairs) the
    bias is less each filter's w-only terms (`w_only_terms`) and the accumulator holds FFIP's partial sums; the
    intermediate cast is then the whole of the direct sum's (T_mid of T_acc: acc_format)."""
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
    if ffip_step is None:
        return w_rom, b_rom, t_acc, t_mid
    units = x_fx.frac + w_fx.frac  # inner_product.h: FFIP's terms are integers in units of 2^-(FX+FW)
    codes = np.round(w_values.reshape(w_shape) * 2.0 ** w_fx.frac).astype(np.int64)
    terms = w_only_terms(codes, *ffip_step)
    folded = (np.zeros(f) if b_values is None else b_values) - terms * 2.0 ** -units
    # FFIP's partial sums: the direct ones less the w-only terms still to come (at most the sum of their magnitudes)
    rest = float(w_only_terms(np.abs(codes), *ffip_step).max(initial=0)) * 2.0 ** -units
    wide = math.ceil(math.log2(magnitude + rest + 2.0 ** -frac)) + 2
    if wide + frac > 53:  # the folded bias's codes are computed in float64
        raise em.error(op, f"FFIP's partial sums take {wide + frac} bits: more than float64's 53 (use direct)")
    b_rom = em.add_rom(Rom.of_codes(f"bf_{sanitize(name)}", Fx(wide + frac, wide), (f,), folded,
                                    "bias less each filter's FFIP w-only terms (inner_product.h)"))
    return w_rom, b_rom, Fx(wide + frac, wide).cpp, t_mid or t_acc


def w_only_terms(codes: np.ndarray, lanes: int, fine: int) -> np.ndarray:
    """Each filter's FFIP w-only term (inner_product.h), exact integers: the sum of qw_a*qw_b over the pairs of
    slots (2q, 2q+1) of every MAC step, in conv.h conv_mac's order (weights F x C x KR x KC as integer codes; a
    step takes `fine` kernel positions of `lanes` channels, the (c, kr, kc) run of a beat of `lanes` channels
    in ceil(KR*KC/fine) steps, the slots past it zero)."""
    f, c = codes.shape[:2]
    k = int(np.prod(codes.shape[2:]))
    slots, steps = lanes * fine, -(-k // fine)
    beats = codes.reshape(f, c // lanes, lanes * k)
    runs = np.zeros((f, c // lanes, steps * slots), dtype=np.int64)
    runs[:, :, :lanes * k] = beats
    steps_of = runs.reshape(f, c // lanes, steps, slots)
    if slots % 2:  # an odd step's last slot pairs with a zero
        steps_of = np.concatenate([steps_of, np.zeros((f, c // lanes, steps, 1), dtype=np.int64)], axis=3)
    pairs = steps_of.reshape(f, c // lanes, steps, -1, 2)
    return (pairs[..., 0] * pairs[..., 1]).sum(axis=(1, 2, 3))


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
