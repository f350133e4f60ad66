"""Indexing an activation with a constant index tensor (`x[:, buffer]`): torch-mlir's frozen import used
to refuse the index list ("Heterogeneous lists are not supported"); dfcc-import hands it a copy instead."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402

from tests.torch_differential import assert_matches_torch  # noqa: E402


class TakeChannels(nn.Module):
    def __init__(self, channels: list[int]):
        super().__init__()
        self.register_buffer("channels", torch.tensor(channels))

    def forward(self, x):
        return x[:, self.channels] * 2


def test_channels_picked_by_a_buffer_match_pytorch():
    """Channels 1, 2, 3 of 5: a slice once the index is known."""
    assert_matches_torch(TakeChannels([1, 2, 3]), torch.randn(1, 5, 3, 3))


def test_a_reordering_by_a_buffer_matches_pytorch():
    """Channels 2, 0, 1: not a slice, read in the index's order (dataflow.reindex)."""
    assert_matches_torch(TakeChannels([2, 0, 1]), torch.randn(1, 3, 3, 3))
