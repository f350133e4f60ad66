"""Token embedding (dataflow.embedding): integer ids in, one table row per id out.

Numbers against PyTorch (float) and the C simulation against the CPU reference (float within 1e-5,
fixed point bit-exact), the verifier, a hand-computed cost, and what bad ids do.
"""

import contextlib
import io

import numpy as np
import pytest
from xdsl.utils.exceptions import VerifyException

from dfcc.analyses.reference import run_reference
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.kinds import EmbeddingOp, kind_of

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.passes.lower_to_dataflow import LowerToDataflow  # noqa: E402
from dfcc.passes.quantize import Quantize  # noqa: E402
from tests.torch_differential import assert_matches_torch  # noqa: E402

VOCAB, WIDTH, TOKENS = 11, 8, 5


class Embedder(torch.nn.Module):
    """Token plus learned position embeddings, then a projection (a decoder's first steps)."""

    def __init__(self):
        super().__init__()
        self.tokens, self.positions = torch.nn.Embedding(VOCAB, WIDTH), torch.nn.Embedding(TOKENS, WIDTH)
        self.proj = torch.nn.Linear(WIDTH, 4)

    def forward(self, ids):
        return self.proj(self.tokens(ids) + self.positions(torch.arange(ids.shape[1])))


def _ids(dtype=torch.int64) -> torch.Tensor:
    return torch.tensor([[3, 0, 10, 3, 7]], dtype=dtype)


def _lowered(quantized: bool):
    torch.manual_seed(0)
    module = import_module(Embedder().eval(), _ids())
    LowerToDataflow().apply(make_context(), module)
    if quantized:
        with contextlib.redirect_stderr(io.StringIO()):
            Quantize(weight_bits=6, act_bits=8).apply(make_context(), module)
    module.verify()
    return module


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_matches_pytorch(dtype):
    torch.manual_seed(0)
    assert_matches_torch(Embedder(), _ids(dtype))


def test_ids_outside_the_table_are_refused():
    module = _lowered(quantized=False)
    with pytest.raises(DfccError, match=r"token id 11 is not a row of its 11-row table"):
        run_reference(module, [np.array([[0, 1, 11, 2, 3]])])
    with pytest.raises(DfccError, match="feeds an integer argument .* non-integer values"):
        run_reference(module, [np.array([[0, 1, 0.5, 2, 3]])])


@pytest.mark.parametrize("quantized", [False, True])
def test_csim_matches_reference(quantized):
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim

    module = _lowered(quantized)
    inputs = [np.array([[10, 2, 2, 0, 9]])]
    expected = run_reference(module, inputs)
    result = csim(module, inputs)
    assert result.warnings == []
    if quantized:
        assert np.array_equal(result.outputs[0], expected[0])
    else:
        np.testing.assert_allclose(result.outputs[0], expected[0], rtol=1e-5, atol=1e-5)


GRAPH = """
func.func @main(%a: tensor<1x8x{id}>) -> tensor<1x8x64xf32> {{
  %s = dataflow.source %a {{name = "input0", perm = array<i64: 0, 1>}} : (tensor<1x8x{id}>) -> !dataflow.stream<1x8x{id}>
  %w = dataflow.weights {{name = "table0", value = dense<0.5> : tensor<1000x64xf32>}} : tensor<1000x64xf32>
  %e = dataflow.embedding %s, %w {{name = "embedding0"{attrs}}} : (!dataflow.stream<1x8x{id}>, tensor<1000x64xf32>) -> !dataflow.stream<{out}xf32>
  %t = dataflow.sink %e {{name = "output0", perm = array<i64: 0, 1, 2>}} : (!dataflow.stream<{out}xf32>) -> tensor<1x8x64xf32>
  func.return %t : tensor<1x8x64xf32>
}}
"""


def _graph(id="i64", out="1x8x64", attrs=""):
    return parse_module(GRAPH.format(id=id, out=out, attrs=attrs))


@pytest.mark.parametrize("change,message", [
    ({"id": "f32"}, "the input must carry integer ids"),
    ({"out": "1x8x32"}, r"output shape \(1, 8, 32\), expected \(1, 8, 64\)"),
    ({"attrs": ", coarse = 3"}, "coarse=3 does not divide 64"),
])
def test_verifier(change, message):
    with pytest.raises((VerifyException, DfccError), match=message):
        _graph(**change)


def test_cost_on_a_hand_computed_case():
    (op,) = [o for o in _graph().walk() if isinstance(o, EmbeddingOp)]
    model = kind_of(op).cost(op)
    cost = model.cost((4,))
    # 8 tokens x 64 words at 4 words a beat; the table 16-bit (unquantized default) x 4 words wide,
    # 1000 rows x 16 beats deep: 64 x 16000 bits, 64 BRAM18 in every aspect (e.g. 2 x 32 of 36 x 512)
    assert (cost.cycles, cost.bram18, cost.out_lanes) == (128, 64, 4)
    in_uram = model.cost((4,), memory="uram")
    # URAM288 is 72 x 4096: 1 wide x 4 deep
    assert (in_uram.bram18, in_uram.uram) == (0, 4)
    # off chip only the rows looked up move: 8 tokens x 64 words x 16 bits per inference
    assert model.cost((4,), memory="off_chip").offchip_bits == 8 * 64 * 16
    # a whole row per beat: 1024 bits wide, 1000 deep; cheapest as 18 x 1024 blocks, ceil(1024 / 18) = 57 of them
    widest = model.cost((64,))
    assert (widest.cycles, widest.bram18) == (8, 57)
