"""Tile-major streams between weight-stationary convs (`!dataflow.stream<..., tile R block B>`): a tiled conv
writing one keeps no outputs (conv.h conv_tiled_tm_out), a 1x1 conv reading one is output-stationary
(conv_point_tm_in) and keeps no tile buffer nor input FIFO. The verifier, the costs by hand, the schedule against
the estimate, and C simulation bit-exact on a small residual block."""

import numpy as np
import pytest

from dfcc.analyses.fifo_sizing import size_fifos, write_depths
from dfcc.analyses.network import Network, _arrived
from dfcc.analyses.simulation import simulate
from dfcc.dialects.dataflow import StreamType
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.kinds import ConvOp
from dfcc.kinds.cost import STAGE_PIPELINE_CYCLES, node_cost
from dfcc.passes.explore import apply_design, explore_module
from dfcc.passes.quantize import Quantize
from tests.csim_check import csim_equals_reference


def _lit(a: np.ndarray) -> str:
    return np.array2string(a, separator=", ", threshold=10**9, max_line_width=10**9)


def _block(tile: int = 4, head_kernel: int = 1) -> str:
    """A residual block on 6x6 pixels in tiles of `tile`: `expand` (3x3, 4 -> 8, 4 filters a step) writes its output
    tile-major (block 4), a fork sends it to `reduce` (1x1, 8 -> 8, 4 lanes in and out, tile-major in and out) and to
    the add + ReLU joining both, whose tile-major output `head` (1x1, 8 -> 6, 3 filters a step) reads and writes
    pixel-major (`head_kernel` x `head_kernel`, padded to keep the size)."""
    rng = np.random.default_rng(2)
    k = head_kernel
    w0, b0, w1, w2 = (rng.integers(-6, 7, size=s) / 8.0 for s in ((8, 4, 3, 3), (8,), (8, 8, 1, 1), (6, 8, k, k)))
    p = k // 2
    head = (f'kernel = array<i64: {k}, {k}>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, '
            f'pad = array<i64: {p}, {p}, {p}, {p}>')
    tm = f"!dataflow.stream<1x6x6x8xf32, tile {tile} block 4>"
    point = 'kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>'
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x4x6x6xf32>) -> tensor<1x6x6x6xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x6x6xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w0 = dataflow.weights {{name = "w0", value = dense<{_lit(w0)}> : tensor<8x4x3x3xf32>}} : tensor<8x4x3x3xf32>
    %b0 = dataflow.weights {{name = "b0", value = dense<{_lit(b0)}> : tensor<8xf32>}} : tensor<8xf32>
    %e = dataflow.conv %s, %w0, %b0 {{name = "expand", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64, coarse_out = 4 : i64, fine = 3 : i64, tile = {tile} : i64}} : (!dataflow.stream<1x6x6x4xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> {tm}
    %f0, %f1 = dataflow.fork %e {{name = "fork"}} : ({tm}) -> ({tm}, {tm})
    %w1 = dataflow.weights {{name = "w1", value = dense<{_lit(w1)}> : tensor<8x8x1x1xf32>}} : tensor<8x8x1x1xf32>
    %r = dataflow.conv %f0, %w1 {{name = "reduce", {point}, coarse_in = 4 : i64, coarse_out = 4 : i64, tile = {tile} : i64}} : ({tm}, tensor<8x8x1x1xf32>) -> {tm}
    %j = dataflow.map %r, %f1 {{name = "add"}} : {tm}, {tm} -> {tm} {{
    ^bb0(%x: f32, %y: f32):
      %sum = arith.addf %x, %y : f32
      %zero = arith.constant 0.000000e+00 : f32
      %m = arith.maximumf %sum, %zero : f32
      dataflow.yield %m : f32
    }}
    %w2 = dataflow.weights {{name = "w2", value = dense<{_lit(w2)}> : tensor<6x8x{k}x{k}xf32>}} : tensor<6x8x{k}x{k}xf32>
    %h = dataflow.conv %j, %w2 {{name = "head", {head}, coarse_in = 4 : i64, coarse_out = 3 : i64, tile = {tile} : i64}} : ({tm}, tensor<6x8x{k}x{k}xf32>) -> !dataflow.stream<1x6x6x6xf32>
    %t = dataflow.sink %h {{name = "out", perm = array<i64: 0, 3, 1, 2>}} : (!dataflow.stream<1x6x6x6xf32>) -> tensor<1x6x6x6xf32>
    func.return %t : tensor<1x6x6x6xf32>
  }}
}}
"""


def _convs(module) -> dict[str, ConvOp]:
    return {op.node_name.data: op for op in module.walk() if isinstance(op, ConvOp)}


def quantized(text: str):
    """The module in `text` at the tile-major tests' formats: 4-bit weights, 6-bit activations."""
    module = parse_module(text)
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    return module


