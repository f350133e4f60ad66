"""The sliding window's line buffer and window registers (window.h) are the memories the cost model counts:
one packed word of all their lanes an address, or a LUTRAM a lane when shallower than a LUT RAM."""

import numpy as np

from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.memory import bram18, lane_banks, line_buffer, window_buffer
from dfcc.kinds.cost import buffer_cost, sliding_window_cost
from dfcc.passes.quantize import Quantize
from tests.csim_check import csim_equals_reference


def test_shallow_window_registers_are_lutram_lanes():
    # a 3x3 window over 128 channels in 16 lanes, 16 bit: window registers 3*2*16 = 96 lanes of 128/16 = 8
    # words; packed, 1536 bits x 8: ceil(1536/36) = 43 BRAM18 nearly empty; a LUTRAM a lane instead,
    # 96 * ceil(16*8/64) = 192 LUTs
    width, depth = window_buffer(128, 3, 3, 16, 16)
    assert (width, depth, bram18(width, depth), lane_banks(width // 16, depth)) == (1536, 8, 43, 96)
    assert buffer_cost(width, depth, 16) == (0, 192)
    # its line buffer (14 + 2 padded columns): 2*16 lanes x 16*8 = 128 words, packed: 512 bits x 128,
    # ceil(512/36) = 15 BRAM18 (a BRAM18 a lane: 32)
    width, depth = line_buffer(128, 14, 3, 16, 16, 1, 1, 1)
    assert (width, depth, lane_banks(width // 16, depth)) == (512, 128, 1)
    assert buffer_cost(width, depth, 16) == (15, 0)
    window = sliding_window_cost(14, 14, 128, 3, 3, (1, 1, 1, 1), 16, 16)
    assert (window.bram18, window.lut) == (15, 192)


def test_deep_window_registers_are_one_packed_memory():
    # 3x3 over 256 channels in 2 lanes (the AutoWS check's conv): window registers 3*2*2 = 12 lanes of 128
    # words, packed 192 bits x 128 = ceil(192/36) = 6 BRAM18 (a BRAM18 a lane: 12)
    assert buffer_cost(*window_buffer(256, 3, 3, 16, 2), 16) == (6, 0)


CONV = """
func.func @main(%a: tensor<1x64x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x64x3x4xf32>) -> !dataflow.stream<1x3x4x64xf32>
  %w = dataflow.weights {name = "w", value = dense<WEIGHTS> : tensor<2x64x3x3xf32>} : tensor<2x64x3x3xf32>
  %y = dataflow.conv %s, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x3x4x64xf32>, tensor<2x64x3x3xf32>) -> !dataflow.stream<1x3x4x2xf32>
  %t = dataflow.sink %y {name = "out", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x3x4x2xf32>) -> tensor<1x2x3x4xf32>
  func.return %t : tensor<1x2x3x4xf32>
}"""


def test_packed_window_csim_bit_exact():
    """A 3x3 conv over 64 channels in one lane: its line buffer (2 lanes, 6*64 words) and window registers (6
    lanes, 64 words) are packed memories; C simulation equals the CPU reference bit for bit."""
    rng = np.random.default_rng(7)
    weights = np.round(rng.uniform(-1, 1, (2, 64, 3, 3)) * 8) / 8
    module = parse_module(CONV.replace("WEIGHTS", np.array2string(weights, separator=", ", threshold=10**6)))
    Quantize(weight_bits=6, act_bits=8).apply(make_context(), module)
    assert lane_banks(6, 64) == lane_banks(2, 6 * 64) == 1
    x = rng.standard_normal((1, 64, 3, 4)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded=False)).max() > 0
