"""A small YOLO-style detector with two detection heads (coarse and fine), like YOLOv3-tiny."""

import torch
from torch import nn

from dfcc.examples.models.common import conv_bn, finish

ANCHORS, CLASSES = 3, 2
HEAD = ANCHORS * (5 + CLASSES)  # per anchor: box (4), objectness (1), class scores


def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.1)


class TinyYolo(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            conv_bn(3, 8, act=_leaky()), nn.MaxPool2d(2),
            conv_bn(8, 16, act=_leaky()), nn.MaxPool2d(2),
            conv_bn(16, 32, act=_leaky()),
        )  # stride 4
        self.deep = nn.Sequential(nn.MaxPool2d(2), conv_bn(32, 64, act=_leaky()), conv_bn(64, 32, 1, act=nn.SiLU()))
        self.head_coarse = nn.Sequential(conv_bn(32, 64, act=nn.SiLU()), nn.Conv2d(64, HEAD, 1))
        self.lateral = nn.Sequential(conv_bn(32, 16, 1, act=nn.SiLU()), nn.Upsample(scale_factor=2, mode="nearest"))
        self.head_fine = nn.Sequential(conv_bn(16 + 32, 32, act=nn.SiLU()), nn.Conv2d(32, HEAD, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shallow = self.stem(x)
        deep = self.deep(shallow)
        fine = torch.cat([self.lateral(deep), shallow], dim=1)
        return self.head_coarse(deep), self.head_fine(fine)


def yolo_tiny() -> nn.Module:
    """Input (1, 3, 64, 64) -> heads (1, 21, 8, 8) and (1, 21, 16, 16)."""
    torch.manual_seed(0)
    return finish(TinyYolo())