def quantized_sized(text: str):
    """`quantized`, with every FIFO at the depth the simulation of its schedules sizes."""
    module = quantized(text)
    write_depths(size_fifos(module).depths)
    return module


def test_stream_order_prints_and_parses():
    module = parse_module(_block())
    text = str(module)
    assert "!dataflow.stream<1x6x6x8xf32, tile 4 block 4>" in text
    assert str(parse_module(text)) == text
    assert _convs(module)["reduce"].input.type.order == (4, 4)
    assert _convs(module)["head"].output.type.order is None


@pytest.mark.parametrize("change, message", [
    # the reader's lanes not the stream's block
    (("coarse_in = 4 : i64, coarse_out = 3 : i64", "coarse_in = 2 : i64, coarse_out = 3 : i64"),
     "conv 'head': reads a tile-major stream .* coarse_in=4, got .*coarse_in=2"),
    # the reader's tile not the stream's
    (("coarse_out = 3 : i64, tile = 4", "coarse_out = 3 : i64, tile = 2"),
     "conv 'head': reads a tile-major stream .* tile=4 .*coarse_in=4, got .*tile=2"),
    # the writer's filter step not the block
    (("coarse_in = 2 : i64, coarse_out = 4 : i64", "coarse_in = 2 : i64, coarse_out = 2 : i64"),
     "conv 'expand': writes a tile-major stream .* coarse_out=4, got tile=4, coarse_out=2"),
    # a sink (as a pool, a transpose or any other kind) takes pixel-major streams only
    (("!dataflow.stream<1x6x6x6xf32>", "!dataflow.stream<1x6x6x6xf32, tile 4 block 3>"),
     "sink 'out' reads a tile-major stream"),
    # a block not dividing the channels
    (("-> !dataflow.stream<1x6x6x8xf32, tile 4 block 4>\n    %f0", "-> !dataflow.stream<1x6x6x8xf32, tile 4 block 3>\n    %f0"),
     "block dividing the channels"),
])
def test_verifier_rejects_an_order_a_node_cannot_take(change, message):
    text = _block()
    assert change[0] in text
    with pytest.raises(DfccError, match=message):
        parse_module(text.replace(*change))


def test_windowed_conv_cannot_read_a_tile_major_stream():
    with pytest.raises(DfccError, match="conv 'head': reads a tile-major stream .* needs a 1x1 window at stride S on whole S x S blocks"):
        parse_module(_block(head_kernel=3))


def test_per_channel_map_and_mixed_join_rejected():
    """A map with a parameter along the width indexes by position: pixel-major only (one per channel follows the
    order: tests/test_tile_major_dense.py); a join of a tile-major and a pixel-major stream is refused by name."""
    text = _block()
    mixed = text.replace('%s = dataflow.source %a {name = "in"', '%s = dataflow.source %a {name = "in"')
    fork_out = "({!s}, {!s})".format(*(["!dataflow.stream<1x6x6x8xf32, tile 4 block 4>"] * 2))
    assert fork_out in mixed
    with pytest.raises(DfccError, match="fork 'fork' its streams must share one order"):
        parse_module(mixed.replace(fork_out, "(!dataflow.stream<1x6x6x8xf32, tile 4 block 4>, "
                                             "!dataflow.stream<1x6x6x8xf32>)", 1).replace(
            ", !dataflow.stream<1x6x6x8xf32, tile 4 block 4> -> !dataflow.stream<1x6x6x8xf32, tile 4 block 4> {",
            ", !dataflow.stream<1x6x6x8xf32> -> !dataflow.stream<1x6x6x8xf32, tile 4 block 4> {"))
    scaled = text.replace('%j = dataflow.map %r, %f1 {name = "add"}',
                          '%p = dataflow.weights {name = "p", value = dense<0.5> : tensor<6x1xf32>} : tensor<6x1xf32>\n'
                          '    %j = dataflow.map %r, %f1 params(%p : tensor<6x1xf32>) {name = "add"}').replace(
        "^bb0(%x: f32, %y: f32):", "^bb0(%x: f32, %y: f32, %q: f32):")
    with pytest.raises(DfccError, match="map 'add' reads a tile-major stream"):
        parse_module(scaled)


