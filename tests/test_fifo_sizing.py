"""FIFO sizing (analyses/fifo_sizing.py) where a stage widens the stream: a DenseNet join, whose slack the
sizing holds in the narrow stream before the concat rather than in the wide one after it."""

from dfcc.analyses.fifo_sizing import _bram18, _peaks, _unbounded, size_fifos, write_depths
from dfcc.analyses.schedules import Pipeline
from dfcc.analyses.simulation import Simulator, simulate
from dfcc.frontends.mlir import parse_module


def _s(channels: int) -> str:
    return f"!dataflow.stream<1x16x16x{channels}xf32>"


def _conv(name: str, source: str, channels: int, filters: int, coarse_in: int, coarse_out: int, tile: int) -> str:
    weights = f"tensor<{filters}x{channels}x1x1xf32>"
    return (f'  %w_{name} = dataflow.weights {{name = "w_{name}", value = dense<0.5> : {weights}}} : {weights}\n'
            f'  %{name} = dataflow.conv %{source}, %w_{name} {{name = "{name}", kernel = array<i64: 1, 1>, stride = '
            f'array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = {coarse_in} : '
            f'i64, coarse_out = {coarse_out} : i64, tile = {tile} : i64}} : ({_s(channels)}, {weights}) -> '
            f'{_s(filters)}\n')


# the block's 4 channels forked to a DRAM ring and to `new` (4 filters, 2 a beat, tiles of 64 of the 256 pixels: it
# stores a tile's outputs back to back); the concat of both (8 channels) and a relu (8 lanes) into `head` (8 -> 2
# filters, one MAC a cycle: 16 cycles a pixel, the slowest stage)
JOIN = f"""func.func @main(%a: tensor<1x4x16x16xf32>) -> tensor<1x16x16x2xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x16x16xf32>) -> {_s(4)}
  %f, %f2 = dataflow.fork %s {{name = "fork", coarse = 4 : i64}} : ({_s(4)}) -> ({_s(4)}, {_s(4)})
{_conv("new", "f", 4, 4, 4, 2, 64)}  %r = dataflow.ddr_fifo %f2 {{name = "skip", capacity = 1024 : i64, coarse = 4 : i64}} : ({_s(4)}) -> {_s(4)}
  %j = dataflow.concat %r, %new {{name = "cat", axis = 3 : i64, coarse = 4 : i64, side = 1 : i64}} : ({_s(4)}, {_s(4)}) -> {_s(8)}
  %m = dataflow.map %j {{name = "relu", coarse = 8 : i64}} : {_s(8)} -> {_s(8)} {{
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    %y = arith.maximumf %x, %z : f32
    dataflow.yield %y : f32
  }}
{_conv("head", "m", 8, 2, 1, 1, 1)}  %t = dataflow.sink %head {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : ({_s(2)}) -> tensor<1x16x16x2xf32>
  func.return %t : tensor<1x16x16x2xf32>
}}"""


def _named(module, depths) -> dict[str, int]:
    return {ch.name: depths[ch.value] for ch in Pipeline.of_module(module).channels if depths.get(ch.value, 2) > 2}


def test_a_joins_slack_waits_before_the_concat_where_the_stream_is_narrow():
    # `new` writes a tile's 64 pixels x 4 filters, 128 beats of 2 words, in 128 cycles; the head takes a pixel (8
    # words) each 16 cycles, 8 while they come: 56 pixels wait. With the concat and relu as early as the feed allows
    # (the just-in-time schedule) they wait in the relu's stream, a pixel a beat, 128 bits: 56 beats (simulated 55),
    # 4 BRAM18 (UG573: 36 x 512 aspect, ceil(128 / 36)); with the concat at its latest, in `new`'s, 2 beats a pixel,
    # 32 bits: 112 beats (simulated 107), one BRAM18.
    module = parse_module(JOIN)
    pipeline = Pipeline.of_module(module)
    free_run = Simulator(pipeline, 3, _unbounded(pipeline))
    free_run.run()
    just_in_time = _peaks(pipeline, free_run.with_release(free_run.latest_inputs(free_run.times)).run())
    assert _named(module, just_in_time) == {"s_relu": 55} and _bram18(pipeline, just_in_time) == 4
    sizing = size_fifos(module)
    assert _named(module, sizing.depths) == {"s_new": 107} and _bram18(pipeline, sizing.depths) == 1
    # the head's 256 pixels x 8 channels x 2 filters, one MAC a cycle: the II, bounded at the depths as unbounded
    assert sizing.unbounded.ii == 256 * 8 * 2
    write_depths(sizing.depths)
    bounded = simulate(module)
    assert not bounded.deadlock and bounded.completions == sizing.unbounded.completions == sizing.checked.completions
    assert all(f.peak <= f.depth for f in bounded.fifos)
