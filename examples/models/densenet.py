"""DenseNet-121 written out like torchvision's (dense layers joined by channel concat), plus a small
32x32 variant for fast tests."""

import torch
from torch import nn

from dfcc.examples.models.common import finish


class DenseLayer(nn.Module):
    """BN-ReLU-conv1x1 (bn_size * growth) - BN-ReLU-conv3x3 (growth); its output joins its input."""

    def __init__(self, cin: int, growth: int, bn_size: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, bn_size * growth, 1, bias=False),
            nn.BatchNorm2d(bn_size * growth), nn.ReLU(), nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], 1)  # torchvision concatenates all earlier features: the same tensor


def _transition(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.AvgPool2d(2, 2))


class DenseNet(nn.Module):
    def __init__(self, growth: int, blocks: tuple[int, ...], init: int, bn_size: int, classes: int, stem_pool: bool):
        super().__init__()
        if stem_pool:  # ImageNet stem: 7x7/2 conv, 3x3/2 max pool
            layers = [nn.Conv2d(3, init, 7, 2, 3, bias=False), nn.BatchNorm2d(init), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
        else:
            layers = [nn.Conv2d(3, init, 3, 1, 1, bias=False)]
        c = init
        for i, n in enumerate(blocks):
            for _ in range(n):
                layers.append(DenseLayer(c, growth, bn_size))
                c += growth
            if i < len(blocks) - 1:
                layers.append(_transition(c, c // 2))
                c //= 2
        layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def densenet121() -> nn.Module:
    """Input (1, 3, 224, 224) -> logits (1, 1000): growth 32, blocks (6, 12, 24, 16), 64 stem channels."""
    torch.manual_seed(0)
    return finish(DenseNet(32, (6, 12, 24, 16), 64, 4, 1000, stem_pool=True))


def densenet_small() -> nn.Module:
    """Input (1, 3, 32, 32) -> logits (1, 10): growth 8, blocks (3, 3), 16 stem channels."""
    torch.manual_seed(0)
    return finish(DenseNet(8, (3, 3), 16, 2, 10, stem_pool=False))
