"""Weight-stationary conv tiles (`tile` folding factor, conv.h conv_tiled): each weight word serves a tile of
output pixels before the next, so weights streamed from DRAM are read once per tile instead of once per
pixel. Formulas by hand, the cost model, the schedule against the estimate, C simulation bit-exact, and
explore choosing tiles when the DRAM bandwidth binds."""

import json
import re

import numpy as np
import pytest
from xdsl.dialects.builtin import StringAttr

from dfcc.analyses.network import Network
from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate.report import Estimate
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.cycles import tiled_conv_cycles
from dfcc.hardware.memory import bram18, bram18_two_reads, lutram_luts
from dfcc.hardware.offchip import conv_weight_sweeps, streamed_weight_bits
from dfcc.hardware.platforms import load_platform
from dfcc.dialects.dataflow import TILE_LUTRAM_ATTR
from dfcc.kinds import ConvOp
from dfcc.kinds.conv import (
    held_beats, held_input_beats, subsampled, tile_buffer, tile_buffer_cost, tile_buffer_depth, tile_lutram_options,
    tile_memories, tile_pixels_read,
)
from dfcc.kinds.cost import LaneRam, acc_bits, describe, lane_ram, node_cost, tile_lutram
from dfcc.passes import explore as explore_pass
from dfcc.passes.explore import apply_design, explore
from dfcc.passes.quantize import Quantize
from tests.autows_layer import CHECK_LAYER
from tests.csim_check import csim_equals_reference
from tests.test_explore_offchip import _conv
from tests.weight_blobs import blob_section


def _lit(a: np.ndarray) -> str:
    return np.array2string(a, separator=", ", threshold=10**9, max_line_width=10**9)


def _three_convs() -> str:
    """conv0: 3x3, 4 -> 8 with bias, all weights from DRAM, tiles of one row (6 pixels: 6 sweeps), four of
    its nine kernel positions a cycle (3 steps, the last one partly idle); conv1: 3x3 stride 2, 8 -> 8, half its words on chip, one tile of
    the whole 3x3 output (1 sweep); conv2: 1x1, 8 -> 6, on chip, tiles of 3 pixels."""
    rng = np.random.default_rng(0)
    w0, b0, w1, w2 = (rng.integers(-6, 7, size=s) / 8.0 for s in ((8, 4, 3, 3), (8,), (8, 8, 3, 3), (6, 8, 1, 1)))
    geometry = 'stride = array<i64: {s}, {s}>, dilation = array<i64: 1, 1>, pad = array<i64: {p}, {p}, {p}, {p}>'
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x4x6x6xf32>) -> tensor<1x3x3x6xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x6x6xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w0 = dataflow.weights {{name = "w0", value = dense<{_lit(w0)}> : tensor<8x4x3x3xf32>}} : tensor<8x4x3x3xf32>
    %b0 = dataflow.weights {{name = "b0", value = dense<{_lit(b0)}> : tensor<8xf32>}} : tensor<8xf32>
    %c0 = dataflow.conv %s, %w0, %b0 {{dataflow.weights_memory = "off_chip", name = "conv0", kernel = array<i64: 3, 3>, {geometry.format(s=1, p=1)}, coarse_in = 2 : i64, coarse_out = 4 : i64, fine = 4 : i64, tile = 6 : i64}} : (!dataflow.stream<1x6x6x4xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> !dataflow.stream<1x6x6x8xf32>
    %w1 = dataflow.weights {{name = "w1", value = dense<{_lit(w1)}> : tensor<8x8x3x3xf32>}} : tensor<8x8x3x3xf32>
    %c1 = dataflow.conv %c0, %w1 {{dataflow.weights_on_chip = 50 : i64, name = "conv1", kernel = array<i64: 3, 3>, {geometry.format(s=2, p=1)}, coarse_in = 4 : i64, coarse_out = 2 : i64, tile = 9 : i64}} : (!dataflow.stream<1x6x6x8xf32>, tensor<8x8x3x3xf32>) -> !dataflow.stream<1x3x3x8xf32>
    %w2 = dataflow.weights {{name = "w2", value = dense<{_lit(w2)}> : tensor<6x8x1x1xf32>}} : tensor<6x8x1x1xf32>
    %c2 = dataflow.conv %c1, %w2 {{name = "conv2", kernel = array<i64: 1, 1>, {geometry.format(s=1, p=0)}, coarse_in = 8 : i64, coarse_out = 3 : i64, tile = 3 : i64}} : (!dataflow.stream<1x3x3x8xf32>, tensor<6x8x1x1xf32>) -> !dataflow.stream<1x3x3x6xf32>
    %t = dataflow.sink %c2 {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x3x3x6xf32>) -> tensor<1x3x3x6xf32>
    func.return %t : tensor<1x3x3x6xf32>
  }}
}}
"""


def _points() -> str:
    """one: 1x1, 4 -> 8 on 6x6, tiles of 4 pixels (some crossing a row); two: 1x1 stride 2, 8 -> 6, tiles of 3."""
    rng = np.random.default_rng(1)
    w1, w2 = (rng.integers(-6, 7, size=s) / 8.0 for s in ((8, 4, 1, 1), (6, 8, 1, 1)))
    geometry = 'kernel = array<i64: 1, 1>, stride = array<i64: {s}, {s}>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>'
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x4x6x6xf32>) -> tensor<1x3x3x6xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x6x6xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w1 = dataflow.weights {{name = "w1", value = dense<{_lit(w1)}> : tensor<8x4x1x1xf32>}} : tensor<8x4x1x1xf32>
    %c1 = dataflow.conv %s, %w1 {{name = "one", {geometry.format(s=1)}, coarse_in = 2 : i64, coarse_out = 4 : i64, tile = 4 : i64}} : (!dataflow.stream<1x6x6x4xf32>, tensor<8x4x1x1xf32>) -> !dataflow.stream<1x6x6x8xf32>
    %w2 = dataflow.weights {{name = "w2", value = dense<{_lit(w2)}> : tensor<6x8x1x1xf32>}} : tensor<6x8x1x1xf32>
    %c2 = dataflow.conv %c1, %w2 {{name = "two", {geometry.format(s=2)}, coarse_in = 4 : i64, coarse_out = 3 : i64, tile = 3 : i64}} : (!dataflow.stream<1x6x6x8xf32>, tensor<6x8x1x1xf32>) -> !dataflow.stream<1x3x3x6xf32>
    %t = dataflow.sink %c2 {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x3x3x6xf32>) -> tensor<1x3x3x6xf32>
    func.return %t : tensor<1x3x3x6xf32>
  }}
}}
"""


