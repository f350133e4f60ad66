"""MobileNetV2 and MobileNetV3 (small and large) written out like torchvision's, full and reduced-width."""

import torch
from torch import nn

from dfcc.examples.models.common import conv_bn, finish


def _divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of 8 without going more than 10% down (torchvision)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class InvertedResidualV2(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = [] if expand == 1 else [conv_bn(cin, hidden, 1, act=nn.ReLU6())]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6()), conv_bn(hidden, cout, 1)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    # expansion t, channels c, repeats n, first stride s
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes: int, width_mult: float = 1.0):
        super().__init__()
        cin = _divisible(32 * width_mult)
        last = _divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [conv_bn(3, cin, 3, 2, act=nn.ReLU6())]
        for t, c, n, s in self.SETTINGS:
            cout = _divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidualV2(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_bn(cin, last, 1, act=nn.ReLU6()))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class SqueezeExcitation(nn.Module):
    """Global avg pool -> 1x1 conv -> ReLU -> 1x1 conv -> hardsigmoid -> channel-wise scale."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scale_activation(self.fc2(self.relu(self.fc1(self.avgpool(x)))))
        return s * x


class InvertedResidualV3(nn.Module):
    def __init__(self, cin: int, k: int, hidden: int, cout: int, se: bool, act: type[nn.Module], stride: int):
        super().__init__()
        layers: list[nn.Module] = [] if hidden == cin else [conv_bn(cin, hidden, 1, act=act())]
        layers.append(conv_bn(hidden, hidden, k, stride, groups=hidden, act=act()))
        if se:
            layers.append(SqueezeExcitation(hidden, _divisible(hidden // 4)))
        layers.append(conv_bn(hidden, cout, 1))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV3(nn.Module):
    """Stem (3x3 stride 2, hardswish), the bottleneck SETTINGS, a 1x1 conv to 6x the last width,
    global average pool, then a hidden linear layer of HIDDEN units and the classifier (Howard et
    al., Searching for MobileNetV3, ICCV 2019, tables 1 and 2)."""

    RE, HS = nn.ReLU, nn.Hardswish
    # input channels, kernel, expanded channels, output channels, squeeze-excite, activation, stride
    SETTINGS: list = []
    HIDDEN = 1024

    def __init__(self, num_classes: int, width_mult: float = 1.0):
        super().__init__()

        def w(channels: int) -> int:
            return _divisible(channels * width_mult)

        layers: list[nn.Module] = [conv_bn(3, w(16), 3, 2, act=nn.Hardswish())]
        for cin, k, hidden, cout, se, act, stride in self.SETTINGS:
            layers.append(InvertedResidualV3(w(cin), k, w(hidden), w(cout), se, act, stride))
        last_width = self.SETTINGS[-1][3]
        last_conv = 6 * w(last_width)
        layers.append(conv_bn(w(last_width), last_conv, 1, act=nn.Hardswish()))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(last_conv, w(self.HIDDEN)), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(w(self.HIDDEN), num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class MobileNetV3Large(MobileNetV3):
    RE, HS = nn.ReLU, nn.Hardswish
    # Howard et al. table 1: input channels, kernel, expanded channels, output channels, SE, activation, stride
    SETTINGS = [
        (16, 3, 16, 16, False, RE, 1), (16, 3, 64, 24, False, RE, 2), (24, 3, 72, 24, False, RE, 1),
        (24, 5, 72, 40, True, RE, 2), (40, 5, 120, 40, True, RE, 1), (40, 5, 120, 40, True, RE, 1),
        (40, 3, 240, 80, False, HS, 2), (80, 3, 200, 80, False, HS, 1), (80, 3, 184, 80, False, HS, 1),
        (80, 3, 184, 80, False, HS, 1), (80, 3, 480, 112, True, HS, 1), (112, 3, 672, 112, True, HS, 1),
        (112, 5, 672, 160, True, HS, 2), (160, 5, 960, 160, True, HS, 1), (160, 5, 960, 160, True, HS, 1),
    ]
    HIDDEN = 1280


class MobileNetV3Small(MobileNetV3):
    RE, HS = nn.ReLU, nn.Hardswish
    # Howard et al. table 2: input channels, kernel, expanded channels, output channels, SE, activation, stride
    SETTINGS = [
        (16, 3, 16, 16, True, RE, 2), (16, 3, 72, 24, False, RE, 2), (24, 3, 88, 24, False, RE, 1),
        (24, 5, 96, 40, True, HS, 2), (40, 5, 240, 40, True, HS, 1), (40, 5, 240, 40, True, HS, 1),
        (40, 5, 120, 48, True, HS, 1), (48, 5, 144, 48, True, HS, 1), (48, 5, 288, 96, True, HS, 2),
        (96, 5, 576, 96, True, HS, 1), (96, 5, 576, 96, True, HS, 1),
    ]


def mobilenet_v2() -> nn.Module:
    """MobileNetV2 1.0, input (1, 3, 224, 224), 1000 classes."""
    torch.manual_seed(0)
    return finish(MobileNetV2(1000))


def mobilenet_v2_small() -> nn.Module:
    """MobileNetV2 at width 0.25, input (1, 3, 32, 32), 10 classes."""
    torch.manual_seed(0)
    return finish(MobileNetV2(10, width_mult=0.25))


def mobilenet_v3_small() -> nn.Module:
    """MobileNetV3-small 1.0, input (1, 3, 224, 224), 1000 classes."""
    torch.manual_seed(0)
    return finish(MobileNetV3Small(1000))


def mobilenet_v3_small_tiny() -> nn.Module:
    """MobileNetV3-small at width 0.25, input (1, 3, 32, 32), 10 classes."""
    torch.manual_seed(0)
    return finish(MobileNetV3Small(10, width_mult=0.25))


def mobilenet_v3_large() -> nn.Module:
    """MobileNetV3-large 1.0, input (1, 3, 224, 224), 1000 classes."""
    torch.manual_seed(0)
    return finish(MobileNetV3Large(1000))
