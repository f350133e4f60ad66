"""Issue 14's memory bound: the highest fps any design of explore's space reaches within `utilisation` of a board's
on-chip memory, LUTs and DRAM bandwidth, from the cost model's own numbers (bench/bench_throughput.py's "mem bound").

Each node's design points are what its cost facet charges (kinds/*.py `cost`, `NodeModel.placed_use`): every
folding explore lists with weights allowed off chip (passes/explore.py `foldings`: every tile, each inner product
it weighs), at each weight place (passes/weight_allocation.py `weight_places`: BRAM, URAM, LUTRAM, DRAM, or split
by depth), its multipliers on DSPs (the fewest LUTs), and a conv's with its line buffer in DRAM (passes/spill.py
`line_buffer_evicted`); a conv reading or writing a stream that can be tile-major (passes/tile_order.py
`orderable_streams`) also in every order the chain could give it (`ordered_models`). A point is (cycles, BRAM18,
URAM, LUT, DRAM bits per inference).

A design at II cycles takes one point a node, each of at most II cycles, their memory within the budget and their
traffic within `utilisation` x the bandwidth x II. Weighting URAM and LUTs in BRAM18 (URAM_PRICE, LUT_PRICES: any
non-negative weights keep the sum of the three budgets a budget of the weighted sum), each node's points become
(memory, traffic) options of a multiple-choice knapsack, whose LP relaxation (analyses/knapsack.py) moves no more
traffic than any such design: a lower bound on its traffic at that II, the greatest over the weights taken. The bound
is the least II whose lower bound fits the bandwidth (binary search: the traffic bound falls and the bandwidth
grows with the II). What no node's point holds (FIFOs between nodes, width converters, skips in DRAM) is left out:
it only lowers what a design reaches.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from xdsl.rewriter import Rewriter

from dfcc.analyses.knapsack import hull_steps, lp_least_traffic
from dfcc.analyses.network import Network
from dfcc.hardware.memory import BRAM18_ASPECTS, URAM_DEPTH, URAM_WIDTH
from dfcc.hardware.cycles import throughput
from dfcc.kinds.conv import ConvOp, point_stride
from dfcc.kinds.cost import WEIGHT_PERIOD_FACTOR, Folding, NodeModel, cost_key, describe
from dfcc.kinds.inner_product import searched_products, written_product
from dfcc.passes.explore import DESIGN_ATTRS, _pareto, foldings
from dfcc.passes.spill import line_buffer_evicted
from dfcc.passes.tile_order import chains, orderable_streams
from dfcc.passes.weight_allocation import weight_places

# UG573 / UG1085: a BRAM18 holds 18 Kbit, a URAM 288 Kbit, a LUT as distributed RAM 64 bits (UG574)
BRAM18_BITS = BRAM18_ASPECTS[-1][0] * BRAM18_ASPECTS[-1][1]
URAM_PRICE = URAM_WIDTH * URAM_DEPTH / BRAM18_BITS
LUT_PRICES = tuple(2 ** (k / 2) * 64 / BRAM18_BITS for k in range(-4, 9))  # BRAM18 a LUT: the weights tried
# a point's row: its tag is the tile R of the chain it reads or writes tile-major (tile R block B; 0: pixel-major)
COLUMNS = ("cycles", "bram18", "uram", "lut", "offchip_bits", "tag")
TAG = COLUMNS.index("tag")
SEARCH_TOLERANCE = 1e-4  # the binary search's relative step on the II


def model_points(model: NodeModel, platform, spatial: bool = False, orderable: frozenset = frozenset(),
                 side: str | None = None) -> np.ndarray:
    """The rows (COLUMNS) of the design points of `model` explore may take (module docstring), with those of its
    tiles reading or writing the `orderable` streams tile-major (`ordered_points`, tagged with the tile of the
    chain on its `side`), of each tag those no other beats in every column (passes/explore.py `_pareto`: a beaten
    point never gives a bound less traffic)."""
    listed = [(folding, product) for product in searched_products(model.op, written_product(model.op))
              for folding in foldings(model, spatial, True, product)]
    rows = [(*row, 0) for row in point_rows(model, listed, platform)] + ordered_points(model, listed, orderable, side,
                                                                                  platform)
    return _fronts(np.unique(np.array(rows, dtype=np.float64).reshape(-1, len(COLUMNS)), axis=0))


def _fronts(rows: np.ndarray) -> np.ndarray:
    """Of each tag's `rows`, those no other of the tag beats in every column."""
    fronts = [rows[rows[:, TAG] == tag] for tag in np.unique(rows[:, TAG])]
    return np.concatenate([front[_pareto(front[:, :TAG])] for front in fronts])


