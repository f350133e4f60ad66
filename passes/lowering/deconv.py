"""A transposed convolution (a conv over a zero-inserted input, as torch-mlir writes ConvTranspose2d)
as one convolution per output phase: `dataflow.conv` with SH*SW*F filters over the input itself,
then `dataflow.depth_to_space` interleaving the phases.

Output pixel o = s*q + r of a stride-s transposed conv only meets the kernel taps j = r' (mod s)
that land on input elements, so each of the s phases is a small conv of the original input
(Shi et al., CVPR 2016, sub-pixel convolution; Chang, Kang and Kang, "An energy-efficient FPGA-based
deconvolutional neural networks accelerator for single image super-resolution", IEEE TCSVT 2020:
deconvolution transformed to convolution).
The s^2 phase kernels are stacked as filters, each at its phase's input offset within the union of
the phases' windows, so one conv node computes all of them with no multiply by an inserted zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects.linalg import ops as linalg

from dfcc import kinds
from dfcc.passes.data_movement import separable_maps
from dfcc.passes.lowering.core import NCHW_TO_STREAM, Act, Gathered, Lowering, per_channel_bias


@dataclass(frozen=True)
class AxisPhases:
    """One spatial axis of a transposed conv split into its `stride` phases.

    Conv output u, block b computes phase `order[b]`, transposed-conv output s*u + b - `skip`, from
    inputs u + first + k (k < `size`) with that phase's kernel taps `taps[r]` (a slice of the conv's
    kernel axis) at window positions `at[r]` onwards.
    """

    stride: int
    outputs: int  # conv outputs (s * outputs - skip may overhang the transposed conv's output)
    first: int  # input offset of the window (negative: zero padding before the input)
    size: int  # window size
    taps: tuple[slice, ...]
    at: tuple[int, ...]
    order: tuple[int, ...]
    skip: int  # leading interleaved outputs before the transposed conv's first


def axis_phases(m: np.ndarray, n: int, kernel: int, out: int) -> AxisPhases | None:
    """The phases of a stride-1 window of `kernel` over `m` (output position of the zero-inserted,
    padded axis -> input element or -1) giving `out` outputs; None when m is not a zero insertion.

    Phase r (outputs s*q + r) takes taps j0, j0 + s, ... (j0 = a - r mod s, input 0 at position a of
    m), from input q + d_r, d_r = (r + j0 - a) / s. Two alignments of the phases in one window, the
    one with fewer multiplies per axis (outputs * size) taken:
    - same output q for every phase: the window spans all the d_r, phases with later d_r start later
      in it (zero taps before);
    - same window start D for every phase: phase r's outputs move to s*u + (a + s*D - j0), s
      consecutive positions per u (the j0 are 0..s-1), so the window is the longest phase's taps
      and the interleaved outputs are shifted by `skip` < s.
    """
    valid = np.flatnonzero(m >= 0)
    if not len(valid):
        return None
    s = int(valid[1] - valid[0]) if len(valid) > 1 else 1
    a = int(valid[0]) - s * int(m[valid[0]])  # where input element 0 sits (may be outside m)
    t = np.arange(len(m))
    expected = np.where(((t - a) % s == 0) & ((t - a) // s >= 0) & ((t - a) // s < n), (t - a) // s, -1)
    if s < 1 or not np.array_equal(m, expected):
        return None
    j0 = [(a - r) % s for r in range(s)]
    taps = tuple(slice(j, kernel, s) for j in j0)
    counts = [len(range(kernel)[sl]) for sl in taps]
    starts = [(r + j - a) // s for r, j in enumerate(j0)]
    first = min(d for d, c in zip(starts, counts) if c)
    last = max(d + c - 1 for d, c in zip(starts, counts) if c)
    same_output = AxisPhases(s, -(-out // s), first, last - first + 1, taps,
                             tuple(max(0, d - first) for d in starts), tuple(range(s)), 0)
    window = (s - 1 - a) // s  # the latest start D leaving no output before the first (skip >= 0)
    skip = s - 1 - a - s * window
    same_start = AxisPhases(s, (out - 1 + skip) // s + 1, window, max(counts), taps, (0,) * s,
                            tuple(sorted(range(s), key=lambda r: -j0[r])), skip)
    return min((same_output, same_start), key=lambda p: p.outputs * p.size)


def lower_transposed(lw: Lowering, op: linalg.Conv2DNchwFchwOp, weights: np.ndarray) -> bool:
    """Lower `op` by phases if its input is a zero-inserted activation and that saves MACs;
    False (nothing built) otherwise."""
    g = lw.values.get(op.inputs[0])
    out_shape = op.results[0].type.get_shape()
    if (not isinstance(g, Gathered) or g.fill != 0.0 or g.index.ndim != 4 or out_shape[0] != 1
            or list(op.strides.get_values()) != [1, 1] or list(op.dilations.get_values()) != [1, 1]):
        return False
    maps = separable_maps(g.index, g.act.shape)
    n, c, h, w = g.act.shape
    if maps is None or not np.array_equal(maps[0], np.arange(n)) or not np.array_equal(maps[1], np.arange(c)):
        return False
    f, _, kh, kw = weights.shape
    axes = [axis_phases(maps[2], h, kh, out_shape[2]), axis_phases(maps[3], w, kw, out_shape[3])]
    if None in axes or max(a.stride for a in axes) < 2:
        return False
    ah, aw = axes
    phase_macs = ah.outputs * aw.outputs * ah.stride * aw.stride * ah.size * aw.size
    if phase_macs >= out_shape[2] * out_shape[3] * kh * kw:
        return False
    # filters (bi*SW + bj)*F + f: filter f of the phases in blocks bi, bj, its taps at their window positions
    stacked = np.zeros((ah.stride * aw.stride, f, c, ah.size, aw.size), np.float32)
    for bi, i in enumerate(ah.order):
        for bj, j in enumerate(aw.order):
            part = weights[:, :, ah.taps[i], aw.taps[j]]
            stacked[bi * aw.stride + bj, :, :, ah.at[i]:ah.at[i] + part.shape[2], aw.at[j]:aw.at[j] + part.shape[3]] = part
    act = lw.relayout(g.act, NCHW_TO_STREAM)
    rows = []  # per axis: input rows read (offset, count) and zero padding (lo, hi)
    for a, size in zip(axes, (h, w)):
        end = a.outputs - 1 + a.first + a.size  # one past the last input row a window reads
        rows.append((max(0, a.first), min(size, end) - max(0, a.first), max(0, -a.first), max(0, end - size)))
    if any(offset or count != size for (offset, count, _, _), size in zip(rows, (h, w))):
        node = lw.emit(kinds.SliceOp(act.stream, [0, rows[0][0], rows[1][0], 0], [n, rows[0][1], rows[1][1], c],
                                     [1, 1, 1, 1], lw.fresh("slice")))
        act = Act(node.output, (n, c, rows[0][1], rows[1][1]), act.perm)
    name = lw.fresh("conv")
    bias = per_channel_bias(lw.const(op.outputs[0], op), op)
    conv = lw.emit(kinds.ConvOp(
        act.stream, lw.weights(stacked.reshape(-1, c, ah.size, aw.size), f"{name}_w"),
        None if bias is None else lw.weights(np.tile(bias, ah.stride * aw.stride), f"{name}_b"),
        name=name, stride=(1, 1), dilation=(1, 1), pad=(rows[0][2], rows[0][3], rows[1][2], rows[1][3]), groups=1))
    result = lw.emit(kinds.DepthToSpaceOp(conv.output, (ah.stride, aw.stride), lw.fresh("depth_to_space"))).output
    if ah.skip or aw.skip or result.type.get_shape()[1:3] != out_shape[2:]:
        result = lw.emit(kinds.SliceOp(result, [0, ah.skip, aw.skip, 0], [1, *out_shape[2:], f], [1, 1, 1, 1],
                                       lw.fresh("slice"))).output
    lw.values[op.results[0]] = Act(result, tuple(out_shape), NCHW_TO_STREAM)
    return True
