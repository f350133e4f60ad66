"""Benchmark of weight pruning and zero skipping on the trained digits models (accuracy claims only there).

    python -m dfcc.bench.bench_sparsity [--densities 0.5,0.3] [--budgets 0.02,0.9]

For the digits CNN and the digits ResNet (examples/digits_decompose.py: trained on scikit-learn's
digits, cached), each configuration is quantized W8A8 (calibrated on training images), pruned
(sparsify: global unstructured magnitude pruning at each density, or 2:4), and measured:
- test accuracy through the bit-accurate CPU reference (whole test set);
- the batch-1 hardware graph: activation-sparsity on 32 calibration images, zero-skip on every conv
  (dense rows keep dense convs), explore at each resource `budget` (explore's utilisation: the same
  DSP/BRAM/LUT ceiling for dense and sparse), then the estimate: throughput (an expectation over the
  calibration images for sparse convs), DSPs, throughput per DSP, and the gain over dense at that budget.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass

from dfcc.analyses.reference import run_reference
from dfcc.backends.estimate.report import Estimate
from dfcc.examples.digits_decompose import Setup, setups
from dfcc.frontends.mlir import make_context
from dfcc.passes.activation_sparsity import ActivationSparsity
from dfcc.passes.explore import Explore
from dfcc.passes.quantize import Quantize
from dfcc.passes.sparsify import Sparsify
from dfcc.passes.zero_skip import ZeroSkip

DENSITIES = (0.7, 0.5, 0.3, 0.2)
BUDGETS = (0.05, 0.9)  # explore's utilisation: a tight design (few DSPs) and the whole board


@dataclass
class Row:
    model: str
    config: str
    accuracy: float
    budget: float
    fps: float
    dsp: int
    activation_zeros: float  # mean over convs of the fraction of zero input activations


def configurations(densities) -> list[tuple[str, dict | None]]:
    return ([("dense", None), ("dense+skip", {})] + [(f"unstr. {d:.0%}", {"weight_density": d}) for d in densities]
            + [("2:4", {"pattern": "n:m", "n": 2, "m": 4})])


def measure(setup: Setup, config: str, sparsify: dict | None, budgets) -> list[Row]:
    ctx = make_context()
    accuracy_module, hardware_module = setup.accuracy_module.clone(), setup.hardware_module.clone()
    for module, calibration in ((accuracy_module, setup.calibration), (hardware_module, setup.calibration_one)):
        Quantize(weight_bits=8, act_bits=8, calibration=calibration).apply(ctx, module)
        if sparsify:
            Sparsify(**sparsify).apply(ctx, module)
    (logits,) = run_reference(accuracy_module, [setup.x_test])
    accuracy = float((logits.argmax(1) == setup.y_test).mean() * 100)
    if sparsify is not None:
        ActivationSparsity(calibration=setup.calibration_one).apply(ctx, hardware_module)
        ZeroSkip().apply(ctx, hardware_module)
    zeros = [op.attributes["dataflow.zero_histogram"].data["activation_zeros"].value.data
             for op in hardware_module.walk() if "dataflow.zero_histogram" in op.attributes and op.name.endswith("conv")]
    rows = []
    for budget in budgets:
        module = hardware_module.clone()
        Explore(utilisation=budget).apply(ctx, module)
        estimate = Estimate.of_module(module)
        rows.append(Row(setup.name, config, accuracy, budget, estimate.throughput_fps(), estimate.totals.dsp,
                        sum(zeros) / len(zeros) if zeros else float("nan")))
    return rows


def print_table(rows: list[Row]) -> None:
    dense = {(r.model, r.budget): r for r in rows if r.config == "dense"}
    print(f"{'model':14s} {'config':12s} {'acc %':>6s} {'budget':>6s} {'img/s':>12s} {'DSP':>5s} "
          f"{'img/s/DSP':>10s} {'vs dense':>8s} {'act 0s':>6s}")
    for r in rows:
        base = dense[(r.model, r.budget)]
        gain = (r.fps / max(r.dsp, 1)) / (base.fps / max(base.dsp, 1))
        zeros = "" if r.activation_zeros != r.activation_zeros else f"{r.activation_zeros:.0%}"
        print(f"{r.model:14s} {r.config:12s} {r.accuracy:6.2f} {r.budget:6.2f} {r.fps:12,.0f} {r.dsp:5d} "
              f"{r.fps / max(r.dsp, 1):10,.1f} {gain:7.2f}x {zeros:>6s}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--densities", default=",".join(map(str, DENSITIES)))
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    densities = [float(d) for d in args.densities.split(",")]
    budgets = [float(b) for b in args.budgets.split(",")]
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for setup in setups(args.seed, tmp):
            for config, options in configurations(densities):
                rows.extend(measure(setup, config, options, budgets))
    print_table(rows)
    print(f"({time.perf_counter() - start:.0f} s; accuracy: CPU reference W8A8 on {len(rows and setup.y_test)} "
          "test images; img/s: estimate, an expectation over 32 calibration images for zero-skipping convs)")


if __name__ == "__main__":
    main()
