"""A depthwise-separable block (MobileNetV1 style)."""

import torch
from torch import nn

from dfcc.examples.models.common import conv_bn, finish


def dwsep() -> nn.Module:
    """Input (1, 16, 16, 16): depthwise 3x3 + BN + ReLU6, pointwise 1x1 16->32 + BN + ReLU6."""
    torch.manual_seed(0)
    return finish(
        nn.Sequential(
            conv_bn(16, 16, 3, groups=16, act=nn.ReLU6()),
            conv_bn(16, 32, 1, act=nn.ReLU6()),
        )
    )
