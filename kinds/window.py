"""The sliding-window geometry shared by convolution and pooling, and their numpy kernels (on whole
tensors in stream order, vectorised: loops run over kernel positions or groups, never over pixels)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, StringAttr
from xdsl.irdl import prop_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, window_output_size
from dfcc.dialects.fixed_point import derived


# On a conv: "off_chip" when its input waits in DRAM and each output row's window rows are read back from
# there, instead of a line buffer holding the last Kr-1 rows on chip (SMOF). Absent: on chip.
LINE_BUFFER_ATTR = "dataflow.line_buffer"


class WindowOp(NodeOp):
    """A node sliding a Kr x Kc window over an N x H x W x C stream (convolution, pooling)."""

    EVICTABLE_LINE_BUFFER: ClassVar[bool] = False  # whether its line buffer may live in DRAM (LINE_BUFFER_ATTR)

    kernel = prop_def(DenseArrayBase)
    stride = prop_def(DenseArrayBase)
    dilation = prop_def(DenseArrayBase)
    pad = prop_def(DenseArrayBase)

    def window_geometry(self):
        return self.ints_prop("kernel"), self.ints_prop("stride"), self.ints_prop("dilation"), self.ints_prop("pad")

    def line_buffer_off_chip(self) -> bool:
        attr = self.attributes.get(LINE_BUFFER_ATTR)
        return isinstance(attr, StringAttr) and attr.data == "off_chip"

    def _verify_line_buffer(self, in_type: StreamType) -> None:
        attr = self.attributes.get(LINE_BUFFER_ATTR)
        if attr is None:
            return
        where = f"{self.name} '{self.node_name.data}': {LINE_BUFFER_ATTR}"
        if not (isinstance(attr, StringAttr) and attr.data == "off_chip"):
            raise VerifyException(f'{where} must be "off_chip" (absent: on chip), got {attr}')
        if not self.EVICTABLE_LINE_BUFFER:
            raise VerifyException(f"{where}: only a dense conv's line buffer can live in DRAM")
        if self.ints_prop("kernel")[0] < 2:
            raise VerifyException(f"{where}: a one-row kernel has no line buffer")
        if in_type.get_shape()[0] != 1:
            raise VerifyException(f"{where}: batch 1 only")

    def expected_spatial(self, height: int, width: int) -> tuple[int, int]:
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = self.window_geometry()
        return window_output_size(height, kr, sr, dr, pt, pb), window_output_size(width, kc, sc, dc, pl, pr)

    def _verify_window(self, in_type: StreamType, out_type: StreamType, out_channels: int) -> None:
        kernel, stride, dilation, pad = self.window_geometry()
        if len(kernel) != 2 or len(stride) != 2 or len(dilation) != 2 or len(pad) != 4:
            raise VerifyException(f"{self.name}: kernel, stride, dilation need 2 values and pad 4")
        if min(kernel + stride + dilation) < 1 or min(pad) < 0:
            raise VerifyException(f"{self.name}: kernel, stride, dilation must be >= 1 and pad >= 0")
        if len(in_type.get_shape()) != 4:
            raise VerifyException(f"{self.name} expects an N x H x W x C stream, got {in_type.get_shape()}")
        n, h, w, _ = in_type.get_shape()
        expected = (n, *self.expected_spatial(h, w), out_channels)
        if out_type.get_shape() != expected:
            raise VerifyException(f"{self.name} '{self.node_name.data}': output shape {out_type.get_shape()}, expected {expected}")
        self._verify_line_buffer(in_type)


def window_views(x: np.ndarray, kernel, stride, dilation, pad, pad_value: float):
    """For each kernel position (r, c), the N x Ho x Wo x C view of the padded input it reads."""
    (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = kernel, stride, dilation, pad
    padded = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=pad_value) if any(pad) else x
    ho = (padded.shape[1] - dr * (kr - 1) - 1) // sr + 1
    wo = (padded.shape[2] - dc * (kc - 1) - 1) // sc + 1
    for r in range(kr):
        for c in range(kc):
            yield r, c, padded[:, r * dr: r * dr + sr * (ho - 1) + 1: sr, c * dc: c * dc + sc * (wo - 1) + 1: sc, :]


def conv2d(x: np.ndarray, weights: np.ndarray, bias: np.ndarray | None, stride, dilation, pad, groups: int,
           exact: bool = False) -> np.ndarray:
    """Grouped 2-D convolution; x is N x H x W x C, weights F x C/groups x Kr x Kc (PyTorch order).
    `exact`: every sum is exact in any order (the integer codes of run_fixed), so an ungrouped conv's GEMM
    puts the longer of pixels and filters first, as BLAS runs it up to 3x faster (ResNet-50's 3136-pixel
    and 196-pixel layers), and returns its result in the same layout."""
    filters, cg, kr, kc = weights.shape
    views = {(r, c): v for r, c, v in window_views(x, (kr, kc), stride, dilation, pad, 0.0)}
    n, ho, wo, _ = views[0, 0].shape
    if cg == 1 and groups == filters:
        out = np.zeros((n, ho, wo, filters), dtype=np.result_type(x, weights))
        for (r, c), view in views.items():
            out += view * weights[:, 0, r, c]
    elif groups == 1:
        # one GEMM, filters x (taps, channels) by (taps, channels) x pixels: the product einsum's path below
        # takes for one group (same operand roles, so the same sums), without its copies of the patches
        taps = [views[r, c].transpose(3, 0, 1, 2) for r in range(kr) for c in range(kc)]  # C N Ho Wo each
        patches = (taps[0] if len(taps) == 1 else np.stack(taps)).reshape(kr * kc * cg, n * ho * wo)
        w = derived(weights, "gemm", lambda: weights.transpose(0, 2, 3, 1).reshape(filters, kr * kc * cg))  # once per weights
        out = np.ascontiguousarray((patches.T @ w.T).T) if exact and n * ho * wo > filters else w @ patches
        out = out.T.reshape(n, ho, wo, filters)
    else:
        taps = [views[r, c] for r in range(kr) for c in range(kc)]
        patches = taps[0][:, :, :, None] if len(taps) == 1 else np.stack(taps, axis=3)  # N Ho Wo K C (1x1: no copy)
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
