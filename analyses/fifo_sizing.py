"""FIFO depths: the least depth of every stream that lets the pipeline run at its initiation interval.

Path-delay differences at beat granularity: with the design's streams unbounded and its inputs fed
at the steady-state rate (one inference per II, beats evenly spread), every beat's write and read
cycle is the longest (max-plus) path to it, and a FIFO must hold what its writer delivers before
its reader takes it: the peak occupancy of that schedule (the skip-connection rule of SATAY and
StreamTensor, here exact per beat rather than one fill figure per stage). Streams the IR cannot
size (inside a kernel, lane converters) keep their fixed depth. The depths are then checked by
simulating the bounded design: the same II, and no deadlock. Depths that hold the unpaced schedule's
peaks need no simulation: that schedule already meets every free-slot constraint they add, so it is
the bounded design's least solution too (a max-plus system's least solution does not move when the
constraints it satisfies are added).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.rewriter import Rewriter

from dfcc.analyses.schedules import HLS_DEFAULT_DEPTH, Channel, Pipeline, Process
from dfcc.analyses.simulation import DEFAULT_INFERENCES, SimulationResult, Simulator
from dfcc.errors import DfccError

UNBOUNDED = 2 ** 62


@dataclass(frozen=True)
class Sizing:
    depths: dict[SSAValue, int]  # IR stream -> depth in beats, for every stream the IR sizes
    unbounded: SimulationResult  # the design with unbounded IR streams (its II is the target)
    checked: SimulationResult  # the design at the chosen depths


def _sizable(ch: Channel) -> bool:
    """An IR stream whose depth the schedule sets; one out of a DRAM ring keeps its own (the words wait in
    DRAM, not in it: sizing it by peak occupancy would move the evicted FIFO back on chip)."""
    return ch.value is not None and not ch.port and not ch.elastic


def _paced_inputs(pipeline: Pipeline, ii: int) -> dict[Process, Process]:
    """Each graph input's process, and one feeding that input at one inference per `ii` cycles, its beats
    evenly spread."""
    paced = {}
    for p in pipeline.processes:
        if not p.reads and len(p.writes) == 1 and p.writes[0][0].port:
            ch, _ = p.writes[0]
            if ii > ch.beats:
                spread = (np.arange(ch.beats, dtype=np.int64) * ii) // ch.beats
                paced[p] = replace(p, iterations=ii, writes=[(ch, spread)])
    return paced


def size_fifos(module: ModuleOp, inferences: int = DEFAULT_INFERENCES) -> Sizing:
    """The least depth of every IR stream for which the design keeps its II (see module docstring).

    The II is the one the design reaches with its IR streams unbounded (the fixed streams inside
    kernels may cost it some cycles). If the II-paced schedule's depths lose cycles (a stage that
    fills a buffer before it drains it runs slower on a spread-out input), the depths of the
    unpaced schedule are added."""
    pipeline = Pipeline.of_module(module)
    free_run = Simulator(pipeline, inferences, _unbounded(pipeline))
    free = free_run.run()
    if free.deadlock:
        raise DfccError(f"FIFO sizing: {free.describe_deadlock()}")
    paced = free_run.with_processes(_paced_inputs(pipeline, free.ii)).run(free_run.times)
    depths, unpaced = _peaks(pipeline, paced), _peaks(pipeline, free)
    checked = _check(free_run, free, depths, unpaced)
    if checked.deadlock or checked.ii > free.ii:
        depths = {v: max(d, unpaced[v]) for v, d in depths.items()}
        checked = _check(free_run, free, depths, unpaced)
    return Sizing(depths, free, checked)


def _unbounded(pipeline: Pipeline) -> dict[Channel, int]:
    return {ch: UNBOUNDED for ch in pipeline.channels if _sizable(ch)}


def _peaks(pipeline: Pipeline, result: SimulationResult) -> dict[SSAValue, int]:
    peaks = {f.name: f.peak for f in result.fifos}
    return {ch.value: max(HLS_DEFAULT_DEPTH, peaks.get(ch.name, 0)) for ch in pipeline.channels if _sizable(ch)}


def _check(free_run: Simulator, free: SimulationResult, depths: dict[SSAValue, int],
           unpaced: dict[SSAValue, int]) -> SimulationResult:
    """The design with `depths` on its IR streams: simulated (the unpaced run's pipeline and event lists),
    or, where they hold the unpaced run's peaks, that run's timing (module docstring) at these depths."""
    bounded = {ch: depths[ch.value] for ch in free_run.pipeline.channels if _sizable(ch)}
    if all(depths[v] >= peak for v, peak in unpaced.items()):
        by_name = {ch.name: depth for ch, depth in bounded.items()}
        return replace(free, fifos=tuple(replace(f, depth=by_name.get(f.name, f.depth)) for f in free.fifos))
    return free_run.with_depths(bounded).run(free_run.times)


def write_depths(depths: dict[SSAValue, int]) -> None:
    """Record the depths in the IR stream types (what the HLS emitter turns into STREAM pragmas)."""
    for value, depth in depths.items():
        if value.type.depth.data != depth:
            Rewriter.replace_value_with_new_type(value, value.type.with_depth(depth))
