"""The least each skip connection holds, by data dependence alone, whatever the folding.

Where a stream forks and its branches join again (a residual add, a channel concat, an SE multiply: a map or a concat
reading two streams), the join takes at most a beat (a concat: a pixel) of the branch straight from the fork before the
other branch gives its first element (a concat over tile-major streams takes a tile of each input in turn: at most the
skip's first tile before a later input's first tile), and that branch cannot give it before it has read a number of
elements from the fork fixed by its windows: a KxK window's first output needs its input's first K-1-p rows and K-p
pixels more (a line buffer's fill), a global pool's its whole frame (a MobileNetV3 SE multiply waits for its squeeze).
The fork has written as many into the straight branch (fork.h writes each beat to every output), which holds them
between the fork and the join: in a FIFO, on chip, or in a DRAM ring (kinds/ddr_fifo.py). SATAY (Montgomerie-Corcoran et
al., FPT 2022) and SMOF (FCCM 2023) size these buffers from the branches' latencies; the lower bound from the data
dependence is ours (bench/memory_bound.py adds it to issue 14's bound).

A need is (elements, whole): at least `elements` of a stream delivered, and its pixel `whole` (raster index, -1:
none) with every channel, whatever the stream's order (tile-major: passes/tile_order.py). Walking the nodes between
the fork and the join backwards, each node's need on its inputs follows from its need on its outputs (`_read`, 0
where a kind gives no proof). Of those elements, UNCOSTED_BEATS beats may wait where no FIFO is costed (at most a
pixel each: explore's foldings are not spatial, a beat has at most C lanes; with `pixels`, a row).
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from dfcc.dialects.dataflow import StreamType
from dfcc.kinds.concat import ConcatOp
from dfcc.kinds.conv import ConvFields
from dfcc.kinds.ddr_fifo import DdrFifoOp
from dfcc.kinds.fork import ForkOp
from dfcc.kinds.map import MapOp
from dfcc.kinds.reduce import ReduceOp
from dfcc.kinds.window import WindowOp

# uncosted: the fork's pipelined loop writing ahead (2 beats), the join's first beat of the skip (1), the skip's
# FIFO at the default depth (2: analyses/network.py costs deeper ones only), a lane converter through the gcd (two
# converters, a wide beat each, and their kernel streams, 2 each: 6)
UNCOSTED_BEATS = 11
NOTHING = (0, -1)

Need = tuple[int, int]  # (elements delivered at least, a pixel delivered with every channel, -1: none)


def skip_holds(ops: list[Operation], orderable: frozenset = frozenset(), spatial: bool = False,
               tiles: dict[SSAValue, tuple[int, ...]] | None = None) -> list[tuple[SSAValue, dict[int, int]]]:
    """Each join input straight from a fork (`ops`: the graph's nodes in order) and the elements it holds at least
    (module docstring) by the tile R of the join's output (0: pixel-major), where any: one figure (R 0) but for a
    concat whose output may be tile-major, whose `tiles` (the tiles its chain may take, 0 among them) each have
    theirs (`_tiled_hold`), or, not given, only the earlier inputs bound the hold; `orderable`: the streams that
    may be tile-major (passes/tile_order.py `orderable_streams`), `spatial`: whether a beat may hold a row's
    pixels."""
    position = {op: i for i, op in enumerate(ops)}
    holds = []
    for join in ops:
        if not isinstance(join, (MapOp, ConcatOp)):
            continue
        streams = [v for v in join.operands if isinstance(v.type, StreamType)]
        tiled = isinstance(join, ConcatOp) and join.output in orderable
        for k, skip in enumerate(streams):
            fork = skip.owner
            if len(streams) < 2 or not isinstance(fork, ForkOp) or fork not in position:
                continue
            between = ops[position[fork] + 1:position[join]]
            shape = skip.type.get_shape()
            uncosted = UNCOSTED_BEATS * shape[-1] * (shape[2] if spatial and len(shape) == 4 else 1)
            every = {v: (1, -1) for i, v in enumerate(streams) if i != k}
            if not tiled:
                by_tile = {0: _fork_written(between, fork, skip, every, orderable)}
            elif tiles is not None and join.output in tiles:
                by_tile = {tile: _tiled_hold(between, fork, streams, k, tile, orderable) if tile else
                           _fork_written(between, fork, skip, every, orderable) for tile in tiles[join.output]}
            else:  # a tile-major concat may take a tile of any size of the skip before a later input's first
                by_tile = {0: _tiled_hold(between, fork, streams, k, 0, orderable)}
            by_tile = {tile: max(0, written - uncosted) for tile, written in by_tile.items()}
            if any(by_tile.values()):
                holds.append((skip, by_tile))
    return holds


def _tiled_hold(between: list[Operation], fork: ForkOp, streams: list[SSAValue], k: int, tile: int,
                orderable: frozenset) -> int:
    """What a concat's input k straight from `fork` holds at least where its `streams` are tile-major in tiles of
    `tile` pixels (kinds/concat.py: a tile of each input in turn; 0: any): the fork has written as much before an
    earlier input's first element (the concat has taken at most a beat of it), and before a later one has all but
    the last element of its first tile (pixels 0 .. tile - 2 whole), when the concat has taken at most the skip's
    first tile."""
    skip = streams[k]
    earlier = {v: (1, -1) for v in streams[:k]}
    held = _fork_written(between, fork, skip, earlier, orderable) if earlier else 0
    later = {v: (tile * v.type.get_shape()[-1] - 1, tile - 2) for v in streams[k + 1:]}
    if tile and later:
        taken = tile * skip.type.get_shape()[-1]
        held = max(held, _fork_written(between, fork, skip, later, orderable) - taken)
    return held


def _fork_written(between: list[Operation], fork: ForkOp, skip: SSAValue, needs: dict[SSAValue, Need],
                  orderable: frozenset) -> int:
    """The elements `fork` has written into its other outputs, so into `skip`, before the join's inputs have
    delivered `needs`: the needs walked back through the nodes `between` (in graph order)."""
    need = dict(needs)
    for op in reversed(between):
        outs = [need[r] for r in op.results if r in need]
        if not outs:
            continue
        out = (max(e for e, _ in outs), max(p for _, p in outs))
        for v in op.operands:
            if isinstance(v.type, StreamType):
                elements, whole = _read(op, v, out, orderable)
                was = need.get(v, NOTHING)
                need[v] = (max(was[0], elements), max(was[1], whole))
    channels = skip.type.get_shape()[-1]
    return max((_delivered(need.get(w, NOTHING), channels) for w in fork.outputs if w is not skip), default=0)


def _delivered(need: Need, channels: int) -> int:
    """The elements a stream of `channels` has delivered at least: a whole pixel p comes after p x channels + 1 in
    any order (pixel-major: (p + 1) x channels; tile-major, tile R block B: at least p x channels + B)."""
    elements, whole = need
    return max(elements, whole * channels + 1 if whole >= 0 else 0)


def _read(op: Operation, value: SSAValue, out: Need, orderable: frozenset) -> Need:
    """What `op` has read of its input `value` at least before it has delivered `out` of its output (NOTHING where
    the kind gives no proof)."""
    elements, whole = out
    if isinstance(op, (ForkOp, DdrFifoOp)):
        return out
    if isinstance(op, MapOp):
        if value.type.get_shape() == op.output.type.get_shape():  # element-wise: each element its own
            return out
        broadcast = value.type.num_elements == value.type.get_shape()[-1]  # a per-channel vector (SE's scale)
        return (1, 0 if whole >= 0 else -1) if broadcast and (elements or whole >= 0) else NOTHING
    if isinstance(op, ConcatOp):  # a whole pixel of a channel concat is that pixel of every input
        rank = len(op.output.type.get_shape())
        last_axis = op.axis.value.data % rank == rank - 1
        return (whole * value.type.get_shape()[-1] + 1, whole) if last_axis and whole >= 0 else NOTHING
    if isinstance(op, WindowOp):
        return _window_read(op, out)
    if isinstance(op, ReduceOp):
        return _pool_read(op, out, value in orderable)
    return NOTHING


def _window_read(op: WindowOp, out: Need) -> Need:
    """A conv's or pool's: the last output pixel it has touched (its elements span ceil(e / filters) pixels at least)
    needs its window's last input pixel (raster order), as do the later ones (their windows end no earlier, but
    where the bottom row clamps them: the next row's first); every earlier pixel is then delivered whole, the input
    being pixel-major (only ungrouped 1x1 convs read tile-major, kinds/conv.py `order_problem`: they need that
    pixel's every channel)."""
    elements, whole = out
    _, height, width, channels = op.input.type.get_shape()
    _, rows, columns, filters = op.output.type.get_shape()
    touched = max(-(-elements // filters) - 1, whole)
    if touched < 0:
        return NOTHING
    (kr, kc), (sr, sc), (dr, dc), (top, _, left, _) = op.window_geometry()

    def last(r: int, c: int) -> int:
        """The raster index of the last input pixel output pixel (r, c)'s window touches (-1: only padding)."""
        row, column = min(r * sr + (kr - 1) * dr - top, height - 1), min(c * sc + (kc - 1) * dc - left, width - 1)
        return row * width + column if row >= 0 and column >= 0 else -1

    r, c = divmod(touched, columns)
    pixel = last(r, c) if r + 1 == rows else min(last(r, c), last(r + 1, 0))
    if pixel < 0:
        return NOTHING
    dense = isinstance(op, ConvFields) and op.groups.value.data == 1  # each output needs every input channel
    return pixel * channels + 1, pixel if dense else pixel - 1


def _pool_read(op: ReduceOp, out: Need, orderable: bool) -> Need:
    """A global pool's (H and W of an N x H x W x C stream reduced): a channel's sum needs its every pixel; pixel-major
    that is all but the last pixel's other channels, tile-major (one tile of every pixel, a channel a block) at least
    the pixels of one channel."""
    shape = op.input.type.get_shape()
    dims = set(op.ints_prop("dims"))
    if not (out[0] or out[1] >= 0) or len(shape) != 4 or not {1, 2} <= dims or 3 in dims:
        return NOTHING
    pixels, channels = shape[1] * shape[2], shape[3]
    return (pixels, -1) if orderable else ((pixels - 1) * channels + 1, pixels - 2)
