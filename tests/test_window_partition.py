"""Swin's window partition: a 6-d permute that moves 4 dim groups. It lowers and matches PyTorch, explore
sizes its FIFOs (the schedule of a whole-tensor transpose needs only its element count), and the HLS
backend names it as unsupported (transpose.h moves at most 3 dim groups)."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402

from dfcc.backends.hls.emit import emit_design  # noqa: E402
from dfcc.errors import DfccError  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.passes.lower_to_dataflow import LowerToDataflow  # noqa: E402
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


def test_window_partition_explores_and_hls_names_it():
    module = import_module(Windows().eval(), torch.randn(1, 4, 4, 3))
    LowerToDataflow().apply(None, module)
    (step,) = parse_pipeline("explore{platform=zcu102}")
    step.instantiate(get_pass(step.name)).apply(make_context(), module)
    with pytest.raises(DfccError, match="transposes that permute more than 3 dims"):
        emit_design(module)
