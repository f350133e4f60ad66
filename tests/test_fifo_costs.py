"""The FIFO memory explore costs (analyses/network.py) against the depths the cycle-level sizing gives
(analyses/fifo_sizing.py): a tiled conv's stored tile into a slower reader, into a join held back by a slower
consumer or into a tiled conv through a lane converter, a skip whose branch outlasts its DRAM ring, a padded conv's
windows over its bottom padding."""

from dfcc.analyses.fifo_sizing import size_fifos
from dfcc.analyses.network import Network
from dfcc.frontends.mlir import parse_module

HEAD = """
func.func @main(%a: tensor<1x4x8x8xf32>) -> tensor<1x8x8xCxf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x8x8xf32>) -> !dataflow.stream<1x8x8x4xf32>
"""


def _conv(name: str, source: str, filters: int, coarse_out: int, tile: int, channels: int = 4, coarse_in: int = 4) -> str:
    return (f'  %w_{name} = dataflow.weights {{name = "w_{name}", value = dense<0.5> : tensor<{filters}x{channels}x1x1xf32>}} : '
            f'tensor<{filters}x{channels}x1x1xf32>\n'
            f'  %{name} = dataflow.conv %{source}, %w_{name} {{name = "{name}", kernel = array<i64: 1, 1>, stride = '
            f'array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = {coarse_in} : i64, '
            f'coarse_out = {coarse_out} : i64, tile = {tile} : i64}} : (!dataflow.stream<1x8x8x{channels}xf32>, '
            f'tensor<{filters}x{channels}x1x1xf32>) -> !dataflow.stream<1x8x8x{filters}xf32>\n')


def _relu(source: str, coarse: int = 1) -> str:
    """A relu %m of stream %`source`, `coarse` words a cycle."""
    return f"""
  %m = dataflow.map %{source} {{name = "relu", coarse = {coarse} : i64}} : !dataflow.stream<1x8x8x8xf32> -> !dataflow.stream<1x8x8x8xf32> {{
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    %y = arith.maximumf %x, %z : f32
    dataflow.yield %y : f32
  }}
"""


def _out(source: str) -> str:
    """Stream %`source` into the graph output."""
    return f"""  %t = dataflow.sink %{source} {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  func.return %t : tensor<1x8x8x8xf32>
}}"""


# a relu (one word a cycle) of stream %X into the graph output
RELU_OUT = _relu("X") + _out("m")

BURST = HEAD.replace("C", "8") + _conv("conv", "s", 8, 2, 16) + RELU_OUT.replace("%X", "%conv")

RING = HEAD.replace("C", "4") + """
  %f, %f2 = dataflow.fork %s {name = "fork", coarse = 4 : i64} : (!dataflow.stream<1x8x8x4xf32>) -> (!dataflow.stream<1x8x8x4xf32>, !dataflow.stream<1x8x8x4xf32>)
""" + _conv("conv", "f", 4, 4, 64) + _conv("conv2", "conv", 4, 4, 64) + """
  %r = dataflow.ddr_fifo %f2 {name = "skip", capacity = 256 : i64, coarse = 4 : i64} : (!dataflow.stream<1x8x8x4xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %j = dataflow.map %conv2, %r {name = "add", coarse = 4 : i64} : !dataflow.stream<1x8x8x4xf32>, !dataflow.stream<1x8x8x4xf32> -> !dataflow.stream<1x8x8x4xf32> {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    dataflow.yield %z : f32
  }
  %t = dataflow.sink %j {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
  func.return %t : tensor<1x8x8x4xf32>
}"""


def _depths(module, depths) -> dict[tuple[str, str], int]:
    network = Network.from_module(module)
    return {(network.nodes[e.producer].name, network.nodes[e.consumer].name): depths[e.value]
            for e in network.edges if depths.get(e.value, 2) > 2}


def _costed(module) -> dict[tuple[str, str], int]:
    network = Network.from_module(module)
    totals = network.evaluate(network.ir_choices())
    return _depths(module, {network.edges[e].value: d for e, d in totals.fifo_depths.items()})


