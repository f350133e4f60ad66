"""Throughput of explore's designs against each model's bound, for the bundled CNNs on ZCU102 and U250.

    python -m dfcc.bench.bench_throughput [--bits 16|8|4] [--models a,b] [--boards zcu102,u250] [--cache DIR] [--spatial auto|true|false]
                                          [--utilisation 0.9] [--off-chip] [--breakdown]

Two bounds, each in cycles per inference = max(MACs / multiplier capacity, largest feature map in pixels):
- device bound (issue 14's): multiplier capacity is every DSP (at the model's packing) plus every LUT
  as a fabric multiplier, each MAC with its accumulating adder in LUTs (the estimate's multiplier
  roofline, hardware/roofline.py, after Williams et al.'s roofline model);
- budget bound: the same roofline over what explore may use, `utilisation` x DSP and
  `utilisation` x LUT (explore's budget, default 0.9, --utilisation): capacity =
  multiplier_roofline(u*DSP, DSP/MAC, u*LUT, LUT/MAC, adder LUT/MAC). It still counts every budgeted
  LUT as a multiplier or adder, while the design's windows, FIFOs and LUTRAM weights take LUTs too,
  so a design short of it by that share is at its resources (see "binding").
Issue 14 states both at one pixel per cycle for every stage; --spatial below says when they are not.
Both count one MAC a multiplier a cycle: a conv taking its inner products by FFIP (Winograd's fast inner product,
kinds/inner_product.py: at 16 bits, where no DSP packs two products) does about two with each, so a design may
pass ratio 1.0; its --breakdown then shows "busy" above 1 and the "partly idle steps" share (the rest of busy)
below 0. The bounds stay as issue 14 states them.
--spatial auto|true|false is explore's option (default auto, the pass's: more than one pixel per beat where the
pixel rate binds the design at one); unless false, the pixel term counts only maps read by nodes without that factor,
since explore's space then has designs past one pixel per cycle (the issue's bound, at one pixel per cycle, is then
no bound: MobileNetV3-Large on a U250, 8-bit, passes it 5.3 times).
Each row is what the command line gives: the explore pass with its defaults (weights and skip connections in DRAM
where that is faster, off-chip-weights=auto evict-skips=auto) run on a copy of the model, its FIFO depths sized and
searched again where they do not fit, then the estimate of the IR it wrote (`dfcc ... -p explore{platform=B} -t
estimate`). A model that does not fit a board says by how much, then is explored again with every weight allowed off
chip and its paying skip connections evicted to DRAM (explore{off-chip-weights=true evict-skips=true}), its row
marked "+off-chip"; --off-chip prints that row for models that fit too (what the defaults leave on the table).
"explore" is the pass's wall time, then its CPU time. Both bounds ignore memory; "DDR Gbps" is the design's off-chip traffic at its
throughput, of the board's bandwidth, and "mem fps" the roofline's bandwidth roof for that traffic:
bandwidth / bits moved per inference (a design at it is DRAM-bound, binding "DRAM bandwidth"). "mem bound" is
issue 14's memory bound (bench/memory_bound.py `memory_bound_fps`): the fps no design of explore's space beats within
`utilisation` of the on-chip memories and LUTs and of the bandwidth, each node's points (every folding, tile, weight
place, tile-major order) as its cost facet charges them, the least traffic they allow at an II from the LP relaxation
of the multiple-choice knapsack (analyses/knapsack.py); its "ratio" is fps / that bound (FIFOs, converters and
evicted skips, which it leaves out, only lower what a design reaches).
ratio = bound / II for each bound (1.0: the design is at the bound; issue 14 asks >= 0.8). "binding"
names what sets the II: a node already at its fastest folding (a data-movement kind with one lane, or
a stage at one pixel per cycle), else the resources closest to their budgets at that design (the DRAM traffic among them,
of its budget at the design's II: ResNet-50 and DenseNet-121 on a ZCU102 fill it as they fill BRAM or LUTs). Every row sets each stream
and weight to --bits wide fixed point directly (emulated, no calibration), as bench_explore does: a float model's
weights cannot stream from DRAM (explore's off-chip-weights=auto keeps them on chip), fixed-point ones can.
--breakdown follows each row with where its device ratio goes (issue 14): the multipliers built (on DSPs, in
fabric) against the device's multiplier capacity, the share of their cycles doing useful MACs at the II and the
idle rest (multiplier-cycles of nodes faster than the II, and of steps within a node's own cycles left partly idle
by its folding: a last filter or kernel step, window pauses), the nodes idling most, and the LUTs that are neither
multipliers nor their adders, and which kinds hold them and the DSPs that do no MAC (maps' products). At a compute
bound, device ratio = busy share x built / capacity.
Both bounds count a conv's direct MACs (KR*KC a window and filter): a conv explore realises with Winograd F(2,3)
(winograd=2, conv.h conv_wino: 4 multiplications for 6 MACs of a kernel row) does 1.5 MACs a multiplier a cycle, so
a design may pass ratio 1.0, and its breakdown's "busy" share may exceed 1.
"""