def point_rows(model: NodeModel, listed: list[tuple[Folding, str | None]], platform) -> list[tuple[float, ...]]:
    """The rows of `model` at each (folding, inner product) `listed`, at each weight place, multipliers on DSPs."""
    places = weight_places(platform) if model.has_weights else [("bram", 100)]
    rows = []
    for folding, product in listed:
        cost = model.evaluated(folding, product)
        period = model.weight_period(folding)
        for memory, on_chip in places:
            bram, urams, luts, _, offchip = model.placed_use(cost, memory, on_chip, period)
            rows.append((cost.cycles, bram, urams, luts, offchip))
    return rows


def ordered_points(model: NodeModel, listed: list[tuple[Folding, str | None]], orderable: frozenset,
                   side: str | None, platform) -> list[tuple[float, ...]]:
    """The rows of conv `model`'s tiled foldings in `listed` writing its output tile-major (tile R block B: tile R,
    coarse_out B) where the output is `orderable`, or reading its input so (a 1x1 unpadded conv at stride S: tile
    R / S^2, coarse_in B) where the input is, or both (kinds/conv.py `tile_order_problems`): each chain's (R, B)
    any, not the one its other nodes take (passes/tile_order.py), so a superset of the orders explore writes; each row
    tagged with the R of its `side` ("in", "out"; 0: pixel-major there, or no `side`)."""
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
        outs = (None, (folding[tile], folding[co])) if writes else (None,)
        ins = (None, (stride ** 2 * folding[tile], folding[ci])) if stride is not None else (None,)
        for orders in itertools.product(ins, outs):
            if orders != (None, None):
                by_order.setdefault(orders, []).append((folding, product))
    rows = []
    for (order_in, order_out), points in by_order.items():
        copies = _ordered_copy(op, order_in, order_out)
        tag = {"in": order_in, "out": order_out}.get(side) or (0,)
        try:
            rows += [(*row, tag[0]) for row in point_rows(describe(copies[-1]), points, platform)]
        finally:
            for copy in reversed(copies):
                copy.drop_all_references()
    return rows


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


def node_points(network: Network, platform, spatial: bool = False) -> tuple[list[np.ndarray], list[list[int]]]:
    """Each node's points (`model_points`) with those of its conv's line buffer in DRAM, repeated layers (equal
    cost keys, as orderable) costed once; and the knapsack's items: the convs tied to a chain that can be tile-major
    together (`chain_sides`), the other nodes one by one."""
    module = network.nodes[0].op.get_toplevel_object() if network.nodes else None
    orderable = frozenset(orderable_streams(module)) if module is not None else frozenset()
    sides = chain_sides(network, module, orderable)
    known: dict = {}
    points, items = [], {}
    for n, model in enumerate(network.nodes):
        side, chain = sides.get(n, (None, None))
        items.setdefault(("node", n) if chain is None else chain, []).append(n)
        key = cost_key(model.op, DESIGN_ATTRS)
        if key is not None:
            key = (key, side, *(v in orderable for v in (*model.op.operands, *model.op.results)))
        if key is None or key not in known:
            found = model_points(model, platform, spatial, orderable, side)
            evicted = line_buffer_evicted(model.op)
            if evicted is not None:
                found = _fronts(np.concatenate([found, model_points(evicted, platform, spatial)]))
            if key is not None:
                known[key] = found
        else:
            found = known[key]
        points.append(found)
    return points, list(items.values())


