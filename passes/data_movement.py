"""Recognising pure data movement as streaming nodes.

torch-mlir writes padding modes, nearest upsampling, transposed-conv zero insertion and `chunk`
as slices, insertions and index-computing gathers. The lowering folds these into one table: for
each output element, the source element it copies (or -1 for a fill value). This module reads
such a table back as, per axis, a slice, then a resize, then a pad, or says it is none of those.
"""

import numpy as np


def separable_maps(index: np.ndarray, shape: tuple[int, ...]) -> list[np.ndarray] | None:
    """Per-axis maps m_a with index[i0, i1, ..] = ravel(m_0[i0], m_1[i1], ..) (-1 if any is -1), or None."""
    valid = index >= 0
    coords = np.unravel_index(np.where(valid, index, 0), shape)
    maps, flat, ok = [], np.zeros(index.shape, np.int64), np.ones(index.shape, bool)
    for axis in range(index.ndim):
        others = tuple(a for a in range(index.ndim) if a != axis)
        column = np.where(valid, coords[axis], -1)
        m = column.max(axis=others) if others else column
        maps.append(m)
        grid = m.reshape([-1 if a == axis else 1 for a in range(index.ndim)])
        ok = ok & (grid >= 0)
        flat = flat * shape[axis] + np.maximum(grid, 0)
    return maps if np.array_equal(np.where(ok, flat, -1), index) else None


def _edge_mode(m: np.ndarray, n: int, lo: int, hi: int) -> str | None:
    """Which PyTorch padding mode produced the `lo` leading and `hi` trailing entries of map `m`."""
    head, tail = m[:lo], m[len(m) - hi:]
    candidates = {
        "replicate": (np.zeros(lo), np.full(hi, n - 1)),
        "reflect": (np.arange(lo, 0, -1), np.arange(n - 2, n - 2 - hi, -1)),
        "circular": (np.arange(n - lo, n), np.arange(hi)),
    }
    for mode, (want_head, want_tail) in candidates.items():
        if np.array_equal(head, want_head) and np.array_equal(tail, want_tail):
            return mode
    return None


def classify_axis(m: np.ndarray, n: int):
    """Map m (output position -> source position or -1) as slice, then resize, then pad; None if not.

    Returns ((offset, stride, size), (resize mode, scale) or None, (pad mode, lo, hi) or None).
    """
    length = len(m)
    pad = None
    if (m < 0).any():
        valid = np.flatnonzero(m >= 0)
        if not len(valid):
            return None
        lo, hi = int(valid[0]), int(length - 1 - valid[-1])
        pad, core = ("constant", lo, hi), m[lo:length - hi]
    else:
        starts = np.flatnonzero(m == 0)
        found = [int(p) for p in starts if p + n <= length and np.array_equal(m[p:p + n], np.arange(n))]
        core = m
        if found and (found[0] or length - n - found[0]):
            lo, hi = found[0], length - n - found[0]
            mode = _edge_mode(m, n, lo, hi)
            if mode is None:
                return None
            pad, core = (mode, lo, hi), m[lo:lo + n]
    resize = None
    if (core < 0).any():
        valid = np.flatnonzero(core >= 0)
        step = int(valid[1] - valid[0]) if len(valid) > 1 else 1
        expect = np.full(len(core), -1)
        expect[::step] = core[::step]
        if (len(core) - 1) % step or not np.array_equal(core, expect) or (core[::step] < 0).any():
            return None
        resize, core = ("zeros", step), core[::step]
    elif len(core) > 1 and core[0] == core[1]:
        step = int(np.argmax(core != core[0])) or len(core)
        if len(core) % step or not np.array_equal(core, np.repeat(core[::step], step)):
            return None
        resize, core = ("nearest", step), core[::step]
    offset = int(core[0])
    stride = int(core[1] - core[0]) if len(core) > 1 else 1
    if stride < 1 or not np.array_equal(core, offset + stride * np.arange(len(core))):
        return None
    return (offset, stride, len(core)), resize, pad
