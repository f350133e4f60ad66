"""Weight allocation at fixed compute: each weighted node's weight-stationary tile and weight place (BRAM, URAM,
LUTRAM, DRAM, or split by depth), the foldings that set its MAC rate kept, for the least DRAM traffic within the
on-chip memory budget (issue 14: ZCU102's memory-bound rows).

A design whose weights stream from DRAM trades memory for traffic twice over: a weight memory kept on chip moves no
bits, and a larger tile (conv.h conv_tiled) sweeps the streamed weights fewer times for a larger tile buffer. Each
node's options at its compute folding form a (memory, traffic) set; the least traffic within the memory left is a
multiple-choice knapsack (analyses/knapsack.py), taken greedily by the steepest traffic saved per memory on each
node's lower convex hull (memory counted as BRAM18, URAM and LUT shares of the budget summed, each resource's room
checked on every step), then exact moves to any option that still fits (the hull skips), then the design evaluated
whole (its skip FIFOs follow the tiles' latencies), the room then the budget less what the rest of that design took
and the allocation made again, the design moving the least traffic within the budget kept. explore calls it where its
rounds for a target end over budget and place_weights does not fit them (passes/explore.py `_allocated`).
"""

from __future__ import annotations

import numpy as np

from dfcc.analyses.knapsack import hull_steps
from dfcc.analyses.network import RESOURCES, Choice, Network, Totals
from dfcc.hardware.platforms import Platform
from dfcc.kinds.cost import WEIGHT_PERIOD_FACTOR, NodeModel, step_factors

ALLOCATED = ("bram18", "uram", "lut")  # the memories a node's tile and weights take
SPLIT_STEP = 10  # AutoWS: a weight memory split by depth in steps of 10 %
FIT_ROUNDS = 4  # allocations, each within what the rest of the last one's design (its FIFOs) left of the budget
TOLERANCE = 1e-9


def tile_variants(model: NodeModel, folding: tuple[int, ...], known: dict) -> list[tuple[int, ...]]:
    """`folding` at every weight-stationary tile the node's kind builds, its other factors kept (just `folding`
    for a kind without tiles)."""
    if WEIGHT_PERIOD_FACTOR not in model.factors:
        return [folding]
    at = model.factors.index(WEIGHT_PERIOD_FACTOR)
    key = ("tiles", id(model), folding[:at] + folding[at + 1:])
    if key not in known:
        values = step_factors(model.extents[at])
        variants = [folding[:at] + (t,) + folding[at + 1:] for t in values]
        known[key] = [v for v in variants if model.buildable is None or model.buildable(v)] or [folding]
    return known[key]


def weight_places(platform: Platform) -> list[tuple[str, int]]:
    """Where a weight memory may live: whole in BRAM, URAM (if the board has it), LUTRAM or DRAM, or BRAM or URAM
    split by depth in SPLIT_STEP percent steps with the rest streamed."""
    memories = ["bram"] + (["uram"] if platform.uram > 0 else [])
    return ([(m, 100) for m in memories] + [("lutram", 100), ("off_chip", 100)]
            + [(m, p) for m in memories for p in range(100 - SPLIT_STEP, 0, -SPLIT_STEP)])


def node_options(model: NodeModel, choice: Choice, target: float, platform: Platform,
                 known: dict, streamed: bool = True) -> tuple[list[Choice], np.ndarray]:
    """Node `model`'s options at the compute folding of `choice` within `target` cycles (its multipliers and inner
    product kept): every tile by every place of its tile memories (NodeModel.lutram_options) by every place of its
    weights, as choices and rows of (ALLOCATED..., off-chip bits, cycles); not `streamed`, its folding's tile at its
    weights' place or whole in an on-chip memory."""
    folding, place, mult, on_chip_now, product, _ = choice
    key = ("options", id(model), folding, mult, product) + (() if streamed else (place, on_chip_now))
    if key not in known:
        choices, rows = [], []
        places = weight_places(platform) if streamed else list(dict.fromkeys(
            [(place, on_chip_now)] + [(m, p) for m, p in weight_places(platform) if m != "off_chip" and p == 100]))
        for variant in tile_variants(model, folding, known) if streamed else [folding]:
            for lutram in model.lutram_options(variant):
                for memory, on_chip in places:
                    cost = model.cost(variant, memory, mult, on_chip, product, lutram)
                    choices.append((variant, memory, mult, on_chip, product, lutram))
                    rows.append([getattr(cost, k) for k in ALLOCATED] + [cost.offchip_bits, cost.cycles])
        known[key] = choices, np.array(rows, dtype=np.float64)
    choices, rows = known[key]
    within = np.flatnonzero(rows[:, -1] <= target)
    return [choices[j] for j in within], rows[within, :-1]


