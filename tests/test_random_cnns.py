"""Random small CNNs, differential against PyTorch (seeded, so every failure reproduces by its id).

Each seed draws a chain of convs (groups, padding, stride, dilation), batch norms, activations and
max/avg pools (ceil_mode, count_include_pad) on a random non-square input; the lowered graph run by
the CPU reference must match PyTorch; a few of them, quantized and folded, must also C-simulate bit
for bit like the CPU reference. Sized to run in about a minute.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.backends.hls.csim import csim  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.passes.registry import get_pass  # noqa: E402
from tests.torch_differential import assert_matches_torch  # noqa: E402

SEEDS = range(16)


def _window_out(size: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    """PyTorch's output size (with its rule that a ceil_mode window must start inside the input or left padding)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def _conv(rng: np.random.Generator, channels: int, size: tuple[int, int]):
    k, s, d = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    groups = int(rng.choice([g for g in (1, 2, 4, channels) if channels % g == 0]))
    out_channels = groups * int(rng.integers(1, 4))
    p = int(rng.integers(0, k // 2 + d))
    return nn.Conv2d(channels, out_channels, k, s, p, d, groups=groups), out_channels, (k, s, p, d, False)


def _pool(rng: np.random.Generator, channels: int, size: tuple[int, int]):
    k, s = int(rng.integers(2, 4)), int(rng.integers(1, 4))
    p, ceil = int(rng.integers(0, k // 2 + 1)), bool(rng.integers(0, 2))
    if rng.integers(0, 2):
        d = int(rng.integers(1, 3))
        return nn.MaxPool2d(k, s, p, d, ceil_mode=ceil), channels, (k, s, p, d, ceil)
    return nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=bool(rng.integers(0, 2))), channels, (k, s, p, 1, ceil)


def random_cnn(seed: int) -> tuple[nn.Module, torch.Tensor]:
    """A chain of 2-5 window layers (each maybe followed by batch norm and an activation) and its input."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    channels, size = int(rng.choice([2, 4])), (int(rng.integers(7, 20)), int(rng.integers(7, 20)))
    layers, x = [], torch.randn(1, channels, *size)
    for _ in range(int(rng.integers(2, 6))):
        layer, out_channels, (k, s, p, d, ceil) = (_conv if rng.integers(0, 3) else _pool)(rng, channels, size)
        out = tuple(_window_out(n, k, s, p, d, ceil) for n in size)
        if min(out) < 1:
            continue
        layers.append(layer)
        channels, size = out_channels, out
        if isinstance(layer, nn.Conv2d) and rng.integers(0, 2):
            norm = nn.BatchNorm2d(channels)
            norm.running_mean.uniform_(-1, 1)
            norm.running_var.uniform_(0.5, 2)
            layers.append(norm)
        if rng.integers(0, 2):
            layers.append([nn.ReLU(), nn.Hardswish(), nn.SiLU()][int(rng.integers(0, 3))])
    return nn.Sequential(*layers), x


@pytest.mark.parametrize("seed", SEEDS)
def test_random_cnn_matches_pytorch(seed):
    model, x = random_cnn(seed)
    assert_matches_torch(model, x)


CSIM_SEEDS = range(4)  # each compiles a C simulation (seconds of g++)


@pytest.mark.parametrize("seed", CSIM_SEEDS)
def test_random_cnn_fixed_point_csim_is_bit_exact(seed):
    """The same random CNNs, quantized to 8 bits and folded for a board: csim equals the CPU reference."""
    pytest.importorskip("hls4ml")
    model, x = random_cnn(seed)
    module = import_module(model.eval(), x)
    for spec in parse_pipeline("lower-to-dataflow,quantize{weight-bits=8 act-bits=8},explore{platform=zcu102}"):
        spec.instantiate(get_pass(spec.name)).apply(make_context(), module)
    module.verify()
    inputs = [x.numpy()]
    expected = run_reference(module, inputs)
    result = csim(module, inputs)
    assert result.warnings == [], result.warnings
    for out, ref in zip(result.outputs, expected, strict=True):
        assert np.array_equal(out, ref), f"{np.sum(out != ref)} of {out.size} values differ"
