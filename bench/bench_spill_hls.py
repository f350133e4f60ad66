"""Builds the spilled ResNet-18 W4A5 design explore picks for ZCU102 (weights streamed from DRAM) as HLS.

    python -m dfcc.bench.bench_spill_hls [--cache DIR] [--out DIR] [--syntax] [--size 32]

1. At 224x224: quantize (4-bit weights, 5-bit activations), explore{off-chip-weights=true} on ZCU102 (without
   its simulation-based FIFO sizing, as bench_spill --fast), print the estimate and the spilled nodes, write
   the `-t hls` project to --out (with its weight image) and, with --syntax, check top.cpp with g++
   (-fsyntax-only: about ten minutes, the ROM headers hold 11M weights).
2. At --size x --size: the same network with explore's decisions (folding, weight memories, on-chip
   percents) copied node by node (a factor that no longer divides its extent dropped; a weight-stationary
   tile cut to the largest divisor of the smaller output's pixels not above it: --size 64 keeps tiles on
   layer4's 2x2 output, at 32 it is 1x1), C simulation against the CPU reference (bit-exact or not).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, i64
from xdsl.ir import Attribute

from dfcc.analyses.network import Network
from dfcc.analyses.reference import run_reference
from dfcc.backends.estimate.report import Estimate
from dfcc.backends.hls import toolchain
from dfcc.backends.hls.csim import csim
from dfcc.backends.hls.emit import emit_design
from dfcc.backends.hls.project import weight_image, write_project
from dfcc.bench.bench_spill import lowered
from dfcc.dialects.dataflow import MULT_IMPL_ATTR, WEIGHTS_MEMORY_ATTR, WEIGHTS_ON_CHIP_ATTR, NodeOp
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import apply_design, explore
from dfcc.passes.quantize import Quantize

BITS = {"weight_bits": 4, "act_bits": 5}
DECISION_ATTRS = (WEIGHTS_MEMORY_ATTR, WEIGHTS_ON_CHIP_ATTR, MULT_IMPL_ATTR)


def decisions_of(module) -> dict[str, tuple[dict[str, Attribute], dict[str, Attribute]]]:
    """Per node name: its folding properties and its placement attributes."""
    out = {}
    for op in module.walk():
        if isinstance(op, NodeOp):
            out[op.node_name.data] = ({k: op.properties[k] for k in op.folding_extents() if k in op.properties},
                                      {k: op.attributes[k] for k in DECISION_ATTRS if k in op.attributes})
    return out


def small_resnet(size: int, decisions) -> tuple:
    """ResNet-18 at size x size, quantized, with the 224x224 design's decisions; (module, input)."""
    import torch

    from dfcc.examples.models.resnet import resnet18
    from dfcc.frontends.torch import import_to_text
    from dfcc.passes.lower_to_dataflow import LowerToDataflow

    x = torch.randn((1, 3, size, size), generator=torch.Generator().manual_seed(0))
    module = parse_module(import_to_text(resnet18(), x))
    LowerToDataflow().apply(make_context(), module)
    Quantize(**BITS, samples=2).apply(make_context(), module)
    for op in module.walk():
        if isinstance(op, NodeOp) and op.node_name.data in decisions:
            folding, placement = decisions[op.node_name.data]
            extents = op.folding_extents()
            op.properties.update({k: v for k, v in folding.items() if extents[k] % v.value.data == 0})
            if "tile" in folding:  # a weight-stationary tile of the smaller output: its largest divisor up to the tile
                tile = max(d for d in range(1, extents["tile"] + 1)
                           if extents["tile"] % d == 0 and d <= folding["tile"].value.data)
                op.properties["tile"] = IntegerAttr(tile, i64)
            op.attributes.update(placement)
    module.verify()
    return module, np.random.default_rng(1).standard_normal((1, 3, size, size)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", default="/tmp/dfcc-bench")
    parser.add_argument("--out", default="/tmp/dfcc-bench/resnet18_spilled_hls")
    parser.add_argument("--syntax", action="store_true", help="g++ -fsyntax-only the 224x224 top.cpp (~10 min)")
    parser.add_argument("--size", type=int, default=32, help="input size of the C simulation")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    start = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f} s] {text}", flush=True)

    module = lowered("resnet18", args.cache)
    Quantize(**BITS, samples=1).apply(make_context(), module)
    network = Network.from_module(module)
    choices, totals = explore(network, load_platform("zcu102"), progress=False, off_chip_weights=True)
    apply_design(module, network, choices, totals, "zcu102")
    estimate = Estimate.of_module(module)
    spilled = [(op.node_name.data, op.on_chip_percent()) for op in module.walk()
               if isinstance(op, NodeOp) and op.on_chip_percent() < 100]
    log(f"224x224 estimate: {estimate.throughput_fps():.1f} img/s, {estimate.offchip_gbps():.1f} of 153.6 Gbps, "
        f"binding {estimate.binding_resource()}; spilled (node, % on chip): {spilled}")
    design = emit_design(module)
    image, layout = weight_image(design)
    write_project(design, args.out)
    log(f"-t hls: {len(design.stages)} stages, {len(layout)} weight buffers, weights.bin {len(image):,} bytes "
        f"-> {args.out}")
    if args.syntax:
        proc = subprocess.run(["g++", "-std=c++14", "-fsyntax-only", "-isystem", str(toolchain.ap_types_dir()),
                               "-I", f"{args.out}/include", "-I", args.out, f"{args.out}/top.cpp"],
                              capture_output=True, text=True)
        log(f"g++ -fsyntax-only top.cpp: exit {proc.returncode} {proc.stderr[-2000:] if proc.returncode else ''}")
    tiled = {op.node_name.data: op.int_prop("tile") for op in module.walk() if isinstance(op, NodeOp) and op.int_prop("tile") > 1}
    log(f"weight-stationary tiles (node: output pixels per tile): {tiled}")
    small, x = small_resnet(args.size, decisions_of(module))
    log("at the small size: " + str({op.node_name.data: op.int_prop("tile") for op in small.walk()
                                    if isinstance(op, NodeOp) and op.int_prop("tile") > 1}))
    (expected,) = run_reference(small, [x])
    result = csim(small, [x])
    exact = np.array_equal(result.outputs[0], expected)
    log(f"{args.size}x{args.size} csim with the same decisions: {'bit-exact' if exact else 'MISMATCH'} vs the CPU "
        f"reference ({', '.join(f'{k} {v:.0f} s' for k, v in result.seconds.items())})")
    sys.exit(0 if exact else 1)


if __name__ == "__main__":
    main()
