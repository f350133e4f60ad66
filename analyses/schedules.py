"""When each stage of the generated HLS design reads and writes its streams, per inference.

Every dfcc kernel (backends/hls/include/dfcc/*.h and the stage functions the kinds' emit_hls generate)
is a loop nest pipelined at II=1: one iteration per cycle when it is not stalled, each iteration
reading at most one beat per input stream and writing at most one beat per output stream. A
`Process` records, per stream, the iteration index of every beat it moves (one inference, in
stream order); the simulation (analyses/simulation.py) turns those into cycles.

The table `SCHEDULES` maps a node's op class to the function that builds its processes, following
the loop nests of its kernel exactly (a conv is two processes, as conv.h is: the sliding window
generator and the MAC loop, joined by their internal stream). `Pipeline.of_module` walks the graph
as the emitter does, with the same lanes on every stream and a lane converter (`dfcc::lanes`)
wherever a producer's lanes differ from what its consumer reads.

A zero-skipping stage's timing depends on the data: each of its processing elements takes the
expected cycles the cost model gives it (the expectation over the calibration data the IR's
`dataflow.zero_histogram` records), spread over the inference in the order the kernel visits them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from dfcc import kinds as df
from dfcc.dialects.dataflow import NodeOp
from dfcc.errors import DfccError
from dfcc.kinds.conv import (
    beat_steps, channel_folding, held_beats, held_image, held_input_beats, mac_filters, tile_pixels_read, window_depth,
    winograd_geometry, winograd_pairs,
)
from dfcc.kinds.linear import linear_rows
from dfcc.kinds.map import iteration_grid, padded_shape
from dfcc.kinds.sink import sink_lanes
from dfcc.kinds.source import port_lanes
from dfcc.kinds.sparse_conv import pair_histogram, pe_work
from dfcc.kinds.window import WindowOp
from dfcc.hardware.cycles import PIPELINED_LOOP_LATENCY, lane_conversion_steps
from dfcc.hardware.offchip import DDR_BURST, DRAM_LATENCY_CYCLES, ring_bursts, row_ring_tokens

HLS_DEFAULT_DEPTH = 2  # Vitis HLS: depth of a stream without a STREAM pragma (kernel-internal streams)
SPARSE_QUEUE = 8  # include/dfcc/sparse_conv.h: the queue in front of and behind each PE


@dataclass(eq=False)
class Channel:
    """One hls::stream of the design: `beats` words of `lanes` elements per inference."""

    name: str
    lanes: int
    depth: int  # in beats, as the STREAM pragma gives it
    beats: int
    value: SSAValue | None = None  # the IR stream it carries (None for kernel-internal streams)
    writer: Process | None = None
    reader: Process | None = None
    port: bool = False  # a top-level AXI port (graph input or output): no FIFO of ours
    elastic: bool = False  # written from a DRAM ring holding a whole inference: its writer may wait on it freely


@dataclass(eq=False)
class Process:
    """One pipelined loop nest: `iterations` per inference, and the iteration of every beat it moves."""

    name: str
    node: str  # the IR node it realises
    iterations: int
    reads: list[tuple[Channel, np.ndarray]] = field(default_factory=list)
    writes: list[tuple[Channel, np.ndarray]] = field(default_factory=list)
    latency: int = PIPELINED_LOOP_LATENCY  # cycles from an iteration's start to its write


def _every(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


def _grid_where(mask: np.ndarray) -> np.ndarray:
    """Flat (row-major) iteration indices where `mask` holds."""
    return np.flatnonzero(mask.ravel()).astype(np.int64)


class Pipeline:
    """The processes and channels of one design, built node by node in IR (topological) order."""

    def __init__(self):
        self.processes: list[Process] = []
        self.channels: list[Channel] = []
        self._streams: dict[SSAValue, Channel] = {}
        self._sources: dict[SSAValue, df.SourceOp] = {}
        self._names: dict[str, set[str]] = {"process": set(), "channel": set()}

    @staticmethod
    def of_module(module: ModuleOp) -> Pipeline:
        pipeline = Pipeline()
        mains = [op for op in module.walk() if isinstance(op, func.FuncOp) and op.sym_name.data == "main"]
        if not mains:
            raise DfccError("no function @main in the module: run lower-to-dataflow first")
        for op in mains[0].body.block.ops:
            if isinstance(op, (func.ReturnOp, df.WeightsOp, df.SparseWeightsOp)):
                continue
            build = SCHEDULES.get(type(op))
            if build is None:
                raise DfccError(f"simulate: no schedule for '{op.name}' (node "
                                f"'{getattr(op, 'node_name', None) and op.node_name.data}'); run lower-to-dataflow first")
            build(pipeline, op)
        if pipeline._sources:
            raise DfccError("simulate: a graph input is not read by any node")
        return pipeline

    # -- building blocks used by the schedules

    def unique(self, base: str, kind: str) -> str:
        names, name, n = self._names[kind], base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.add(name)
        return name

    def process(self, name: str, node: str, iterations: int) -> Process:
        p = Process(self.unique(name, "process"), node, iterations)
        self.processes.append(p)
        return p

    def channel(self, name: str, lanes: int, beats: int, depth: int = HLS_DEFAULT_DEPTH,
                value: SSAValue | None = None) -> Channel:
        ch = Channel(self.unique(name, "channel"), lanes, depth, beats, value)
        self.channels.append(ch)
        return ch

    def output(self, value: SSAValue, lanes: int, name: str | None = None) -> Channel:
        """The channel a node writes for its result `value` (the IR depth of its type)."""
        ch = self.channel(name or f"s_{_node_name(value.owner)}", lanes, value.type.num_elements // lanes,
                          value.type.depth.data, value)
        self._streams[value] = ch
        return ch

    def alias(self, value: SSAValue, channel: Channel) -> None:
        """`value` travels on an existing channel (reshapes: same words, same order)."""
        self._streams[value] = channel

    def producer_lanes(self, value: SSAValue) -> int:
        ch = self._streams.get(value)
        return ch.lanes if ch is not None else 1

    def read(self, value: SSAValue, lanes: int, consumer: str) -> Channel:
        """The channel carrying `value` in `lanes` lanes, with lane converters as the emitter inserts them."""
        if value in self._sources:  # a graph input port: its consumer's lanes, or `pixels` whole pixels
            source = self._sources.pop(value)
            width = port_lanes(source) or lanes
            beats = value.type.num_elements // width
            ch = self.channel(f"{source.node_name.data}", width, beats, HLS_DEFAULT_DEPTH, value)
            ch.port = True
            self._streams[value] = ch
            # the DMA feeding the port: one beat per cycle
            feed = self.process(source.node_name.data, source.node_name.data, beats)
            self.write(feed, ch, _every(beats))
            feed.latency = 0
        ch = self._streams.get(value)
        if ch is None:
            raise DfccError(f"simulate: stream read by '{consumer}' has no producer")
        if ch.lanes == lanes:
            return ch
        n = ch.beats * ch.lanes
        for p in lane_conversion_steps(ch.lanes, lanes):
            out = self.channel(f"{consumer}_in{p}", p, n // p)
            # dfcc::lanes (vec.h): N/min(P1,P2) iterations, a read when a wide input beat starts,
            # a write when a wide output beat is complete
            step = min(ch.lanes, p)
            i = _every(n // step)
            conv = self.process(out.name, consumer, n // step)
            self.read_at(conv, ch, i[(i * step) % ch.lanes == 0])
            self.write(conv, out, i[(i * step) % p + step == p])
            ch = out
        return ch

    def read_at(self, process: Process, channel: Channel, iterations: np.ndarray) -> None:
        if channel.reader is not None:
            raise DfccError(f"simulate: stream '{channel.name}' is read by two stages "
                            f"('{channel.reader.name}', '{process.name}'); run lower-to-dataflow (explicit forks)")
        channel.reader = process
        process.reads.append((channel, iterations))

    def write(self, process: Process, channel: Channel, iterations: np.ndarray) -> None:
        channel.writer = process
        process.writes.append((channel, iterations))


def _node_name(op: Operation) -> str:
    return op.node_name.data if isinstance(op, NodeOp) else op.name


def _prod(values) -> int:
    return int(math.prod(values))


# ---- the schedules, one per node kind

def _source(p: Pipeline, op: df.SourceOp) -> None:
    p._sources[op.output] = op  # built when its consumer reads it (the port takes that many lanes)


def _sink(p: Pipeline, op: df.SinkOp) -> None:
    ch = p.read(op.input, sink_lanes(op) or p.producer_lanes(op.input), op.node_name.data)
    ch.port = True
    # the DMA draining the output port: one beat per cycle
    drain = p.process(op.node_name.data, op.node_name.data, ch.beats)
    p.read_at(drain, ch, _every(ch.beats))
    drain.latency = 0


def _sliding_window(p: Pipeline, op: WindowOp, lanes: int, source: Channel | None = None,
                    depth: int = HLS_DEFAULT_DEPTH, geometry=None) -> Channel:
    """window.h: walks the padded input (HP x WP x C/P iterations), reads inside the image, emits a
    window at every origin on the stride grid into a stream `depth` deep; it reads `source`, else the node's input;
    `geometry` (kernel, stride, dilation, pads) replaces the op's (conv.h conv_wino's walk)."""
    name = op.node_name.data
    _, h, w, c = op.input.type.get_shape()
    (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = geometry or op.window_geometry()
    hp, wp, cb = h + pt + pb, w + pl + pr, c // lanes
    kre, kce = dr * (kr - 1) + 1, dc * (kc - 1) + 1
    x = source or p.read(op.input, lanes, name)
    rows, cols = np.arange(hp)[:, None], np.arange(wp)[None, :]
    inside = (rows >= pt) & (rows < pt + h) & (cols >= pl) & (cols < pl + w)
    r0, c0 = rows - (kre - 1), cols - (kce - 1)
    emits = (r0 >= 0) & (c0 >= 0) & (r0 % sr == 0) & (c0 % sc == 0)
    per_pixel = np.arange(cb)[None, :]
    gen = p.process(f"{name}.window", name, hp * wp * cb)
    p.read_at(gen, x, (_grid_where(inside)[:, None] * cb + per_pixel).ravel())
    windows = p.channel(f"{name}_windows", lanes, int(emits.sum()) * cb, depth=depth)
    p.write(gen, windows, (_grid_where(emits)[:, None] * cb + per_pixel).ravel())
    return windows


def _ddr_rows_window(p: Pipeline, op: df.ConvOp, lanes: int) -> Channel:
    """ddr_rows.h: ddr_write stores the input in a DRAM ring (a beat per iteration) and sends a token per
    burst; per output row and tile of BURST beats of a row, ddr_rows_read takes the tokens up to the tile's
    lowest row (one an iteration), reads a burst of each of the KR rows, then emits the tile's column beats,
    and takes the tokens left at the end; column_window walks each output row's padded columns, reading a
    column beat inside the image and emitting a window on the stride grid."""
    name = op.node_name.data
    _, h, w, c = op.input.type.get_shape()
    ho = op.output.type.get_shape()[1]
    (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
    cb = c // lanes
    row, beats = w * cb, h * w * cb
    tokens = -(-beats // DDR_BURST)
    x = p.read(op.input, lanes, name)
    ring = p.channel(f"{name}_bursts", 1, tokens, depth=max(1, row_ring_tokens(h, row, ho, kr, sr, dr, pt)))
    writer = p.process(f"{name}.ring_write", name, beats)
    p.read_at(writer, x, _every(beats))
    p.write(writer, ring, np.minimum(_every(tokens) * DDR_BURST + DDR_BURST, beats) - 1)
    tiles = [(o, t, min(DDR_BURST, row - t)) for o in range(ho) for t in range(0, row, DDR_BURST)]
    last = [min(o * sr - pt + (kr - 1) * dr, h - 1) for o, _, _ in tiles]
    need = np.maximum.accumulate([-(-(lr * row + t + n) // DDR_BURST) if lr >= 0 else 0
                                  for lr, (_, t, n) in zip(last, tiles)])  # tokens taken by each tile
    new = np.diff(need, prepend=0)
    sizes = new + np.array([(kr + 1) * n for _, _, n in tiles])
    start = np.cumsum(np.concatenate([[0], sizes]))  # each tile's first iteration; the drain after the last
    reader = p.process(f"{name}.rows", name, int(start[-1]) + tokens - int(need[-1]))
    reader.latency = DRAM_LATENCY_CYCLES
    reads = np.concatenate([start[i] + np.arange(k) for i, k in enumerate(new)] + [start[-1] + np.arange(tokens - need[-1])])
    p.read_at(reader, ring, reads.astype(np.int64))
    columns = p.channel(f"{name}_columns", kr * lanes, ho * row)
    p.write(reader, columns, np.concatenate([start[i] + new[i] + kr * n + np.arange(n)
                                             for i, (_, _, n) in enumerate(tiles)]).astype(np.int64))
    wp = w + pl + pr
    cols = np.arange(wp)[:, None]
    c0 = cols - dc * (kc - 1)
    inside = np.broadcast_to((cols >= pl) & (cols < pl + w), (wp, cb))
    emits = np.broadcast_to((c0 >= 0) & (c0 % sc == 0), (wp, cb))
    gen = p.process(f"{name}.window", name, ho * wp * cb)
    p.read_at(gen, columns, _grid_where(np.tile(inside, (ho, 1))))
    windows = p.channel(f"{name}_windows", lanes, ho * int(emits.sum()))
    p.write(gen, windows, _grid_where(np.tile(emits, (ho, 1))))
    return windows


def _conv(p: Pipeline, op: df.ConvOp) -> None:
    if op.int_prop("pixels") > 1:
        _conv_px(p, op)
        return
    if op.int_prop("tile") > 1:
        _conv_tiled(p, op)
        return
    if op.int_prop("winograd") > 1:
        _conv_wino(p, op)
        return
    name = op.node_name.data
    _, _, _, c = op.input.type.get_shape()
    _, ho, wo, f = op.output.type.get_shape()
    (kr, kc), _, _, _ = op.window_geometry()
    groups = op.groups.value.data
    cg, fg = c // groups, f // groups
    li, lo = df.kind_of(op).stream_lanes(op)
    co = mac_filters(op, op.folding())
    windows = (_ddr_rows_window(p, op, li) if op.line_buffer_off_chip() else
               _sliding_window(p, op, li, depth=window_depth(op, channel_folding(op.folding()))))
    # conv.h conv_mac: pix x C/CI beats x NF filter steps x ceil(K/FINE) steps; a window read at the
    # first step of each beat, an output beat written at the last position step of the group's last
    # beat's filter step computing its last filter (every filter step when CO = LO)
    k, fine = kr * kc, op.int_prop("fine")
    bpg = cg // li if cg > li else 1
    gpb = li // cg if li > cg else 1
    nf, kf, cb = -(-gpb * fg // co), -(-k // fine), c // li
    mac = p.process(f"{name}.mac", name, ho * wo * cb * nf * kf)
    beats = _every(ho * wo * cb)
    p.read_at(mac, windows, beats * nf * kf)
    last = beats[beats % cb % bpg == bpg - 1]
    y = p.output(op.output, lo)
    p.write(mac, y, ((last[:, None] * nf + beat_steps(gpb * fg, co, lo)[None, :]) * kf + kf - 1).ravel())


def _conv_wino(p: Pipeline, op: df.ConvOp) -> None:
    """conv.h conv_wino: window.h's walk emitting a window of 4 columns a pair of output columns
    (`winograd_geometry`), conv_mac_wino's loop nest as conv_mac's over pairs (ungrouped: C/CI beats x NF filter
    steps x ceil(K/FINE) steps a pair, a beat of both pixels written at the step computing its last filter), then
    conv_pair_split: an iteration an output beat, reading a pair's beat at each beat of its first pixel."""
    name = op.node_name.data
    c = op.input.type.get_shape()[3]
    _, ho, wo, f = op.output.type.get_shape()
    (kr, kc), _, (dr, _), _ = op.window_geometry()
    kernel, stride, pads = winograd_geometry(op)
    li, lo = df.kind_of(op).stream_lanes(op)
    co = mac_filters(op, op.folding())
    windows = _sliding_window(p, op, li, depth=window_depth(op, channel_folding(op.folding())),
                              geometry=(kernel, stride, (dr, 1), pads))
    nf, kf, cb, nb = -(-f // co), -(-(kr * kc) // op.int_prop("fine")), c // li, f // lo
    pairs = winograd_pairs(op)
    mac = p.process(f"{name}.mac", name, pairs * cb * nf * kf)
    beats = _every(pairs * cb)
    p.read_at(mac, windows, beats * nf * kf)
    last = beats[beats % cb == cb - 1]
    both = p.channel(f"{name}_pairs", 2 * lo, pairs * nb)
    p.write(mac, both, ((last[:, None] * nf + beat_steps(f, co, lo)[None, :]) * kf + kf - 1).ravel())
    split = p.process(f"{name}.split", name, ho * wo * nb)
    i = _every(ho * wo * nb)
    p.read_at(split, both, i[i // nb % wo % 2 == 0])
    p.write(split, p.output(op.output, lo), i)


def _sliding_window_px(p: Pipeline, op: WindowOp, px: int) -> Channel:
    """window.h sliding_window_px: per padded row ceil(WP/P) steps of P columns; a step reads the
    beat holding its last column while that is in the image, and emits the group of P windows whose
    last column falls in it (on the row stride grid)."""
    name = op.node_name.data
    _, h, w, c = op.input.type.get_shape()
    wo = op.output.type.get_shape()[2]
    (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
    hp, steps = h + pt + pb, -(-(w + pl + pr) // px)
    kre, kce = dr * (kr - 1) + 1, dc * (kc - 1) + 1
    x = p.read(op.input, px * c, name)
    rows, step = np.arange(hp)[:, None], np.arange(steps)[None, :]
    need = step * px - pl + px - 1  # the input column whose beat a step reads
    reads = (rows >= pt) & (rows < pt + h) & (need >= 0) & (need < w)
    last = (np.arange(wo // px) * px + px - 1) * sc + kce - 1  # each group's last padded column
    r0 = rows - (kre - 1)
    emits = np.zeros((hp, steps), dtype=bool)
    emits[:, last // px] = (r0 >= 0) & (r0 % sr == 0)
    gen = p.process(f"{name}.window", name, hp * steps)
    p.read_at(gen, x, _grid_where(reads))
    windows = p.channel(f"{name}_windows", px * c, int(emits.sum()))
    p.write(gen, windows, _grid_where(emits))
    return windows


def _conv_px(p: Pipeline, op: df.ConvOp) -> None:
    """conv.h conv_px: the window generator above, then conv_mac over groups of P output columns
    (whole pixels: one input beat and one output beat per group), ceil(K/FINE) steps each; a window read
    at the first step, the P pixels written at the last."""
    px = op.int_prop("pixels")
    windows = _sliding_window_px(p, op, px)
    (kr, kc), _, _, _ = op.window_geometry()
    kf = -(-(kr * kc) // op.int_prop("fine"))
    mac = p.process(f"{op.node_name.data}.mac", op.node_name.data, windows.beats * kf)
    groups = _every(windows.beats) * kf
    p.read_at(mac, windows, groups)
    p.write(mac, p.output(op.output, px * op.output.type.get_shape()[-1]), groups + kf - 1)


def _conv_tiled(p: Pipeline, op: df.ConvOp) -> None:
    """conv.h conv_tiled: a copy into the FIFO holding a tile's share of the input (of the pixels its windows read,
    `held_input_beats`), then per tile of R output pixels an iteration for each held beat it adds to its buffer,
    C/CI*F/CO*ceil(K/FINE)*R MAC iterations, and R*F/CO iterations writing its pixels; then the held beats no
    window reads, dropped. Writing a tile-major stream (conv_tiled_tm_out): no store, each filter step's beats of
    the tile written at its last input beat's last position step, one a pixel."""
    if op.input.type.order is not None:
        _conv_point_tm_in(p, op)
        return
    name = op.node_name.data
    (*_, c), (_, ho, wo, f) = op.input.type.get_shape(), op.output.type.get_shape()
    h, w, *_ = held_image(op)
    (kr, kc), _, _, _ = op.window_geometry()
    li, lo = df.kind_of(op).stream_lanes(op)
    x = p.read(op.input, li, name)
    r = op.int_prop("tile")
    kept = held_input_beats(op, li)
    held = p.channel(f"{name}_held", li, len(kept), depth=held_beats(op, li, r))
    copy = p.process(f"{name}.hold", name, x.beats)
    p.read_at(copy, x, _every(x.beats))
    p.write(copy, held, kept)
    cb, nf, kf = c // li, f // lo, -(-(kr * kc) // op.int_prop("fine"))
    tile_major = op.output.type.order is not None
    mac, store = r * cb * nf * kf, 0 if tile_major else r * nf
    through = tile_pixels_read(op, r) * cb  # input beats read once each tile's are in
    loads = np.diff(through, prepend=0)
    starts = np.cumsum(np.concatenate([[0], (loads + mac + store)[:-1]]))  # each tile's first iteration
    tail = h * w * cb - int(through[-1])
    process = p.process(f"{name}.mac", name, int(starts[-1] + loads[-1] + mac + store) + tail)
    reads = np.concatenate([s + np.arange(n) for s, n in zip(starts, loads)] +
                           [process.iterations - tail + np.arange(tail)]).astype(np.int64)
    p.read_at(process, held, reads)
    # the last tile's pixels past the image (a tile not dividing them) write nothing
    pixels = np.minimum(r, ho * wo - r * np.arange(len(starts)))
    if tile_major:  # filter step fo's beat of pixel q at (fo, bt = CB-1, t = KF-1, q) of the tile's MAC loop
        fo, q = np.divmod(_every(nf * r), r)
        p.write(process, p.output(op.output, lo), ((starts + loads)[:, None] + (
            ((fo * cb + cb - 1) * kf + kf - 1) * r + q)[None, :])[q[None, :] < pixels[:, None]])
        return
    p.write(process, p.output(op.output, lo), ((starts + loads + mac)[:, None] + _every(store)[None, :])[
        np.arange(store)[None, :] < (pixels * nf)[:, None]])


def _conv_point_tm_in(p: Pipeline, op: df.ConvOp) -> None:
    """conv.h conv_point_tm_in: per tile of R output pixels, C/CI blocks of S^2 x R iterations reading the block's
    beats of the tile's input pixels (the first filter step's MACs on those kept) and F/CO - 1 filter steps of R
    iterations; then, pixel-major, R*F/CO iterations writing the tile's pixels, or, tile-major, each filter step's
    beats of the tile written in the last block's (one a kept pixel). The last tile's pixels past the image read and
    write nothing."""
    name = op.node_name.data
    (_, h, w, c), (_, ho, wo, f) = op.input.type.get_shape(), op.output.type.get_shape()
    li, lo = df.kind_of(op).stream_lanes(op)
    x = p.read(op.input, li, name)
    r, cb, nf, pix, s = op.int_prop("tile"), c // li, f // lo, ho * wo, op.ints_prop("stride")[0]
    tiles, read = -(-pix // r), s * s * r
    tile_major = op.output.type.order is not None
    per_block = read + (nf - 1) * r
    per_tile = cb * per_block + (0 if tile_major else r * nf)
    process = p.process(f"{name}.mac", name, tiles * per_tile)
    starts = _every(tiles) * per_tile
    bt, i = np.divmod(_every(cb * read), read)
    p.read_at(process, x, (starts[:, None] + (bt * per_block + i)[None, :])[
        (read * _every(tiles))[:, None] + i[None, :] < h * w])
    pixels = np.minimum(r, pix - r * _every(tiles))
    if tile_major:
        fo, q = np.divmod(_every(nf * r), r)
        kept_at = q // wo * s * w + q % wo * s if s > 1 else q  # the first step's iteration reading output pixel q
        step = np.where(fo == 0, kept_at, read + (fo - 1) * r + q)
        writes = (starts[:, None] + ((cb - 1) * per_block + step)[None, :])[q[None, :] < pixels[:, None]]
    else:
        j = _every(r * nf)
        writes = (starts[:, None] + cb * per_block + j[None, :])[(j // nf)[None, :] < pixels[:, None]]
    p.write(process, p.output(op.output, lo), writes)


def _pe_timeline(steps: np.ndarray, pixels: int, beats_per_group: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One PE of sparse_conv.h: per pixel and slot t it reads a window, then for each output beat fo
    spends that step's expected cycles (`steps[t, fo]`, summed over the inference and rounded to whole
    cycles), writing a partial sum after a group's last slot. (read iterations, write iterations, iterations).

    The events keep the kernel's order; a stream moves at most one beat per iteration (a write may share
    the iteration of the read before it), so events of steps too short to hold them move later, or,
    at the end of the inference, earlier."""
    beats, nf = steps.shape
    bounds = np.rint(np.concatenate([[0.0], np.cumsum(np.tile(steps.ravel(), pixels))])).astype(np.int64)
    # one pixel's events: (slot, -1) reads the slot's window, (slot, fo) writes output beat fo's partial
    events = [(t, fo) for t in range(beats)
              for fo in (-1, *(range(nf) if t % beats_per_group == beats_per_group - 1 else ()))]
    slot, fo = np.array(events).T
    step = (np.arange(pixels)[:, None] * beats + slot[None, :]) * nf + np.maximum(fo, 0)[None, :]
    is_read = np.tile(fo < 0, pixels)
    target = np.where(is_read, bounds[step.ravel()], np.maximum(bounds[step.ravel() + 1] - 1, bounds[step.ravel()]))
    # y_e >= max(target_e, y_{e-1} + gap_e): the max-plus scan y = G + running max of (target - G)
    gap = np.ones(len(target), dtype=np.int64)
    gap[0] = 0
    gap[1:][~is_read[1:] & is_read[:-1]] = 0
    g = np.cumsum(gap)
    total = max(int(bounds[-1]), int(g[-1]) + 1)
    at = np.minimum(g + np.maximum.accumulate(target - g), total - 1 - (g[-1] - g))
    return at[is_read], at[~is_read], total


def _zero_skipping(p: Pipeline, op: NodeOp, windows: Channel, pixels: int, groups: int, fine: int) -> None:
    """sparse_conv.h after its sliding window: the deal, one process per PE (input lane x output lane)
    with the expected work the cost model gives it (kinds/sparse_conv.py `pe_work`), and the glue."""
    name = op.node_name.data
    lanes_in, lanes_out = df.kind_of(op).stream_lanes(op)
    work = pe_work(pair_histogram(op), groups, lanes_in, lanes_out, fine)
    pes, beats, nf = work.steps.shape
    permute = int(not np.array_equal(work.slots, np.arange(work.slots.size).reshape(work.slots.shape)))
    # sparse_deal: one window beat per iteration to every PE's queue, a pixel later when it permutes
    deal = p.process(f"{name}.deal", name, (pixels + permute) * beats)
    moves = _every(pixels * beats)
    p.read_at(deal, windows, moves)
    outputs = pixels * (beats // work.beats_per_group) * nf
    glue = p.process(f"{name}.glue", name, outputs)
    for q in range(pes):
        queue = p.channel(f"{name}_pe{q}_in", 1, pixels * beats, SPARSE_QUEUE)
        p.write(deal, queue, moves + permute * beats)
        reads, writes, iterations = _pe_timeline(work.steps[q], pixels, work.beats_per_group)
        pe = p.process(f"{name}.pe{q}", name, iterations)
        p.read_at(pe, queue, reads)
        part = p.channel(f"{name}_pe{q}_out", 1, outputs, SPARSE_QUEUE)
        p.write(pe, part, writes)
        # sparse_glue: one output beat per iteration, summing a partial of every PE
        p.read_at(glue, part, _every(outputs))
    p.write(glue, p.output(op.output, lanes_out), _every(outputs))


def _sparse_conv(p: Pipeline, op: df.SparseConvOp) -> None:
    windows = _sliding_window(p, op, df.kind_of(op).stream_lanes(op)[0])
    _, ho, wo, _ = op.output.type.get_shape()
    _zero_skipping(p, op, windows, ho * wo, op.groups.value.data, op.int_prop("fine"))


def _sparse_linear(p: Pipeline, op: df.SparseLinearOp) -> None:
    name = op.node_name.data
    x = p.read(op.input, df.kind_of(op).stream_lanes(op)[0], name)
    # kinds/sparse_linear.py: sparse_conv.h with a 1x1 window over rows x 1 pixels, one window per beat
    gen = p.process(f"{name}.window", name, x.beats)
    p.read_at(gen, x, _every(x.beats))
    windows = p.channel(f"{name}_windows", x.lanes, x.beats)
    p.write(gen, windows, _every(x.beats))
    _zero_skipping(p, op, windows, linear_rows(op), 1, 1)


def _pool(p: Pipeline, op: df.PoolOp) -> None:
    lanes, _ = df.kind_of(op).stream_lanes(op)
    px = op.int_prop("pixels")
    windows = _sliding_window(p, op, lanes) if px == 1 else _sliding_window_px(p, op, px)
    # pool.h (and its _px forms): one window in, one beat out per iteration
    stage = p.process(f"{op.node_name.data}.pool", op.node_name.data, windows.beats)
    p.read_at(stage, windows, _every(windows.beats))
    if op.output.type.order is None:
        p.write(stage, p.output(op.output, lanes), _every(windows.beats))
        return
    pooled = p.channel(f"{op.node_name.data}_px", lanes, windows.beats)
    p.write(stage, pooled, _every(windows.beats))
    # pool.h tile_major_out: per tile n (and one more) R*C/P iterations, tile n's beats read, tile n - 1's written
    tile, beats = op.output.type.order[0], op.output.type.get_shape()[-1] // lanes
    tiles = -(-windows.beats // (tile * beats))
    reorder = p.process(f"{op.node_name.data}.reorder", op.node_name.data, (tiles + 1) * tile * beats)
    p.read_at(reorder, pooled, _every(windows.beats))  # beat k of the image at iteration k, written a tile later
    p.write(reorder, p.output(op.output, lanes), _every(windows.beats) + tile * beats)


def _linear(p: Pipeline, op: df.LinearOp) -> None:
    name = op.node_name.data
    c, f = op.input.type.get_shape()[-1], op.output.type.get_shape()[-1]
    rows = op.input.type.num_elements // c
    ci, co = df.kind_of(op).stream_lanes(op)
    x = p.read(op.input, ci, name)
    # linear.h: rows x C/CI x F/CO; read at fo == 0, write in the last input beat of a row
    cb, fo = c // ci, f // co
    stage = p.process(name, name, rows * cb * fo)
    p.read_at(stage, x, _every(rows * cb) * fo)
    last = _every(rows) * cb + cb - 1
    p.write(stage, p.output(op.output, co), (last[:, None] * fo + np.arange(fo)[None, :]).ravel())


def _embedding(p: Pipeline, op: df.EmbeddingOp) -> None:
    name = op.node_name.data
    tokens, width = op.input.type.num_elements, op.output.type.get_shape()[-1]
    _, coarse = df.kind_of(op).stream_lanes(op)
    ids = p.read(op.input, 1, name)
    # kinds/embedding.py emit_hls: tokens x width/coarse; an id read at a row's first beat, a beat written every iteration
    beats = width // coarse
    stage = p.process(name, name, tokens * beats)
    p.read_at(stage, ids, _every(tokens) * beats)
    p.write(stage, p.output(op.output, coarse), _every(stage.iterations))


def _matmul(p: Pipeline, op: df.MatmulOp) -> None:
    name = op.node_name.data
    outer, m, inner, k, n = op.stage_dims()
    ci, co = df.kind_of(op).stream_lanes(op)
    a = p.read(op.lhs, ci, name)
    b = p.read(op.rhs, df.kind_of(op).read_lanes(op, op.rhs), name)
    # linear.h matmul: per block of I batch entries, matmul_load (I x K x N / RL iterations) and
    # matmul_rows (M x I x K/CI x N/CO), two DATAFLOW processes around a ping-pong buffer: a block's
    # rows start once it is loaded (`loaded`: written at the load's end, read at the block's first
    # row), and a load starts once the rows two blocks back have released its buffer (`held`, one
    # token per buffer: written at the load's start, read at the block's last row)
    load, nb, kb, rows = b.beats // outer, n // co, k // ci, m * inner
    per_block = rows * kb * nb
    loader = p.process(f"{name}_load", name, outer * load)
    p.read_at(loader, b, _every(outer * load))
    stage = p.process(name, name, outer * per_block)
    starts = _every(outer)[:, None] * per_block
    for tag, written, read in (("loaded", load - 1, 0), ("held", 0, per_block - 1)):
        token = p.channel(f"{name}_{tag}", 1, outer, 2)
        p.write(loader, token, _every(outer) * load + written)
        p.read_at(stage, token, starts[:, 0] + read)
    a_beats = (np.arange(rows)[:, None] * kb + np.arange(kb)[None, :]).ravel() * nb
    p.read_at(stage, a, (starts + a_beats[None, :]).ravel())
    outs = ((np.arange(rows) * kb + kb - 1)[:, None] * nb + np.arange(nb)[None, :]).ravel()
    p.write(stage, p.output(op.output, co), (starts + outs[None, :]).ravel())


def _fork(p: Pipeline, op: df.ForkOp) -> None:
    name = op.node_name.data
    lanes, _ = df.kind_of(op).stream_lanes(op)
    x = p.read(op.input, lanes, name)
    # fork.h fork_each: one beat in, one copy out on every output, per iteration
    stage = p.process(name, name, x.beats)
    p.read_at(stage, x, _every(x.beats))
    for i, result in enumerate(op.outputs):
        p.write(stage, p.output(result, lanes, f"s_{name}_{i}"), _every(x.beats))


def _map(p: Pipeline, op: df.MapOp) -> None:
    name = op.node_name.data
    out_shape = list(op.output.type.get_shape())
    rank = len(out_shape)
    kind = df.kind_of(op)
    _, lanes = kind.stream_lanes(op)
    grid = iteration_grid(op)  # one beat per iteration (P pixels per beat: the width in steps of P)
    stage = p.process(name, name, _prod(grid))
    for value in op.inputs:
        shape = padded_shape(value, rank)
        x = p.read(value, kind.read_lanes(op, value), name)
        # kinds/map.py emit_hls: a full input is read every iteration; a broadcast one the first
        # time each of its elements is needed (all broadcast dims at index 0)
        mask = np.zeros(grid, dtype=bool)
        mask[tuple(0 if shape[d] == 1 and out_shape[d] > 1 else slice(None) for d in range(rank))] = True
        p.read_at(stage, x, _grid_where(mask))
    p.write(stage, p.output(op.output, lanes), _every(stage.iterations))


def _reduce(p: Pipeline, op: df.ReduceOp) -> None:
    name = op.node_name.data
    shape = list(op.input.type.get_shape())
    rank = len(shape)
    dims = sorted(set(op.ints_prop("dims")))
    dims = [d for d in dims if shape[d] > 1] or dims
    lanes, lanes_out = df.kind_of(op).stream_lanes(op)
    last_reduced = rank - 1 in dims and shape[-1] > 1
    x = p.read(op.input, lanes, name)
    grid = shape[:-1] + [shape[-1] // op.int_prop("coarse")]
    if op.int_prop("pixels") > 1:  # P whole pixels a beat: the width in steps of P (kinds/reduce.py pixels_stage)
        grid[2] //= op.int_prop("pixels")
    # kinds/reduce.py emit_hls: reads every beat, writes when the reduced dims reach their last index
    mask = np.zeros(grid, dtype=bool)
    mask[tuple(grid[d] - 1 if d in dims and (d < rank - 1 or last_reduced) else slice(None) for d in range(rank))] = True
    stage = p.process(name, name, _prod(grid))
    p.read_at(stage, x, _every(stage.iterations))
    p.write(stage, p.output(op.output, lanes_out), _grid_where(mask))


def _reshape(p: Pipeline, op: df.ReshapeOp) -> None:
    # no hardware: the same words in the same order (kinds/reshape.py), in its folding's lanes
    lanes, _ = df.kind_of(op).stream_lanes(op)
    p.alias(op.output, p.read(op.input, lanes, op.node_name.data))


def _transpose(p: Pipeline, op: df.TransposeOp) -> None:
    name = op.node_name.data
    pi, po = df.kind_of(op).stream_lanes(op)
    if len(op.moved_dim_groups()) <= 1:  # the element order does not change (kinds/transpose.py: a relabelling)
        p.alias(op.output, p.read(op.input, pi, name))
        return
    x = p.read(op.input, pi, name)
    # transpose.h: the whole tensor written (N/PI iterations), then read out (N/PO iterations), PI = PO
    n = op.input.type.num_elements
    stage = p.process(name, name, n // pi + n // po)
    p.read_at(stage, x, _every(n // pi))
    p.write(stage, p.output(op.output, po), n // pi + _every(n // po))


def _concat_pixels(p: Pipeline, op: df.ConcatOp) -> None:
    name, k, px = op.node_name.data, op.pixel_beats(), op.int_prop("pixels")
    beats = op.output.type.num_elements // op.output.type.get_shape()[-1] // px  # of P whole pixels each
    left, ka = p.read(op.inputs[0], px * op.inputs[0].type.get_shape()[-1] // k, name), k
    for i, value in enumerate(op.inputs[1:], start=1):
        right = p.read(value, px * value.type.get_shape()[-1] // k, name)
        lanes = ka * left.lanes + k * right.lanes
        # concat.h concat_pixels (kinds/concat.py): per pixel K iterations, a read while j < KA, b while
        # j < KB, a write at the last; concat_pixels_px (K = 1): per beat of P pixels, a, b and a write
        stage = p.process(name if len(op.inputs) == 2 else f"{name}.part{i}", name, beats * k)
        j = _every(beats * k)
        p.read_at(stage, left, j[j % k < ka])
        p.read_at(stage, right, j)
        out = p.output(op.output, lanes) if i == len(op.inputs) - 1 else p.channel(f"s_{name}_part{i}", lanes, beats)
        p.write(stage, out, j[j % k == k - 1])
        left, ka = out, 1


def _concat(p: Pipeline, op: df.ConcatOp) -> None:
    if op.side_by_side():
        _concat_pixels(p, op)
        return
    name = op.node_name.data
    axis = op.axis.value.data
    out_shape = op.output.type.get_shape()
    lanes, _ = df.kind_of(op).stream_lanes(op)
    outer = _prod(out_shape[:axis])
    left = p.read(op.inputs[0], lanes, name)
    left_words = _prod(op.inputs[0].type.get_shape()[axis:])
    for k, value in enumerate(op.inputs[1:], start=1):
        right = p.read(value, lanes, name)
        words = _prod(value.type.get_shape()[axis:])
        a, b = left_words // lanes, words // lanes
        # concat.h concat_blocks: per outer index, A beats of a then B beats of b, one out each
        stage = p.process(name if len(op.inputs) == 2 else f"{name}.part{k}", name, outer * (a + b))
        i = _every(outer * (a + b))
        p.read_at(stage, left, i[i % (a + b) < a])
        p.read_at(stage, right, i[i % (a + b) >= a])
        if k == len(op.inputs) - 1:
            out = p.output(op.output, lanes)
        else:
            out = p.channel(f"s_{name}_part{k}", lanes, outer * (a + b))
        p.write(stage, out, i)
        left, left_words = out, left_words + words


def _resize(p: Pipeline, op: df.ResizeOp) -> None:
    name = op.node_name.data
    _, h, w, c = op.input.type.get_shape()
    _, sh, sw, _ = op.ints_prop("scale")
    lanes, _ = df.kind_of(op).stream_lanes(op)
    px = op.int_prop("pixels")
    x = p.read(op.input, lanes, name)
    # resize.h: one output beat per iteration; an input beat read at every (h % SH, w % SW) == 0, w the
    # output column (upsample_nearest_px: the output beat of P pixels, its channels in one beat)
    rows, cols = (h * sh, w * sw // px) if op.mode.data == "nearest" else ((h - 1) * sh + 1, (w - 1) * sw + 1)
    reads = (np.arange(rows)[:, None] % sh == 0) & (np.arange(cols)[None, :] % sw == 0)
    cb = px * c // lanes
    stage = p.process(name, name, rows * cols * cb)
    p.read_at(stage, x, (_grid_where(reads)[:, None] * cb + np.arange(cb)[None, :]).ravel())
    p.write(stage, p.output(op.output, lanes), _every(stage.iterations))


def _depth_to_space(p: Pipeline, op: df.DepthToSpaceOp) -> None:
    name = op.node_name.data
    _, h, w, c = op.input.type.get_shape()
    lanes, _ = df.kind_of(op).stream_lanes(op)
    x = p.read(op.input, lanes, name)
    # depth_to_space.h: per input row (and one more), ROW iterations reading input row h and
    # writing the output rows of input row h - 1
    row = w * c // lanes
    stage = p.process(name, name, (h + 1) * row)
    p.read_at(stage, x, _every(h * row))
    p.write(stage, p.output(op.output, lanes), row + _every(h * row))


def _reindex(p: Pipeline, op: df.ReindexOp) -> None:
    name = op.node_name.data
    outer, n, m, inner = op.block()
    lanes, _ = df.kind_of(op).stream_lanes(op)
    x = p.read(op.input, lanes, name)
    beats = inner // lanes
    # reindex.h, per outer index: a row (`beats` iterations) at a time, read (True) or written (False);
    # any order: the whole block read, then the output block written; monotone: before output row i the
    # input rows up to index[i], then the rows no output takes
    if op.monotone():
        index, rows = op.ints_prop("index"), []
        for i, row in enumerate(index):
            rows += [True] * (row + 1 - (index[i - 1] + 1 if i else 0)) + [False]
        rows += [True] * (n - 1 - index[-1])
    else:
        rows = [True] * n + [False] * m
    reads = np.repeat(np.array(rows * outer), beats)
    stage = p.process(name, name, reads.size)
    p.read_at(stage, x, np.flatnonzero(reads))
    p.write(stage, p.output(op.output, lanes), np.flatnonzero(~reads))


_PAD_SOURCE: dict[str, Callable[[int, int], int]] = {  # kinds/pad.py _pad_source, j = i - lo, extent n
    "constant": lambda j, n: j if 0 <= j < n else -1,
    "reflect": lambda j, n: -j if j < 0 else (2 * (n - 1) - j if j >= n else j),
    "replicate": lambda j, n: min(max(j, 0), n - 1),
    "circular": lambda j, n: j % n,
}


def _pad(p: Pipeline, op: df.PadOp) -> None:
    name = op.node_name.data
    shape, out_shape = list(op.input.type.get_shape()), list(op.output.type.get_shape())
    pads, rank = op.ints_prop("pad"), len(shape)
    padded = [d for d in range(rank) if pads[2 * d] or pads[2 * d + 1]]
    o = padded[0] if padded else rank - 1
    lanes, _ = df.kind_of(op).stream_lanes(op)
    row = _prod(shape[o + 1:]) // lanes  # input beats per row of the outermost padded dim
    inner = _prod(out_shape[o + 1:]) // lanes  # output beats per output row
    source = _PAD_SOURCE[op.mode.data]
    x = p.read(op.input, lanes, name)
    # kinds/pad.py emit_hls: per output row, read rows up to its source row (a ring), then write it
    reads, writes, at = [], [], 0
    for _ in range(_prod(shape[:o])):
        have = 0
        for i in range(out_shape[o]):
            r = source(i - pads[2 * o], shape[o])
            need = have if r < 0 else r + 1
            if need > have:
                reads.append(at + _every((need - have) * row))
                at, have = at + (need - have) * row, need
            writes.append(at + _every(inner))
            at += inner
        if shape[o] > have:
            reads.append(at + _every((shape[o] - have) * row))
            at += (shape[o] - have) * row
    stage = p.process(name, name, at)
    p.read_at(stage, x, np.concatenate(reads))
    p.write(stage, p.output(op.output, lanes), np.concatenate(writes))


def _slice(p: Pipeline, op: df.SliceOp) -> None:
    name = op.node_name.data
    shape, out_shape = list(op.input.type.get_shape()), list(op.output.type.get_shape())
    offsets, strides = op.ints_prop("offsets"), op.ints_prop("strides")
    rank = len(shape)
    lanes, _ = df.kind_of(op).stream_lanes(op)
    x = p.read(op.input, lanes, name)
    grid = shape[:-1] + [shape[-1] // lanes]
    # kinds/slice.py emit_hls: reads every beat, forwards those inside the window (the last dim in beats)
    keep = np.ones(grid, dtype=bool)
    for d in range(rank):
        o, n = (offsets[d] // lanes, out_shape[d] // lanes) if d == rank - 1 else (offsets[d], out_shape[d])
        i = np.arange(grid[d])
        inside = (i >= o) & ((i - o) % strides[d] == 0) & (i <= o + strides[d] * (n - 1))
        keep &= inside.reshape([-1 if k == d else 1 for k in range(rank)])
    stage = p.process(name, name, _prod(grid))
    p.read_at(stage, x, _every(stage.iterations))
    p.write(stage, p.output(op.output, lanes), _grid_where(keep))


def _ddr_fifo(p: Pipeline, op: df.DdrFifoOp) -> None:
    name = op.node_name.data
    lanes = op.int_prop("coarse")
    x = p.read(op.input, lanes, name)
    # dfcc ddr.h: the writer stores a beat per iteration into the DRAM ring and sends a token once a span of them is
    # written; the reader waits for a span's token, then loads its beats back in order, DRAM_LATENCY_CYCLES later.
    # The token stream is as deep as ring_bursts makes it, so the writer waits with that many spans unread
    span, tokens = ring_bursts(x.beats, op.inferences())
    span = span or x.beats
    spans = -(-x.beats // span)
    ring = p.channel(f"{name}_tokens", 1, spans, depth=max(1, tokens))
    writer = p.process(f"{name}_write", name, x.beats)
    p.read_at(writer, x, _every(x.beats))
    p.write(writer, ring, np.minimum(_every(spans) * span + span, x.beats) - 1)
    reader = p.process(f"{name}_read", name, x.beats)
    reader.latency = DRAM_LATENCY_CYCLES
    p.read_at(reader, ring, _every(spans) * span)
    out = p.output(op.output, lanes)
    out.elastic = True
    p.write(reader, out, _every(x.beats))


SCHEDULES: dict[type, Callable[[Pipeline, Operation], None]] = {
    df.SourceOp: _source,
    df.SinkOp: _sink,
    df.ConvOp: _conv,
    df.SparseConvOp: _sparse_conv,
    df.PoolOp: _pool,
    df.LinearOp: _linear,
    df.SparseLinearOp: _sparse_linear,
    df.MatmulOp: _matmul,
    df.ForkOp: _fork,
    df.MapOp: _map,
    df.ReduceOp: _reduce,
    df.ReshapeOp: _reshape,
    df.TransposeOp: _transpose,
    df.ConcatOp: _concat,
    df.ResizeOp: _resize,
    df.DepthToSpaceOp: _depth_to_space,
    df.ReindexOp: _reindex,
    df.PadOp: _pad,
    df.SliceOp: _slice,
    df.DdrFifoOp: _ddr_fifo,
    df.EmbeddingOp: _embedding,
}
