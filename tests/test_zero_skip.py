"""zero-skip / dataflow.sparse_conv: same numbers as conv (float, and bit-exact in fixed point), cycles
the PASS/HASS expectation (hand-computed), from the measured histogram or from the weights alone."""

from __future__ import annotations

import numpy as np
import pytest

from dfcc import kinds
from dfcc.analyses.reference import run_reference
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.kinds.cost import cost_key, describe
from dfcc.kinds.sparse_conv import channel_slots, expectation_basis
from dfcc.passes.activation_sparsity import ActivationSparsity
from dfcc.passes.quantize import Quantize
from dfcc.passes.sparsify import Sparsify
from dfcc.passes.zero_skip import ZeroSkip

CTX = make_context()

# filter 0 has 3 zero weights, filter 1 has 6; one input channel, 4x4 output (pad 1)
GRAPH = """
func.func @main(%a: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x1x4x4xf32>) -> !dataflow.stream<1x4x4x1xf32>
  %w = dataflow.weights {value = dense<[[[[0.0, 0.5, 0.0], [1.0, -1.0, 0.25], [0.0, 0.75, -0.5]]], [[[0.0, 0.0, 0.5], [0.0, 1.0, 0.0], [0.0, -0.25, 0.0]]]]> : tensor<2x1x3x3xf32>, name = "w0"} : tensor<2x1x3x3xf32>
  %c = dataflow.conv %s, %w {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x4x4x1xf32>, tensor<2x1x3x3xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %t = dataflow.sink %c {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x2xf32>) -> tensor<1x2x4x4xf32>
  func.return %t : tensor<1x2x4x4xf32>
}
"""


def _conv(module):
    return next(op for op in module.walk() if isinstance(op, (kinds.ConvOp, kinds.SparseConvOp)))


def test_cycles_from_zero_weights_hand_computed():
    module = parse_module(GRAPH)
    ZeroSkip().apply(CTX, module)
    model = describe(_conv(module))
    # fine=1: windows cost 9-3=6 and 9-6=3 cycles, 4.5 on average; 16 pixels x 2 filters x 4.5 = 144
    # (dense: 16 x 2 x 9 = 288)
    assert model.cost((1, 1, 1, 1)).cycles == 144
    # fine=3: ceil(6/3)=2 and ceil(3/3)=1: 16 x 2 x 1.5 = 48, above the 6x6 input read (36)
    assert model.cost((1, 1, 1, 3)).cycles == 48
    # fine=9, co=2: 1 cycle per window, 16 compute cycles; the input read (36) bounds the stage
    assert model.cost((1, 2, 1, 9)).cycles == 36
    assert expectation_basis(_conv(module)) == "zero weights only (activations taken as dense)"


def test_cycles_from_the_measured_histogram(tmp_path):
    module = parse_module(GRAPH)
    x = np.zeros((3, 1, 1, 4, 4), dtype=np.float32)
    x[:, :, :, 1:3, 1:3] = 1.0  # only the central 2x2 pixels are non-zero
    np.savez(tmp_path / "cal.npz", arg0=x)
    ActivationSparsity(calibration=str(tmp_path / "cal.npz")).apply(CTX, module)
    ZeroSkip().apply(CTX, module)
    conv = _conv(module)
    # brute force of the expectation at fine=1: non-zero products of each window and filter
    w = np.array([[0.0, 0.5, 0.0, 1.0, -1.0, 0.25, 0.0, 0.75, -0.5], [0, 0, 0.5, 0, 1.0, 0, 0, -0.25, 0]])
    padded = np.pad(x[0, 0, 0], 1)
    work = sum(np.count_nonzero(padded[i:i + 3, j:j + 3].reshape(-1) * w[f]) for i in range(4) for j in range(4) for f in range(2))
    assert describe(conv).cost((1, 1, 1, 1)).cycles == max(36, int(np.ceil(work)))
    assert expectation_basis(conv) == "calibration data cal.npz"


@pytest.fixture(scope="module")
def lowered():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch_mlir.fx")
    from torch import nn

    from tests.torch_differential import lower

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, padding=1, groups=2), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * 6 * 6, 5)).eval()
    x = torch.randn(1, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    return lower(model, x), x.numpy()


@pytest.mark.parametrize("quantized", [False, True])
def test_sparse_conv_computes_what_conv_computes(lowered, quantized):
    module, x = lowered
    dense = module.clone()
    if quantized:
        Quantize(weight_bits=8, act_bits=8).apply(CTX, dense)
    Sparsify(weight_density=0.5).apply(CTX, dense)
    skipping = dense.clone()
    ZeroSkip().apply(CTX, skipping)
    assert sum(isinstance(op, kinds.SparseConvOp) for op in skipping.walk()) == 2
    assert sum(isinstance(op, kinds.SparseLinearOp) for op in skipping.walk()) == 1
    assert np.array_equal(run_reference(skipping, [x])[0], run_reference(dense, [x])[0])


def test_channel_order_is_kept_when_sorting_gains_nothing():
    # every channel costs the same: the stream order is as balanced as PASS's, and needs no reordering
    hist = np.zeros((4, 10))
    hist[:, 3] = 1.0
    assert channel_slots(hist, 1, 2, 1).tolist() == [[0, 1], [2, 3]]
    # channels 0 and 2 cost 9, 1 and 3 none: stream order puts 18 on stream 0; PASS deals c0, c2, c1, c3
    # to streams 0, 1, 1, 0: 9 and 9
    hist = np.zeros((4, 10))
    hist[[0, 2], 0] = hist[[1, 3], 9] = 1.0
    assert channel_slots(hist, 1, 2, 1).tolist() == [[0, 2], [3, 1]]


def test_zero_skip_names_unknown_nodes():
    with pytest.raises(DfccError, match="nodes pattern 'conv9' matches no conv or linear node"):
        ZeroSkip(nodes=("conv9",)).apply(CTX, parse_module(GRAPH))


def test_zero_skipping_costs_are_never_shared_by_shape():
    """Two zero-skipping convs of one shape and format cost differently when their zeros differ, so
    explore must not share their design points (cost_key: none); dense convs of one shape share them."""
    dense = parse_module(GRAPH.replace("[0.0, 0.0, 0.5], [0.0, 1.0, 0.0]", "[0.5, 0.5, 0.5], [0.5, 1.0, 0.5]"))
    assert cost_key(_conv(dense)) == cost_key(_conv(parse_module(GRAPH))) is not None
    skipping = []
    for module in (parse_module(GRAPH), dense):
        ZeroSkip().apply(CTX, module)
        skipping.append(_conv(module))
    assert all(cost_key(op) is None for op in skipping)
    assert describe(skipping[0]).cost((1, 1, 1, 1)).cycles != describe(skipping[1]).cost((1, 1, 1, 1)).cycles