from __future__ import annotations

import argparse
import sys
import time

from dfcc.analyses.network import RESOURCE_LABELS, RESOURCES, Network
from dfcc.bench.memory_bound import memory_bound_fps
from dfcc.bench.model_cache import emulate_bits, lowered
from dfcc.dialects.dataflow import StreamType
from dfcc.errors import DfccError
from dfcc.hardware.cycles import throughput
from dfcc.hardware.dsp import dsp_lanes
from dfcc.hardware.offchip import bandwidth_roof_fps
from dfcc.hardware.platforms import load_platform
from dfcc.hardware.roofline import multiplier_roofline
from dfcc.backends.estimate import Estimate
from dfcc.frontends.mlir import make_context
from dfcc.passes.explore import SPATIAL_FACTOR, Explore, fastest_cycles

MODELS = ("unet", "yolo_tiny", "densenet_small", "densenet121", "mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v2",
          "resnet18", "resnet50")
BOARDS = ("zcu102", "u250")
BINDING_MARGIN = 0.05  # "binding" names every budget share within this of the fullest


def largest_feature_map(network: Network, spatial: bool = False) -> int:
    """Pixels (positions, all channels together) of the largest stream in the network; with `spatial`
    of the largest stream read by a node that cannot take more than one pixel per beat (no `pixels` factor, or
    one whose extent is 1: a map over a sequence, a reduction over channels)."""
    pixels = 0
    for model in network.nodes:
        if spatial:
            extents = dict(zip(model.factors, model.extents))
            values = [] if extents.get(SPATIAL_FACTOR, 1) > 1 else model.op.operands
        else:
            values = model.op.results
        for value in values:
            if isinstance(value.type, StreamType):
                pixels = max(pixels, value.type.num_elements // value.type.get_shape()[-1])
    return pixels


def bound_cycles(network: Network, platform, spatial: bool = False, utilisation: float = 1.0) -> float:
    """max(MACs / multiplier capacity per cycle, largest feature map in pixels), the capacity within
    `utilisation` of the DSPs and LUTs (1.0: the whole device)."""
    dsp_per_mac, lut_per_mac, adder_lut = network.mac_costs()
    compute = 0.0
    if dsp_per_mac:
        fps = multiplier_roofline(utilisation * platform.dsp, dsp_per_mac, utilisation * platform.lut, lut_per_mac,
                                  platform.clock_mhz, network.macs(), adder_lut)
        compute = platform.clock_mhz * 1e6 / fps
    return max(compute, largest_feature_map(network, spatial))


def binding(network: Network, totals, platform, utilisation: float, spatial: bool = False) -> str:
    """What sets the II: the DRAM bandwidth, a node already at its fastest folding, else the fullest of the
    resources and the DRAM traffic (of `utilisation` x the bandwidth at the design's II, explore's traffic budget), and
    any other within BINDING_MARGIN of it (a design whose traffic fills its budget as its BRAM does is bound by both:
    a lower II needs fewer weight sweeps, so more memory)."""
    if totals.bandwidth_bound:
        return "DRAM bandwidth"
    for model in network.nodes:
        if fastest_cycles(model, spatial) >= totals.compute_ii:
            return f"fastest folding of {model.op_name.removeprefix('dataflow.')} {model.name}"
    use = {RESOURCE_LABELS[k]: totals.resource(k) / (utilisation * getattr(platform, k))
           for k in RESOURCES if getattr(platform, k)}
    if platform.bandwidth_bits_per_cycle > 0:
        use["DRAM traffic"] = totals.offchip_bits / (utilisation * platform.bandwidth_bits_per_cycle * totals.ii)
    top = max(use.values())
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(use.items(), key=lambda kv: -kv[1])
                     if v >= top - BINDING_MARGIN) + " of budget"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bits", type=int, default=16)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--boards", default=",".join(BOARDS))
    parser.add_argument("--cache", default="/tmp/dfcc-bench")
    parser.add_argument("--spatial", choices=("auto", "true", "false"), default="auto")
    parser.add_argument("--utilisation", type=float, default=0.9, help="explore's budget, also the budget bound's")
    parser.add_argument("--off-chip", action="store_true", help="also a +off-chip row for models that fit on chip")
    parser.add_argument("--breakdown", action="store_true", help="where each row's device ratio is lost")
    args = parser.parse_args()
    args.spatial = {"auto": "auto", "true": True, "false": False}[args.spatial]
    u = args.utilisation
    print(f"{'model':20s} {'board':7s} {'fps':>10s} {'device fps':>10s} {'ratio':>6s} {f'{u:.0%} fps':>10s} "
          f"{'ratio':>6s} {'DDR Gbps':>13s} {'mem fps':>10s} {'mem bound':>10s} {'ratio':>6s} {'explore':>8s} {'CPU':>7s}  "
          f"binding")
    for name in args.models.split(","):
        module = lowered(name, args.cache)
        emulate_bits(module, args.bits)
        network = Network.from_module(module)
        for board in args.boards.split(","):
            platform = load_platform(board)
            start, cpu = time.perf_counter(), time.process_time()
            try:  # explore's defaults: weights and skips in DRAM where that is faster
                explored, choices, totals = _explored(module.clone(), board, u, args.spatial)
            except DfccError as error:
                print(f"{name:20s} {platform.name:7s} does not fit: {error}")
            else:
                _row(name, network, explored, totals, platform, args, time.perf_counter() - start,
                     time.process_time() - cpu)
                if args.breakdown:
                    _breakdown(explored, choices, totals, platform)
                if not args.off_chip:
                    continue
            _off_chip_row(name, network, platform, args)


