"""explore{platform=NAME utilisation=0.9 seed=0 off-chip-weights=auto evict-skips=auto spatial=auto jobs=auto}:
choose every node's folding for the highest throughput that fits the platform, and size the
skip-connection FIFOs.

With `off-chip-weights=true` a node's weights may also stream from DRAM, within utilisation x the board's
off-chip bandwidth at the II the design reaches (a design faster than its target moves its bits in fewer
cycles: ResNet-50 on a ZCU102 took 94 % of it at the target's budget): the search places whole memories (BRAM, URAM, LUTRAM or DRAM), and a
target whose rounds do not fit gets its weight memories re-placed at the same foldings, each split by depth
at any percent (AutoWS; passes/spill.py place_weights), and where that does not fit either, every streamable node's
weight-stationary tile and weight place re-allocated at its compute folding for the least DRAM traffic within the
memory budget (passes/weight_allocation.py: ResNet-50 on a ZCU102 46.3 -> 48.3 fps), a design whose traffic then needs
a slower II than its stages reach paced to that II (one node slowed, `_paced`). `auto` (the default) searches with every weight on
chip first, then, where the HLS backend builds streamed weights (fixed-point dense conv and linear nodes only,
a board with DRAM bandwidth), searches again with them allowed in DRAM when nothing fit on chip (every node's)
or when the on-chip design's weights hold a quarter of a memory about as full as its fullest resource
(ResNet-50 on a U250: BRAM, URAM and LUTRAM nearly full; the largest memories', half the weight bits), and
keeps the faster design; `false` keeps every weight on chip. With
`evict-skips=true` each skip connection whose FIFO takes more BRAM than a DRAM ring's m_axi adapters first moves
to DRAM (`dataflow.ddr_fifo` on its edge, SMOF) while the traffic fits the bandwidth at the fastest II the
network could reach (passes/spill.py evict_paying_skips); their traffic counts in the bandwidth. `auto` (the
default) searches the graph as it is first, then, on a board with DRAM bandwidth, with those skips evicted when
nothing fit or when the skip FIFOs hold a quarter of a memory about as full as the design's fullest resource
(MobileNetV3-Large and ResNet-50 on a ZCU102: BRAM), and keeps the faster design (`explore_module`); `false`
keeps every skip on chip. The skips evicted are chosen at the IR's folding (one lane a node), where a FIFO's depth
is not the explored design's: where that design streams weights from DRAM, its rings are priced again at its
foldings, one kept where its traffic is less than what the BRAM it frees would save holding streamed weights (at
the design's DRAM bits per BRAM18 of them: passes/spill.py skips_worth_evicting), and the graph with only those
is explored too when they are fewer, the faster design kept, the one with fewer rings if as fast (on a ZCU102, its
searched II: DenseNet-121 16-bit, 52 rings, 4,039,168 cycles; the 47 worth keeping, 4,020,352; 8-bit, 23 rings,
1,611,904; 21, 1,610,408. Slower, so dropped: ResNet-50 16-bit, 16 rings, 3,560,872; 8, 4,014,080; 8-bit, 14 rings,
1,247,744; 8, 1,253,284; bench_explore --designs prints these).
`jobs=N` costs the nodes' points, runs the searches of fit_lanes' two rules (step 2) and the split targets (step 5)
N at a time, side by side in N processes (analyses/forked.py: the caller and N - 1 forked workers); `auto` (the
default), one per core this process may use; `jobs=1` never forks. With N > 1 the FIFO sizing runs its two
independent schedules on two threads (analyses/fifo_sizing.py). The design and its depths are the same whatever N.

The model optimised is exactly the estimate backend's (`dfcc.backends.estimate`).

Search (deterministic given the seed):
1. Every node's legal design points: each folding factor a divisor of its dimension (a partial factor,
   a conv's `fine` and an ungrouped conv's `coarse_out`: the least value for each number of steps, those
   the kind sifts out not worth costing: kinds/conv.py `sift`), times where its
   weight memory lives (BRAM; URAM if the board has it; LUTRAM), times how its multipliers are built (DSPs or
   fabric) and, in step 5's second search, on a fixed-point conv or linear where FFIP may pay, how it takes its
   inner products ("direct" or "ffip", kinds/inner_product.py; unless the IR said before the first search), or,
   for a tiled conv, where its sums and kept outputs live (BRAM as the rule puts them, or LUTRAM for those no
   deeper than a LUT RAM: kinds/conv.py `tile_lutram_options`; the weight allocation weighs them with each tile
   in every search).
   Spatial parallelism (`pixels` > 1 on graph inputs, and on convs, maps, pools, forks and reductions over the
   width taking whole pixels per beat) only with spatial=true, or with auto (the default) in a second search,
   where the design found at one pixel per beat is bound by the pixel rate (a node setting its II at its fastest
   folding), the faster design kept (`explore_module`).
   Points that are no faster and no cheaper in every resource than another are dropped, but for a node without
   hardware (a reshape: every point costs nothing), whose lanes matter to its neighbours alone.
2. For a target initiation interval T, every node takes its cheapest point with cycles <= T, cheapest
   meaning the smallest weighted sum of its resources as fractions of the budget (utilisation x
   device). If the network total (skip FIFOs included) is over budget in some resource, that
   resource's weight rises and the nodes choose again (a Lagrangian relaxation), a few rounds.
   The same weights can prove a target infeasible (the nodes' cheapest weighted use already
   exceeds the weighted budget: Lagrangian duality), which ends that target at once.
   A node without hardware takes the lanes its producer writes (where a point of it within T does): no node's
   score counts the converters its lanes would need otherwise.
   A lane converter (analyses/network.py) on an edge whose two ends' lanes differ is a stage too: where
   one would take more than T, or pace the conv it widens beats for beyond T, one end takes its cheapest
   point within T whose lanes keep its converters within T: the end whose refit costs less (a one-lane
   fork widened rather than the conv it feeds folded less) or the consumer if it can. The per-node score
   sees neither the skip FIFOs nor the converters a refit changes, so neither rule is always better
   (ResNet-50 U250 is faster with the first, DenseNet-121 with the second): the search runs with each
   and keeps the faster design. If the rounds
   end over budget, a greedy repair moves one node at a time (never to a point whose converters would
   exceed T).
3. T is searched by bisection over the cycle counts nodes can actually take (a target met only at
   a slower II counts as missed), then the few values just below the best one are tried with more
   rounds (feasibility is nearly, not exactly, monotone) until one is proven infeasible (and with
   it every lower one) or three in a row fail.
4. Lanes matched: a data-movement node (a `coarse` factor, the lanes it reads and writes, no
   MACs) whose lanes differ from its producer's takes the producer's lanes (past its channels,
   with spatial=true, as whole pixels per beat) where that folding is legal, no slower than the
   II and within budget, so the HLS design needs no lane converter there. Then each converter left, the
   dearest first: one end takes a folding within the II whose lanes drop it (or make it a narrowing one,
   cheaper: analyses/network.py) where the design is then faster, or as fast and cheaper in total (its
   resources as shares of the budget, summed), so a consumer takes a few more DSPs or LUTs where the
   converter, or the pace it sets, costs more.
5. FFIP where DSPs bind, LUTRAM tile memories where BRAM binds: the search (steps 2-6) runs with every node's
   inner product direct (or as its IR says) and its tile memories where the rule puts them; when DSPs are that
   design's fullest resource it runs again with both inner products among the points of the nodes that may pair
   theirs (FFIP: fewer DSPs, more LUTs; its points added to the first search's Pareto front, not to every direct
   point again) and the faster design is kept. Where DSPs have room FFIP's LUTs are pure cost, yet the rounds'
   weighted sums (a DSP ~100 LUTs of a budget) take it: ResNet-50 on a ZCU102 (BRAM and DRAM bound) fell from
   49.8 to 46.3 fps with FFIP among its points; on a U250 (DSP bound) it rose from 1,246 to 1,388 fps. Likewise
   tile memories in LUTRAM (fewer BRAM18, more LUTs): when BRAM or the DRAM traffic (BRAM18 freed holds streamed
   weights) is MEMORY_BOUND as full as the first design's fullest resource and some node's front gains such a
   point, the search runs again with them added to the first search's front, over the targets below its II only,
   and the faster design is kept. Among every search's points their LUTs went where FFIP's second search needed
   them: ResNet-50 on a U250 fell from 1,388 to 1,246 fps. Split multipliers where DSPs bind: a dense conv
   (ungrouped, no tiles) or linear node may keep a share of its parallel multipliers (DSP_SHARES, its first lanes)
   on DSPs and build the rest in fabric (`dataflow.dsp_share`), so one big node can take the last DSPs and the
   free LUTs at once. A split's resources lie between the node's all-DSP and all-fabric points, so step 2's rounds
   never prefer one (nor does it weaken their infeasibility proofs); only the repair can use them. So when DSPs
   are the design's fullest resource, the targets below its II not proven infeasible are searched again (as in
   step 3's polish) with splits among the nodes' points, each target's repair started again from the next rounds'
   designs (up to SPLIT_REPAIR_STARTS, the least over budget first) where it fails.
6. DSPs where they are free: nodes left with fabric (LUT) multipliers move them onto DSPs while
   the DSP budget has room (most LUTs saved per DSP first), all of them or the largest split share
   the room pays for. Same cycles, so the II is unchanged; fabric multipliers stay only where the
   DSPs ran out.
Results are written to the IR: folding properties on every node, `dataflow.weights_memory` where weights are not in
BRAM, `dataflow.mult_impl` (and `dataflow.dsp_share`) where multipliers are in fabric, `dataflow.inner_product` where
the node had one to choose, `dataflow.tile_lutram` where a tiled conv keeps tile memories in LUTRAM above a BRAM's
worth, FIFO depths in the stream types (analyses/fifo_sizing.py: depths that keep the II of the design with unbounded
streams, read off a simulated schedule) and their memory where moved out of BRAM, `dataflow.platform` on the module.
7. FIFOs that fit: the search costs the skip FIFOs (SATAY; from both ends' spans of an inference, with what a DRAM
   ring cannot hold) and those a tiled conv's stored tiles need (analyses/network.py), moving them to URAM or LUTRAM while
   BRAM is over budget (analyses/fifo_memory.py, which then places every sized FIFO the same way);
   when the simulated depths need more memory than the budget has left, weight memories move at the same foldings (passes/spill.py
   place_weights: the same pipeline, so the depths stay valid) if that fits, else the search runs again
   with the overshoot (summed over the rounds; in the last round at least the most any design's sized depths took
   beyond its costed FIFOs) kept out of its budget
   (so it trades folding against the FIFO memory: a slower II), until the depths fit, or raises a
   DfccError naming the resource and the amount. A design is never written at depths that would
   hang it or run it slower than the II it reports.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import math
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from dfcc.analyses.fifo_sizing import size_fifos, write_depths
from dfcc.analyses.sized_depths import drop_sized, mark_sized
from dfcc.analyses.forked import JOBS_AUTO, fork_map, jobs_of, processes
from dfcc.kinds.cost import NodeModel, cost_key, divisors
from dfcc.kinds.conv import ConvOp
from dfcc.kinds.inner_product import (
    INNER_PRODUCT_ATTR, pairs_products, point_product, products_written, searched_products, write_product,
    written_product,
)
from dfcc.kinds.linear import LinearOp
from dfcc.kinds.reshape import ReshapeOp
from dfcc.dialects.fixed_point import fixed_of
from dfcc.dialects.dataflow import (
    DSP_SHARE_ATTR, MULT_IMPL_ATTR, MULT_IMPLS, TILE_LUTRAM_ATTR, WEIGHT_MEMORIES, WEIGHTS_MEMORY_ATTR,
    WEIGHTS_ON_CHIP_ATTR, NodeOp, drop_stream_orders,
)
from dfcc.passes.fifo_memory import place_ir_fifos
from dfcc.passes.spill import (
    edge_name, evict_edges, evict_paying_skips, place_weights, ring_edges, skips_worth_evicting,
    streamed_bits_per_block, write_weights_memory,
)
from dfcc.passes.tile_order import Costs, order_streams, written_orders
from dfcc.passes.weight_allocation import allocate_weights
from dfcc.analyses.network import (
    DEFAULT_FIFO_DEPTH, PLATFORM_ATTR, RESOURCE_LABELS, RESOURCES, Choice, Converter, Network, Totals, budget,
)
from dfcc.errors import DfccError
from dfcc.hardware.platforms import DEFAULT_PLATFORM, Platform, load_platform

BISECTION_ROUNDS = 16  # weight-update rounds per target II during bisection
POLISH_ROUNDS = 30  # rounds for each target tried just below the bisection's answer
POLISH_TARGETS = 12
POLISH_MISSES = 3  # polishing stops after this many targets in a row found infeasible
STEP = 2.0  # weight update rate of the Lagrangian rounds
REPAIR_STEPS = 400
REPAIR_CHECK = 25  # full network evaluations during repair, every this many steps
# the split search's repairs start from up to this many rounds' designs, the least over budget first, until one
# fits: its rounds swing between DSP and memory overshoots, so which one the repair can fix is nearly chance (ResNet-50
# U250 16-bit: 1,246 -> 1,361 fps; with as many starts in every search, MobileNetV3-Large ZCU102 fell 3.6 %)
SPLIT_REPAIR_STARTS = 3
REPAIR_LANE_TRIES = 50  # moves tried per repair step before giving up (each must keep its converters within T)
SPATIAL_FACTOR = "pixels"  # spatial parallelism: explored with spatial=true, or auto where the pixel rate binds
TILE_FACTOR = "tile"  # weight-stationary tiles of a conv: explored only with off-chip-weights=true
LANE_ROUNDS = 3  # passes over the converters slower than the target
LANE_TRIES = 3  # points tried at each end of a converter left in the design (_fewer_converters)
FIFO_ROUNDS = 4  # searches, each with the FIFO memory the last one's simulated depths lacked kept out of the budget
PACE_TRIES = 6  # nodes tried at a slower point to pace a DRAM-bound design to the II its traffic allows (_paced)
DSP = RESOURCES.index("dsp")  # the DSP column of the usage arrays and limits
DSP_SHARES = (75, 50, 25)  # percent of a node's multipliers on DSPs in a split (the rest in fabric), most first
MULTS_LISTED = MULT_IMPLS + DSP_SHARES  # a node's multiplier implementations in the order its points list them
WEIGHT_HOLDERS = ("bram18", "uram", "lut")  # the resources weights on chip take (LUTs as LUTRAM)
# off-chip-weights=auto searches with weights in DRAM too when they hold WEIGHT_SHARE of a weight memory at least
# MEMORY_BOUND as full as the on-chip design's fullest resource (_streams_faster)
MEMORY_BOUND = 0.9
WEIGHT_SHARE = 0.25
STREAMED_SHARE = 0.5  # ... and then only for the largest weight memories, that much of the weight bits (_largest_weights)
SKIP_SHARE = 0.25  # evict-skips=auto searches with skips in DRAM too when their FIFOs hold that share (_evicting_faster)
# the attributes `apply_design` writes as a node's design point besides its folding: no part of its points' key
DESIGN_ATTRS = frozenset({WEIGHTS_MEMORY_ATTR, WEIGHTS_ON_CHIP_ATTR, MULT_IMPL_ATTR, DSP_SHARE_ATTR,
                          INNER_PRODUCT_ATTR, TILE_LUTRAM_ATTR})


@dataclass
class _NodeSpace:
    """A node's Pareto-optimal design points as arrays (one row per point)."""

    choices: list[Choice]
    cycles: np.ndarray  # (n,)
    usage: np.ndarray  # (n, 6) resources in RESOURCES order, then off-chip bits per inference
    folding_ids: np.ndarray  # (n,) each point's folding, numbered (points differing only in memories share lanes)


