"""The cycle-level simulation: hand-computed schedules of a small conv and pool, deadlock detection
on a too-shallow skip FIFO (simulation and bounded C simulation), FIFO sizing, the -t simulate CLI."""

import json

import numpy as np
import pytest
from xdsl.rewriter import Rewriter

from dfcc.analyses.fifo_sizing import size_fifos, write_depths
from dfcc.analyses.schedules import Pipeline, Process
from dfcc.analyses.simulation import Simulator, _Events, _reverse, _reversed, _small_pages, simulate
from dfcc.backends.estimate import Estimate
from dfcc.hardware.cycles import windowed_stage_cycles
from dfcc.kinds import ConvOp, ForkOp, MapOp
from dfcc.kinds.conv import channel_folding, window_depth
from dfcc.driver.cli import main
from dfcc.frontends.mlir import parse_module
from tests.test_estimate import NET


def _window_module(op: str, k: int, stride: int, pad: int, hw: int = 4) -> str:
    ho = (hw + 2 * pad - k) // stride + 1
    geometry = (f'kernel = array<i64: {k}, {k}>, stride = array<i64: {stride}, {stride}>, '
                f'dilation = array<i64: 1, 1>, pad = array<i64: {pad}, {pad}, {pad}, {pad}>')
    node = (f'%w = dataflow.weights {{name = "w", value = dense<0.5> : tensor<1x1x{k}x{k}xf32>}} : tensor<1x1x{k}x{k}xf32>\n'
            f'  %y = dataflow.conv %s, %w {{name = "conv", {geometry}, fine = {k * k} : i64}} : (!dataflow.stream<1x{hw}x{hw}x1xf32>, '
            f'tensor<1x1x{k}x{k}xf32>) -> !dataflow.stream<1x{ho}x{ho}x1xf32>' if op == "conv" else
            f'%y = dataflow.pool %s {{name = "pool", kind = "max", {geometry}}} : (!dataflow.stream<1x{hw}x{hw}x1xf32>) '
            f'-> !dataflow.stream<1x{ho}x{ho}x1xf32>')
    return f"""
func.func @main(%a: tensor<1x1x{hw}x{hw}xf32>) -> tensor<1x1x{ho}x{ho}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x1x{hw}x{hw}xf32>) -> !dataflow.stream<1x{hw}x{hw}x1xf32>
  {node}
  %t = dataflow.sink %y {{name = "result", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x{ho}x{ho}x1xf32>) -> tensor<1x1x{ho}x{ho}xf32>
  func.return %t : tensor<1x1x{ho}x{ho}xf32>
}}"""


def _first_write(module_text: str, stream: str, inferences: int = 1):
    pipeline = Pipeline.of_module(parse_module(module_text))
    sim = Simulator(pipeline, inferences)
    result = sim.run()
    channel = next(c for c in pipeline.channels if c.name == stream)
    return int(sim.write_cycles(channel)[0]), result


def test_conv_3x3_pad1_first_output_cycle():
    # 4x4 input padded to 6x6, one beat per pixel. The window generator reaches the first window's
    # last pixel (padded row 2, col 2) at iteration 2*6 + 2 = 14 and writes it 3 cycles later (17);
    # the MAC (9 positions per cycle, one filter) reads it at 18 and writes output (0, 0) at 21.
    # The feed never holds it up (the port FIFO frees a slot per pixel read, the generator reads
    # at most one beat per cycle). The generator's 36 iterations per inference are the II; the last
    # window (iteration 35) -> 38, read 39, written 42, drained at 43: latency 44 cycles.
    cycle, result = _first_write(_window_module("conv", 3, 1, 1), "s_conv", inferences=3)
    assert cycle == 21
    assert result.latency == 44 and result.ii == 36


def test_maxpool_2x2_stride2_first_output_cycle():
    # no padding: the generator reads one beat per iteration; beat j arrives at cycle j (the feed,
    # 2 beats ahead at most) and is read at j + 1. The first window ends at pixel (1, 1), iteration 5:
    # started at 6, written at 9; the pool reads it at 10 and writes at 13.
    cycle, result = _first_write(_window_module("pool", 2, 2, 0), "s_pool")
    assert cycle == 13
    # the generator walks 16 pixels per inference: with one inference, the last window (pixel (3, 3),
    # iteration 15) starts at 16, is written at 19, pooled at 20 -> 23, drained at 24
    assert result.latency == 25


