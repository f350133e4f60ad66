"""Masks and other integer/i1 computations: causal attention, masked_fill, constant reductions."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from dfcc.dialects.scalar_body import evaluate_body  # noqa: E402
from dfcc.dialects.resources import elements_array  # noqa: E402
from dfcc.frontends.mlir import parse_module  # noqa: E402
from tests.torch_differential import assert_matches_torch  # noqa: E402


class CausalAttention(nn.Module):
    """scaled_dot_product_attention with is_causal: an i1 mask from index comparisons, and an `andi`
    reduction over the scores (a row with every key masked gives zeros)."""

    def forward(self, q):
        return F.scaled_dot_product_attention(q, q * 0.5, q + 1.0, is_causal=True)


class MaskedSoftmax(nn.Module):
    def forward(self, x):
        n = x.shape[-1]
        keep = torch.ones(n, n, dtype=torch.bool).tril()
        return x.masked_fill(~keep, float("-inf")).softmax(-1)


class ConstantRowMask(nn.Module):
    """A mask reduced over a constant (`all` over rows) folds at lowering."""

    def forward(self, x):
        keep = torch.ones(x.shape[-2], x.shape[-1], dtype=torch.bool).triu()
        return x * keep.all(dim=-1, keepdim=True).float() + keep.any(dim=0).float()


@pytest.mark.parametrize("model", [CausalAttention(), MaskedSoftmax(), ConstantRowMask()], ids=lambda m: type(m).__name__)
def test_masks_match_pytorch(model):
    assert_matches_torch(model, torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(1)))


I1_BODY = """
func.func @f(%a: i64, %b: i64) -> i64 {
  %true = arith.constant true
  %lt = arith.cmpi slt, %a, %b : i64
  %not = arith.xori %lt, %true : i1
  %both = arith.andi %not, %lt : i1
  %either = arith.ori %not, %lt : i1
  %x = arith.extui %either : i1 to i64
  %y = arith.extui %both : i1 to i64
  %z = arith.extui %not : i1 to i64
  %s = arith.select %not, %x, %y : i64
  %t = arith.addi %s, %z : i64
  return %t : i64
}
"""


def test_i1_logic_in_scalar_bodies():
    """xori with `true` is a logical not (true reads as 1, not -1); andi/ori/extui/select on i1."""
    block = parse_module(I1_BODY).body.block.first_op.body.block
    (result,) = evaluate_body(block, [np.array([0, 1, 2]), np.array([1, 1, 1])])
    assert result.tolist() == [0, 2, 2]  # a < b: not=0 -> y=0, z=0; a >= b: not=1 -> x=1, z=1


def test_hex_splat_constants_are_bits():
    """`dense<0xFF800000> : tensor<f32>` is -inf (MLIR's bit-pattern splat), not 4286578688.0."""
    module = parse_module('func.func @f() -> tensor<2xf32> {\n  %c = arith.constant dense<0xFF800000> : tensor<2xf32>\n'
                          '  return %c : tensor<2xf32>\n}')
    assert np.all(elements_array(module.body.block.first_op.body.block.first_op.value) == -np.inf)
