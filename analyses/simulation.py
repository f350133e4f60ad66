"""Cycle-level simulation of the generated pipeline: bounded FIFOs, blocking reads and writes.

Model (one clock, every stage a loop nest pipelined at II=1, analyses/schedules.py): iteration j of
a process starts at t_j >= t_{j-1} + 1; it starts only when every beat it reads is in its FIFO
(written at cycle w, readable from w + 1), and its write, `latency` cycles later, needs a free slot
(beat k of a FIFO of depth D waits for beat k - D to be read). These are max-plus equations
(Kahn process networks with bounded channels, as in Parks' bounded scheduling); their least
solution is the design's timing. Only iterations that move a beat are represented (run-length:
the cycles between them advance at one per cycle), each process is solved in one vectorised pass
(a running maximum), and sweeps forward and backward over the graph repeat until nothing moves.

A design that deadlocks has no finite solution. Whether it deadlocks does not depend on timing
(each process moves its beats in a fixed order), so it is decided by counting alone: every
process runs as far as its FIFOs' contents and free slots allow, until all finish or none can move;
the stuck processes and the FIFO each waits on are the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.schedules import Channel, Pipeline, Process
from dfcc.analyses.simulation_core import run_core
from dfcc.errors import DfccError

NEVER = np.int64(-(2 ** 62))
DEFAULT_INFERENCES = 3


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


class _Flow:
    """A process's beats over all simulated inferences, as positions in its list of event iterations."""

    def __init__(self, process: Process, inferences: int):
        self.process = process
        offsets = np.arange(inferences, dtype=np.int64)[:, None] * process.iterations

        def tile(iters: np.ndarray) -> np.ndarray:
            return (offsets + iters[None, :]).ravel()

        reads = [(ch, tile(it)) for ch, it in process.reads]
        writes = [(ch, tile(it)) for ch, it in process.writes]
        every = [it for _, it in reads + writes]
        self.events = np.unique(np.concatenate(every)) if every else np.zeros(1, dtype=np.int64)
        self.reads = [(ch, np.searchsorted(self.events, it)) for ch, it in reads]
        self.writes = [(ch, np.searchsorted(self.events, it)) for ch, it in writes]
        self.times = self.events.copy()
        self.starved = self.blocked = 0


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
                 depths: dict[Channel, int] | None = None):
        if inferences < 1:
            raise DfccError(f"simulate: inferences must be at least 1, got {inferences}")
        self.pipeline = pipeline
        self.inferences = inferences
        self.depths = {ch: (depths or {}).get(ch, ch.depth) for ch in pipeline.channels}
        self.order = _order(pipeline.processes)
        self.flows = {p: _Flow(p, inferences) for p in self.order}
        self.written: dict[Channel, np.ndarray] = {}
        self.read: dict[Channel, np.ndarray] = {}

    def _solve(self, flow: _Flow) -> bool:
        """Earliest start of every event of one process given its neighbours' times; True if it moved."""
        p = flow.process
        need_r = np.full(len(flow.events), NEVER)
        need_w = np.full(len(flow.events), NEVER)
        for ch, pos in flow.reads:
            w = self.written.get(ch)
            if w is not None:
                need_r[pos] = np.maximum(need_r[pos], w + 1)
        for ch, pos in flow.writes:
            r, depth = self.read.get(ch), self.depths[ch]
            if r is not None and depth < len(pos):
                need_w[pos[depth:]] = np.maximum(need_w[pos[depth:]], r[:-depth] + 1 - p.latency)
        need = np.maximum(np.maximum(need_r, need_w), flow.events)
        times = flow.events + np.maximum.accumulate(need - flow.events)
        moved = not np.array_equal(times, flow.times)
        flow.times = times
        for ch, pos in flow.reads:
            self.read[ch] = times[pos]
        for ch, pos in flow.writes:
            self.written[ch] = times[pos] + p.latency
        if moved or not (flow.starved or flow.blocked):
            # a stall is a jump of the start time beyond one cycle per iteration; it is blamed on
            # the constraint that set it (an empty input or a full output)
            step = np.diff(times, prepend=0) - np.diff(flow.events, prepend=0)
            stalled = step > 0
            on_write = stalled & (need_w >= need_r)
            flow.blocked = int(step[on_write].sum())
            flow.starved = int(step[stalled & ~on_write].sum())
        return moved

    def run(self) -> SimulationResult:
        flows = [self.flows[p] for p in self.order]
        ports = [(f, ch, pos, False) for f in flows for ch, pos in f.reads]
        ports += [(f, ch, pos, True) for f in flows for ch, pos in f.writes]
        proc_index = {f: i for i, f in enumerate(flows)}
        chan_index = {ch: i for i, ch in enumerate(self.pipeline.channels)}
        writer_port = np.full(len(chan_index), -1, dtype=np.int64)
        reader_port = np.full(len(chan_index), -1, dtype=np.int64)
        for n, (_, ch, _, is_write) in enumerate(ports):
            (writer_port if is_write else reader_port)[chan_index[ch]] = n
        by_proc = [[n for n, port in enumerate(ports) if port[0] is f] for f in flows]
        events = [f.events for f in flows]
        ev_off = np.concatenate([[0], np.cumsum([len(e) for e in events])]).astype(np.int64)
        pos_off = np.concatenate([[0], np.cumsum([len(port[2]) for port in ports])]).astype(np.int64)
        times = np.zeros(int(ev_off[-1]), dtype=np.int64)
        pc = np.zeros(len(flows), dtype=np.int64)
        cursor = np.zeros(len(ports), dtype=np.int64)
        status = run_core(
            len(flows), ev_off, np.concatenate(events).astype(np.int64),
            np.array([f.process.latency for f in flows], dtype=np.int64),
            len(ports), np.array([proc_index[p[0]] for p in ports], dtype=np.int64),
            np.array([chan_index[p[1]] for p in ports], dtype=np.int64),
            np.array([p[3] for p in ports], dtype=np.int64), pos_off,
            np.concatenate([p[2] for p in ports]).astype(np.int64) if ports else np.zeros(0, dtype=np.int64),
            len(chan_index), np.array([self.depths[ch] for ch in chan_index], dtype=np.int64), writer_port, reader_port,
            np.concatenate([[0], np.cumsum([len(b) for b in by_proc])]).astype(np.int64),
            np.array([n for b in by_proc for n in b], dtype=np.int64), times, pc, cursor)
        if status:
            return SimulationResult(self.inferences, (), (), (), tuple(self._waits(flows, pc)))
        for i, f in enumerate(flows):
            f.times = times[ev_off[i]:ev_off[i + 1]]
            for ch, pos in f.reads:
                self.read[ch] = f.times[pos]
            for ch, pos in f.writes:
                self.written[ch] = f.times[pos] + f.process.latency
        for f in flows:
            if self._solve(f):
                raise DfccError(f"simulate: internal error, the timing of '{f.process.name}' is not a fixed point")
        return self._result()

    def _waits(self, flows: list[_Flow], pc: np.ndarray) -> list[Wait]:
        """Where each stuck process waits: the first beat it cannot read (FIFO empty) or write (full)."""
        written, taken = {}, {}
        for i, f in enumerate(flows):
            for ch, pos in f.reads:
                taken[ch] = int(np.searchsorted(pos, pc[i]))
            for ch, pos in f.writes:
                written[ch] = int(np.searchsorted(pos, pc[i]))
        waits = {}
        for i, f in enumerate(flows):
            if pc[i] >= len(f.events):
                continue
            for ch, pos in f.reads:
                if written.get(ch, 0) < len(pos) and pos[written.get(ch, 0)] == pc[i]:
                    waits[f.process] = Wait(f.process.name, f.process.node, "read", ch.name, self.depths[ch])
            for ch, pos in f.writes:
                k = taken.get(ch, 0) + self.depths[ch]
                if k < len(pos) and pos[k] == pc[i]:
                    waits[f.process] = Wait(f.process.name, f.process.node, "write", ch.name, self.depths[ch])
        return _cycle(waits, {p.name: p for p in self.order})

    def _result(self) -> SimulationResult:
        drains = [f for f in self.flows.values() if any(ch.port for ch, _ in f.process.reads) and not f.process.writes]
        if not drains:
            raise DfccError("simulate: the design has no output")
        completions = []
        for m in range(self.inferences):
            last = 0
            for f in drains:
                ch, pos = f.reads[0]
                beats = len(pos) // self.inferences
                last = max(last, int(f.times[pos[(m + 1) * beats - 1]]) + 1)
            completions.append(last)
        stages = tuple(StageStats(p.name, p.node, p.iterations, self.flows[p].starved, self.flows[p].blocked)
                       for p in self.order)
        fifos = []
        for ch in self.pipeline.channels:
            w, r = self.written.get(ch), self.read.get(ch)
            if w is None or r is None:
                continue
            # beats held just after each write: written so far minus read before that cycle
            held = np.arange(1, len(w) + 1) - np.searchsorted(r, w, side="left")
            fifos.append(FifoStats(ch.name, ch.writer.name, ch.reader.name, self.depths[ch], ch.lanes, int(held.max())))
        return SimulationResult(self.inferences, tuple(completions), stages, tuple(fifos))


def simulate(module: ModuleOp, inferences: int = DEFAULT_INFERENCES) -> SimulationResult:
    """Simulate the design in `module` (folding and FIFO depths as written in its IR)."""
    return Simulator(Pipeline.of_module(module), inferences).run()