def _skip_fork(module):
    """The fork output that feeds a two-input map (the residual add) directly: the skip FIFO."""
    for op in module.walk():
        if isinstance(op, ForkOp):
            for result in op.outputs:
                if any(isinstance(use.operation, MapOp) and len(use.operation.inputs) == 2 for use in result.uses):
                    return result
    raise AssertionError("no skip connection")


def test_net_skip_fifo_deadlock_named_and_sizing_removes_it():
    module = parse_module(NET)  # every FIFO at the default depth 2: the skip FIFO is too shallow
    result = simulate(module)
    assert result.deadlock
    full = [w for w in result.deadlock if w.action == "write"]
    assert any(w.fifo == "s_fork_1" and w.process == "fork" for w in full), result.describe_deadlock()
    sizing = size_fifos(module)
    write_depths(sizing.depths)
    sized = simulate(module)
    assert not sized.deadlock and sized.ii == sizing.unbounded.ii
    # the skip FIFO holds what the fork delivers while the conv fills its line buffer
    assert _skip_fork(module).type.depth.data == next(f.peak for f in sized.fifos if f.name == "s_fork_1") > 2


def test_sized_depths_keep_every_completion_and_hold_only_the_skip():
    """NET with its input rushed in: the fork's outputs fill with whole feature maps (711 and 747 beats) ahead
    of the slower conv; sized on the just-in-time schedule the conv's input needs no more than the default 2 and
    the skip what the conv's line buffer and MAC delay it, and the bounded design drains every output beat when
    the unbounded one does."""
    module = parse_module(NET)
    sizing = size_fifos(module)
    rushed = {f.name: f.peak for f in sizing.unbounded.fifos}
    assert rushed["s_fork_0"] > 700 and rushed["s_fork_1"] > 700
    write_depths(sizing.depths)
    sized = simulate(module)
    assert sized.completions == sizing.unbounded.completions
    depths = {f.name: f.depth for f in sized.fifos}
    assert depths["s_fork_0"] == 2 and 2 < depths["s_fork_1"] < 100


def test_depths_holding_the_unbounded_peaks_keep_every_beat_of_the_unbounded_run():
    """What FIFO sizing relies on, for any schedule's peaks: at depths >= the unbounded run's peaks no write waits
    for a slot, so every event starts when it did unbounded (NET: the skip FIFO peaks above the default 2)."""
    pipeline = Pipeline.of_module(parse_module(NET))
    unbounded = Simulator(pipeline, 3, {ch: 2 ** 62 for ch in pipeline.channels if ch.value is not None})
    free = unbounded.run()
    peaks = {f.name: f.peak for f in free.fifos}
    assert max(peaks.values()) > 2
    bounded = unbounded.with_depths({ch: max(2, peaks[ch.name]) for ch in pipeline.channels if ch.name in peaks})
    sized = bounded.run()
    assert not sized.deadlock and sized.completions == free.completions
    assert np.array_equal(bounded.times, unbounded.times)
    # one beat less on the FIFOs above the default: a write waits (or the design deadlocks)
    short = unbounded.with_depths({ch: peaks[ch.name] - 1 for ch in pipeline.channels if peaks.get(ch.name, 0) > 2})
    assert short.run().deadlock or not np.array_equal(short.times, unbounded.times)


def _half_rate_chain() -> tuple[Pipeline, Process, Process]:
    """feed (4 beats, one per cycle) -> port FIFO (depth 2) -> stage (8 iterations: reads beat j at iteration 2j,
    writes it at 2j + 1, 3 cycles later) -> FIFO (depth 2) -> drain; the pipeline, its feed and its drain."""
    pipeline = Pipeline()
    feed, stage, drain = (pipeline.process(name, name, n) for name, n in (("feed", 4), ("stage", 8), ("drain", 4)))
    feed.latency = drain.latency = 0
    into, out = pipeline.channel("in", 1, 4), pipeline.channel("out", 1, 4)
    into.port = out.port = True
    pipeline.write(feed, into, np.arange(4))
    pipeline.read_at(stage, into, 2 * np.arange(4))
    pipeline.write(stage, out, 2 * np.arange(4) + 1)
    pipeline.read_at(drain, out, np.arange(4))
    return pipeline, feed, drain


