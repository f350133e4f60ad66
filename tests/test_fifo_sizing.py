"""FIFO sizing (analyses/fifo_sizing.py) where a stage widens the stream: a DenseNet join, whose slack the
sizing holds in the narrow stream before the concat rather than in the wide one after it, or, taking each stage
from the schedule that suits it, in no FIFO of its own."""

import itertools
import random

import numpy as np
import pytest

from dfcc.analyses.fifo_sizing import _bram18, _unbounded, _widens, size_fifos, write_depths
from dfcc.analyses.min_cut import cheapest_labels
from dfcc.analyses.schedules import HLS_DEFAULT_DEPTH, Pipeline
from dfcc.analyses.simulation import Simulator, feeds, simulate
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


def _depths(pipeline, run) -> dict:
    """A schedule's peaks as depths of the IR streams (at least the default), as size_fifos writes them."""
    peaks = {f.name: f.peak for f in run.run().fifos}
    return {ch.value: max(HLS_DEFAULT_DEPTH, peaks[ch.name]) for ch in pipeline.channels
            if ch.value is not None and not ch.port and not ch.elastic}


def test_a_joins_slack_waits_where_each_stage_is_timed_for_the_fewest_bram18():
    # `new` reads a tile of 64 pixels, then MACs, then stores its 64 pixels x 4 filters as 128 beats of 2 words back
    # to back, 320 iterations a tile; the head takes a pixel (8 words) each 16 cycles, 8 while they come: 56 pixels
    # wait. The just-in-time schedule (every stage as early as the feed allows) holds them in the relu's stream, a
    # pixel a beat, 128 bits: 56 beats (simulated 55), 4 BRAM18 (UG573: 36 x 512 aspect, ceil(128 / 36)); the
    # narrow-slack one (the concat at its latest) in `new`'s, 2 beats a pixel, 32 bits: 112 beats (simulated 107),
    # one BRAM18; the latest schedule (every stage at its latest) holds `new`'s tile in the fork's copy to the DRAM
    # ring, 64 bits: 64 pixels (simulated 64), 2 BRAM18.
    module = parse_module(JOIN)
    pipeline = Pipeline.of_module(module)
    free_run = Simulator(pipeline, 3, _unbounded(pipeline))
    free_run.run()
    latest = free_run.latest(free_run.times)
    just_in_time = _depths(pipeline, free_run.with_release(latest.event_cycles(feeds)))
    assert _named(module, just_in_time) == {"s_relu": 55} and _bram18(pipeline, just_in_time) == 4
    narrow = _depths(pipeline, free_run.with_release(latest.event_cycles(lambda p: feeds(p) or _widens(p))))
    assert _named(module, narrow) == {"s_new": 107} and _bram18(pipeline, narrow) == 1
    at_latest = {ch.value: max(HLS_DEFAULT_DEPTH, latest.mixed_peak(ch, latest)) for ch in pipeline.channels
                 if ch.value in just_in_time}
    assert _named(module, at_latest) == {"s_fork_1": 64, "s_new": 24} and _bram18(pipeline, at_latest) == 2
    # The mix: `new` at its latest, so its stores come as the head takes them, and the ring's writer early, so the
    # fork's copy waits in the ring (DRAM) rather than on chip. Between a tile's last store and the next tile's
    # first, `new` runs 192 iterations (64 loads, 128 MACs) while the head takes a beat of `new`'s each 8 cycles
    # (2 a pixel): the 192 / 8 = 24 beats it takes then were stored before: a 24 x 32 FIFO, LUTRAM, no BRAM18.
    sizing = size_fifos(module)
    assert _named(module, sizing.depths) == {"s_new": 24} and _bram18(pipeline, sizing.depths) == 0
    # the head's 256 pixels x 8 channels x 2 filters, one MAC a cycle: the II, bounded at the depths as unbounded
    assert sizing.unbounded.ii == 256 * 8 * 2
    write_depths(sizing.depths)
    bounded = simulate(module)
    assert not bounded.deadlock and bounded.completions == sizing.unbounded.completions == sizing.checked.completions
    assert all(f.peak <= f.depth for f in bounded.fifos)


