"""Accumulator formats live once in the IR: quantize writes `acc_format` on every node that sums
(kinds/accumulators.py), and the HLS stages read it (and refuse a fixed-point sum without one)."""

import pytest

from dfcc.backends.hls.emit import emit_design
from dfcc.dialects.dataflow import FixedType
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.kinds import MatmulOp, PoolOp, ReduceOp
from dfcc.kinds.accumulators import product_sum_format, sum_format
from dfcc.passes.quantize import Quantize

FX = "!dataflow.fixed<8, 3>"
SUMS = """
func.func @main(%a: tensor<1x4x4x2xf32>, %b: tensor<1x4x2x2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x1x1x2xf32>, tensor<1x4x4x2xf32>) {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 1, 2, 3>} : (tensor<1x4x4x2xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %t = dataflow.source %b {name = "input1", perm = array<i64: 0, 1, 2, 3>} : (tensor<1x4x2x2xf32>) -> !dataflow.stream<1x4x2x2xf32>
  %f:3 = dataflow.fork %s {name = "fork0"} : (!dataflow.stream<1x4x4x2xf32>) -> (!dataflow.stream<1x4x4x2xf32>, !dataflow.stream<1x4x4x2xf32>, !dataflow.stream<1x4x4x2xf32>)
  %p = dataflow.pool %f#0 {name = "pool0", kind = "sum", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x4x4x2xf32>) -> !dataflow.stream<1x2x2x2xf32>
  %r = dataflow.reduce %f#1 {name = "mean0", kind = "mean", dims = array<i64: 1, 2>} : (!dataflow.stream<1x4x4x2xf32>) -> !dataflow.stream<1x1x1x2xf32>
  %m = dataflow.matmul %f#2, %t {name = "matmul0"} : (!dataflow.stream<1x4x4x2xf32>, !dataflow.stream<1x4x2x2xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %o0 = dataflow.sink %p {name = "output0", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %o1 = dataflow.sink %r {name = "output1", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x1x1x2xf32>) -> tensor<1x1x1x2xf32>
  %o2 = dataflow.sink %m {name = "output2", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  func.return %o0, %o1, %o2 : tensor<1x2x2x2xf32>, tensor<1x1x1x2xf32>, tensor<1x4x4x2xf32>
}
"""

FIXED_POOL = f"""
func.func @main(%a: tensor<1x4x4x2xf32>) -> tensor<1x2x2x2xf32> {{
  %s = dataflow.source %a {{name = "input0", perm = array<i64: 0, 1, 2, 3>}} : (tensor<1x4x4x2xf32>) -> !dataflow.stream<1x4x4x2x{FX}>
  %p = dataflow.pool %s {{name = "pool0", kind = "sum", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>}} : (!dataflow.stream<1x4x4x2x{FX}>) -> !dataflow.stream<1x2x2x2x{FX}>
  %o = dataflow.sink %p {{name = "output0", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x2x2x2x{FX}>) -> tensor<1x2x2x2xf32>
  func.return %o : tensor<1x2x2x2xf32>
}}
"""


def _format(fmt: FixedType) -> tuple[int, int, bool]:
    return fmt.width.data, fmt.int_bits.data, fmt.is_signed


def test_sum_format_hand_computed():
    # 4 values of unsigned <8, 3> (0 .. 255/32): signed <9, 4>, then ceil(log2 4) + 1 = 3 more integer bits
    assert _format(sum_format(FixedType(8, 3, False), 4)) == (12, 7, True)
    # 9 values of signed <8, 3>: ceil(log2 9) + 1 = 5 more bits
    assert _format(sum_format(FixedType(8, 3), 9)) == (13, 8, True)


def test_product_sum_format_hand_computed():
    # 16 products of <8, 3> x <8, 3>: <16, 6> products, ceil(log2 16) + 1 = 5 more bits
    assert _format(product_sum_format(FixedType(8, 3), FixedType(8, 3), 16)) == (21, 11, True)
    # one product needs no carry bits; an unsigned operand gets its sign bit first
    assert _format(product_sum_format(FixedType(8, -2, False), FixedType(8, 3), 1)) == (17, 2, True)


def test_quantize_writes_the_exact_sum_format_on_every_summing_node():
    module = parse_module(SUMS)
    Quantize(weight_bits=8, act_bits=8, samples=2).apply(make_context(), module)
    ops = {type(op): op for op in module.walk() if isinstance(op, (PoolOp, ReduceOp, MatmulOp))}
    pool, mean, matmul = ops[PoolOp], ops[ReduceOp], ops[MatmulOp]
    assert pool.acc_format == sum_format(pool.input.type.element_type, 4)
    assert mean.acc_format == sum_format(mean.input.type.element_type, 16)
    assert matmul.acc_format == product_sum_format(matmul.lhs.type.element_type, matmul.rhs.type.element_type, 2)
    # the HLS kernels accumulate in exactly that type
    top = emit_design(module).files["top.cpp"]
    acc = pool.acc_format
    assert f"ap_fixed<{acc.width.data}, {acc.int_bits.data}>, " in next(line for line in top.splitlines()
                                                                           if "dfcc::sum_pool<" in line)


def test_a_fixed_point_sum_without_acc_format_is_refused():
    with pytest.raises(DfccError, match="pool0.*needs the node's acc_format"):
        emit_design(parse_module(FIXED_POOL))
    module = parse_module(FIXED_POOL)
    pool = next(op for op in module.walk() if isinstance(op, PoolOp))
    pool.properties["acc_format"] = FixedType(10, 5)  # narrower than the exact sum <11, 6>
    with pytest.raises(DfccError, match="cannot hold the exact sum"):
        emit_design(module)
