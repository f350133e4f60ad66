"""Gathers that read a dim in another order (`dataflow.reindex`): an activation indexed by a constant
index tensor, and bilinear interpolation, which torch-mlir decomposes into row/column gathers weighted by
maps. Lowering vs PyTorch, the verifier, the cost on a hand-computed case, quantized csim bit-exact."""

import numpy as np
import pytest
from xdsl.utils.exceptions import VerifyException

from dfcc.errors import DfccError
from dfcc.frontends.mlir import parse_module
from dfcc.kinds import ReindexOp, kind_of

GRAPH = """
func.func @main(%a: tensor<1x4x3x2xf32>) -> tensor<1x{m}x3x2xf32> {{
  %s = dataflow.source %a {{name = "input0", perm = array<i64: 0, 1, 2, 3>}} : (tensor<1x4x3x2xf32>) -> !dataflow.stream<1x4x3x2xf32>
  %r = dataflow.reindex %s {{name = "reindex0", axis = {axis} : i64, index = array<i64: {index}>{attrs}}} : (!dataflow.stream<1x4x3x2xf32>) -> !dataflow.stream<1x{m}x3x2xf32>
  %t = dataflow.sink %r {{name = "output0", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x{m}x3x2xf32>) -> tensor<1x{m}x3x2xf32>
  func.return %t : tensor<1x{m}x3x2xf32>
}}
"""


def _graph(m=3, axis=1, index="3, 0, 0", attrs=""):
    return parse_module(GRAPH.format(m=m, axis=axis, index=index, attrs=attrs))


@pytest.mark.parametrize("change,message", [
    ({"index": "3, 0, 4"}, r"index must be non-empty, each in \[0, 4\)"),
    ({"m": 2}, r"output shape \(1, 2, 3, 2\), expected \(1, 3, 3, 2\)"),
    ({"axis": 4}, r"axis 4 is not a dim of \(1, 4, 3, 2\)"),
    ({"attrs": ", coarse = 3"}, "coarse=3 does not divide 2"),
])
def test_verifier(change, message):
    with pytest.raises((VerifyException, DfccError), match=message):
        _graph(**change)


def test_cost_on_a_hand_computed_case():
    (op,) = [o for o in _graph().walk() if isinstance(o, ReindexOp)]
    cost = kind_of(op).cost(op).cost((2,))
    # 24 words read, then 18 written, in turn, 2 a cycle: 12 + 9 cycles; the 4x3x2 block buffered
    assert (cost.cycles, cost.out_lanes, op.buffer_words()) == (21, 2, 24)
    # a non-decreasing index keeps one row of the block: 3x2 words
    (monotone,) = [o for o in _graph(index="0, 0, 2").walk() if isinstance(o, ReindexOp)]
    assert monotone.buffer_words() == 6


torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.analyses.simulation import simulate  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.passes.registry import get_pass  # noqa: E402
from tests.torch_differential import assert_matches_torch  # noqa: E402


class Bilinear(nn.Module):
    def __init__(self, align_corners, **size_or_scale):
        super().__init__()
        self.align_corners, self.size_or_scale = align_corners, size_or_scale

    def forward(self, x):
        return F.interpolate(x, mode="bilinear", align_corners=self.align_corners, **self.size_or_scale)


class Shuffled(nn.Module):
    """Rows read by a constant index buffer in arbitrary order (repeats and omissions), then bilinear."""

    def __init__(self):
        super().__init__()
        self.register_buffer("rows", torch.tensor([2, 0, 3, 1, 1]))

    def forward(self, x):
        return F.interpolate(x[:, :, self.rows] * 2, scale_factor=2, mode="bilinear", align_corners=False)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size_or_scale", [{"scale_factor": 2}, {"size": (5, 7)}, {"scale_factor": (1.5, 3)}],
                         ids=["scale2", "size5x7", "scale1.5x3"])
def test_bilinear_matches_pytorch(align_corners, size_or_scale):
    assert_matches_torch(Bilinear(align_corners, **size_or_scale), torch.randn(1, 2, 3, 4))


def test_index_buffer_in_arbitrary_order_matches_pytorch():
    assert_matches_torch(Shuffled(), torch.randn(1, 3, 4, 5))


def test_quantized_csim_is_bit_exact():
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim

    x = torch.randn(1, 2, 4, 3)
    module = import_module(Shuffled().eval(), x)
    for step in parse_pipeline("lower-to-dataflow,quantize{weight-bits=8 act-bits=8},explore{platform=zcu102}"):
        step.instantiate(get_pass(step.name)).apply(make_context(), module)
    reindexes = [op for op in module.walk() if isinstance(op, ReindexOp)]
    assert {op.monotone() for op in reindexes} == {True, False}  # the index buffer's rows, bilinear's gathers
    assert not simulate(module).deadlock  # the schedule of both forms, at explore's FIFO depths
    result = csim(module, [x.numpy()])
    assert result.warnings == []
    (expected,) = run_reference(module, [x.numpy()])
    assert np.array_equal(result.outputs[0], expected)
