"""Winograd F(2,3) convolutions (`winograd` folding factor, conv.h conv_wino): two adjacent output columns of a
3-column kernel row from 4 multiplications instead of 6. The arithmetic proved exact, formulas by hand, the
cost model, the schedule against the estimate, C simulation bit-exact at 16 and 8 bits, and explore choosing it."""

import numpy as np
import pytest
from xdsl.dialects.builtin import IntegerAttr, i64

from dfcc.analyses.network import Network
from dfcc.analyses.simulation import simulate
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.dsp import multiplier_dsp
from dfcc.hardware.logic import winograd_logic
from dfcc.kinds import ConvOp
from dfcc.kinds.conv import folding_problem, winograd_problem
from dfcc.kinds.cost import describe, node_cost
from dfcc.kinds.hls_mac import winograd_fx
from dfcc.kinds.hls_types import Fx
from dfcc.passes.quantize import Quantize
from tests.csim_check import csim_equals_reference


def _lit(a: np.ndarray) -> str:
    return np.array2string(a, separator=", ", threshold=10**9, max_line_width=10**9)


def _graph(seed: int = 0) -> str:
    """conv0: 3x3 pad 1, 4 -> 8 with bias at 5x6 (even WO), a ReLU, conv1: 3x3 padded on the left only, 8 -> 6
    at 3x5 (odd WO, unsigned input), conv2: 3x3 pad (1, 1, 1, 2), 6 -> 4 at 3x6 (even WO)."""
    rng = np.random.default_rng(seed)
    w0, b0, w1, w2 = (rng.integers(-6, 7, size=s) / 8.0 for s in ((8, 4, 3, 3), (8,), (6, 8, 3, 3), (4, 6, 3, 3)))
    geometry = 'stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: {}>'
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x4x5x6xf32>) -> tensor<1x3x6x4xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x5x6xf32>) -> !dataflow.stream<1x5x6x4xf32>
    %w0 = dataflow.weights {{name = "w0", value = dense<{_lit(w0)}> : tensor<8x4x3x3xf32>}} : tensor<8x4x3x3xf32>
    %b0 = dataflow.weights {{name = "b0", value = dense<{_lit(b0)}> : tensor<8xf32>}} : tensor<8xf32>
    %c0 = dataflow.conv %s, %w0, %b0 {{name = "conv0", kernel = array<i64: 3, 3>, {geometry.format("1, 1, 1, 1")}}} : (!dataflow.stream<1x5x6x4xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> !dataflow.stream<1x5x6x8xf32>
    %r = dataflow.map %c0 {{name = "relu0"}} : !dataflow.stream<1x5x6x8xf32> -> !dataflow.stream<1x5x6x8xf32> {{
    ^bb0(%v: f32):
      %z = arith.constant 0.000000e+00 : f32
      %p = arith.cmpf ugt, %v, %z : f32
      %m = arith.select %p, %v, %z : f32
      dataflow.yield %m : f32
    }}
    %w1 = dataflow.weights {{name = "w1", value = dense<{_lit(w1)}> : tensor<6x8x3x3xf32>}} : tensor<6x8x3x3xf32>
    %c1 = dataflow.conv %r, %w1 {{name = "conv1", kernel = array<i64: 3, 3>, {geometry.format("0, 0, 1, 0")}}} : (!dataflow.stream<1x5x6x8xf32>, tensor<6x8x3x3xf32>) -> !dataflow.stream<1x3x5x6xf32>
    %w2 = dataflow.weights {{name = "w2", value = dense<{_lit(w2)}> : tensor<4x6x3x3xf32>}} : tensor<4x6x3x3xf32>
    %c2 = dataflow.conv %c1, %w2 {{name = "conv2", kernel = array<i64: 3, 3>, {geometry.format("1, 1, 1, 2")}}} : (!dataflow.stream<1x3x5x6xf32>, tensor<4x6x3x3xf32>) -> !dataflow.stream<1x3x6x4xf32>
    %t = dataflow.sink %c2 {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x3x6x4xf32>) -> tensor<1x3x6x4xf32>
    func.return %t : tensor<1x3x6x4xf32>
  }}
}}
"""


# conv0: 2 input lanes, 4 filters a step, a kernel row a step (3 steps); conv1: every channel, 4 of its 6 filters a
# step (the second step partly idle, output beats of 6), the whole kernel a step, its weights from DRAM; conv2: 3
# input lanes, 2 filters a step, two kernel rows a step (2 steps, the last one half idle), half its words on chip
FOLDINGS = {"conv0": dict(coarse_in=2, coarse_out=4, fine=3), "conv1": dict(coarse_in=8, coarse_out=4, fine=9),
            "conv2": dict(coarse_in=3, coarse_out=2, fine=6)}
MEMORY = {"conv1": {"dataflow.weights_memory": "off_chip"}, "conv2": {"dataflow.weights_on_chip": 50}}


def _convs(module) -> dict[str, ConvOp]:
    return {op.node_name.data: op for op in module.walk() if isinstance(op, ConvOp)}


def _winograd(bits: int, seed: int = 0, winograd: int = 2):
    """The graph quantized to `bits`, its convs folded as FOLDINGS with the `winograd` factor."""
    from xdsl.dialects.builtin import StringAttr

    module = parse_module(_graph(seed))
    Quantize(weight_bits=bits, act_bits=bits).apply(make_context(), module)
    for name, op in _convs(module).items():
        for factor, value in {**FOLDINGS[name], "winograd": winograd}.items():
            op.properties[factor] = IntegerAttr(value, i64)
        for key, value in MEMORY.get(name, {}).items():
            op.attributes[key] = StringAttr(value) if isinstance(value, str) else IntegerAttr(value, i64)
    relu = next(op for op in module.walk() if getattr(op, "name", "") == "dataflow.map")
    relu.properties["coarse"] = IntegerAttr(8, i64)  # all 8 channels a beat: the convs bound the II
    module.verify()
    return module


@pytest.mark.parametrize("bits, bounded", [(16, False), (8, False), (16, True)], ids=["16", "8", "16-bounded"])
def test_winograd_csim_bit_exact(bits, bounded):
    """The three convs with Winograd (even and odd output widths, padding 0 and 1, a signed and an unsigned input,
    CI/CO/FINE variants, a partly idle filter step, weights on chip, from DRAM and split): C simulation equals the
    CPU reference bit for bit, also with every FIFO at its depth."""
    from dfcc.backends.hls.emit import emit_design

    module = _winograd(bits)
    assert emit_design(module).files["top.cpp"].count("dfcc::conv_wino<") == 3
    x = np.random.default_rng(bits).standard_normal((1, 4, 5, 6)).astype(np.float32) * 2
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0
