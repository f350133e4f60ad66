"""A small three-level UNet: max-pool down, ConvTranspose2d up, long skips joined by concat."""

import torch
from torch import nn

from dfcc.examples.models.common import conv_bn, finish


def _double_conv(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(conv_bn(cin, cout, act=nn.ReLU()), conv_bn(cout, cout, act=nn.ReLU()))


class UNet(nn.Module):
    def __init__(self, cin: int = 1, classes: int = 2, width: int = 8):
        super().__init__()
        self.enc1 = _double_conv(cin, width)
        self.enc2 = _double_conv(width, 2 * width)
        self.bottom = _double_conv(2 * width, 4 * width)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _double_conv(4 * width, 2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _double_conv(2 * width, width)
        self.out = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.out(d1)


def unet() -> nn.Module:
    """Input (1, 1, 32, 32) -> per-pixel logits (1, 2, 32, 32)."""
    torch.manual_seed(0)
    return finish(UNet())


class UNet4(nn.Module):
    """Four max-pool levels down and four ConvTranspose2d levels up, each joined to its encoder by concat."""

    def __init__(self, cin: int = 3, classes: int = 2, width: int = 16, levels: int = 4):
        super().__init__()
        widths = [width * 2**i for i in range(levels + 1)]
        self.down = nn.ModuleList(_double_conv(a, b) for a, b in zip([cin] + widths[:-2], widths[:-1]))
        self.bottom = _double_conv(widths[-2], widths[-1])
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(widths[:-1], widths[1:]))
        self.decs = nn.ModuleList(_double_conv(2 * a, a) for a in widths[:-1])
        self.out = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for up, dec, skip in reversed(list(zip(self.ups, self.decs, skips))):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.out(x)


def unet4() -> nn.Module:
    """Input (1, 3, 256, 256) -> per-pixel logits (1, 2, 256, 256); long skips up to 256x256x16."""
    torch.manual_seed(0)
    return finish(UNet4())
