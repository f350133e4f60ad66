"""Issue 14's memory bound: the highest fps any design of explore's space reaches within `utilisation` of a board's
on-chip memory, LUTs and DRAM bandwidth, from the cost model's own numbers (bench/bench_throughput.py's "mem bound").

Each node's design points are what its cost facet charges (kinds/*.py `cost`, `NodeModel.placed_use`): every
folding explore lists with weights allowed off chip (passes/explore.py `foldings`: every tile, each inner product
it weighs), at each weight place (passes/spill.py `weight_place_options`, what explore's weight placements take:
BRAM, URAM, LUTRAM, DRAM, or split by depth at every percent), its multipliers on DSPs (the fewest LUTs), and a
conv's with its line buffer in DRAM (passes/spill.py `line_buffer_evicted`); a conv reading or writing a stream that
can be tile-major (passes/tile_order.py `orderable_streams`) also in every order the chain could give it
(`ordered_points`; through a channel concat only in tiles dividing its pixels, as kinds/concat.py takes them). A point is (cycles, BRAM18, URAM, LUT, DRAM bits per inference, the tiles of the chains it
reads and writes tile-major).

A design at II cycles takes one point a node, each of at most II cycles, their memory within the budget and their
traffic within `utilisation` x the bandwidth x II. Weighting URAM and LUTs in BRAM18 (URAM_PRICE, LUT_PRICES: any
non-negative weights keep the sum of the three budgets a budget of the weighted sum), the least traffic within it is
a multiple-choice knapsack of the nodes' points, whose LP relaxation's optimum, the Lagrangian dual's greatest value
over the price of memory (`_Dual`; Sinha & Zoltners 1979, analyses/knapsack.py), no design's traffic beats; each
price gives a lower bound (weak duality), so the search over it (golden section, `_golden_max`) stays sound where it
stops short. A chain of streams that can be tile-major (passes/tile_order.py) has one tile R: its convs' points are
tagged with the R they read and write, and the dual takes the chains as trees (dynamic programming over each chain's
R; a conv closing a cycle of chains tied to the one it reads only; each chain's block B free: relaxations). The bound
is the greatest II (within SEARCH_TOLERANCE) at which that traffic bound does not fit the bandwidth (binary search:
the bound falls and the bandwidth grows with the II), or the slowest node's fastest point.

A skip connection (a fork whose copies join again: a residual add, a channel concat, an SE multiply) holds, whatever
the folding, what the fork has written before the other branch gives the join its first element (its windows' fill,
a global pool's whole frame: analyses/skip_holds.py; SATAY and SMOF size skip buffers from the branches' latencies,
the data-dependence argument is ours): each is a pseudo-node of two kinds of points (`skip_points`), those bits on
chip (in BRAM18, URAM or LUTRAM, at most what a FIFO of them takes) and no traffic, or every word through a DRAM
ring, written and read back (kinds/ddr_fifo.py): the LP relaxation takes any mix, as a ring holding part of them
would. No node's points charge them (a fork, a join and a ring hold no frame; explore's designs give each skip a FIFO
of its own). What else no node's point holds (the other FIFOs between nodes, width converters, a ring's stage logic)
and the DSPs are left out: they only lower what a design reaches.

    python -m dfcc.bench.memory_bound MODEL [--board zcu102] [--bits 16] [--cache DIR] [--explored FILE] [--top N]

explains explore's design of MODEL (`explain`) against the bound's at the design's II: its DRAM traffic by cause, and
node by node its bits, sweeps and memory beside those of the point the dual's best prices pick (`_Priced.design`).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import os
import sys

import numpy as np
from xdsl.rewriter import Rewriter

from dfcc.analyses.network import Network
from dfcc.analyses.skip_holds import skip_holds
from dfcc.hardware.memory import BRAM18_ASPECTS, LUTRAM_DEPTH, URAM_DEPTH, URAM_WIDTH
from dfcc.hardware.offchip import evicted_stream_bits
from dfcc.hardware.cycles import throughput
from dfcc.kinds.concat import ConcatOp
from dfcc.kinds.conv import ConvOp, point_stride
from dfcc.kinds.ddr_fifo import ring_adapters
from dfcc.kinds.cost import WEIGHT_PERIOD_FACTOR, Folding, NodeModel, cost_key, describe, stream_bits
from dfcc.kinds.inner_product import searched_products, written_product
from dfcc.passes.explore import DESIGN_ATTRS, foldings, pareto_rows
from dfcc.passes.spill import line_buffer_evicted, weight_place_options
from dfcc.passes.tile_order import chains, orderable_streams

# UG573 / UG1085: a BRAM18 holds 18 Kbit, a URAM 288 Kbit, a LUT as distributed RAM 64 bits (UG574: LUTRAM_DEPTH
# words of a bit)
BRAM18_BITS = BRAM18_ASPECTS[-1][0] * BRAM18_ASPECTS[-1][1]
URAM_BITS = URAM_WIDTH * URAM_DEPTH
URAM_PRICE = URAM_BITS / BRAM18_BITS
LUT_PRICES = tuple(2 ** (k / 2) * 64 / BRAM18_BITS for k in range(-4, 9))  # BRAM18 a LUT: the weights tried
# a point's row: its tags are the tile R of the chain it reads, and of the one it writes, tile-major (tile R block B;
# 0: pixel-major, or no chain)
COLUMNS = ("cycles", "bram18", "uram", "lut", "offchip_bits", "tag_in", "tag_out")
TAGS = COLUMNS.index("tag_in")
SEARCH_TOLERANCE = 1e-4  # the binary search's relative step on the II
PRICE_RANGE = (1e-6, 1e12)  # the dual's price of a BRAM18 in bits of traffic, searched between (any is a bound)
PRICE_STEPS = 40  # golden-section steps on its logarithm


def model_points(model: NodeModel, platform, spatial: bool = False, orderable: frozenset = frozenset(),
                 known: dict | None = None, whole: frozenset = frozenset()) -> np.ndarray:
    """The rows (COLUMNS) of the design points of `model` explore may take (module docstring), with those of its
    tiles reading or writing the `orderable` streams tile-major (`ordered_points`; those in `whole` in tiles dividing
    their pixels), of each pair of tags those no other beats in every column (passes/explore.py `pareto_rows`: a
    beaten point never gives a bound less traffic)."""
    listed = [(folding, product) for product in searched_products(model.op, written_product(model.op))
              for folding in foldings(model, spatial, True, product)]
    known = {} if known is None else known
    rows = [(*row, 0, 0) for row in point_rows(model, listed, platform, known)]
    rows += ordered_points(model, listed, orderable, platform, known, whole)
    return _fronts(np.unique(np.array(rows, dtype=np.float64).reshape(-1, len(COLUMNS)), axis=0))


def _fronts(rows: np.ndarray) -> np.ndarray:
    """Of each pair of tags' `rows`, those no other of the pair beats in every column."""
    tags = np.unique(rows[:, TAGS:], axis=0)
    fronts = [rows[(rows[:, TAGS:] == pair).all(axis=1)] for pair in tags]
    return np.concatenate([front[pareto_rows(front[:, :TAGS])] for front in fronts])


