"""Zero-skipping conv/linear in HLS (include/dfcc/sparse_conv.h): C simulation bit-exact with the CPU
reference (fixed point; float within 1e-5), ROMs holding only non-zero weights, the PASS channel
assignment (hand-computed), and the kernel's own cycle count equal to the cost model's expectation."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from dfcc import kinds
from dfcc.analyses.reference import run_reference
from dfcc.backends.hls.bounded import bounded_csim
from dfcc.backends.hls.csim import build, csim, read_outputs
from dfcc.backends.hls.emit import emit_design
from dfcc.backends.hls.project import write_project
from dfcc.kinds.hls_sparse import pe_roms
from dfcc.dialects.dataflow import int_attr
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.cycles import snake_assignment
from dfcc.kinds.cost import describe
from dfcc.kinds.sparse_conv import channel_slots, expected_histogram, pair_histogram, pe_work
from dfcc.passes.activation_sparsity import ActivationSparsity
from dfcc.passes.quantize import Quantize
from dfcc.passes.sparsify import Sparsify
from dfcc.passes.zero_skip import ZeroSkip

pytest.importorskip("hls4ml")  # the ap_types headers

CTX = make_context()

# one 3x3 filter over 4 channels holding 9, 1, 8 and 2 non-zero weights; 4x4 output (pad 1)
W = np.zeros((1, 4, 3, 3), dtype=np.float32)
for c, nnz in enumerate((9, 1, 8, 2)):
    W[0, c].reshape(-1)[:nnz] = np.linspace(0.25, 1.0, nnz) * (-1) ** c
GRAPH = f"""
func.func @main(%a: tensor<1x4x4x4xf32>) -> tensor<1x1x4x4xf32> {{
  %s = dataflow.source %a {{name = "input0", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x4x4xf32>) -> !dataflow.stream<1x4x4x4xf32>
  %w = dataflow.weights {{value = dense<{W.tolist()}> : tensor<1x4x3x3xf32>, name = "w0"}} : tensor<1x4x3x3xf32>
  %c = dataflow.conv %s, %w {{name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64}} : (!dataflow.stream<1x4x4x4xf32>, tensor<1x4x3x3xf32>) -> !dataflow.stream<1x4x4x1xf32>
  %t = dataflow.sink %c {{name = "output0", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x4x4x1xf32>) -> tensor<1x1x4x4xf32>
  func.return %t : tensor<1x1x4x4xf32>
}}
"""


def _dense(module):
    return next(op for op in module.walk() if isinstance(op, kinds.ConvOp))


def _nodes(module):
    return [op for op in module.walk() if isinstance(op, (kinds.SparseConvOp, kinds.SparseLinearOp))]


def test_snake_assignment_hand_computed():
    # sorted: c0 (9), c2 (8), c3 (2), c1 (1); snake: c0->0, c2->1, c3->1, c1->0: 10 and 10 (stream order: 17 and 3)
    assert snake_assignment([9, 1, 8, 2], 2) == [[0, 1], [2, 3]]
    assert snake_assignment([5, 4, 3, 2, 1, 0], 3) == [[0, 5], [1, 4], [2, 3]]


def test_pass_assignment_sets_the_cycles_hand_computed():
    module = parse_module(GRAPH)
    ZeroSkip().apply(CTX, module)
    (conv,) = _nodes(module)
    model = describe(conv)
    # activations dense, fine=1: channel windows cost 9, 1, 8, 2 cycles; sorted streams carry 9+1 and 8+2
    # (stream order would give 9+8 = 17): 16 pixels x 1 filter x 10 = 160 > the 6x6x4/2 = 72 input read
    assert channel_slots(expected_histogram(conv), 1, 2, 1).tolist() == [[0, 2], [1, 3]]
    assert model.cost((2, 1, 1, 1)).cycles == 160
    # fine=3: ceil(9/3)=3, ceil(1/3)=1, ceil(8/3)=3, ceil(2/3)=1 -> streams 3+1 and 3+1: 16 x 4 = 64 < 72 read
    assert model.cost((2, 1, 1, 3)).cycles == 72
    # one stream: every channel, 9+1+8+2 = 20 per pixel: 320 (dense conv: 16 x 36 = 576)
    assert model.cost((1, 1, 1, 1)).cycles == 320


def test_sparse_memory_hand_computed():
    dense_module, module = parse_module(GRAPH), parse_module(GRAPH)
    ZeroSkip().apply(CTX, module)
    dense, sparse = describe(_dense(dense_module)).cost((2, 1, 1, 1)), describe(_nodes(module)[0]).cost((2, 1, 1, 1))
    # dense ROM: 32 bits (2 lanes x 16) x 18 words = 576 bits, LUTRAM: 9 LUTs, and the 2-word FIFO from it to the
    # MAC (weights.h weight_rom): 32 x 2 / 64 = 1 LUT. Sparse: 2 PEs x 9 banks x (16-bit
    # value + 4-bit position), depth ceil(10/9) = 2 (each PE stores 10 weights): 720 bits, 12 LUTs; counts 2 PEs x
    # 4 bits x 2 rows: 1 LUT; the reordering buffer: 2 halves x 9 positions x 2 lanes arrays of 2 x 16 bits: 36 LUTs
    assert (dense.weight_width, dense.weight_depth) == (32, 18)
    assert (sparse.weight_width, sparse.weight_depth) == (360, 2)
    assert sparse.lut - dense.lut == -9 - 1 + 12 + 1 + 36 and sparse.bram18 == dense.bram18
    assert sparse.dsp == dense.dsp


def test_pe_roms_hold_only_non_zero_weights():
    roms = pe_roms(W, 1, 2, 1, np.array([[0, 2], [1, 3]]))
    # PE 0 visits channel 0 then 1 (9 + 1 weights), PE 1 channel 2 then 3 (8 + 2): no padding needed
    assert roms.counts.tolist() == [[9, 1], [8, 2]]
    assert roms.stored == 20 and roms.depth == 10 and np.all(roms.values != 0)
    assert roms.values[0, :9].tolist() == W[0, 0].reshape(-1).tolist()
    assert roms.positions[1, 8:].tolist() == [0, 1]


def _trace_cycles(module, inputs) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run the C simulation compiled with DFCC_SPARSE_TRACE: (PE, cycles) of every PE, and the outputs."""
    design = emit_design(module)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(design, root, inputs=inputs, tcl=False)
        binary = build(root, ("-DDFCC_SPARSE_TRACE",)).binary
        proc = subprocess.run([str(binary), str(root / "tb_data")], capture_output=True, text=True, check=True)
        outputs = read_outputs(design, root / "tb_data")
    lines = [tuple(map(int, m)) for m in re.findall(r"dfcc_sparse_pe (\d+) (\d+)", proc.stderr)]
    return lines, outputs


def _model_pe_loads(op) -> np.ndarray:
    """The cost model's expected MAC cycles of each PE per inference (its compute term, before the max)."""
    _, ho, wo, _ = op.output.type.get_shape()
    lanes_in, lanes_out = kinds.kind_of(op).stream_lanes(op)
    work = pe_work(pair_histogram(op), op.groups.value.data, lanes_in, lanes_out, op.int_prop("fine"))
    return ho * wo * work.loads


@pytest.mark.parametrize("folding", [(2, 1, 1, 1), (2, 1, 1, 3), (1, 1, 1, 1)])
def test_kernel_cycles_are_the_model_expectation(tmp_path, folding):
    """On the input the histogram was measured on, each PE's count is the model's expected load
    exactly (one output lane: the busiest PE is the stage's compute time)."""
    module = parse_module(GRAPH)
    x = np.random.default_rng(3).normal(size=(1, 4, 4, 4)).astype(np.float32)
    x[x < 0.3] = 0  # ReLU-like zeros
    np.savez(tmp_path / "cal.npz", arg0=x[None])
    ActivationSparsity(calibration=str(tmp_path / "cal.npz")).apply(CTX, module)
    ZeroSkip().apply(CTX, module)
    (conv,) = _nodes(module)
    conv.properties.update(coarse_in=int_attr(folding[0]), fine=int_attr(folding[3]))
    counts, outputs = _trace_cycles(module, [x])
    assert np.allclose(outputs[0], run_reference(module, [x])[0], rtol=1e-5, atol=1e-6)
    pe_cycles = np.array([c for _, c in sorted(counts)], dtype=np.float64)
    assert np.allclose(pe_cycles, _model_pe_loads(conv))
    _, h, w, c = conv.input.type.get_shape()
    read = (h + 2) * (w + 2) * c // folding[0]
    assert describe(conv).cost(folding).cycles == max(read, int(pe_cycles.max()))


# two 3x3 filters over 2 channels on two output lanes: filter 0 keeps all 9 + 9 weights, filter 1 keeps 1 + 2
W2 = np.ones((2, 2, 3, 3), dtype=np.float32) * 0.5
W2[1] = 0
W2[1, 0, 1, 1], W2[1, 1, 0, 0], W2[1, 1, 2, 2] = 0.25, -0.5, 0.75
GRAPH2 = f"""
func.func @main(%a: tensor<1x2x6x6xf32>) -> tensor<1x2x4x4xf32> {{
  %s = dataflow.source %a {{name = "input0", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x2x6x6xf32>) -> !dataflow.stream<1x6x6x2xf32>
  %w = dataflow.weights {{value = dense<{W2.tolist()}> : tensor<2x2x3x3xf32>, name = "w0"}} : tensor<2x2x3x3xf32>
  %c = dataflow.conv %s, %w {{name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_out = 2 : i64}} : (!dataflow.stream<1x6x6x2xf32>, tensor<2x2x3x3xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %t = dataflow.sink %c {{name = "output0", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x4x4x2xf32>) -> tensor<1x2x4x4xf32>
  func.return %t : tensor<1x2x4x4xf32>
}}
"""


def test_slowest_output_lane_sets_the_pace_hand_computed():
    """Output-lane imbalance: the glue waits for the PE of filter 0 (18 products a pixel), not the mean."""
    module = parse_module(GRAPH2)
    ZeroSkip().apply(CTX, module)
    (conv,) = _nodes(module)
    x = np.abs(np.random.default_rng(5).normal(size=(1, 2, 6, 6))).astype(np.float32) + 0.1  # no zero activation
    counts, outputs = _trace_cycles(module, [x])
    assert np.allclose(outputs[0], run_reference(module, [x])[0], rtol=1e-5, atol=1e-6)
    # 4x4 pixels: PE 0 (filter 0) 16 x 18 = 288 cycles, PE 1 (filter 1) 16 x 3 = 48; read 6*6*2 = 72
    assert [c for _, c in sorted(counts)] == [288, 48]
    assert _model_pe_loads(conv).tolist() == [288, 48]
    # the average over the lanes would give 16 x 10.5 = 168
    assert describe(conv).cost((1, 2, 1, 1)).cycles == 288


def test_depth_counts_the_busiest_pe_per_pixel():
    """A zero-skipping conv's depth: the dense conv's, with its per-pixel term (2 channels x 9 positions x
    2 filters = 36 cycles on one PE) replaced by the PE's expected work per pixel (18 + 3 = 21)."""
    dense = parse_module(GRAPH2)
    module = parse_module(GRAPH2)
    ZeroSkip().apply(CTX, module)
    folding = (1, 1, 1, 1)
    assert describe(_nodes(module)[0]).cost(folding).depth == describe(_dense(dense)).cost(folding).depth - 36 + 21


@pytest.fixture(scope="module")
def cnn():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch_mlir.fx")
    from torch import nn

    from tests.torch_differential import lower

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, padding=1, groups=2), nn.ReLU(),
                          nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)).eval()
    x = torch.randn(2, 1, 3, 6, 6, generator=torch.Generator().manual_seed(1)).numpy()
    return lower(model, torch.from_numpy(x[0])), x