def _quantized():
    module = parse_module(_three_convs())
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    return module


def _convs(module) -> dict[str, ConvOp]:
    return {op.node_name.data: op for op in module.walk() if isinstance(op, ConvOp)}


def test_weight_traffic_by_hand():
    """ResNet-18's layer4 3x3 512 -> 512 conv at 7x7, 4-bit weights: 9,437,184 bits of weights, read for each
    of the 49 output pixels (462 Mbit an image), once for a tile of the whole 7x7 output, 7 times for tiles
    of a row."""
    bits = 512 * 512 * 9 * 4
    assert bits == 9_437_184
    assert streamed_weight_bits(bits, 1, conv_weight_sweeps(49, 1)) == 462_422_016
    assert streamed_weight_bits(bits, 1, conv_weight_sweeps(49, 49)) == 9_437_184
    assert conv_weight_sweeps(49, 7) == 7 and conv_weight_sweeps(196, 49) == 4


def test_tiled_cycles_by_hand():
    """conv1 above: 6x6x8 in, 4 input lanes (2 beats a pixel), 3x3 stride 2 padding 1, 3x3x8 out, 2 output
    lanes (4 output beats), one kernel position a cycle (9 steps), one tile of 9 pixels: its 36 x 2 = 72 input
    beats into the tile buffer, then 9 x 2 x 4 x 9 = 648 MAC cycles, then 9 x 4 = 36 output beats: 756.
    conv0: 6x6x4 in 2 lanes (2 beats a pixel), 8 filters in 4 lanes (2 beats), 3 steps of 4 of the 9 positions,
    6 tiles of a row: 72 input beats, 36 x 2 x 2 x 3 = 432 MAC cycles, 36 x 2 = 72 output beats: 576."""
    assert tiled_conv_cycles(72, 9, 2, 4 * 9, 4) == 756
    convs = _convs(_quantized())
    assert node_cost(convs["conv1"]).cycles == 756
    assert tiled_conv_cycles(72, 36, 2, 2 * 3, 2) == 576
    assert node_cost(convs["conv0"]).cycles == 576


def test_tile_buffer_by_hand():
    """The tile buffer holds the input of a tile's windows once. The check layer (14x14, 3x3, padding 1) in tiles
    of 49 pixels (3.5 output rows): tile 0 covers output rows 0-3, input rows 0-4 (read through row 4: 70
    pixels), tile 1 output rows 3-6, input 2-7 (6 rows), tile 2 rows 7-10, input 6-11 (6), tile 3 rows 10-13,
    input 9-13 (5): a ring of 6 rows, two rounds of the 3 row banks, each bank 2 rows of ceil(14/3) = 5 columns.
    conv1 (6x6, stride 2, one tile of the 3x3 output): all 6 rows, 2 rounds of 2 columns. A 1x1 window reads one
    pixel, so its buffer is a ring of pixels: conv2 (3x3, tiles of 3) 3; the 1x1 convs below: stride 1 on 6x6
    in tiles of 4 (pixels 0-3, 4-7, ...), 4; stride 2 in tiles of a 3-pixel output row, its pixels at input
    columns 0, 2, 4 of rows 0, 2, 4: the copy into its FIFO keeps those 9 only (subsampled), so the buffer reads
    the held 3x3 image through 3, 6, 9: 3 (5, reading the whole input through 5, 17, 29 and dropping 30-35)."""
    (check,) = _convs(parse_module(CHECK_LAYER)).values()
    assert list(tile_pixels_read(check, 49)) == [5 * 14, 8 * 14, 12 * 14, 14 * 14]
    assert tile_buffer_depth(check, 49) == 2 * 5
    assert tile_buffer_depth(check, 196) == 5 * 5  # 14 rows, 5 rounds of 3 banks
    convs = _convs(_quantized())
    assert list(tile_pixels_read(convs["conv1"], 9)) == [36] and tile_buffer_depth(convs["conv1"], 9) == 2 * 2
    assert list(tile_pixels_read(convs["conv2"], 3)) == [3, 6, 9] and tile_buffer_depth(convs["conv2"], 3) == 3
    points = _convs(parse_module(_points()))
    assert list(tile_pixels_read(points["one"], 4)) == list(range(4, 37, 4)) and tile_buffer_depth(points["one"], 4) == 4
    assert subsampled(points["two"]) and not subsampled(points["one"]) and not subsampled(convs["conv1"])
    assert list(held_input_beats(points["two"], 8)) == [0, 2, 4, 12, 14, 16, 24, 26, 28]
    assert list(tile_pixels_read(points["two"], 3)) == [3, 6, 9] and tile_buffer_depth(points["two"], 3) == 3
    # its FIFO: a tile's share of the 9 held pixels, 3 pixels of 2 beats (4 input lanes of 8 channels), not 12 x 2
    assert held_beats(points["two"], 4, 3) == 6


