"""Where the on-chip memory of explore's designs goes, and how full its blocks are.

    python -m dfcc.bench.bench_memory [--models densenet121,resnet50] [--boards u250] [--cache DIR] [--top 8]

For each model and board, explore's design (as bench_throughput finds it), then its BRAM18, URAM288 and
LUTRAM split into: weight memories by where they live, the other memories of the nodes (line and
window buffers, a pool's window, a tile's buffers) by kind, and the skip FIFOs (DenseNet's concats,
ResNet's residual adds) by the kind that joins them. "fill" is the bits a part holds over the bits of
the blocks it takes (a BRAM18 holds 36 x 512 bits, a URAM288 72 x 4096): a wide shallow memory fills
a small share of its blocks. Lane converters hold their beats in registers (LUTs and FFs, no memory).
The widest consumers of BRAM18 and URAM follow, one node a line.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

from dfcc.analyses.network import Network, fifo_memory
from dfcc.bench.model_cache import lowered
from dfcc.hardware.memory import BRAM18_ASPECTS, URAM_DEPTH, URAM_WIDTH, bram18, lutram_luts
from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import explore

BRAM18_BITS = max(w * d for w, d in BRAM18_ASPECTS)
URAM_BITS = URAM_WIDTH * URAM_DEPTH


def breakdown(network: Network, choices, totals) -> dict[str, list[int]]:
    """part -> [BRAM18, URAM, LUTRAM LUTs, bits held]."""
    parts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for model, (_, memory, _, on_chip, *_), cost in zip(network.nodes, choices, totals.costs):
        kind = model.op_name.removeprefix("dataflow.")
        weight_bram = 0
        if cost.weight_width and on_chip == 100:
            bits = cost.weight_width * cost.weight_depth
            part = parts[f"weights in {memory}"]
            if memory == "bram":
                weight_bram = bram18(cost.weight_width, cost.weight_depth)
                part[0] += weight_bram
                part[2] += 0 if weight_bram else lutram_luts(cost.weight_width, cost.weight_depth)
            elif memory == "uram":
                part[1] += cost.uram
            elif memory == "lutram":
                part[2] += lutram_luts(cost.weight_width, cost.weight_depth)
            part[3] += bits
        if cost.bram18 - weight_bram:
            parts[f"{kind} buffers"][0] += cost.bram18 - weight_bram
    for index, depth in totals.fifo_depths.items():
        edge = network.edges[index]
        lanes = max(1, totals.costs[edge.producer].out_lanes)
        memory = totals.fifo_memories.get(index, "auto")
        blocks, urams, luts = fifo_memory(depth, edge.bits, lanes, memory)
        where = "" if memory == "auto" else f" in {memory}"
        part = parts[f"skip FIFOs to {network.nodes[edge.consumer].op_name.removeprefix('dataflow.')}{where}"]
        part[0] += blocks
        part[1] += urams
        part[2] += luts
        part[3] += depth * edge.bits * lanes
    return parts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="densenet121,resnet50")
    parser.add_argument("--boards", default="u250")
    parser.add_argument("--cache", default="/tmp/dfcc-bench")
    parser.add_argument("--top", type=int, default=8, help="nodes listed per memory")
    args = parser.parse_args()
    for name in args.models.split(","):
        network = Network.from_module(lowered(name, args.cache))
        for board in args.boards.split(","):
            platform = load_platform(board)
            choices, totals = explore(network, platform, progress=False)
            print(f"{name} {platform.name}: II {totals.ii:,}, BRAM18 {totals.bram18:,} of {platform.bram18:,}, "
                  f"URAM {totals.uram:,} of {platform.uram:,}, LUT {totals.lut:,} of {platform.lut:,}")
            print(f"  {'part':32s} {'BRAM18':>7s} {'URAM':>6s} {'LUTRAM':>8s} {'fill':>5s}")
            for part, (b, u, luts, bits) in sorted(breakdown(network, choices, totals).items()):
                capacity = b * BRAM18_BITS + u * URAM_BITS
                fill = f"{bits / capacity:.2f}" if bits and capacity else ""
                print(f"  {part:32s} {b:7,} {u:6,} {luts:8,} {fill:>5s}")
            for resource in ("bram18", "uram"):
                ranked = sorted(zip(network.nodes, choices, totals.costs), key=lambda x: -getattr(x[2], resource))
                for model, choice, cost in ranked[:args.top]:
                    if getattr(cost, resource):
                        print(f"  {resource:6s} {getattr(cost, resource):5,} {model.name:12s} folding {choice[0]} "
                              f"weights {choice[1]} {cost.weight_width} x {cost.weight_depth}")


if __name__ == "__main__":
    sys.exit(main())
