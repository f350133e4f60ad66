"""quantize at the edges of the number ranges (issue 10): tiny streams and accumulators wider than the
float64 reference holds exactly. Each graph quantizes (no error, a remark saying what was given up),
stays close to the float model, and its C simulation is bit-exact against the CPU reference."""

import contextlib
import io
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.dialects.fixed_point import fixed_of  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.kinds import LinearOp, MatmulOp  # noqa: E402
from dfcc.passes.lower_to_dataflow import LowerToDataflow  # noqa: E402
from dfcc.passes.quantize import MAX_ACC_BITS, Quantize, _finite_mask_cut  # noqa: E402


class TinyWeightsBigBias(torch.nn.Module):
    """A head whose weights are ~1e-13 beside a bias of ~0.75: exact products need ~50 fraction bits."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 4)
        with torch.no_grad():
            self.fc.weight.mul_(1e-13)
            self.fc.bias.copy_(torch.tensor([0.75, -0.5, 0.25, 1.0]))

    def forward(self, x):
        return self.fc(x)


class NearZeroStream(torch.nn.Module):
    """A stream scaled to ~1e-12 (format like fixed<8, -39>) into a linear with a bias (after a tanh, so clean-up
    cannot fold the scale into either linear's weights)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(8, 8), torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)) * 1e-12)


class NearZeroProducts(torch.nn.Module):
    """Two ~1e-12 streams multiplied: products ~1e-24, below every format (integer bits < -64)."""

    def forward(self, x):
        y = x * 1e-12
        return y @ y.transpose(-1, -2)


def _quantized(model: torch.nn.Module, x: torch.Tensor):
    module = import_module(model.eval(), x)
    LowerToDataflow().apply(make_context(), module)
    remarks = io.StringIO()
    with contextlib.redirect_stderr(remarks):
        Quantize(weight_bits=8, act_bits=8).apply(make_context(), module)
    module.verify()
    return module, remarks.getvalue()


def _csim_is_bit_exact(module, x: np.ndarray) -> None:
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim

    expected = run_reference(module, [x])
    result = csim(module, [x])
    assert result.warnings == []
    assert np.array_equal(result.outputs[0], expected[0])


def test_an_accumulator_over_53_bits_keeps_53_and_stays_bit_exact():
    torch.manual_seed(0)
    model, x = TinyWeightsBigBias(), torch.randn(1, 8) * 4
    module, remarks = _quantized(model, x)
    assert "an exact accumulator needs" in remarks and "truncates the" in remarks
    (linear,) = [op for op in module.walk() if isinstance(op, LinearOp)]
    assert linear.acc_format.width.data == MAX_ACC_BITS
    (out,) = run_reference(module, [x.numpy()])
    step = 2.0 ** -fixed_of(linear.output).frac_bits
    assert np.abs(out - model(x).detach().numpy()).max() <= step  # the bias, rounded to the output's grid
    _csim_is_bit_exact(module, x.numpy())


def test_a_near_zero_stream_quantizes_and_keeps_its_values():
    torch.manual_seed(0)
    model, x = NearZeroStream(), torch.randn(1, 4, 8)
    module, _ = _quantized(model, x)
    assert any(f is not None and f.int_bits.data < -30 for op in module.walk() for f in map(fixed_of, op.results))
    (out,) = run_reference(module, [x.numpy()])
    expected = model(x).detach().numpy()
    assert np.abs(out - expected).max() <= 0.05 * np.abs(expected).max()


def test_products_below_every_format_are_zero_and_say_so():
    torch.manual_seed(0)
    module, remarks = _quantized(NearZeroProducts(), torch.randn(1, 4, 8))
    assert "it is quantized as zero" in remarks
    (matmul,) = [op for op in module.walk() if isinstance(op, MatmulOp)]
    assert matmul.acc_format.int_bits.data == -64
    x = torch.randn(1, 4, 8).numpy()
    assert not run_reference(module, [x])[0].any()
    _csim_is_bit_exact(module, x)


class FiniteMaskAttention(torch.nn.Module):
    """Scores plus a constant mask of 0 and -100 (Swin's shifted windows), then softmax."""

    def forward(self, x):
        mask = torch.triu(torch.full((6, 6), -100.0), diagonal=1)
        return torch.softmax(x @ x.transpose(-1, -2) * 0.25 + mask, dim=-1)


def test_a_finite_mask_does_not_size_the_format_of_the_scores():
    """Sized by -100, the scores kept 1-wide steps and the softmax turned uniform; now the mask saturates
    24 below the data (as -inf does), the scores keep their fraction bits and masked weights stay 0."""
    torch.manual_seed(0)
    model, x = FiniteMaskAttention(), torch.randn(1, 6, 8)
    module, remarks = _quantized(model, x)
    assert "carries mask values" in remarks
    (out,) = run_reference(module, [x.numpy()])
    expected = model(x).numpy()
    assert np.abs(out - expected).max() < 0.02
    assert not out[expected < 1e-30].any()


class LayerNormTwice(torch.nn.Module):
    """A LayerNorm of a LayerNorm's output: the second mean sums values that cancel to ~1e-8."""

    def __init__(self):
        super().__init__()
        self.fc, self.a, self.b = torch.nn.Linear(8, 8), torch.nn.LayerNorm(8), torch.nn.LayerNorm(8)

    def forward(self, x):
        return self.b(self.a(self.fc(x)))


def test_a_sum_that_cancels_is_named_not_reported_as_the_lowest_sqnr():
    torch.manual_seed(0)
    module, remarks = _quantized(LayerNormTwice(), torch.randn(1, 16, 8))
    lowest = float(re.search(r"lowest output SQNR (-?[\d.]+) dB", remarks).group(1))
    assert lowest > 20
    named = re.search(r"stream\(s\) are sums smaller than the noise .*: (.*)", remarks).group(1).split(", ")
    sqnr = {op.node_name.data: op.attributes["sqnr"].data["output"].value.data
            for op in module.walk() if "sqnr" in op.attributes}
    assert named and all(sqnr[n] < lowest for n in named)  # the honest per-node figure stays in the table


def test_only_a_far_separated_share_of_values_counts_as_a_mask():
    rng = np.random.default_rng(0)
    scores = rng.uniform(-2, 2, 1000)
    masked = np.where(np.arange(1000) % 4 == 0, scores - 100, scores)  # a quarter masked with -100
    assert _finite_mask_cut(masked) == scores[np.arange(1000) % 4 != 0].min()
    outliers = np.where(np.arange(1000) % 200 == 0, -40.0, scores)  # 0.5 %: real data, however far
    assert _finite_mask_cut(outliers) is None
    wide = np.where(np.arange(1000) % 4 == 0, -50.0, rng.uniform(-10, 60, 1000))  # a gap narrower than the data
    assert _finite_mask_cut(wide) is None