def test_subsampled_point_window_cycles_by_hand():
    """`two` (1x1 stride 2, 8 -> 6 on 6x6, 4 input lanes: 2 beats a pixel, 3 filters a step: 2 steps, tiles of 3):
    its copy task reads the 72 input beats and holds the 9 pixels' 18; the MACs load those 18, take 9 x 2 x 2 = 36
    MAC cycles and write 9 x 2 = 18 output beats: 72, the copy's 72 too (126 while the MACs read all 72 beats).
    The simulation of the design (the II is `one`'s 36 x 2 + 36 x 2 x 2 + 36 x 2 = 288) agrees with the estimate."""
    module = parse_module(_points())
    two = _convs(module)["two"]
    assert tiled_conv_cycles(18, 9, 2, 2, 2) == 72 and node_cost(two).cycles == 72
    assert tiled_conv_cycles(72, 9, 2, 2, 2) == 126
    network = Network.from_module(module)
    estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    simulated = simulate(module)
    assert not simulated.deadlock and estimate.ii == 288
    assert abs(simulated.ii - estimate.ii) <= 0.05 * estimate.ii


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_point_window_tiles_csim_bit_exact(bounded):
    """The 1x1 convs of `_points` (a ring of pixels, tiles crossing rows, a stride skipping input): C simulation
    equals the CPU reference, also with every FIFO at its depth."""
    from dfcc.backends.hls.emit import emit_design

    module = parse_module(_points())
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    assert emit_design(module).files["top.cpp"].count("dfcc::conv_tiled<") == 2
    x = np.random.default_rng(6).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0


def test_tiled_cost_of_the_check_layer():
    """The check layer at 16 input and output lanes, tiles of 49 pixels (4 of its 196): its 9,437,184 weight bits
    stream 4 times an image instead of 196. On chip it adds the tile buffer (9 banks, row and column mod 3, of
    2 rows x 5 columns x 16 beats of 256 bits: 8 BRAM18 of 36 x 512 each, 72), a filter step's accumulators
    (a memory per filter lane of 32 bits x 49 pixels: 16 BRAM18), the tile's outputs (a memory per lane of 16
    bits x 16 steps x 49 pixels: 16 BRAM18) and the input FIFO of a quarter of the input
    (49 pixels x 16 beats of 256 bits: 15 BRAM18 of 18 x 1024), and drops conv_mac's window generator (its line
    buffer of 2 rows of 256 bits x 16 x 16 padded columns: 15 BRAM18; its window registers, 3 x 2 x 16 lanes
    of 16 words, shallower than a LUT RAM: a LUTRAM of 16 x 16 bits a lane) and its LUTRAM accumulators (512
    bits x 16); its weight reader needs one narrow port where one
    word a cycle needs eight wide ones."""
    (conv,) = _convs(parse_module(CHECK_LAYER)).values()
    model = describe(conv)
    assert model.factors[5] == "tile"
    pixel, tiled = (model.cost((16, 16, 1, 1, 1, t), "off_chip") for t in (1, 49))
    assert pixel.offchip_bits == 9_437_184 * 196
    assert tiled.offchip_bits == 9_437_184 * 4
    # and its weight reader: 256 x 16 bits a word in 32 beats of one 128-bit port within the 49 cycles the MACs
    # spend on it (an adapter of 128 x 256 bits: 4 BRAM18), not a beat of eight 512-bit ports (8 x 15)
    assert tiled.bram18 - pixel.bram18 == 9 * 8 + 16 + 16 + 15 + 4 - 8 * 15 - 15
    # the adapters' logic: 200 + 1 per data bit, and 18 LUTs of requests, each; the window selection: each of
    # the 3 kernel rows takes each column bank's 256 bits from one of 3 row banks (a LUT6 a bit), each of the 9
    # positions from one of 3 column banks
    select = 3 * 3 * 256 + 9 * 256
    assert pixel.lut - tiled.lut == (lutram_luts(512, 16) + 96 * lutram_luts(16, 16) + 8 * (200 + 512 + 18)
                                     - (200 + 128 + 18) - select)
    # the 196 x 16 input beats, then the MACs of 196 pixels x 16 input beats x 16 output beats x 9 positions,
    # then 196 x 16 output beats
    assert tiled.cycles == 196 * 16 + 196 * 16 * 16 * 9 + 196 * 16 == 457_856


def test_tile_needs_an_ungrouped_conv_at_one_pixel_per_beat():
    grouped = CHECK_LAYER.replace("tensor<256x256x3x3xf32>", "tensor<256x128x3x3xf32>").replace(
        'pad = array<i64: 1, 1, 1, 1>}', 'pad = array<i64: 1, 1, 1, 1>, groups = 2 : i64, tile = 7 : i64}')
    with pytest.raises(DfccError, match="tile=7 .* needs groups=1 and pixels=1"):
        parse_module(grouped)
    (conv,) = _convs(parse_module(CHECK_LAYER)).values()
    assert all(f[5] == 1 or f[4] == 1 for f in describe(conv).folding_options())