def allocate_weights(network: Network, choices: list[Choice], totals: Totals, limits: dict[str, float],
                     platform: Platform, target: float, nodes: frozenset[int] | None = None,
                     known: dict | None = None) -> tuple[list[Choice], Totals] | None:
    """The design `choices` (its totals `totals`) with the weighted nodes (those in `nodes`, or all) at the tile and
    weight place that give the least DRAM traffic within `limits` (module docstring), the others at their tiles where
    they are or whole in an on-chip memory (the memory their LUTRAM takes may hold the others' weights: ResNet-50
    ZCU102's early convs; 8-bit 142.4 -> 147.4 fps, emulated formats, bench_throughput), no node slower than
    `target` cycles; None if no allocation fits every resource of `limits`. `known` keeps the nodes' options for later
    calls on this network and platform."""
    known = {} if known is None else known
    key = ("design", tuple(choices), target, nodes, tuple(sorted(limits.items())))
    if key not in known:  # explore's targets meet the same rounds' design again (ResNet-50: most of its calls)
        known[key] = _allocate(network, choices, totals, limits, platform, target, nodes, known)
    return known[key]


def _allocate(network: Network, choices: list[Choice], totals: Totals, limits: dict[str, float], platform: Platform,
              target: float, nodes: frozenset[int] | None, known: dict) -> tuple[list[Choice], Totals] | None:
    movable = [i for i, model in enumerate(network.nodes) if model.has_weights]
    if not movable or (nodes is not None and not nodes & set(movable)):
        return None
    options = [node_options(network.nodes[i], choices[i], target, platform, known, nodes is None or i in nodes)
               for i in movable]
    if any(not picks for picks, _ in options):
        return None
    held = np.array([[getattr(totals.costs[i], k) for k in ALLOCATED] for i in movable]).sum(axis=0)
    room = np.array([limits[k] - totals.resource(k) for k in ALLOCATED]) + held
    scale = np.array([1.0 / max(limits[k], TOLERANCE) for k in ALLOCATED])
    best, last = None, None
    for _ in range(FIT_ROUNDS):
        picked = least_traffic_within([rows for _, rows in options], room, scale)
        if picked is None:
            break
        design = list(choices)
        for i, (picks, _), j in zip(movable, options, picked):
            design[i] = picks[j]
        placed = network.evaluate(design, max_bits_per_cycle=platform.bandwidth_bits_per_cycle, fifo_limits=limits)
        if any(placed.resource(k) > limits[k] + TOLERANCE for k in RESOURCES if k not in ALLOCATED):
            break  # not the memories: no allocation of them helps
        slack = np.array([limits[k] - placed.resource(k) for k in ALLOCATED])
        if np.all(slack >= -TOLERANCE) and (best is None or placed.offchip_bits < best[1].offchip_bits):
            best = design, placed
        if picked == last:
            break
        used = sum(rows[j, :-1] for (_, rows), j in zip(options, picked))
        last, room = picked, used + slack  # what the skip FIFOs took or left as the tiles moved their latencies
    return best


