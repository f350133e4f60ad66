"""Zero-skipping convolution: computes what `dataflow.conv` computes, but a window spends cycles only on
its non-zero activation x weight products (zero weights known at compile time, zero activations at
run time), as in PASS and HASS.

Its cycles are an expectation: the histogram P(z) of zero products per window, input channel and
filter, measured on calibration data by the activation-sparsity pass (`dataflow.zero_histogram`), or,
when none was measured, counted from the weights alone (activations taken as dense). The HLS kernel
(include/dfcc/sparse_conv.h) has one processing element (PE) per (input lane, output lane), and its
glue waits for all of them, so the stage runs at the pace of the PE with the most expected work
(`pe_work`), not of the average. As in PASS, the channels of a group are sorted by expected cycles
and dealt to the input streams in snake order (`channel_slots`), so the busiest stream carries as
little as possible; the kernel deals them the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
from xdsl.irdl import irdl_op_definition
from xdsl.ir import SSAValue

from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError
from dfcc.hardware.cycles import expected_window_cycles, snake_assignment, sparse_conv_cycles
from dfcc.kinds.conv import Conv, ConvFields, conv_pixel_cycles
from dfcc.kinds.hls_sparse import emit_zero_skipping, pe_visits
from dfcc.kinds.cost import (
    ZERO_HISTOGRAM_ATTR, Folding, NodeCost, NodeModel, array_cost, stream_bits, weight_bits, zero_counts,
)
from dfcc.kinds.registry import register
from dfcc.kinds.sparse_weights import SparseWeightsOp
from dfcc.kinds.weights import WeightsOp


@irdl_op_definition
class SparseConvOp(ConvFields):
    """A `dataflow.conv` that skips zero products (module doc); same operands, properties and folding."""

    name = "dataflow.sparse_conv"


def weight_values(value: SSAValue) -> np.ndarray | None:
    """The dense weights a conv reads (decoded when sparse), None if not a constant."""
    owner = value.owner
    if isinstance(owner, SparseWeightsOp):
        return owner.decode()
    if isinstance(owner, WeightsOp):
        return elements_array(owner.value)
    return None


def constant_weights(op) -> np.ndarray:
    """The dense weights of a zero-skipping node; a DfccError if they are not a constant."""
    weights = weight_values(op.weights)
    if weights is None:
        raise DfccError(f"{op.name} '{op.node_name.data}': weights are not a constant")
    return weights


def weight_pair_histogram(weights: np.ndarray, groups: int) -> np.ndarray:
    """P(z) of each (input channel, filter of its group) pair counting only zero weights (dense
    activations): C x F/groups x (K+1), one z per pair."""
    filters, cg = weights.shape[:2]
    k = int(np.prod(weights.shape[2:]))
    zeros = (weights.reshape(filters, cg, k) == 0).sum(axis=2)  # F x Cg
    fg = filters // groups
    per_pair = np.concatenate([zeros[g * fg:(g + 1) * fg].T for g in range(groups)])  # C x Fg
    return np.eye(k + 1)[per_pair]


def expectation_basis(op: SparseConvOp) -> str:
    """What the node's expected cycles average over (the estimate says it)."""
    attr = op.attributes.get(ZERO_HISTOGRAM_ATTR)
    if attr is None:
        return "zero weights only (activations taken as dense)"
    data = attr.data["data"].data
    return "random inputs" if data == "random" else f"calibration data {data}"


def pair_histogram(op: SparseConvOp) -> np.ndarray:
    """P(z) of each (input channel, filter of its group) pair of a zero-skipping conv or linear, C x F/groups
    x (K+1): measured, else from its zero weights; a per-channel measurement holds for each of its filters."""
    groups = op.groups.value.data if isinstance(op, SparseConvOp) else 1
    counts = zero_counts(op)
    if counts is None:
        return weight_pair_histogram(constant_weights(op), groups)
    if counts.ndim == 2:
        fg = op.output.type.get_shape()[-1] // groups
        counts = np.repeat(counts[:, None, :], fg, axis=1)
    return counts / counts.sum(axis=2, keepdims=True)


def expected_histogram(op: SparseConvOp) -> np.ndarray:
    """P_c(z) of a zero-skipping conv or linear, over the filters each input channel meets."""
    return pair_histogram(op).mean(axis=1)


@dataclass(frozen=True)
class PeWork:
    """The expected work of each processing element of a zero-skipping stage per output pixel, in the
    kernel's order (kinds/hls_sparse.py `pe_visits`): `steps[p, t, fo]` cycles for slot t, output beat fo."""

    slots: np.ndarray  # BEATS x lanes_in: the channel each lane carries in each slot (`channel_slots`)
    steps: np.ndarray  # PES x BEATS x NF
    beats_per_group: int  # a PE writes its partial sums after every beats_per_group-th slot

    @property
    def loads(self) -> np.ndarray:
        return self.steps.sum(axis=(1, 2))

    @property
    def reorders(self) -> bool:
        """Whether the deal permutes channels (then it holds a pixel back: sparse_conv.h sparse_deal)."""
        return not np.array_equal(self.slots, np.arange(self.slots.size).reshape(self.slots.shape))


