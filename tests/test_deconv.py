"""Transposed convolutions by phases (passes/lowering/deconv.py): the values against PyTorch, the
phase geometry and MAC count on hand-computed cases, the estimate against the cycle-level
simulation, and csim against the CPU reference (bit-exact in fixed point) on a small graph."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402

from dfcc import kinds  # noqa: E402
from dfcc.analyses.network import Network  # noqa: E402
from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.analyses.simulation import simulate  # noqa: E402
from dfcc.backends.estimate import Estimate  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.kinds.cost import describe  # noqa: E402
from dfcc.kinds.depth_to_space import depth_to_space  # noqa: E402
from dfcc.passes.lowering.deconv import axis_phases  # noqa: E402
from dfcc.passes.registry import get_pass  # noqa: E402
from tests.test_csim import FIXED, FLOAT  # noqa: E402
from tests.torch_differential import assert_matches_torch, lower  # noqa: E402


def _kinds(module) -> set[type]:
    return {type(op) for op in module.walk()}


# kernel, stride, padding, output_padding
TRANSPOSED = [(2, 2, 0, 0), (3, 2, 1, 1), (4, 2, 1, 0), (3, 2, 0, 0), (2, 2, 2, 0), (2, 3, 0, 0), (3, 3, 1, 2),
              (4, 3, 2, 0), (4, 3, 1, 1), ((3, 2), (2, 1), (1, 0), 0)]


class Variants(nn.Module):
    """Every transposed conv of TRANSPOSED applied to the same input (one import for them all)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.convs = nn.ModuleList(nn.ConvTranspose2d(3, 4, k, stride=s, padding=p, output_padding=op)
                                   for k, s, p, op in TRANSPOSED)

    def forward(self, x):
        return tuple(conv(x) for conv in self.convs)


def test_transposed_convs_by_phases_match_torch():
    """Strides 2 and 3, kernels 2 to 4, padding (also past the kernel) and output_padding, a
    non-square kernel and stride: each a conv and a depth_to_space, no zero insertion."""
    model, x = Variants(), torch.randn(1, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    assert_matches_torch(model, x)
    module = lower(model, x)
    assert sum(isinstance(op, kinds.DepthToSpaceOp) for op in module.walk()) == len(TRANSPOSED)
    assert kinds.ResizeOp not in _kinds(module)


def test_no_saving_keeps_zero_insertion():
    """A 1x1 kernel meets every output once either way: no phases, and still PyTorch's values."""
    model, x = nn.ConvTranspose2d(2, 3, 1, stride=2, output_padding=1), torch.randn(1, 2, 3, 3)
    assert_matches_torch(model, x)
    assert kinds.DepthToSpaceOp not in _kinds(lower(model, x))


def test_axis_phases_hand_computed():
    """k=4, s=2, p=1 on 3 inputs (6 outputs): torch-mlir's conv reads input i at position 2 + 2i of a
    9-long zero-inserted axis with the flipped kernel w'. Even outputs 2q take w'[0] x[q-1] + w'[2] x[q],
    odd ones 2q+1 take w'[1] x[q] + w'[3] x[q+1]. One output q for both needs a 3-wide window from
    q-1 (3 outputs * 3 taps = 9 multiplies per filter); one window start u-1 for both gives the even
    output 2u and the odd one 2u-1 (odd block first) with 2 taps each, over u = 0..3, the first
    (y[-1]) dropped: 4 * 2 = 8, taken."""
    m = np.array([-1, -1, 0, -1, 1, -1, 2, -1, -1])
    a = axis_phases(m, 3, 4, 6)
    assert (a.stride, a.outputs, a.first, a.size, a.at, a.order, a.skip) == (2, 4, -1, 2, (0, 0), (1, 0), 1)
    assert [list(range(4)[t]) for t in a.taps] == [[0, 2], [1, 3]]
    # k=3, s=2, p=1, output_padding=1 (the lit test): even outputs w'[1] x[q], odd w'[0] x[q] + w'[2] x[q+1]
    b = axis_phases(np.array([-1, 0, -1, 1, -1, 2, -1, -1]), 3, 3, 6)
    assert (b.outputs, b.first, b.size, b.at, b.order, b.skip) == (3, 0, 2, (0, 0), (0, 1), 0)
    assert [list(range(3)[t]) for t in b.taps] == [[1], [0, 2]]
    assert axis_phases(np.array([0, -1, 1, 2]), 3, 2, 3) is None  # not evenly spaced


def test_depth_to_space_order():
    """y[h*SH+i][w*SW+j][c] = x[h][w][(i*SW+j)*C + c], on a 1x1x2x(2*1*3) case written out."""
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 2, 6)
    y = depth_to_space(x, (2, 1))
    assert y.shape == (1, 2, 2, 3)
    assert y[0, 0].tolist() == [[0, 1, 2], [6, 7, 8]] and y[0, 1].tolist() == [[3, 4, 5], [9, 10, 11]]