@pytest.mark.parametrize("tile", [4, 5], ids=["tiles-dividing", "last-tile-partial"])
@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_tile_major_block_csim_bit_exact(tile, bounded):
    """The block's three kernels (tiles of 4 pixels: 9 tiles; of 5: 8, the last one a pixel), `expand`'s weights all
    streamed from DRAM once a tile, `reduce`'s half (in conv_mac's order, a block's words of every filter step
    in turn): C simulation equals the CPU reference, also with every FIFO at the depth the simulation of their
    schedules sizes (the skip FIFO holds what the fork writes while `reduce` takes a tile)."""
    from dfcc.backends.hls.emit import emit_design

    module = quantized_sized(_block(tile).replace('{name = "expand"', '{dataflow.weights_memory = "off_chip", name = "expand"')
                             .replace('{name = "reduce"', '{dataflow.weights_on_chip = 50 : i64, name = "reduce"'))
    top = emit_design(module).files["top.cpp"]
    assert top.count("dfcc::conv_tiled_tm_out<") == 1
    assert top.count("dfcc::conv_point_tm_in<true, ") == 1 and top.count("dfcc::conv_point_tm_in<false, ") == 1
    sweeps = -(-36 // tile)
    assert f"dfcc::weight_reader_beats<{sweeps}, 12, " in top  # expand: 2 filter steps x 2 beats x 3 kernel steps
    assert f"dfcc::weight_merge<{sweeps}, 2, 2>" in top  # reduce: half of its 2 blocks x 2 filter steps
    x = np.random.default_rng(7).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0


def _pooled(tile: int = 4, coarse: int = 2, kind: str = "mean", dims: tuple[int, ...] = (1, 2)) -> str:
    """`_block` ending in a reduction (by default the global pool): the add + ReLU's tile-major output reduced over
    `dims` (`coarse` channels a beat), its output pixel-major."""
    text = _block(tile)
    start, end = text.index("    %w2 = "), text.index("    func.return")
    out = tuple(1 if d in dims else e for d, e in enumerate((1, 6, 6, 8)))
    tensor = "x".join(str(out[i]) for i in (0, 3, 1, 2))  # the sink's perm (0, 2, 3, 1) gives the stream's NHWC
    stream = f"!dataflow.stream<{'x'.join(map(str, out))}xf32>"
    pool = (f'    %g = dataflow.reduce %j {{name = "pool", kind = "{kind}", dims = array<i64: {", ".join(map(str, dims))}>, '
            f'coarse = {coarse} : i64}} : (!dataflow.stream<1x6x6x8xf32, tile {tile} block 4>) -> {stream}\n'
            f'    %t = dataflow.sink %g {{name = "out", perm = array<i64: 0, 2, 3, 1>}} : ({stream}) -> tensor<{tensor}xf32>\n')
    return (text[:start] + pool + text[end:]).replace("-> tensor<1x6x6x6xf32> {", f"-> tensor<{tensor}xf32> {{").replace(
        "func.return %t : tensor<1x6x6x6xf32>", f"func.return %t : tensor<{tensor}xf32>")


@pytest.mark.parametrize("fields, message", [
    # lanes not dividing the block: a beat would hold two pixels' channels
    ({"coarse": 8}, "reduce 'pool' reads a tile-major stream .* coarse dividing the block"),
    # the channels reduced too: not a global pool
    ({"coarse": 1, "dims": (1, 2, 3)}, "reduce 'pool' reads .* a reduction takes only over every pixel"),
    # only the rows reduced: each column's sums would be spread over the tiles
    ({"dims": (1,)}, "reduce 'pool' reads .* a reduction takes only over every pixel"),
])
def test_global_pool_order_rules(fields, message):
    parse_module(_pooled())
    with pytest.raises(DfccError, match=message):
        parse_module(_pooled(**fields))


@pytest.mark.parametrize("tile, coarse, kind", [(4, 2, "mean"), (5, 4, "mean"), (5, 1, "max")],
                         ids=["mean-tiles-dividing", "mean-last-tile-partial", "max-one-lane"])
def test_global_pool_over_tile_major_csim_bit_exact(tile, coarse, kind):
    """The residual block's tile-major skip chain ending in a global pool (ResNet-50's last stage): each beat's
    channels from its place in the order, the last tile partial for tiles of 5; C simulation equals the CPU
    reference, also with every FIFO at the depth the simulation of the schedules sizes."""
    from dfcc.backends.hls.emit import emit_design

    module = quantized_sized(_pooled(tile, coarse, kind))
    top = emit_design(module).files["top.cpp"]
    assert f"tile-major 1x6x6x8 stream (tile {tile} block 4)" in top
    x = np.random.default_rng(9).standard_normal((1, 4, 6, 6)).astype(np.float32)
    for bounded in (False, True):
        assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0


def _downsample(tile: int, tile_major_out: bool = True) -> str:
    """A ResNet stage entry on 8x8 pixels: `expand` (3x3, 4 -> 8) writes tile-major in tiles of 4 x `tile` pixels
    (block 4), a fork sends it to `down` and `side`, both 1x1 at stride 2 (8 -> 8, 4 lanes in) reading it in tiles
    of `tile` output pixels (whole rows of the 4x4 output), whose sum + ReLU a global pool averages; the stride-2
    convs write tile-major (tile `tile` block 4) or, not `tile_major_out`, pixel-major."""
    rng = np.random.default_rng(3)
    w0, b0, w1, w2, b2 = (rng.integers(-6, 7, size=s) / 8.0 for s in ((8, 4, 3, 3), (8,), (8, 8, 1, 1), (8, 8, 1, 1), (8,)))
    big = f"!dataflow.stream<1x8x8x8xf32, tile {4 * tile} block 4>"
    small = f"!dataflow.stream<1x4x4x8xf32{f', tile {tile} block 4' if tile_major_out else ''}>"
    strided = 'kernel = array<i64: 1, 1>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>'
    return f"""builtin.module attributes {{dataflow.platform = "zcu102"}} {{
  func.func @main(%a: tensor<1x4x8x8xf32>) -> tensor<1x8x1x1xf32> {{
    %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x8x8xf32>) -> !dataflow.stream<1x8x8x4xf32>
    %w0 = dataflow.weights {{name = "w0", value = dense<{_lit(w0)}> : tensor<8x4x3x3xf32>}} : tensor<8x4x3x3xf32>
    %b0 = dataflow.weights {{name = "b0", value = dense<{_lit(b0)}> : tensor<8xf32>}} : tensor<8xf32>
    %e = dataflow.conv %s, %w0, %b0 {{name = "expand", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64, coarse_out = 4 : i64, fine = 3 : i64, tile = {4 * tile} : i64}} : (!dataflow.stream<1x8x8x4xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> {big}
    %f0, %f1 = dataflow.fork %e {{name = "fork"}} : ({big}) -> ({big}, {big})
    %w1 = dataflow.weights {{name = "w1", value = dense<{_lit(w1)}> : tensor<8x8x1x1xf32>}} : tensor<8x8x1x1xf32>
    %d = dataflow.conv %f0, %w1 {{name = "down", {strided}, coarse_in = 4 : i64, coarse_out = 4 : i64, tile = {tile} : i64}} : ({big}, tensor<8x8x1x1xf32>) -> {small}
    %w2 = dataflow.weights {{name = "w2", value = dense<{_lit(w2)}> : tensor<8x8x1x1xf32>}} : tensor<8x8x1x1xf32>
    %b2 = dataflow.weights {{name = "b2", value = dense<{_lit(b2)}> : tensor<8xf32>}} : tensor<8xf32>
    %r = dataflow.conv %f1, %w2, %b2 {{name = "side", {strided}, coarse_in = 4 : i64, coarse_out = 4 : i64, tile = {tile} : i64}} : ({big}, tensor<8x8x1x1xf32>, tensor<8xf32>) -> {small}
    %j = dataflow.map %d, %r {{name = "add"}} : {small}, {small} -> {small} {{
    ^bb0(%x: f32, %y: f32):
      %sum = arith.addf %x, %y : f32
      %zero = arith.constant 0.000000e+00 : f32
      %m = arith.maximumf %sum, %zero : f32
      dataflow.yield %m : f32
    }}
    %g = dataflow.reduce %j {{name = "pool", kind = "mean", dims = array<i64: 1, 2>, coarse = 2 : i64}} : ({small}) -> !dataflow.stream<1x1x1x8xf32>
    %t = dataflow.sink %g {{name = "out", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x1x1x8xf32>) -> tensor<1x8x1x1xf32>
    func.return %t : tensor<1x8x1x1xf32>
  }}
}}
"""


def test_strided_read_needs_whole_output_rows():
    """A stride-2 reader's tile covers the 2 x 2 blocks of whole output rows: a tile of 2 of the 4 output pixels a row
    (input tiles of 8, a row of 8 input pixels of which only half the blocks) is refused, as is an input tile not
    4 x the reader's."""
    parse_module(_downsample(4))
    with pytest.raises(DfccError, match="conv 'down': reads a tile-major stream .*whole output rows.* tile=2,"):
        parse_module(_downsample(2))
    text = _downsample(4, tile_major_out=False)
    old = 'name = "down", kernel = array<i64: 1, 1>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 4 : i64, coarse_out = 4 : i64, tile = 4'
    assert old in text
    with pytest.raises(DfccError, match="conv 'down': reads a tile-major stream \\(tile 16 block 4\\).* tile=8,"):
        parse_module(text.replace(old, old[:-1] + "8"))


@pytest.mark.parametrize("tile", [4, 12], ids=["tiles-dividing", "last-tile-partial"])
@pytest.mark.parametrize("tile_major_out", [True, False], ids=["tile-major-out", "pixel-major-out"])
def test_strided_tile_major_read_csim_bit_exact(tile, tile_major_out):
    """The stage entry's stride-2 convs read the tile-major stream (tiles of 16 or 48 input pixels: 4 or 12 output
    pixels, the last of 2 tiles 4), keep each 2 x 2 block's top-left pixel, and write either order into the global
    pool: C simulation equals the CPU reference, also at the FIFO depths the schedules' simulation sizes."""
    from dfcc.backends.hls.emit import emit_design

    module = quantized_sized(_downsample(tile, tile_major_out))
    top = emit_design(module).files["top.cpp"]
    assert top.count(f"dfcc::conv_point_tm_in<{str(tile_major_out).lower()}, dfcc::geom<8, 8, 8, 1, 1, 2, 2,") == 2
    x = np.random.default_rng(10).standard_normal((1, 4, 8, 8)).astype(np.float32)
    for bounded in (False, True):
        assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0


def _bottleneck(order: str) -> str:
    """ResNet-50's 14x14 bottleneck ends: `expand` 1x1 256 -> 1024 writing into `reduce` 1x1 1024 -> 256, both 16
    lanes in and out and tiles of 49 pixels (4 a 14x14 image); `order` the stream between them."""
    point = 'kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>'
    fold = "coarse_in = 16 : i64, coarse_out = 16 : i64, tile = 49 : i64"
    mid = f"!dataflow.stream<1x14x14x1024xf32{order}>"
    return f"""func.func @main(%a: tensor<1x256x14x14xf32>) -> tensor<1x14x14x256xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x256x14x14xf32>) -> !dataflow.stream<1x14x14x256xf32>
  %w0 = dataflow.weights {{name = "w0", value = dense<5.000000e-01> : tensor<1024x256x1x1xf32>}} : tensor<1024x256x1x1xf32>
  %e = dataflow.conv %s, %w0 {{name = "expand", {point}, {fold}}} : (!dataflow.stream<1x14x14x256xf32>, tensor<1024x256x1x1xf32>) -> {mid}
  %w1 = dataflow.weights {{name = "w1", value = dense<5.000000e-01> : tensor<256x1024x1x1xf32>}} : tensor<256x1024x1x1xf32>
  %r = dataflow.conv %e, %w1 {{name = "reduce", {point}, {fold}}} : ({mid}, tensor<256x1024x1x1xf32>) -> !dataflow.stream<1x14x14x256xf32>
  %t = dataflow.sink %r {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x14x14x256xf32>) -> tensor<1x14x14x256xf32>
  func.return %t : tensor<1x14x14x256xf32>
}}
"""


def test_tile_major_costs_by_hand():
    """16-bit data and weights, 32-bit sums. `expand` writing tile-major keeps no outputs: conv_tiled's 16 memories
    (a filter lane each) of 16 bits x 64 filter steps x 49 pixels (3,136 deep: 4 BRAM18 of 18 x 1024) go, 64
    BRAM18, and so do its 49 x 64 output beats a tile: 196 x 16 input beats + 196 pixels x 16 input beats x 64 filter
    steps = 203,840 cycles instead of 216,384.
    `reduce` reading tile-major keeps neither the tile buffer (49 pixels x 64 beats of 256 bits: 8 x 7 = 56 BRAM18 of
    36 x 512) nor the input FIFO (the same 3,136 beats: 56), nor a filter step's sums (16 x 32 bits x 49: 16 BRAM18)
    and the tile's outputs (16 x 16 bits x 16 steps x 49: 16): 144; it holds every filter's sums instead, 16 memories
    of 32 bits x 16 filter steps x 49 pixels (784 deep: 2 BRAM18 each, 32) and a block's 49 beats of 256 bits (8
    BRAM18 of 36 x 512): 40, 104 fewer. Its cycles: 4 tiles x (64 blocks x 16 filter steps x 49 pixels + 49 x 16
    output beats) = 203,840, against conv_tiled's 196 x 64 input beats + 196 x 64 x 16 + 196 x 16 = 216,384."""
    tiled = _convs(parse_module(_bottleneck("")))
    ordered = _convs(parse_module(_bottleneck(", tile 49 block 16")))
    before, after = (node_cost(c["expand"]) for c in (tiled, ordered))
    assert before.bram18 - after.bram18 == 64 and (before.cycles, after.cycles) == (216_384, 203_840)
    before, after = (node_cost(c["reduce"]) for c in (tiled, ordered))
    assert before.bram18 - after.bram18 == 144 - 40
    assert (before.cycles, after.cycles) == (216_384, 203_840)
    assert before.weight_sweeps == after.weight_sweeps == 4


@pytest.mark.parametrize("tile, cycles", [(4, [504, 144, 216]), (5, [552, 160, 240])])
def test_simulation_agrees_with_the_estimate(tile, cycles):
    """The schedules of conv_tiled_tm_out and conv_point_tm_in (analyses/schedules.py) against the estimate: the
    block's II is `expand`'s, in tiles of 4: 72 input beats + 36 pixels x 2 beats x 2 filter steps x 3 kernel
    steps = 504 (no store); `reduce` takes 9 tiles x 2 blocks x 2 filter steps x 4 pixels = 144, `head` 144 + 9 x
    4 x 2 = 216. In tiles of 5 (8, the last one's 4 pixels past the image idle): 72 + 40 x 12 = 552, 8 x 20 = 160,
    160 + 8 x 10 = 240."""
    module = quantized(_block(tile))
    write_depths(size_fifos(module).depths)
    convs = _convs(module)
    assert [node_cost(convs[n]).cycles for n in ("expand", "reduce", "head")] == cycles
    network = Network.from_module(module)
    estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    simulated = simulate(module)
    assert not simulated.deadlock and estimate.ii == cycles[0]
    assert abs(simulated.ii - estimate.ii) <= 0.05 * estimate.ii


@pytest.mark.parametrize("tile, tile_major_out, cycles", [(4, True, 160), (4, False, 192), (12, True, 240),
                                                          (12, False, 288)])
def test_strided_read_cycles_by_hand(tile, tile_major_out, cycles):
    """`down` (8 -> 8, 4 lanes in and out: 2 blocks, 2 filter steps) at stride 2 reads per tile and block the 4 x R
    input beats of its R output pixels, then one filter step over the R kept: in tiles of 4, 4 tiles x 2 blocks x
    (16 + 4) = 160 cycles, pixel-major 4 x 2 x 4 stores more, 192; in tiles of 12 (2, the last one 4 pixels),
    2 x 2 x (48 + 12) = 240, 240 + 2 x 24 = 288. The schedules' simulation agrees with the estimate."""
    module = quantized_sized(_downsample(tile, tile_major_out))
    convs = _convs(module)
    assert node_cost(convs["down"]).cycles == node_cost(convs["side"]).cycles == cycles
    assert node_cost(convs["down"]).weight_sweeps == -(-16 // tile)
    network = Network.from_module(module)
    estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    simulated = simulate(module)
    assert not simulated.deadlock and abs(simulated.ii - estimate.ii) <= 0.05 * estimate.ii


@pytest.mark.parametrize("share, arrived", [(0.25, 100.0), (0.3, 320.0), (1.0, 1000.0)])
def test_tile_bursts_arrival_by_hand(share, arrived):
    """4 bursts of 100 cycles spread over 1,000 (starting at 0, 300, 600 and 900): a quarter of the input has come
    when the first burst ends (100), 30 % 20 cycles into the second (300 + 0.2 x 100), all of it at the span's end;
    evenly it would be 250, 300 and 1,000."""
    assert _arrived(share, 1000.0, (4, 100.0)) == pytest.approx(arrived)
    assert _arrived(share, 1000.0, None) == pytest.approx(share * 1000.0)


@pytest.mark.parametrize("order", ["", ", tile 49 block 16"], ids=["pixel-major", "tile-major"])
def test_first_latency_of_tiled_convs_agrees_with_the_simulation(order):
    """The first inference's latency through `expand` and `reduce` (tiles of 49 pixels, 16 input beats a pixel): the
    estimate traces it within 2 % of the schedules' simulation (it was 14 % and 24 % late). Writing tile-major,
    `expand` writes its first beat after it has read the tile (49 x 16 = 784 beats) and done one filter step over it
    (784 more cycles), not the tile's 64 steps (50,176): depth 1,568 and the pipeline's. Writing pixel-major, it
    stores each tile's 49 x 64 beats back to back: `reduce` has its first tile's input once the first store is done,
    not a quarter of `expand`'s whole span later, as an input coming evenly would be."""
    module = parse_module(_bottleneck(order))
    expand = node_cost(_convs(module)["expand"])
    if order:
        assert (expand.first_lag, expand.lag) == (784, 49 * 16 * 64)
        assert expand.depth - STAGE_PIPELINE_CYCLES == 784 + 784
    else:
        assert expand.out_burst == 49 * 64
    network = Network.from_module(module)
    estimate = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    simulated = simulate(module)
    assert abs(estimate.first_latency - simulated.latency) <= 0.02 * simulated.latency


def test_tile_major_ffip_csim_bit_exact():
    """16-bit data and weights, every conv's products paired by FFIP (inner_product.h: the x-only terms of a step
    shared by its filter lanes): conv_tiled_tm_out and conv_point_tm_in take FFIP's steps as conv_mac_tiled does, and
    C simulation equals the CPU reference."""
    from dfcc.backends.hls.emit import emit_design

    text = _block()
    for name in ("expand", "reduce", "head"):
        text = text.replace(f'{{name = "{name}"', f'{{dataflow.inner_product = "ffip", name = "{name}"')
    module = parse_module(text)
    Quantize(weight_bits=16, act_bits=16).apply(make_context(), module)
    write_depths(size_fifos(module).depths)
    top = emit_design(module).files["top.cpp"]
    assert top.count("dfcc::ffip_product>") == 3 and "dfcc::conv_point_tm_in<true, " in top
    x = np.random.default_rng(8).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], False)).max() > 0


