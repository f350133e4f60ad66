"""A small CNN: conv-BN-ReLU, max pool, conv, average pool, linear."""

import torch
from torch import nn

from dfcc.examples.models.common import conv_bn, finish


def cnn() -> nn.Module:
    """Input (1, 3, 16, 16) -> 10 logits."""
    torch.manual_seed(0)
    return finish(
        nn.Sequential(
            conv_bn(3, 8, act=nn.ReLU()),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 4 * 4, 10),
        )
    )