def test_simulation_agrees_with_the_estimate():
    """The cycle-level simulation of conv_tiled's loop nests (schedules.py) keeps the II the estimate gives:
    the input FIFO of a tile's share lets the producer run while the MACs work."""
    module = _quantized()
    network = Network.from_module(module)
    estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    simulated = simulate(module)
    assert not simulated.deadlock
    assert estimate.ii == 756
    assert abs(simulated.ii - estimate.ii) <= 0.05 * estimate.ii


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_tiled_convs_csim_bit_exact(bounded):
    """conv0 streams its words from the testbench's DRAM 6 times (once per row tile), conv1 half of its words
    once, conv2 reads its ROM per tile of 3 pixels: C simulation equals the CPU reference, also with every
    FIFO at its depth."""
    from dfcc.backends.hls.emit import emit_design

    module = _quantized()
    top = emit_design(module).files["top.cpp"]
    assert top.count("dfcc::conv_tiled<") == 3
    assert "dfcc::weight_reader_beats<6, 12, 4," in top  # conv0: 6 sweeps of its 12 words, each in 4 beats
    assert "dfcc::weight_merge<1, 36, 36>" in top  # conv1: one sweep, half of its 72 words streamed
    x = np.random.default_rng(4).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_narrow_weight_reader_csim_bit_exact(bounded):
    """conv0 at 2 x 8 lanes and all nine kernel positions a cycle: 144 4-bit weights (576 bits) a word, which
    the MACs apply to a tile of 9 pixels: the reader takes them in 9 beats of one 64-bit port (16 weights a
    beat, the last one full) instead of a beat of nine ports, 2 words a sweep, 4 sweeps. C simulation equals
    the CPU reference, also with the reader's 2-word FIFO at its depth."""
    from dfcc.backends.hls.emit import emit_design

    module = parse_module(_three_convs().replace("coarse_out = 4 : i64, fine = 4 : i64, tile = 6 : i64",
                                                 "coarse_out = 8 : i64, fine = 9 : i64, tile = 9 : i64"))
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    top = emit_design(module).files["top.cpp"]
    assert "dfcc::weight_reader_beats<4, 2, 9, 4, 64>(conv0_wfifo, conv0_w0);" in top
    assert "port=conv0_w0 offset=slave bundle=gmem_conv0_w0 depth=18 " in top  # 2 words x 9 beats
    x = np.random.default_rng(5).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0


def test_explore_tiles_when_the_bandwidth_binds():
    """The check layer on a ZedBoard (280 BRAM18, 34.1 Gbps): its 9.4 Mbit of weights cannot stay on chip, and
    streamed once per pixel (1.85 Gbit an image) the DRAM alone would allow at most 0.9 x 34.112e9 / 1.85e9
    = 16.6 images/s. Explore takes tiles, reading the weights a few times an image, and runs faster than that."""
    module = parse_module(CHECK_LAYER)
    network = Network.from_module(module)
    zedboard = load_platform("zedboard")
    choices, totals = explore(network, zedboard, progress=False, off_chip_weights=True)
    (n,) = [i for i, m in enumerate(network.nodes) if m.has_weights]
    folding, memory, _, on_chip, *_ = choices[n]
    assert folding[5] > 1 and (memory == "off_chip" or on_chip < 100)
    fps = zedboard.clock_mhz * 1e6 / totals.ii
    assert fps > 0.9 * 34.112e9 / (9_437_184 * 196)
    apply_design(module, network, choices, totals, "zedboard")
    assert Estimate.of_module(module).offchip_gbps() <= 0.9 * 34.112 + 1e-6


def test_tiled_words_take_the_filter_steps_outermost():
    """conv_tiled reads a filter step's words for every input beat, then the next step's: a 3x3 conv of 4 filters
    and 4 channels at 2 lanes in and out, one position a step, has words (fo, bt, t) where conv_mac has (bt, fo,
    t): word 9 (fo 0, bt 1, t 0) holds filters 0-1, the first two of beat 1's (channel, position) run: channel 2
    at positions 0 and 1."""
    from dfcc.kinds.hls_offchip import mac_words

    weights = np.arange(4 * 4 * 9, dtype=np.float64).reshape(4, 4, 9)
    pixel, tiled = (mac_words(weights, 4, 1, 2, 2, 1, outer) for outer in (False, True))
    assert np.array_equal(tiled, pixel.reshape(2, 2, 9, 4).swapaxes(0, 1).reshape(36, 4))
    # lane co*LC + m: filter co, run entry m
    assert tiled[9].tolist() == [weights[0, 2, 0], weights[0, 2, 1], weights[1, 2, 0], weights[1, 2, 1]]


def test_tiled_uram_words_csim_bit_exact():
    """conv2's weights in URAM at 4 input lanes (2 beats, 2 filter steps: words (fo, bt) in conv_tiled's order,
    not conv_mac's (bt, fo)), a packed ROM of its words: C simulation with every FIFO at its depth equals the
    CPU reference."""
    from dfcc.backends.hls.emit import emit_design

    text = _three_convs().replace('{name = "conv2"', '{dataflow.weights_memory = "uram", name = "conv2"')
    module = parse_module(text.replace("coarse_in = 8 : i64, coarse_out = 3 : i64, tile = 3",
                                       "coarse_in = 4 : i64, coarse_out = 3 : i64, tile = 3"))
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    assert "dfcc::weight_rom<3, 4, " in emit_design(module).files["top.cpp"]  # 3 tiles, 4 words
    x = np.random.default_rng(7).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], True)).max() > 0


