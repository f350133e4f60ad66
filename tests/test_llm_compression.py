"""The tiny LLaMA, ITERA compensation on its weights and FLAT-LLM (issue 11's language-model part).

A small configuration trained for a few steps (seconds, not cached) stands in for the bench's
model: its weights are trained, not random, which is what the compensation and the calibrated
selections need to show their effect."""

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dfcc.errors import DfccError  # noqa: E402
from dfcc.examples import llm_compression as lc  # noqa: E402
from dfcc.examples import tiny_llama  # noqa: E402
from dfcc.frontends import flat_llm as fl  # noqa: E402
from dfcc.passes.lowrank_compensate import compensate  # noqa: E402

SMALL = tiny_llama.Config(dim=48, layers=2, heads=4, kv_heads=2, hidden=128, context=32)


# its trained model is a module fixture: one worker trains it (`make test` runs xdist with --dist loadgroup)
pytestmark = pytest.mark.xdist_group("llm_compression")


@pytest.fixture(scope="module")
def model():
    return tiny_llama.train(SMALL, steps=60, batch=8, cache=False)


@pytest.fixture(scope="module")
def calibration():
    return torch.from_numpy(tiny_llama.windows(tiny_llama.split()[0], SMALL.context, 32)[:, :-1])


def _perplexity(m):
    return tiny_llama.perplexity(m, windows_count=48)


def test_training_is_deterministic():
    a = tiny_llama.train(SMALL, steps=3, batch=2, cache=False)
    b = tiny_llama.train(SMALL, steps=3, batch=2, cache=False)
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(p, q), name


def test_trained_model_beats_uniform_and_untrained(model):
    trained = _perplexity(model)
    assert trained < 0.5 * _perplexity(tiny_llama.build(SMALL))
    assert trained < 256 / 4  # uniform over bytes is 256


def test_split_is_fixed_and_disjoint():
    train, validation = tiny_llama.split()
    data = tiny_llama.corpus()
    assert len(train) + len(validation) == len(data)
    assert len(validation) == len(data) - int(len(data) * 0.9)
    assert np.array_equal(np.concatenate([train, validation]), data)


def test_equal_memory_rank_hand_computed():
    # 96 x 96 at 2 bits within 4 bits/weight: 96*96*2 spare bits / (8 * (96 + 96)) = 12
    assert lc.equal_memory_rank((96, 96), 2, 4) == 12
    # 48 x 96 at 3 bits within 4: 4608 / (8 * 144) = 4
    assert lc.equal_memory_rank((48, 96), 3, 4) == 4


def test_itera_lowers_error_on_trained_weights_within_memory(model):
    for name, linear in lc.decoder_linears(model):
        w = linear.weight.detach().double().numpy()
        rank = lc.equal_memory_rank(w.shape, 2, 4)
        result = compensate(w, 2, rank, lc.ITERATIONS, lc.FACTOR_BITS)
        assert result.error < 0.9 * result.plain_error, name
        assert result.error == min(result.errors)
        approx = result.main + result.u @ result.v
        assert math.isclose(np.linalg.norm(w - approx) / np.linalg.norm(w), result.error, rel_tol=1e-9)
    assert lc.weight_bits_total(model, 2, 4) <= lc.weight_bits_total(model, 4)
    assert lc.weight_bits_total(model, 2, 4) > lc.weight_bits_total(model, 2)


def test_itera_model_is_closer_to_float_than_quantization_alone(model):
    alone, stats_alone = lc.quantized(model, 2)
    itera, stats = lc.quantized(model, 2, 4)
    assert all(rank > 0 and error < plain for _, rank, plain, error in stats)
    assert all(rank == 0 for _, rank, _, _ in stats_alone)
    assert _perplexity(itera) < _perplexity(alone)


def test_allocate_hand_computed():
    # budget 0.8 * 3 = 2.4; 2:1:1 gives 1.2, 0.6, 0.6; the first caps at 1, its 0.2 goes to the others
    assert np.allclose(fl.allocate(np.array([2.0, 1.0, 1.0]), 0.8), [1.0, 0.7, 0.7])
    assert np.allclose(fl.allocate(np.array([1.0, 3.0]), 0.5), [0.25, 0.75])
    with pytest.raises(DfccError, match="mean keep ratio"):
        fl.allocate(np.array([1.0]), 1.5)