def least_traffic_within(rows: list[np.ndarray], room: np.ndarray, scale: np.ndarray) -> list[int] | None:
    """Each item's option (row index: its resources, then its traffic) for the least traffic with the items' resources
    summed within `room`, weighed together by `scale` on the hulls: the hull greedy, then exact moves (module
    docstring); from the least-memory options, or where they overshoot a resource, from those moved into `room`
    (`_into_room`); None if no moves get them there."""
    items = [list(zip((r[:, :-1] @ scale).tolist(), r[:, -1].tolist())) for r in rows]
    starts, steps = hull_steps(items)
    picked = list(starts)
    used = sum(r[j, :-1] for r, j in zip(rows, picked))
    if np.any(used > room + TOLERANCE):
        picked, used = _into_room(rows, picked, used, room, scale)
        if np.any(used > room + TOLERANCE):
            return None
    frozen = set()
    for step in steps:
        if step.item in frozen or picked[step.item] != step.start:
            continue
        after = used + rows[step.item][step.end, :-1] - rows[step.item][step.start, :-1]
        if np.all(after <= room + TOLERANCE):
            picked[step.item], used = step.end, after
        else:
            frozen.add(step.item)  # its later steps start where this one ends
    return _exact_moves(rows, picked, used, room, scale)


def _stacked(rows: list[np.ndarray], picked: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """The items' options in one array, each row's item, each item's first row and the next item's, and each option
    less its item's `picked` one (the moves: after one, only its item's rows change, `_moved`)."""
    sizes = [len(r) for r in rows]
    stacked, owner, ends = np.concatenate(rows), np.repeat(np.arange(len(rows)), sizes), np.cumsum(sizes)
    starts = ends - sizes
    return stacked, owner, starts, ends, stacked - stacked[starts + np.array(picked)][owner]


def _moved(stacked: np.ndarray, starts: np.ndarray, ends: np.ndarray, delta: np.ndarray, n: int, best: int) -> None:
    """`delta` (`_stacked`) after item `n` moves to row `best`: its rows less that one, the others' as they were."""
    delta[starts[n]:ends[n]] = stacked[starts[n]:ends[n]] - stacked[best]


def _into_room(rows: list[np.ndarray], picked: list[int], used: np.ndarray, room: np.ndarray,
               scale: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The least-memory options (weighed by `scale`) moved while they overshoot a resource of `room` and a move
    shrinks the overshoot (weighed likewise): each the one shrinking it most per traffic added (any adding none
    first). The sum of the least weighed memories may overshoot one resource where other options fit (ResNet-50
    ZCU102 16-bit: 103 LUTs over, 413 BRAM18 spare, with the BRAM options of LUTRAM-cheapest nodes)."""
    stacked, owner, starts, ends, delta = _stacked(rows, picked)
    for _ in range(len(stacked)):
        over = np.maximum(used - room, 0.0) @ scale
        if over <= 0:
            break
        shrunk = over - np.maximum(used + delta[:, :-1] - room, 0.0) @ scale
        if not (shrunk > TOLERANCE * over).any():
            break
        added = np.maximum(delta[:, -1], 0.0)
        value = np.where(shrunk > TOLERANCE * over, shrunk / (added + TOLERANCE), -np.inf)
        best = int(np.argmax(value))
        n = int(owner[best])
        used = used + delta[best, :-1]
        picked[n] = best - int(starts[n])
        _moved(stacked, starts, ends, delta, n, best)
    return picked, used


def _exact_moves(rows: list[np.ndarray], picked: list[int], used: np.ndarray, room: np.ndarray,
                 scale: np.ndarray) -> list[int]:
    """Moves off the hulls while any fits: each the one saving the most traffic per share of the budget it adds
    (any that adds none first), so the memory the whole hull steps could not use is spent."""
    stacked, owner, starts, ends, delta = _stacked(rows, picked)
    bounds = room + TOLERANCE
    for _ in range(len(stacked)):
        saved = -delta[:, -1]
        fits = saved > 0
        for k, bound in enumerate(bounds):  # a resource at a time: numpy reduces a short last axis slowly
            fits &= used[k] + delta[:, k] <= bound
        if not fits.any():
            break
        added = np.maximum(delta[:, :-1] @ scale, 0.0)
        value = np.where(fits, saved / (added + TOLERANCE), -np.inf)
        best = int(np.argmax(value))
        n = int(owner[best])
        used = used + delta[best, :-1]
        picked[n] = best - int(starts[n])
        _moved(stacked, starts, ends, delta, n, best)
    return picked