def point_rows(model: NodeModel, listed: list[tuple[Folding, str | None]], platform,
               known: dict | None = None) -> list[tuple[float, ...]]:
    """The rows of `model` at each (folding, inner product) `listed`, at each place of its tile memories explore weighs
    (`NodeModel.lutram_options`), at each weight place, multipliers on DSPs (a split by depth at 95 % may take the
    BRAM18 of one at 90 %: every percent's, not weight_allocation.py's steps): its cost plus what each place changes
    (`NodeModel.placed_use`), a function of its weight memory and tile alone, worked out once for each in `known`
    (the nodes of one platform may share it)."""
    known = {} if known is None else known
    rows = []
    for folding, product in listed:
        period = model.weight_period(folding)
        for lutram in model.lutram_options(folding):
            cost = model.evaluated(folding, product, lutram)
            key = (cost.weight_memory(), period)
            if key not in known:
                places = (weight_place_options(model, folding, "dsp", product, platform) if model.has_weights
                          else [("bram", 100)])
                known[key] = [model.memory_change(cost, memory, on_chip, period) for memory, on_chip in places]
            for bram, urams, luts, _, offchip in known[key]:
                rows.append((cost.cycles, cost.bram18 + bram, cost.uram + urams, cost.lut + luts,
                             cost.offchip_bits + offchip))
    return rows


