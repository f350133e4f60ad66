"""Where explore's costed FIFOs fall short of the sized ones: the gap that costs a FIFO round (passes/explore.py
`Explore`: a design whose sized depths go over the budget is searched again with the overshoot reserved).

    python -m dfcc.bench.fifo_gap MODEL [--board zcu102] [--bits 16] [--cache DIR] [--top N] [--check]

Runs one FIFO round (explore_module, then the sizing: analyses/fifo_sizing.py) on MODEL, emulated at --bits as
bench_throughput does, and compares each edge's FIFO in the search's cost model (analyses/network.py: skip, burst and
tail FIFOs) with its sized depth, in BRAM18: summed by (producer kind, consumer kind), then the --top edges. With
--check, the edges of each of the largest kind pairs that the cost model leaves at the default depth are set back
to it and the design simulated again (analyses/simulation.py): an II above the sized one shows those FIFOs are
needed, so the cost model misses them; an II unchanged shows the sizing kept depths it did not need. DenseNet-121
ZCU102 16-bit: tiled conv -> concat and map -> tiled 1x1 conv hold 67 and 44 of a 101 BRAM18 gap, and without them
the II goes from 4,020,352 to 5,174,077 and 6,427,662; ResNet-18 ZCU102 16-bit: fork -> conv holds 28 (without them
785,668, not 451,951), map -> conv 6, which the II does not need. Then the pair's largest such FIFO set back alone:
where the II holds, the pair's FIFOs hold slack any of them may (a chain's), not each its own.
"""

from __future__ import annotations

import argparse
from collections import Counter

from dfcc.analyses.fifo_sizing import write_depths
from dfcc.analyses.network import DEFAULT_FIFO_DEPTH, Network, budget
from dfcc.analyses.simulation import simulate
from dfcc.analyses.sized_depths import drop_sized
from dfcc.bench.model_cache import emulate_bits, lowered
from dfcc.hardware.memory import fifo_blocks
from dfcc.hardware.platforms import load_platform
from dfcc.kinds.inner_product import products_written
from dfcc.passes.explore import _write_fifo_depths, apply_design, explore_module

CHECKED_PAIRS = 2  # kind pairs --check simulates without their uncosted FIFOs, the largest gaps first


def _kinds(network: Network, edge) -> tuple[str, str]:
    return tuple(type(network.nodes[n].op).__name__.removesuffix("Op") for n in (edge.producer, edge.consumer))


def _names(network: Network, edge) -> tuple[str, str]:
    return tuple(network.nodes[n].op.node_name.data for n in (edge.producer, edge.consumer))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--board", default="zcu102")
    parser.add_argument("--bits", type=int, default=16)
    parser.add_argument("--cache", default="/tmp/dfcc-bench")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    module = lowered(args.model, args.cache)
    emulate_bits(module, args.bits)
    platform = load_platform(args.board)
    limits = budget(platform, 0.9)
    drop_sized(module)
    network, choices, totals = explore_module(module, platform, progress=False, products=products_written(module),
                                              jobs=2)
    apply_design(module, network, choices, totals, args.board)
    sized = _write_fifo_depths(module, limits, 2)
    print(f"{args.model} {args.board} {args.bits}-bit: II {totals.ii:,}; FIFO BRAM18 costed {totals.fifo_bram18:,}, "
          f"sized {sized.fifo_bram18:,}; BRAM18 {sized.bram18:,} of {limits['bram18']:,.0f}")
    network = Network.from_module(module)  # the sized IR's edges (the stream values changed)
    costed = network.evaluate(network.ir_choices(), trace_latency=False, fifo_limits=limits)
    rows = []
    for e, edge in enumerate(network.edges):
        width = edge.bits * max(1, costed.costs[edge.producer].out_lanes)
        depth = costed.fifo_depths.get(e, 0)
        was = fifo_blocks(width, depth)[0] if depth else 0
        now = fifo_blocks(width, edge.ir_depth, edge.ir_memory)[0] if edge.ir_depth > DEFAULT_FIFO_DEPTH else 0
        rows.append((now - was, e, depth, edge.ir_depth, width))
    by_pair = Counter()
    for gap, e, *_ in rows:
        by_pair[_kinds(network, network.edges[e])] += gap
    print("BRAM18 sized beyond costed, by producer -> consumer kind:")
    for (producer, consumer), gap in by_pair.most_common():
        if gap:
            print(f"  {producer:>10} -> {consumer:<10} {gap:6,}")
    print(f"the {args.top} largest edges: producer -> consumer, bits a beat, depth costed -> sized, BRAM18 gap")
    for gap, e, depth, ir_depth, width in sorted(rows, reverse=True)[:args.top]:
        names = _names(network, network.edges[e])
        print(f"  {names[0]:>12} -> {names[1]:<12} {width:4} bits  {depth:6,} -> {ir_depth:6,}  {gap:+4}")
    if not args.check:
        return
    print(f"simulated II with the sized depths: {simulate(module).ii:,}")
    for pair, _ in by_pair.most_common(CHECKED_PAIRS):
        uncosted = [row for row in rows if row[0] > 0 and not row[2] and _kinds(network, network.edges[row[1]]) == pair]
        trial = module.clone()
        edges = Network.from_module(trial).edges
        write_depths({edges[e].value: DEFAULT_FIFO_DEPTH for _, e, *_ in uncosted})
        print(f"  {pair[0]} -> {pair[1]}: {len(uncosted)} uncosted FIFOs at depth {DEFAULT_FIFO_DEPTH}, "
              f"simulated II {simulate(trial).ii:,}")
        _, e, _, ir_depth, _ = max(uncosted)
        alone = module.clone()
        write_depths({Network.from_module(alone).edges[e].value: DEFAULT_FIFO_DEPTH})
        names = _names(network, network.edges[e])
        print(f"    the largest alone ('{names[0]}' -> '{names[1]}', {ir_depth:,} beats) at depth "
              f"{DEFAULT_FIFO_DEPTH}: simulated II {simulate(alone).ii:,}")


if __name__ == "__main__":
    main()