def chain_sides(network: Network, module, orderable: frozenset) -> dict[int, tuple[str, int]]:
    """Node index -> ("in" or "out", chain index) for each ungrouped conv reading a chain that can be tile-major
    (passes/tile_order.py `chains`, `orderable_streams`) as a 1x1 unpadded conv (`point_stride`), else writing one:
    a chain's (R, B) is one, so its convs take the same tile R there. A conv on two chains is tied to the one it
    reads, free on the other (a relaxation: ResNet-50 ZCU102, 16 bits, 95.7 fps; tied to the one it writes, 121.1;
    free on both, 121.1)."""
    if module is None:
        return {}
    chain_of = {v: i for i, (values, _, _) in enumerate(chains(module)) if all(v in orderable for v in values)
                for v in values}
    sides = {}
    for n, model in enumerate(network.nodes):
        op = model.op
        if not isinstance(op, ConvOp) or op.groups.value.data != 1:
            continue
        if op.input in chain_of and point_stride(op) is not None:
            sides[n] = ("in", chain_of[op.input])
        elif op.output in chain_of:
            sides[n] = ("out", chain_of[op.output])
    return sides


def least_traffic(points: list[np.ndarray], items: list[list[int]], platform, utilisation: float,
                  ii: float) -> float | None:
    """A lower bound on the DRAM bits per inference of any design at `ii` cycles within `utilisation` of the
    memories and LUTs (module docstring); None where none fits."""
    fastest = [p[p[:, 0] <= ii] for p in points]
    if any(not len(p) for p in fastest):
        return None
    bound = 0.0
    for lut_price in LUT_PRICES:
        price = np.array([0.0, 1.0, URAM_PRICE, lut_price, 0.0, 0.0])
        capacity = utilisation * (platform.bram18 + URAM_PRICE * platform.uram + lut_price * platform.lut)
        options = [_item_options([fastest[n] for n in nodes], price) for nodes in items]
        traffic = None if any(not o for o in options) else lp_least_traffic(options, capacity)
        if traffic is None:
            return None
        bound = max(bound, traffic)
    return bound


def _item_options(members: list[np.ndarray], price: np.ndarray) -> list[tuple[float, float]]:
    """A knapsack item's (memory, traffic) options: a node's front, or of a chain's convs, for each tile R every one
    of them can take there (0: pixel-major), the vertices of the sum of their lower hulls (analyses/knapsack.py
    `hull_steps`: the steepest step of any first), whose convex hull the LP relaxation takes (the sum's hull is
    that of every combination of their points)."""
    if len(members) == 1:
        return _front(members[0] @ price, members[0][:, 4])
    options = []
    for tag in set.intersection(*(set(p[:, TAG].tolist()) for p in members)):
        fronts = [_front(p[p[:, TAG] == tag] @ price, p[p[:, TAG] == tag][:, 4]) for p in members]
        starts, steps = hull_steps(fronts)
        memory = sum(fronts[i][j][0] for i, j in enumerate(starts))
        traffic = sum(fronts[i][j][1] for i, j in enumerate(starts))
        options.append((memory, traffic))
        for step in steps:
            memory, traffic = memory + step.memory, traffic - step.saved
            options.append((memory, traffic))
    return options


def _front(memory: np.ndarray, traffic: np.ndarray) -> list[tuple[float, float]]:
    """The (memory, traffic) options no other beats in both (the knapsack's hull is among them)."""
    order = np.lexsort((traffic, memory))
    memory, traffic = memory[order], traffic[order]
    before = np.concatenate([[np.inf], np.minimum.accumulate(traffic)[:-1]])
    kept = traffic < before
    return list(zip(memory[kept].tolist(), traffic[kept].tolist()))


def memory_bound_ii(points: list[np.ndarray], items: list[list[int]], platform, utilisation: float) -> float:
    """An II (cycles) no design beats: the fastest node's least, or, within SEARCH_TOLERANCE, the greatest at which
    `least_traffic` does not fit `utilisation` of the bandwidth (inf: none fits)."""
    bits_per_cycle = utilisation * platform.bandwidth_bits_per_cycle

    def fits(ii: float) -> bool:
        traffic = least_traffic(points, items, platform, utilisation, ii)
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
