"""FIFO depths: the least depth of every stream that lets the pipeline run at its initiation interval.

Path-delay differences at beat granularity: every beat's write and read cycle in a schedule of the design
with its streams unbounded, and a FIFO must hold what its writer delivers before its reader takes it: the
peak occupancy of that schedule (the skip-connection rule of SATAY and StreamTensor, here exact per beat
rather than one fill figure per stage). Two schedules are sized and the one needing fewer BRAM18 kept (the
first on a tie). Both keep the unbounded run's output cycles (its completions, so its II). The just-in-time
one: the graph inputs fed as late as they can be for every output beat to leave when it does, found by running
the pipeline backwards from those output cycles (analyses/simulation.py `latest_events`), and every stage as
early as that feed allows. The rushed run's own peaks would hold whole inferences in the streams ahead of the
slowest stage; the latest schedule's would hold the beats of every stage that must start early for one output
and whose reader may start late. The narrow-slack one: the same, with the stages that write more on-chip bits
into one stream than they read (a concat joining a DRAM ring's stream with a few new channels) also at their
latest: a stage early where it widens holds its slack in the wide stream it writes (DenseNet-121: 768 channels in
front of a slow conv), late in the narrow ones it reads (or the ring); the stages after it follow it, as early as
it allows. A fork's copies count once: counting both made forks late too, which cost more than it saved
(DenseNet-121 286 BRAM18 rather than 271, MobileNetV3-Large 826 rather than 631).

Any schedule whose every event lies between its least and its latest time meets the same output cycles: the
latest schedule meets every constraint and every release no later than it, so the least solution under those
releases (a max-plus system's least solution, the fixed point of its monotone constraints: Baccelli et al.,
Synchronization and Linearity, ch. 3) is no later than it, at the outputs too, and no earlier than the unbounded
run's. Choosing which events to delay to shrink the buffers is the latency-insensitive buffer sizing of
Lu and Koh (ICCAD 2003) and Collins and Carloni (IEEE TCAD 2009), here by one rule per stage rather than an ILP.

The depths need no further simulation: the sized schedule meets every constraint they add, so it is a schedule
of the bounded design too, whose least solution is then no later at the outputs, and no earlier than the
unbounded design's: the same completions, no deadlock. Streams the IR cannot size (inside a kernel, lane
converters) keep their fixed depth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.rewriter import Rewriter

from dfcc.analyses.schedules import HLS_DEFAULT_DEPTH, Channel, Pipeline, Process
from dfcc.analyses.simulation import DEFAULT_INFERENCES, SimulationResult, Simulator, feeds
from dfcc.errors import DfccError
from dfcc.hardware.memory import fifo_blocks
from dfcc.kinds.cost import DEFAULT_DATA_BITS, stream_bits

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
    widens = {p for p in pipeline.processes if _widens(p)}
    latest = free_run.latest_events(lambda p: feeds(p) or p in widens, free_run.times)
    releases = [{p: t for p, t in latest.items() if feeds(p)}] + ([latest] if widens else [])
    best, fewest = None, None
    for release in releases:
        schedule = free_run.with_release(release).run(free_run.times)
        if schedule.completions != free.completions:
            raise DfccError("FIFO sizing: internal error, a sized schedule moves the outputs; please report it")
        depths = _peaks(pipeline, schedule)
        blocks = _bram18(pipeline, depths)
        if fewest is None or blocks < fewest:
            best, fewest = (schedule, depths), blocks
    schedule, depths = best
    by_name = {ch.name: depths[ch.value] for ch in pipeline.channels if _sizable(ch)}
    checked = replace(schedule, fifos=tuple(replace(f, depth=by_name.get(f.name, f.depth)) for f in schedule.fifos))
    return Sizing(depths, free, checked)


def _bram18(pipeline: Pipeline, depths: dict[SSAValue, int]) -> int:
    """BRAM18 of the IR streams' FIFOs at `depths` (as Vitis HLS binds them by default)."""
    return sum(fifo_blocks(stream_bits(ch.value) * ch.lanes, depths[ch.value])[0]
               for ch in pipeline.channels if _sizable(ch))


def _widens(p: Process) -> bool:
    """A stage that writes more on-chip bits into one stream than it reads (a fork's copies count once: module
    docstring), whose slack the narrow-slack schedule moves into what it reads."""
    return bool(p.reads and p.writes) and \
        max(_on_chip_bits(ch) for ch, _ in p.writes) > sum(_on_chip_bits(ch) for ch, _ in p.reads)


def _on_chip_bits(ch: Channel) -> int:
    """Bits a stream carries per inference through a FIFO of ours: none through a port or out of a DRAM ring."""
    if ch.port or ch.elastic:
        return 0
    return ch.beats * ch.lanes * (stream_bits(ch.value) if ch.value is not None else DEFAULT_DATA_BITS)


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
