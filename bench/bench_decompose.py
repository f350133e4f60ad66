"""Low-rank decomposition and compensation on trained digits CNNs: the tables of issue 11.

    python -m dfcc.bench.bench_decompose [--quick] [--trials 12] [--platform zcu102] [--plot front.png]

1. Mixed-TD schemes: accuracy (W8A8, CPU reference) against estimated throughput per DSP (explore
   + estimate for the board) for SVD separable, CPD and the per-layer mix (`method=auto`, the
   lowest weight error per layer) at 70/50/30 % of each in-scope layer's MACs.
2. ITERA-style compensation: W4/W3/W2 weights alone against W3/W2 plus a rank-r branch (8-bit
   factors), accuracy, weight memory, throughput and DSPs.
3. The hardware-aware search (NSGA-II over scheme and rank per layer) on the digits ResNet: error
   on training images, throughput and DSPs; the chosen point's test accuracy.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from dfcc.examples.digits_decompose import FRACTIONS, METHODS, decomposer, measure, print_table, setups


def compensator(bits: int, rank: int, iterations: int = 5):
    from dfcc.passes.lowrank_compensate import LowrankCompensate

    def transform(module, ctx):
        LowrankCompensate(weight_bits=bits, rank=rank, iterations=iterations).apply(ctx, module)
    return transform


def compensation_rows(setup, platform: str, quick: bool):
    rows = [measure(setup, f"W{b}A8", None, platform, weight_bits=b) for b in (8, 4, 3, 2)]
    for bits in (3, 2):
        for rank in ((4,) if quick else (2, 4, 8)):
            rows.append(measure(setup, f"W{bits}A8 + rank {rank} (8-bit factors)", compensator(bits, rank), platform,
                                weight_bits=8, override=(f"conv?:w{bits}", f"linear?:w{bits}")))
    return rows


def search_rows(setup, platform: str, trials: int, plot: str | None):
    from rich.console import Console

    from dfcc.analyses.search import search
    from dfcc.passes.decompose_search import choose, decomposition_problem, front_table, plot_front, search_space

    def evaluate(schemes):
        m = measure(setup, "trial", decomposer(schemes=schemes), platform, validation=True)
        return {"error": 100 - m.accuracy, "fps": m.fps, "dsp": m.dsp, "fps_per_dsp": m.fps_per_dsp}

    space = search_space(setup.hardware_module)
    result = search(decomposition_problem(space, evaluate), trials)
    chosen = choose(result, max_loss=1.0)
    Console(width=150).print(front_table(result, chosen, f"search on {setup.name}: Pareto front of {len(result.trials)} trials "
                                                f"(error on training images)"))
    if plot:
        plot_front(result, chosen, plot)
    rows = [measure(setup, "baseline", None, platform)]
    if chosen is not None:
        from dfcc.passes.decompose_search import schemes_of

        spec = ", ".join(f"{k}:{v}" for k, v in chosen.params.items() if v != "keep") or "none"
        rows.append(measure(setup, f"searched: {spec}", decomposer(schemes=schemes_of(chosen.params)), platform))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default="zcu102")
    parser.add_argument("--quick", action="store_true", help="50 %% MACs only, one compensation rank")
    parser.add_argument("--trials", type=int, default=12, help="search trials (0: no search)")
    parser.add_argument("--plot", help="draw the search's front to this PNG")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    fractions = (0.5,) if args.quick else FRACTIONS
    with tempfile.TemporaryDirectory() as tmp:
        models = setups(0, tmp)
        rows = []
        for setup in models:
            rows.append(measure(setup, "baseline", None, args.platform))
            for method, options in METHODS.items():
                for fraction in fractions:
                    rows.append(measure(setup, f"{method} {fraction:.0%} MACs", decomposer({**options, "macs": fraction}),
                                        args.platform))
        print_table(rows, f"Mixed-TD schemes, W8A8, {args.platform}")
        print_table(compensation_rows(models[0], args.platform, args.quick),
                    f"quantization alone vs ITERA-style compensation, {models[0].name}, {args.platform}")
        if args.trials:
            print_table(search_rows(models[1], args.platform, args.trials, args.plot),
                        f"searched decomposition, {models[1].name}, test accuracy, {args.platform}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
