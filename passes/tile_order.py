"""Tile-major streams chosen for an explored design (issue 14): where every writer and reader of a chain of streams
can take one order, the tiled convs between them keep less (conv.h conv_tiled_tm_out writes no output buffer,
conv_point_tm_in reads without a tile buffer or input FIFO), and the memory freed goes back to the weights.

A chain is a set of streams joined through the nodes indifferent to the order (forks, DRAM FIFOs, maps without
broadcasts and with parameters, if any, per channel: ResNet's add + ReLU and skip, a batch norm; channel concats,
DenseNet's dense blocks); it can be tile-major (tile R block B) when its writers are weight-stationary convs (or,
in a second try, any ungrouped convs, made so) or pools (DenseNet's stem and transitions: pool.h tile_major_out
reorders their output) and its readers 1x1 unpadded convs likewise (at stride S over whole S x S blocks) or global
pools. Per chain the (R, B) is one, B dividing every stream's channels and R the pixels (a concat's tiles whole, and
tiles explore's search offers every conv): B each conv writer's coarse_out and each conv reader's coarse_in, its
coarse_in (a writer's) or coarse_out (a reader's) the least dividing its channels or filters that keeps the conv's
lanes (so its cycles) or more; a pool's, a map's and a global pool's lanes the most dividing B up to theirs, one
pixel a beat, a concat's inputs in turn; the readers at R / S^2. The chain takes the (R, B) moving the least weight
traffic (fewest sweeps), then the least BRAM, of those with no node slower than the design's II, no more LUTs than
pixel-major plus what the design leaves of explore's LUT budget and less BRAM than pixel-major (in the second try plus
what the design leaves of explore's BRAM budget; the chains in IR order each spending what the earlier ones left or
freed), if it moves no more traffic than pixel-major; then the
graph so ordered is searched again (explore, its weight allocation spending the memory freed:
passes/weight_allocation.py), and the design of the try with the lower II kept if it is lower than pixel-major's
(ResNet-50 on a ZCU102, 16 bits, the first try: its 14x14 stage's trunk, tile 28 block 2, 132 BRAM18 freed, searched
II 6.05 M -> 4.93 M cycles (CLI, quantize 16/16; bench_throughput's emulated formats 5.22 M -> 4.32 M), the sizing's
FIFOs fitting; DenseNet-121 on a ZCU102, 16 bits, the second: its 14x14 and 7x7 dense blocks, explore_module's II
6.72 M -> 4.77 M cycles). A conv on two chains (ResNet's downsample reads one stage's trunk and writes the next's)
keeps the tile and lanes the first chain ordered gave it: the next chain's options at other tiles do not verify
(ResNet-50's 7x7 trunk, whose tile 49 block 4 alone would move 537 Mbit less weight traffic for 177 BRAM18 more, emulated
16-bit, stays pixel-major behind its downsample's tile 7). The explore pass's later FIFO rounds, whose searches keep out of the
budget what the FIFOs the sizing wrote need beyond those costed, try the orders the earlier round kept
(`written_orders`) searched again within it: DenseNet-121's round-2 pixel-major design (22.4 fps) had no chain left
to order (its convs, untiled, took more LUTs ordered); round 1's orders searched again gave 34.7 fps, its sized FIFOs
within the budget (dense17's CLI; 29.3 fps, II 6.84 M, through the CLI at session 18's main). LUTs a chain may spend
beyond its own (densezcu19): DenseNet-121's 28x28 and 14x14 dense blocks at tile 28 block 2 and tile 14 block 4 (the
14x14 block's weights swept 14 times, not 28: 1.82 -> 0.84 Gbit) take 2.1 k and 0.4 k LUTs more than pixel-major at
the round-1 design's foldings (13.5 k of the budget left): searched 4.82 M cycles, and with the reserve rule of
explore's FIFO rounds, 35.4 fps (bench_throughput, emulated 16-bit; 34.3 before).
The second try chooses every chain's order together (`order_chains`), from the first try's orders (or the earlier
round's), and a later FIFO round makes it too: a multiple-choice knapsack of the chains' options for the least weight
traffic within the BRAM18 and LUTs the design leaves, so a chain may give up sweeps, freeing BRAM18, for another that
saves more traffic with them (dense21, bench/memory_bound.py's explanation: DenseNet-121's 7x7 dense block pixel-major,
untiled, swept its streamed weights 49 times, 1.69 Gbit of its 3.84; at tile 7 block 1, 16 BRAM18 more than its
chain had, 0.26 Gbit; with its 28x28 block at tile 14 to pay for them, emulated 16-bit ZCU102 35.4 -> 36.9 fps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import numpy as np

from xdsl.dialects.builtin import IntegerAttr, ModuleOp, i64
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import VerifyException

from dfcc.analyses.network import Choice, Network, Totals
from dfcc.errors import DfccError
from dfcc.dialects.dataflow import NodeOp, StreamType
from dfcc.kinds.concat import ConcatOp
from dfcc.kinds.conv import ConvOp, point_stride
from dfcc.kinds.cost import NodeCost, divisors, is_node, node_cost
from dfcc.kinds.ddr_fifo import DdrFifoOp
from dfcc.kinds.fork import ForkOp
from dfcc.kinds.map import MapOp
from dfcc.kinds.pool import PoolOp
from dfcc.kinds.reduce import ReduceOp
from dfcc.passes.weight_allocation import least_traffic_within

Design = tuple[Network, list[Choice], Totals]


def passes_order(op: Operation) -> bool:
    """Each element out as it came in, whatever the order (their `order_problem` is `same_order_problem`; a map
    with per-channel parameters at lanes dividing the block, a channel concat its inputs in turn)."""
    return (isinstance(op, (ForkOp, DdrFifoOp)) or (isinstance(op, MapOp) and (op.order_free() or op.per_channel()))
            or (isinstance(op, ConcatOp) and op.is_channel_concat()))


def chains(module: ModuleOp) -> list[tuple[list[SSAValue], list[NodeOp], list[NodeOp]]]:
    """The module's chains of 4-d streams (module docstring): (streams, writers, readers), streams in IR order."""
    parent: dict[SSAValue, SSAValue] = {}

    def root(v: SSAValue) -> SSAValue:
        while parent[v] is not v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    ops = [op for op in module.walk() if is_node(op)]
    for op in ops:
        for r in op.results:
            if isinstance(r.type, StreamType):
                parent[r] = r
    for op in ops:
        if passes_order(op):
            values = [v for v in (*op.operands, *op.results) if v in parent]
            for v in values[1:]:
                parent[root(v)] = root(values[0])
    groups: dict[SSAValue, list[SSAValue]] = {}
    for v in parent:
        groups.setdefault(root(v), []).append(v)
    position = {op: i for i, op in enumerate(ops)}  # readers in IR order: a value's uses are a set
    found = []
    for values in groups.values():
        if len(values[0].type.get_shape()) != 4:
            continue
        writers = [v.owner for v in values if not passes_order(v.owner)]
        readers = sorted({u.operation for v in values for u in v.uses if not passes_order(u.operation)},
                         key=lambda op: position.get(op, len(position)))
        found.append((values, writers, readers))
    return found