def work_function(op, kind, groups: int) -> Callable[[Folding], PeWork]:
    """`pe_work` of a zero-skipping node under each folding (the lanes `kind` gives it), remembered."""
    pairs = pair_histogram(op)
    factors = tuple(op.folding_extents())

    @cache
    def work(folding: Folding) -> PeWork:
        lanes_in, lanes_out = kind.stream_lanes(op, dict(zip(factors, folding)))
        return pe_work(pairs, groups, lanes_in, lanes_out, folding[3] if len(folding) > 3 else 1)

    return work


def with_sparse_depth(model: NodeModel, dense_per_pixel: Callable[[Folding], int],
                      work: Callable[[Folding], PeWork]) -> NodeModel:
    """The dense node's model with the per-pixel term of its depth replaced by the busiest PE's expected
    cycles per pixel, plus the pixel the deal holds back when it reorders channels."""
    dense = model.evaluate

    def evaluate(folding: Folding) -> NodeCost:
        cost, w = dense(folding), work(folding)
        held = w.slots.shape[0] if w.reorders else 0
        # a pixel's timing across the PE queues is not traced: no pixel_work or burst
        return replace(cost, depth=cost.depth - dense_per_pixel(folding) + math.ceil(w.loads.max()) + held,
                       pixel_work=0, burst=0)

    model.evaluate = evaluate
    return model


