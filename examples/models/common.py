"""Helpers shared by the example models."""

import torch
from torch import nn


def finish(model: nn.Module) -> nn.Module:
    """Randomize every normalization layer's statistics and affine parameters, then eval().

    Defaults (mean 0, var 1, weight 1, bias 0) make folding mistakes invisible, so every model
    goes through this. Call it right after building the model under `torch.manual_seed`.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, RMSNorm)):
                m.weight.uniform_(0.5, 1.5)
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm)):
                m.bias.normal_(0.0, 0.2)
    return model.eval()


class RMSNorm(nn.Module):
    """LLaMA's RMSNorm written out: x / sqrt(mean(x^2) + eps) * weight."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: nn.Module | None = None):
    """Conv (no bias, 'same' padding for odd k) + BatchNorm + optional activation."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)
