"""Benchmark of the explore pass: design quality against the best achievable, and search time.

    python -m dfcc.bench.bench_explore [--quick] [--cache DIR] [--speed] [--zoo [MODEL ...]] [--compile]

Quality = DSE throughput / best achievable, where best achievable is the larger interval (slower
design) of the DSP roofline (every DSP of the board doing a useful MAC each cycle) and the
structural bound (no stage faster than one output pixel per cycle). A second column uses the
stricter structural bound of the model itself (every node at its fastest legal folding).
Also runs a simulated-annealing baseline (the references' schedule: T 10 -> 0.007, cooling 0.97)
on the same cost model for comparison, and times explore on ResNet-50.

Lowered models are cached in --cache (default /tmp/dfcc-bench; bench/model_cache.py).
8-bit MobileNetV2 rows run the real `quantize{weight-bits=8 act-bits=8}` pass (random calibration,
~12 s); other narrow rows set every stream and weight to a fixed-point format directly ("emulated").
The "+off-chip" row lets explore stream weights from DRAM (explore{off-chip-weights=true}).

--speed: explore's CPU seconds on ResNet-50 and DenseNet-121 (U250, 16 and 8 bits), with repeated layers
costed once (the default) and every node costed alone (`share_repeated=False`), and that both find the same
design (target, issue 14: explore under 30 s for a torchvision classifier on 2 cores).
--zoo: the explore pass's CPU seconds (its folding searches, its FIFO sizing), those of its critical path (against
the 30 s target, issue 14) and its wall seconds for --board (default U250; ZCU102 is the pass's default board, where
memory binds and the pass runs more searches) on every torchvision classifier of the zoo (tests/vision_models.py, at its
small inputs) and the ImageNet-size ones of examples/models, 16-bit formats, and how many designs it evaluated (as
--designs counts them).
--compile: ResNet-50 from PyTorch to an HLS project, seconds per step (bench_resnet50.py --compile).
--designs MODEL:BOARD[:BITS] ...: the explore pass (emulated at BITS, default 16, as bench_throughput) on each row,
its CPU and wall seconds, those of its FIFO sizing, how many designs it evaluated (a count that repeats exactly, where
CPU seconds vary 10-15 %), the peak RSS of the process and of its largest worker, and a hash of
the IR it wrote (weights elided: the module without its resource blobs and handles) and of the designs its
explore_module calls returned: a change meant to be only faster must keep both hashes. Then, for each FIFO round (a
search, then the sizing of its design), the II searched, the FIFO BRAM18 the search costed and those the sizing wrote,
and whether the design then fits the budget: a round over it is searched again, the overshoot kept out of the budget
(passes/explore.py `Explore`), so the gap between the two counts costs the pass a search and a sizing; and under it
the round's first graph's II and CPU seconds, its DRAM rings and how many are worth keeping at its foldings, and, where
fewer, the II of the graph with only those, explored too, whether the round kept it and what that search cost.
CPU seconds count the process's and its explore workers' (analyses/forked.py); --designs also prints the CPU seconds
of the pass's critical path (work side by side counted once: `_CriticalPath`), about its wall seconds on an idle
machine; --jobs N sets the pass's `jobs` option in --zoo and --designs (default auto: one process per core this
process may use).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.forked import processes
from dfcc.analyses.network import RESOURCE_LABELS, Network, Totals
from dfcc.bench.model_cache import ZOO_PREFIX, emulate_bits, lowered
from dfcc.dialects.dataflow import StreamType
from dfcc.errors import DfccError
from dfcc.hardware.cycles import throughput
from dfcc.hardware.platforms import load_platform
from dfcc.hardware.roofline import dsp_roofline
from dfcc.passes.explore import _Search, explore


def cpu_time(workers: bool = True) -> float:
    """CPU seconds of this process and (`workers`) of its children waited for (explore's forked workers,
    analyses/forked.py)."""
    user, system, children_user, children_system, _ = os.times()
    return user + system + (children_user + children_system if workers else 0.0)


def quantize(module: ModuleOp, bits: int) -> None:
    """The real quantize pass (weights and activations at `bits`), calibrated on random inputs."""
    import contextlib
    import io

    from dfcc.frontends.mlir import make_context
    from dfcc.passes.quantize import Quantize

    with contextlib.redirect_stderr(io.StringIO()):
        Quantize(weight_bits=bits, act_bits=bits).apply(make_context(), module)


def bounds(network: Network, platform) -> tuple[float, float, float]:
    """(DSP-roofline II, one-output-pixel-per-cycle II, model-fastest II) in cycles."""
    macs = network.macs()
    weighted = sum(m.macs / m.macs_per_dsp for m in network.nodes if m.macs)
    roof_fps = dsp_roofline(platform.dsp, macs / weighted, platform.clock_mhz, macs)
    roof_ii = platform.clock_mhz * 1e6 / roof_fps
    pixels = 0
    for m in network.nodes:
        for r in m.op.results:
            if isinstance(r.type, StreamType):
                shape = r.type.get_shape()
                pixels = max(pixels, r.type.num_elements // shape[-1])
    fastest = max(min(m.cost(f).cycles for f in m.folding_options()) for m in network.nodes)
    return roof_ii, pixels, fastest


def annealing(network: Network, platform, utilisation: float, seed: int, moves_per_t: int) -> float:
    """The references' simulated annealing over folding moves on the same model; returns best II."""
    search = _Search(network, platform, utilisation, seed)
    rng = random.Random(seed)
    limits = search.limits
    nodes = [i for i, m in enumerate(network.nodes) if m.factors]
    options = {i: network.nodes[i].folding_options() for i in nodes}
    state = [(tuple(1 for _ in m.factors), "bram", "dsp") for m in network.nodes]
    mems = ["bram"] + (["uram"] if platform.uram else [])

    def cost(s):
        t = network.evaluate(s)
        over = sum(max(0.0, t.resource(k) / max(limits[k], 1e-9) - 1) for k in limits)
        return t.ii * (1 + 10 * over), over == 0, t.ii

    current, _, _ = cost(state)
    best = math.inf if not cost(state)[1] else cost(state)[2]
    temp = 10.0
    while temp > 0.007:
        for _ in range(moves_per_t):
            i = rng.choice(nodes)
            new = list(state)
            new[i] = (rng.choice(options[i]), rng.choice(mems) if network.nodes[i].has_weights else "bram",
                      rng.choice(("dsp", "lut")))
            c, ok, ii = cost(new)
            if c < current or rng.random() < math.exp(-(c - current) / max(current, 1) * 100 / temp):
                state, current = new, c
                if ok:
                    best = min(best, ii)
        temp *= 0.97
    return best