def test_released_feed_starts_no_beat_before_its_release():
    # feed beat k at 10k (released), the stage reads it at 10k + 1 (iteration 2k: it waits for it), writes it
    # at iteration 2k + 1 (10k + 2) + 3 = 10k + 5, the drain takes it at 10k + 6: the last at 36, done at 37
    pipeline, feed, _ = _half_rate_chain()
    run = Simulator(pipeline, 1, release={feed: 10 * np.arange(4)})
    result = run.run()
    assert result.completions == (37,)
    assert list(run.write_cycles(pipeline.channels[0])) == [0, 10, 20, 30]


def test_times_past_32_bits_run_again_at_64_bits():
    # the previous test's schedule 2^31 cycles later (its feed released then): no longer fits the 32-bit times array
    # it runs in first, so it runs again at 64 bits; the latest feed for those outputs is its release (each beat is
    # read as soon as written), and that latest schedule, past 2^31 too, is 64-bit
    pipeline, feed, _ = _half_rate_chain()
    on_time = Simulator(pipeline, 1, release={feed: 10 * np.arange(4)})
    assert on_time.run().completions == (37,) and on_time.times.dtype == np.int32
    late = 2 ** 31
    run = Simulator(pipeline, 1, release={feed: late + 10 * np.arange(4)})
    assert run.run().completions == (late + 37,) and run.times.dtype == np.int64
    assert list(run.write_cycles(pipeline.channels[0])) == [late, late + 10, late + 20, late + 30]
    assert list(run.latest_inputs()[feed]) == [late, late + 10, late + 20, late + 30]


def test_a_run_in_its_mapped_array_gives_the_schedule_of_a_numpy_one():
    # a run's own times array is mapped in base pages (_small_pages); a numpy array passed in must hold the same
    # schedule and give the same peaks (NET with deep FIFOs: at the default depth 2 it deadlocks)
    pipeline = Pipeline.of_module(parse_module(NET))
    deep = {ch: 1 << 20 for ch in pipeline.channels}
    own = Simulator(pipeline, depths=deep)
    mapped = own.run()
    assert own.times.flags.writeable and own.times.dtype == np.int32 and own.times.any()
    given = Simulator(pipeline, depths=deep)
    status, counts = given._timed(np.full_like(own.times, -1), peaks=True)
    assert status == 0 and np.array_equal(given.times, own.times)
    assert [f.peak for f in mapped.fifos] == [f.peak for f in given._result(*counts[2:]).fifos]
    assert _small_pages(0, np.int64).dtype == np.int64 and not _small_pages(3, np.int32).any()


def test_arrays_reversed_in_place_a_chunk_at_a_time():
    # chunks of 3 over lengths around multiples of them: the middle chunk shorter, an odd middle element left alone
    for n in range(12):
        values = np.arange(n, dtype=np.int32)
        assert _reverse(values, chunk=3) is values and list(values) == list(range(n))[::-1]


def test_latest_inputs_feed_each_beat_just_in_time_for_the_outputs():
    # Rushed: the stage runs one iteration a cycle from cycle 1 (iteration i at i + 1), so it reads beat k at
    # 2k + 1, writes beat k at (2k + 2) + 3 and the drain takes it at 2k + 6 (done at 13); the feed runs ahead
    # as far as the depth-2 port allows: beat k once beat k - 2 is read, at 0, 1, 2 (beat 0 read at 1), 4.
    # Latest for those drain cycles: beat k written by 2k + 5 -> iteration 2k + 1 by 2k + 2 -> iteration 2k by
    # 2k + 1 -> the feed's beat k by 2k: 0, 2, 4, 6; fed then, every output leaves as it did.
    pipeline, feed, drain = _half_rate_chain()
    rushed = Simulator(pipeline, 1)
    assert rushed.run().completions == (13,)
    assert list(rushed.write_cycles(pipeline.channels[0])) == [0, 1, 2, 4]
    latest = rushed.latest_inputs()
    assert list(latest) == [feed] and list(latest[feed]) == [0, 2, 4, 6]
    in_time = rushed.with_release(latest)
    assert in_time.run().completions == (13,)
    assert list(in_time.write_cycles(pipeline.channels[0])) == [0, 2, 4, 6]
    # a cycle later for any beat and an output leaves later
    for k in range(4):
        later = latest[feed] + (np.arange(4) >= k)
        assert rushed.with_release({feed: later}).run().completions == (14,)