def _tiled(op: ConvOp, any_folding: bool) -> bool:
    """Whether the conv is weight-stationary (tiles): as folded, or, `any_folding`, at some folding (ungrouped)."""
    return op.int_prop("tile") > 1 or (any_folding and op.groups.value.data == 1)


def _can_write(op: NodeOp, any_folding: bool = False) -> bool:
    return (isinstance(op, ConvOp) and _tiled(op, any_folding)) or (isinstance(op, PoolOp)
                                                                    and op.input.type.order is None)


def _can_read(op: NodeOp, any_folding: bool = False) -> bool:
    return (isinstance(op, ConvOp) and point_stride(op) is not None and _tiled(op, any_folding)) or isinstance(
        op, ReduceOp)


def orderable_streams(module: ModuleOp) -> set[SSAValue]:
    """The streams of the module's chains that could be tile-major at some folding: written by ungrouped convs or
    pools only and read by 1x1 unpadded convs or global pools only (bench_throughput's memory bound)."""
    return {v for values, writers, readers in chains(module)
            if writers and readers and all(_can_write(op, True) for op in writers)
            and all(_can_read(op, True) for op in readers) for v in values}


def _write(op: NodeOp, factors: dict[str, int]) -> None:
    for key, value in factors.items():
        op.properties[key] = IntegerAttr(value, i64)