def test_a_tiled_convs_stored_tile_waits_for_a_slower_reader():
    # the conv (8 filters, 2 a beat, tiles of 16 of the 64 pixels) stores a tile's outputs back to back: 4 filter
    # steps x 16 pixels = 64 beats of 2 words, 2 words a cycle; the relu takes 1 word a cycle (512 words in 512
    # cycles), so while the 128 words come it takes 64: 64 words wait, 32 beats (simulated: 33)
    module = parse_module(BURST)
    assert _costed(module) == {("conv", "relu"): 32}
    assert _depths(module, size_fifos(module).depths) == {("conv", "relu"): 33}


def test_a_skip_outlasting_its_ring_waits_on_chip_before_the_ring():
    # II 192 (each conv: its whole input, 64 MACs, 64 stores). The ring's writer takes each inference over cycles
    # 76-201 (the fork's, fed over the II from cycle 6, after the ring's 70-cycle latency); the add reads from 396,
    # after both convs: two whole inferences written by then, 512 words, of which the ring holds 256; the other
    # 256, 64 beats, plus SATAY's 64 wait in the fork's stream into the ring. The simulated feed comes at the
    # first conv's pace (it loads an inference in 64 cycles), so the sizing needs only 15 with the whole ring; ddr.h's
    # writer waits on the token of its third burst with 2 tokens of the ring's 4 bursts unread (hardware/offchip.py
    # ring_bursts), the simulated writer at that burst's last beat, so the ring holds 47 of its 64 beats: the sizing
    # counts 15 + 17. The cost, counting the whole ring, is safe, high.
    module = parse_module(RING)
    assert _costed(module) == {("fork", "skip"): 64 + 64}
    assert _depths(module, size_fifos(module).depths) == {("fork", "skip"): 15 + 17}


JOIN = HEAD.replace("C", "8") + """
  %f, %f2 = dataflow.fork %s {name = "fork", coarse = 4 : i64} : (!dataflow.stream<1x8x8x4xf32>) -> (!dataflow.stream<1x8x8x4xf32>, !dataflow.stream<1x8x8x4xf32>)
""" + _conv("conv", "f", 8, 2, 16) + _conv("side", "f2", 8, 2, 1) + """
  %j = dataflow.map %conv, %side {name = "add", coarse = 2 : i64} : !dataflow.stream<1x8x8x8xf32>, !dataflow.stream<1x8x8x8xf32> -> !dataflow.stream<1x8x8x8xf32> {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    dataflow.yield %z : f32
  }""" + RELU_OUT.replace("%X", "%j")


def test_a_tiled_convs_stored_tile_into_a_join_waits_for_the_joins_slower_consumer():
    # the conv stores a tile as in the test above, 128 words at 2 a cycle, into the add, which takes 2 words a cycle
    # (512 in 256 cycles) but writes to the relu, 1 word a cycle (512 cycles), through a depth-2 stream: the add
    # reads at the relu's pace, so while the 128 words come it takes 64 of them: 64 words wait, 32 beats (simulated:
    # 33). At its own pace the add would take all 128 as they come: no FIFO.
    module = parse_module(JOIN)
    assert _costed(module).get(("conv", "add")) == 32
    assert _depths(module, size_fifos(module).depths)[("conv", "add")] == 33


def test_a_join_after_the_first_change_has_its_burst_fifo_costed_again_where_its_consumer_changed():
    """A search walks each design on from the last one's, from the first node whose cost changed; the add (a join)
    comes before the relu, yet its conv input's FIFO follows the relu's pace: 32 beats at one word a cycle, none at
    two (the add then takes the tile as it comes). Walked on from each other, the designs cost what a fresh network
    costs them."""
    network = Network.from_module(parse_module(JOIN))
    names = [model.name for model in network.nodes]
    relu = names.index("relu")
    assert names.index("add") < relu
    slow = network.ir_choices()
    fast = slow[:relu] + [((2, 1),) + slow[relu][1:]] + slow[relu + 1:]
    walked, costed = Network(network.nodes, network.edges), {}
    for design, choices in (("slow", slow), ("fast", fast), ("slow", slow), ("fast", fast)):
        totals = walked.evaluate(choices)
        assert totals == Network(network.nodes, network.edges).evaluate(choices)
        costed[design] = {(names[network.edges[e].producer], names[network.edges[e].consumer]): depth
                          for e, depth in totals.fifo_depths.items()}
    assert costed["slow"][("conv", "add")] == 32 and ("conv", "add") not in costed["fast"]


