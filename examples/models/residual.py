"""Single ResNet basic blocks: identity shortcut and strided 1x1 conv shortcut."""

import torch
from torch import nn

from dfcc.examples.models.common import finish
from dfcc.examples.models.resnet import BasicBlock


def basic_block() -> nn.Module:
    """Input (1, 16, 8, 8), identity shortcut."""
    torch.manual_seed(0)
    return finish(BasicBlock(16, 16))


def basic_block_strided() -> nn.Module:
    """Input (1, 16, 8, 8) -> (1, 32, 4, 4), shortcut is a stride-2 1x1 conv + BN."""
    torch.manual_seed(0)
    return finish(BasicBlock(16, 32, stride=2))