def _dual_port_banks() -> str:
    """cols: 3x3, 256 -> 32 on 8x8 at 2 lanes in, tiles of 32 pixels (4 output rows); rows: 3x3 stride 2, 32 -> 8,
    tiles of 8 pixels (2 output rows)."""
    rng = np.random.default_rng(8)
    w1, w2 = (rng.integers(-6, 7, size=s) / 32.0 for s in ((32, 256, 3, 3), (8, 32, 3, 3)))
    geometry = 'kernel = array<i64: 3, 3>, stride = array<i64: {s}, {s}>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>'
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x256x8x8xf32>) -> tensor<1x4x4x8xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x256x8x8xf32>) -> !dataflow.stream<1x8x8x256xf32>
    %w1 = dataflow.weights {{name = "w1", value = dense_resource<w1_blob> : tensor<32x256x3x3xf32>}} : tensor<32x256x3x3xf32>
    %c1 = dataflow.conv %s, %w1 {{name = "cols", {geometry.format(s=1)}, coarse_in = 2 : i64, coarse_out = 32 : i64, tile = 32 : i64}} : (!dataflow.stream<1x8x8x256xf32>, tensor<32x256x3x3xf32>) -> !dataflow.stream<1x8x8x32xf32>
    %w2 = dataflow.weights {{name = "w2", value = dense_resource<w2_blob> : tensor<8x32x3x3xf32>}} : tensor<8x32x3x3xf32>
    %c2 = dataflow.conv %c1, %w2 {{name = "rows", {geometry.format(s=2)}, coarse_in = 2 : i64, coarse_out = 4 : i64, tile = 8 : i64}} : (!dataflow.stream<1x8x8x32xf32>, tensor<8x32x3x3xf32>) -> !dataflow.stream<1x4x4x8xf32>
    %t = dataflow.sink %c2 {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    func.return %t : tensor<1x4x4x8xf32>
  }}
}}""" + blob_section({"w1_blob": w1, "w2_blob": w2})


def _dual_port_module():
    module = parse_module(_dual_port_banks())
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    return module


def test_dual_port_banks_by_hand():
    """`cols` (6-bit data, 2 lanes: 12-bit beats, 128 a pixel) in tiles of 4 output rows holds 5 input rows (rows
    0-4, then 3-7). One bank per row and column of the 3x3 span: 2 rows of ceil(8/3) = 3 pixels, 768 beats, a
    BRAM18 each, 9. Half the row banks: ceil(5/2) = 3 rows of 3 pixels, 1152 beats, 2 BRAM18 (18 x 1024) each, 12.
    Half the column banks, read on both ports (18 bits wide at most): 2 rows of 4 pixels, 1024 beats, one each, 6.
    Its selection: each kernel row takes each of 2 x 2 column reads from 3 row banks (a LUT6 a bit), each position
    one of 2 column banks (a LUT6 a bit): 3 x 4 x 12 + 9 x 12 = 252 LUTs. `rows` (stride 2, tiles of an output row,
    5 input rows): 9 banks of 2 rows of 3 pixels, 16 beats each (96 x 12 bits: a BRAM18 each); or 2 row banks of 3
    rows, 144 beats, 6."""
    convs = _convs(_dual_port_module())
    cols, rows = convs["cols"], convs["rows"]
    assert tile_buffer_depth(cols, 32) == 2 * 3 and tile_buffer_depth(cols, 32, (3, 2)) == 2 * 4
    assert [tile_buffer_cost(cols, 2, 32, banks)[0] for banks in ((3, 3), (2, 3), (3, 2))] == [9, 12, 6]
    assert tile_buffer_cost(cols, 2, 32, (3, 2))[1] == 3 * 4 * 12 + 9 * 12
    assert tile_buffer(cols, 2, 32) == ((3, 2), 6, 252)
    assert tile_buffer_depth(rows, 8) == 2 * 3 and tile_buffer_depth(rows, 8, (2, 3)) == 3 * 3
    assert [tile_buffer_cost(rows, 2, 8, banks)[0] for banks in ((3, 3), (2, 3))] == [9, 6]
    assert tile_buffer(rows, 2, 8)[0] == (2, 3)
    assert bram18_two_reads(36, 512) == 2 and bram18(36, 512) == 1


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_dual_port_banks_csim_bit_exact(bounded):
    """`cols` with half its column banks (each read twice a cycle), `rows` with half its row banks: C simulation
    equals the CPU reference, also with every FIFO at its depth."""
    from dfcc.backends.hls.emit import emit_design

    module = _dual_port_module()
    top = emit_design(module).files["top.cpp"]
    assert ", 32, 3, 2, " in top and ", 8, 2, 3, " in top  # (tile, KRB, KCB)
    x = np.random.default_rng(9).standard_normal((1, 256, 8, 8)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0



def _partial_tiles():
    """_three_convs with tiles not dividing the output pixels: conv0 tiles of 8 of its 36 (5 tiles, the last one
    4 pixels), conv1 of 4 of its 9 (3 tiles: 4, 4, 1), conv2 of 2 of its 9 (5 tiles)."""
    module = parse_module(_three_convs().replace("tile = 6 :", "tile = 8 :").replace("tile = 9 :", "tile = 4 :")
                          .replace("tile = 3 :", "tile = 2 :"))
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    return module


def _partial_points():
    """_points with tiles not dividing the output pixels: `one` in tiles of 5 of its 36 (8 tiles, the last one a
    pixel), `two` (subsampled) in tiles of 2 of its 9 (5 tiles)."""
    module = parse_module(_points().replace("tile = 4 :", "tile = 5 :").replace("tile = 3 :", "tile = 2 :"))
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    return module


def test_partial_tiles_by_hand():
    """conv1 in tiles of 4 of its 9 output pixels: 3 tiles, the last one's 3 pixels past the image idle but
    timed (its loops keep R = 4 pixels): its 72 input beats, 12 x 2 x 4 x 9 = 864 MAC cycles, 12 x 4 = 48 output
    beats: 984, 3 sweeps of its weights. Tile 0 (pixels 0-3, last in output row 1) reads through input row
    1 x 2 - 1 + 2 = 3 (24 pixels), tile 1 (4-7) through row 5 (36), tile 2 (pixel 8) the same; its FIFO holds
    4/9 of the 36 input pixels, 16 (2 beats each), as a dividing tile's share. conv0's tiles of 8 of 36: 5 sweeps.
    `one` (1x1) in tiles of 5 of 36 reads 5 pixels a tile, the last one 1 (through 36), its FIFO 5 pixels."""
    convs = _convs(_partial_tiles())
    assert tiled_conv_cycles(72, 12, 2, 4 * 9, 4) == 984
    conv1 = node_cost(convs["conv1"])
    assert conv1.cycles == 984 and conv1.weight_sweeps == 3 == conv_weight_sweeps(9, 4)
    assert list(tile_pixels_read(convs["conv1"], 4)) == [24, 36, 36] and held_beats(convs["conv1"], 4, 4) == 32
    assert node_cost(convs["conv0"]).weight_sweeps == 5
    one = _convs(_partial_points())["one"]
    assert list(tile_pixels_read(one, 5)) == [5, 10, 15, 20, 25, 30, 35, 36] and held_beats(one, 2, 5) == 10


def test_explore_takes_partial_tiles_sweeping_few_times():
    """explore's tiles: of a 1x1 window (`one`, 36 output pixels) its divisors, and where a tile sweeps the weights
    at most PARTIAL_TILE_SWEEPS = 8 times the least tile for each count (36 / n rounded up: 8 for n = 5, 5 for
    n = 8); of the check layer's 3x3 window (its first tile reads its extra rows) likewise: the divisors of 196 and
    196 / n rounded up, 66 for n = 3, 40, 33 and 25 for n = 5, 6 and 8."""
    from dfcc.kinds.conv import PARTIAL_TILE_SWEEPS
    from dfcc.passes.explore import foldings

    def tiles(conv):
        model = describe(conv)
        return {f[model.factors.index("tile")] for f in foldings(model, off_chip=True)}

    assert PARTIAL_TILE_SWEEPS == 8
    assert tiles(_convs(parse_module(_points()))["one"]) == {1, 2, 3, 4, 6, 9, 12, 18, 36} | {8, 5}
    assert tiles(_convs(parse_module(CHECK_LAYER))["conv"]) == {1, 2, 4, 7, 14, 28, 49, 98, 196} | {66, 40, 33, 25}


@pytest.mark.parametrize("build", [_partial_tiles, _partial_points], ids=["3x3", "1x1"])
def test_partial_tiles_simulation_agrees_with_the_estimate(build):
    """The schedule of partial tiles (the last tile's idle pixels take their MAC and output iterations, writing
    nothing) keeps the estimate's II."""
    module = build()
    network = Network.from_module(module)
    estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    simulated = simulate(module)
    assert not simulated.deadlock
    assert abs(simulated.ii - estimate.ii) <= 0.05 * estimate.ii


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_partial_tiles_csim_bit_exact(bounded):
    """Tiles not dividing the output pixels: conv0 streams its words from DRAM 5 times, conv1 half of its words
    3 times; C simulation equals the CPU reference, also with every FIFO at its depth; and so do the 1x1 convs
    in tiles of 5 and 2 (a subsampled input)."""
    from dfcc.backends.hls.emit import emit_design

    module = _partial_tiles()
    top = emit_design(module).files["top.cpp"]
    assert "dfcc::weight_reader_beats<5, 12, 8," in top and "dfcc::weight_merge<3, 36, 36>" in top
    x = np.random.default_rng(7).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0
    assert np.abs(csim_equals_reference(_partial_points(), [x], bounded)).max() > 0