def pe_work(pairs: np.ndarray, groups: int, lanes_in: int, lanes_out: int, fine: int) -> PeWork:
    """Each PE's expected cycles under `pairs` (P(z) per channel and filter, `pair_histogram`)."""
    window = expected_window_cycles(pairs, pairs.shape[2] - 1, fine)  # C x Fg
    channels, fg = window.shape
    cg = channels // groups
    slots = channel_slots(pairs.mean(axis=1), groups, lanes_in, fine)
    channel, filt = pe_visits(groups, cg, fg, lanes_in, lanes_out, slots)
    steps = np.where(filt >= 0, window[channel, np.maximum(filt, 0) % fg], 0.0)
    return PeWork(slots, steps, cg // lanes_in if cg > lanes_in else 1)


def channel_slots(hist: np.ndarray, groups: int, streams: int, fine: int) -> np.ndarray:
    """slots[t, i]: the channel input stream i carries in slot t of a pixel ((C/streams) x streams).

    When a group's channels fill whole beats of `streams` lanes, each group's channels are dealt in
    PASS order (`snake_assignment` over their expected cycles at `fine`), unless that leaves the
    busiest stream no less busy than keeping the stream order (c = t*streams + i), which needs no
    reordering buffer in hardware and is kept then, as it is when a beat holds several groups.
    """
    channels, k2 = hist.shape[0], hist.shape[1] - 1
    cg = channels // groups
    identity = np.arange(channels).reshape(-1, streams)  # streams divides C
    if cg % streams:
        return identity
    cycles = expected_window_cycles(hist, k2, fine)
    sorted_slots = identity.copy()
    for g in range(groups):
        lanes = snake_assignment(cycles[g * cg:(g + 1) * cg].tolist(), streams)
        sorted_slots[g * cg // streams:(g + 1) * cg // streams] = g * cg + np.array(lanes).T
    busiest = [cycles[s].sum(axis=0).max() for s in (sorted_slots, identity)]
    return sorted_slots if busiest[0] < busiest[1] - 1e-9 else identity


def stream_of_channels(slots: np.ndarray) -> list[int]:
    """The stream carrying each channel, from `channel_slots`."""
    stream = np.empty(slots.size, dtype=np.int64)
    stream[slots.reshape(-1)] = np.tile(np.arange(slots.shape[1]), slots.shape[0])
    return stream.tolist()


def stored_weights(weights: np.ndarray, groups: int) -> np.ndarray:
    """C x F: the non-zero weights of each (input channel, filter) pair (0 across groups)."""
    filters, cg = weights.shape[:2]
    per_row = (weights.reshape(filters, cg, -1) != 0).sum(axis=2)  # F x Cg
    fg = filters // groups
    full = np.zeros((cg * groups, filters), dtype=np.int64)
    for g in range(groups):
        full[g * cg:(g + 1) * cg, g * fg:(g + 1) * fg] = per_row[g * fg:(g + 1) * fg].T
    return full


def sparse_memory(stored: np.ndarray, groups: int, slots: np.ndarray, coarse_out: int, k: int, w_bits: int,
                  d_bits: int) -> tuple[int, int, int, int]:
    """(width, depth) of the stored weights and positions, and (BRAM18, LUT) of the rest of the
    zero-skipping stage's memory: its per-PE counts and, when it reorders channels, the deal's buffer."""
    channels, filters = stored.shape
    streams = slots.shape[1]
    per_stream = np.zeros((streams, filters), dtype=np.int64)
    np.add.at(per_stream, np.array(stream_of_channels(slots)), stored)
    longest = int(per_stream.reshape(streams, filters // coarse_out, coarse_out).sum(axis=1).max())
    pes = streams * coarse_out
    # dfcc include/dfcc/sparse_conv.h: per PE, (value, kernel position) pairs padded to the longest PE, K banks
    width, depth = pes * k * (w_bits + (k - 1).bit_length()), -(-longest // k)
    # dfcc sparse_conv.h: per PE one count (0..K) per (slot, output beat): C/streams slots x GPB*(F/G)/co beats
    gpb = max(1, streams // (channels // groups))
    counts = array_cost(pes * k.bit_length(), slots.shape[0] * gpb * (filters // groups) // coarse_out)
    reordering = not np.array_equal(slots, np.arange(channels).reshape(slots.shape))
    # dfcc sparse_conv.h: a reordering deal keeps two pixels of windows (ping-pong), one array of the
    # pixel's slots per (half, kernel position, lane)
    arrays = 2 * k * streams if reordering else 0
    buffer = array_cost(d_bits, slots.shape[0])
    return width, depth, counts[0] + arrays * buffer[0], counts[1] + arrays * buffer[1]


def with_sparse_memory(model: NodeModel, memory: Callable[[Folding], tuple[int, int, int, int]]) -> NodeModel:
    """The dense node's model with its weight memory replaced by the zero-skipping stage's memories."""
    dense = model.evaluate

    def evaluate(folding: Folding) -> NodeCost:
        cost = dense(folding)
        old_bram, old_lut = array_cost(cost.weight_width, cost.weight_depth)
        width, depth, bram, lut = memory(folding)
        new_bram, new_lut = array_cost(width, depth)
        # sparse_conv.h reads its PEs' banks in place: no word stream (weights.h weight_rom) to the MAC
        return replace(cost, bram18=cost.bram18 - old_bram + new_bram + bram, lut=cost.lut - old_lut + new_lut + lut,
                       weight_width=width, weight_depth=depth, word_stream=False)

    model.evaluate = evaluate
    return model


@register
class SparseConv(Conv):
    op = SparseConvOp
    hls_headers = ("sparse_conv.h",)
    cost_reads_weights = True  # the stored non-zero weights size its memory

    def emit_hls(self, em, op: SparseConvOp) -> None:
        """One `dfcc::sparse_conv` call: ROMs of the non-zero weights only, channels in PASS order."""
        n, h, w, c = op.input.type.get_shape()
        if n != 1:
            raise em.error(op, f"batch {n} streams are not supported (batch 1 only)")
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
        groups, fine = op.groups.value.data, op.int_prop("fine")
        lanes_in, lanes_out = self.stream_lanes(op)
        geom = f"dfcc::geom<{h}, {w}, {c}, {kr}, {kc}, {sr}, {sc}, {dr}, {dc}, {pt}, {pb}, {pl}, {pr}>"
        slots = channel_slots(expected_histogram(op), groups, lanes_in, fine)
        emit_zero_skipping(em, op, geom, groups, lanes_in, lanes_out, fine, constant_weights(op), slots)

    def cost(self, op: SparseConvOp) -> NodeModel:
        groups = op.groups.value.data
        kr, kc = op.ints_prop("kernel")
        c, f = op.input.type.get_shape()[-1], op.output.type.get_shape()[-1]
        hist = expected_histogram(op)
        stored = stored_weights(constant_weights(op), groups)
        w_bits, d_bits = weight_bits(op.weights), stream_bits(op.input)

        def memory(folding: Folding) -> tuple[int, int, int, int]:
            ci, co, cg, fine = folding
            slots = channel_slots(hist, groups, ci * cg, fine)
            return sparse_memory(stored, groups, slots, co, kr * kc, w_bits, d_bits)

        model = with_sparse_memory(super().cost(op), memory)
        return with_sparse_depth(model, lambda folding: conv_pixel_cycles(c, f, kr * kc, groups, folding),
                                 work_function(op, self, groups))

    def paced_cycles(self, op: SparseConvOp, folding, interval: int) -> int:
        return 0  # the pace of a widened input is not costed for the PE array (its queues absorb some of it)

    def cycles_function(self, op: SparseConvOp, interval: int = 1, stream=None) -> Callable[[Folding], float]:
        """Expected cycles of the zero-skipping PE array: its queues take the window walk's gaps and a paced input
        (`paced_cycles`), so neither `interval` nor the dense conv's window stream (`stream`) enters."""
        _, h, w, c = op.input.type.get_shape()
        _, ho, wo, f = op.output.type.get_shape()
        _, _, _, (pt, pb, pl, pr) = op.window_geometry()
        work = work_function(op, self, op.groups.value.data)
        factors = tuple(op.folding_extents())

        def cycles(folding: Folding) -> int:
            lanes_in, lanes_out = self.stream_lanes(op, dict(zip(factors, folding)))
            # cycles are an expected value; the stage takes whole cycles
            return math.ceil(sparse_conv_cycles(h, w, c, f, ho, wo, lanes_in, lanes_out, work(folding).loads,
                                                pt, pb, pl, pr))

        return cycles