def test_explore_starts_from_pixel_major_streams():
    """A tile-major order holds for the tiles and lanes it was written for; explore chooses them anew from pixel-major
    streams (on this small block, where no chain saves memory worth a lower II, it writes none) and writes a valid
    design."""
    module = quantized(_block(4))
    network, choices, totals = explore_module(module, load_platform("zcu102"), progress=False)
    apply_design(module, network, choices, totals, "zcu102")
    module.verify()
    assert all(v.type.order is None for op in module.walk() for v in op.results if isinstance(v.type, StreamType))


def test_chain_takes_the_order_saving_memory():
    """passes/tile_order.py on ResNet-50's 14x14 bottleneck end, pixel-major (tiles of 49, 16 lanes): one chain,
    `expand` writing it, `reduce` reading it; it takes block 16 (both convs' 16 x 16 lanes kept, so their cycles) and
    a tile whose memory is at most that of tiles of 49 (by hand in test_tile_major_costs_by_hand: 168 BRAM18 fewer);
    a chain read by a sink, or whose nodes would be slower than the target, stays pixel-major."""
    from dfcc.passes.tile_order import chains, order_chain

    module = parse_module(_bottleneck(""))
    convs = _convs(module)
    before = {name: node_cost(op) for name, op in convs.items()}
    (values, writers, readers), = [c for c in chains(module) if c[1] and c[2] and c[1][0].node_name.data == "expand"]
    assert [op.node_name.data for op in writers + readers] == ["expand", "reduce"]
    assert order_chain(values, writers, readers, 200_000) is None  # every option slower than 200,000 cycles
    assert order_chain(values, writers, readers, 216_384)[0] <= -168  # the BRAM18 it frees
    module.verify()
    order = convs["expand"].output.type.order
    assert order[1] == 16 and 196 % order[0] == 0
    after = {name: node_cost(op) for name, op in convs.items()}
    assert sum(c.bram18 for c in before.values()) - sum(c.bram18 for c in after.values()) >= 168
    for op in convs.values():
        assert op.int_prop("coarse_in") * op.int_prop("coarse_out") == 256 and op.int_prop("tile") == order[0]
    sink = [c for c in chains(module) if c[2] and c[2][0].name == "dataflow.sink"]
    assert sink and order_chain(*sink[0], 10**9) is None