def test_lane_ram_by_hand():
    """A tiled conv's memories of a filter lane, each read and written every cycle, where `array_cost` puts them:
    ResNet-50's 14x14 tiles of 49, a lane's 32-bit sums (1,568 bits) in a BRAM18 (36 x 512), its kept 16-bit outputs
    of 16 filter steps (784 deep) in one too (18 x 1024); 20-bit sums of a tile of 40 (800 bits, under a BRAM's 1024)
    in LUTRAM, 64 bits a LUT6: 13 LUTs."""
    assert lane_ram(32, 49) == LaneRam(False, 1, 0)
    assert lane_ram(16, 784) == LaneRam(False, 1, 0)
    assert lane_ram(20, 40) == LaneRam(True, 0, 13)
    assert lane_ram(0, 0) == LaneRam(True, 0, 0)  # no memory (a tile-major output keeps no outputs)


def test_lane_ram_in_lutram_by_hand():
    """In LUTRAM whatever its size (dataflow.tile_lutram), a memory above a BRAM's worth takes RAM64M8s, 8 LUT6s
    each a 64-deep x 7-bit simple dual-port RAM: the 32-bit sums of a tile of 49, ceil(32/7) = 5 of them (40 LUTs)
    for its BRAM18; the kept outputs, 16 bits x 784, 3 x 13 (312 LUTs); one under a BRAM's worth is LUTRAM as
    before."""
    assert lane_ram(32, 49, lutram=True) == LaneRam(True, 0, 40)
    assert lane_ram(16, 784, lutram=True) == LaneRam(True, 0, 312)
    assert lane_ram(20, 40, lutram=True) == LaneRam(True, 0, 13)