# per node: conv0 (3 lanes in, 2 out, fine 3), conv1 (2 groups, a 4-lane beat per group), conv2 (depthwise,
# 4 groups per beat), linear0 (4 x 2 lanes)
FOLDINGS = {"conv0": dict(coarse_in=3, coarse_out=2, fine=3), "conv1": dict(coarse_in=2, coarse_out=2, coarse_group=2),
            "conv2": dict(coarse_group=4, fine=9), "linear0": dict(coarse_in=4, coarse_out=2)}


def _zero_skipping(cnn, tmp_path, fixed: bool, sparsify: dict | None, measured: bool, prune_first: bool = False):
    module, x = cnn
    module = module.clone()
    passes = [Quantize(weight_bits=8, act_bits=8)] if fixed else []
    if sparsify:
        passes.insert(0 if prune_first else len(passes), Sparsify(**sparsify))
    for p in passes:
        p.apply(CTX, module)
    if measured:
        np.savez(tmp_path / "cal.npz", arg0=x)
        ActivationSparsity(calibration=str(tmp_path / "cal.npz")).apply(CTX, module)
    ZeroSkip().apply(CTX, module)
    nodes = _nodes(module)
    assert [n.node_name.data for n in nodes] == list(FOLDINGS)
    for node in nodes:
        node.properties.update({k: int_attr(v) for k, v in FOLDINGS[node.node_name.data].items()})
    module.verify()
    return module, x[1]