def row(label: str, module: ModuleOp, platform_name: str, sa_moves: int, off_chip: bool = False) -> None:
    platform = load_platform(platform_name)
    network = Network.from_module(module)
    start = cpu_time()
    try:
        _, totals = explore(network, platform, progress=False, off_chip_weights=off_chip)
    except Exception as e:  # noqa: BLE001 - report the no-fit message as the result
        print(f"{label:44s} {platform.name:7s} does not fit: {e}")
        return
    seconds = cpu_time() - start
    roof, pixel, fastest = bounds(network, platform)
    best = max(roof, pixel)
    ratio = best / totals.ii
    strict = max(roof, fastest) / totals.ii
    capped = max(roof / 0.9, pixel) / totals.ii  # the DSP roofline of the 90% the DSE may use
    fps = throughput(platform.clock_mhz, totals.ii)
    sa = ""
    if sa_moves:
        t0 = time.perf_counter()
        sa_ii = annealing(network, platform, 0.9, 0, sa_moves)
        sa = f"  SA: {best / sa_ii:.3f} ({time.perf_counter() - t0:.0f} s)" if sa_ii < math.inf else "  SA: no fit"
    print(f"{label:44s} {platform.name:7s} {fps:10,.1f} fps  II {totals.ii:>9,}  quality {ratio:.3f} "
          f"(vs 0.9-DSP roofline {capped:.3f}, vs model-fastest {strict:.3f})  DSP {totals.dsp / platform.dsp:.0%} BRAM {totals.bram18 / platform.bram18:.0%} "
          f"URAM {totals.uram / platform.uram if platform.uram else 0:.0%}  explore {seconds:.1f} s CPU{sa}", flush=True)


