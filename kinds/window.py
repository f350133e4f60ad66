"""The sliding-window geometry shared by convolution and pooling."""

from __future__ import annotations

from xdsl.dialects.builtin import DenseArrayBase
from xdsl.irdl import prop_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, window_output_size


class WindowOp(NodeOp):
    """A node sliding a Kr x Kc window over an N x H x W x C stream (convolution, pooling)."""

    kernel = prop_def(DenseArrayBase)
    stride = prop_def(DenseArrayBase)
    dilation = prop_def(DenseArrayBase)
    pad = prop_def(DenseArrayBase)

    def window_geometry(self):
        return self.ints_prop("kernel"), self.ints_prop("stride"), self.ints_prop("dilation"), self.ints_prop("pad")

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
