"""Swin's window partition: a 6-d permute that moves 4 dim groups. It lowers and matches PyTorch, explore
sizes its FIFOs (the schedule of a whole-tensor transpose needs only its element count), and the quantized
design's C simulation (transpose.h's 6-dim form) is bit-exact to the CPU reference."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.backends.hls.csim import csim  # noqa: E402
from dfcc.backends.hls.emit import emit_design  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.passes.registry import get_pass  # noqa: E402
from tests.torch_differential import assert_matches_torch  # noqa: E402


class Windows(nn.Module):
    """1 x 4 x 4 x C (channels last) -> 2 x 2 windows of 2 x 2 tokens, each window's tokens scaled."""

    def forward(self, x):
        n, h, w, c = x.shape
        windows = x.reshape(n, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, 4, c)
        return windows * 2 + 1


def test_window_partition_matches_pytorch():
    assert_matches_torch(Windows(), torch.randn(1, 4, 4, 3))


def test_window_partition_quantized_csim_is_bit_exact():
    pytest.importorskip("hls4ml")
    module = import_module(Windows().eval(), torch.randn(1, 4, 4, 3))
    for step in parse_pipeline("lower-to-dataflow,quantize{weight-bits=8 act-bits=8},explore{platform=zcu102}"):
        step.instantiate(get_pass(step.name)).apply(make_context(), module)
    # the stream 1x4x3x4 (a 4-d input is channels-last) viewed as 1x2x2x3x2x2, permuted by (0, 4, 1, 5, 2, 3):
    # groups [4] [1] [5] [2 3] of sizes 2 2 2 6, i.e. 1x1x2x6x2x2 read in the order (0, 1, 4, 2, 5, 3)
    assert "dfcc::transpose<1, 1, 2, 6, 2, 2, 0, 1, 4, 2, 5, 3," in emit_design(module).files["top.cpp"]
    x = [np.random.default_rng(0).standard_normal((1, 4, 4, 3)).astype(np.float32)]
    result = csim(module, x)
    assert result.warnings == []
    (expected,) = run_reference(module, x)
    assert np.array_equal(result.outputs[0], expected)