def ordered_points(model: NodeModel, listed: list[tuple[Folding, str | None]], orderable: frozenset,
                   platform, known: dict | None = None, whole: frozenset = frozenset()) -> list[tuple[float, ...]]:
    """The rows of conv `model`'s tiled foldings in `listed` writing its output tile-major (tile R block B: tile R,
    coarse_out B) where the output is `orderable`, or reading its input so (a 1x1 unpadded conv at stride S: tile
    R / S^2, coarse_in B) where the input is, or both (kinds/conv.py `tile_order_problems`): each chain's (R, B)
    any (passes/tile_order.py takes one its nodes agree on: `chain_sides`), but a divisor of the stream's pixels where
    it is in `whole` (a chain through a channel concat: kinds/concat.py takes whole tiles), each row tagged with the R
    it reads and writes (0: pixel-major)."""
    op = model.op
    if not isinstance(op, ConvOp) or op.groups.value.data != 1:
        return []
    writes = op.output in orderable
    stride = point_stride(op) if op.input in orderable else None
    if not writes and stride is None:
        return []
    tile, ci, co = (model.factors.index(k) for k in (WEIGHT_PERIOD_FACTOR, "coarse_in", "coarse_out"))
    by_order: dict[tuple, list[tuple[Folding, str | None]]] = {}
    for folding, product in listed:
        if folding[tile] == 1:
            continue
        outs = (None, (folding[tile], folding[co])) if writes and _tiles(op.output, folding[tile], whole) else (None,)
        ins = (None, (stride ** 2 * folding[tile], folding[ci])) if stride is not None and _tiles(
            op.input, stride ** 2 * folding[tile], whole) else (None,)
        for orders in itertools.product(ins, outs):
            if orders != (None, None):
                by_order.setdefault(orders, []).append((folding, product))
    rows = []
    for (order_in, order_out), points in by_order.items():
        copies = _ordered_copy(op, order_in, order_out)
        tags = (order_in or (0,))[0], (order_out or (0,))[0]
        try:
            rows += [(*row, *tags) for row in point_rows(describe(copies[-1]), points, platform, known)]
        finally:
            for copy in reversed(copies):
                copy.drop_all_references()
    return rows