def speed(cache: str) -> None:
    """Explore's CPU seconds with and without sharing repeated layers' design points, and the same answer."""
    platform = load_platform("u250")
    for name in ("resnet50", "densenet121"):
        for bits in (16, 8):
            module = lowered(name, cache)
            if bits != 16:
                emulate_bits(module, bits)
            network = Network.from_module(module)
            seconds, designs = [], []
            for share in (False, True):
                start = cpu_time()
                designs.append(explore(Network.from_module(module), platform, progress=False, share_repeated=share))
                seconds.append(cpu_time() - start)
            same = "same design" if designs[0] == designs[1] else "DIFFERENT DESIGNS"
            print(f"explore {name:12s} {bits:2d}-bit U250 ({len(network.nodes)} nodes): {seconds[1]:5.1f} s CPU "
                  f"(every node costed alone: {seconds[0]:5.1f} s), {same}, II {designs[1][1].ii:,}", flush=True)


TARGET_SECONDS = 30.0  # issue 14: explore under 30 s for any torchvision classifier on 2 cores
ZOO_CLASSIFIERS = ("resnet50", "densenet121", "mobilenet_v2", "mobilenet_v3_large") + tuple(
    ZOO_PREFIX + name for name in ("convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_b1", "googlenet",
                                   "inception_v3", "mnasnet0_5", "mobilenet_v2", "mobilenet_v3_small", "regnet_x_400mf",
                                   "resnet18", "resnext50_32x4d", "shufflenet_v2_x0_5", "squeezenet1_0",
                                   "squeezenet1_1", "vgg11", "wide_resnet50_2"))


class _Stopwatch:
    """CPU seconds spent inside some functions of a module while it is active (the bench's view into a pass)."""

    def __init__(self, module, *names: str):
        self.module, self.names = module, names
        self.seconds = dict.fromkeys(names, 0.0)

    def __enter__(self):
        self.patch = _patched(self.module, **{name: self._timed(name, getattr(self.module, name))
                                              for name in self.names})
        self.patch.__enter__()
        return self

    def _timed(self, name: str, function):
        def timed(*args, **kwargs):
            start = cpu_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += cpu_time() - start
        return timed

    def __exit__(self, *exc):
        return self.patch.__exit__(*exc)


class _Evaluations:
    """How many designs the explore pass evaluates while active (analyses/network.py `Network.evaluate`, its forked
    workers' too: a counter in shared memory, which a fork inherits): the searches' work, a count that, unlike their
    CPU seconds (10-15 % apart from run to run on this 2-core VM), two runs of one input repeat exactly, so a change
    meant to search less shows what it saves."""

    def __enter__(self):
        import multiprocessing

        self.count = multiprocessing.Value("q", 0)
        evaluate = Network.evaluate

        def counted(network, *args, **kwargs):
            with self.count.get_lock():  # the workers count side by side
                self.count.value += 1
            return evaluate(network, *args, **kwargs)
        self.patch = _patched(Network, evaluate=counted)
        self.patch.__enter__()
        return self

    def __exit__(self, *exc):
        return self.patch.__exit__(*exc)


