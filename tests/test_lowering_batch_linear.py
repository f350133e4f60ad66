"""A linear layer on a rank-3 activation (MobileViT's patch transformer): torch-mlir writes a batched matmul
whose constant weights repeat for every batch entry, which is one linear node over all rows."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402

from dfcc.errors import DfccError  # noqa: E402
from tests.torch_differential import assert_matches_torch, lowered_vs_torch  # noqa: E402


class Batched(nn.Module):
    def __init__(self, weights: torch.Tensor):
        super().__init__()
        self.weights = nn.Parameter(weights)

    def forward(self, x):
        return torch.bmm(x.reshape(4, 3, 6), self.weights).relu()


def test_weights_shared_by_the_batch_match_pytorch():
    assert_matches_torch(Batched(torch.randn(1, 6, 5).expand(4, 6, 5).clone()), torch.randn(1, 2, 6, 6))


def test_weights_that_differ_per_batch_entry_are_named():
    with pytest.raises(DfccError, match=r"'linalg.batch_matmul' at <torch-mlir>:\d+\): .*different constant weights"):
        lowered_vs_torch(Batched(torch.randn(4, 6, 5)), torch.randn(1, 2, 6, 6))
