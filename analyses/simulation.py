"""Cycle-level simulation of the generated pipeline: bounded FIFOs, blocking reads and writes.

Model (one clock, every stage a loop nest pipelined at II=1, analyses/schedules.py): iteration j of
a process starts at t_j >= t_{j-1} + 1; it starts only when every beat it reads is in its FIFO
(written at cycle w, readable from w + 1), and its write, `latency` cycles later, needs a free slot
(beat k of a FIFO of depth D waits for beat k - D to be read). These are max-plus equations
(Kahn process networks with bounded channels, as in Parks' bounded scheduling); their least
solution is the design's timing. Only iterations that move a beat are represented (run-length:
the cycles between them advance at one per cycle). Every term of an event's start refers to an
earlier cycle, so the event loop (simulation_core.cpp) computes the times in dependency order, each
process running until it needs a time not known yet, in one pass over the beats.

A design that deadlocks has no finite solution. Whether it deadlocks does not depend on timing
(each process moves its beats in a fixed order), so it is decided by counting alone: every
process runs as far as its FIFOs' contents and free slots allow, until all finish or none can move;
the stuck processes and the FIFO each waits on are the report.
"""

from __future__ import annotations

import copy
import mmap
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.schedules import Channel, Pipeline, Process
from dfcc.analyses.simulation_core import OVERFLOW, peak_core, run_core
from dfcc.errors import DfccError

DEFAULT_INFERENCES = 3
SPARSE_EVENTS = 8  # a process with more iterations than this many per beat it moves finds its events by sorting


@dataclass(frozen=True)
class FifoStats:
    name: str
    writer: str
    reader: str
    depth: int
    lanes: int
    peak: int  # most beats held at once


@dataclass(frozen=True)
class StageStats:
    name: str
    node: str
    iterations: int  # per inference
    starved: int  # cycles waiting for input, over the whole run
    blocked: int  # cycles waiting for a free FIFO slot, over the whole run


@dataclass(frozen=True)
class Wait:
    process: str
    node: str
    action: str  # "read" (the FIFO is empty) or "write" (the FIFO is full)
    fifo: str
    depth: int


@dataclass(frozen=True)
class SimulationResult:
    inferences: int
    completions: tuple[int, ...]  # cycle after the last output beat of each inference
    stages: tuple[StageStats, ...]
    fifos: tuple[FifoStats, ...]
    deadlock: tuple[Wait, ...] = ()

    @property
    def ii(self) -> int:
        """Steady-state initiation interval: the spacing of the last two inferences' completions."""
        c = self.completions
        return c[-1] - c[-2] if len(c) > 1 else c[0]

    @property
    def latency(self) -> int:
        """Cycles from the first input beat to the last output beat of the first inference."""
        return self.completions[0]

    def describe_deadlock(self) -> str:
        lines = [f"  {w.process} waits to {w.action} '{w.fifo}' "
                 f"({'empty' if w.action == 'read' else f'full, depth {w.depth}'})" for w in self.deadlock]
        return "the design deadlocks:\n" + "\n".join(lines)


