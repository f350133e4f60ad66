"""ROMs of the zero-skipping conv kernel (include/dfcc/sparse_conv.h): each processing element's
non-zero weights and their kernel positions, in the order the PE visits them.

PE p = i*CO + j owns input lane i and output lane j. Per pixel it visits, for each slot t (the
channel `slots[t, i]` of lane i) and each output beat fo of that slot's group, the weights of filter
(t // BPG)*GPB*FG + fo*CO + j against that channel: `counts[p, t*NF + fo]` of them (0 when the filter
is in another group), whose values and positions follow in `values[p]` / `positions[p]`. Only
non-zero weights are stored; each PE's list is padded at its end to the longest one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PeRoms:
    values: np.ndarray  # PES x E
    positions: np.ndarray  # PES x E (kr*KC + kc)
    counts: np.ndarray  # PES x R, R = BEATS*NF
    stored: int  # non-zero weights stored (without the padding)

    @property
    def depth(self) -> int:
        return self.values.shape[1]


def pe_roms(weights: np.ndarray, groups: int, lanes_in: int, lanes_out: int, slots: np.ndarray) -> PeRoms:
    """The PE ROMs of weights F x C/groups x ... (dense, zeros skipped) for the given lanes and slots."""
    filters, cg = weights.shape[:2]
    flat = weights.reshape(filters, cg, -1)
    fg = filters // groups
    bpg = cg // lanes_in if cg > lanes_in else 1
    gpb = lanes_in // cg if lanes_in > cg else 1
    beats, nf = slots.shape[0], gpb * fg // lanes_out
    pes = lanes_in * lanes_out
    counts = np.zeros((pes, beats * nf), dtype=np.int64)
    values: list[list[float]] = [[] for _ in range(pes)]
    positions: list[list[int]] = [[] for _ in range(pes)]
    for i in range(lanes_in):
        for j in range(lanes_out):
            p = i * lanes_out + j
            for t in range(beats):
                channel = int(slots[t, i])
                for fo in range(nf):
                    f = (t // bpg) * gpb * fg + fo * lanes_out + j
                    if channel // cg != f // fg:
                        continue
                    row = flat[f, channel % cg]
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
