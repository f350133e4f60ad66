"""numpy implementations of the streaming nodes, on whole tensors in stream (channels-last) order.

Vectorised: loops run over kernel positions or groups at most, never over pixels.
"""

import numpy as np


def window_views(x: np.ndarray, kernel, stride, dilation, pad, pad_value: float):
    """For each kernel position (r, c), the N x Ho x Wo x C view of the padded input it reads."""
    (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = kernel, stride, dilation, pad
    padded = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=pad_value) if any(pad) else x
    ho = (padded.shape[1] - dr * (kr - 1) - 1) // sr + 1
    wo = (padded.shape[2] - dc * (kc - 1) - 1) // sc + 1
    for r in range(kr):
        for c in range(kc):
            yield r, c, padded[:, r * dr: r * dr + sr * (ho - 1) + 1: sr, c * dc: c * dc + sc * (wo - 1) + 1: sc, :]


def conv2d(x: np.ndarray, weights: np.ndarray, bias: np.ndarray | None, stride, dilation, pad, groups: int) -> np.ndarray:
    """Grouped 2-D convolution; x is N x H x W x C, weights F x C/groups x Kr x Kc (PyTorch order)."""
    filters, cg, kr, kc = weights.shape
    views = {(r, c): v for r, c, v in window_views(x, (kr, kc), stride, dilation, pad, 0.0)}
    n, ho, wo, _ = views[0, 0].shape
    if cg == 1 and groups == filters:
        out = np.zeros((n, ho, wo, filters), dtype=np.result_type(x, weights))
        for (r, c), view in views.items():
            out += view * weights[:, 0, r, c]
    else:
        patches = np.stack([views[r, c] for r in range(kr) for c in range(kc)], axis=3)  # N Ho Wo K C
        patches = patches.reshape(n * ho * wo, kr * kc, groups, cg)
        fg = filters // groups
        w = weights.reshape(groups, fg, cg, kr * kc).transpose(0, 3, 2, 1)  # G K Cg Fg
        out = np.einsum("pkgc,gkcf->pgf", patches, w, optimize=True).reshape(n, ho, wo, filters)
    if bias is not None:
        out = out + bias
    return out


def pool2d(x: np.ndarray, kind: str, kernel, stride, dilation, pad) -> np.ndarray:
    """Max (padding -inf) or sum (padding 0) pooling of an N x H x W x C tensor."""
    views = [v for _, _, v in window_views(x, kernel, stride, dilation, pad, -np.inf if kind == "max" else 0.0)]
    return np.maximum.reduce(views) if kind == "max" else np.add.reduce(views)


def reduce(x: np.ndarray, kind: str, dims) -> np.ndarray:
    dims = tuple(dims)
    if kind == "max":
        return x.max(axis=dims, keepdims=True)
    total = x.sum(axis=dims, keepdims=True)
    return total / np.prod([x.shape[d] for d in dims]) if kind == "mean" else total


def linear(x: np.ndarray, weights: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    out = x @ weights.T
    return out + bias if bias is not None else out


_NUMPY_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(x: np.ndarray, pads, mode: str, value: float) -> np.ndarray:
    """Pad every dim by (lo, hi) pairs flattened in `pads`, in one of PyTorch's padding modes."""
    widths = list(zip(pads[0::2], pads[1::2]))
    if mode == "constant":
        return np.pad(x, widths, constant_values=value)
    return np.pad(x, widths, mode=_NUMPY_PAD_MODES[mode])


def slice_(x: np.ndarray, offsets, sizes, strides) -> np.ndarray:
    return x[tuple(slice(o, o + s * (n - 1) + 1, s) for o, n, s in zip(offsets, sizes, strides))]


def resize(x: np.ndarray, scale, mode: str) -> np.ndarray:
    """Nearest upsampling (repeat) or zero insertion by an integer factor per dim."""
    if mode == "nearest":
        for axis, s in enumerate(scale):
            if s > 1:
                x = np.repeat(x, s, axis=axis)
        return x
    out = np.zeros(tuple((d - 1) * s + 1 for d, s in zip(x.shape, scale)), dtype=x.dtype)
    out[tuple(slice(None, None, s) for s in scale)] = x
    return out