def _tiles_into_tiles(coarse_in: int, tile: int) -> str:
    """A tiled conv (8 filters, all 8 a beat, `coarse_in` of its 4 channels) storing tiles of `tile` pixels through a
    relu keeping its pace (8 words a cycle) into a tiled conv reading 1 word a beat, through a lane converter."""
    return (HEAD.replace("C", "8") + _conv("conv", "s", 8, 8, tile, coarse_in=coarse_in) + _relu("conv", 8)
            + _conv("conv2", "m", 8, 8, 64, channels=8, coarse_in=1) + _out("conv2"))


def test_a_tiled_convs_stored_tile_into_a_tiled_conv_waits_for_its_converter():
    # the first conv, a channel a beat, works 576 cycles on 4 tiles (each: 64 loads, 64 MACs, then 16 beats stored,
    # 8 words each); the second, whose one tile reads all its input first (fill 1), takes 1 word a cycle through
    # the 8 -> 1 lane converter: while a tile's 128 words come in 16 cycles it takes 16, 112 wait (14 beats), fewer
    # than it takes in the 128 cycles to the next tile. Before: none (its fill share, all its input, was deemed read
    # at once).
    module = parse_module(_tiles_into_tiles(1, 16))
    assert _costed(module) == {("relu", "conv2"): 14}
    assert _depths(module, size_fifos(module).depths) == {("relu", "conv2"): 14}
    # 2 channels a beat: 80 cycles a tile, the next tile's 16 beats 64 cycles after these end, over which the
    # second conv takes 64 words: 8 beats are held, not 14
    module = parse_module(_tiles_into_tiles(2, 16))
    assert _costed(module) == {("relu", "conv2"): 8}
    assert _depths(module, size_fifos(module).depths) == {("relu", "conv2"): 8}
    # one tile: no later tile waits on the store, which goes at the converter's pace
    module = parse_module(_tiles_into_tiles(2, 64))
    assert _costed(module) == {}
    assert _depths(module, size_fifos(module).depths) == {}


def _padded_after_slow_conv(coarse_in: int) -> str:
    """A 1x1 conv (a channel and a filter a beat: 1,024 cycles) into a 5x5 conv padded by 2 (`coarse_in` of its 4
    channels a beat, every filter and kernel position at once)."""
    padded = _conv("conv", "first", 4, 4, 1, coarse_in=coarse_in).replace(
        "1x1xf32", "5x5xf32").replace("array<i64: 1, 1>, stride", "array<i64: 5, 5>, stride").replace(
        "array<i64: 0, 0, 0, 0>", "array<i64: 2, 2, 2, 2>").replace(", tile = 1 : i64", ", fine = 25 : i64")
    return (HEAD.replace("C", "4") + _conv("first", "s", 4, 1, 1, coarse_in=1) + padded).replace(
        "8x8x8xf32", "8x8x4xf32") + _out("conv").replace("8x8x8xf32", "8x8x4xf32")


def test_a_padded_convs_bottom_windows_hold_back_a_producer_without_slack():
    # the 5x5 conv (576 cycles at a channel a beat) computes 19 of its 64 output pixels after its last input beat
    # (output rows 6 and 7, and row 5's last three: hardware/cycles.py windows_after_input), 171 cycles, without
    # reading; the 1x1 conv before it sets the II (1,024 cycles), so it has no slack: it writes 171 x 256 / 1,024 =
    # 42.75 words meanwhile, 43 beats (simulated: 52; its fill, its first pixel's 16 cycles, is not counted)
    module = parse_module(_padded_after_slow_conv(1))
    assert _costed(module) == {("first", "conv"): 43}
    assert _depths(module, size_fifos(module).depths) == {("first", "conv"): 52}
    # at two channels a beat (480 cycles) the conv reads its input in 480 - 85 cycles, faster than the 1x1 conv
    # writes it: 85 x 256 / 1,024 = 21.25 words, 22 beats (simulated: 19)
    module = parse_module(_padded_after_slow_conv(2))
    assert _costed(module) == {("first", "conv"): 22}
    assert _depths(module, size_fifos(module).depths) == {("first", "conv"): 19}