class _Events:
    """A process's event iterations (those that move a beat) for one inference, and the position
    in that list of each beat of each of its ports (reads first). Every inference repeats them.
    Where every iteration is an event `once` is None, and where a port moves a beat at every event its
    positions are None: both are the identity, which the event loop needs not read (DenseNet-121 has ~8 x 10^7
    such entries, whose building and copying took half of FIFO sizing's time)."""

    def __init__(self, process: Process):
        ports = process.reads + process.writes
        iterations = process.iterations
        if any(len(it) == iterations for _, it in ports):  # every iteration moves a beat: a beat's event is its iteration
            once, self.positions = None, [None if len(it) == iterations else it for _, it in ports]
        elif len(ports) == 1:
            once, self.positions = ports[0][1], [None]
        elif sum(len(it) for _, it in ports) * SPARSE_EVENTS < iterations:
            # few events among many iterations (a tiled conv's MAC: 8 x 10^5 of 1.3 x 10^7): the union of the ports'
            # beats sorted and searched, not a mask and a rank per iteration (those took 7 s of ResNet-50's
            # all-streaming design; np.unique took 40 times as long as this sort)
            beats = np.sort(np.concatenate([it for _, it in ports]))
            once = beats[np.concatenate([[True], beats[1:] != beats[:-1]])]
            self.positions = [None if len(it) == len(once) else np.searchsorted(once, it) for _, it in ports]
        elif ports:
            moves = np.zeros(iterations, dtype=bool)
            for _, it in ports:
                moves[it] = True
            once = np.flatnonzero(moves)
            rank = np.cumsum(moves, dtype=np.int64) - 1
            self.positions = [None if len(it) == len(once) else rank[it] for _, it in ports]
        else:
            once, self.positions = np.zeros(1, dtype=np.int64), []
        self.count = iterations if once is None else len(once)  # events per inference
        self.once = None if self.count == iterations else once

    def beats(self, port: int) -> int:
        """Beats per inference of port `port` (an index into `positions`)."""
        pos = self.positions[port]
        return self.count if pos is None else len(pos)

    def position(self, port: int) -> np.ndarray:
        """The event of each beat of port `port` (an index into `positions`), the identity written out."""
        pos = self.positions[port]
        return np.arange(self.count, dtype=np.int64) if pos is None else pos

    def reversed(self, process: Process) -> _Events:
        """The event lists of `process` run backwards (`_reversed`: its writes become reads, each list reversed),
        without walking its iterations again."""
        other = copy.copy(self)
        if self.positions:
            last, reads = self.count - 1, len(process.reads)
            other.once = None if self.once is None else process.iterations - 1 - self.once[::-1]
            other.positions = [None if pos is None else last - pos[::-1]
                               for pos in self.positions[reads:] + self.positions[:reads]]
        return other


def _order(processes: list[Process]) -> list[Process]:
    """Processes in topological order of their streams (writers before readers)."""
    indegree = {p: 0 for p in processes}
    for p in processes:
        for ch, _ in p.reads:
            if ch.writer is not None:
                indegree[p] += 1
    ready = [p for p in processes if indegree[p] == 0]
    order = []
    while ready:
        p = ready.pop(0)
        order.append(p)
        for ch, _ in p.writes:
            if ch.reader is not None:
                indegree[ch.reader] -= 1
                if indegree[ch.reader] == 0:
                    ready.append(ch.reader)
    if len(order) != len(processes):
        raise DfccError("simulate: the stream graph has a cycle")
    return order


def _cycle(waits: dict[Process, Wait], by_name: dict[str, Process]) -> list[Wait]:
    """The circle of waits at the heart of a deadlock (every stuck process waits on one FIFO,
    whose other end waits in turn); all waits if there is no circle (a starved input)."""
    if not waits:
        return []

    def waited_on(w: Wait) -> Process | None:
        ch = next(c for c, _ in (by_name[w.process].reads + by_name[w.process].writes) if c.name == w.fifo)
        return ch.writer if w.action == "read" else ch.reader

    seen: list[Process] = []
    p = next(iter(waits))
    while p in waits and p not in seen:
        seen.append(p)
        p = waited_on(waits[p])
    if p not in seen:
        return list(waits.values())
    return [waits[q] for q in seen[seen.index(p):]]