def test_chain_options_costed_without_writing_the_ir():
    """order_chain costs each option on detached copies of the chain's nodes: with no option fast enough the module is
    as it was (text, and every value's uses: the copies' references to the weights and streams dropped); with one,
    only the chosen option is written, the uses as they were."""
    from dfcc.passes.tile_order import chains, order_chain

    module = parse_module(_bottleneck(""))
    text = str(module)
    uses = [len(list(v.uses)) for op in module.walk() for v in op.results]
    (values, writers, readers), = [c for c in chains(module) if c[1] and c[2] and c[1][0].node_name.data == "expand"]
    assert order_chain(values, writers, readers, 200_000) is None
    assert str(module) == text and [len(list(v.uses)) for op in module.walk() for v in op.results] == uses
    assert order_chain(values, writers, readers, 216_384)[0] < 0
    assert [len(list(v.uses)) for op in module.walk() for v in op.results] == uses
    module.verify()


def test_earlier_orders_written_again():
    """explore's FIFO rounds try again the orders an earlier round kept (tile_order.written_orders): the ordered
    bottleneck's are those of `expand` and `reduce` (the nodes on the tile-major stream), and written into the graph
    pixel-major they give it back; with a folding the order does not allow (reduce reading block 16 at 8 lanes in)
    they are not taken."""
    from dfcc.passes.tile_order import _write_orders, written_orders

    ordered = parse_module(_bottleneck(", tile 49 block 16"))
    orders = written_orders(ordered)
    assert orders == {"expand": (_convs(ordered)["expand"].folding(), [(49, 16)]),
                      "reduce": (_convs(ordered)["reduce"].folding(), [None])}
    module = parse_module(_bottleneck(""))
    assert _write_orders(module, orders) and written_orders(module) == orders
    assert str(module).count("tile 49 block 16") == str(ordered).count("tile 49 block 16") == 2
    orders["reduce"][0]["coarse_in"] = 8
    assert not _write_orders(parse_module(_bottleneck("")), orders)


