"""Zero-skipping convolution: computes what `dataflow.conv` computes, but a window spends cycles only on
its non-zero activation x weight products (zero weights known at compile time, zero activations at
run time), as in PASS and HASS.

Its cycles are an expectation: the histogram P_c(z) of zero products per window and input channel,
measured on calibration data by the activation-sparsity pass (`dataflow.zero_histogram`), or, when
none was measured, counted from the weights alone (activations taken as dense). As in PASS, the
channels of a group are sorted by expected cycles and dealt to the input streams in snake order
(`channel_slots`), so the busiest stream, which sets the pace, carries as little as possible; the
HLS kernel (include/dfcc/sparse_conv.h) deals them the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from xdsl.irdl import irdl_op_definition
from xdsl.ir import SSAValue

from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError
from dfcc.hardware.cycles import expected_window_cycles, snake_assignment, sparse_conv_cycles
from dfcc.kinds.conv import Conv, ConvFields
from dfcc.kinds.hls_sparse import emit_zero_skipping
from dfcc.kinds.cost import (
    ZERO_HISTOGRAM_ATTR, Folding, NodeCost, NodeModel, array_cost, stream_bits, weight_bits, zero_histogram,
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


def weight_zero_histogram(weights: np.ndarray, groups: int) -> np.ndarray:
    """P_c(z) over the filters meeting input channel c, counting only zero weights (dense activations)."""
    filters, cg = weights.shape[:2]
    k = int(np.prod(weights.shape[2:]))
    zeros = (weights.reshape(filters, cg, k) == 0).sum(axis=2)  # F x Cg
    fg = filters // groups
    hist = np.zeros((cg * groups, k + 1))
    for g in range(groups):
        for c in range(cg):
            hist[g * cg + c] = np.bincount(zeros[g * fg:(g + 1) * fg, c], minlength=k + 1) / fg
    return hist


def expectation_basis(op: SparseConvOp) -> str:
    """What the node's expected cycles average over (the estimate says it)."""
    attr = op.attributes.get(ZERO_HISTOGRAM_ATTR)
    if attr is None:
        return "zero weights only (activations taken as dense)"
    data = attr.data["data"].data
    return "random inputs" if data == "random" else f"calibration data {data}"


def expected_histogram(op: SparseConvOp) -> np.ndarray:
    """P_c(z) of a zero-skipping conv or linear: measured, else from its zero weights."""
    measured = zero_histogram(op)
    if measured is not None:
        return measured
    groups = op.groups.value.data if isinstance(op, SparseConvOp) else 1
    return weight_zero_histogram(constant_weights(op), groups)


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
    cycles = np.array(expected_window_cycles(hist.tolist(), k2, fine))
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
        return replace(cost, bram18=cost.bram18 - old_bram + new_bram + bram, lut=cost.lut - old_lut + new_lut + lut,
                       weight_width=width, weight_depth=depth)

    model.evaluate = evaluate
    return model


@register
class SparseConv(Conv):
    op = SparseConvOp
    hls_headers = ("sparse_conv.h",)

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
        hist = expected_histogram(op)
        stored = stored_weights(constant_weights(op), groups)
        w_bits, d_bits = weight_bits(op.weights), stream_bits(op.input)

        def memory(folding: Folding) -> tuple[int, int, int, int]:
            ci, co, cg, fine = folding
            slots = channel_slots(hist, groups, ci * cg, fine)
            return sparse_memory(stored, groups, slots, co, kr * kc, w_bits, d_bits)

        return with_sparse_memory(super().cost(op), memory)

    def cycles_function(self, op: SparseConvOp) -> Callable[[Folding], float]:
        _, h, w, c = op.input.type.get_shape()
        _, ho, wo, f = op.output.type.get_shape()
        (kr, kc), _, _, (pt, pb, pl, pr) = op.window_geometry()
        groups = op.groups.value.data
        hist = expected_histogram(op)
        rows = hist.tolist()

        def cycles(folding: Folding) -> int:
            ci, co, cg, fine = folding
            stream_of = stream_of_channels(channel_slots(hist, groups, ci * cg, fine)) if c % (ci * cg) == 0 else None
            # cycles are an expected value; the stage takes whole cycles
            return math.ceil(sparse_conv_cycles(
                h, w, c, f, kr, kc, ho, wo, ci, co, fine, rows, groups=groups, coarse_group=cg,
                pad_top=pt, pad_bottom=pb, pad_left=pl, pad_right=pr, stream_of=stream_of))

        return cycles