class Simulator:
    """The timing of `inferences` back-to-back inferences through a pipeline."""

    def __init__(self, pipeline: Pipeline, inferences: int = DEFAULT_INFERENCES,
                 depths: dict[Channel, int] | None = None, release: dict[Process, np.ndarray] | None = None,
                 events: dict[Process, _Events] | None = None, order: list[Process] | None = None):
        """`release`: for some processes, the cycle before which each of their events (all inferences) may not start;
        `events`: the event lists of some processes, where already known; `order`: the processes' order in the times
        array, a topological one of their streams by default."""
        if inferences < 1:
            raise DfccError(f"simulate: inferences must be at least 1, got {inferences}")
        self.pipeline = pipeline
        self.inferences = inferences
        self.depths = {ch: (depths or {}).get(ch, ch.depth) for ch in pipeline.channels}
        self.release = release or {}
        self.order = order or _order(pipeline.processes)
        self.events = [(events or {}).get(p) or _Events(p) for p in self.order]
        # one port per stream end: (process index, channel, its index in the process's event positions, is a write)
        self.ports = [(i, ch, j, j >= len(p.reads)) for i, p in enumerate(self.order)
                      for j, (ch, _) in enumerate(p.reads + p.writes)]
        self.ev_off = np.concatenate([[0], np.cumsum([e.count for e in self.events])]).astype(np.int64)
        self.times = np.zeros(0, dtype=np.int64)

    def _beat_events(self, port: int) -> np.ndarray:
        """Index into `times` of every beat of a port, over all inferences."""
        i, _, j, _ = self.ports[port]
        runs = np.arange(self.inferences, dtype=np.int64)[:, None]
        events = self.events[i]
        return (self.inferences * self.ev_off[i] + runs * events.count + events.position(j)[None, :]).ravel()

    def _port(self, channel: Channel, is_write: bool) -> int:
        return next(n for n, (_, ch, _, w) in enumerate(self.ports) if ch is channel and w == is_write)

    def write_cycles(self, channel: Channel) -> np.ndarray:
        """Cycle at which each beat of `channel` is written (after a successful run)."""
        n = self._port(channel, True)
        return self.times[self._beat_events(n)].astype(np.int64) + self.order[self.ports[n][0]].latency

    def with_depths(self, depths: dict[Channel, int]) -> Simulator:
        """The same pipeline with `depths` on those channels (the rest at their own): a new run that
        reuses this one's event lists and arrays (FIFO sizing simulates one pipeline at several depths)."""
        other = copy.copy(self)
        other.depths = {ch: depths.get(ch, ch.depth) for ch in self.pipeline.channels}
        other.times = np.zeros(0, dtype=np.int64)
        return other

    def latest_inputs(self, times: np.ndarray | None = None) -> dict[Process, np.ndarray]:
        """After a successful run: for each graph input's feed, the latest cycle each of its events may start at
        for every output beat to leave no later than in this run (at these depths); `times` as in `latest`."""
        return self.latest(times).event_cycles(feeds)

    def latest(self, times: np.ndarray | None = None) -> Simulator:
        """After a successful run: this pipeline at its latest schedule, every event at the latest cycle it may start
        at for every output beat to leave no later than in this run (at these depths), as after a run of it (its
        `times`: `event_cycles` and `mixed_peak` read them); `times`: an array of this pipeline's for the backwards
        run, which then holds the latest schedule (this run's own array may be passed: it is read first).

        The pipeline run backwards in time (`_reversed`): a schedule t meets this pipeline's constraints exactly when
        u = H - (t + latency), per process, meets the reversed pipeline's (each constraint maps onto one of the same
        form: max-plus duality), so the reversed pipeline's least solution, its drains' events released at
        H - (their cycle here + latency), is this pipeline's latest schedule with those drains. Its processes are laid
        out in the reverse of this run's order, so its times array reversed is in this run's layout."""
        backwards, twin = _reversed(self.pipeline, iterations=False)
        horizon = self.horizon()
        release = {twin[p]: horizon - (cycles[::-1].astype(np.int64) + p.latency)
                   for p, cycles in self.event_cycles(_drains).items()}
        run = Simulator(backwards, self.inferences, {twin[ch]: d for ch, d in self.depths.items()}, release,
                        {twin[p]: e.reversed(p) for p, e in zip(self.order, self.events)},
                        [twin[p] for p in reversed(self.order)])
        if run._timed(times, peaks=False)[0]:
            raise DfccError("simulate: internal error, the pipeline run backwards deadlocks; please report it")
        other = copy.copy(self)
        other.times = _reverse(run.times)
        if horizon > np.iinfo(other.times.dtype).max:  # its cycles lie in [0, horizon]
            other.times = other.times.astype(np.int64)
        for p, cycles in other.event_cycles(lambda p: True).items():  # in place, no temporary array
            np.add(cycles, p.latency, out=cycles)
            np.subtract(horizon, cycles, out=cycles)
        return other

    def horizon(self) -> int:
        """After a run: the cycle `latest` counts back from, past every event of this run and of its latest schedule.
        The latest schedule depends only on it, the depths and the drains' cycles (two runs that share those share
        their latest schedule: FIFO sizing finds it once)."""
        return int(self.times.max()) + max(p.latency + self.inferences * p.iterations for p in self.order) + 1

    def event_cycles(self, which) -> dict[Process, np.ndarray]:
        """The start cycle of every event (all inferences) of the processes `which` selects (after a run)."""
        n = self.inferences
        return {p: self.times[n * self.ev_off[i]:n * self.ev_off[i + 1]] for i, p in enumerate(self.order) if which(p)}

    def with_release(self, release: dict[Process, np.ndarray]) -> Simulator:
        """The same pipeline with its processes in `release` released at those cycles (see __init__): a new run
        that reuses this one's event lists and arrays."""
        other = copy.copy(self)
        other.release = release
        other.times = np.zeros(0, dtype=np.int64)
        return other

    def mixed_peak(self, channel: Channel, reader_run: Simulator) -> int | None:
        """After this run and `reader_run` (another run of this pipeline, e.g. at other releases): the peak occupancy
        of `channel` with its writer's events at this run's cycles and its reader's at `reader_run`'s (FIFO sizing
        mixes schedules); None if a beat would then be read before it is readable (the mix is no schedule)."""
        chan_index, writer_port, reader_port, _, _, (_, positions) = self._layout
        c = chan_index[channel]

        def end(run: Simulator, port: int) -> tuple:
            i = self.ports[port][0]
            return run.times, self.inferences * int(self.ev_off[i]), self.events[i].count, positions[port]

        w, r = int(writer_port[c]), int(reader_port[c])
        peak = peak_core(self.inferences, channel.beats, (*end(self, w), self.order[self.ports[w][0]].latency),
                         end(reader_run, r))
        return None if peak < 0 else peak

    @cached_property
    def _layout(self) -> tuple:
        """The event loop's arrays that do not depend on the depths: channel index, each channel's
        writer and reader port, the arguments of run_core between `n_inf` and `n_chan`, then those after
        `chan_reader_port` up to the release times, and the event lists whose addresses it passes (kept alive here)."""
        chan_index = {ch: i for i, ch in enumerate(self.pipeline.channels)}
        writer_port = np.full(len(chan_index), -1, dtype=np.int64)
        reader_port = np.full(len(chan_index), -1, dtype=np.int64)
        by_proc: list[list[int]] = [[] for _ in self.order]
        for n, (i, ch, j, is_write) in enumerate(self.ports):
            (writer_port if is_write else reader_port)[chan_index[ch]] = n
            by_proc[i].append(n)
            if self.events[i].beats(j) != ch.beats:  # the event loop counts both ends of a FIFO in the channel's beats
                raise DfccError(f"simulate: internal error, '{self.order[i].name}' moves {self.events[i].beats(j)} "
                                f"beats of '{ch.name}', which carries {ch.beats}")
        ints = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
        # the event lists by address (the identity, None, at 0), the arrays kept alive with the layout
        once = [_int64(e.once) for e in self.events]
        positions = [_int64(self.events[i].positions[j]) for i, _, j, _ in self.ports]
        core = (self.ev_off, _addresses(once),
                ints([p.iterations for p in self.order]), ints([p.latency for p in self.order]),
                ints([port[0] for port in self.ports]), ints([chan_index[port[1]] for port in self.ports]),
                ints([port[3] for port in self.ports]), ints([self.events[i].beats(j) for i, _, j, _ in self.ports]),
                _addresses(positions))
        proc_ports = (ints(np.concatenate([[0], np.cumsum([len(b) for b in by_proc])])),
                      ints([n for b in by_proc for n in b]))
        return chan_index, writer_port, reader_port, core, proc_ports, (once, positions)

    def run(self) -> SimulationResult:
        """The simulation; its times 32-bit (half the memory) unless one does not fit."""
        status, counts = self._timed(None, peaks=True)
        if status:
            return SimulationResult(self.inferences, (), (), (), tuple(self._waits(*counts[:2], *self._layout[1:3])))
        return self._result(*counts[2:])

    def _timed(self, times: np.ndarray | None, peaks: bool) -> tuple[int, tuple[np.ndarray | None, ...]]:
        """The event times (`run`), the FIFOs' peaks counted only with `peaks` (a pass over every beat of every
        stream: a run backwards needs none); run_core's status and counts (`_core`). `times`: an array to hold the
        event times (of another run of this pipeline: every entry is written before it is read), sparing a new one
        (~10^8 entries on ResNet-50, ~0.3 s of page faults in base pages: `latest` passes one); 64-bit if it is."""
        size = self.inferences * int(self.ev_off[-1])
        if times is None or times.shape != (size,) or times.dtype not in (np.int32, np.int64):
            times = _small_pages(size, np.int32)
        status, counts = self._core(times, peaks)
        if status == OVERFLOW:
            status, counts = self._core(_small_pages(size, np.int64), peaks)
        return status, counts

    def _core(self, times: np.ndarray, peaks: bool) -> tuple[int, tuple[np.ndarray | None, ...]]:
        """run_core into `times` (kept as this run's): its status and its pc, cursor, starved, blocked and peak
        (None without `peaks`)."""
        chan_index, writer_port, reader_port, core, proc_ports, _ = self._layout
        n_proc = len(self.order)
        self.times = times
        counts = (np.zeros(n_proc, dtype=np.int64), np.zeros(len(self.ports), dtype=np.int64),
                  np.zeros(n_proc, dtype=np.int64), np.zeros(n_proc, dtype=np.int64),
                  np.zeros(len(chan_index), dtype=np.int64) if peaks else None)
        depths = np.array([self.depths[ch] for ch in chan_index], dtype=np.int64)
        status = run_core(n_proc, self.inferences, *core, len(chan_index), depths, writer_port, reader_port,
                          *proc_ports, *self._releases(), int(times.dtype == np.int64), times, *counts)
        return status, counts

    def _releases(self) -> tuple[np.ndarray, np.ndarray]:
        """run_core's release_off (each process's first release in `release`, -1: none) and release."""
        offsets, parts, offset = np.full(len(self.order), -1, dtype=np.int64), [], 0
        for i, p in enumerate(self.order):
            if p in self.release:
                if len(self.release[p]) != self.inferences * self.events[i].count:
                    raise DfccError(f"simulate: internal error, '{p.name}' has {len(self.release[p])} release times "
                                    f"for {self.inferences * self.events[i].count} events")
                offsets[i], offset = offset, offset + len(self.release[p])
                parts.append(self.release[p])
        return offsets, np.concatenate(parts, dtype=np.int64) if parts else np.zeros(0, dtype=np.int64)

    def _waits(self, pc: np.ndarray, cursor: np.ndarray, writer_port: np.ndarray,
               reader_port: np.ndarray) -> list[Wait]:
        """Where each stuck process waits: the beat it cannot read (its FIFO is empty) or write (full)."""
        chan_index = {ch: i for i, ch in enumerate(self.pipeline.channels)}
        waits = {}
        for n, (i, ch, j, is_write) in enumerate(self.ports):
            p, k, events = self.order[i], int(cursor[n]), self.events[i]
            beats = events.beats(j)
            if k >= self.inferences * beats or (k // beats) * events.count + events.position(j)[k % beats] != pc[i]:
                continue  # this port's next beat is not at the event the process is stuck on
            if is_write:
                other, behind = reader_port[chan_index[ch]], k - self.depths[ch]
            else:
                other, behind = writer_port[chan_index[ch]], k
            if behind >= 0 and other >= 0 and cursor[other] <= behind:
                waits[p] = Wait(p.name, p.node, "write" if is_write else "read", ch.name, self.depths[ch])
        return _cycle(waits, {p.name: p for p in self.order})

    def _result(self, starved: np.ndarray, blocked: np.ndarray, peak: np.ndarray) -> SimulationResult:
        drains = [n for n, (i, ch, _, is_write) in enumerate(self.ports)
                  if ch.port and not is_write and not self.order[i].writes]
        if not drains:
            raise DfccError("simulate: the design has no output")
        completions = []
        for m in range(self.inferences):
            last = 0
            for n in drains:
                i, _, j, _ = self.ports[n]
                events, pos = self.events[i], self.events[i].positions[j]
                event = self.inferences * self.ev_off[i] + m * events.count + (events.count - 1 if pos is None else pos[-1])
                last = max(last, int(self.times[event]) + 1)
            completions.append(last)
        stages = tuple(StageStats(p.name, p.node, p.iterations, int(starved[i]), int(blocked[i]))
                       for i, p in enumerate(self.order))
        fifos = tuple(FifoStats(ch.name, ch.writer.name, ch.reader.name, self.depths[ch], ch.lanes, int(peak[c]))
                      for c, ch in enumerate(self.pipeline.channels) if ch.writer is not None and ch.reader is not None)
        return SimulationResult(self.inferences, tuple(completions), stages, fifos)


def _small_pages(size: int, dtype: type) -> np.ndarray:
    """A zeroed array mapped in base pages. numpy advises huge pages for large arrays, and where the kernel's THP
    defrag setting is `madvise` it compacts memory at their faults. ResNet-50 ZCU102's FIFO sizing (four runs, three
    arrays of ~137 M entries) took 12.4 s (5.7 s of it system time) that way, and 10.7 s (2.8 s) this way, with the
    same depths."""
    nbytes = size * np.dtype(dtype).itemsize
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype) if nbytes else np.zeros(0, dtype=dtype)


