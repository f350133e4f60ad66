"""torch.roll (Swin's shifted windows): torch-mlir writes it as two slices cast to unknown sizes and joined."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402

from tests.torch_differential import assert_matches_torch  # noqa: E402


class Roll(nn.Module):
    def forward(self, x):
        return torch.roll(x, shifts=(-1, 2), dims=(1, 2)) + 1


def test_roll_matches_pytorch():
    assert_matches_torch(Roll(), torch.randn(1, 4, 5, 3))