def test_angular_importance_hand_computed():
    x = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert fl.angular_importance(x, x) == 0.0
    assert math.isclose(fl.angular_importance(x, np.array([[0.0, 1.0], [3.0, 0.0]])), 0.5)  # orthogonal
    assert math.isclose(fl.angular_importance(x[:1], -x[:1]), 0.5)  # opposite: cosine clamped at 0
    assert math.isclose(fl.angular_importance(x[:1], np.array([[1.0, 1.0]])), 0.25)  # 45 degrees


def test_value_basis_spans_a_low_rank_head():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6))  # rank 2 in 6 dims
    basis = fl.value_basis(values, 2)
    assert np.allclose(basis.T @ basis, np.eye(2))
    assert np.allclose(values @ basis @ basis.T, values)


def test_leverage_selection_reconstructs_dependent_neurons():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 3)) * 5
    z = np.concatenate([z, z[:, :1] - 2 * z[:, 1:2]], axis=1)  # neuron 3 depends on 0 and 1
    kept, mapping = fl.leverage_selection(z, 3)
    assert len(kept) == 3 and mapping.shape == (4, 3)
    assert np.allclose(z[:, kept] @ mapping.T, z, atol=1e-8)  # every neuron recovered from the kept ones


def test_flat_llm_shapes_budget_and_perplexity(model, calibration):
    full = fl.decoder_linear_parameters(model)
    flat = copy.deepcopy(model)
    cut = 0.3
    result = fl.flat_llm(flat, calibration, cut)
    for layer, v_keep, f_keep in zip(flat.layers, result.value_widths, result.hidden_widths):
        a, m = layer.attn, layer.mlp
        assert a.v_dim == v_keep <= SMALL.head_dim
        assert tuple(a.wv.weight.shape) == (SMALL.kv_heads * v_keep, SMALL.dim)
        assert tuple(a.wo.weight.shape) == (SMALL.dim, SMALL.heads * v_keep)
        assert tuple(a.wq.weight.shape) == (SMALL.dim, SMALL.dim)  # Q and K untouched
        assert tuple(m.gate.weight.shape) == tuple(m.up.weight.shape) == (f_keep, SMALL.dim)
        assert tuple(m.down.weight.shape) == (SMALL.dim, f_keep)
    assert np.isclose(result.ratios.mean(), 1 - cut / fl.compressible_share(model))
    params = fl.decoder_linear_parameters(flat)
    assert (1 - cut - 0.05) * full <= params <= (1 - cut) * full
    ppl = _perplexity(flat)
    naive = lc.truncated(model, result.value_widths, result.hidden_widths)
    assert fl.decoder_linear_parameters(naive) == params
    assert math.isfinite(ppl) and ppl < _perplexity(naive)
    svd = lc.svd_compressed(model, params)
    assert 0.95 * params <= fl.decoder_linear_parameters(svd) <= params


def test_flat_llm_rejects_a_cut_beyond_the_narrowable_share(model, calibration):
    with pytest.raises(DfccError, match="Q and K are kept"):
        fl.flat_llm(copy.deepcopy(model), calibration, 0.95)



def test_flat_llm_pass_on_ir_points_to_the_pytorch_api(tmp_path):
    from tests.test_cli import run

    ir = tmp_path / "id.mlir"
    ir.write_text("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n  func.return %a : tensor<4xf32>\n}\n")
    result = run("dfcc.driver.cli", str(ir), "-p", "flat-llm{cut=0.2}")
    assert result.returncode == 1
    assert "flat-llm: runs on the PyTorch model before import" in result.stderr
    assert "dfcc.frontends.flat_llm.flat_llm(model, tokens, cut=0.2), as bench/bench_llm.py does" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_hardware_graph_weight_memory_matches_the_pytorch_accounting(tmp_path):
    one = tiny_llama.train(tiny_llama.Config(dim=48, layers=1, heads=4, kv_heads=2, hidden=128, context=32),
                           steps=5, batch=2, cache=False)
    graph = lc.hardware_graph(one, 16, str(tmp_path))
    alone = lc.hardware(graph, 4, None, "zedboard")
    itera = lc.hardware(graph, 3, 4, "zedboard")
    # the lowrank-compensate pass chose the same ranks as the perplexity side: same bits in the IR
    assert alone.weight_kbits == lc.weight_bits_total(one, 4) / 1000
    assert itera.weight_kbits == lc.weight_bits_total(one, 3, 4) / 1000 <= alone.weight_kbits
    assert 0 < alone.ii_cycles <= alone.latency_cycles and 0 < itera.ii_cycles <= itera.latency_cycles
