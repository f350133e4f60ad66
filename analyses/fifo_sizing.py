"""FIFO depths: the least depth of every stream that lets the pipeline run at its initiation interval.

Path-delay differences at beat granularity: every beat's write and read cycle in a schedule of the design
with its streams unbounded, and a FIFO must hold what its writer delivers before its reader takes it: the
peak occupancy of that schedule (the skip-connection rule of SATAY and StreamTensor, here exact per beat
rather than one fill figure per stage). Three schedules keep the unbounded run's output cycles (its completions,
so its II). The just-in-time one: the graph inputs fed as late as they can be for every output beat to leave when
it does, and every stage as early as that feed allows. The latest one: every stage as late as it can be, found by
running the pipeline backwards from those output cycles (analyses/simulation.py `latest`). The rushed run's own
peaks would hold whole inferences in the streams ahead of the slowest stage; the latest schedule's hold the beats
of every stage that must start early for one output and whose reader may start late. The narrow-slack one: the
just-in-time one with the stages that write more on-chip bits into one stream than they read (a concat joining a
DRAM ring's stream with a few new channels) at their latest: a stage early where it widens holds its slack in the
wide stream it writes (DenseNet-121: 768 channels in front of a slow conv), late in the narrow ones it reads (or
the ring); the stages after it follow it, as early as it allows (a fork's copies count once: counting both made
forks late too, DenseNet-121 286 BRAM18 rather than 271).

The sized schedule takes each stage's events from one of them, stage by stage: the fusion moves of Lempitsky et
al. (Fusion moves for Markov random field optimization, IEEE TPAMI 2010), the just-in-time schedule fused with the
narrow-slack one, the result with the latest one. A stream's peak depends only on its two ends' cycles, so every
mix's peaks are known from the two schedules' without simulating it: the mix of the fewest BRAM18 (then LUTs) is
a minimum cut (analyses/min_cut.py), whose stream costs are submodular wherever a stream's ends are both taken from
the later of two ordered schedules or both from the earlier (the mixed ends cost no less, or are no schedule: a
reader before its writer). A fusion never costs more than either of its two schedules.

Any schedule whose every event lies between its least and its latest time meets the same output cycles: the
latest schedule meets every constraint and every release no later than it, so the least solution under those
releases (a max-plus system's least solution, the fixed point of its monotone constraints: Baccelli et al.,
Synchronization and Linearity, ch. 3) is no later than it, at the outputs too, and no earlier than the unbounded
run's. A mix is such a schedule where every stream's reader reads each beat after it is written and every stream
the IR does not size holds no more than its depth (each stage meets its own constraints in the schedule it comes
from); the others the fusion refuses. Choosing which events to delay to shrink the buffers is the
latency-insensitive buffer sizing of Lu and Koh (ICCAD 2003) and Collins and Carloni (IEEE TCAD 2009), here over
the stages' choice of schedule rather than an ILP over every cycle.

The depths need no further simulation: the sized schedule meets every constraint they add, so it is a schedule
of the bounded design too, whose least solution is then no later at the outputs, and no earlier than the
unbounded design's: the same completions, no deadlock. Streams the IR cannot size (inside a kernel, lane
converters) keep their fixed depth.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.rewriter import Rewriter

from dfcc.analyses.min_cut import cheapest_labels
from dfcc.analyses.schedules import HLS_DEFAULT_DEPTH, Channel, Pipeline, Process
from dfcc.analyses.simulation import DEFAULT_INFERENCES, SimulationResult, Simulator, feeds
from dfcc.errors import DfccError
from dfcc.hardware.memory import fifo_blocks
from dfcc.kinds.cost import DEFAULT_DATA_BITS, stream_bits

UNBOUNDED = 2 ** 62
LUTS_PER_BRAM18_TIE = 2 ** 32  # a BRAM18 outweighs any FIFO LUTs: LUTs only break ties in BRAM18


@dataclass(frozen=True)
class Sizing:
    depths: dict[SSAValue, int]  # IR stream -> depth in beats, for every stream the IR sizes
    unbounded: SimulationResult  # the design with unbounded IR streams (its II is the target)
    checked: SimulationResult  # the sized schedule: unbounded's completions, each FIFO's depth and its peak there
    # (its stall counts are the unbounded run's: the sized schedule is a mix of runs, not one)


def _sizable(ch: Channel) -> bool:
    """An IR stream whose depth the schedule sets; one out of a DRAM ring keeps its own (the words wait in
    DRAM, not in it: sizing it by peak occupancy would move the evicted FIFO back on chip)."""
    return ch.value is not None and not ch.port and not ch.elastic


def size_fifos(module: ModuleOp, inferences: int = DEFAULT_INFERENCES, jobs: int = 1) -> Sizing:
    """The least depth of every IR stream for which the design keeps its II (see module docstring); with `jobs` > 1
    its two independent runs go side by side (`_side_by_side`) and the streams' mixed peaks `jobs` at a time
    (`_mapped`), the same depths.

    The II is the one the design reaches with its IR streams unbounded (the fixed streams inside
    kernels may cost it some cycles)."""
    pipeline = Pipeline.of_module(module)
    free_run = Simulator(pipeline, inferences, _unbounded(pipeline))
    _drop_iterations(pipeline)
    free = free_run.run()
    if free.deadlock:
        raise DfccError(f"FIFO sizing: {free.describe_deadlock()}")
    widens = {p for p in pipeline.processes if _widens(p)}
    horizon = free_run.horizon()
    latest = free_run.latest(free_run.times)

    def in_time() -> _Mix:  # the just-in-time schedule: the graph inputs fed at their latest
        return _Mix.of_run(free_run.with_release(latest.event_cycles(feeds)), free)

    if widens:  # three event-time arrays at a time: the latest schedule's kept for the last fusion, found again
        # only where the fusion's horizon differs (its drains' cycles are the unbounded run's: module docstring)
        schedule, narrow_slack = _side_by_side(
            in_time, lambda: _Mix.of_run(free_run.with_release(latest.event_cycles(lambda p: feeds(p) or p in widens)),
                                         free), jobs)
        schedule = schedule.fused(narrow_slack, jobs)
        if schedule.run.horizon() != horizon:  # an event that leads to no drain, after them all, moved
            latest = schedule.run.latest(narrow_slack.run.times)
    else:
        schedule = in_time()
    schedule = schedule.fused(_Mix.of_times(latest, pipeline, jobs), jobs)
    peaks = schedule.peaks
    depths = {ch.value: max(HLS_DEFAULT_DEPTH, peaks[ch.name]) for ch in pipeline.channels if _sizable(ch)}
    by_name = {ch.name: depths[ch.value] for ch in pipeline.channels if _sizable(ch)}
    checked = replace(free, fifos=tuple(replace(f, depth=by_name.get(f.name, f.depth), peak=peaks[f.name])
                                        for f in free.fifos))
    return Sizing(depths, free, checked)


def _side_by_side(first: Callable[[], _Mix], second: Callable[[], _Mix], jobs: int) -> tuple[_Mix, _Mix]:
    """Two independent runs, in two threads with `jobs` > 1 (the event loop releases the GIL: ctypes calls do), else
    one after the other; the same schedules either way."""
    if jobs < 2:
        return first(), second()
    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(second)
        return first(), other.result()


def _mapped(function: Callable, items: list, jobs: int) -> list:
    """`function` of each item, in `jobs` threads with `jobs` > 1 (the peak count releases the GIL: ctypes calls do);
    the same results either way."""
    if jobs < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(function, items))


class _Mix:
    """A schedule of the pipeline (a run's cycles, or a mix of two schedules' taking each process's events from one
    of them) and its streams' peaks."""

    def __init__(self, run: Simulator, peaks: dict[str, int]):
        self.run, self.peaks = run, peaks

    @staticmethod
    def of_run(run: Simulator, free: SimulationResult) -> _Mix:
        result = run.run()
        if result.completions != free.completions:
            raise DfccError("FIFO sizing: internal error, a sized schedule moves the outputs; please report it")
        return _Mix(run, {f.name: f.peak for f in result.fifos})

    @staticmethod
    def of_times(run: Simulator, pipeline: Pipeline, jobs: int = 1) -> _Mix:
        streams = [ch for ch in pipeline.channels if ch.writer and ch.reader]
        peaks = dict(zip((ch.name for ch in streams), _mapped(lambda ch: run.mixed_peak(ch, run), streams, jobs)))
        if None in peaks.values():
            raise DfccError("FIFO sizing: internal error, the latest schedule reads a beat early; please report it")
        return _Mix(run, peaks)

    def fused(self, other: _Mix, jobs: int = 1) -> _Mix:
        """The cheapest mix of this schedule and `other`, no earlier at any event (module docstring), written into
        this one's cycles; its streams' mixed peaks counted `jobs` at a time."""
        return _Fusion(self, other, jobs).best()


