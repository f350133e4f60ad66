"""A lane converter between lanes neither of which divides the other goes through their gcd (vec.h
dfcc::lanes), so its last stage widens: a window generator behind it gets a beat every lanes_out / gcd
cycles, and the MAC loop's waits between rows grow with that pace (hardware/cycles.py
windowed_stage_cycles). Explore's mobilenet_v3_small_tiny designs had such converters (4 -> 1 -> 3 and
3 -> 1 -> 2 lanes into depthwise convs): simulated II 1,296 against an estimate of 1,156.
"""

from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate import Estimate
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.cycles import lane_converter_interval, lane_converter_tail
from dfcc.kinds.conv import ConvOp, channel_folding, window_depth


def test_lane_converter_interval():
    assert lane_converter_interval(4, 3) == 3  # 4 -> 1 -> 3: a 3-lane beat from three 1-lane ones
    assert lane_converter_interval(3, 2) == 2
    assert lane_converter_interval(2, 3) == 3  # 2 -> 1 -> 3
    assert lane_converter_interval(1, 4) == 4 and lane_converter_interval(2, 4) == 2
    assert lane_converter_interval(4, 2) == 1 and lane_converter_interval(3, 3) == 1  # no widening


def test_lane_converter_tail():
    assert lane_converter_tail(96, 16) == 5  # the last 96-lane beat leaves as six 16-lane beats, one a cycle
    assert lane_converter_tail(4, 3) == 3  # 4 -> 1 -> 3: four 1-lane beats, the last 3-lane beat with the fourth
    assert lane_converter_tail(8, 48) == 0 and lane_converter_tail(3, 3) == 0  # no narrowing


def _paced_module(map_lanes: int, conv_lanes: int, kernel: int, pad: int, stride: int, c: int, f: int, hw: int) -> str:
    ho = (hw + 2 * pad - kernel) // stride + 1
    return f"""
func.func @main(%a: tensor<1x{c}x{hw}x{hw}xf32>) -> tensor<1x{f}x{ho}x{ho}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x{c}x{hw}x{hw}xf32>) -> !dataflow.stream<1x{hw}x{hw}x{c}xf32>
  %r = dataflow.map %s {{name = "relu", coarse = {map_lanes} : i64}} : !dataflow.stream<1x{hw}x{hw}x{c}xf32> -> !dataflow.stream<1x{hw}x{hw}x{c}xf32> {{
  ^bb0(%x: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %x, %zero : f32
    dataflow.yield %m : f32
  }}
  %w = dataflow.weights {{name = "w", value = dense<0.5> : tensor<{f}x{c}x{kernel}x{kernel}xf32>}} : tensor<{f}x{c}x{kernel}x{kernel}xf32>
  %y = dataflow.conv %r, %w {{name = "conv", kernel = array<i64: {kernel}, {kernel}>, stride = array<i64: {stride}, {stride}>, dilation = array<i64: 1, 1>, pad = array<i64: {pad}, {pad}, {pad}, {pad}>, coarse_in = {conv_lanes} : i64, coarse_out = 1 : i64, fine = {kernel * kernel} : i64}} : (!dataflow.stream<1x{hw}x{hw}x{c}xf32>, tensor<{f}x{c}x{kernel}x{kernel}xf32>) -> !dataflow.stream<1x{ho}x{ho}x{f}xf32>
  %t = dataflow.sink %y {{name = "result", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x{ho}x{ho}x{f}xf32>) -> tensor<1x{f}x{ho}x{ho}xf32>
  func.return %t : tensor<1x{f}x{ho}x{ho}xf32>
}}"""


def test_a_converter_through_the_gcd_paces_the_window_generator():
    # 3 -> 1 -> 2 lanes into a 1x1 stride-2 conv over 16x16x12: 6 beats a pixel, one per 2 cycles; 8
    # filters one at a time: 8 cycles a beat, 64 windows: busy 3,072. Gaps of g = 103 walked beats: between
    # rows (2*16 - 7*2 - 1)*6 + 1, 7 times, and between inferences (256 - 224 - 15)*6 + 1. The window stream is
    # D = 13 deep (chosen at the conv's own pace, one beat a cycle, where it hides the gaps); paced at 2 cycles
    # a beat each gap stalls 2g + 2 - (D+1)*8 = 96. At one beat a cycle (3 -> 2 counted as narrowing) the
    # estimate was 18 % short.
    module = parse_module(_paced_module(3, 2, 1, 0, 2, 12, 8, 16))
    conv = next(op for op in module.walk() if isinstance(op, ConvOp))
    depth = window_depth(conv, channel_folding(conv.folding()))
    est, sim = Estimate.of_module(module).totals.ii, simulate(module).ii
    assert depth == 13
    assert est == 3072 + 8 * (2 * 103 + 2 - (depth + 1) * 8) == 3840
    assert abs(est - sim) <= 0.01 * sim, (est, sim)


def test_a_converter_widening_into_a_max_pool_paces_its_window_walk():
    # a relu at 1 lane into a 3x3 stride-2 max pool over 16x16x16 at 2 lanes (resnet18_small's first pool in an
    # explored design): the padded walk is 18 x 18 pixels of 8 beats, 2,592 cycles at one beat a cycle; the
    # 1 -> 2 converter brings a beat every 2 cycles, so the 16 x 16 x 8 input beats take 4,096 cycles and the
    # stride-2 windows' gaps open on top (hardware/cycles.py windowed_stage_cycles): estimated 4,640, simulated
    # 4,592; with the pace uncounted the estimate said 4,096
    module = parse_module(f"""
func.func @main(%a: tensor<1x16x16x16xf32>) -> tensor<1x16x8x8xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x16x16x16xf32>) -> !dataflow.stream<1x16x16x16xf32>
  %r = dataflow.map %s {{name = "relu", coarse = 1 : i64}} : !dataflow.stream<1x16x16x16xf32> -> !dataflow.stream<1x16x16x16xf32> {{
  ^bb0(%x: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %x, %zero : f32
    dataflow.yield %m : f32
  }}
  %p = dataflow.pool %r {{name = "pool", kind = "max", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse = 2 : i64}} : (!dataflow.stream<1x16x16x16xf32>) -> !dataflow.stream<1x8x8x16xf32>
  %t = dataflow.sink %p {{name = "result", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x8x8x16xf32>) -> tensor<1x16x8x8xf32>
  func.return %t : tensor<1x16x8x8xf32>
}}""")
    est, sim = Estimate.of_module(module).totals.ii, simulate(module).ii
    assert est > 4096 and abs(est - sim) <= 0.02 * sim, (est, sim)
