"""sparsify: the pruned graph's CPU reference equals PyTorch with the same weights pruned by torch
(global and layer-wise magnitude, 2:4), the encoding round-trips, and quantized graphs stay exact."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc import kinds  # noqa: E402
from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.dialects.resources import elements_array, make_resource  # noqa: E402
from dfcc.errors import DfccError  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.kinds.sparse_weights import SparseWeightsOp  # noqa: E402
from dfcc.passes.quantize import Quantize  # noqa: E402
from dfcc.passes.sparsify import Sparsify  # noqa: E402
from tests.torch_differential import lower  # noqa: E402

CTX = make_context()


def _model():
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),  # conv0: 36 weights per filter
        nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU(),  # conv1
        nn.Flatten(), nn.Linear(8 * 4 * 4, 10),  # linear0
    ).eval()


@pytest.fixture(scope="module")
def lowered():
    model = _model()
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    return model, lower(model, x), x


def _layers(model):
    return [m for m in model if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]


def _torch_output(model, x, masks):
    pruned = _model()
    pruned.load_state_dict(model.state_dict())
    with torch.no_grad():
        for layer, mask in zip(_layers(pruned), masks):
            layer.weight *= mask
        return pruned(x).numpy()


def _global_masks(model, density):
    weights = [layer.weight.detach().abs().reshape(-1) for layer in _layers(model)]
    flat = torch.cat(weights)
    threshold = torch.topk(flat, round(density * flat.numel())).values.min()
    return [layer.weight.detach().abs() >= threshold for layer in _layers(model)]


def _two_of_four(weight):
    rows = weight.detach().abs().reshape(weight.shape[0], -1, 4)
    top = torch.topk(rows, 2, dim=2).indices
    mask = torch.zeros_like(rows, dtype=torch.bool).scatter_(2, top, True)
    return mask.reshape(weight.shape)


def _sparsified(module, **options):
    result = module.clone()
    Sparsify(**options).apply(CTX, result)
    result.verify()
    return result


def _close(a, b):
    assert float(np.abs(a - b).max() / np.abs(b).max()) < 1e-5


@pytest.mark.parametrize("density", [0.5, 0.2])
def test_global_pruning_equals_torch(lowered, density):
    model, module, x = lowered
    result = _sparsified(module, weight_density=density)
    sparse = [op for op in result.walk() if isinstance(op, SparseWeightsOp)]
    assert len(sparse) == 3 and all(op.pattern.data == "unstructured" for op in sparse)
    kept = sum(elements_array(op.values).size for op in sparse)
    assert kept == round(density * sum(layer.weight.numel() for layer in _layers(model)))
    _close(run_reference(result, [x.numpy()])[0], _torch_output(model, x, _global_masks(model, density)))


def test_layer_scope_keeps_each_layers_largest(lowered):
    model, module, x = lowered
    result = _sparsified(module, weight_density=0.3, scope="layer")
    masks = [layer.weight.detach().abs() >= torch.topk(layer.weight.detach().abs().reshape(-1),
                                                       round(0.3 * layer.weight.numel())).values.min()
             for layer in _layers(model)]
    densities = [op.density.value.data for op in result.walk() if isinstance(op, SparseWeightsOp)]
    assert densities == pytest.approx([0.3] * 3, abs=0.01)
    _close(run_reference(result, [x.numpy()])[0], _torch_output(model, x, masks))


def test_two_of_four_equals_torch(lowered):
    model, module, x = lowered
    result = _sparsified(module, pattern="n:m", n=2, m=4)
    sparse = [op for op in result.walk() if isinstance(op, SparseWeightsOp)]
    assert [op.pattern.data for op in sparse] == ["n:m"] * 3
    assert all(op.density.value.data == 0.5 for op in sparse)
    masks = [_two_of_four(layer.weight) for layer in _layers(model)]
    for op, mask in zip(sparse, masks):
        assert np.array_equal(op.keep_mask(), mask.numpy())
    _close(run_reference(result, [x.numpy()])[0], _torch_output(model, x, masks))


@pytest.mark.parametrize("shape,n,m", [((3, 10), 2, 4), ((4, 3, 3, 3), 1, 3), ((2, 7), 3, 4)])
def test_nm_encoding_round_trips_with_ragged_groups(shape, n, m):
    from dfcc.passes.sparsify import nm_keep

    dense = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    keep = nm_keep(dense, n, m)
    op = SparseWeightsOp("w", dense, keep, "n:m", n, m)
    op.verify()
    assert np.array_equal(op.decode(), np.where(keep, dense, 0))
    assert elements_array(op.indices).size == elements_array(op.values).size < dense.size


def test_bitmask_round_trips():
    dense = np.random.default_rng(1).normal(size=(5, 13)).astype(np.float32)
    keep = np.random.default_rng(2).random(dense.shape) < 0.3
    op = SparseWeightsOp("w", dense, keep, "unstructured")
    op.verify()
    assert elements_array(op.mask).size == -(-dense.size // 8)
    assert np.array_equal(op.decode(), np.where(keep, dense, 0))


def test_verifier_refuses_inconsistent_encodings():
    dense = np.arange(1, 9, dtype=np.float32).reshape(2, 4)
    keep = np.array([[1, 0, 0, 1], [0, 1, 1, 0]], dtype=bool)
    op = SparseWeightsOp("w", dense, keep, "n:m", 2, 4)
    op.properties["values"] = make_resource("short", np.ones(3))
    with pytest.raises(Exception, match="keeps 4 weights but values holds 3"):
        op.verify()
    op = SparseWeightsOp("w", dense, keep, "unstructured")
    op.properties["density"] = type(op.density)(0.25, op.density.type)
    with pytest.raises(Exception, match="density 0.25 is not 4/8"):
        op.verify()
    with pytest.raises(DfccError, match="not 2:4"):
        SparseWeightsOp("w", dense, np.ones_like(keep), "n:m", 2, 4)


def test_quantized_sparse_graph_is_bit_exact_with_its_dense_decoding(lowered):
    """Sparsify after quantize: the fixed-point reference reads the encoding; replacing each sparse
    weights op by dense weights holding its decoding gives identical codes."""
    _, module, x = lowered
    quantized = module.clone()
    Quantize(weight_bits=8, act_bits=8).apply(CTX, quantized)
    sparse = _sparsified(quantized, weight_density=0.4)
    dense = sparse.clone()
    for op in [o for o in dense.walk() if isinstance(o, SparseWeightsOp)]:
        replacement = kinds.WeightsOp(make_resource(f"{op.node_name.data}_dense", op.decode()), op.node_name.data)
        replacement.properties["format"] = op.format
        op.parent_block().insert_op_before(replacement, op)
        op.output.replace_all_uses_with(replacement.output)
        op.detach()
    assert all(op.format is not None for op in sparse.walk() if isinstance(op, SparseWeightsOp))
    out_sparse, out_dense = run_reference(sparse, [x.numpy()])[0], run_reference(dense, [x.numpy()])[0]
    assert np.array_equal(out_sparse, out_dense)
    assert not np.array_equal(out_sparse, run_reference(quantized, [x.numpy()])[0])


def test_refuses_sparsifying_twice(lowered):
    _, module, _ = lowered
    result = _sparsified(module, weight_density=0.5)
    with pytest.raises(DfccError, match="already sparse"):
        Sparsify(weight_density=0.5).apply(CTX, result)