def _memories() -> str:
    """On 16x32 pixels: `grow` (3x3, 4 -> 16, a filter a step, tiles of 16 pixels, pixel-major), `mix` (1x1, 16 -> 8,
    4 lanes, one tile of the 512 pixels, writing tile-major, block 4), `head` (1x1, 8 -> 16 reading it, a filter a
    step)."""
    rng = np.random.default_rng(11)
    w0, w1, w2 = (rng.integers(-6, 7, size=s) / 8.0 for s in ((16, 4, 3, 3), (8, 16, 1, 1), (16, 8, 1, 1)))
    point = 'kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>'
    tm = "!dataflow.stream<1x16x32x8xf32, tile 512 block 4>"
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x4x16x32xf32>) -> tensor<1x16x32x16xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x16x32xf32>) -> !dataflow.stream<1x16x32x4xf32>
    %w0 = dataflow.weights {{name = "w0", value = dense<{_lit(w0)}> : tensor<16x4x3x3xf32>}} : tensor<16x4x3x3xf32>
    %g = dataflow.conv %s, %w0 {{name = "grow", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 4 : i64, coarse_out = 1 : i64, tile = 16 : i64}} : (!dataflow.stream<1x16x32x4xf32>, tensor<16x4x3x3xf32>) -> !dataflow.stream<1x16x32x16xf32>
    %w1 = dataflow.weights {{name = "w1", value = dense<{_lit(w1)}> : tensor<8x16x1x1xf32>}} : tensor<8x16x1x1xf32>
    %m = dataflow.conv %g, %w1 {{name = "mix", {point}, coarse_in = 4 : i64, coarse_out = 4 : i64, tile = 512 : i64}} : (!dataflow.stream<1x16x32x16xf32>, tensor<8x16x1x1xf32>) -> {tm}
    %w2 = dataflow.weights {{name = "w2", value = dense<{_lit(w2)}> : tensor<16x8x1x1xf32>}} : tensor<16x8x1x1xf32>
    %h = dataflow.conv %m, %w2 {{name = "head", {point}, coarse_in = 4 : i64, coarse_out = 1 : i64, tile = 512 : i64}} : ({tm}, tensor<16x8x1x1xf32>) -> !dataflow.stream<1x16x32x16xf32>
    %t = dataflow.sink %h {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x16x32x16xf32>) -> tensor<1x16x32x16xf32>
    func.return %t : tensor<1x16x32x16xf32>
  }}
}}
"""


def test_tile_memories_in_lutram_and_bram_csim_bit_exact():
    """16-bit data and weights: `grow`'s sums (36 bits x 16 pixels: 576 bits) in LUTRAM, its kept outputs (16 bits x
    16 filter steps x 16 pixels: 4,096 bits, a BRAM18 of 18 x 1024) in BRAM; `mix`'s sums (35 bits x 512) and `head`'s, every filter's (34
    bits x 16 x 512 pixels), in BRAM. The HLS design binds each where the cost has it (conv.h lane_ram: the flags after
    the tile buffer's banks), and its C simulation equals the CPU reference."""
    from dfcc.backends.hls.emit import emit_design

    module = parse_module(_memories())
    Quantize(weight_bits=16, act_bits=16).apply(make_context(), module)
    convs = _convs(module)
    assert [acc_bits(convs[n]) for n in ("grow", "mix", "head")] == [36, 35, 34]
    assert tile_memories(convs["grow"], 1, 16) == (LaneRam(True, 0, 9), LaneRam(False, 1, 0))
    assert tile_memories(convs["mix"], 4, 512)[0] == LaneRam(False, 1, 0)
    assert tile_memories(convs["head"], 1, 512)[0] == LaneRam(False, 16, 0)
    top = emit_design(module).files["top.cpp"]
    assert "dfcc::conv_tiled<dfcc::geom<16, 32, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1>, 16, 4, 1, 16, 3, 3, true, false, " in top
    assert "dfcc::conv_tiled_tm_out<dfcc::geom<16, 32, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0>, 8, 4, 4, 512, 1, 1, false, " in top
    assert "dfcc::conv_point_tm_in<false, dfcc::geom<16, 32, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0>, 16, 4, 1, 512, false, " in top
    x = np.random.default_rng(12).standard_normal((1, 4, 16, 32)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], False)).max() > 0


