"""Stages that read none of their input part of each inference (NodeKind.closed_cycles): behind a slower
producer they take their input's span plus those cycles, less what the streams in front of them hold."""

from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate import Estimate
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.cycles import reopened_stage_cycles


def _relu_transpose_module(coarse: int) -> str:
    """relu (one lane) -> a 4-lane channel-first transpose of 4x4x4 (a 1 -> 4 lane converter between them)."""
    return f"""
func.func @main(%a: tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x4x4xf32>) -> !dataflow.stream<1x4x4x4xf32>
  %r = dataflow.map %s {{name = "relu", coarse = 1 : i64}} : !dataflow.stream<1x4x4x4xf32> -> !dataflow.stream<1x4x4x4xf32> {{
  ^bb0(%x: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %x, %zero : f32
    dataflow.yield %m : f32
  }}
  %t = dataflow.transpose %r {{name = "t", perm = array<i64: 0, 3, 1, 2>, coarse = {coarse} : i64}} : (!dataflow.stream<1x4x4x4xf32>) -> !dataflow.stream<1x4x4x4xf32>
  %o = dataflow.sink %t {{name = "result", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  func.return %o : tensor<1x4x4x4xf32>
}}"""


def test_reopened_stage_cycles_hand_computed():
    # 16 beats over 60 cycles (one every 4), closed 16 cycles, 3 beats held: 60 + 1 + 16 - 3 * 4
    assert reopened_stage_cycles(60.0, 16, 3, 16) == 65.0
    # a fast producer (a beat a cycle) with nothing held: its beats, then the closed cycles
    assert reopened_stage_cycles(15.0, 16, 0, 16) == 32.0


def test_a_transpose_behind_a_slow_producer_takes_its_input_span_then_its_write_out():
    # relu writes its 64 one-lane beats from cycle 6 to 70; the 1 -> 4 converter writes its first beat
    # after 3 of them and its pipeline, 6 + 3/63 * 64 + 3 = 12.05, its last at 70 + 3 = 73: 16 beats over
    # 60.95 cycles. transpose.h then writes its 16 beats out, reading none: 60.95 + 1 + 16 cycles, less the
    # 2 + 1 + 2 * 4 = 11 one-lane beats (60.95 / 63 cycles each) the relu's stream, the converter and its
    # output stream hold meanwhile: 67.3, so 68 (costed as its own read and write, 32, the relu's 64 was the II).
    module = parse_module(_relu_transpose_module(4))
    est, sim = Estimate.of_module(module).totals, simulate(module)
    assert est.ii == 68
    assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, f"estimate {est.ii}, simulated {sim.ii}"


def _slow_conv_depthwise_module() -> str:
    """a 1x1 conv (2 -> 2 channels, one lane in and out, one MAC a cycle) -> a 3x3 pad-1 depthwise conv, all
    9 kernel positions a cycle, on 8x8x2."""
    return """
func.func @main(%a: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x8x8xf32>) -> !dataflow.stream<1x8x8x2xf32>
  %w = dataflow.weights {name = "w", value = dense<0.5> : tensor<2x2x1x1xf32>} : tensor<2x2x1x1xf32>
  %x = dataflow.conv %s, %w {name = "a", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 1 : i64, coarse_out = 1 : i64, fine = 1 : i64} : (!dataflow.stream<1x8x8x2xf32>, tensor<2x2x1x1xf32>) -> !dataflow.stream<1x8x8x2xf32>
  %v = dataflow.weights {name = "v", value = dense<0.5> : tensor<2x1x3x3xf32>} : tensor<2x1x3x3xf32>
  %y = dataflow.conv %x, %v {name = "b", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, groups = 2 : i64, coarse_in = 1 : i64, coarse_out = 1 : i64, coarse_group = 1 : i64, fine = 9 : i64} : (!dataflow.stream<1x8x8x2xf32>, tensor<2x1x3x3xf32>) -> !dataflow.stream<1x8x8x2xf32>
  %t = dataflow.sink %y {name = "result", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x8x8x2xf32>) -> tensor<1x2x8x8xf32>
  func.return %t : tensor<1x2x8x8xf32>
}"""


def test_a_window_behind_a_slow_producer_walks_the_padding_between_images_after_its_input():
    # a writes a pixel's 2 beats every 4 cycles: its 128 beats from cycle 10 to 262. Between two images b's
    # generator walks the rows below and above and a pixel on each side, 2 * 10 + 2 = 22 positions of 2
    # beats: 44 cycles reading nothing. 252 + 1 + 44, less the 2 beats (252 / 127 cycles each) its input
    # stream holds: 293.03, so 294 (its own 200-cycle walk, under a's 256, had been costed: -13.5 %).
    module = parse_module(_slow_conv_depthwise_module())
    est, sim = Estimate.of_module(module).totals, simulate(module)
    assert est.ii == 294
    assert abs(est.ii - sim.ii) <= 0.02 * sim.ii, f"estimate {est.ii}, simulated {sim.ii}"