def _explored(module, board: str, utilisation: float, spatial: bool | str, **options):
    """The explore pass on `module` (FIFO depths sized, as the command line runs it), then its network, its choices
    and the estimate's totals of the IR it wrote."""
    Explore(platform=board, utilisation=utilisation, spatial=spatial, **options).apply(make_context(), module)
    estimate = Estimate.of_module(module)
    return estimate.network, estimate.network.ir_choices(), estimate.totals


def _off_chip_row(name: str, network: Network, platform, args) -> None:
    """The row of `name` explored with its weights allowed off chip and its paying skips evicted to DRAM."""
    start, cpu, u = time.perf_counter(), time.process_time(), args.utilisation
    spilled = lowered(name, args.cache)
    emulate_bits(spilled, args.bits)
    try:
        explored, choices, totals = _explored(spilled, platform.name, u, args.spatial, off_chip_weights=True,
                                              evict_skips=True)
    except DfccError as error:
        print(f"{name + ' +off-chip':20s} {platform.name:7s} does not fit: {error}")
        return
    _row(f"{name} +off-chip", network, explored, totals, platform, args, time.perf_counter() - start,
         time.process_time() - cpu)
    if args.breakdown:
        _breakdown(explored, choices, totals, platform)


def _row(label: str, network: Network, explored: Network, totals, platform, args, seconds: float, cpu: float) -> None:
    """One table row: the design's fps, both bounds (of the model as imported) and their ratios, its traffic, and
    explore's seconds (wall, then CPU: the wall time of a shared machine is noisy)."""
    u = args.utilisation
    spatial = args.spatial is not False  # explore's space has designs past one pixel per cycle
    bound, budget = (bound_cycles(network, platform, spatial, share) for share in (1.0, u))
    fps = throughput(platform.clock_mhz, totals.ii)
    memory = memory_bound_fps(network, platform, u, spatial)
    ddr = f"{totals.offchip_bits * fps / 1e9:.1f}/{platform.bandwidth_gbps:g}"
    print(f"{label:20s} {platform.name:7s} {fps:10,.1f} "
          f"{throughput(platform.clock_mhz, bound):10,.1f} {bound / totals.ii:6.2f} "
          f"{throughput(platform.clock_mhz, budget):10,.1f} {budget / totals.ii:6.2f} {ddr:>13s} "
          f"{bandwidth_roof_fps(totals.offchip_bits, platform.bandwidth_gbps):10,.1f} {memory:10,.1f} "
          f"{fps / memory if memory else float('inf'):6.2f} {seconds:7.1f}s {cpu:6.1f}s  "
          f"{binding(explored, totals, platform, u, spatial)}", flush=True)


