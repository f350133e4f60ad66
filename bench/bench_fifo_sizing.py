"""Explore's FIFO sizing on ResNet-50 8-bit (emulated) for U250: CPU seconds of the folding search,
of analyses/fifo_sizing.size_fifos, of the whole explore pass, and of one simulation of the result.

Run: python bench/bench_fifo_sizing.py [model] [--cache DIR]   (default resnet50; the lowered model is
cached as in bench_explore.py). Target (issue 15): the explore pass well under 30 s, FIFO sizing a few
seconds, simulation under 30 s; before the per-inference event lists FIFO sizing took ~300 CPU s (np.unique
over event lists tiled over inferences).
"""

import argparse
import time

from dfcc.analyses.fifo_sizing import _bram18, size_fifos
from dfcc.analyses.schedules import Pipeline
from dfcc.analyses.simulation import simulate
from dfcc.analyses.network import Network, budget
from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import _write_fifo_depths, apply_design, explore

from dfcc.bench.model_cache import emulate_bits, lowered


def cpu(function):
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default="resnet50")
    parser.add_argument("--cache", default="/tmp/dfcc-bench")
    args = parser.parse_args()
    module = lowered(args.model, args.cache)
    emulate_bits(module, 8)
    platform = load_platform("u250")
    network = Network.from_module(module)
    t_search, (choices, totals) = cpu(lambda: explore(network, platform, progress=False))
    apply_design(module, network, choices, totals, "u250")
    t_sizing, sizing = cpu(lambda: size_fifos(module))
    fifo_bram18 = _bram18(Pipeline.of_module(module), sizing.depths)
    t_write, _ = cpu(lambda: _write_fifo_depths(module, budget(platform, 0.9)))  # explore's default utilisation
    t_sim, sim = cpu(lambda: simulate(module))
    print(f"model                 {args.model} 8-bit (emulated), U250, II {sizing.checked.ii:,} cycles")
    print(f"folding search        {t_search:7.2f} CPU s")
    print(f"size_fifos            {t_sizing:7.2f} CPU s  (up to 4 simulations of 3 inferences: unbounded, backwards, "
          f"just in time, narrow slack; then the fused schedule's peaks), FIFO BRAM18 {fifo_bram18:,}")
    print(f"explore's FIFO step   {t_write:7.2f} CPU s  (size_fifos + resource check)")
    print(f"simulate (3 inf.)     {t_sim:7.2f} CPU s  (target < 30 s: {'ok' if t_sim < 30 else 'MISSED'}), "
          f"II {sim.ii:,}, latency {sim.latency:,}")
    total = t_search + t_write
    print(f"explore total         {total:7.2f} CPU s  (target < 30 s: {'ok' if total < 30 else 'MISSED'})")


if __name__ == "__main__":
    main()