def test_macs_count_no_inserted_zeros():
    """ConvTranspose2d(8, 4, k=2, s=2) on 8 x 3x3: each output meets one tap per input channel, so
    6*6 outputs * 4 filters * 8 channels = 1152 MACs (a conv over the zero-inserted 7x7 input with
    the 2x2 kernel would count 6*6*4*8*4 = 4608). With k=4, p=1: 2x2 taps per phase over 4x4 window
    starts (axis_phases above), 4*4 * 2*2 phases * 4 * 8 * 2*2 = 8192 (zero insertion: 6*6*4*8*16 = 18432)."""
    assert Network.from_module(lower(nn.ConvTranspose2d(8, 4, 2, stride=2), torch.randn(1, 8, 3, 3))).macs() == 1152
    module = lower(nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), torch.randn(1, 8, 3, 3))
    assert Network.from_module(module).macs() == 8192


def _compiled(model: nn.Module, x: torch.Tensor, pipeline: str):
    module = import_module(model.eval(), x)
    for spec in parse_pipeline(pipeline):
        spec.instantiate(get_pass(spec.name)).apply(make_context(), module)
        module.verify()
    return module


def _decoder() -> nn.Module:
    """Phases (k=4 s=2 p=1, 3x3 -> 6x6, one window start: a slice drops the first row and column),
    a transposed conv left to zero insertion (1x1 kernel, -> 12x12), a nearest upsampling
    (-> 24x24), in 3 or 4 channels."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.ConvTranspose2d(4, 4, 4, 2, 1), nn.ReLU(),
                         nn.ConvTranspose2d(4, 3, 1, 2, 0, 1), nn.Upsample(scale_factor=2, mode="nearest"))


@pytest.mark.parametrize("pipeline", [FLOAT, FIXED], ids=["float", "int8"])
def test_estimate_agrees_with_simulation(pipeline):
    module = _compiled(_decoder(), torch.randn(1, 2, 3, 3), pipeline)
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    est = Estimate.of_module(module).totals
    assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, f"estimate II {est.ii}, simulated {sim.ii}"


@pytest.mark.parametrize("pipeline,exact", [(FLOAT, False), (FIXED, True)], ids=["float", "int8"])
def test_csim_matches_reference(pipeline, exact):
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim

    x = torch.randn(1, 2, 3, 3, generator=torch.Generator().manual_seed(2))
    module = _compiled(_decoder(), x, pipeline)
    assert {kinds.DepthToSpaceOp, kinds.SliceOp, kinds.ResizeOp} <= _kinds(module)
    expected = run_reference(module, [x.numpy()])
    result = csim(module, [x.numpy()])
    assert result.warnings == [], result.warnings
    (out,), (ref,) = result.outputs, expected
    if exact:
        assert np.array_equal(out, ref), f"{np.sum(out != ref)} of {out.size} values differ"
    else:
        assert (np.abs(out.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))).max() <= 1e-5


def test_depth_to_space_cost_hand_computed():
    """ConvTranspose2d(8, 4, k=2, s=2) on 3x3: depth_to_space of 3x3x16 into 6x6x4. Its kernel runs
    one input row more than it reads (the last row's output rows drain): (3 + 1) rows of 3*16/4 = 12
    beats at 4 lanes, 48 cycles; 192 at one lane; two rows of 48 words buffered."""
    module = lower(nn.ConvTranspose2d(8, 4, 2, stride=2), torch.randn(1, 8, 3, 3))
    (op,) = [op for op in module.walk() if isinstance(op, kinds.DepthToSpaceOp)]
    assert op.buffer_words() == 96
    assert [describe(op).cost((lanes,)).cycles for lanes in (4, 1)] == [48, 192]
