"""activation-sparsity: zero-product histograms equal a brute-force count over every window and filter,
and the pass stores them on the nodes from the data the graph really sees (ReLU zeros, pruned weights)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dfcc import kinds
from dfcc.analyses import zero_products
from dfcc.kinds.window import conv2d
from dfcc.analyses.reference import run_reference
from dfcc.analyses.zero_products import zero_activation_windows, zero_product_counts
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.kinds.cost import zero_histogram
from dfcc.passes.activation_sparsity import ActivationSparsity
from dfcc.passes.sparsify import Sparsify


def _brute_force(x, w, stride, dilation, pad, groups):
    n, h, wd, c = x.shape
    f, cg, kr, kc = w.shape
    xp = np.pad(x, ((0, 0), (pad[0], pad[1]), (pad[2], pad[3]), (0, 0)))
    ho = (xp.shape[1] - dilation[0] * (kr - 1) - 1) // stride[0] + 1
    wo = (xp.shape[2] - dilation[1] * (kc - 1) - 1) // stride[1] + 1
    fg = f // groups
    counts = np.zeros((c, fg, kr * kc + 1), dtype=np.int64)
    for b, i, j, ch, fi in itertools.product(range(n), range(ho), range(wo), range(c), range(f)):
        if fi // (f // groups) != ch // cg:
            continue
        z = 0
        for r, s in itertools.product(range(kr), range(kc)):
            a = xp[b, i * stride[0] + r * dilation[0], j * stride[1] + s * dilation[1], ch]
            z += int(a * w[fi, ch % cg, r, s] == 0)
        counts[ch, fi % fg, z] += 1
    return counts


@pytest.mark.parametrize("groups,stride,dilation,pad,prune", [
    (1, (1, 1), (1, 1), (1, 1, 1, 1), True),
    (2, (2, 1), (1, 2), (0, 1, 2, 0), True),
    (1, (1, 1), (1, 1), (0, 0, 0, 0), False),
])
def test_counts_equal_brute_force(groups, stride, dilation, pad, prune):
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(2, 5, 6, 4)), 0).astype(np.float32)  # ReLU: about half zero
    w = rng.normal(size=(6, 4 // groups, 3, 3)).astype(np.float32)
    if prune:
        w[rng.random(w.shape) < 0.5] = 0
    counts = zero_product_counts(zero_activation_windows(x, (3, 3), stride, dilation, pad), w, groups)
    assert np.array_equal(counts, _brute_force(x, w, stride, dilation, pad, groups))


def test_chunked_einsum_path_equals_brute_force(monkeypatch):
    monkeypatch.setattr(zero_products, "CHUNK_ENTRIES", 7)  # several pixel chunks
    rng = np.random.default_rng(3)
    x = np.maximum(rng.normal(size=(1, 4, 4, 3)), 0).astype(np.float32)
    w = np.where(rng.random((5, 3, 2, 2)) < 0.4, 0, rng.normal(size=(5, 3, 2, 2))).astype(np.float32)
    counts = zero_product_counts(zero_activation_windows(x, (2, 2), (1, 1), (1, 1), (1, 0, 0, 1)), w, 1)
    assert np.array_equal(counts, _brute_force(x, w, (1, 1), (1, 1), (1, 0, 0, 1), 1))


GRAPH = """
func.func @main(%a: tensor<1x2x5x5xf32>) -> tensor<1x3xf32> {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x5x5xf32>) -> !dataflow.stream<1x5x5x2xf32>
  %w = dataflow.weights {value = dense<[[[[0.5, -1.0], [1.5, 0.25]], [[-0.75, 1.0], [0.5, 2.0]]], [[[1.0, 0.1], [-0.2, 0.3]], [[0.4, -0.5], [0.6, 0.7]]]]> : tensor<2x2x2x2xf32>, name = "w0"} : tensor<2x2x2x2xf32>
  %c = dataflow.conv %s, %w {name = "conv0", kernel = array<i64: 2, 2>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x5x5x2xf32>, tensor<2x2x2x2xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %r = dataflow.map %c {name = "relu0"} : !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2xf32> {
  ^bb0(%v: f32):
    %z = arith.constant 0.000000e+00 : f32
    %p = arith.cmpf ugt, %v, %z : f32
    %m = arith.select %p, %v, %z : f32
    dataflow.yield %m : f32
  }
  %f = dataflow.reshape %r {name = "flatten0"} : (!dataflow.stream<1x4x4x2xf32>) -> !dataflow.stream<1x32xf32>
  %lw = dataflow.weights {value = dense<0.5> : tensor<3x32xf32>, name = "w1"} : tensor<3x32xf32>
  %l = dataflow.linear %f, %lw {name = "linear0"} : (!dataflow.stream<1x32xf32>, tensor<3x32xf32>) -> !dataflow.stream<1x3xf32>
  %t = dataflow.sink %l {name = "output0", perm = array<i64: 0, 1>} : (!dataflow.stream<1x3xf32>) -> tensor<1x3xf32>
  func.return %t : tensor<1x3xf32>
}
"""


def test_pass_stores_histograms_of_the_real_activations(tmp_path):
    module = parse_module(GRAPH)
    Sparsify(weight_density=0.5, scope="layer").apply(make_context(), module)
    data = np.random.default_rng(0).normal(size=(6, 1, 2, 5, 5)).astype(np.float32)
    np.savez(tmp_path / "cal.npz", arg0=data)
    ActivationSparsity(calibration=str(tmp_path / "cal.npz")).apply(make_context(), module)
    conv, linear = [op for op in module.walk() if isinstance(op, (kinds.ConvOp, kinds.LinearOp))]
    # conv0 reads random inputs (no zeros): z is the filter's zero weights on that channel; 6 x 16 pixels
    w = next(op for op in module.walk() if isinstance(op, kinds.SparseWeightsOp) and op.node_name.data == "w0_sparse").decode()
    expected = np.zeros((2, 5))
    for f, c in itertools.product(range(2), range(2)):
        expected[c, int((w[f, c] == 0).sum())] += 6 * 16
    assert np.array_equal(zero_histogram(conv), expected / expected.sum(axis=1, keepdims=True))
    assert conv.attributes["dataflow.zero_histogram"].data["activation_zeros"].value.data == 0
    assert conv.attributes["dataflow.zero_histogram"].data["data"].data == "cal.npz"
    # linear0 reads the ReLU output: its zero-activation fraction is what the float graph produces
    relu = [np.maximum(conv2d(np.transpose(s, (0, 2, 3, 1)), w, None, (1, 1), (1, 1), (0, 0, 0, 0), 1), 0)
            for s in data]
    zeros = float(np.mean([np.mean(r == 0) for r in relu]))
    assert linear.attributes["dataflow.zero_histogram"].data["activation_zeros"].value.data == pytest.approx(zeros)
    assert 0.2 < zeros < 0.8
    run_reference(module, [data[0]])  # the annotated graph still runs