class _CriticalPath:
    """The CPU seconds of the longest chain of work in the explore pass while active: the caller's, each fork_map's
    (analyses/forked.py) share counted as the longer of the caller's and a worker's (their mean: the children's
    CPU seconds come summed), since they run side by side; about its wall seconds on an idle machine with a core
    per job, whatever other processes load this one."""

    def __init__(self, module):
        self.module, self.overlap = module, 0.0

    def __enter__(self):
        fork_map = self.module.fork_map

        def timed(function, tasks, jobs):
            caller, children = cpu_time(workers=False), cpu_time() - cpu_time(workers=False)
            try:
                return fork_map(function, tasks, jobs)
            finally:
                caller = cpu_time(workers=False) - caller
                workers = cpu_time() - cpu_time(workers=False) - children
                self.overlap += min(caller, workers / max(1, processes(jobs, len(tasks)) - 1))
        self.patch = _patched(self.module, fork_map=timed)
        self.patch.__enter__()
        self.start = cpu_time()
        return self

    def seconds(self) -> float:
        return cpu_time() - self.start - self.overlap

    def __exit__(self, *exc):
        return self.patch.__exit__(*exc)


def zoo_speed(names: list[str], cache: str, jobs: int | str, board: str = "u250") -> None:
    """The explore pass's CPU seconds on each classifier for `board`, split into its searches and its FIFO sizing,
    those of its critical path (`_CriticalPath`) against the target, and its wall seconds."""
    from dfcc.frontends.mlir import make_context
    from dfcc.passes import explore as explore_pass

    print(f"{'model':28s} {'nodes':>5s} {'explore':>8s} {'search':>7s} {'FIFOs':>7s} {'II':>10s} {'path':>7s}  "
          f"/ {TARGET_SECONDS:.0f} s {'wall':>7s} {'designs':>8s}")
    for name in names:
        module = lowered(name, cache)
        emulate_bits(module, 16)  # fixed point, as the HLS backend builds: explore may stream weights from DRAM
        nodes = len(Network.from_module(module).nodes)
        start, wall = cpu_time(), time.perf_counter()
        with _Stopwatch(explore_pass, "explore", "_write_fifo_depths") as watch, _CriticalPath(explore_pass) as path, \
                _Evaluations() as evaluations:
            try:
                explore_pass.Explore(platform=board, jobs=jobs).apply(make_context(), module)
                critical = path.seconds()
            except DfccError as error:
                print(f"{name:28s} {nodes:5d} {cpu_time() - start:7.1f}s  does not fit: "
                      f"{str(error).splitlines()[-1][:110]}", flush=True)
                continue
        total, wall = cpu_time() - start, time.perf_counter() - wall
        network = Network.from_module(module)
        ii = network.evaluate(network.ir_choices(), respect_ir_depths=True).ii
        print(f"{name:28s} {nodes:5d} {total:7.1f}s {watch.seconds['explore']:6.1f}s "
              f"{watch.seconds['_write_fifo_depths']:6.1f}s {ii:>10,} {critical:6.1f}s  "
              f"{critical / TARGET_SECONDS:5.2f} {wall:6.1f}s {evaluations.count.value:8,}", flush=True)


