"""A model with two inputs (image, vector) and two outputs (logits, feature map)."""

import torch
from torch import nn

from dfcc.examples.models.common import conv_bn, finish


class TwoInTwoOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = conv_bn(3, 8, act=nn.ReLU())
        self.embed = nn.Linear(4, 8)
        self.head = nn.Linear(8, 5)

    def forward(self, image: torch.Tensor, vector: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.features(image)
        pooled = feat.mean(dim=(2, 3))
        return self.head(pooled + self.embed(vector)), feat


def multi_io() -> nn.Module:
    """Inputs (1, 3, 16, 16) and (1, 4) -> logits (1, 5) and features (1, 8, 16, 16)."""
    torch.manual_seed(0)
    return finish(TwoInTwoOut())