def _set_order(values: list[SSAValue], order: tuple[int, int] | None) -> None:
    """The streams `values` in `order`, in place (the list holds the new values)."""
    values[:] = [Rewriter.replace_value_with_new_type(v, v.type.with_order(order)) for v in values]


def _least_divisor(n: int, at_least: int) -> int:
    """The least divisor of `n` that is at least `at_least` (n if none is)."""
    return min((d for d in divisors(n) if d >= at_least), default=n)


def _lanes(op: NodeOp, block: int) -> int:
    """The most lanes dividing `block` up to those `op` (a pool, map or global pool) has now."""
    lanes = op.int_prop("coarse") * (op.int_prop("pixels") if "pixels" in op.folding_extents() else 1)
    return max(d for d in divisors(block) if d <= lanes)


def _options(values: list[SSAValue], writers: list[NodeOp], readers: list[NodeOp], passing: list[NodeOp]):
    """Each (R, B) the chain may take (module docstring), with the factors it writes on its nodes: its writers and
    readers and the nodes it passes (`passing`)."""
    n, h, w, _ = values[0].type.get_shape()
    pixels = n * h * w
    channels = math.gcd(*(v.type.get_shape()[-1] for v in values))
    blocks = sorted({op.int_prop("coarse_out") for op in writers if isinstance(op, ConvOp)}
                    | {_lanes(op, channels) for op in writers if isinstance(op, PoolOp)})
    for block in (b for b in blocks if channels % b == 0):
        shared = {op: _passing_factors(op, block) for op in passing}
        for tile in divisors(pixels)[1:]:
            factors = dict(shared)
            for op in writers:
                if isinstance(op, PoolOp):
                    factors[op] = {"coarse": _lanes(op, block), "pixels": 1}
                    continue
                lanes, c = op.int_prop("coarse_in") * op.int_prop("coarse_out"), op.input.type.get_shape()[-1]
                factors[op] = {"tile": tile, "coarse_in": _least_divisor(c, -(-lanes // block)), "coarse_out": block,
                               "pixels": 1}
            for op in readers:
                if isinstance(op, ReduceOp):
                    factors[op] = {"coarse": _lanes(op, block)}
                    continue
                lanes, stride = op.int_prop("coarse_in") * op.int_prop("coarse_out"), point_stride(op)
                if tile % stride ** 2:
                    break
                filters = op.output.type.get_shape()[-1]
                read = {"tile": tile // stride ** 2, "coarse_in": block,
                        "coarse_out": _least_divisor(filters, -(-lanes // block)), "pixels": 1}
                if factors.setdefault(op, read) != read:  # a writer of the chain too (ResNet's add reads it)
                    break
            else:
                yield (tile, block), factors


def _passing_factors(op: NodeOp, block: int) -> dict[str, int]:
    """The folding a node the chain passes takes in block `block`: a per-channel map's lanes dividing it, one pixel a
    beat; a concat's inputs in turn; a fork's or a DRAM FIFO's as they are."""
    if isinstance(op, MapOp) and not op.order_free():
        return {"coarse": _lanes(op, block), "pixels": 1}
    if isinstance(op, ConcatOp):
        return {"coarse": op.int_prop("coarse"), "side": 1, "pixels": 1}
    return {}


Costs = dict[Hashable, NodeCost | None]  # nodes' costs by `_node_key` (None: the node does not verify)


def _node_key(op: NodeOp) -> Hashable | None:
    """What a node's verifier and cost read of it within one module (its weights are its name's, and a kind's cost
    reads no other node: kinds/cost.py `cost_key`): its name, kind, properties, attributes, and its operands' and
    results' types; None if an attribute is unhashable."""
    key = (op.node_name.data, type(op), tuple(sorted(op.properties.items())), tuple(sorted(op.attributes.items())),
           tuple(v.type for v in op.operands), tuple(r.type for r in op.results))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _chain_cost(ops: list[NodeOp], costs: Costs | None = None) -> tuple[int, float, int, int] | None:
    """(BRAM18, weight traffic, LUT, slowest cycles) of the chain's nodes as written, or None if one is invalid.
    `costs`: the nodes' costs found before (`Costs`, of nodes of the same module), those found here added."""
    costs = {} if costs is None else costs
    found = []
    for op in ops:
        key = _node_key(op)
        cost = costs[key] if key in costs else _verified_cost(op)
        if key is not None:
            costs[key] = cost
        if cost is None:
            return None
        found.append(cost)
    return (sum(c.bram18 for c in found), sum(c.offchip_bits for c in found), sum(c.lut for c in found),
            max(c.cycles for c in found))


def _verified_cost(op: NodeOp) -> NodeCost | None:
    """The node's cost as written, None if it does not verify."""
    try:
        op.verify()
    except VerifyException:
        return None
    return node_cost(op)


def _option_cost(values: list[SSAValue], ops: list[NodeOp], order: tuple[int, int],
                 factors: dict[NodeOp, dict[str, int]], costs: Costs | None = None
                 ) -> tuple[int, float, int, int] | None:
    """`_chain_cost` of the chain's nodes `ops` (in IR order) with its streams `values` in `order` and `factors`
    written, costed on detached copies (the IR untouched: an option is written only once chosen), their operand uses
    dropped after."""
    chain, mapper, copies = set(values), {}, []
    for op in ops:  # a stream's writer copied before its readers
        copy = op.clone(value_mapper=mapper)
        for r, twin in zip(op.results, copy.results):
            if r in chain:
                mapper[r] = Rewriter.replace_value_with_new_type(twin, twin.type.with_order(order))
        _write(copy, factors.get(op, {}))
        copies.append(copy)
    try:
        return _chain_cost(copies, costs)
    finally:
        for copy in copies:
            copy.drop_all_references()


def chain_options(values: list[SSAValue], writers: list[NodeOp], readers: list[NodeOp], target: float,
                  any_folding: bool = False, only: tuple[int, int] | None = None, costs: Costs | None = None
                  ) -> tuple[tuple[int, float, int, int], list[tuple]] | None:
    """The chain's cost as written (`_chain_cost` of its writers, readers and the nodes it passes), and each (R, B)
    with no node slower than `target` cycles as (cost, order, factors), its convs weight-stationary already or,
    `any_folding`, made so; with `only`, of the (R, B) only that one costed; None if it can take no order. `costs`:
    as `_chain_cost` takes them."""
    if not writers or not readers or not all(_can_write(op, any_folding) for op in writers) or not all(
            _can_read(op, any_folding) for op in readers):
        return None
    passing = list(dict.fromkeys(v.owner for v in values if passes_order(v.owner)))
    position = {op: i for i, op in enumerate(writers[0].parent_block().ops)}
    ops = sorted(dict.fromkeys(writers + readers + passing), key=position.__getitem__)
    costs = {} if costs is None else costs
    written = _chain_cost(ops, costs)
    if written is None:
        return None
    options = []
    for order, factors in _options(values, writers, readers, passing):
        if only is not None and order != only:
            continue
        cost = _option_cost(values, ops, order, factors, costs)
        if cost is not None and cost[3] <= target:
            options.append((cost, order, factors))
    return written, options


def _write_option(values: list[SSAValue], order: tuple[int, int], factors: dict[NodeOp, dict[str, int]]) -> None:
    for op, chosen in factors.items():
        _write(op, chosen)
    _set_order(values, order)


def order_chain(values: list[SSAValue], writers: list[NodeOp], readers: list[NodeOp], target: float,
                spare: float = 0, any_folding: bool = False, lut_spare: float = 0, costs: Costs | None = None
                ) -> tuple[float, float] | None:
    """Write the chain's best (R, B) (module docstring) if one moves no more weight traffic than the chain does now,
    with no node slower than `target` cycles, less BRAM than now plus `spare` and no more LUTs than now plus
    `lut_spare` (its writers, readers and the nodes it passes costed), its convs weight-stationary already or,
    `any_folding`, made so; the BRAM18 and the LUTs it took over what the chain had (negative: freed), or None if it
    wrote none. `costs`: as `_chain_cost` takes them."""
    listed = chain_options(values, writers, readers, target, any_folding, costs=costs)
    if listed is None:
        return None
    (bram, traffic, lut, _), options = listed
    best = None
    for cost, order, factors in options:
        if (cost[0] < bram + spare and cost[2] <= lut + lut_spare
                and (best is None or cost[1:2] + cost[:1] < best[0][1:2] + best[0][:1])):
            best = cost, order, factors
    if best is None or best[0][1] > traffic or (best[0][0] >= bram and best[0][1] == traffic):
        return None
    cost, order, factors = best
    _write_option(values, order, factors)
    return cost[0] - bram, cost[2] - lut


def order_chains(module: ModuleOp, target: float, spare: float, lut_spare: float, limits: dict[str, float],
                 costs: Costs | None = None) -> bool:
    """The orders of `module`'s chains chosen together (any ungrouped conv made weight-stationary): each chain as
    written or at one of its (R, B) (`chain_options`), the least weight traffic of them all with the BRAM18 and LUTs
    they take over what the chains have within `spare` and `lut_spare` (a multiple-choice knapsack,
    passes/weight_allocation.py `least_traffic_within`: a chain may free BRAM18 at more sweeps for another that saves
    more traffic with it; BRAM18 and LUTs weighed on its hulls as shares of `limits`, explore's budget), written in
    IR order (a conv on two chains keeps what the first gave it: the next's option is costed again and written if it
    still verifies); whether any was written. `costs`: as `_chain_cost` takes them."""
    costs = {} if costs is None else costs
    listed = [(chain, chain_options(*chain, target, True, costs=costs)) for chain in chains(module)]
    listed = [(chain, found) for chain, found in listed if found is not None and found[1]]
    if not listed:
        return False
    rows = [np.array([(0.0, 0.0, now[1])] + [(c[0] - now[0], c[2] - now[2], c[1]) for c, _, _ in options])
            for (_, (now, options)) in listed]
    scale = np.array([1.0 / max(limits.get(k, 0.0), 1.0) for k in ("bram18", "lut")])
    picked = least_traffic_within(rows, np.array([spare, lut_spare]), scale)
    wrote = False
    for ((values, writers, readers), (_, options)), j in zip(listed, picked or ()):
        if j == 0:
            continue
        again = chain_options(values, writers, readers, target, True, only=options[j - 1][1], costs=costs)
        found = again[1][0] if again is not None and again[1] else None
        if found is not None:
            _write_option(values, found[1], found[2])
            wrote = True
    return wrote


Orders = dict[str, tuple[dict[str, int], list[tuple[int, int] | None]]]


def written_orders(module: ModuleOp) -> Orders:
    """The tile-major orders written in `module`: by node name, the folding and the orders of the streams it writes of
    each node reading or writing a tile-major stream (explore's FIFO rounds: the design an earlier round kept)."""
    return {op.node_name.data: (op.folding(), [r.type.order for r in op.results if isinstance(r.type, StreamType)])
            for op in module.walk() if is_node(op)
            and any(isinstance(v.type, StreamType) and v.type.order for v in (*op.operands, *op.results))}


def _write_orders(module: ModuleOp, orders: Orders) -> bool:
    """`orders` (`written_orders`) written into `module` (the same graph), if it verifies so; whether it did (if not,
    the module is left invalid: a trial's clone)."""
    for op in [op for op in module.walk() if is_node(op) and op.node_name.data in orders]:
        folding, written = orders[op.node_name.data]
        _write(op, folding)
        for r, order in zip([r for r in op.results if isinstance(r.type, StreamType)], written):
            if r.type.order != order:
                Rewriter.replace_value_with_new_type(r, r.type.with_order(order))
    try:
        module.verify()
    except VerifyException:
        return False
    return True


def order_streams(module: ModuleOp, design: Design,
                  search: Callable[[Network, frozenset[int], float], tuple[list[Choice], Totals]],
                  apply_design: Callable[[ModuleOp, Network, list[Choice], Totals, str], None],
                  platform_name: str, limits: dict[str, float] | None = None, earlier: Orders | None = None,
                  costs: Costs | None = None) -> Design:
    """`design` (explored on `module`'s pixel-major network) written, its chains made tile-major where that frees
    memory, and the network so ordered searched again (`search`: explore, whose weight allocation then spends the
    memory freed; tiles and DRAM weights for the nodes that had them and the ordered convs; only a design faster than
    the best so far, the II its third argument); that design, its
    orders (and foldings valid with them) written into `module`, returned as its network, choices and totals, if its
    II is lower, else `design` (the module untouched). Twice: chains of the convs `design` tiles, within the BRAM
    they hold, then of any ungrouped convs, within what `design` leaves of the BRAM18 of `limits` too (explore's
    budget), the lower II kept (ResNet-50 ZCU102 16-bit: the first; DenseNet-121: the second, the first since its
    chains may spend LUTs); in both a chain's LUTs within what it has plus what `design` leaves of the LUTs of
    `limits` (the chains in IR order each spending what the earlier ones left or freed). `apply_design` writes a
    design into a module (passes/explore.py). With `earlier` orders (`written_orders`: those of the design an earlier
    FIFO round of the explore pass kept, whose sized FIFOs did not fit), one try instead: those orders and their
    nodes' foldings, searched again within the memory this round's search has (DenseNet-121 ZCU102 16-bit: its
    second round's pixel-major design has no chain to order: its convs, untiled, would take more LUTs ordered). The
    second try (of either) starts from the first's orders and chooses every chain's together (`order_chains`).
    `costs`: the nodes' costs found before (`_chain_cost`: of this module's nodes, by an earlier call on it), those
    found here added."""
    costs = {} if costs is None else costs
    network, choices, totals = design
    limits = limits or {}
    target = totals.compute_ii or totals.ii
    best, kept, tried = design, None, []
    applied = module.clone()  # `design` written once, each try on a copy of it or of the last try's orders
    apply_design(applied, Network.from_module(applied), choices, totals, platform_name)
    previous = None  # the last try's orders, which the joint try starts from
    for relaxed in (None, True) if earlier else (False, True):
        trial = (previous if relaxed and previous is not None else applied).clone()
        spare, ordered_any = max(0.0, limits.get("bram18", 0) - totals.bram18) if relaxed else 0.0, False
        lut_spare = max(0.0, limits.get("lut", 0) - totals.lut)
        if relaxed is None:
            ordered_any = _write_orders(trial, earlier)
        if relaxed:
            ordered_any = order_chains(trial, target, spare, lut_spare, limits, costs)
        for chain in chains(trial) if relaxed is False else ():  # in IR order, each spending what earlier ones left
            taken = order_chain(*chain, target, spare, relaxed, lut_spare, costs)
            if taken is not None:
                spare, lut_spare, ordered_any = max(0.0, spare - taken[0]), max(0.0, lut_spare - taken[1]), True
        written = tuple((op.folding(), [r.type.order for r in op.results if isinstance(r.type, StreamType)])
                        for op in trial.walk() if is_node(op))
        if not ordered_any or written in tried:
            continue
        tried.append(written)
        previous = trial  # the next try writes a copy of it; its search only reads it
        ordered = Network.from_module(trial)
        streamed = frozenset(i for i, (model, (folding, memory, _, on_chip, *_))
                             in enumerate(zip(ordered.nodes, ordered.ir_choices()))
                             if dict(zip(model.factors, folding)).get("tile", 1) > 1 or memory == "off_chip"
                             or on_chip < 100)
        try:
            picks, after = search(ordered, streamed, best[2].ii)
        except DfccError:  # nothing fits the ordered graph faster than the best design so far
            continue
        if after.ii < best[2].ii:
            best, kept = (ordered, picks, after), trial
    if kept is None:
        return design
    for op, done in zip([op for op in module.walk() if is_node(op)], [op for op in kept.walk() if is_node(op)]):
        op.properties.update(done.properties)
        for r, t in zip(op.results, done.results):
            if isinstance(r.type, StreamType) and r.type.order != t.type.order:
                Rewriter.replace_value_with_new_type(r, r.type.with_order(t.type.order))
    return Network.from_module(module), best[1], best[2]
