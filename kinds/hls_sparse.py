"""HLS of the zero-skipping conv and linear (include/dfcc/sparse_conv.h): each processing element's
ROM of non-zero weights and their kernel positions, in the order the PE visits them, and the
kernel call (`emit_zero_skipping`, shared by kinds/sparse_conv.py and kinds/sparse_linear.py).

PE p = i*CO + j owns input lane i and output lane j. Per pixel it visits, for each slot t (the
channel `slots[t, i]` of lane i) and each output beat fo of that slot's group, the weights of filter
(t // BPG)*GPB*FG + fo*CO + j against that channel: `counts[p, t*NF + fo]` of them (0 when the filter
is in another group), whose values and positions follow in `values[p]` / `positions[p]`. Only
non-zero weights are stored; each PE's list is padded at its end to the longest one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dfcc.dialects.dataflow import FixedType
from dfcc.dialects.fixed_point import accumulator_bound
from dfcc.kinds.hls_mac import fixed_bias_rom, mid_and_mul, zero_rom
from dfcc.kinds.hls_types import Fx, Rom, cpp_type, fx_of, sanitize


@dataclass(frozen=True)
class PeRoms:
    values: np.ndarray  # PES x E
    positions: np.ndarray  # PES x E (kr*KC + kc)
    counts: np.ndarray  # PES x R, R = BEATS*NF
    stored: int  # non-zero weights stored (without the padding)

    @property
    def depth(self) -> int:
        return self.values.shape[1]


def pe_visits(groups: int, cg: int, fg: int, lanes_in: int, lanes_out: int,
              slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(channel, filter) of each step of each PE, two PES x BEATS x NF arrays in the order the PEs visit
    them (module doc); the filter is -1 where it is in another group than the channel (no weight)."""
    beats = slots.shape[0]
    bpg = cg // lanes_in if cg > lanes_in else 1
    gpb = lanes_in // cg if lanes_in > cg else 1
    nf = gpb * fg // lanes_out
    shape = (lanes_in, lanes_out, beats, nf)
    channel = np.broadcast_to(slots.T[:, None, :, None], shape)
    t, fo = np.arange(beats)[:, None], np.arange(nf)[None, :]
    filt = np.broadcast_to(((t // bpg) * gpb * fg + fo * lanes_out)[None, None] + np.arange(lanes_out)[None, :, None, None],
                           shape)
    filt = np.where(channel // cg == filt // fg, filt, -1)
    pes = lanes_in * lanes_out
    return channel.reshape(pes, beats, nf), filt.reshape(pes, beats, nf)


def pe_roms(weights: np.ndarray, groups: int, lanes_in: int, lanes_out: int, slots: np.ndarray) -> PeRoms:
    """The PE ROMs of weights F x C/groups x ... (dense, zeros skipped) for the given lanes and slots."""
    filters, cg = weights.shape[:2]
    flat = weights.reshape(filters, cg, -1)
    channel, filt = pe_visits(groups, cg, filters // groups, lanes_in, lanes_out, slots)
    pes, beats, nf = channel.shape
    counts = np.zeros((pes, beats * nf), dtype=np.int64)
    values: list[list[float]] = [[] for _ in range(pes)]
    positions: list[list[int]] = [[] for _ in range(pes)]
    for p, t, fo in zip(*np.nonzero(filt >= 0)):
        row = flat[filt[p, t, fo], channel[p, t, fo] % cg]
        kept = np.flatnonzero(row)
        counts[p, t * nf + fo] = kept.size
        values[p].extend(row[kept].tolist())
        positions[p].extend(kept.tolist())
    depth = max(1, max(len(v) for v in values))
    padded_values = np.zeros((pes, depth))
    padded_positions = np.zeros((pes, depth), dtype=np.int64)
    for p in range(pes):
        padded_values[p, :len(values[p])] = values[p]
        padded_positions[p, :len(positions[p])] = positions[p]
    return PeRoms(padded_values, padded_positions, counts, sum(len(v) for v in values))


def emit_zero_skipping(em, op, geom: str, groups: int, lanes_in: int, lanes_out: int, fine: int,
                       weights: np.ndarray, slots: np.ndarray) -> None:
    """The `dfcc::sparse_conv` call of a zero-skipping conv or linear: per-PE ROMs of its non-zero
    `weights` (F x C/groups x ...), the PASS channel `slots` its cost assumed, the exact accumulator."""
    name = em.stage(op)
    f = op.output.type.get_shape()[-1]
    weights = weights.reshape(weights.shape[0], weights.shape[1], -1)
    roms = pe_roms(weights, groups, lanes_in, lanes_out, slots)
    x = em.read(op.input, lanes_in, name)
    out = em.new_stream(f"s_{name}", op.output.type, lanes_out, value=op.output)
    em.define(op.output, out)
    tag = sanitize(name)
    index = "unsigned char" if weights.shape[2] < 256 else "unsigned short"
    pos = _index_rom(em, f"pos_{tag}", index, roms.positions, "kernel position of each stored weight, per PE")
    count = _index_rom(em, f"count_{tag}", index, roms.counts, "stored weights per (slot, output beat), per PE")
    src = _index_rom(em, f"src_{tag}", "unsigned short", slots, "channel of each (slot, lane)")
    comment = f"{roms.stored} non-zero weights of {weights.size}, per PE (padded to the longest PE)"
    w_rom, b_rom, t_acc, t_mid = _sparse_mac_types(em, op, weights, roms.values, comment)
    permute = not np.array_equal(slots, np.arange(slots.size).reshape(slots.shape))
    types = (f"{em.elem(op.input)}, {w_rom.elem}, {index}, unsigned short, {b_rom.elem}, {t_acc}, {out.elem}"
             + mid_and_mul(op, t_acc, t_mid))
    em.calls.append(f"dfcc::sparse_conv<{geom}, {f}, {groups}, {lanes_in}, {lanes_out}, {fine}, {roms.depth}, "
                    f"{'true' if permute else 'false'}, {types}>({x}, {out.name}, {w_rom.name}, {pos.name}, "
                    f"{count.name}, {src.name}, {b_rom.name});  // {name}")


def _index_rom(em, name: str, elem: str, values: np.ndarray, comment: str) -> Rom:
    return em.add_rom(Rom(name, elem, elem, values.shape, values, 0, comment, plain=True))


def _sparse_mac_types(em, op, weights: np.ndarray, values: np.ndarray, comment: str):
    """ROMs of the stored weights and the bias, the accumulator type and the cast to acc_format.

    Any PE's partial sum, with or without the bias, fits the accumulator, so the result is exact
    whatever the order (the reference's exact sum, then acc_format)."""
    name = sanitize(op.node_name.data)
    f = weights.shape[0]
    b_op = em.weights(op.bias, op, "bias") if op.bias is not None else None
    if em.fixed_type(op.output) is None:
        w_rom = em.add_rom(Rom(f"w_{name}", "float", "float", values.shape, values, None, comment))
        b_rom = em.rom(b_op) if b_op is not None else zero_rom(em, f"b_{name}_zero", f, None)
        return w_rom, b_rom, "float", None
    x_fixed = em.fixed_type(op.input)
    if x_fixed is None:
        raise em.error(op, "a fixed-point output needs a fixed-point input")
    w_fx = em.weights_fx(op.weights.owner, weights.astype(np.float64))
    w_rom = em.add_rom(Rom.of_codes(f"w_{name}", w_fx, values.shape, values, comment))
    b_values, b_fx, b_rom = fixed_bias_rom(em, b_op, f"b_{name}_zero", f)
    frac = max(fx_of(x_fixed).frac + w_fx.frac, b_fx.frac)
    bounds = accumulator_bound(x_fixed, weights, b_values) + accumulator_bound(x_fixed, weights, None)
    ints = math.ceil(math.log2(max(*(abs(b) for b in bounds), 1.0) + 2.0 ** -frac)) + 2
    acc_fmt = op.properties.get("acc_format")
    return w_rom, b_rom, Fx(ints + frac, ints).cpp, cpp_type(acc_fmt) if isinstance(acc_fmt, FixedType) else None
