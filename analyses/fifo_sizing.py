"""FIFO depths: the least depth of every stream that lets the pipeline run at its initiation interval.

Path-delay differences at beat granularity: every beat's write and read cycle in a schedule of the design
with its streams unbounded, and a FIFO must hold what its writer delivers before its reader takes it: the
peak occupancy of that schedule (the skip-connection rule of SATAY and StreamTensor, here exact per beat
rather than one fill figure per stage). The schedule is the just-in-time one: the graph inputs fed as late as
they can be for every output beat to leave when it does with the inputs rushed in (the unbounded run's
completions, so its II), found by running the pipeline backwards from those output cycles
(analyses/simulation.py `latest_inputs`), and every stage as early as that feed allows. The rushed run's own
peaks would hold whole inferences in the streams ahead of the slowest stage; the latest schedule's would hold
the beats of every stage that must start early for one output and whose reader may start late.

The depths need no further simulation: that schedule meets every constraint they add, so it is a schedule of
the bounded design too, whose least solution (its timing: a max-plus system's least solution) is then no later
at the outputs, and no earlier than the unbounded design's: the same completions, no deadlock. Streams the IR
cannot size (inside a kernel, lane converters) keep their fixed depth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.rewriter import Rewriter

from dfcc.analyses.schedules import HLS_DEFAULT_DEPTH, Channel, Pipeline
from dfcc.analyses.simulation import DEFAULT_INFERENCES, SimulationResult, Simulator
from dfcc.errors import DfccError

UNBOUNDED = 2 ** 62


@dataclass(frozen=True)
class Sizing:
    depths: dict[SSAValue, int]  # IR stream -> depth in beats, for every stream the IR sizes
    unbounded: SimulationResult  # the design with unbounded IR streams (its II is the target)
    checked: SimulationResult  # the schedule the depths hold, a schedule of the design at them: unbounded's completions


def _sizable(ch: Channel) -> bool:
    """An IR stream whose depth the schedule sets; one out of a DRAM ring keeps its own (the words wait in
    DRAM, not in it: sizing it by peak occupancy would move the evicted FIFO back on chip)."""
    return ch.value is not None and not ch.port and not ch.elastic


def size_fifos(module: ModuleOp, inferences: int = DEFAULT_INFERENCES) -> Sizing:
    """The least depth of every IR stream for which the design keeps its II (see module docstring).

    The II is the one the design reaches with its IR streams unbounded (the fixed streams inside
    kernels may cost it some cycles)."""
    pipeline = Pipeline.of_module(module)
    free_run = Simulator(pipeline, inferences, _unbounded(pipeline))
    free = free_run.run()
    if free.deadlock:
        raise DfccError(f"FIFO sizing: {free.describe_deadlock()}")
    just_in_time = free_run.with_release(free_run.latest_inputs(free_run.times)).run(free_run.times)
    if just_in_time.completions != free.completions:
        raise DfccError("FIFO sizing: internal error, the just-in-time schedule moves the outputs; please report it")
    depths = _peaks(pipeline, just_in_time)
    by_name = {ch.name: depths[ch.value] for ch in pipeline.channels if _sizable(ch)}
    checked = replace(just_in_time, fifos=tuple(replace(f, depth=by_name.get(f.name, f.depth))
                                                for f in just_in_time.fifos))
    return Sizing(depths, free, checked)


def _unbounded(pipeline: Pipeline) -> dict[Channel, int]:
    return {ch: UNBOUNDED for ch in pipeline.channels if _sizable(ch)}


def _peaks(pipeline: Pipeline, result: SimulationResult) -> dict[SSAValue, int]:
    peaks = {f.name: f.peak for f in result.fifos}
    return {ch.value: max(HLS_DEFAULT_DEPTH, peaks.get(ch.name, 0)) for ch in pipeline.channels if _sizable(ch)}


def write_depths(depths: dict[SSAValue, int]) -> None:
    """Record the depths in the IR stream types (what the HLS emitter turns into STREAM pragmas)."""
    for value, depth in depths.items():
        if value.type.depth.data != depth:
            Rewriter.replace_value_with_new_type(value, value.type.with_depth(depth))
