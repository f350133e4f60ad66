"""Sliding-window shape arithmetic against PyTorch: ceil_mode pools, count_include_pad, asymmetric
padding, dilation with stride, grouped convs. A wrong output size used to pass silently (exit 0)."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from dfcc import kinds  # noqa: E402
from dfcc.frontends.mlir import parse_module  # noqa: E402
from dfcc.passes.lower_to_dataflow import LowerToDataflow  # noqa: E402
from dfcc.errors import DfccError  # noqa: E402
from tests.torch_differential import assert_matches_torch, lower, lowered_vs_torch  # noqa: E402


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _input(channels: int, size: int | tuple[int, int]) -> torch.Tensor:
    h, w = (size, size) if isinstance(size, int) else size
    return torch.randn(1, channels, h, w, generator=torch.Generator().manual_seed(size if isinstance(size, int) else h))


# kernel, stride, padding, dilation, ceil_mode, input size
MAX_POOLS = [(3, 2, 0, 1, True, 23), (3, 2, 1, 1, True, 22), (2, 2, 0, 1, True, 7), (3, 3, 1, 1, True, 10),
             (3, 2, 1, 2, True, 13), (3, 2, 0, 2, False, 13), (2, 3, 1, 1, True, 8)]


@pytest.mark.parametrize("k,s,p,d,ceil,n", MAX_POOLS, ids=[f"k{k}s{s}p{p}d{d}{'ceil' if c else 'floor'}n{n}" for k, s, p, d, c, n in MAX_POOLS])
def test_max_pool(k, s, p, d, ceil, n):
    assert_matches_torch(nn.MaxPool2d(k, s, p, d, ceil_mode=ceil), _input(2, n))


# kernel, stride, padding, ceil_mode, count_include_pad, input size
AVG_POOLS = [(3, 2, 0, True, True, 23), (3, 2, 1, True, True, 22), (3, 2, 1, False, False, 9),
             (3, 2, 1, True, False, 10), (2, 2, 1, True, False, 7), (3, 3, 1, True, True, 10)]


@pytest.mark.parametrize("k,s,p,ceil,cip,n", AVG_POOLS, ids=[f"k{k}s{s}p{p}{'ceil' if c else 'floor'}{'incl' if i else 'excl'}n{n}" for k, s, p, c, i, n in AVG_POOLS])
def test_avg_pool(k, s, p, ceil, cip, n):
    assert_matches_torch(nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=cip), _input(2, n))


torch.manual_seed(0)  # the models below are built at import
# model, input channels, input size
CONVS = {
    "same_even_kernel": (nn.Conv2d(3, 4, 4, padding="same"), 3, (9, 9)),  # asymmetric padding 1 / 2
    "dilation_stride": (nn.Conv2d(3, 4, 3, stride=2, dilation=2, padding=1), 3, (12, 12)),
    "stride_leftover_rows": (nn.Conv2d(3, 4, 3, stride=3), 3, (11, 11)),
    "asymmetric_pad": (nn.Sequential(Lambda(lambda x: F.pad(x, (1, 0, 2, 1))), nn.Conv2d(3, 4, 3, stride=2)), 3, (10, 11)),
    "asymmetric_pad_ceil_max": (nn.Sequential(Lambda(lambda x: F.pad(x, (0, 1, 1, 0), value=-1e30)),
                                              nn.MaxPool2d(2, 2, ceil_mode=True)), 3, (9, 9)),
    "grouped_1x1": (nn.Conv2d(4, 8, 1, groups=2), 4, (5, 5)),
    "grouped_3x3_unpadded": (nn.Conv2d(4, 8, 3, groups=2), 4, (13, 13)),
    "grouped_stride_dilation": (nn.Conv2d(4, 8, 3, groups=4, stride=2, dilation=2), 4, (13, 13)),
}


@pytest.mark.parametrize("name", CONVS)
def test_conv(name):
    model, channels, size = CONVS[name]
    assert_matches_torch(model, _input(channels, size))


POOL_READING_PADDING = """
func.func @main(%arg0: tensor<1x1x4x4xf32>) -> tensor<1x1x{out}x{out}xf32> {{
  %cst = arith.constant 0xFF800000 : f32
  %padded = tensor.pad %arg0 low[0, 0, 0, 0] high[0, 0, 2, 2] {{
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %cst : f32
  }} : tensor<1x1x4x4xf32> to tensor<1x1x6x6xf32>
  %0 = tensor.empty() : tensor<1x1x{out}x{out}xf32>
  %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x1x{out}x{out}xf32>) -> tensor<1x1x{out}x{out}xf32>
  %2 = tensor.empty() : tensor<2x2xf32>
  %3 = linalg.pooling_nchw_max {{dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}} ins(%padded, %2 : tensor<1x1x6x6xf32>, tensor<2x2xf32>) outs(%1 : tensor<1x1x{out}x{out}xf32>) -> tensor<1x1x{out}x{out}xf32>
  return %3 : tensor<1x1x{out}x{out}xf32>
}}
"""


@pytest.mark.parametrize("out", [1, 2, 3])
def test_pool_output_follows_the_linalg_result(out):
    """The node computes exactly the windows the linalg op's result holds: trailing padding and rows no
    window reads are dropped (a slice when needed), whatever the padded size alone would give."""
    module = parse_module(POOL_READING_PADDING.format(out=out))
    LowerToDataflow().apply(None, module)
    module.verify()
    (pool,) = [op for op in module.walk() if isinstance(op, kinds.PoolOp)]
    assert pool.output.type.get_shape() == (1, out, out, 1)
    assert list(pool.ints_prop("pad")) == [0, max(0, 2 * out - 4)] * 2


def test_adaptive_pool_to_a_size_that_does_not_divide_is_named_as_unsupported():
    """7 -> 3 averages windows of sizes 3, 3, 3 at starts 0, 2, 4: torch-mlir gathers them into a higher rank."""
    with pytest.raises(DfccError, match=r"at <torch-mlir>:\d+\): this gather reads rank-4 data into rank 6 .*adaptive pooling"):
        lowered_vs_torch(nn.AdaptiveAvgPool2d(3), _input(2, 7))


def test_adaptive_pool_to_a_size_that_divides():
    assert_matches_torch(nn.AdaptiveAvgPool2d(2), _input(2, 6))


@pytest.mark.parametrize("size", [7, (3, 1)], ids=["7x7", "3x1"])
def test_adaptive_pool_of_one_pixel_is_a_broadcast(size):
    """VGG at 32 px: 1x1 features adaptively pooled to 7x7 copy the pixel, so a replicate pad, no reduce."""
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.AdaptiveAvgPool2d(size))
    assert_matches_torch(model, _input(2, 1))
    module = lower(model, _input(2, 1))
    assert [op.name for op in module.walk() if isinstance(op, (kinds.ReduceOp, kinds.PoolOp))] == []