class _Fusion:
    """Schedules of a pipeline that take each process's events from one of two: `early` or `late`, no earlier at any
    event. A stream's peak depends only on its two ends' cycles, so each mix's is known from the two schedules'
    cycles without simulating it."""

    def __init__(self, early: _Mix, late: _Mix, jobs: int = 1):
        self.pipeline, self.runs = early.run.pipeline, [early.run, late.run]
        self.own = [early.peaks, late.peaks]
        self.cycles = [run.event_cycles(lambda p: True) for run in self.runs]
        # the processes whose events differ between the two: the others' choice is moot
        self.moved = {p for p in self.pipeline.processes if not np.array_equal(self.cycles[0][p], self.cycles[1][p])}
        # the peak of each stream whose two ends both moved, its writer from either schedule and its reader from the
        # other (a stream with an end unmoved is never crossed: that end follows the other), `jobs` at a time
        both = [ch for ch in self.pipeline.channels if ch.writer in self.moved and ch.reader in self.moved]
        crossed = [(ch, writer_late) for ch in both for writer_late in (False, True)]
        peaks = _mapped(lambda c: self.runs[c[1]].mixed_peak(c[0], self.runs[not c[1]]), crossed, jobs)
        self.crossed = {(ch.name, writer_late): peak for (ch, writer_late), peak in zip(crossed, peaks)}

    def best(self) -> _Mix:
        """The cheapest mix, written into the early schedule's cycles (which it replaces)."""
        late = self.cheapest()
        peaks = {ch.name: self.peak(ch, late) for ch in self.pipeline.channels if ch.writer and ch.reader}
        early = self.runs[0]
        if self.runs[1].times.dtype == np.int64:  # the late one's times past 32 bits: the early one's widened
            early.times = early.times.astype(np.int64, copy=False)
        cycles = early.event_cycles(lambda p: True)
        for p in late:
            cycles[p][:] = self.cycles[1][p]
        return _Mix(early, peaks)

    def peak(self, ch: Channel, late: set[Process]) -> int | None:
        """The peak of stream `ch` with the processes in `late` at the late schedule's cycles, the rest at the early
        one's; None if its reader would then read a beat before it is written."""
        writer_late = ch.writer in late if ch.writer in self.moved else ch.reader in late
        reader_late = ch.reader in late if ch.reader in self.moved else writer_late
        if writer_late == reader_late:
            return self.own[writer_late][ch.name]
        return self.crossed[ch.name, writer_late]

    def cheapest(self) -> set[Process]:
        """The processes to take from the late schedule for the fewest BRAM18 (then LUTs) over the streams,
        every stream's reader reading no beat before it is written: the cheapest labelling by a minimum cut, exact
        where mixing two ends costs no less than their two uniform choices (analyses/min_cut.py)."""
        single: dict[Process, tuple[int, int]] = {p: (0, 0) for p in self.moved}
        pairs = []
        for ch in self.pipeline.channels:
            if ch.writer is None or ch.reader is None or not {ch.writer, ch.reader} & self.moved:
                continue
            costs = [self._cost(ch, self.peak(ch, late)) for late in
                     (set(), {ch.reader}, {ch.writer}, {ch.writer, ch.reader})]
            if ch.writer in self.moved and ch.reader in self.moved:
                pairs.append((ch.writer, ch.reader, tuple(costs)))
            else:
                end = ch.writer if ch.writer in self.moved else ch.reader
                single[end] = (single[end][0] + costs[0], single[end][1] + costs[3])
        return cheapest_labels(single, pairs)

    def _cost(self, ch: Channel, peak: int | None) -> int | None:
        """A stream's cost at `peak` beats: its FIFO's BRAM18, then its LUTs; None if the mix is no schedule of it
        (a beat read too early, or more held than a stream the IR does not size can hold)."""
        if peak is None:
            return None
        if not _sizable(ch):
            return 0 if peak <= self.runs[0].depths[ch] else None
        if peak <= HLS_DEFAULT_DEPTH:  # no FIFO of its own: the estimate costs streams deeper than the default
            return 0
        blocks, _, luts = fifo_blocks(stream_bits(ch.value) * ch.lanes, peak)  # the depth size_fifos writes
        return blocks * LUTS_PER_BRAM18_TIE + luts


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


def _drop_iterations(pipeline: Pipeline) -> None:
    """Empty the processes' iteration lists once the first run has built its event lists from them: every later run
    of the sizing shares those (which keep the lists they share), and ResNet-50's lists take 0.6 GB."""
    none = np.zeros(0, dtype=np.int64)
    for p in pipeline.processes:
        p.reads[:] = [(ch, none) for ch, _ in p.reads]
        p.writes[:] = [(ch, none) for ch, _ in p.writes]


def _unbounded(pipeline: Pipeline) -> dict[Channel, int]:
    return {ch: UNBOUNDED for ch in pipeline.channels if _sizable(ch)}


def write_depths(depths: dict[SSAValue, int]) -> None:
    """Record the depths in the IR stream types (what the HLS emitter turns into STREAM pragmas)."""
    for value, depth in depths.items():
        if value.type.depth.data != depth:
            Rewriter.replace_value_with_new_type(value, value.type.with_depth(depth))