def test_chain_spends_spare_bram_on_fewer_sweeps():
    """The bottleneck with its weights in DRAM, pixel-major in tiles of 14 (108 BRAM18, the weights swept 14 times).
    Ordered, tiles of 49 hold 94 BRAM18 (4 sweeps), of 98 150 (2), of 196 250 (1): with no BRAM to spare the chain
    takes tiles of 49, the fewest sweeps within the 108; with 100 to spare (what the design leaves of its budget,
    order_streams) 98, with plenty 196, spending what it takes over the 108."""
    from dfcc.passes.tile_order import chains, order_chain

    text = _bottleneck("").replace("tile = 49", "tile = 14")
    for name in ("expand", "reduce"):
        text = text.replace(f'{{name = "{name}"', f'{{dataflow.weights_memory = "off_chip", name = "{name}"')
    for spare, tile, taken in ((0, 49, 94 - 108), (100, 98, 150 - 108), (10**6, 196, 250 - 108)):
        module = parse_module(text)
        (values, writers, readers), = [c for c in chains(module) if c[1] and c[2]
                                       and c[1][0].node_name.data == "expand"]
        assert order_chain(values, writers, readers, 10**9, spare)[0] == taken
        convs = _convs(module)
        assert convs["expand"].output.type.order == (tile, 16)
        assert node_cost(convs["expand"]).weight_sweeps == node_cost(convs["reduce"]).weight_sweeps == 196 // tile
