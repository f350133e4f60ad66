"""Single convolutions and small stacks covering Conv2d's configuration space.

All take input (1, 8, 12, 12). Every padding mode torch has (zeros, reflect, replicate, circular)
imports through torch-mlir: zeros becomes tensor.pad; circular becomes extract/insert_slice
copies; reflect and replicate become index-computing linalg.generic gathers (tensor.extract).
"""

import torch
from torch import nn

from dfcc.examples.models.common import finish


def _conv(**kwargs) -> nn.Module:
    torch.manual_seed(0)
    args = dict(in_channels=8, out_channels=8, kernel_size=3, padding=1) | kwargs
    return finish(nn.Conv2d(**args))


def conv_dilated() -> nn.Module:
    """3x3, dilation 2, padding 2."""
    return _conv(dilation=2, padding=2)


def conv_groups2() -> nn.Module:
    """3x3, groups=2, 8->8."""
    return _conv(groups=2)


def conv_groups4() -> nn.Module:
    """3x3, groups=4, 8->16."""
    return _conv(groups=4, out_channels=16)


def conv_depthwise() -> nn.Module:
    """3x3 depthwise (groups=8, 8->8)."""
    return _conv(groups=8)


def conv_depthwise_multiplier() -> nn.Module:
    """3x3 depthwise with channel multiplier 2 (groups=8, 8->16)."""
    return _conv(groups=8, out_channels=16)


def conv_1x3() -> nn.Module:
    return _conv(kernel_size=(1, 3), padding=(0, 1))


def conv_3x1() -> nn.Module:
    return _conv(kernel_size=(3, 1), padding=(1, 0))


def conv_5x3() -> nn.Module:
    """5x3 kernel, unpadded."""
    return _conv(kernel_size=(5, 3), padding=0)


def conv_stride_1x2() -> nn.Module:
    """3x3 with stride (1, 2)."""
    return _conv(stride=(1, 2))


def conv_no_bias() -> nn.Module:
    return _conv(bias=False)


def conv_pad_reflect() -> nn.Module:
    return _conv(padding_mode="reflect")


def conv_pad_replicate() -> nn.Module:
    return _conv(padding_mode="replicate")


def conv_pad_circular() -> nn.Module:
    return _conv(padding_mode="circular")


def conv_same_asym() -> nn.Module:
    """TF-style 'same' for stride 2: explicit asymmetric zero pad (right/bottom) + unpadded 3x3 conv."""
    torch.manual_seed(0)
    return finish(nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(8, 8, 3, stride=2)))


def conv_stack() -> nn.Module:
    """5x5 stride 2 + BN + ReLU, then 1x1 without bias, then 3x3 dilation 3 with groups 2."""
    torch.manual_seed(0)
    return finish(
        nn.Sequential(
            nn.Conv2d(8, 16, 5, stride=2, padding=2), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 8, 1, bias=False),
            nn.Conv2d(8, 8, 3, dilation=3, padding=3, groups=2),
        )
    )