def designs(rows: list[str], cache: str, jobs: int | str) -> None:
    """Each MODEL:BOARD[:BITS] row's explore pass: CPU seconds (all, FIFO sizing), peak RSS, and hashes of its
    designs."""
    import hashlib
    import resource

    from dfcc.backends.output import module_text, without_weights
    from dfcc.frontends.mlir import make_context
    from dfcc.passes import explore as explore_pass

    for row in rows:
        name, board, *bits = row.split(":")
        module = lowered(name, cache)
        emulate_bits(module, int(bits[0]) if bits else 16)
        returned, rounds = [], []  # the designs explore_module returned; each FIFO round's `_Round`
        original = {step: getattr(explore_pass, step) for step in (
            "explore_module", "_write_fifo_depths", "_ordered_design", "_rings_worth_keeping")}

        nested = []  # the explore_module calls under way: spatial=auto calls it again within a round

        def recorded(*args, **kwargs):
            if nested:
                return original["explore_module"](*args, **kwargs)
            rounds.append(_Round())
            nested.append(True)
            try:
                network, choices, totals = original["explore_module"](*args, **kwargs)
            finally:
                nested.pop()
            returned.append(repr((choices, totals)))
            rounds[-1].searched = totals
            return network, choices, totals

        def ordered(*args):
            start = cpu_time()
            design = original["_ordered_design"](*args)
            rounds[-1].graphs.append((design[2].ii, cpu_time() - start))
            return design

        def rings_kept(module, rings, *design):
            kept = original["_rings_worth_keeping"](module, rings, *design)
            rounds[-1].rings = (len(rings), len(kept))
            return kept

        def sized(design, limits, *args):
            rounds[-1].sized, rounds[-1].limits = original["_write_fifo_depths"](design, limits, *args), limits
            return rounds[-1].sized

        start, wall = cpu_time(), time.perf_counter()
        with _patched(explore_pass, explore_module=recorded, _write_fifo_depths=sized, _ordered_design=ordered,
                      _rings_worth_keeping=rings_kept), \
                _Stopwatch(explore_pass, "_write_fifo_depths") as watch, _CriticalPath(explore_pass) as path, \
                _Evaluations() as evaluations:
            explore_pass.Explore(platform=board, jobs=jobs).apply(make_context(), module)
            critical = path.seconds()
        seconds, wall = cpu_time() - start, time.perf_counter() - wall
        elided = without_weights(module_text(module))
        ir, found = (hashlib.sha256(t.encode()).hexdigest()[:12] for t in (elided, "\n".join(returned)))
        rss, workers = (resource.getrusage(who).ru_maxrss / 1e6
                        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        sizing = watch.seconds["_write_fifo_depths"]
        print(f"{name:24s} {board:7s} {bits[0] if bits else 16:>2}-bit explore {seconds:6.1f} s CPU "
              f"({critical:5.1f} s critical path) "
              f"{wall:6.1f} s wall (FIFO sizing {sizing:5.1f} s, {evaluations.count.value:,} designs evaluated)  "
              f"peak RSS {rss:5.2f} GB (a worker {workers:5.2f} GB)"
              f"  IR {ir}  designs {found} ({len(returned)} searched)", flush=True)
        for k, fifo_round in enumerate(rounds, 1):
            print(fifo_round.costed_line(k, last=k == len(rounds)), flush=True)
            print(fifo_round.rings_line(), flush=True)


@contextmanager
def _patched(module, **functions):
    """`module`'s functions replaced by `functions` (by name) while active: the bench's view into a pass's steps."""
    original = {name: getattr(module, name) for name in functions}
    for name, function in functions.items():
        setattr(module, name, function)
    try:
        yield
    finally:
        for name, function in original.items():
            setattr(module, name, function)


@dataclass
class _Round:
    """One FIFO round of the explore pass (passes/explore.py `Explore`: a search, then the sizing of its design), as
    `designs` records it."""
    graphs: list[tuple[int, float]] = field(default_factory=list)  # each graph explored: its design's II, CPU s
    rings: tuple[int, int] | None = None  # the first design's DRAM rings, those worth keeping at its foldings
    searched: Totals | None = None
    sized: Totals | None = None
    limits: dict[str, float] | None = None

    def costed_line(self, k: int, last: bool) -> str:
        """The II searched, the FIFO BRAM18 the search costed against those the sizing wrote, whether the design then
        fits, and what the pass did next (`last`: the pass's last round)."""
        line = f"  FIFO round {k}: searched II {self.searched.ii:,}; FIFO BRAM18 costed {self.searched.fifo_bram18:,}"
        if self.sized is None:
            return line
        over = ", ".join(f"{RESOURCE_LABELS[r]} ({used:,} of {limit:,.0f})"
                         for r, used, limit in self.sized.overshoot(self.limits))
        return line + f", sized {self.sized.fifo_bram18:,}; " + (
            f"within budget (BRAM18 {self.sized.bram18:,} of {self.limits['bram18']:,.0f})" if not over else
            f"over budget in {over}: " + ("weights re-placed" if last else "searched again"))

    def rings_line(self) -> str:
        """The first graph's II and CPU seconds, its DRAM rings and how many were worth keeping at its foldings, and,
        where fewer, the graph with only those explored too (passes/explore.py `explore_module`): its II against the
        first one's, which design the round kept and what that second search cost."""
        (ii, seconds), *again = self.graphs
        line = f"    first graph: II {ii:,} ({seconds:.1f} s CPU)"
        if self.rings is None:
            return line + "; no DRAM rings weighed again"
        line += f"; {self.rings[0]} DRAM rings, {self.rings[1]} worth keeping at its foldings"
        if not again:
            return line
        fewer, cost = again[0]
        return line + f"; with only those: II {fewer:,} ({cost:.1f} s CPU), " + ("kept" if fewer <= ii else "dropped")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small models only")
    parser.add_argument("--cache", default="/tmp/dfcc-bench")
    parser.add_argument("--sa-moves", type=int, default=20, help="SA moves per temperature (0: skip SA)")
    parser.add_argument("--speed", action="store_true", help="only explore's speed on ResNet-50 and DenseNet-121")
    parser.add_argument("--zoo", nargs="*", metavar="MODEL",
                        help=f"only the explore pass's seconds on these classifiers (none: {', '.join(ZOO_CLASSIFIERS)})")
    parser.add_argument("--board", default="u250", help="the board of --zoo")
    parser.add_argument("--compile", action="store_true", help="only ResNet-50's whole compile, import -> HLS")
    parser.add_argument("--designs", nargs="+", metavar="MODEL:BOARD[:BITS]",
                        help="only the explore pass's CPU seconds, peak RSS and designs' hashes on these rows")
    parser.add_argument("--jobs", default="auto", type=lambda text: text if text == "auto" else int(text),
                        help="the explore pass's jobs option in --zoo and --designs (auto or a number)")
    args = parser.parse_args()
    if args.designs:
        designs(args.designs, args.cache, args.jobs)
        return
    if args.zoo is not None:
        zoo_speed(args.zoo or list(ZOO_CLASSIFIERS), args.cache, args.jobs, args.board)
        return
    if args.speed or args.compile:
        if args.speed:
            speed(args.cache)
        if args.compile:
            from dfcc.bench.bench_resnet50 import whole_compile

            whole_compile()
        return
    cases = [("resnet18_small", "zcu102", 16, False), ("mobilenet_v2_small", "zcu102", 16, False)]
    if not args.quick:
        cases += [("resnet18", "u250", 16, False), ("mobilenet_v2", "zcu102", 16, False),
                  ("mobilenet_v2", "zcu102", 8, False), ("mobilenet_v2", "zcu102", 8, True),
                  ("mobilenet_v2", "zcu102", 4, False), ("resnet50", "u250", 16, False), ("resnet50", "u250", 8, False)]
    from dfcc.backends.output import module_text
    from dfcc.frontends.mlir import parse_module

    quantized: dict[tuple[str, int], str] = {}
    for name, board, bits, off_chip in cases:
        real = name == "mobilenet_v2" and bits == 8
        if real and (name, bits) in quantized:
            module = parse_module(quantized[name, bits])
        else:
            module = lowered(name, args.cache)
            if real:
                quantize(module, bits)
                quantized[name, bits] = module_text(module)
            elif bits != 16:
                emulate_bits(module, bits)
        label = f"{name} {bits}-bit" + (" (quantize)" if real else " (emulated)" if bits != 16 else "")
        label += " +off-chip" if off_chip else ""
        sa_moves = args.sa_moves if name != "resnet50" and not off_chip else 0
        row(label, module, board, sa_moves, off_chip)
    if not args.quick:
        module = lowered("resnet50", args.cache)
        emulate_bits(module, 8)
        from dfcc.frontends.mlir import make_context
        from dfcc.passes.explore import Explore

        start = time.perf_counter()
        Explore(platform="u250").apply(make_context(), module)
        print(f"explore pass on ResNet-50 8-bit (emulated), U250: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