def _tiles(value, tile: int, whole: frozenset) -> bool:
    """Whether stream `value` may be tile-major in tiles of `tile` pixels: any, but whole ones in `whole`."""
    return value not in whole or (value.type.num_elements // value.type.get_shape()[-1]) % tile == 0


def _ordered_copy(op: ConvOp, order_in: tuple[int, int] | None, order_out: tuple[int, int] | None) -> list:
    """Detached copies: of the writer of `op`'s input (its stream in `order_in`) where that is not None, then of
    `op` reading it and its output in `order_out` (passes/tile_order.py costs its options on copies too)."""
    copies, mapper = [], {}
    if order_in is not None:
        source = op.input.owner.clone()
        value = source.results[op.input.index]
        mapper[op.input] = Rewriter.replace_value_with_new_type(value, value.type.with_order(order_in))
        copies.append(source)
    copy = op.clone(value_mapper=mapper)
    if order_out is not None:
        Rewriter.replace_value_with_new_type(copy.output, copy.output.type.with_order(order_out))
    return copies + [copy]


def node_points(network: Network, platform, spatial: bool = False) -> tuple[list[np.ndarray], list[Sides]]:
    """Each node's points (`model_points`) with those of its conv's line buffer in DRAM, repeated layers (equal
    cost keys, as orderable) costed once, then each skip's (`skip_points`); and each one's chains (`chain_sides`,
    none for a skip)."""
    module = network.nodes[0].op.get_toplevel_object() if network.nodes else None
    orderable = frozenset(orderable_streams(module)) if module is not None else frozenset()
    # the orderable chains through a channel concat, whose tiles divide their pixels
    whole = frozenset(v for values, _, _ in (chains(module) if module is not None else ())
                      if any(isinstance(v.owner, ConcatOp) for v in values) for v in values) & orderable
    known: dict = {}
    changes: dict = {}  # what each weight place changes (`point_rows`)
    points = []
    for model in network.nodes:
        key = cost_key(model.op, DESIGN_ATTRS)
        if key is not None:
            key = (key, *((v in orderable, v in whole) for v in (*model.op.operands, *model.op.results)))
        if key is None or key not in known:
            found = model_points(model, platform, spatial, orderable, changes, whole)
            evicted = line_buffer_evicted(model.op)
            if evicted is not None:
                found = _fronts(np.concatenate([found, model_points(evicted, platform, spatial, known=changes)]))
            if key is not None:
                known[key] = found
        else:
            found = known[key]
        points.append(found)
    sides = chain_sides(network, module, orderable)
    skips, skip_sides = skip_points(network, orderable, spatial, chain_ids(module, orderable), chain_tags(points, sides))
    return points + skips, sides + skip_sides


def skip_points(network: Network, orderable: frozenset = frozenset(), spatial: bool = False,
                chain_of: dict | None = None, tags: dict[int, np.ndarray] | None = None
                ) -> tuple[list[np.ndarray], list[Sides]]:
    """A pseudo-node for each skip connection (analyses/skip_holds.py: the elements it holds at least, of every
    design), its points: those bits in BRAM18, URAM or LUTRAM (what a FIFO of them takes at least, `fifo_blocks`),
    no traffic; or every word written to a DRAM ring and read back (kinds/ddr_fifo.py), on chip its m_axi adapters'
    least BRAM18 and LUTs (`least_ring`). A concat joining a chain that may be tile-major (`chain_of`, its tiles
    `tags`: `chain_tags`) holds by the chain's tile: its points read that chain, each tagged with its tile; its
    pseudo-node's sides and the others' (None, None)."""
    chain_of, tags = chain_of or {}, tags or {}
    tiles = {v: tuple(int(t) for t in tags[c]) for v, c in chain_of.items() if c in tags}
    points, sides = [], []
    for value, by_tile in skip_holds([m.op for m in network.nodes], orderable, spatial, tiles):
        word = stream_bits(value)
        ring_bram, ring_lut = least_ring(value.type.get_shape()[-1], word)
        ring = evicted_stream_bits(value.type.num_elements, word)
        rows = []
        for tile, held in by_tile.items():
            bits = held * word
            rows += [(0, bits / BRAM18_BITS, 0, 0, 0, tile, 0), (0, 0, bits / URAM_BITS, 0, 0, tile, 0),
                     (0, 0, 0, bits / LUTRAM_DEPTH, 0, tile, 0), (0, ring_bram, 0, ring_lut, ring, tile, 0)]
        points.append(np.array(rows, dtype=np.float64))
        join = next(iter(value.uses)).operation
        sides.append((chain_of[join.output], None) if set(by_tile) != {0} else (None, None))
    return points, sides


def chain_tags(points: list[np.ndarray], sides: list[Sides]) -> dict[int, np.ndarray]:
    """Each chain's tiles (0, pixel-major, first): those its nodes' points read or write it in."""
    tags: dict[int, set] = {}
    for p, (read, written) in zip(points, sides):
        for chain, column in ((read, TAGS), (written, TAGS + 1)):
            if chain is not None:
                tags.setdefault(chain, {0}).update(p[:, column].tolist())
    return {c: np.array(sorted(t)) for c, t in tags.items()}


@functools.cache
def least_ring(channels: int, bits: int) -> tuple[int, int]:
    """The fewest BRAM18 and, apart, the fewest LUTs the m_axi adapters of a DRAM ring of `channels` `bits`-bit
    channels take at any lanes (kinds/ddr_fifo.py `ring_adapters`; a relaxation: each at its own lanes)."""
    adapters = [ring_adapters(lanes, bits) for lanes in range(1, channels + 1)]
    return min(blocks for blocks, _ in adapters), min(logic.lut for _, logic in adapters)


Sides = tuple[int | None, int | None]  # a node's chains: the one it reads tile-major if it may, the one it writes


def chain_sides(network: Network, module, orderable: frozenset) -> list[Sides]:
    """Each node's (chain read, chain written) among the chains that can be tile-major (passes/tile_order.py
    `chains`, `orderable_streams`): an ungrouped conv's output's, and its input's if a 1x1 unpadded conv
    (`point_stride`); a chain's (R, B) is one, so its convs take the same tile R there. A conv closing a cycle of
    chains keeps only the one it reads (a relaxation: the dual's tree of chains, `_Dual`)."""
    chain_of = chain_ids(module, orderable)
    parent = {c: c for c in set(chain_of.values())}

    def root(c: int) -> int:
        while parent[c] != c:
            c = parent[c]
        return c

    sides = []
    for model in network.nodes:
        op = model.op
        if not isinstance(op, ConvOp) or op.groups.value.data != 1:
            sides.append((None, None))
            continue
        read = chain_of.get(op.input) if point_stride(op) is not None else None
        written = chain_of.get(op.output)
        if read is not None and written is not None:
            if root(read) == root(written):
                written = None
            else:
                parent[root(read)] = root(written)
        sides.append((read, written))
    return sides


def chain_ids(module, orderable: frozenset) -> dict:
    """Each stream's chain among those that can be tile-major (passes/tile_order.py `chains`, every stream
    `orderable`), by index."""
    return {v: i for i, (values, _, _) in enumerate(chains(module)) if all(v in orderable for v in values)
            for v in values} if module is not None else {}


class _Dual:
    """The Lagrangian dual of the least traffic at an II (module docstring): for a price p of memory, the least
    traffic + p x memory over every design's points, less p x the capacity, is at most the least traffic of any
    design within the capacity (weak duality; its greatest over p is the LP relaxation's optimum). The nodes tied to
    no chain take their least; a tree of chains (joined by convs reading one and writing another) takes, from its
    leaves up, the least for each tile R of each chain given its parent's (dynamic programming)."""

    def __init__(self, points: list[np.ndarray], sides: list[Sides]):
        self.sides = sides
        self.tags = chain_tags(points, sides)  # chain -> its tiles (0 first)
        self.children: dict[int, list[int]] = {}
        self.roots = []
        self.order = []  # chains, each after its children
        self.edge_of: dict[int, int] = {}  # chain -> the node joining it to its parent
        neighbours: dict[int, list[tuple[int, int]]] = {c: [] for c in self.tags}
        for n, (read, written) in enumerate(sides):
            if read is not None and written is not None:
                neighbours[read].append((written, n))
                neighbours[written].append((read, n))
        seen = set()
        for start in sorted(self.tags):
            if start in seen:
                continue
            self.roots.append(start)
            seen.add(start)
            stack, visit = [start], []
            while stack:
                c = stack.pop()
                visit.append(c)
                for other, n in neighbours[c]:
                    if other not in seen:
                        seen.add(other)
                        self.children.setdefault(c, []).append(other)
                        self.edge_of[other] = n
                        stack.append(other)
            self.order += visit[::-1]

    def groups(self, n: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Node n's points `p` sorted by group (its tag on each chain it has), the starts and ids of the groups,
        and their count (1 for a node without chains)."""
        read, written = self.sides[n]
        ids, count = np.zeros(len(p), dtype=np.int64), 1
        for chain, column in ((read, TAGS), (written, TAGS + 1)):
            if chain is not None:
                tags = self.tags[chain]
                ids, count = ids * len(tags) + np.searchsorted(tags, p[:, column]), count * len(tags)
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
        return order, starts, ids[starts], count

    def value(self, least: list[np.ndarray]) -> float:
        """The least traffic + price x memory over the designs, given each node's least by group (`groups`)."""
        total, chain_sum, _ = self._sums(least)
        return total + sum(chain_sum[c].min() for c in self.roots)

    def _sums(self, least: list[np.ndarray]) -> tuple[float, dict[int, np.ndarray], dict[int, np.ndarray]]:
        """The nodes' least without chains summed; each chain's least by its tile (its subtree's, given that tile);
        each joining node's least by (tile read, tile written)."""
        total = 0.0
        chain_sum = {c: np.zeros(len(t)) for c, t in self.tags.items()}
        joins = {}
        for n, (read, written) in enumerate(self.sides):
            if read is not None and written is not None:
                joins[n] = least[n].reshape(len(self.tags[read]), len(self.tags[written]))
            elif read is not None or written is not None:
                chain_sum[read if read is not None else written] += least[n]
            else:
                total += least[n][0]
        for c in self.order:
            for child in self.children.get(c, ()):
                chain_sum[c] = chain_sum[c] + (self._join(joins, c, child) + chain_sum[child][None, :]).min(axis=1)
        return total, chain_sum, joins

    def _join(self, joins: dict[int, np.ndarray], c: int, child: int) -> np.ndarray:
        """The least of the node joining chain `child` to its parent `c`, rows by c's tile, columns by child's."""
        n = self.edge_of[child]
        return joins[n] if self.sides[n][0] == c else joins[n].T

    def choose(self, least: list[np.ndarray]) -> list[int]:
        """Each node's group (`groups`) in a design `value` counts: each root chain at its best tile, then each
        child chain at its best given its parent's (the dynamic programming walked back)."""
        _, chain_sum, joins = self._sums(least)
        tile = {c: int(np.argmin(chain_sum[c])) for c in self.roots}
        for c in reversed(self.order):  # parents before their children
            for child in self.children.get(c, ()):
                tile[child] = int(np.argmin(self._join(joins, c, child)[tile[c]] + chain_sum[child]))
        chosen = []
        for read, written in self.sides:
            group = 0
            for chain in (read, written):
                if chain is not None:
                    group = group * len(self.tags[chain]) + tile[chain]
            chosen.append(group)
        return chosen


def least_traffic(points: list[np.ndarray], sides: list[Sides], platform, utilisation: float, ii: float,
                  budget: float = math.inf) -> float | None:
    """A lower bound on the DRAM bits per inference of any design at `ii` cycles within `utilisation` of the
    memories and LUTs (module docstring), searched until it exceeds `budget`; None where no node has a point."""
    priced = _Priced.at(points, sides, platform, utilisation, ii)
    return None if priced is None else priced.best(budget)[0]


class _Priced:
    """The dual of the least traffic at an II (`_Dual`) as a function of the prices of memory: a BRAM18's, `mu`
    bits of traffic, a URAM's URAM_PRICE and a LUT's one of LUT_PRICES BRAM18s; the nodes' points within the II
    grouped by their chains' tiles."""

    def __init__(self, dual: _Dual, grouped: list, platform, utilisation: float):
        self.dual, self.grouped, self.platform, self.utilisation = dual, grouped, platform, utilisation

    @staticmethod
    def at(points: list[np.ndarray], sides: list[Sides], platform, utilisation: float, ii: float) -> _Priced | None:
        """The nodes' points of at most `ii` cycles (None where a node has none)."""
        fastest = [p[p[:, 0] <= ii] for p in points]
        if any(not len(p) for p in fastest):
            return None
        dual = _Dual(fastest, sides)
        grouped = []
        for n, p in enumerate(fastest):
            order, starts, ids, count = dual.groups(n, p)
            grouped.append((p[order], starts, ids, count))
        return _Priced(dual, grouped, platform, utilisation)

    def memory(self, lut_price: float) -> tuple[np.ndarray, float]:
        """The price vector over COLUMNS of a BRAM18 at 1 and a LUT at `lut_price`, and the capacity so weighted."""
        platform = self.platform
        price = np.array([0.0, 1.0, URAM_PRICE, lut_price, 0.0, 0.0, 0.0])
        return price, self.utilisation * (platform.bram18 + URAM_PRICE * platform.uram + lut_price * platform.lut)

    def least(self, lut_price: float, mu: float) -> list[np.ndarray]:
        """Each node's least traffic + `mu` x memory by group."""
        price, _ = self.memory(lut_price)
        least = []
        for p, starts, ids, count in self.grouped:
            groups = np.full(count, np.inf)
            groups[ids] = np.minimum.reduceat(p[:, 4] + mu * (p @ price), starts)
            least.append(groups)
        return least

    def best(self, budget: float = math.inf) -> tuple[float, float, float]:
        """The dual's greatest value found (a bound) and the LUT price and `mu` giving it, searched until it exceeds
        `budget`."""
        found = (0.0, LUT_PRICES[0], 0.0)
        for lut_price in LUT_PRICES:
            capacity = self.memory(lut_price)[1]

            def dual_value(log_price: float) -> float:
                mu = math.exp(log_price)
                return self.dual.value(self.least(lut_price, mu)) - mu * capacity

            value, log_price = _golden_max(dual_value, *map(math.log, PRICE_RANGE), budget)
            if value > found[0]:
                found = (value, lut_price, math.exp(log_price))
            if found[0] > budget:
                break
        return found

    def design(self, lut_price: float, mu: float) -> list[np.ndarray]:
        """A point a node of a design the dual at these prices counts (`_Dual.choose`): its least in its group."""
        price, _ = self.memory(lut_price)
        picked = []
        for (p, starts, ids, _), group in zip(self.grouped, self.dual.choose(self.least(lut_price, mu))):
            at = int(np.flatnonzero(ids == group)[0])
            rows = p[starts[at]:starts[at + 1] if at + 1 < len(starts) else len(p)]
            picked.append(rows[int(np.argmin(rows[:, 4] + mu * (rows @ price)))])
        return picked


def _golden_max(f, low: float, high: float, stop: float) -> tuple[float, float]:
    """The greatest value of `f` seen by a golden-section search for its maximum on [low, high] (unimodal: the dual
    is concave in the price, so in its logarithm unimodal), stopping once one exceeds `stop`, and where it was."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = f(a), f(b)
    best = max((fa, a), (fb, b))
    for _ in range(PRICE_STEPS):
        if best[0] > stop:
            break
        if fa < fb:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = f(b)
        else:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = f(a)
        best = max(best, (fa, a), (fb, b))
    return best


def memory_bound_ii(points: list[np.ndarray], sides: list[Sides], platform, utilisation: float) -> float:
    """An II (cycles) no design beats: the fastest node's least, or, within SEARCH_TOLERANCE, the greatest at which
    `least_traffic` does not fit `utilisation` of the bandwidth (inf: none fits)."""
    bits_per_cycle = utilisation * platform.bandwidth_bits_per_cycle

    def fits(ii: float) -> bool:
        traffic = least_traffic(points, sides, platform, utilisation, ii, bits_per_cycle * ii)
        return traffic is not None and traffic <= bits_per_cycle * ii

    low = max(p[:, 0].min() for p in points)  # no design is faster than its slowest node's fastest point
    if fits(low):
        return low
    high = low * 2
    while not fits(high):
        if high > 1e15:
            return math.inf
        high *= 2
    while high - low > SEARCH_TOLERANCE * low:
        middle = (low + high) / 2
        low, high = (low, middle) if fits(middle) else (middle, high)
    return low  # no design fits at it, so none is faster


def memory_bound_fps(network: Network, platform, utilisation: float, spatial: bool = False) -> float:
    """Issue 14's memory bound (module docstring) in frames per second (0: no design fits)."""
    ii = memory_bound_ii(*node_points(network, platform, spatial), platform, utilisation)
    return 0.0 if math.isinf(ii) else throughput(platform.clock_mhz, ii)


CAUSES = ("graph I/O", "evicted skips", "line buffers", "weights once", "weights re-read")


def traffic_causes(model: NodeModel, choice, cost) -> dict[str, float]:
    """A node's DRAM bits per inference at `choice` (its `cost`) by cause (CAUSES): a graph port's or an evicted
    skip's all theirs; a weighted node's streamed words once per inference, their sweeps beyond the first (a tile
    sweeps them ceil(pixels / tile) times, kinds/conv.py), and the rest, which its kind charges before its weights
    are placed, its line buffer's rows read back."""
    if model.elastic:
        return {"evicted skips": cost.offchip_bits}
    if not model.has_weights:
        return {"graph I/O": cost.offchip_bits} if cost.offchip_bits else {}
    placed = model.evaluated(choice[0], choice[4], choice[5])
    weights, sweeps = cost.offchip_bits - placed.offchip_bits, max(placed.weight_sweeps, 1)
    return {"line buffers": placed.offchip_bits, "weights once": weights / sweeps,
            "weights re-read": weights - weights / sweeps}


def explain(model: str, board: str, bits: int, cache: str, explored: str, utilisation: float, top: int) -> None:
    """Explore's design of `model` (the IR in `explored`, written there by the explore pass if absent) against the
    bound's design at its II: the design's traffic by cause, then each node's bits, memory and sweeps in both."""
    from dfcc.backends.estimate import Estimate
    from dfcc.backends.output import module_text
    from dfcc.bench.model_cache import emulate_bits, lowered
    from dfcc.frontends.mlir import make_context, parse_module
    from dfcc.hardware.platforms import load_platform
    from dfcc.passes.explore import Explore

    platform = load_platform(board)
    module = lowered(model, cache)
    emulate_bits(module, bits)
    if os.path.exists(explored):
        with open(explored) as f:
            design = parse_module(f.read(), explored)
    else:
        design = module.clone()
        Explore(platform=board, utilisation=utilisation).apply(make_context(), design)
        with open(explored, "w") as f:
            f.write(module_text(design))
    estimate = Estimate.of_module(design)
    net, totals = estimate.network, estimate.totals
    causes = [traffic_causes(m, c, cost) for m, c, cost in zip(net.nodes, net.ir_choices(), totals.costs)]
    print(f"{model} {platform.name} {bits}-bit: explore's design II {totals.ii:,} ({throughput(platform.clock_mhz, totals.ii):.1f}"
          f" fps), {totals.offchip_bits / 1e9:.3f} Gbit a frame, BRAM18 {totals.bram18:,} (FIFOs {totals.fifo_bram18:,}),"
          f" URAM {totals.uram:,}, LUT {totals.lut:,}")
    for cause in CAUSES:
        print(f"  {cause:16s} {sum(c.get(cause, 0) for c in causes) / 1e9:8.3f} Gbit")
    network = Network.from_module(module)
    priced = _Priced.at(*node_points(network, platform), platform, utilisation, totals.ii)
    value, lut_price, mu = priced.best()
    picked = priced.design(lut_price, mu)
    used = np.sum(picked, axis=0)
    print(f"bound at that II: >= {value / 1e9:.3f} Gbit (a BRAM18 priced {mu:,.0f} bits, a LUT {lut_price:.3g} BRAM18);"
          f" its dual's design {used[4] / 1e9:.3f} Gbit, BRAM18 {used[1]:,.0f}, URAM {used[2]:,.0f}, LUT {used[3]:,.0f}"
          f" (budget {utilisation * platform.bram18:,.0f}, {utilisation * platform.uram:,.0f},"
          f" {utilisation * platform.lut:,.0f})")
    skips = np.sum(picked[len(network.nodes):], axis=0) if len(picked) > len(network.nodes) else np.zeros(len(COLUMNS))
    print(f"  its {len(picked) - len(network.nodes)} skips (skip_points): BRAM18 {skips[1]:,.1f}, URAM {skips[2]:,.1f},"
          f" LUT {skips[3]:,.0f}, {skips[4] / 1e9:.3f} Gbit through DRAM")
    by_name = {m.name: (c, cost) for m, c, cost in zip(net.nodes, causes, totals.costs)}
    rows = []
    for m, point in zip(network.nodes, picked):
        found, cost = by_name.get(m.name, ({}, None))
        moved = sum(found.values())
        rows.append((moved - point[4], m.name, moved, found, cost, point))
    print(f"{'node':24s} {'Mbit':>8s} {'bound':>8s} {'re-read':>8s} {'sweeps':>7s} {'bound':>7s} "
          f"{'BRAM18':>6s} {'bound':>6s} {'LUT':>7s} {'bound':>7s}  tiles (bound's chain read, written)")
    for excess, name, moved, found, cost, point in sorted(rows, key=lambda r: -abs(r[0]))[:top]:
        weight_bits = cost.weight_width * cost.weight_depth if cost is not None else 0
        sweeps = (lambda b: f"{b / weight_bits:7.1f}" if weight_bits else f"{'':7s}")
        print(f"{name:24s} {moved / 1e6:8.1f} {point[4] / 1e6:8.1f} {found.get('weights re-read', 0) / 1e6:8.1f} "
              f"{sweeps(moved - found.get('line buffers', 0))} {sweeps(point[4])} {cost.bram18 if cost else 0:6,d} "
              f"{point[1]:6,.0f} {cost.lut if cost else 0:7,d} {point[3]:7,.0f}  {point[5]:.0f}, {point[6]:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="explore's design's DRAM traffic against the memory bound's")
    parser.add_argument("model")
    parser.add_argument("--board", default="zcu102")
    parser.add_argument("--bits", type=int, default=16)
    parser.add_argument("--cache", default="/tmp/dfcc-bench")
    parser.add_argument("--explored", help="the explored IR: read if it exists, else written (default: explored "
                                           "again into a file in the cache)")
    parser.add_argument("--utilisation", type=float, default=0.9)
    parser.add_argument("--top", type=int, default=40, help="nodes listed, most traffic beyond the bound's first")
    args = parser.parse_args()
    explored = args.explored or os.path.join(args.cache, f"{args.model}.{args.board}.{args.bits}.explored.mlir")
    explain(args.model, args.board, args.bits, args.cache, explored, args.utilisation, args.top)


if __name__ == "__main__":
    sys.exit(main())
