"""Zero products of a conv or linear node on real data: per input channel, how many of a KxK window's
activation x weight products are zero (the histogram P(z) a zero-skipping stage's cost depends on).

A product is zero when its activation is (ReLU outputs, padding) or its weight is (pruning). Counts are
over every (output pixel, filter) pair a channel's window meets, so P_c(z) is the fraction of the
channel's window-filter pairs with z zero products.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# pixels per chunk are capped so that a chunk's pixel x channel x filter counts stay ~4M entries
CHUNK_ENTRIES = 1 << 22


def zero_activation_windows(x: np.ndarray, kernel, stride, dilation, pad) -> np.ndarray:
    """For an N x H x W x C input: P x C x (Kr*Kc) booleans, a window position's activation is zero
    (padding counts as zero), one row per output pixel P = N*Ho*Wo."""
    (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = kernel, stride, dilation, pad
    zero = np.pad(x == 0, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=True)
    views = sliding_window_view(zero, (dr * (kr - 1) + 1, dc * (kc - 1) + 1), axis=(1, 2))
    views = views[:, ::sr, ::sc, :, ::dr, ::dc]  # N Ho Wo C Kr Kc
    return views.reshape(-1, x.shape[-1], kr * kc)


def zero_product_counts(zero_act: np.ndarray, weights: np.ndarray, groups: int) -> np.ndarray:
    """C x F/groups x (K+1) counts of the pixels whose window over channel c, against filter f of c's
    group, has z zero products (per filter: the filters of a PE differ, and the slowest PE sets the pace).

    `zero_act`: P x C x K from `zero_activation_windows`; `weights`: F x C/groups x ... (PyTorch order).
    """
    pixels, channels, k = zero_act.shape
    filters = weights.shape[0]
    zero_w = (weights.reshape(filters, -1, k) == 0)
    cg, fg = channels // groups, filters // groups
    counts = np.zeros((channels, fg, k + 1), dtype=np.int64)
    act_zeros = zero_act.sum(axis=2)  # P x C
    chunk = max(1, CHUNK_ENTRIES // max(1, cg * fg))
    for g in range(groups):
        za = zero_act[:, g * cg:(g + 1) * cg]
        zw = zero_w[g * fg:(g + 1) * fg]  # Fg x Cg x K
        if not zw.any():  # dense weights: z is the window's zero activations, for every filter
            for c in range(cg):
                counts[g * cg + c] += np.bincount(act_zeros[:, g * cg + c], minlength=k + 1)[None, :]
            continue
        w_zeros = zw.sum(axis=2).T  # Cg x Fg
        for start in range(0, pixels, chunk):
            part = za[start:start + chunk].astype(np.int32)
            both = np.einsum("pck,fck->pcf", part, zw.astype(np.int32))
            z = act_zeros[start:start + chunk, g * cg:(g + 1) * cg, None] + w_zeros[None] - both  # P Cg Fg
            index = (np.arange(cg)[None, :, None] * fg + np.arange(fg)[None, None, :]) * (k + 1) + z
            counts[g * cg:(g + 1) * cg] += np.bincount(index.ravel(), minlength=cg * fg * (k + 1)).reshape(cg, fg, k + 1)
    return counts