def test_tile_memories_forced_to_lutram_csim_bit_exact():
    """`_memories` with every conv's tile memories in LUTRAM (dataflow.tile_lutram = "all"; `grow`'s "sums" leaves its
    kept outputs in BRAM; explore would offer neither, all deeper than a LUT RAM): `grow`'s kept outputs (16 bits x 256)
    in 3 x 4 RAM64M8s (96 LUTs) for its BRAM18, `mix`'s sums (35 bits x 512) 5 x 8 (320 LUTs a lane, 4 lanes) for 4,
    `head`'s (34 bits x 8,192) 5 x 128 (5,120 LUTs) for 16. The cost read from the IR moves by that, the HLS design
    binds each where the cost has it, and its C simulation equals the CPU reference."""
    from dfcc.backends.hls.emit import emit_design

    module = parse_module(_memories())
    Quantize(weight_bits=16, act_bits=16).apply(make_context(), module)
    convs = _convs(module)
    before = {n: node_cost(op) for n, op in convs.items()}
    # explore offers LUTRAM for those in BRAM no deeper than a LUT RAM (64 words)
    assert tile_lutram_options(convs["grow"], 8, 32) == (None, "sums", "all")  # 36 x 32 and 16 x 64: a BRAM18 each
    assert tile_lutram_options(convs["grow"], 4, 16) == (None, "all")  # its sums (36 x 16) are LUTRAM already
    assert tile_lutram_options(convs["mix"], 4, 64) == (None, "sums")  # no kept outputs: it writes tile-major
    assert tile_lutram_options(convs["grow"], 1, 16) == tile_lutram_options(convs["head"], 1, 512) == (None,)  # deep
    convs["grow"].attributes[TILE_LUTRAM_ATTR] = StringAttr("sums")
    module.verify()
    assert node_cost(convs["grow"]) == before["grow"]  # "sums" moves nothing: its sums are under a BRAM's worth
    for op in convs.values():
        op.attributes[TILE_LUTRAM_ATTR] = StringAttr("all")
    module.verify()
    assert tile_memories(convs["grow"], 1, 16, "all") == (LaneRam(True, 0, 9), LaneRam(True, 0, 96))
    assert tile_memories(convs["mix"], 4, 512, "all")[0] == LaneRam(True, 0, 320)
    assert tile_memories(convs["head"], 1, 512, "all")[0] == LaneRam(True, 0, 5120)
    for name, blocks, luts in (("grow", 1, 96), ("mix", 4, 4 * 320), ("head", 16, 5120)):
        after = node_cost(convs[name])
        assert (before[name].bram18 - after.bram18, after.lut - before[name].lut) == (blocks, luts)
    top = emit_design(module).files["top.cpp"]
    assert "dfcc::conv_tiled<dfcc::geom<16, 32, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1>, 16, 4, 1, 16, 3, 3, true, true, " in top
    assert "dfcc::conv_tiled_tm_out<dfcc::geom<16, 32, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0>, 8, 4, 4, 512, 1, 1, true, " in top
    assert "dfcc::conv_point_tm_in<false, dfcc::geom<16, 32, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0>, 16, 4, 1, 512, true, " in top
    x = np.random.default_rng(12).standard_normal((1, 4, 16, 32)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], False)).max() > 0


@pytest.mark.parametrize("attrs, message", [
    ('"dataflow.tile_lutram" = "kept"', "dataflow.tile_lutram must be one of sums, all"),
    ('"dataflow.tile_lutram" = "all", tile = 1 : i64', "this conv has no tiles (tile = 1)"),
])
def test_tile_lutram_rejected(attrs, message):
    with pytest.raises(DfccError, match=re.escape(message)):
        parse_module(_memories().replace("tile = 16 : i64", attrs if "tile =" in attrs else f"tile = 16 : i64, {attrs}"))


def _explored_conv(tmp_path, dsp: int, bram18: int, lut: int):
    """The module, network, choices and totals of a 3x3 conv, 256 -> 256 at 7x7 and 8 bits, explored with its weights in DRAM on a board of 10 Gbps with
    `dsp` DSPs, `bram18` BRAM18 and `lut` LUTs."""
    module = parse_module(_conv(256, 7))
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), module)
    network = Network.from_module(module)
    path = tmp_path / "board.json"
    path.write_text(json.dumps({"name": "b", "part": "x", "dsp": dsp, "bram18": bram18, "uram": 0, "lut": lut,
                                "ff": 200_000, "clock_mhz": 100, "bandwidth_gbps": 10}))
    return module, network, *explore(network, load_platform(str(path)), progress=False, off_chip_weights=True)


@pytest.mark.parametrize("bram18, lut, lutram", [(60, 15_000, "sums"), (150, 9_000, None)])
def test_explore_takes_lutram_where_bram_binds(tmp_path, bram18, lut, lutram):
    """The conv on 300 DSPs, its 4.7 Mbit of weights streamed in tiles of all 49 pixels: with 60 BRAM18 and 15,000
    LUTs explore keeps each lane's sums (49 deep) in LUTRAM, where they free BRAM18 for a faster folding (twice the
    filter lanes); with 150 BRAM18 and 9,000 LUTs, LUTs bind and the sums stay in BRAM. Either way the IR carries
    the choice and the cost read from it is explore's."""
    module, network, choices, totals = _explored_conv(tmp_path, 300, bram18, lut)
    (n,) = [i for i, m in enumerate(network.nodes) if m.has_weights]
    model, (folding, *_, chosen) = network.nodes[n], choices[n]
    assert folding[5] == 49 and model.lutram_options(folding) == (None, "sums") and chosen == lutram
    apply_design(module, network, choices, totals, "zcu102")
    assert tile_lutram(model.op) == lutram and node_cost(model.op) == totals.costs[n]


def test_explore_keeps_tile_memories_where_lutram_does_not_pay(tmp_path, monkeypatch):
    """The conv on 200 DSPs, 60 BRAM18 and 15,000 LUTs: DSPs bind (its next faster folding needs more), BRAM about
    as full: the first search weighs no tile memories in LUTRAM, a second one does (the sums' LUTRAM frees a BRAM18
    a filter lane) but is no faster, so the sums stay where the rule puts them, their LUTs spared."""
    weighed = []
    searches = explore_pass._Search.__init__

    def recorded(self, *args, **kwargs):
        searches(self, *args, **kwargs)
        weighed.append(any(c[5] is not None for c in self.all_choices))

    monkeypatch.setattr(explore_pass._Search, "__init__", recorded)
    _, network, choices, _ = _explored_conv(tmp_path, 200, 60, 15_000)
    assert not weighed[0] and any(weighed)
    (n,) = [i for i, m in enumerate(network.nodes) if m.has_weights]
    assert network.nodes[n].lutram_options(choices[n][0]) == (None, "sums") and choices[n][5] is None
