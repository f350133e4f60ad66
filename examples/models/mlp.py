"""A small multi-layer perceptron."""

import torch
from torch import nn

from dfcc.examples.models.common import finish


def mlp() -> nn.Module:
    """Flatten (1, 1, 8, 8) -> linear 64->32 -> ReLU -> linear 32->10."""
    torch.manual_seed(0)
    return finish(nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)))