def foldings(model: NodeModel, spatial: bool = False, off_chip: bool = False,
             product: str | None = None) -> list[tuple[int, ...]]:
    """The foldings explore considers: every legal one, at one pixel per beat unless `spatial`, with
    weight-stationary tiles only when weights may stream from DRAM (`off_chip`: all a tile saves is DRAM traffic),
    those the kind sifts for the inner product `product` (None: the IR's)."""
    return model.folding_options(frozenset(f for f, allowed in ((SPATIAL_FACTOR, spatial), (TILE_FACTOR, off_chip))
                                           if not allowed), product)


def _node_space(model: NodeModel, platform: Platform, product: str | None, off_chip: bool = False,
                spatial: bool = False, splits: bool = False, before: _NodeSpace | None = None,
                plain: _NodeSpace | None = None, lutram: bool = False) -> _NodeSpace:
    """The node's Pareto-optimal points with the inner product `product` (kinds/inner_product.py: FFIP only at the
    foldings it pairs, elsewhere it is the direct point) and those of `before` (its points costed before, first:
    other products', or, with `lutram`, those with its tile memories where the rule puts them; the front of all
    their points is that of `before`'s front and these, so those are not weighed again); a tiled conv's tile
    memories where the rule puts them, or, with `lutram`, only in each other place that changes its cost
    (NodeModel.lutram_options: LUTRAM trades BRAM18 for LUTs); with `splits` also its multipliers shared between
    DSPs and fabric, and, given `plain` (its points without them, no `before`, no `lutram`), only those costed: the
    front of all is that of `plain`'s front and the splits, each point in its place in the list (of a front's equal
    points the first listed stays)."""
    places = [("bram", 100)]
    if model.has_weights:
        places += [(m, 100) for m in WEIGHT_MEMORIES[1:]
                   if (m != "uram" or platform.uram > 0) and (m != "off_chip" or off_chip)]
    listed = foldings(model, spatial, off_chip, product)
    choices, rows = [], []
    places_in_list = []  # given `plain`, each point's (folding, place, multipliers) index in the list
    for f, folding in enumerate(listed):
        if product == "ffip" and not pairs_products(model.op, dict(zip(model.factors, folding)), product):
            continue
        tile_places = model.lutram_options(folding)[1:] if lutram else (None,)
        if not tile_places:
            continue
        split = splits and _splits(model, folding, product)
        if plain is not None and not split:
            continue
        mults = (() if plain is not None else MULT_IMPLS) + (DSP_SHARES if split else ())
        period = model.weight_period(folding)
        for tile_place in tile_places:
            # the point's use as `model.cost` would give it, its NodeCost not built (those of the points picked are)
            cost = model.evaluated(folding, product, tile_place)
            # each multiplier implementation's (DSPs, LUTs added); none but DSPs where there are no multipliers to move
            multiplied = [(mult, (cost.dsp, 0) if mult == "dsp" else cost.mult_change(mult))
                          for mult in mults if mult == "dsp" or cost.mult_lut]
            for p, (memory, on_chip) in enumerate(places):
                bram, urams, luts, ff, offchip = model.placed_use(cost, memory, on_chip, period)
                for mult, (dsp, mult_lut) in multiplied:
                    choices.append((folding, memory, mult, on_chip, product, tile_place))
                    rows.append((cost.cycles, dsp, bram, urams, luts + mult_lut, ff, offchip))
                    if plain is not None:
                        places_in_list.append((f, p, MULTS_LISTED.index(mult)))
    data = np.array(rows, dtype=np.float64).reshape(-1, 1 + len(RESOURCES) + 1)
    if before is not None:
        choices = before.choices + choices
        data = np.concatenate([np.column_stack([before.cycles, before.usage]), data])
    if plain is not None:
        at = {folding: f for f, folding in enumerate(listed)}
        places_in_list = [(at[c[0]], places.index((c[1], c[3])), MULTS_LISTED.index(c[2]))
                          for c in plain.choices] + places_in_list
        listing = sorted(range(len(places_in_list)), key=places_in_list.__getitem__)
        every = plain.choices + choices
        choices = [every[i] for i in listing]
        data = np.concatenate([np.column_stack([plain.cycles, plain.usage]), data])[listing]
    # a node without hardware (every point costs nothing: a reshape) keeps every folding: its fastest would dominate
    # the others, and its lanes set the converters to its neighbours (`_Search._free_lanes`)
    idx = pareto_rows(data) if data[:, 1:].any() else np.arange(len(data))
    kept = [choices[i] for i in idx]
    ids: dict[tuple[int, ...], int] = {}
    return _NodeSpace(kept, data[idx, 0], data[idx, 1:], np.array([ids.setdefault(c[0], len(ids)) for c in kept]))


def _splits(model: NodeModel, folding: tuple[int, ...], product: str | None) -> bool:
    """Whether the node at `folding` may share its multipliers between DSPs and fabric (its kernel numbers them)."""
    splits = getattr(model.op, "splits_multipliers", None)
    return splits is not None and model.evaluated(folding, product).multipliers > 1 and \
        splits(dict(zip(model.factors, folding)))


def _node_spaces(network: Network, platform: Platform, off_chip: bool | frozenset[int], spatial: bool,
                 share: bool = True, splits: bool = False, known: dict | None = None,
                 ffip: bool = False, written: list[str | None] | None = None, jobs: int = 1,
                 lutram: bool = False) -> list[_NodeSpace]:
    """Every node's design points, weights in DRAM among them for every node (`off_chip` True) or for the nodes
    in the set, its inner product the one the user wrote (`written`, by node; None: each node's IR) or, with
    `ffip`, both where the user left it to explore (`searched_products`), a tiled conv's tile memories where the
    rule puts them or, with `lutram`, also in LUTRAM (kinds/conv.py `tile_lutram_options`: tiles only where its
    weights stream); with `share`, nodes of equal cost key (repeated layers) share one space, costed once, and so
    do the nodes of other networks whose spaces `known` holds by everything a space depends on (cost key, weights
    in DRAM, spatial, splits, inner products and tile memory places, platform) and gets this network's
    (explore_module: the graph with skips evicted is the graph as it came but for the joins). The spaces not known
    are costed `jobs` at a time (analyses/forked.py), in steps: one inner product after another (FFIP's points add
    to the direct ones), then, with `lutram`, each product's LUTRAM points added to those: the same spaces whatever
    `jobs` is."""
    seen = {} if known is None else known
    written = [written_product(m.op) for m in network.nodes] if written is None else written
    chains = []  # by node: its spaces' keys (None: costed on its own), one per step, and the steps (product, LUTRAM)
    for n, model in enumerate(network.nodes):
        streams = off_chip if isinstance(off_chip, bool) else n in off_chip
        kind_key = cost_key(model.op, DESIGN_ATTRS) if share else None  # None: a node costed on its own (zero skipping)
        products = searched_products(model.op, written[n]) if ffip else (point_product(model.op, written[n]),)
        tiled = lutram and streams and model.tile_lutrams is not None  # LUTRAM points: only a tiled conv has any
        steps = tuple((product, False) for product in products) + \
            tuple((product, True) for product in products if tiled)
        keys = [None if kind_key is None else (kind_key, streams, spatial, splits, steps[:taken], platform)
                for taken in range(1, len(steps) + 1)]
        chains.append((keys, steps, streams))
    spaces: list[_NodeSpace | None] = [None] * len(chains)
    for taken in range(max((len(keys) for keys, _, _ in chains), default=0)):
        todo: dict = {}  # the spaces to cost with `taken` products: by key (by node where it has none), its node
        for n, (keys, _, _) in enumerate(chains):
            if taken < len(keys) and (keys[taken] is None or keys[taken] not in seen):
                todo.setdefault(keys[taken] if keys[taken] is not None else ("node", n), n)

        def cost(n: int) -> _NodeSpace:  # with splits, the points without them costed before (no other step's)
            keys, steps, streams = chains[n]
            plain = None if keys[taken] is None or not splits or taken else \
                seen.get(keys[taken][:3] + (False,) + keys[taken][4:])
            product, lutram_step = steps[taken]
            return _node_space(network.nodes[n], platform, product, streams, spatial, splits, spaces[n], plain,
                               lutram=lutram_step)

        # lightest first (fork_map deals tasks in turn; repeated blocks alternate heavy and light nodes): the points to
        # cost grow with the node's foldings, about its extents' divisors
        order = sorted(todo, key=lambda key: math.prod(len(divisors(e)) for e in network.nodes[todo[key]].extents))
        costed = dict(zip(order, fork_map(cost, [todo[key] for key in order], jobs)))
        for n, (keys, _, _) in enumerate(chains):
            if taken < len(keys):
                key = keys[taken]
                spaces[n] = costed[("node", n)] if key is None else seen.setdefault(key, costed.get(key))
    return spaces


