"""sparsity-search: the thresholded ReLU and pruned weights equal PyTorch's; a short search seeds the
unthresholded graph, returns a Pareto front and writes the chosen thresholds into the IR."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc import kinds  # noqa: E402
from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.passes.sparsity_search import (  # noqa: E402
    SEARCH_ATTR, SparsitySearch, apply_activation_thresholds, apply_weight_thresholds, search_space,
)
from tests.torch_differential import lower  # noqa: E402

CTX = make_context()


def _model():
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 5 * 5, 3)).eval()


@pytest.fixture(scope="module")
def lowered():
    model = _model()
    x = torch.randn(1, 1, 5, 5, generator=torch.Generator().manual_seed(1))
    return model, lower(model, x), x


def test_thresholds_equal_torch(lowered):
    model, module, x = lowered
    space = search_space(module)
    assert sorted(space) == ["a:map0", "a:map1", "w:conv0", "w:conv1", "w:linear0"]
    params = {"a:map0": "t0.1", "w:conv1": "p50"}
    result = module.clone()
    apply_activation_thresholds(result, params)
    apply_weight_thresholds(result, params)
    result.verify()
    with torch.no_grad():
        w = model[2].weight.clone()
        tau = torch.quantile(w.abs().reshape(-1).double(), 0.5).float()
        conv1 = torch.nn.functional.conv2d
        h = model[0](x)
        h = torch.where(h > 0.1, h, torch.zeros_like(h))
        h = torch.relu(conv1(h, torch.where(w.abs() >= tau, w, torch.zeros_like(w)), model[2].bias, padding=1))
        expected = model[5](h.flatten(1)).numpy()
    got = run_reference(result, [x.numpy()])[0]
    assert np.abs(got - expected).max() < 1e-5


def test_short_search_writes_the_chosen_point(lowered, tmp_path):
    _, module, _ = lowered
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "val.npz", arg0=rng.normal(size=(8, 1, 1, 5, 5)).astype(np.float32), labels=rng.integers(0, 3, 8))
    result = module.clone()
    SparsitySearch(validation=str(tmp_path / "val.npz"), trials=4, max_loss=100.0).apply(CTX, result)
    attr = result.attributes[SEARCH_ATTR]
    assert attr.data["trials"].value.data == 4
    choices = {k: v.data for k, v in attr.data["choices"].data.items()}
    pruned = [op for op in result.walk() if isinstance(op, kinds.SparseWeightsOp)]
    assert len(pruned) == sum(k.startswith("w:") for k in choices)
    result.verify()
