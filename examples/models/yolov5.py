"""YOLOv5n written out like Ultralytics' yolov5n.yaml (v6.0: width 0.25, depth 0.33, SiLU): C3 blocks,
SPPF, a PAN neck with nearest upsample + concat, and three 1x1 detection heads (P3, P4, P5)."""

import torch
from torch import nn

from dfcc.examples.models.common import conv_bn, finish

CLASSES, ANCHORS = 80, 3
HEAD = ANCHORS * (5 + CLASSES)


def _conv(cin: int, cout: int, k: int = 1, s: int = 1) -> nn.Module:
    return conv_bn(cin, cout, k, s, act=nn.SiLU())


class Bottleneck(nn.Module):
    def __init__(self, c: int, shortcut: bool):
        super().__init__()
        self.cv1, self.cv2 = _conv(c, c, 1), _conv(c, c, 3)
        self.add = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    """CSP bottleneck with 3 convs: two 1x1 branches, n bottlenecks on one, concat, 1x1."""

    def __init__(self, cin: int, cout: int, n: int, shortcut: bool = True):
        super().__init__()
        hidden = cout // 2
        self.cv1, self.cv2, self.cv3 = _conv(cin, hidden), _conv(cin, hidden), _conv(2 * hidden, cout)
        self.m = nn.Sequential(*(Bottleneck(hidden, shortcut) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat([self.m(self.cv1(x)), self.cv2(x)], dim=1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: three chained 5x5 max-pools, concat, 1x1."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        hidden = cin // 2
        self.cv1, self.cv2 = _conv(cin, hidden), _conv(4 * hidden, cout)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.cv2(torch.cat([x, y1, y2, self.pool(y2)], dim=1))


class YoloV5n(nn.Module):
    def __init__(self):
        super().__init__()
        self.b0, self.b1, self.b2 = _conv(3, 16, 6, 2), _conv(16, 32, 3, 2), C3(32, 32, 1)
        self.b3, self.b4 = _conv(32, 64, 3, 2), C3(64, 64, 2)  # P3
        self.b5, self.b6 = _conv(64, 128, 3, 2), C3(128, 128, 3)  # P4
        self.b7, self.b8, self.b9 = _conv(128, 256, 3, 2), C3(256, 256, 1), SPPF(256, 256)  # P5
        self.h10, self.h13 = _conv(256, 128), C3(256, 128, 1, False)
        self.h14, self.h17 = _conv(128, 64), C3(128, 64, 1, False)
        self.h18, self.h20 = _conv(64, 64, 3, 2), C3(128, 128, 1, False)
        self.h21, self.h23 = _conv(128, 128, 3, 2), C3(256, 256, 1, False)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.detect = nn.ModuleList(nn.Conv2d(c, HEAD, 1) for c in (64, 128, 256))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        t10 = self.h10(p5)
        t14 = self.h14(self.h13(torch.cat([self.up(t10), p4], dim=1)))
        out3 = self.h17(torch.cat([self.up(t14), p3], dim=1))
        out4 = self.h20(torch.cat([self.h18(out3), t14], dim=1))
        out5 = self.h23(torch.cat([self.h21(out4), t10], dim=1))
        return tuple(head(o) for head, o in zip(self.detect, (out3, out4, out5)))


def yolov5n() -> nn.Module:
    """Input (1, 3, 640, 640) -> heads (1, 255, 80, 80), (1, 255, 40, 40), (1, 255, 20, 20)."""
    torch.manual_seed(0)
    return finish(YoloV5n())
