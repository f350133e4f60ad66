"""Batch norms no conv precedes (DenseNet's pre-activation BN -> ReLU -> conv on a concat): dataflow-cleanup
writes their affine part as x * scale + shift (one product a lane), and where a positively homogeneous
activation and only convs or linears follow and every scale is > 0, moves the scale into those convs' weights
(the map then adds and compares: no product). Numbers against PyTorch, the HLS against the CPU reference, the
DSPs of the rewritten maps by hand."""

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")
from torch import nn  # noqa: E402
from xdsl.dialects.builtin import IntegerAttr, i64  # noqa: E402

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.kinds import ConvOp, LinearOp, MapOp  # noqa: E402
from dfcc.kinds.cost import node_cost  # noqa: E402
from dfcc.passes.lower_to_dataflow import LowerToDataflow  # noqa: E402
from dfcc.passes.quantize import Quantize  # noqa: E402


def trained_bn(bn: nn.modules.batchnorm._BatchNorm, seed: int, negative: int = 0) -> nn.Module:
    """Statistics and affine parameters far from the defaults (which hide folding mistakes); the first
    `negative` channels' gamma below zero."""
    g = torch.Generator().manual_seed(seed)
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=g))
        bn.running_var.copy_(torch.rand(c, generator=g) * 3 + 0.2)
        bn.weight.copy_(torch.rand(c, generator=g) * 2 + 0.3)
        bn.weight[:negative] *= -1
        bn.bias.copy_(torch.randn(c, generator=g))
    return bn


class PreActivation(nn.Module):
    """conv -> concat with the input -> BN -> `act` -> `head`: the BN reads a concat, no conv to fold into."""

    def __init__(self, act: nn.Module, head: nn.Module, negative: int = 0, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv0 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = trained_bn(nn.BatchNorm2d(8), seed, negative)
        self.act, self.head = act, head

    def forward(self, x):
        return self.head(self.act(self.bn(torch.cat([x, self.conv0(x)], 1))))


class TwoReaders(nn.Module):
    """One BN -> ReLU read by a 3x3 conv and a grouped 1x1 conv (a fork: both take the scale)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(8, 6, 3, padding=1), nn.Conv2d(8, 6, 1, groups=2)

    def forward(self, x):
        return self.a(x) + self.b(x)


class ChannelMean(nn.Module):
    """A mean over channels (mixes them: a per-channel scale cannot pass) -> 1x1 conv."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 1)

    def forward(self, x):
        return self.conv(x.mean(1, keepdim=True))


class Vector(nn.Module):
    """BN over features -> ReLU -> linear, the BN reading the graph input."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.bn, self.fc = trained_bn(nn.BatchNorm1d(12), 3), nn.Linear(12, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(x)))


class TwoNorms(nn.Module):
    """A BN with positive scales (moved into conv1) then one with negative ones (kept: x * scale + shift)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.conv0, self.conv1, self.conv2 = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(8, 4, 3, padding=1), nn.Conv2d(12, 4, 1)
        self.bn1, self.bn2 = trained_bn(nn.BatchNorm2d(8), 4), trained_bn(nn.BatchNorm2d(12), 5, negative=3)

    def forward(self, x):
        y = torch.cat([x, self.conv0(x)], 1)
        z = torch.cat([y, self.conv1(torch.relu(self.bn1(y)))], 1)
        return self.conv2(torch.relu(self.bn2(z)))


def image(seed: int = 0, shape=(1, 4, 8, 8)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def lowered(model: nn.Module, x: torch.Tensor):
    module = import_module(model.eval(), x)
    LowerToDataflow().apply(make_context(), module)
    module.verify()
    return module


def check_against_torch(model: nn.Module, x: torch.Tensor):
    """Lower `model`, assert the reference computes PyTorch's numbers; the module."""
    module = lowered(model, x)
    (out,) = run_reference(module, [x.numpy()])
    with torch.no_grad():
        ref = model(x).numpy()
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
    return module


def maps(module) -> list[MapOp]:
    return [op for op in module.walk() if isinstance(op, MapOp)]


def products(op: MapOp) -> int:
    return sum(o.name in ("arith.mulf", "arith.divf") for o in op.body.block.ops)


def test_scale_moves_into_the_conv_after_relu():
    """ReLU(a x + b) = a ReLU(x + b/a) for a > 0: the map adds and compares, conv0 is untouched (its output
    also goes to the concat), conv1 reads the scale in its weights (zero padding stays zero)."""
    model = PreActivation(nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
    module = check_against_torch(model, image())
    (bn,) = maps(module)
    assert products(bn) == 0 and [o.name for o in bn.body.block.ops].count("arith.addf") == 1


def test_negative_gamma_keeps_one_product():
    """A channel with gamma < 0 cannot move its scale through the ReLU: the map keeps x * scale + shift,
    one product a lane (the BN's (x - mean) * invstd * gamma + beta had two)."""
    module = check_against_torch(PreActivation(nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1), negative=3), image())
    (bn,) = maps(module)
    assert products(bn) == 1 and len(bn.params) == 2


@pytest.mark.parametrize("act,head,moved", [
    (nn.LeakyReLU(0.1), nn.Conv2d(8, 3, 3, padding=1), True),  # select(x > 0, x, 0.1 x): homogeneous
    (nn.Identity(), nn.Conv2d(8, 3, 1), True),  # BN -> conv with no activation: the whole scale moves
    (nn.ReLU6(), nn.Conv2d(8, 3, 1), False),  # min(max(y, 0), 6): the 6 does not scale
    (nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)), nn.Identity(), False),  # the pool's reader is the output
    (nn.ReLU(), nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 3, 1)), True),  # max(a y) = a max(y) for a > 0
    (nn.ReLU(), ChannelMean(), False),
    (nn.ReLU(), TwoReaders(), True),  # every reader (via a fork) a conv, one grouped
], ids=["leaky_relu", "no_activation", "relu6", "pool_output", "pool_conv", "channel_mean",
                                  "fork_grouped"])