def pareto_rows(data: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Indices (ascending) of the rows no other row matches or beats in every column; of exact
    duplicates the first in lexicographic order stays."""
    order = np.lexsort(data.T[::-1])  # by cycles, then resources: a row's dominators come before it
    rows = data[order]
    # a column at a time, each contiguous, and none where every row is equal (it never decides): 2.5x faster
    columns = np.ascontiguousarray(rows[:, np.any(rows != rows[:1], axis=0)].T)
    if not len(columns):  # every row the same: the first stays
        return order[:1]
    front = np.empty((len(columns), 0))  # kept rows so far, by column (the Pareto front is small)
    kept = []
    for start in range(0, len(rows), chunk):
        block = columns[:, start:start + chunk]
        alive = ~np.any(_no_worse(front, block), axis=1)
        # within the block: row j before row i and no worse in every column drops row i
        covered = _no_worse(block, block)
        covered &= np.tri(block.shape[1], k=-1, dtype=bool)
        alive &= ~covered.any(axis=1)
        kept.extend(start + np.flatnonzero(alive))
        front = np.concatenate([front, block[:, alive]], axis=1)
    return np.sort(order[np.array(kept, dtype=np.intp)])


def top_rows(values: np.ndarray, k: int) -> np.ndarray:
    """np.argsort(-values, kind="stable")[:k] (the k largest, largest first, ties and NaNs as that sort puts them)
    without sorting every value: the repair ranks every movable row at each step, and the full sort took 28 of
    DenseNet-121's 360 CPU s on a ZCU102."""
    keys = -values
    if len(keys) > k:
        kth = np.partition(keys, k - 1)[k - 1]  # NaNs sort last, as in argsort
        at = np.flatnonzero(~(keys > kth))  # the k first, ties with the k-th and NaNs, in index order
    else:
        at = np.arange(len(keys))
    return at[np.argsort(keys[at], kind="stable")][:k]


def _no_worse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[i, j]: row j of `a` is no worse than row i of `b` in every column (both by column: numpy reduces a short
    last axis slowly)."""
    result = a[0][None, :] <= b[0][:, None]
    for column in range(1, len(a)):
        result &= a[column][None, :] <= b[column][:, None]
    return result


def _weighted_sum(columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum_k weights[k] * columns[k], a column at a time: numpy's product of a tall matrix and a vector goes to a
    multithreaded BLAS, whose threads took 25x the CPU time of the work (8 ms a product of DenseNet-121's points)
    on a busy 2-core machine."""
    total = columns[0] * weights[0]
    for column, weight in zip(columns[1:], weights[1:]):
        total += column * weight
    return total


def _exp(values: np.ndarray) -> np.ndarray:
    """exp of each value by the C library, not numpy's: numpy's AVX-512 exp differs from its AVX2 one in the last bit
    of ~4 % of values, enough to move a tie between the search's points, so one input gave two designs on two CPUs."""
    return np.array([math.exp(v) for v in values])


def _lanes_folding(model: NodeModel, lanes: int) -> tuple[int, ...] | None:
    """The (coarse[, pixels]) folding of a data-movement node that reads and writes `lanes`: that many
    channels, or, past its channels (its first extent), whole pixels, lanes / channels of them."""
    channels = model.extents[0]
    if len(model.factors) == 1 or lanes <= channels:
        return (lanes,) + (1,) * (len(model.factors) - 1)
    return (channels, lanes // channels) if lanes % channels == 0 else None


class _Search:
    def __init__(self, network: Network, platform: Platform, utilisation: float, seed: int,
                 off_chip: bool | frozenset[int] = False,
                 spatial: bool = False, share: bool = True, reserve: dict[str, float] | None = None,
                 spaces: list[_NodeSpace] | None = None, cheaper_end: bool = True, ffip: bool = False,
                 written: list[str | None] | None = None, lutram: bool = False, repair_starts: int = 1):
        self.network = network
        self.repair_starts = repair_starts  # `try_target`: the rounds least over budget a repair may start from
        self.ffip = ffip  # FFIP among the points (step 5)
        self.lutram = lutram  # tile memories in LUTRAM among the points (step 5)
        # each node's inner product as the user wrote it, read before the pass's first search (None: the IR's now)
        self.written = [written_product(m.op) for m in network.nodes] if written is None else written
        self.cheaper_end = cheaper_end  # fit_lanes' rule
        self.platform = platform
        self.utilisation = utilisation
        self.reserve = {k: v for k, v in (reserve or {}).items() if v > 0}
        self.limits = budget(platform, utilisation, self.reserve)
        # the last entry is off-chip bits per inference: utilisation x bandwidth x target II (set per target)
        self.limit_vec = np.array([max(self.limits[k], 1e-9) for k in RESOURCES] + [1e30])
        self.off_chip = off_chip
        self.spatial = spatial
        self.spaces = spaces or _node_spaces(network, platform, off_chip, spatial, share, ffip=ffip,
                                             written=self.written, lutram=lutram)
        # every node's points stacked into one array, so a step over all nodes is one numpy operation
        sizes = [len(space.choices) for space in self.spaces]
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.row_node = np.repeat(np.arange(len(sizes)), sizes)
        self.all_cycles = np.concatenate([space.cycles for space in self.spaces])
        self.all_usage = np.concatenate([space.usage for space in self.spaces])
        self.usage_columns = np.ascontiguousarray(self.all_usage.T)  # for `scores`
        self.folding_ids = np.concatenate([space.folding_ids for space in self.spaces]).tolist()
        self.all_choices = [c for space in self.spaces for c in space.choices]
        rng = random.Random(seed)
        self.jitter = np.array([1.0 + 0.05 * rng.random() for _ in RESOURCES] + [1.0])
        self.evaluations = 0
        self.proven_infeasible = 0.0  # the largest target the Lagrangian weights proved infeasible (and all below)
        # designs evaluated (shared by `with_rule`): rounds often pick a design again (DenseNet-121: 257 of 686)
        self.evaluated: dict[tuple[tuple[Choice, ...], bool], Totals] = {}
        self.slow_converters: dict[tuple[float, bytes], tuple[list[Converter], list[int] | None]] = {}
        self.placements: dict = {}  # place_weights' places of each node, costed once for every target
        self.allocations: dict = {}  # allocate_weights' options of each node, likewise
        self.unit_score: np.ndarray | None = None  # `shares`
        self.lane_rows: dict[tuple[int, float], list[int]] = {}  # `_lane_rows`, by node and target
        # the nodes without hardware (every point costs nothing: a reshape relabels its words), read by `fit_lanes`
        self.free = [n for n, space in enumerate(self.spaces) if network.in_edges[n] and not space.usage.any()]

    def with_rule(self, cheaper_end: bool) -> _Search:
        """This search under the other fit_lanes rule: the same stacked points, its own evaluation state."""
        other = copy.copy(self)
        other.cheaper_end, other.limit_vec = cheaper_end, self.limit_vec.copy()
        other.evaluations, other.proven_infeasible = 0, 0.0
        return other

    def set_target(self, target: float) -> None:
        self.limit_vec[-1] = self.traffic_limit(target)
        self.evaluations = 0

    def traffic_limit(self, ii: float) -> float:
        """Off-chip bits per inference a design at `ii` may move: utilisation x the board's bandwidth x `ii`."""
        return min(max(self.utilisation * self.platform.bandwidth_bits_per_cycle * ii, 1e-9), 1e30)

    def traffic_ii(self, bits: float) -> int:
        """The least II whose traffic budget (`traffic_limit`) carries `bits` per inference."""
        return math.ceil(bits / max(self.utilisation * self.platform.bandwidth_bits_per_cycle, 1e-9))

    def floor(self) -> int:
        """No folding makes the pipeline faster than its slowest node at that node's fastest."""
        return int(max(s.cycles.min() for s in self.spaces))

    def targets(self) -> list[int]:
        floor = self.floor()
        values = np.unique(np.concatenate([s.cycles for s in self.spaces]))
        return [int(v) for v in values if v >= floor]

    def select(self, target: float, weights: np.ndarray) -> list[Choice]:
        """Every node's cheapest point within `target` (the first of equals), as a choice per node,
        then lanes refitted where a converter would be slower than `target`."""
        return self.choices_of(self.fit_lanes(target, weights, self.select_rows(target, weights)[0]))

    def fit_lanes(self, target: float, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """`rows` with the nodes without hardware at their producer's lanes (`_free_lanes`), then an end of every
        converter slower than `target` refitted (step 2): the end whose refit costs less, or (`cheaper_end` False) the
        consumer if it can, else the producer."""
        network, score = self.network, None
        rows = self._free_lanes(rows, target)
        ranked: dict[int, list[int]] = {}  # each node's `_ranked_rows` at this target and score, once asked
        for _ in range(LANE_ROUNDS):
            slow, out = self._slow_converters(target, rows)
            if not slow:
                break
            score = self.scores(weights) if score is None else score
            choices = self.choices_of(rows)
            for conv in slow:
                edge = network.edges[conv.edge]
                fits = []  # (score added, node, row) of each end's cheapest refit: the cheaper one is taken
                for n in (edge.consumer, edge.producer):
                    if n not in ranked:
                        ranked[n] = self._ranked_rows(n, target, score)
                    fit = self._cheapest_fitting(n, target, ranked[n], out, rows)
                    if fit is not None:
                        fits.append((score[fit] - score[rows[n]], n, fit))
                        if not self.cheaper_end:
                            break
                if fits:
                    _, n, rows[n] = min(fits)
                    choices[n] = self.all_choices[rows[n]]
                    out = network.lanes(choices, out, n)  # only n and what its lanes feed change
        return rows

    def _free_lanes(self, rows: np.ndarray, target: float) -> np.ndarray:
        """A copy of `rows` with each node without hardware (`free`) at the lanes its producer writes, where a row of it
        within `target` takes them: its rows all cost nothing, so the scores' pick among them says nothing, and the
        converters it then needs on either side count in no node's score (zoo ConvNeXt-tiny's reshapes, whose fastest
        folding alone was kept, at 1,536 lanes between 3-lane linears and 1-lane maps: 1.5 M FF of converters, and no
        design within a ZCU102's 0.49 M)."""
        rows = rows.copy()
        if not self.free:
            return rows
        network, choices = self.network, self.choices_of(rows)
        out = network.lanes(choices)
        for n in self.free:
            folding = _lanes_folding(network.nodes[n], out[network.edges[network.in_edges[n][0]].producer])
            start, end = self.starts[n], self.starts[n] + len(self.spaces[n].choices)
            row = next((r for r in range(start, end)
                        if self.all_choices[r][0] == folding and self.all_cycles[r] <= target), None)
            if row is not None and row != rows[n]:
                rows[n], choices[n] = row, self.all_choices[row]
                out = network.lanes(choices, out, n)
        return rows

    def _slow_converters(self, target: float, rows: np.ndarray) -> tuple[list[Converter], list[int] | None]:
        """The converters of `rows` slower than `target` (`_too_slow`) and, if any, the lanes every node writes;
        remembered (rounds meet the same rows again: DenseNet-121's rounds selected the same rows 255 times in 517)."""
        key = (target, rows.tobytes())
        hit = self.slow_converters.get(key)
        if hit is None:
            choices = self.choices_of(rows)
            slow = [c for c in self.network.converters(choices) if self._too_slow(c, rows, target)]
            hit = self.slow_converters[key] = (slow, self.network.lanes(choices) if slow else None)
        return hit

    def _cheapest_fitting(self, n: int, target: float, ranked: list[int], out: list[int],
                          rows: np.ndarray) -> int | None:
        """Node `n`'s cheapest row within `target` whose lanes fit (`_lanes_fit`), the first of equals, of its
        `ranked` rows (`_ranked_rows`: whether lanes fit is a row's folding's, its memory and multipliers move no
        lanes, so each folding is tried once, at its cheapest row)."""
        return next((r for r in self._each_folding(ranked) if self._lanes_fit(n, r, target, out, rows)), None)

    def _lanes_fit(self, n: int, row: int, target: float, out: list[int], rows: np.ndarray) -> bool:
        """Whether node `n` at `row` has no converter slower than `target` on its inputs or outputs, nor
        one that paces it (or a consumer) beyond `target`."""
        network = self.network
        folding = self.spaces[n].choices[row - self.starts[n]][0]
        if any(c.cycles > target or network.paced_cycles(n, folding, c) > target
               for c in network.input_converters(n, folding, out)):
            return False
        # its consumers read `out` with node n's lanes at `row`, then `out` is as it was (not copied: inception_v3's
        # search asked ~6 x 10^5 times)
        kept = out[n]
        out[n] = network.node_lanes(n, folding, network.producer_lanes(n, out))[1]
        try:
            for q in {network.edges[e].consumer for e in network.out_edges[n]}:
                fq = self.spaces[q].choices[rows[q] - self.starts[q]][0]
                if any(c.cycles > target or network.paced_cycles(q, fq, c) > target
                       for c in network.input_converters(q, fq, out)):
                    return False
            return True
        finally:
            out[n] = kept

    def _too_slow(self, conv: Converter, rows: np.ndarray, target: float) -> bool:
        """Whether converter `conv` takes more than `target`, or paces its consumer beyond it."""
        q = self.network.edges[conv.edge].consumer
        folding = self.spaces[q].choices[rows[q] - self.starts[q]][0]
        return conv.cycles > target or self.network.paced_cycles(q, folding, conv) > target

    def select_rows(self, target: float, weights: np.ndarray) -> tuple[np.ndarray, bool]:
        """Every node's cheapest row within `target`, and whether these weights prove that no
        design within `target` fits (Lagrangian duality: a design within budget has a weighted use
        sum(w_k used_k / limit_k) <= sum(w), and each node uses at least its cheapest row's score;
        FIFOs and converters only add)."""
        score = np.where(self.all_cycles <= target, self.scores(weights), np.inf)
        cheapest = np.minimum.reduceat(score, self.starts)
        rows = np.flatnonzero(score == cheapest[self.row_node])
        nodes = self.row_node[rows]  # ascending: the first row of each node is where the node changes
        return rows[np.flatnonzero(np.diff(nodes, prepend=-1))], cheapest.sum() > weights.sum() * (1.0 + 1e-9)

    def scores(self, weights: np.ndarray) -> np.ndarray:
        """Every point's weighted use of the budget: sum over resources of weight x use / limit."""
        return _weighted_sum(self.usage_columns, weights / self.limit_vec)

    def evaluate(self, choices: list[Choice], trace_latency: bool = False) -> Totals:
        key = (tuple(choices), trace_latency)
        totals = self.evaluated.get(key)
        if totals is None:
            self.evaluations += 1
            totals = self.evaluated[key] = self.network.evaluate(
                choices, max_bits_per_cycle=self.platform.bandwidth_bits_per_cycle, trace_latency=trace_latency,
                fifo_limits=self.limits)
        return totals

    def used(self, totals: Totals) -> np.ndarray:
        return np.array([totals.resource(k) for k in RESOURCES] + [totals.offchip_bits], dtype=np.float64)

    def over(self, totals: Totals) -> np.ndarray:
        """Each resource's use as a share of its budget, then the off-chip traffic's of the bandwidth budget at the
        II the design reaches (not the target's: a design faster than its target moves its bits in fewer cycles)."""
        limits = self.limit_vec.copy()
        limits[-1] = self.traffic_limit(totals.ii)
        return self.used(totals) / limits

    def try_target(self, target: float, rounds: int) -> tuple[list[Choice], Totals] | None:
        """A design within `target` and the budget, None if none found: the Lagrangian rounds (step 2), then, with
        weights off chip, the best round's weights re-placed, then the greedy repair from the rounds' designs, the
        least over budget first, up to `repair_starts` of them."""
        self.set_target(target)
        weights = self.jitter.copy()
        rounds_over: list[tuple[float, int, list[Choice]]] = []  # each round's worst overshoot, the round, its picks
        for k in range(rounds):
            rows, infeasible = self.select_rows(target, weights)
            if infeasible:
                self.proven_infeasible = max(self.proven_infeasible, target)
                return None
            picks = self.choices_of(self.fit_lanes(target, weights, rows))
            totals = self.evaluate(picks)
            ratio = self.over(totals)
            if np.all(ratio <= 1.0 + 1e-12):
                return picks, totals
            rounds_over.append((float(ratio.max()), k, picks))
            # multiplicative weights with a shrinking step: dearer what is over budget, cheaper
            # what has room to spare
            step = STEP / math.sqrt(k + 1)
            weights = weights * _exp(step * np.clip(ratio - 1.0, -0.5, 1.0))
        ordered = [picks for _, _, picks in sorted(rounds_over, key=lambda over: over[:2])]  # the earliest of equals
        best = ordered[0]
        if self.off_chip:  # the best round's foldings with their weight memories re-placed (passes/spill.py), their
            # traffic within the budget at the II those foldings reach (no stage's cycles depend on its weights' place)
            limits = {**self.limits, "offchip_bits": self.traffic_limit(self.evaluate(best).compute_ii)}
            placed = place_weights(self.network, best, self.evaluate(best), limits, self.platform, self.placements)
            if placed is not None:
                return placed
            allocated = _allocated(self, target, best)
            if allocated is not None:
                return allocated
        tried: list[list[Choice]] = []  # the distinct designs repaired, at most `repair_starts`
        for picks in ordered:
            if len(tried) == self.repair_starts:
                break
            if picks not in tried:
                tried.append(picks)
                repaired = self.repair(target, picks)
                if repaired is not None:
                    return repaired
        return None

    def repair(self, target: float, picks: list[Choice]) -> tuple[list[Choice], Totals] | None:
        """Greedy repair: while over budget, make the node change (still within `target`) that frees
        the most of the worst resource per use of the others' remaining room. Node sums are updated
        incrementally; the whole network (FIFOs included) is re-evaluated every few steps. A design met
        again ends it: the moves cycle (one node's weights swapped between two full memories and back)."""
        current = np.array([self.starts[n] + space.choices.index(c) for n, (space, c) in enumerate(zip(self.spaces, picks))])
        nodes_used = self.all_usage[current].sum(axis=0)
        movable = np.flatnonzero(self.all_cycles <= target)  # the rows a node may move to
        row_node = self.row_node[movable]
        # what each movable row would change of every resource (a column per row), kept up to date a node at a time
        columns = np.ascontiguousarray(self.all_usage[movable].T)
        delta = columns - self.all_usage[current][row_node].T
        spent = np.maximum(delta, 0.0)  # what each move adds of every resource, kept up to date with `delta`
        bounds = np.searchsorted(row_node, np.arange(len(self.spaces) + 1))  # each node's movable rows
        extra = None  # resources outside the nodes (FIFOs), from the last full evaluation
        seen = set()
        for step in range(REPAIR_STEPS):
            state = current.tobytes()
            if state in seen:
                return None
            seen.add(state)
            if extra is None or step % REPAIR_CHECK == 0:
                totals = self.evaluate(self.choices_of(current))
                extra = self.used(totals) - nodes_used
            ratio = (nodes_used + extra) / self.limit_vec
            if np.all(ratio <= 1.0 + 1e-12):
                totals = self.evaluate(self.choices_of(current))
                if np.all(self.over(totals) <= 1.0 + 1e-12):
                    return self.choices_of(current), totals
                extra = None
                continue
            r = int(np.argmax(ratio))
            room = np.maximum(self.limit_vec - ratio * self.limit_vec, 0.0) + 1e-9
            room[r] = np.inf
            # every node's every point at once: what it frees of r per use of the others' room
            gain = -delta[r] / self.limit_vec[r]
            spend = _weighted_sum(spent, 1.0 / room)
            value = np.where(gain > 0, gain / (spend + 1e-6), -1.0)
            # moves that keep every other resource within its room first: a node with a continuum of points
            # (weights spilled in steps) must not jump past the budget of the resource it trades into
            fits = delta[0] <= room[0]
            for column, limit in zip(delta[1:], room[1:]):
                fits &= column <= limit
            within = np.where(fits, value, -1.0)
            if within.max() > 0:
                value = within
            pick = self._best_move(value, movable, row_node, target, current)
            if pick is None:
                return None
            best, n = movable[pick], row_node[pick]
            nodes_used = nodes_used + self.all_usage[best] - self.all_usage[current[n]]
            current[n] = best
            rows = slice(bounds[n], bounds[n + 1])
            delta[:, rows] = columns[:, rows] - self.all_usage[best][:, None]
            spent[:, rows] = np.maximum(delta[:, rows], 0.0)
        return None

    def _best_move(self, value: np.ndarray, movable: np.ndarray, row_node: np.ndarray, target: float,
                   current: np.ndarray) -> int | None:
        """The most valuable move (an index into `movable`) that puts no lane converter above `target`."""
        out = None
        # stable: numpy's default sort orders ties by the CPU's SIMD kernel (AVX-512 and AVX2 differ), and a tie
        # broken otherwise is another design for the same input on another machine
        for pick in top_rows(value, REPAIR_LANE_TRIES):
            if value[pick] <= 0:
                return None
            n, row = int(row_node[pick]), int(movable[pick])
            if out is None:
                out = self.network.lanes(self.choices_of(current))
            if self._lanes_fit(n, row, target, out, current):
                return int(pick)
        return None

    def choices_of(self, rows: np.ndarray) -> list[Choice]:
        return [self.all_choices[r] for r in rows.tolist()]

    def prefer_dsps(self, picks: list[Choice], totals: Totals) -> tuple[list[Choice], Totals]:
        """Move fabric multipliers onto DSPs while the DSP budget allows (step 6 of the search): each node
        with some in fabric takes the largest DSP share (all, else a split) the room left pays for."""
        room = self.limits["dsp"] - totals.dsp
        fabric = [n for n, (_, _, mult, *_) in enumerate(picks) if mult != "dsp"]
        on_dsp = {n: self.network.nodes[n].cost(picks[n][0], picks[n][1], "dsp", *picks[n][3:]) for n in fabric}
        # most LUTs freed per DSP spent first (a node whose multipliers need no DSP at all leads)
        fabric.sort(key=lambda n: -on_dsp[n].mult_lut / max(on_dsp[n].dsp, 1e-9))
        moved = list(picks)
        for n in fabric:
            folding, memory, mult, on_chip, product, lutram = picks[n]
            model, now = self.network.nodes[n], totals.costs[n].dsp
            shares = ("dsp",) + (DSP_SHARES if _splits(model, folding, product) else ())
            for share in shares:
                if share != "dsp" and mult != "lut" and share <= mult:
                    break  # no more DSPs than it has
                extra = model.cost(folding, memory, share, on_chip, product, lutram).dsp - now
                if extra <= room:
                    room -= extra
                    moved[n] = (folding, memory, share, on_chip, product, lutram)
                    break
        if moved == picks:
            return picks, totals
        return moved, self.evaluate(moved)

    def match_lanes(self, picks: list[Choice], totals: Totals) -> tuple[list[Choice], Totals]:
        """Data-movement nodes take their producer's lanes where legal, no slower, within budget (step 4)."""
        network, current = self.network, list(picks)
        for n, model in enumerate(network.nodes):
            if model.factors not in (("coarse",), ("coarse", SPATIAL_FACTOR)) or model.macs or not network.in_edges[n]:
                continue
            producer = network.edges[network.in_edges[n][0]].producer
            lanes = totals.costs[producer].out_lanes
            folding, *placed = current[n]
            matched = _lanes_folding(model, lanes)
            if matched in (None, folding) or matched not in foldings(model, self.spatial):
                continue
            candidate = model.cost(matched)
            # only where `coarse` is the lanes of the streams it reads and writes (not a channel concat's)
            if candidate.out_lanes != lanes or candidate.cycles > totals.compute_ii:
                continue
            trial = current[:n] + [(matched, *placed)] + current[n + 1:]
            trial_totals = self.evaluate(trial)
            if trial_totals.ii <= totals.ii and np.all(self.over(trial_totals) <= 1.0 + 1e-12):
                current, totals = trial, trial_totals
        return self._fewer_converters(current, totals)

    def _fewer_converters(self, picks: list[Choice], totals: Totals) -> tuple[list[Choice], Totals]:
        """Each converter left, the dearest first, dropped or made a narrowing one (step 4): its consumer reading
        its producer's lanes or a divisor of them, or its producer writing a multiple of its consumer's, at one of
        that end's LANE_TRIES cheapest foldings doing so within the II (its weight memory and multipliers kept),
        where the design is then faster, or as fast, within budget and cheaper in total (its resources as shares
        of the budget, summed): a consumer may take a few more DSPs or LUTs than the converter, or the pace it
        sets the consumer, costs."""
        network = self.network
        current = list(picks)
        for edge_index in [c.edge for c in sorted(totals.converters, key=lambda c: -c.lut)]:
            conv = next((c for c in totals.converters if c.edge == edge_index), None)
            if conv is None:
                continue  # gone with an earlier change
            edge, out = network.edges[edge_index], network.lanes(current)
            operand = network.in_edges[edge.consumer].index(edge_index)
            best = (totals.ii, self._spent(totals)), current, totals
            for n in (edge.consumer, edge.producer):
                tried = 0
                for row in self._lane_rows(n, totals.ii):
                    if tried == LANE_TRIES:
                        break
                    folding = self.all_choices[row][0]
                    reads, writes = network.node_lanes(n, folding, network.producer_lanes(n, out))
                    if folding == current[n][0] or \
                            ((conv.lanes_in % reads[operand]) if n == edge.consumer else (writes % conv.lanes_out)):
                        continue
                    tried += 1
                    trial = current[:n] + [(folding,) + current[n][1:]] + current[n + 1:]
                    if not self._dsps_fit(totals, n, trial[n]):
                        continue
                    trial_totals = self.evaluate(trial)
                    key = (trial_totals.ii, self._spent(trial_totals))
                    if key < best[0] and np.all(self.over(trial_totals) <= 1.0 + 1e-12):
                        best = key, trial, trial_totals
            _, current, totals = best
        return current, totals

    def _dsps_fit(self, totals: Totals, n: int, choice: Choice) -> bool:
        """Whether the design of `totals` with node `n` at `choice` keeps its DSPs within the budget, as `over` weighs
        them: DSPs are the nodes' alone, so a trial found over needs no evaluation (zoo DenseNet-121 U250: one in nine
        of `_fewer_converters`' trials)."""
        dsp = totals.dsp - totals.costs[n].dsp + self.network.nodes[n].cost(*choice).dsp
        return dsp / self.limit_vec[DSP] <= 1.0 + 1e-12

    def _spent(self, totals: Totals) -> float:
        """A design's resources as shares of the budget, summed."""
        return float(np.sum(self.over(totals)[:-1]))

    def _lane_rows(self, n: int, target: float) -> list[int]:
        """Node `n`'s rows within `target`, the cheapest row of each folding, cheapest first (their resources as
        shares of the budget, summed: not the target's, so remembered for every target and rule)."""
        key = (n, target)
        rows = self.lane_rows.get(key)
        if rows is None:
            rows = self.lane_rows[key] = list(self._each_folding(self._ranked_rows(n, target, self.shares())))
        return rows

    def shares(self) -> np.ndarray:
        """Every point's resources as shares of the budget, summed (off-chip bits are a limit, not a cost); once."""
        if self.unit_score is None:
            unit = np.ones(len(self.limit_vec))
            unit[-1] = 0.0
            self.unit_score = self.scores(unit)
        return self.unit_score

    def _ranked_rows(self, n: int, target: float, score: np.ndarray) -> list[int]:
        """Node `n`'s rows within `target`, cheapest first (the first of equals)."""
        start = self.starts[n]
        within = start + np.flatnonzero(self.all_cycles[start:start + len(self.spaces[n].choices)] <= target)
        return within[np.argsort(score[within], kind="stable")].tolist()

    def _each_folding(self, rows: list[int]) -> Iterator[int]:
        """The first of `rows` of each folding, in their order (walked only as far as a caller asks: fit_lanes
        mostly takes the first)."""
        seen = set()
        for row in rows:
            folding = self.folding_ids[row]
            if folding not in seen:
                seen.add(folding)
                yield row

    def lower_bounds(self) -> dict[str, float]:
        """Each resource's least possible total (every node at its cheapest point for it)."""
        return {k: float(sum(s.usage[:, j].min() for s in self.spaces)) for j, k in enumerate(RESOURCES)}


def _allocated(search: _Search, target: float, picks: list[Choice]) -> tuple[list[Choice], Totals] | None:
    """`picks` with the tiles and weight places of the nodes whose weights may stream re-allocated for the least DRAM
    traffic at their compute foldings (passes/weight_allocation.py), if that design fits the budget, its traffic
    within the bandwidth at its II, or does once paced (`_paced`)."""
    nodes = None if search.off_chip is True else search.off_chip
    allocated = allocate_weights(search.network, picks, search.evaluate(picks), search.limits, search.platform, target,
                                 nodes, search.allocations)
    if allocated is None or np.all(search.over(allocated[1]) <= 1.0 + 1e-12):
        return allocated
    return _paced(search, target, *allocated, nodes)


def _paced(search: _Search, target: float, picks: list[Choice], totals: Totals,
           nodes: frozenset[int] | None) -> tuple[list[Choice], Totals] | None:
    """A design within budget but for its DRAM traffic, which needs the bandwidth budget of an II (`paced`) between
    its compute II and `target`, run at about that II: one node slowed to a point of its within [paced, target] (the
    least cycles, of a compute folding its row freeing the most of the budget, none that frees none), the weights
    allocated again; while that design's traffic needs a slower II still, paced is that II and the next point is
    tried, PACE_TRIES in all. The design is DRAM-bound either way; paced, its stages' II is one its traffic fits, so
    explore's report and the estimate's are that II."""
    network = search.network
    if np.any(search.over(totals)[:-1] > 1.0 + 1e-12):
        return None
    score = search.shares()  # off-chip bits are what pacing pays for, not a cost
    slowed = {}  # (node, folding without its tile) -> (cycles, score added, node, row) of its cheapest row
    for n, space in enumerate(search.spaces):
        now = sum(getattr(totals.costs[n], k) / search.limit_vec[j] for j, k in enumerate(RESOURCES))
        model = network.nodes[n]
        tile = model.factors.index(TILE_FACTOR) if TILE_FACTOR in model.factors else None
        for r in (search.starts[n] + np.flatnonzero((space.cycles > totals.compute_ii) & (space.cycles <= target))).tolist():
            folding = search.all_choices[r][0]
            key = (n, folding if tile is None else folding[:tile] + folding[tile + 1:])  # the allocation sets tiles
            if score[r] < now and (key not in slowed or score[r] - now < slowed[key][1]):
                slowed[key] = (search.all_cycles[r], score[r] - now, n, r)
    ladder = sorted(slowed.values())
    paced = search.traffic_ii(totals.offchip_bits)
    for _ in range(PACE_TRIES):
        point = next((p for p in ladder if p[0] >= paced), None)
        if point is None:
            return None
        ladder.remove(point)
        _, _, n, row = point
        trial = picks[:n] + [search.all_choices[row]] + picks[n + 1:]
        allocated = allocate_weights(network, trial, search.evaluate(trial), search.limits, search.platform, target,
                                     nodes, search.allocations)
        if allocated is None:
            continue
        if allocated[1].ii <= target and np.all(search.over(allocated[1]) <= 1.0 + 1e-12):
            return allocated
        paced = max(paced, search.traffic_ii(allocated[1].offchip_bits))
    return None


def _no_fit(search: _Search, platform: Platform, utilisation: float) -> DfccError:
    bounds = search.lower_bounds()
    worst = None
    for k in RESOURCES:
        if bounds[k] > search.limits[k] + 1e-9:
            over = bounds[k] - search.limits[k]
            if worst is None or over / max(search.limits[k], 1) > worst[1]:
                worst = (k, over / max(search.limits[k], 1), bounds[k], over)
    totals = None
    if worst is None:  # each resource fits alone, but not all at once
        choices = search.select(float("inf"), search.jitter)
        totals = search.evaluate(choices)
        over = [(k, totals.resource(k) - search.limits[k]) for k in RESOURCES if totals.resource(k) > search.limits[k]]
        k, amount = max(over, key=lambda x: x[1] / max(search.limits[x[0]], 1))
        worst = (k, amount / max(search.limits[k], 1), totals.resource(k), amount)
        how = "even the most folded design that balances all resources"
    else:
        how = "even fully folded (every node at its cheapest)"
    k, _, need, over = worst
    limit = search.limits[k]
    reserved = f" - {search.reserve[k]:,.0f} reserved for FIFOs" if k in search.reserve else ""
    return DfccError(
        f"explore: the design does not fit on {platform.name}: {how} needs {need:,.0f} {RESOURCE_LABELS[k]}, "
        f"the budget is {limit:,.0f} ({utilisation:g} x {getattr(platform, k):,}{reserved}); over by {over:,.0f} "
        f"{RESOURCE_LABELS[k]} ({over / max(limit, 1):.0%}); a larger board, a higher utilisation or narrower formats "
        f"(quantize) for the nodes holding it may fit\n{_holders(search, k)}"
        + ("" if totals is None else f"\n{_design_holders(search.network, totals, k)}")
    )


def _design_holders(network: Network, totals: Totals, resource: str) -> str:
    """How much of `resource` a design's nodes, lane converters and FIFOs take, the widest converter named: what
    the nodes' cheapest points (`_holders`) leave out when a balanced design does not fit."""
    label = RESOURCE_LABELS[resource]
    converters = sum(getattr(c, resource, 0) for c in totals.converters)
    fifos = totals.fifo_use(resource)
    nodes = totals.resource(resource) - converters - fifos
    line = f"{label} in that design: nodes {nodes:,.0f}, FIFOs {fifos:,.0f}, lane converters {converters:,.0f}"
    if converters:
        widest = max(totals.converters, key=lambda c: getattr(c, resource, 0))
        edge = network.edges[widest.edge]
        line += (f" ({len(totals.converters)}; the largest {widest.lanes_in} -> {widest.lanes_out} lanes, "
                 f"'{network.nodes[edge.producer].name}' -> '{network.nodes[edge.consumer].name}')")
    return line


def _holders(search: _Search, resource: str, shown: int = 2) -> str:
    """Which node kinds hold `resource` even at their cheapest points, most first, with their largest nodes: where
    a design that does not fit has to change."""
    column = RESOURCES.index(resource)
    least = [(float(space.usage[:, column].min()), model.op) for space, model in zip(search.spaces, search.network.nodes)]
    by_kind: dict[str, list[tuple[float, NodeOp]]] = {}
    for amount, op in least:
        if amount > 0:
            by_kind.setdefault(op.name, []).append((amount, op))
    ranked = sorted(by_kind.items(), key=lambda item: -sum(a for a, _ in item[1]))[:shown]
    return f"{RESOURCE_LABELS[resource]} at the nodes' cheapest points: " + "; ".join(
        f"{len(held)} {kind} node(s) hold {sum(a for a, _ in held):,.0f} ("
        + ", ".join(f"'{op.node_name.data}' {a:,.0f}" for a, op in sorted(held, key=lambda x: -x[0])[:shown])
        + (", ..." if len(held) > shown else "") + ")" for kind, held in ranked)


OFF_CHIP_WEIGHTS = ("auto", True, False)  # explore's off-chip-weights option: when, always, never


def explore(network: Network, platform: Platform, utilisation: float = 0.9, seed: int = 0,
            progress: bool = True, off_chip_weights: bool | str = "auto", spatial: bool = False,
            share_repeated: bool = True, reserve: dict[str, float] | None = None,
            spaces: dict[bool | frozenset[int], list[_NodeSpace]] | None = None,
            known: dict | None = None, products: dict[Operation, str | None] | None = None, jobs: int = 1,
            found: dict | None = None, lutram: bool = True) -> tuple[list[Choice], Totals]:
    """The best design point found for `network` on `platform`; raises DfccError if nothing fits.

    With `off_chip_weights` True a conv/linear node may stream its weights from DRAM (AutoWS), within
    utilisation x the platform's off-chip bandwidth at the design's II; with "auto" only where that wins
    (`_streams_faster`), False never. With `spatial` the nodes that can (graph inputs, dense convs, maps, pools,
    forks, reductions over the width) may take more than one pixel per beat (`pixels`).
    `share_repeated=False` costs every node on its own, not once per repeated layer (same answer, slower).
    `reserve` (per resource) is kept out of the budget: FIFO memory beyond the costed skip FIFOs.
    `spaces`: every node's design points as _node_spaces gave them for this network, platform and options, per
    off-chip choice (a node's points depend on its geometry and formats, not on the choices written in the IR);
    explore adds those it costs. `known`: the points of another network's nodes (`_node_spaces`). `products`: the
    inner products the user wrote, by node (kinds/inner_product.py `products_written`, read before the pass wrote
    any; None: as the IR has them now). `jobs`: the processes each search runs in (analyses/forked.py; 1: only this
    one; the pass's option defaults to one per core). `found`: `_search`'s, for each of its searches; without
    `lutram` those with weights in DRAM run no LUTRAM search (the on-chip one, whose design picks the weights
    streamed, whole)."""
    if not 0 < utilisation <= 1:
        raise DfccError(f"explore: utilisation must be in (0, 1], got {utilisation}")
    if off_chip_weights not in OFF_CHIP_WEIGHTS or not isinstance(off_chip_weights, (bool, str)):
        raise DfccError(f"explore: off-chip-weights must be auto, true or false, got {off_chip_weights!r}")
    spaces = {} if spaces is None else spaces
    written = [written_product(m.op) if products is None else products.get(m.op) for m in network.nodes]

    def search(off_chip: bool | frozenset[int]) -> tuple[list[Choice], Totals]:
        return _search(network, platform, utilisation, seed, progress, off_chip, spatial, share_repeated, reserve,
                       spaces, known, written, jobs, found, lutram or off_chip is False)

    if off_chip_weights != "auto":
        return search(off_chip_weights)
    if not _streamable(network, platform):
        return search(False)
    try:
        on_chip = search(False)
    except DfccError:  # nothing fits with every weight on chip: in DRAM they may
        return search(True)
    floor = _floor_ii(spaces[False])
    limits = budget(platform, utilisation, reserve)
    if not _streams_faster(network, on_chip, floor, limits):
        return on_chip
    try:
        streamed = search(_largest_weights(network, on_chip[1]))
    except DfccError:  # its Pareto points may differ, not its feasibility; the on-chip design stands either way
        return on_chip
    return streamed if streamed[1].ii < on_chip[1].ii else on_chip


def _streamable(network: Network, platform: Platform) -> bool:
    """Whether off-chip-weights=auto may stream weights from DRAM: the platform has DRAM bandwidth and the HLS
    backend builds every weight memory of the network streamed (dense conv and linear nodes in fixed point,
    kinds/hls_offchip.py), so a design it picks is always built."""
    weighted = [model.op for model in network.nodes if model.has_weights]
    return platform.bandwidth_bits_per_cycle > 0 and bool(weighted) and all(
        isinstance(op, (ConvOp, LinearOp)) and fixed_of(op.output) is not None for op in weighted)


def _streams_faster(network: Network, on_chip: tuple[list[Choice], Totals], floor: int,
                    limits: dict[str, float]) -> bool:
    """Whether a design with weights in DRAM may beat this on-chip one, so the off-chip search is worth its time:
    it is slower than the network's fastest (some node could fold more) and the weight memories whose streaming frees
    a memory (BRAM, URAM, LUTs as LUTRAM) about as full as its fullest resource would free at least WEIGHT_SHARE of
    it. Only those count: a small conv streamed at the same folding takes more BRAM in buffers and more LUTs in
    adapters than its weights did, and the search streams none such (MobileNetV2 ZCU102 8-bit: 37 convs with weights
    in LUTRAM took that sum to -138,261 LUTs and BRAM18 to 134 of 1,637, hiding the classifier's 562)."""
    choices, totals = on_chip
    if totals.ii <= floor:
        return False
    held = dict.fromkeys(WEIGHT_HOLDERS, 0.0)  # what streaming the weight memories that free it would free
    for model, (folding, _, mult, _, product, lutram), cost in zip(network.nodes, choices, totals.costs):
        if model.has_weights:
            streamed = model.cost(folding, "off_chip", mult, 100, product, lutram)
            for k in WEIGHT_HOLDERS:
                held[k] += max(0.0, getattr(cost, k) - getattr(streamed, k))
    full = {k: totals.resource(k) / max(limits[k], 1e-9) for k in RESOURCES}
    return any(full[k] >= MEMORY_BOUND * max(full.values()) and held[k] >= WEIGHT_SHARE * totals.resource(k)
               for k in WEIGHT_HOLDERS)


def _largest_weights(network: Network, totals: Totals) -> frozenset[int]:
    """The nodes holding the largest weight memories of a design, largest first until they hold STREAMED_SHARE of
    its weight bits: where streaming pays (AutoWS spills the largest layers first), and the only nodes whose
    points off-chip-weights=auto costs with weights in DRAM (a conv's tiles multiply its foldings: costing them
    for every node took ResNet-50's search from 8 to 67 CPU s)."""
    bits = {n: cost.weight_width * cost.weight_depth for n, (model, cost) in enumerate(zip(network.nodes, totals.costs))
            if model.has_weights}
    chosen, held = [], 0
    for n in sorted(bits, key=lambda n: (-bits[n], n)):
        if held >= STREAMED_SHARE * sum(bits.values()):
            break
        chosen.append(n)
        held += bits[n]
    return frozenset(chosen)


def _floor_ii(spaces: list[_NodeSpace]) -> int:
    """The II of the network with every node at its fastest point: no design beats it."""
    return max(int(space.cycles.min()) for space in spaces)


EVICT_SKIPS = ("auto", True, False)  # explore's evict-skips option: when, always, never
SPATIAL = ("auto", True, False)  # explore's spatial option: where the pixel rate binds, always, never


def explore_module(module: ModuleOp, platform: Platform, utilisation: float = 0.9, seed: int = 0,
                   progress: bool = True, off_chip_weights: bool | str = "auto", evict_skips: bool | str = "auto",
                   spatial: bool = False, reserve: dict[str, float] | None = None,
                   spaces: dict[bool | frozenset[int], list[_NodeSpace]] | None = None,
                   products: dict[Operation, str | None] | None = None, known: dict | None = None,
                   keep_orders: bool = False, jobs: int = 1, chain_costs: Costs | None = None
                   ) -> tuple[Network, list[Choice], Totals]:
    """`_ordered_design`; with `evict_skips` auto, where that design keeps skips in DRAM rings chosen at the IR's
    folding, the graph as it came with only the rings worth keeping at the design's foldings (`_rings_worth_keeping`)
    explored too when they are fewer, and the faster design kept, the one with fewer rings if as fast (then written
    into `module`). `chain_costs`: the costs of this module's nodes the tile-order steps found before
    (passes/tile_order.py `Costs`: the pass's FIFO rounds share them), those found here added. `spatial`: True, False,
    or "auto" (`_spatial_where_pixels_bind`)."""
    if spatial not in SPATIAL or not isinstance(spatial, (bool, str)):
        raise DfccError(f"explore: spatial must be auto, true or false, got {spatial!r}")
    if spatial == "auto":
        return _spatial_where_pixels_bind(module, platform, utilisation, seed, progress, off_chip_weights, evict_skips,
                                          reserve, spaces, products, known, keep_orders, jobs, chain_costs)
    products = products_written(module) if products is None else products
    known = {} if known is None else known
    chain_costs = {} if chain_costs is None else chain_costs
    plain = module.clone() if evict_skips == "auto" else None  # the graph as it came, for fewer rings
    twins = {} if plain is None else {twin: products[op] for op, twin in zip(module.walk(), plain.walk())
                                      if op in products}
    design = _ordered_design(module, platform, utilisation, seed, progress, off_chip_weights, evict_skips, spatial,
                             reserve, spaces, products, known, keep_orders, jobs, chain_costs)
    rings = ring_edges(module)
    if plain is None or not rings:
        return design
    fewer = _rings_worth_keeping(plain, rings, *design)
    if fewer == rings or not evict_edges(plain, fewer):
        return design
    points = {}
    try:
        again = _ordered_design(plain, platform, utilisation, seed, progress, off_chip_weights, False, spatial,
                                reserve, points, twins, known, keep_orders, jobs, chain_costs)
    except DfccError:
        return design
    if again[2].ii > design[2].ii:  # as fast with fewer rings: less traffic and logic for the FIFO rounds
        return design
    _adopt(module, plain, ((spaces, points), (products, twins)))
    return again


def _adopt(module: ModuleOp, other: ModuleOp, held: tuple[tuple[dict | None, dict], ...]) -> None:
    """`module` becomes `other`, a clone of it explored on its own, whose design the caller keeps; each of the
    caller's dicts in `held` (points, inner products: for its later rounds on `module`) becomes the one `other`'s
    search filled."""
    for op in list(module.body.block.ops):
        op.detach()
        op.erase()
    for op in list(other.body.block.ops):
        op.detach()
        module.body.block.add_op(op)
    for mine, now in held:
        if mine is not None:
            mine.clear()
            mine.update(now)


def _spatial_where_pixels_bind(module: ModuleOp, platform: Platform, utilisation: float, seed: int, progress: bool,
                               off_chip_weights: bool | str, evict_skips: bool | str,
                               reserve: dict[str, float] | None,
                               spaces: dict[bool | frozenset[int], list[_NodeSpace]] | None,
                               products: dict[Operation, str | None] | None, known: dict | None, keep_orders: bool,
                               jobs: int, chain_costs: Costs | None) -> tuple[Network, list[Choice], Totals]:
    """explore_module at one pixel per beat, then, where the pixel rate binds that design (`_pixel_bound`), on the
    graph as it came with more pixels per beat allowed too, and the faster design kept (written into `module`), the
    one-pixel one if as fast. Only such designs pay for the second search, and only there can more pixels per beat
    win (U250, 8-bit: MobileNetV3-Large 4,894.7 -> 26,573.1 fps, YOLO-tiny 57,392 -> 642,674)."""
    products = products_written(module) if products is None else products
    trial = module.clone()
    twins = {twin: products[op] for op, twin in zip(module.walk(), trial.walk()) if op in products}

    def run(graph: ModuleOp, spatial: bool, points: dict, written: dict) -> tuple[Network, list[Choice], Totals]:
        return explore_module(graph, platform, utilisation, seed, progress, off_chip_weights, evict_skips, spatial,
                              reserve=reserve, spaces=points, products=written, known=known, keep_orders=keep_orders,
                              jobs=jobs, chain_costs=chain_costs)

    design = run(module, False, spaces, products)
    if not _pixel_bound(design[0], design[2]):
        return design
    points = {}
    try:
        wide = run(trial, True, points, twins)
    except DfccError:  # its points differ, not what fits: the one-pixel design stands
        return design
    if wide[2].ii >= design[2].ii:
        return design
    _adopt(module, trial, ((spaces, points), (products, twins)))
    return wide


def fastest_cycles(model: NodeModel, spatial: bool) -> int:
    """The least cycles of a node at any folding explore weighs (a conv reading or writing a tile-major stream is
    tiled, passes/tile_order.py: its foldings have tiles)."""
    return min(model.cost(f).cycles for f in foldings(model, spatial) or foldings(model, spatial, True))


def _pixel_bound(network: Network, totals: Totals) -> bool:
    """Whether only more pixels per beat make this design faster: some node that sets its II (not its DRAM
    traffic) is at its fastest at one pixel per beat, and every one that sets it is faster with more."""
    if totals.ii > totals.compute_ii:
        return False
    setting = [model for model, cost in zip(network.nodes, totals.costs) if cost.cycles >= totals.ii]
    return any(fastest_cycles(model, False) >= totals.ii for model in setting) and \
        all(fastest_cycles(model, True) < totals.ii for model in setting)


def _taken_pixels(network: Network, choices: list[Choice]) -> bool:
    """Whether some node of the design takes more than one pixel per beat."""
    return any(dict(zip(model.factors, choice[0])).get(SPATIAL_FACTOR, 1) > 1
               for model, choice in zip(network.nodes, choices))


def _ordered_design(module: ModuleOp, platform: Platform, utilisation: float, seed: int, progress: bool,
                    off_chip_weights: bool | str, evict_skips: bool | str, spatial: bool,
                    reserve: dict[str, float] | None, spaces: dict[bool | frozenset[int], list[_NodeSpace]] | None,
                    products: dict[Operation, str | None], known: dict, keep_orders: bool, jobs: int,
                    chain_costs: Costs | None = None) -> tuple[Network, list[Choice], Totals]:
    """`_explore_graph`'s design, or, where tile-major streams free memory the search spends on a lower II, the
    ordered graph's (passes/tile_order.py: its orders and foldings then written into `module`; with `keep_orders`,
    the pass's later FIFO rounds, the orders `module` came with, the earlier round's, are the ones tried again).
    `known`: the nodes' points by cost key (`_node_spaces`), those of earlier calls on this module (the pass's FIFO
    rounds) among them; the ordered graph's nodes share them but where their streams' orders changed. `chain_costs`:
    the tile-order steps' (`explore_module`)."""
    earlier = written_orders(module) if keep_orders else None  # tried again within this round's reserve
    design = _explore_graph(module, platform, utilisation, seed, progress, off_chip_weights, evict_skips, spatial,
                            reserve, spaces, products, known, jobs)
    by_name = {op.node_name.data: product for op, product in products.items()}  # the ordered graph is a clone

    def search(network: Network, streamed: frozenset[int], faster_than: float) -> tuple[list[Choice], Totals]:
        written = [by_name.get(m.op.node_name.data) for m in network.nodes]
        return _search(network, platform, utilisation, seed, progress, streamed, spatial, True, reserve, {}, known,
                       written, jobs, faster_than=faster_than)

    return order_streams(module, design, search, apply_design, platform.name,
                         budget(platform, utilisation, reserve), earlier, chain_costs)


def _explore_graph(module: ModuleOp, platform: Platform, utilisation: float, seed: int, progress: bool,
                   off_chip_weights: bool | str, evict_skips: bool | str, spatial: bool,
                   reserve: dict[str, float] | None, spaces: dict[bool | frozenset[int], list[_NodeSpace]] | None,
                   products: dict[Operation, str | None], known: dict, jobs: int = 1
                   ) -> tuple[Network, list[Choice], Totals]:
    """`explore` over the graph of `module`, its paying skip connections first evicted to DRAM
    (passes/spill.py evict_paying_skips) with `evict_skips` True, never with False, and with "auto" (those whose
    rings take less of the budget, BRAM and LUT, than their FIFOs) where the design explored with them evicted
    is faster than the one without: when nothing fits, or when the skip
    FIFOs hold SKIP_SHARE of a memory about as full as the design's fullest resource (`_evicting_faster`).
    The design without evictions weighed there is first searched without the LUTRAM searches of its searches with
    weights in DRAM (where `_evicting_faster` calls for evicting with it, its design; else with them, and the
    evicted graph searched only if that one calls for it): they run only where the kept design stands (ZCU102,
    16-bit: the evicted graph's design is 4x, 2x and 2x as fast for DenseNet-121, ResNet-50 and MobileNetV3-Large;
    the kept graph's LUTRAM search, its design dropped, took 13, 5 and 2 of their CPU s; not FFIP's: it took
    ResNet-18's kept design from 664,832 to 496,176 cycles, and only then evicting pays). Evictions taken are
    written into `module` (`dataflow.ddr_fifo` nodes); returns the network explored (the module's, after them) and
    its design. `spaces` are the points of the module's network as it came; with skips evicted they are replaced
    by the evicted network's. `products`: the inner products the user wrote, by node (`explore`); `known`: the
    nodes' points by cost key (`explore_module`), those costed here added."""
    if evict_skips not in EVICT_SKIPS or not isinstance(evict_skips, (bool, str)):
        raise DfccError(f"explore: evict-skips must be auto, true or false, got {evict_skips!r}")
    spaces = {} if spaces is None else spaces  # (the graph with skips evicted shares `known` points but its joins')
    drop_stream_orders(module)  # explore chooses the tiles and lanes a tile-major order needs (tile_order.py)

    def run(network: Network, points: dict, written: dict[Operation, str | None], found: dict | None = None,
            lutram: bool = True) -> tuple[list[Choice], Totals]:
        return explore(network, platform, utilisation, seed, progress, off_chip_weights, spatial, reserve=reserve,
                       spaces=points, known=known, products=written, jobs=jobs, found=found, lutram=lutram)

    if evict_skips is True:
        evict_paying_skips(module, platform, utilisation)
    network = Network.from_module(module)
    if evict_skips != "auto" or platform.bandwidth_bits_per_cycle <= 0:
        return network, *run(network, spaces, products)
    found = {}  # the kept graph's searches: its design is searched on from them where it stands
    try:
        kept, failure = run(network, spaces, products, found, lutram=False), None
    except DfccError as error:  # nothing fits with every skip on chip: with some in DRAM it may
        kept, failure = None, error
    if kept is not None:
        floor, limits = _floor_ii(next(iter(spaces.values()))), budget(platform, utilisation, reserve)
        if not _evicting_faster(kept[1], floor, limits):
            kept = run(network, spaces, products, found)
            if not _evicting_faster(kept[1], floor, limits):
                return network, *kept
    evicted = module.clone()  # the skips whose rings take less of the budget than their FIFOs (LUTs counted)
    # the user's inner products on the clone's nodes (a clone walks as its original)
    cloned = {twin: products[op] for op, twin in zip(module.walk(), evicted.walk()) if op in products}
    if evict_paying_skips(evicted, platform, utilisation, logic=True):
        points = {}
        try:
            design = run(Network.from_module(evicted), points, cloned)
        except DfccError:
            design = None
        if design is not None and (kept is None or design[1].ii < kept[1].ii):
            evict_paying_skips(module, platform, utilisation, logic=True)  # the same evictions (the same IR)
            spaces.clear()
            spaces.update(points)
            return Network.from_module(module), *design
    if kept is None:
        raise failure
    return network, *run(network, spaces, products, found)


def _rings_worth_keeping(module: ModuleOp, rings: set[tuple[str, int]], network: Network, choices: list[Choice],
                         totals: Totals) -> set[tuple[str, int]]:
    """Of the DRAM `rings` of a design (`network`: a graph of `module` with those skips in rings, its `choices` and
    `totals`), those worth keeping at its foldings (passes/spill.py `skips_worth_evicting`: their FIFOs costed in
    `module`'s graph at those foldings, a BRAM18 priced at the DRAM bits the design's streamed weights take per
    BRAM18; all of them where no weights stream). By consumer name and operand (`evict_edges`). Only rings are
    dropped, none added: on a ZCU102 DenseNet-121's design (16-bit, 52 rings, 38.1 fps), dropping the five its
    weights' price rejects gave 43.1 fps, adding the five more it would take as well 35.5."""
    bits_per_block = streamed_bits_per_block(network, choices, totals)
    if not bits_per_block:
        return rings
    plain = Network.from_module(module)
    by_name = {m.op.node_name.data: choice for m, choice in zip(network.nodes, choices)}
    at = plain.evaluate([by_name[m.op.node_name.data] for m in plain.nodes], trace_latency=False)
    return rings & {edge_name(plain, f.edge) for f in skips_worth_evicting(plain, at, bits_per_block)}


def _evicting_faster(totals: Totals, floor: int, limits: dict[str, float]) -> bool:
    """Whether evicting skip connections to DRAM may beat this design, so that search is worth its time: it is
    slower than the network's fastest (`floor`: some node could fold more) and its skip FIFOs hold at least
    SKIP_SHARE of a memory (BRAM, URAM, LUTs as LUTRAM) about as full as its fullest resource."""
    if totals.ii <= floor:
        return False
    held = {k: totals.fifo_use(k) for k in ("bram18", "uram", "lut")}
    full = {k: totals.resource(k) / max(limits[k], 1e-9) for k in RESOURCES}
    return any(full[k] >= MEMORY_BOUND * max(full.values()) and held[k] >= SKIP_SHARE * totals.resource(k)
               for k in held)


def _search(network: Network, platform: Platform, utilisation: float, seed: int, progress: bool,
            off_chip: bool | frozenset[int], spatial: bool, share_repeated: bool, reserve: dict[str, float] | None,
            spaces: dict[bool | frozenset[int], list[_NodeSpace]], known: dict | None,
            written: list[str | None], jobs: int = 1, found: dict | None = None, lutram: bool = True,
            faster_than: float = float("inf")) -> tuple[list[Choice], Totals]:
    """explore's search (module docstring, steps 1-6), weights in DRAM allowed for every node, none or those in
    the set: the nodes' products direct (or as the user wrote them: `written`, by node), tile memories where the
    rule puts them, then, where DSPs bind that design and some node may pair its products, searched again with
    FFIP among the points, and, where BRAM or the DRAM traffic is about as full as its fullest resource
    (`_memory_bound`) and some node's points gain one with tile memories in LUTRAM, with those among the points
    below its II; the fastest kept, the first of equal IIs (step 5). Without `lutram` no LUTRAM search. `found`:
    what the searches found before on this network with these options and reserve, by off-chip choice:
    ("direct", choice) the first search's design, the faster of it and FFIP's and whether memory binds the first,
    ("design", choice) the design returned; this one's added (`_explore_graph` asks for a design without, then
    with, the LUTRAM search). `faster_than`: an II the caller keeps only a faster design than (`_search_points`;
    passes/tile_order.py's tries: the same designs on 13 bench rows; MobileNetV2 ZCU102 16-bit explores in 42 CPU s,
    not 51, ResNet-50 and MobileNetV3-Large within run-to-run noise)."""
    def points(ffip: bool, lutram: bool) -> list[_NodeSpace]:
        return _points(network, platform, off_chip, spatial, share_repeated, spaces, known, written, ffip, lutram,
                       jobs)

    found = {} if found is None else found
    if ("direct", off_chip) not in found:
        try:
            first, search = _search_points(network, platform, utilisation, seed, progress, off_chip, spatial,
                                           reserve, points(False, False), written, known, jobs=jobs,
                                           faster_than=faster_than)
        except _NoneFaster:  # FFIP's search may still find one (MobileNetV2 ZCU102: 83,960 cycles, the direct
            first = None  # search's best 131,712), so it runs as where DSPs bind; the LUTRAM one does not
        designs = [] if first is None else [first]
        if (first is None or _dsp_bound(search, first[1])) and \
                any(len(searched_products(m.op, w)) > 1 for m, w in zip(network.nodes, written)):
            with contextlib.suppress(_NoneFaster):
                designs.append(_search_points(network, platform, utilisation, seed, progress, off_chip, spatial,
                                              reserve, points(True, False), written, known, ffip=True, jobs=jobs,
                                              faster_than=faster_than)[0])
        if not designs:
            raise _NoneFaster(faster_than)
        found["direct", off_chip] = first, min(designs, key=lambda d: d[1].ii), \
            first is not None and _memory_bound(search, first[1])
    first, direct, memory_bound = found["direct", off_chip]
    if not lutram:
        return direct
    if ("design", off_chip) not in found:
        designs = [direct]
        if memory_bound and any(c[5] is not None for space in points(False, True) for c in space.choices):
            designs.append(_search_points(network, platform, utilisation, seed, progress, off_chip, spatial, reserve,
                                          points(False, True), written, known, lutram=True, below=first,
                                          jobs=jobs, faster_than=faster_than)[0])
        found["design", off_chip] = min(designs, key=lambda design: design[1].ii)  # the first of equal IIs
    return found["design", off_chip]


def _points(network: Network, platform: Platform, off_chip: bool | frozenset[int], spatial: bool,
            share_repeated: bool, spaces: dict, known: dict | None, written: list[str | None], ffip: bool,
            lutram: bool, jobs: int) -> list[_NodeSpace]:
    """The nodes' points a search weighs (`_node_spaces`), from `spaces` (by off-chip choice; with FFIP or LUTRAM
    tile memories among them, by (choice, ffip, lutram)) or costed and put there."""
    key = (off_chip, ffip, lutram) if ffip or lutram else off_chip
    if key not in spaces:
        spaces[key] = _node_spaces(network, platform, off_chip, spatial, share_repeated, known=known, ffip=ffip,
                                   written=written, jobs=jobs, lutram=lutram)
    return spaces[key]


def _search_points(network: Network, platform: Platform, utilisation: float, seed: int, progress: bool,
                   off_chip: bool | frozenset[int], spatial: bool, reserve: dict[str, float] | None,
                   points: list[_NodeSpace], written: list[str | None], known: dict | None, ffip: bool = False,
                   lutram: bool = False, below: tuple[list[Choice], Totals] | None = None, jobs: int = 1,
                   faster_than: float = float("inf")) -> tuple[tuple[list[Choice], Totals], _Search]:
    """One search over the nodes' `points` (with `ffip`, both inner products where a node may take either; with
    `lutram`, tile memories in LUTRAM too); its design and its _Search. Given `below`, a design the points can take
    (an earlier search's over fewer of them), only the targets faster than it are bisected. With `faster_than`
    (an II), the caller keeps only a faster design: targets well above it are not tried (`_bisect`), and where
    none below it is found `_NoneFaster` says so. fit_lanes' two rules search in `jobs` processes
    (analyses/forked.py)."""
    search = _Search(network, platform, utilisation, seed, off_chip, spatial, reserve=reserve, spaces=points,
                     ffip=ffip, written=written, lutram=lutram)
    best = below if below is not None or faster_than < float("inf") else \
        search.try_target(float("inf"), BISECTION_ROUNDS * 2)
    if best is None and faster_than == float("inf"):
        raise _no_fit(search, platform, utilisation)
    ceiling = float("inf") if below is None else below[1].ii
    rules = (search, search.with_rule(cheaper_end=False))  # fit_lanes' two rules (module docstring, step 2)
    mine = len(rules) // processes(jobs, len(rules))  # the rules whose steps the bar shows: this process's
    with _progress(progress, len(search.targets()), runs=mine) as advance:
        def fit(rule: _Search) -> tuple[list[Choice] | None, float]:  # in a worker with jobs > 1: the parent's
            design = _bisect(rule, best, advance, ceiling, faster_than)
            return None if design is None else rule.prefer_dsps(*rule.match_lanes(*design))[0], rule.proven_infeasible

        found = fork_map(fit, rules, jobs)
    designs = []
    for rule, (choices, proven_infeasible) in zip(rules, found):
        rule.proven_infeasible = proven_infeasible  # `_split_below` reads the winner's
        if choices is not None:
            designs.append((choices, rule.evaluate(choices, trace_latency=True), rule))
    if not designs:
        raise _NoneFaster(faster_than)
    choices, totals, rule = min(designs, key=lambda design: design[1].ii)
    split = _split_below(rule, choices, totals, known, jobs)
    if split is None:
        return (choices, totals), rule
    choices, _ = rule.prefer_dsps(*rule.match_lanes(*split))
    return (choices, rule.evaluate(choices, trace_latency=True)), rule


class _NoneFaster(DfccError):
    """A search given `faster_than` found no design faster (its caller keeps the one it has)."""

    def __init__(self, faster_than: float):
        super().__init__(f"explore: no design faster than II {faster_than:,.0f} found")


def _dsp_bound(search: _Search, totals: Totals) -> bool:
    """Whether DSPs are the design's fullest resource."""
    over = search.over(totals)[:len(RESOURCES)]
    return over[RESOURCES.index("dsp")] >= over.max()


def _memory_bound(search: _Search, totals: Totals) -> bool:
    """Whether BRAM or the DRAM traffic is MEMORY_BOUND as full as the design's fullest resource (BRAM18 freed from
    tile memories holds streamed weights, so it saves traffic too; a design a folding short of its DSP budget may
    be held back by BRAM)."""
    over = search.over(totals)
    return max(over[RESOURCES.index("bram18")], over[-1]) >= MEMORY_BOUND * over.max()


def _split_below(search: _Search, choices: list[Choice], totals: Totals, known: dict | None = None, jobs: int = 1
                 ) -> tuple[list[Choice], Totals] | None:
    """Where DSPs bind the design: a faster one whose nodes may share their multipliers between DSPs and fabric,
    from the targets below its II that `search` did not prove infeasible (module docstring, step 5), else None.
    Splits are not in every search's points: only the repair takes them, and with them DenseNet-121's search
    took twice as long. `known`: nodes' points costed before (`_node_spaces`: the FFIP search's splits add FFIP's
    to the direct search's). The targets are tried `jobs` at a time (analyses/forked.py), those a try before them
    in order would have ended the polish at dropped: no try depends on another's, so the design is the same."""
    if not _dsp_bound(search, totals):
        return None
    below = [t for t in search.targets() if search.proven_infeasible < t < totals.ii][-POLISH_TARGETS:]
    if not below:
        return None
    split = _Search(search.network, search.platform, search.utilisation, 0, search.off_chip, search.spatial,
                    reserve=search.reserve, cheaper_end=search.cheaper_end,
                    spaces=_node_spaces(search.network, search.platform, search.off_chip, search.spatial, splits=True,
                                        known=known, ffip=search.ffip, written=search.written, jobs=jobs,
                                        lutram=search.lutram),
                    ffip=search.ffip, written=search.written, lutram=search.lutram,
                    repair_starts=SPLIT_REPAIR_STARTS)
    def attempt(t: int) -> tuple[tuple[list[Choice], Totals] | None, float]:
        return split.try_target(t, POLISH_ROUNDS), split.proven_infeasible

    found, misses, proven = None, 0, 0.0
    below.reverse()
    for start in range(0, len(below), jobs):
        batch = below[start:start + jobs]
        if batch[0] <= proven or misses == POLISH_MISSES:
            break
        for t, (design, bound) in zip(batch, fork_map(attempt, batch, jobs)):
            if t <= proven or misses == POLISH_MISSES:
                break
            proven = max(proven, bound)
            if design is not None and design[1].ii < (found or (choices, totals))[1].ii:
                found, misses = design, 0
            else:
                misses += 1
    return found


def _bisect(search: _Search, best: tuple[list[Choice], Totals] | None, advance, ceiling: float = float("inf"),
            faster_than: float = float("inf")) -> tuple[list[Choice], Totals] | None:
    """The fastest design `search` finds by bisection over its targets up to `ceiling`, then a polish below it
    (module docstring, step 3); `best` is a design known to fit. With `faster_than` (an II: the caller keeps only a
    faster design; None where none is found) the targets more than POLISH_TARGETS above it are not tried but taken
    as met: a slower target nearly always is, and where one is not, the search's answer lies above it, its polish
    within the targets tried; a design found at a target lies at or just below it (resnet18_small ZCU102 at 30 %:
    5,310 cycles at a target of 5,376). So the steps are those of the search without it, wherever they matter."""
    targets = [t for t in search.targets() if t <= ceiling]
    if not targets:
        return best
    above = bisect.bisect_left(targets, faster_than) + POLISH_TARGETS  # the first target not tried
    top = targets[above] if above < len(targets) else float("inf")

    def met(t: int, rounds: int) -> tuple[bool, tuple[list[Choice], Totals] | None]:
        if t >= top:
            return True, None
        found = search.try_target(t, rounds)
        return found is not None and found[1].ii <= t, found

    lo, hi = 0, len(targets) - 1  # targets[hi] is known feasible (the slowest is at most inf)
    _, found = met(targets[hi], BISECTION_ROUNDS)
    if found is not None:
        best = found
    while lo < hi:
        mid = (lo + hi) // 2
        ok, found = met(targets[mid], BISECTION_ROUNDS)
        advance()
        if found is not None and (best is None or found[1].ii < best[1].ii):
            best = found
        if ok:
            hi = mid
        else:  # over budget, or within it only at a slower II (lanes that could not fit the target)
            lo = mid + 1
    # polish: a few targets below the answer, with more rounds, until one is proven infeasible (so is
    # every lower one) or several in a row fail
    start = targets.index(best[1].ii) if best is not None and best[1].ii in targets else hi
    misses = 0
    for t in reversed(targets[max(0, start - POLISH_TARGETS):start]):
        if t <= search.proven_infeasible or misses == POLISH_MISSES:
            break
        ok, found = met(t, POLISH_ROUNDS)
        advance()
        misses = 0 if ok else misses + 1
        if found is not None and (best is None or found[1].ii < best[1].ii):
            best = found
    return best


class _progress:
    """A transient rich progress bar on stderr (only on a terminal)."""

    def __init__(self, enabled: bool, total: int, runs: int = 1):
        self.enabled = enabled and sys.stderr.isatty()
        self.pid = os.getpid()  # the bar advances only here, not in a forked worker (analyses/forked.py)
        self.total = runs * max(1, int(np.ceil(np.log2(total + 1))) + POLISH_TARGETS)

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("explore"), BarColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task("explore", total=self.total)
        return lambda: self.bar.advance(task) if os.getpid() == self.pid else None

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.stop()
        return False


def apply_design(module: ModuleOp, network: Network, choices: list[Choice], totals: Totals, platform_name: str) -> None:
    """Write folding, weight memories, inner products, tile memories, FIFO depths and the platform into the IR."""
    for model, (folding, memory, mult, on_chip, product, lutram) in zip(network.nodes, choices):
        for factor, value in zip(model.factors, folding):
            model.op.properties[factor] = IntegerAttr(value, i64)
        write_product(model.op, product)
        model.op.attributes.pop(TILE_LUTRAM_ATTR, None)
        if lutram is not None and dict(zip(model.factors, folding)).get(TILE_FACTOR, 1) > 1:
            model.op.attributes[TILE_LUTRAM_ATTR] = StringAttr(lutram)
        write_weights_memory(model.op, memory, on_chip)
        model.op.attributes.pop(DSP_SHARE_ATTR, None)
        if mult == "dsp":
            model.op.attributes.pop(MULT_IMPL_ATTR, None)
        else:  # all in fabric, or a split: that percent of them on DSPs
            model.op.attributes[MULT_IMPL_ATTR] = StringAttr("lut")
            if mult != "lut":
                model.op.attributes[DSP_SHARE_ATTR] = IntegerAttr(mult, i64)
    for index, edge in enumerate(network.edges):
        if len(network.in_edges[edge.consumer]) < 2 and index not in totals.fifo_depths:
            continue  # only join inputs are ours to size
        for value, depth in _fifo_streams(network, totals, index):
            if value.type.depth.data != depth:
                Rewriter.replace_value_with_new_type(value, value.type.with_depth(depth))
    module.attributes[PLATFORM_ATTR] = StringAttr(platform_name)


def _fifo_streams(network: Network, totals: Totals, index: int) -> list[tuple[SSAValue, int]]:
    """The depth of edge `index` on its IR stream (what the estimate reads) and, when that stream is a
    reshape's, also on the stream that carries it, in that stream's beats: a reshape passes its
    producer's stream on (the HLS and the simulation reuse it), so a join input behind reshapes
    (attention's Q) is held in the stream of the node before them."""
    edge = network.edges[index]
    if index not in totals.fifo_depths:
        return [(edge.value, DEFAULT_FIFO_DEPTH)]
    depth = totals.fifo_depths[index]
    value, producer = edge.value, edge.producer
    while isinstance(value.owner, ReshapeOp) and network.in_edges[producer]:
        value, producer = value.owner.input, network.edges[network.in_edges[producer][0]].producer
    if value is edge.value:
        return [(value, depth)]
    words = depth * max(1, totals.costs[edge.producer].out_lanes)
    return [(edge.value, depth), (value, -(-words // max(1, totals.costs[producer].out_lanes)))]


@dataclass(frozen=True)
class Explore(ModulePass):
    """Folding design-space exploration for a platform (see module docstring)."""

    name = "explore"

    platform: str = DEFAULT_PLATFORM
    utilisation: float = 0.9
    seed: int = 0
    off_chip_weights: bool | str = "auto"
    evict_skips: bool | str = "auto"
    spatial: bool | str = "auto"
    jobs: int | str = JOBS_AUTO

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        platform = load_platform(self.platform)
        utilisation = float(self.utilisation)
        name = self.platform.lower() if self.platform.lower() == platform.name.lower() else self.platform
        limits = budget(platform, utilisation)
        try:
            jobs = jobs_of(self.jobs)
        except ValueError as error:
            raise DfccError(f"explore: {error}") from None
        reserve = dict.fromkeys(RESOURCES, 0.0)
        spaces = {}  # every node's design points, costed once (per off-chip choice) for all the searches
        known = {}  # ... and by cost key (explore_module), for the searches on other graphs and options
        chain_costs = {}  # the nodes' costs the tile-order steps found (explore_module), for the later rounds
        hint = "" if self.evict_skips is True else " or use evict-skips=true"
        before = {}  # each stream's depth in the IR the first search left (skips evicted or not)
        gap = {}  # by resource: the most a sized design took of it beyond what its search costed
        # the inner products the IR came with (a user's), which every search weighs, not those the last one wrote
        products = products_written(op)
        spatial = self.spatial  # the later rounds keep the first one's answer to auto
        drop_sized(op)  # the design changes: the depths it came with are no longer sized for it
        for attempt in range(FIFO_ROUNDS):
            if attempt:  # back to the depths the IR had, and the graph read again (the stream values changed)
                drop_sized(op)
                write_depths({e.value: before[(e.value.op, e.value.index)] for e in Network.from_module(op).edges})
            try:  # skips are evicted (or not) by the first search; the others search the graph it left
                network, choices, totals = explore_module(
                    op, platform, utilisation, int(self.seed), off_chip_weights=self.off_chip_weights,
                    evict_skips=self.evict_skips if not attempt else False, spatial=spatial,
                    reserve=reserve, spaces=spaces, products=products, known=known, keep_orders=bool(attempt),
                    jobs=jobs, chain_costs=chain_costs)
            except DfccError as error:
                if not attempt:
                    raise
                raise DfccError(f"{error}; the reserve is what the FIFO depths that keep the simulated II need "
                                f"beyond the skip FIFOs the search costs; raise utilisation{hint}") from None
            if not attempt:
                before = {(e.value.op, e.value.index): e.ir_depth for e in network.edges}
                spatial = _taken_pixels(network, choices) if spatial == "auto" else spatial
            apply_design(op, network, choices, totals, name)
            sized = _write_fifo_depths(op, limits, jobs)
            over = sized.overshoot(limits)
            if not over or _place_weights_within(op, platform, limits, sized):
                mark_sized(op)  # the weights moved (their timing, so the depths, the same)
                return
            # the next search keeps out of its budget the overshoot more than this search did, not all these depths
            # use beyond the costed FIFOs: a design searched in less memory has fewer to size (DenseNet-121 ZCU102
            # 16-bit: 186 BRAM18 beyond them, the next design's 167 of its 1,384, leaving 90 of the budget unused)
            # The last search keeps out at least the most any design's sized depths took beyond its costed ones: a
            # search squeezed harder picks designs whose FIFOs its costs see less of, so the summed overshoot may trail
            # (MobileNetV3-Large ZCU102 16-bit with the repair started from the 3 rounds least over, a variant tried:
            # gaps of 19, 30, 70 and 86 BRAM18 under reserves of 0, 13, 28 and 32, the last design 6 over and none
            # written; with the gap reserved, 70, it fits at II 129,850)
            last = attempt + 2 == FIFO_ROUNDS
            for k in RESOURCES:
                gap[k] = max(gap.get(k, 0), sized.resource(k) - totals.resource(k))
            for k, used, limit in over:
                reserve[k] = max(reserve[k] + used - limit, gap[k] if last else 0)
        needs = ", ".join(f"{used:,.0f} {RESOURCE_LABELS[k]} (budget {limit:,.0f})" for k, used, limit in over)
        raise DfccError(f"explore: after {FIFO_ROUNDS} searches with FIFO memory reserved, the FIFO depths that "
                        f"keep the simulated II still do not fit {utilisation:.0%} of {platform.name}: the design "
                        f"needs {needs}; raise utilisation{hint}")


def _write_fifo_depths(module: ModuleOp, limits: dict[str, float], jobs: int = 1) -> Totals:
    """Write every stream's depth from the cycle-level schedule of the chosen folding (analyses/fifo_sizing.py:
    the least depths at which the design keeps the II it has with unbounded streams; the search's costed depths
    were its estimate of them, so a costed FIFO deeper than its sized one, or costed where the default depth
    does, is memory the design does not need), the module marked sized (analyses/sized_depths.py: the estimate
    takes those depths as they are, a default one too), and the memory of those moved out of BRAM where it is over
    `limits` (the search's rule); the design's totals with those depths; `jobs` as size_fifos takes it."""
    write_depths(size_fifos(module, jobs=jobs).depths)
    mark_sized(module)
    return place_ir_fifos(module, limits)


def _place_weights_within(module: ModuleOp, platform: Platform, limits: dict[str, float], sized: Totals) -> bool:
    """Fit the design in `module` (its FIFO depths sized, over `limits`) by moving weight memories between BRAM,
    URAM and LUTRAM at the same foldings (passes/spill.py place_weights), written if they fit. The pipeline
    stays the one the depths were simulated on (no stage's timing depends on where its weights live, and no
    weights move to DRAM), so its depths keep its II, and no second search is needed; False if no moves fit."""
    network = Network.from_module(module)
    choices = network.ir_choices()
    skips_only = network.evaluate(choices)  # what place_weights costs: the skip FIFOs, not the sized depths
    room = {k: limits[k] - (sized.resource(k) - skips_only.resource(k)) for k in RESOURCES}
    placed = place_weights(network, choices, skips_only, {**room, "offchip_bits": sized.offchip_bits}, platform)
    totals = None if placed is None else network.evaluate(placed[0], respect_ir_depths=True)
    if totals is None or totals.overshoot(limits) or totals.ii > sized.ii:
        return False
    for model, (_, memory, _, on_chip, *_) in zip(network.nodes, placed[0]):
        if model.has_weights:
            write_weights_memory(model.op, memory, on_chip)
    return True