def _breakdown(network: Network, choices, totals, platform, top: int = 4) -> None:
    """Where the design's MAC rate falls short of the device's multiplier capacity (module docstring)."""
    ii = totals.ii
    dsp_per_mac, lut_per_mac, adder_lut = network.mac_costs()
    capacity = multiplier_roofline(platform.dsp, dsp_per_mac, platform.lut, lut_per_mac, 1e-6, 1, adder_lut)
    built = fabric = faster = steps = fabric_lut = adder = 0
    idlers = []
    overhead: dict[str, list[float]] = {}  # per kind: DSPs and LUTs that are not MAC multipliers or adders
    for model, choice, cost in zip(network.nodes, choices, totals.costs):
        kind = overhead.setdefault(model.op_name.removeprefix("dataflow."), [0, 0])
        if not model.macs:
            kind[0], kind[1] = kind[0] + cost.dsp, kind[1] + cost.lut
            continue
        mults, mult = model.evaluated(choice[0], choice[4]).multipliers, choice[2]
        in_fabric = mults if mult == "lut" else mults - dsp_lanes(mults, mult) if isinstance(mult, int) else 0
        built, fabric = built + mults, fabric + in_fabric
        fabric_lut += in_fabric * model.lut_per_mac
        adder += mults * model.adder_lut_per_mac
        kind[1] += cost.lut - in_fabric * model.lut_per_mac - mults * model.adder_lut_per_mac
        idle_faster, idle_steps = mults * (ii - cost.cycles), mults * cost.cycles - model.macs
        faster, steps = faster + idle_faster, steps + idle_steps
        idlers.append((idle_faster + idle_steps, model, choice, cost, mults))
    if not built:
        return
    busy = network.macs() / (ii * built)
    print(f"    {network.macs() / ii:,.0f} MACs/cycle of {built:,} multipliers built ({fabric:,} in fabric), "
          f"device capacity {capacity:,.0f}: built/capacity {built / capacity:.2f}, busy {busy:.2f} "
          f"(idle: faster than the II {faster / (ii * built):.2f}, partly idle steps {steps / (ii * built):.2f})")
    print(f"    DSP {totals.dsp:,}/{platform.dsp:,}; LUT {totals.lut:,}/{platform.lut:,}: fabric multipliers "
          f"{fabric_lut:,.0f}, MAC adders {adder:,.0f}, other {totals.lut - fabric_lut - adder:,.0f} "
          f"(FIFOs {totals.fifo_lut:,}, converters {sum(c.logic()[0] for c in totals.converters):,})")
    overhead["converters"] = [0, sum(c.logic()[0] for c in totals.converters)]
    ranked = sorted(overhead.items(), key=lambda kv: -kv[1][1])[:top]
    print(f"    not multiplying: DSP {sum(d for d, _ in overhead.values()):,.0f} "
          f"({', '.join(f'{k} {d:,.0f}' for k, (d, _) in overhead.items() if d) or 'none'}); "
          f"LUT most in {', '.join(f'{k} {lut:,.0f}' for k, (_, lut) in ranked)}")
    for idle, model, choice, cost, mults in sorted(idlers, key=lambda row: -row[0])[:top]:
        folding = ",".join(f"{k}={v}" for k, v in zip(model.factors, choice[0]) if v > 1)
        print(f"      {model.name:28s} {mults:5d} mults ({choice[2]}) {folding:40s} cycles {cost.cycles / ii:.2f} II, "
              f"idle {idle / (ii * built):.3f} of all (steps {(mults * cost.cycles - model.macs) / (ii * built):.3f})")


if __name__ == "__main__":
    sys.exit(main())