@pytest.mark.parametrize("fixed,sparsify,measured,prune_first", [
    (True, {"weight_density": 0.4}, True, False),             # unstructured, zero activations measured (channel order)
    (True, {"pattern": "n:m", "n": 2, "m": 4}, True, False),  # 2:4
    (True, {"pattern": "n:m", "n": 2, "m": 4}, False, True),  # 2:4 pruned before quantizing, weights-only statistics
    (False, {"weight_density": 0.4}, False, False),           # float, unstructured
    (True, None, True, False),                                 # dense weights, activation zeros only
])
def test_csim_bit_exact(cnn, tmp_path, fixed, sparsify, measured, prune_first):
    module, x = _zero_skipping(cnn, tmp_path, fixed, sparsify, measured, prune_first)
    if prune_first:  # quantize cast the kept values to their format
        assert all(op.format is not None for op in module.walk() if isinstance(op, kinds.SparseWeightsOp))
    expected = run_reference(module, [x])
    result = csim(module, [x])
    assert result.warnings == []
    if fixed:
        assert np.array_equal(result.outputs[0], expected[0])
    else:
        assert np.allclose(result.outputs[0], expected[0], rtol=1e-5, atol=1e-5)


def test_bounded_fifo_csim_runs_the_pes_concurrently(cnn, tmp_path):
    """Every PE, the deal and the glue as threads over FIFOs of their depths: no deadlock, same bits."""
    module, x = _zero_skipping(cnn, tmp_path, True, {"weight_density": 0.4}, True)
    assert np.array_equal(bounded_csim(module, [x]).outputs[0], run_reference(module, [x])[0])