def test_event_lists_reversed_as_built_for_the_pipeline_run_backwards():
    """The backwards run takes each process's event lists from the forward run's, reversed: the same as built
    for the reversed process (NET: its conv, fork, join, pool, linear and converters)."""
    pipeline = Pipeline.of_module(parse_module(NET))
    _, twin = _reversed(pipeline)
    for p in pipeline.processes:
        reversed_, built = _Events(p).reversed(p), _Events(twin[p])
        assert np.array_equal(reversed_.once, built.once), p.name
        assert len(reversed_.positions) == len(built.positions)
        assert all(np.array_equal(a, b) for a, b in zip(reversed_.positions, built.positions)), p.name


def test_fifo_occupancy_never_exceeds_depth():
    module = parse_module(NET)
    write_depths(size_fifos(module).depths)
    result = simulate(module, inferences=4)
    assert all(f.peak <= f.depth for f in result.fifos)
    assert len(result.completions) == 4 and result.completions[0] == result.latency


def test_simulate_cli_table_json_plot_and_deadlock(tmp_path, capsys):
    path = tmp_path / "net.mlir"
    path.write_text(NET)
    assert main([str(path), "-t", "simulate"]) == 1
    err = capsys.readouterr().err
    assert "deadlocks" in err and "fork waits to write 's_fork_1' (full, depth 2)" in err and "Traceback" not in err
    png = tmp_path / "sim.png"
    assert main([str(path), "-p", "explore{platform=zcu102}", "-t", "simulate", "--json", "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ii_cycles"] > 0 and data["latency_cycles"] >= data["ii_cycles"] > 0
    assert {s["name"] for s in data["stages"]} >= {"conv.window", "conv.mac", "fork", "add"}
    assert all(f["peak"] <= f["depth"] for f in data["fifos"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([str(path), "-p", "explore{platform=zcu102}", "-t", "simulate"]) == 0
    assert "initiation interval" in capsys.readouterr().out


@pytest.fixture(scope="module")
def residual_module_text():
    pytest.importorskip("torch")
    from tests.test_csim import compiled
    from dfcc.backends.output import module_text

    return module_text(compiled("basic_block", "lower-to-dataflow,explore{platform=zcu102}"))


def test_residual_too_shallow_skip_deadlocks_in_simulation_and_bounded_csim(residual_module_text):
    pytest.importorskip("hls4ml")
    from dfcc.analyses.reference import run_reference
    from dfcc.backends.hls.bounded import bounded_csim
    from dfcc.errors import DfccError
    from dfcc.examples.models import MODELS

    inputs = [x.numpy() for x in MODELS["basic_block"].inputs(seed=1)]
    module = parse_module(residual_module_text)
    # explore's sizes: no deadlock, and the bounded C simulation computes what the reference does
    assert not simulate(module).deadlock
    expected = run_reference(module, inputs)
    out = bounded_csim(module, inputs).outputs
    np.testing.assert_allclose(out[0], expected[0], rtol=0, atol=1e-5 * max(1.0, float(np.abs(expected[0]).max())))
    # the skip FIFO at depth 2: both simulations report the deadlock and name the stream
    skip = _skip_fork(module)
    fork = skip.owner.node_name.data
    stream = f"s_{fork}_{list(skip.owner.outputs).index(skip)}"
    Rewriter.replace_value_with_new_type(skip, skip.type.with_depth(2))
    result = simulate(module)
    assert any(w.fifo == stream and w.action == "write" for w in result.deadlock), result.describe_deadlock()
    with pytest.raises(DfccError, match=f"deadlocks(.|\n)*{stream} full, depth 2"):
        bounded_csim(module, inputs)


def _conv_c4_f2_module() -> str:
    """A 3x3 pad-1 conv on 8x8x4 with 2 filters, one lane in and out, all 9 kernel positions per cycle:
    4 beats per pixel, 2 MAC cycles per beat (one per filter)."""
    return """
func.func @main(%a: tensor<1x4x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x8x8xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %w = dataflow.weights {name = "w", value = dense<0.5> : tensor<2x4x3x3xf32>} : tensor<2x4x3x3xf32>
  %y = dataflow.conv %s, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 1 : i64, coarse_out = 1 : i64, fine = 9 : i64} : (!dataflow.stream<1x8x8x4xf32>, tensor<2x4x3x3xf32>) -> !dataflow.stream<1x8x8x2xf32>
  %t = dataflow.sink %y {name = "result", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x8x8x2xf32>) -> tensor<1x2x8x8xf32>
  func.return %t : tensor<1x2x8x8xf32>
}"""


def test_window_generator_gaps_set_the_conv_ii():
    # 10x10 padded walk, 4 beats per pixel; the MAC takes 2 cycles per beat (256 beats: 512 cycles).
    # Between output rows the generator walks 10 - 7 = 3 pixels: the next beat comes 2*4 + 1 = 9
    # cycles after the last, the MAC had 3 beats (depth 2 + its own) = 6 cycles of work: stall
    # 9 + 2 - 6 = 5, 7 times; between inferences 100 - 70 - 7 = 23 pixels: 22*4 + 1 + 2 - 6 = 85.
    assert windowed_stage_cycles(8, 8, 10, 10, 1, 1, 4, 2) == 512 + 7 * 5 + 85 == 632
    # conv.h conv queues 32 windows instead (window_depth: 32 x 9 x 32 bits, 144 LUTs, for 15 % of the
    # cycles of 9 multipliers): between rows none, between inferences 91 - 33 * 2 = 25
    module = parse_module(_conv_c4_f2_module())
    conv = next(op for op in module.walk() if isinstance(op, ConvOp))
    assert window_depth(conv, channel_folding(conv.folding())) == 32
    assert windowed_stage_cycles(8, 8, 10, 10, 1, 1, 4, 2, depth=32) == 512 + 25 == 537
    assert simulate(module).ii == 537
    assert Estimate.of_module(module).totals.ii == 537


def _conv_after_widening_module(c: int, hw: int, filters: int, kernel: int, stride: int, pad: int,
                                coarse_out: int, fine: int) -> str:
    """relu (one lane) -> a conv reading 4 lanes (a 1 -> 4 lane converter between them) on hw x hw x c."""
    ho = (hw + 2 * pad - kernel) // stride + 1
    return f"""
func.func @main(%a: tensor<1x{c}x{hw}x{hw}xf32>) -> tensor<1x{filters}x{ho}x{ho}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x{c}x{hw}x{hw}xf32>) -> !dataflow.stream<1x{hw}x{hw}x{c}xf32>
  %r = dataflow.map %s {{name = "relu"}} : !dataflow.stream<1x{hw}x{hw}x{c}xf32> -> !dataflow.stream<1x{hw}x{hw}x{c}xf32> {{
  ^bb0(%x: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %x, %zero : f32
    dataflow.yield %m : f32
  }}
  %w = dataflow.weights {{name = "w", value = dense<0.5> : tensor<{filters}x{c}x{kernel}x{kernel}xf32>}} : tensor<{filters}x{c}x{kernel}x{kernel}xf32>
  %y = dataflow.conv %r, %w {{name = "conv", kernel = array<i64: {kernel}, {kernel}>, stride = array<i64: {stride}, {stride}>, dilation = array<i64: 1, 1>, pad = array<i64: {pad}, {pad}, {pad}, {pad}>, coarse_in = 4 : i64, coarse_out = {coarse_out} : i64, fine = {fine} : i64}} : (!dataflow.stream<1x{hw}x{hw}x{c}xf32>, tensor<{filters}x{c}x{kernel}x{kernel}xf32>) -> !dataflow.stream<1x{ho}x{ho}x{filters}xf32>
  %t = dataflow.sink %y {{name = "result", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x{ho}x{ho}x{filters}xf32>) -> tensor<1x{filters}x{ho}x{ho}xf32>
  func.return %t : tensor<1x{filters}x{ho}x{ho}xf32>
}}"""


def test_a_lane_converter_widening_into_a_strided_window_paces_its_gaps():
    # the converter gives the window generator a 4-lane beat every 4 cycles. Stall of a gap of g walked
    # beats: 4g + 2 - 3*12. Within a row g = 2 + 1 = 3: none; between rows g = (2*16 - 7*2 - 1)*2 + 1 = 35:
    # 106, 7 times; between inferences (256 - 224 - 15)*2 + 1 = 35: 106; busy 64*2*12 = 1536. At one beat
    # a cycle (the converter's 2048 cycles bounding the II) the estimate was 12 % short of the simulation.
    assert windowed_stage_cycles(8, 8, 16, 16, 2, 2, 2, 12, input_interval=4) == 1536 + 7 * 106 + 106 == 2384
    # conv.h conv's window stream is 3 deep (window_depth, at the input's own pace: 35 + 2 <= 4 * 12): 4 * 35 + 2
    # - 4 * 12 = 94 a gap
    assert windowed_stage_cycles(8, 8, 16, 16, 2, 2, 2, 12, depth=3, input_interval=4) == 1536 + 8 * 94 == 2288
    module = parse_module(_conv_after_widening_module(8, 16, 12, kernel=1, stride=2, pad=0, coarse_out=1, fine=1))
    est, sim = Estimate.of_module(module).totals.ii, simulate(module).ii
    assert est == 2288 and abs(est - sim) <= 0.05 * sim


def test_padding_behind_a_widening_converter_is_walked_at_one_beat_a_cycle():
    # the converter gives a beat every 4 cycles, padding costs the generator one. Windows are emitted at
    # walk positions 22 (row 2, col 2) to 99 of the 10x10 padded image. Stall of a gap of g beats, p of
    # them padding: 4(g - p) + p + 2 - 3*6. Between rows (29 -> 32): g = 5, p = 2 (col 0): none. Between
    # inferences (99 -> 100 + 22): g = 45, p = 2 * 13 (row 0, cols 0 and 9 of row 1, col 0 of row 2): 86.
    # busy 64 * 2 * 6 = 768. Counting the right and bottom padding, walked before the last window, as
    # fast too gave 800 (-4.9 %); all of it at the converter's pace 960 (+14 %).
    assert windowed_stage_cycles(8, 8, 10, 10, 1, 1, 2, 6, input_interval=4, pads=(1, 1, 1, 1),
                                 span=(3, 3)) == 768 + 86 == 854
    # conv.h conv's window stream is 7 deep (window_depth): between inferences 4 * 19 + 26 + 2 - 8 * 6 = 56
    assert windowed_stage_cycles(8, 8, 10, 10, 1, 1, 2, 6, depth=7, input_interval=4, pads=(1, 1, 1, 1),
                                 span=(3, 3)) == 768 + 56 == 824
    module = parse_module(_conv_after_widening_module(8, 8, 4, kernel=3, stride=1, pad=1, coarse_out=2, fine=3))
    est, sim = Estimate.of_module(module).totals.ii, simulate(module).ii
    assert est == 824 and abs(est - sim) <= 0.02 * sim


def test_first_inference_latency_reads_fill_at_the_input_rate():
    # source: 64 pixel beats, first beat at 3, last at 67. conv (S = 3, Lin = 67): depth = window fill
    # (10*2 + 2)*4 = 88, less the (10 + 1)*4 padding beats walked before the first input, + 8 per
    # pixel + 3 = 55, so 58 from the input; but the walk began with those 44 padding beats at cycle 0 while the
    # input waited: F = lead 88 + 8 + 3 = 99. Its 537 cycles end at 540, its last 63 pixels' 504 after F at 603
    # (its 32-deep window stream leaves no stall between rows). sink (S = 99, Lin = 603): L = 603 + 3 = 606.
    module = parse_module(_conv_c4_f2_module())
    est = Estimate.of_module(module).totals
    assert est.latency_cycles == 606
    sim = simulate(module)
    assert abs(est.latency_cycles - sim.latency) <= 0.10 * sim.latency


def test_a_conv_fed_by_a_slow_conv_computes_each_pixel_after_its_window():
    # a: 3x3 pad 1 on 8x8x1, fine 1: 9 MAC cycles per pixel, 576 in all; b: the same with 4 filters,
    # 36 per pixel, 2304 in all. Both windows are complete 22 - 11 padded beats after their first
    # input beat (the 11 before it are padding), having read input row 0 and 2 pixels of row 1: a
    # share of 10 / 64 of the input.
    # in: F = 3, L = 67. a (S = 3, Lin = 67): F = max(lead 22 + 9 + 3, 3 + max(depth 11 + 9 + 3, 10 + 3 + 9)) = 34
    # (its walk passes the 11 padding beats from cycle 0 while the input waits), L = max(67 + 12, 3 + 576,
    # 34 + 63 * 9) = 601. b (S = 34, Lin = 601): F = 34 + max(50, 10 / 64 * 567 + 3 + 36) = 161.59,
    # L = max(601 + 39, 34 + 2304, 161.59 + 63 * 36) = 2429.59; the sink 3 later.
    module = parse_module(_conv_chain_module())
    est = Estimate.of_module(module).totals
    assert est.latency_cycles == 2433
    # b cannot start its 2304 cycles before a's tenth pixel completes its first window: S + cycles
    # (2344) is 3.6 % short of the simulation; each pixel's work after its window is within 1 %
    sim = simulate(module)
    assert abs(est.latency_cycles - sim.latency) <= 0.01 * sim.latency


def test_a_conv_whose_window_waits_for_a_burst_starts_its_first_pixel_with_the_burst():
    # a: 1x1 conv 8 -> 8 on 2x2, one channel a beat: 64 MAC cycles a pixel, each pixel's 8 output beats
    # written within its last 8 (burst 8). in: F = 3; a: F = 3 + depth 67 = 70, L = max(3 + 256, 70 + 3 * 64) = 262.
    # b: 3x3 pad 1, 16 filters, fine 9: 16 cycles a beat, 128 a pixel; its first window needs a's last
    # pixel (fill 1), complete at 262 but begun 8 cycles earlier: F = 262 - 8 + 128 + 3 = 385, not
    # 262 + 3 + 16 = 281 as if each beat's MACs had kept up with the input. L = max(262 + 19, 70 + 547,
    # 385 + 3 * 128) = 769; the sink 3 later. (a's output FIFO holds a pixel and more, so the II is b's 512: its
    # 5-deep window stream, window_depth, leaves it no stall.)
    module = parse_module(_burst_chain_module())
    est = Estimate.of_module(module).totals
    assert est.latency_cycles == 772
    sim = simulate(module)
    assert est.ii == sim.ii == 512
    assert abs(est.latency_cycles - sim.latency) <= 0.01 * sim.latency


def _burst_chain_module() -> str:
    return """
func.func @main(%a: tensor<1x8x2x2xf32>) -> tensor<1x16x2x2xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x2x2xf32>) -> !dataflow.stream<1x2x2x8xf32>
  %w = dataflow.weights {name = "w", value = dense<0.5> : tensor<8x8x1x1xf32>} : tensor<8x8x1x1xf32>
  %x = dataflow.conv %s, %w {name = "a", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 1 : i64, coarse_out = 1 : i64, fine = 1 : i64} : (!dataflow.stream<1x2x2x8xf32>, tensor<8x8x1x1xf32>) -> !dataflow.stream<1x2x2x8xf32, depth 32>
  %v = dataflow.weights {name = "v", value = dense<0.5> : tensor<16x8x3x3xf32>} : tensor<16x8x3x3xf32>
  %y = dataflow.conv %x, %v {name = "b", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 1 : i64, coarse_out = 1 : i64, fine = 9 : i64} : (!dataflow.stream<1x2x2x8xf32, depth 32>, tensor<16x8x3x3xf32>) -> !dataflow.stream<1x2x2x16xf32>
  %t = dataflow.sink %y {name = "result", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x2x2x16xf32>) -> tensor<1x16x2x2xf32>
  func.return %t : tensor<1x16x2x2xf32>
}"""

def _conv_chain_module() -> str:
    return """
func.func @main(%a: tensor<1x1x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x1x8x8xf32>) -> !dataflow.stream<1x8x8x1xf32>
  %w = dataflow.weights {name = "w", value = dense<0.5> : tensor<1x1x3x3xf32>} : tensor<1x1x3x3xf32>
  %x = dataflow.conv %s, %w {name = "a", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 1 : i64, coarse_out = 1 : i64, fine = 1 : i64} : (!dataflow.stream<1x8x8x1xf32>, tensor<1x1x3x3xf32>) -> !dataflow.stream<1x8x8x1xf32>
  %v = dataflow.weights {name = "v", value = dense<0.5> : tensor<4x1x3x3xf32>} : tensor<4x1x3x3xf32>
  %y = dataflow.conv %x, %v {name = "b", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 1 : i64, coarse_out = 1 : i64, fine = 1 : i64} : (!dataflow.stream<1x8x8x1xf32>, tensor<4x1x3x3xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %t = dataflow.sink %y {name = "result", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x8x8x4xf32>) -> tensor<1x4x8x8xf32>
  func.return %t : tensor<1x4x8x8xf32>
}"""