@pytest.mark.parametrize("stream", ["s_new", "s_relu", "s_fork_1"])
def test_a_depth_the_ir_came_with_does_not_move_the_slack(stream):
    # explore writes its costed depths before sizing (passes/explore.py apply_design), and the sizing writes each
    # stream's peak in the mix, whatever depth it came with; so the mix is priced at those peaks. Priced at the depth
    # the IR came with where deeper (as it was), a costed 512 on the relu's stream made its 4 BRAM18 cost nothing
    # extra, and the slack went there (s_relu 55 beats) rather than into `new`'s 24, which need none
    module = parse_module(JOIN)
    write_depths({ch.value: 512 for ch in Pipeline.of_module(module).channels if ch.name == stream})
    sizing = size_fifos(module)
    assert _named(module, sizing.depths) == {"s_new": 24} and _bram18(Pipeline.of_module(module), sizing.depths) == 0


def test_every_schedule_the_sizing_mixes_has_the_unbounded_runs_latest_schedule():
    # size_fifos finds the latest schedule once: the just-in-time and narrow-slack runs (and so every mix of them)
    # drain at the unbounded run's cycles and reach its horizon, so their latest schedule, counted back from those,
    # is the unbounded run's, event for event
    pipeline = Pipeline.of_module(parse_module(JOIN))
    free_run = Simulator(pipeline, 3, _unbounded(pipeline))
    free_run.run()
    horizon = free_run.horizon()
    latest = free_run.latest()
    for which in (feeds, lambda p: feeds(p) or _widens(p)):
        run = free_run.with_release({p: cycles.copy() for p, cycles in latest.event_cycles(which).items()})
        run.run()
        assert run.horizon() == horizon and np.array_equal(run.latest().times, latest.times)


def test_the_two_schedules_run_side_by_side_size_as_one_after_the_other(monkeypatch):
    # with jobs=2 the just-in-time and narrow-slack runs go to two threads: the same depths and completions as jobs=1
    threaded = size_fifos(parse_module(JOIN), jobs=2)
    threads = []
    monkeypatch.setattr("dfcc.analyses.fifo_sizing.ThreadPoolExecutor", lambda **kw: threads.append(kw))
    one = size_fifos(parse_module(JOIN))
    assert not threads
    assert sorted(threaded.depths.values()) == sorted(one.depths.values())
    assert threaded.checked.completions == one.checked.completions


def test_the_cheapest_labels_are_those_of_a_brute_force_search():
    # random submodular costs, some mixed labels of a pair forbidden (None), against every labelling
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 6)
        single = {v: (rng.randint(0, 9), rng.randint(0, 9)) for v in range(n)}
        pairs = []
        for _ in range(rng.randint(0, 8) if n > 1 else 0):
            p, q = rng.sample(range(n), 2)
            c00, c11 = rng.randint(0, 9), rng.randint(0, 9)
            c01 = None if rng.random() < 0.2 else rng.randint(0, 9)
            c10 = None if rng.random() < 0.3 else rng.randint(0, 9)
            if c01 is not None and c10 is not None:
                c10 = max(c10, c00 + c11 - c01)
            pairs.append((p, q, (c00, c01, c10, c11)))

        def cost(ones):
            costs = [single[v][v in ones] for v in range(n)] + [c[2 * (p in ones) + (q in ones)] for p, q, c in pairs]
            return None if None in costs else sum(costs)

        labellings = [set(ones) for k in range(n + 1) for ones in itertools.combinations(range(n), k)]
        assert cost(cheapest_labels(single, pairs)) == min(c for ones in labellings if (c := cost(ones)) is not None)
