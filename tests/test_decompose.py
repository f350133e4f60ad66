"""decompose: exact at full rank, numpy's SVD error at reduced rank, tensorly's CP reconstruction for
CPD, and every decomposed graph through quantize, explore, estimate and a bit-exact C simulation."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.dialects import dataflow as df  # noqa: E402
from dfcc import kinds  # noqa: E402
from dfcc.dialects.resources import elements_array  # noqa: E402
from dfcc.errors import DfccError  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.passes.decompose import DECOMPOSITION_ATTR, Decompose  # noqa: E402
from dfcc.passes.lowrank import Scheme, most_divisors_near, rank_grid  # noqa: E402
from dfcc.passes.quantize import Quantize  # noqa: E402
from tests.torch_differential import lower  # noqa: E402

CTX = make_context()


def _model():
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),  # conv0: the stem
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),  # conv1
        nn.Conv2d(8, 8, 3, padding=(1, 2), stride=(2, 1), dilation=(1, 2)), nn.ReLU(),  # conv2: 4 x 8
        nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU(),  # conv3: 2 x 4
        nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(),  # conv4
        nn.Flatten(), nn.Linear(12 * 2 * 4, 10),  # linear0
    ).eval()


@pytest.fixture(scope="module")
def lowered():
    model = _model()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    return model, lower(model, x), x.numpy()


def _run(module, x):
    return run_reference(module, [x])[0]


def _decomposed(module, **options):
    result = module.clone()
    Decompose(**options).apply(CTX, result)
    result.verify()
    return result


def _weights(module, name):
    op = next(o for o in module.walk() if isinstance(o, df.NodeOp) and o.node_name.data == name)
    return elements_array(op.weights.owner.value).astype(np.float64)


@pytest.mark.parametrize("options", [
    dict(method="svd", scheme="separable", rank=1000),
    dict(method="svd", scheme="grouped", groups=2, rank=1000),
    dict(method="svd", scheme="reversed", groups=4, rank=1000),
    dict(method="svd", energy=1.0),
])
def test_full_rank_equals_original(lowered, options):
    _, module, x = lowered
    result = _decomposed(module, **options)
    sources = {o.attributes[DECOMPOSITION_ATTR].data["source"].data for o in result.walk() if DECOMPOSITION_ATTR in o.attributes}
    assert sources == {"conv1", "conv2", "conv3", "conv4", "linear0"}  # not the stem
    expected = _run(module, x)
    np.testing.assert_allclose(_run(result, x), expected, rtol=0, atol=2e-5 * np.abs(expected).max())


def _conv(model, index):
    return [m for m in model if isinstance(m, torch.nn.Conv2d)][index]


def test_reduced_rank_error_is_numpys_svd(lowered):
    """conv2 (stride, dilation, asymmetric padding) at rank 3, separable: the graph computes the
    conv whose weight is numpy's rank-3 truncation of the (C*Kc) x (F*Kr) matricisation."""
    model, module, x = lowered
    result = _decomposed(module, override=("conv2:separable3", "conv[0134]:keep", "linear0:keep"))
    w = _weights(module, "conv2")
    f, c, kr, kc = w.shape
    u, s, vt = np.linalg.svd(w.transpose(1, 3, 0, 2).reshape(c * kc, f * kr))
    truncated = ((u[:, :3] * s[:3]) @ vt[:3]).reshape(c, kc, f, kr).transpose(2, 0, 3, 1)
    expected_model = _model()
    with torch.no_grad():
        _conv(expected_model, 2).weight.copy_(torch.from_numpy(truncated))
        expected = expected_model(torch.from_numpy(x)).numpy()
        original = model(torch.from_numpy(x)).numpy()
    got = _run(result, x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    assert np.abs(got - original).max() > 100 * np.abs(got - expected).max()  # the truncation matters


def test_linear_reduced_rank_output_error(lowered):
    """linear0 at rank 4: output error = (W_4 - W) h exactly, W_4 numpy's truncated SVD."""
    _, module, x = lowered
    result = _decomposed(module, override=("conv*:keep", "linear0:svd4"))
    w = _weights(module, "linear0")
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    delta = (u[:, 4:] * s[4:]) @ vt[4:]  # W - W_4
    assert np.isclose(np.linalg.norm(delta), np.sqrt(np.sum(s[4:] ** 2)))
    hidden = _hidden_before(module, "linear0", x)
    error = _run(result, x).astype(np.float64) - _run(module, x)
    np.testing.assert_allclose(error, -hidden @ delta.T, rtol=0, atol=1e-5)


def _hidden_before(module, name, x):
    """The stream entering node `name` (PyTorch order for a flat stream)."""
    from dfcc.passes.quantize import _Collector  # the quantize pass's own stream recorder

    collector = _Collector()
    run_reference(module, [x], observers=(collector,))
    op = next(o for o in module.walk() if isinstance(o, df.NodeOp) and o.node_name.data == name)
    return collector.values[(op.input.owner.node_name.data, 0)]


def test_cpd_computes_tensorlys_reconstruction(lowered):
    from tensorly.cp_tensor import cp_to_tensor

    from dfcc.passes.lowrank import Geometry, factorise

    model, module, x = lowered
    result = _decomposed(module, method="cpd", rank=6, override=("conv[0234]:keep", "linear0:keep"))
    names = [o.node_name.data for o in result.walk() if isinstance(o, kinds.ConvOp)]
    assert names == ["conv0", "conv1_cpd0", "conv1_cpd1", "conv1_cpd2", "conv1_cpd3", "conv2", "conv3", "conv4"]
    factors = factorise(_weights(module, "conv1"), None, Geometry(), Scheme("cpd", 6))
    cp_weights = cp_to_tensor((np.ones(6), [factors[3].weights[:, :, 0, 0].astype(np.float64), factors[0].weights[:, :, 0, 0].T,
                                            factors[1].weights[:, 0, :, 0].T, factors[2].weights[:, 0, 0, :].T]))
    expected_model = _model()
    with torch.no_grad():
        _conv(expected_model, 1).weight.copy_(torch.from_numpy(cp_weights))
        expected = expected_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run(result, x), expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    relative = np.linalg.norm(cp_weights - _weights(module, "conv1")) / np.linalg.norm(_weights(module, "conv1"))
    assert relative < 0.9  # a fit, not noise


def test_macs_option_picks_the_rank_keeping_that_fraction(lowered):
    _, module, _ = lowered
    result = _decomposed(module, macs=0.5, override=("conv[0234]:keep", "linear0:keep"))
    first, second = [o for o in result.walk() if isinstance(o, kinds.ConvOp) and o.node_name.data.startswith("conv1_")]
    # conv1: 8x8 pixels x 8 x 8 x 9 MACs = 36864; per rank 8*8*(8*3) + 8*8*(8*3) = 3072 -> rank 6
    assert first.weights.type.get_shape() == (6, 8, 1, 3)
    assert second.weights.type.get_shape() == (8, 6, 3, 1)


def test_mixed_td_rank_grid():
    # 60 has 12 divisors: the most of any integer within 52..68
    assert most_divisors_near(60.4) == 60
    assert most_divisors_near(10) == 10  # 9..11: 10 has 4 divisors, 9 has 3, 11 has 2
    # 100 MACs per rank, 1000 MACs: 30..70 % is rank 3..7, each moved to the nearby integer with most divisors
    assert rank_grid(100, 1000) == [4, 6]


def test_auto_picks_lowest_error_scheme(lowered):
    _, module, x = lowered
    result = _decomposed(module, method="auto", macs=0.5)
    methods = {o.attributes[DECOMPOSITION_ATTR].data["method"].data for o in result.walk() if DECOMPOSITION_ATTR in o.attributes}
    assert methods <= {"svd-separable", "svd-grouped", "svd-reversed", "cpd", "svd"}
    assert np.all(np.isfinite(_run(result, x)))


def test_rejects_quantized_graph(lowered):
    _, module, _ = lowered
    quantized = module.clone()
    Quantize().apply(CTX, quantized)
    with pytest.raises(DfccError, match="run decompose before quantize"):
        Decompose(rank=2).apply(CTX, quantized)


def test_bad_options():
    with pytest.raises(DfccError, match="method=tucker"):
        Decompose(method="tucker")
    with pytest.raises(DfccError, match="energy=E is defined for SVD"):
        Decompose(method="cpd", energy=0.9)
    with pytest.raises(DfccError, match="method=auto compares"):
        Decompose(method="auto", rank=3)


def test_every_scheme_through_hardware_flow_bit_exact(lowered):
    """All schemes in one graph: quantize, explore, estimate, HLS C simulation identical to -t cpu."""
    pytest.importorskip("hls4ml")
    from dfcc.backends.estimate.report import Estimate
    from dfcc.backends.hls.csim import csim
    from dfcc.passes.explore import Explore

    model, _, x = lowered
    x = x[:1]  # the HLS backend streams batch 1
    result = _decomposed(lower(model, torch.from_numpy(x)), override=("conv1:separable4", "conv2:grouped2g2", "conv3:reversed3g2", "conv4:cpd5",
                                           "linear0:svd6"))
    Quantize(weight_bits=8, act_bits=8).apply(CTX, result)
    Explore(platform="zcu102").apply(CTX, result)
    result.verify()
    estimate = Estimate.of_module(result)
    assert estimate.totals.ii > 0 and estimate.totals.dsp > 0
    expected = run_reference(result, [x])
    outcome = csim(result, [x])
    assert outcome.warnings == []
    assert np.array_equal(outcome.outputs[0], expected[0])