def test_which_activations_and_readers_take_the_scale(act, head, moved):
    module = check_against_torch(PreActivation(act, head, seed=7), image(1))
    bn = maps(module)[0]
    assert products(bn) == (0 if moved else 1) + (isinstance(act, nn.LeakyReLU))


def test_linear_reader():
    module = check_against_torch(Vector(), torch.randn(3, 12, generator=torch.Generator().manual_seed(2)))
    (bn,) = maps(module)
    assert products(bn) == 0 and isinstance(next(iter(bn.output.uses)).operation, LinearOp)


def test_fixed_point_csim_is_bit_exact():
    """Quantized, the HLS builds both forms (an adding map, a one-product map) and computes what the CPU
    reference computes, bit for bit; the float graph still matches PyTorch."""
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim

    model, x = TwoNorms(), image(3)
    module = check_against_torch(model, x)
    assert sorted(products(op) for op in maps(module)) == [0, 1]
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), module)
    (expected,) = run_reference(module, [x.numpy()])
    result = csim(module, [x.numpy()])
    assert result.warnings == []
    np.testing.assert_array_equal(result.outputs[0], expected)
    with torch.no_grad():
        ref = model(x).numpy()
    assert np.abs(expected - ref).max() < 0.1 * np.abs(ref).max()  # 8-bit: close, not equal


def test_dsps_of_the_rewritten_maps():
    """At 16 bits and 4 lanes: the kept map's x * scale is 16 x 16 bits, one DSP48 (27 x 18) a lane: 4 DSPs
    (the BN as written, (x - mean) * invstd * gamma + beta, took 17 x 16 then 33 x 16: 1 + 2 a lane, 12);
    the moved map adds and compares: none. conv1 and conv2 keep their own MACs."""
    module = lowered(TwoNorms(), image(3))
    Quantize(weight_bits=16, act_bits=16).apply(make_context(), module)
    kept, moved = sorted(maps(module), key=products, reverse=True)
    for op in (kept, moved):
        op.properties["coarse"] = IntegerAttr(4, i64)
    assert (node_cost(kept).dsp, node_cost(moved).dsp) == (4, 0)
    assert all(isinstance(u.operation, ConvOp) for op in (kept, moved) for u in op.output.uses)


class SqueezeExcite(nn.Module):
    """Global average pool -> 1x1 conv (squeeze-excitation's first step): the pool's division by H*W is an
    affine map a conv reads, so the 1/(H*W) moves into that conv and the map disappears."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.conv0, self.fc = nn.Conv2d(4, 6, 3, padding=1), nn.Conv2d(6, 3, 1)

    def forward(self, x):
        return self.fc(torch.relu(self.conv0(x)).mean((2, 3), keepdim=True))


def test_mean_divisor_moves_into_the_conv():
    module = check_against_torch(SqueezeExcite(), image(5, (1, 4, 6, 6)))
    assert all(products(op) == 0 for op in maps(module))  # only conv0's ReLU is left



def test_torchvision_densenet():
    """torchvision's DenseNet (norm-relu-conv on concats of every earlier feature map), running statistics of
    data, gammas and betas drawn, a negative gamma in two norms: matches PyTorch. Of its 11 norms, norm0 and
    each layer's norm2 follow their conv and fold into it; the other 6 read a concat: the four with positive
    gammas add and compare (the last one's scale moves through the global average pool and its division into
    the classifier), the two with a negative one keep one product; the transition's pool division, read by a
    concat, stays."""
    if not importlib.util.find_spec("torchvision"):
        pytest.skip("needs torchvision (the zoo extra)")
    from tests.vision_models import tv, with_batch_statistics

    shape = (1, 3, 16, 16)
    torch.manual_seed(6)
    model = tv.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2, num_classes=5)
    norms = dict(model.named_modules())
    with torch.no_grad():
        for norm in (m for m in norms.values() if isinstance(m, nn.BatchNorm2d)):
            norm.weight.uniform_(0.3, 2.0)
            norm.bias.normal_(0.0, 0.5)
        for name in ("features.denseblock1.denselayer1.norm1", "features.denseblock2.denselayer1.norm1"):
            norms[name].weight[1] *= -1
    module = check_against_torch(with_batch_statistics(model, shape), image(7, shape))
    names = [[o.name for o in op.body.block.ops] for op in maps(module)]
    assert sum("arith.mulf" in ops for ops in names) == 2 and max(map(products, maps(module))) == 1
    assert sum("arith.addf" in ops and "arith.mulf" not in ops for ops in names) == 4