def _reverse(values: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """`values` reversed in place, a chunk at a time (numpy's `values[:] = values[::-1]` copies it whole first)."""
    head, tail = 0, len(values)
    while tail - head > 1:
        n = min(chunk, (tail - head) // 2)
        front = values[head:head + n].copy()
        values[head:head + n] = values[tail - n:tail][::-1]
        values[tail - n:tail] = front[::-1]
        head, tail = head + n, tail - n
    return values


def _int64(values: np.ndarray | None) -> np.ndarray | None:
    return None if values is None else np.ascontiguousarray(values, dtype=np.int64)


def _addresses(lists: list[np.ndarray | None]) -> np.ndarray:
    """The address of each list's data (0: None), for run_core (the lists must outlive its call)."""
    return np.array([0 if a is None else a.ctypes.data for a in lists], dtype=np.int64)


def _drains(p: Process) -> bool:
    """A graph output's drain: it reads a port and writes nothing."""
    return not p.writes and any(ch.port for ch, _ in p.reads)


def feeds(p: Process) -> bool:
    """A graph input's feed: it writes a port and reads nothing (the twin of a drain, run backwards)."""
    return not p.reads and any(ch.port for ch, _ in p.writes)


def _reversed(pipeline: Pipeline, iterations: bool = True) -> tuple[Pipeline, dict]:
    """The pipeline with time reversed: every process runs its iterations from last to first, every stream
    flows from its reader to its writer, last beat first (same depths and latencies); each process and channel
    mapped to its twin. Without `iterations` the twins' ports carry empty iteration lists, for a run given every
    process's event lists (`latest_inputs`), which reads none (flipping DenseNet-121's took ~1 s)."""
    backwards = Pipeline()
    twin: dict = {ch: replace(ch, writer=None, reader=None) for ch in pipeline.channels}
    none = np.zeros(0, dtype=np.int64)
    for p in pipeline.processes:
        flip = lambda ports, last=p.iterations - 1: [(twin[ch], last - it[::-1] if iterations else none)  # noqa: E731
                                                     for ch, it in ports]
        twin[p] = replace(p, reads=flip(p.writes), writes=flip(p.reads))
    for ch in pipeline.channels:
        twin[ch].writer, twin[ch].reader = twin.get(ch.reader), twin.get(ch.writer)
    backwards.processes = [twin[p] for p in pipeline.processes]
    backwards.channels = [twin[ch] for ch in pipeline.channels]
    return backwards, twin


def simulate(module: ModuleOp, inferences: int = DEFAULT_INFERENCES) -> SimulationResult:
    """Simulate the design in `module` (folding and FIFO depths as written in its IR)."""
    return Simulator(Pipeline.of_module(module), inferences).run()
