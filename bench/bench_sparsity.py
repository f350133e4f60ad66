"""Benchmark of weight pruning and zero skipping on the trained digits models (accuracy claims only there),
and of activation sparsity on those and on the bundled example CNNs.

    python -m dfcc.bench.bench_sparsity [--densities 0.5,0.3] [--budgets 0.02,0.9] [--only sweep|activations]

For the digits CNN and the digits ResNet (examples/digits_decompose.py: trained on scikit-learn's
digits, cached), each configuration is quantized W8A8 (calibrated on training images), pruned
(sparsify: global unstructured magnitude pruning at each density, or 2:4), either one-shot or after
masked fine-tuning of the PyTorch model with the mask sparsify then chooses (examples/digits_sparse.py,
'+ft'), and measured:
- test accuracy through the bit-accurate CPU reference (whole test set);
- the batch-1 hardware graph: activation-sparsity on 32 calibration images, zero-skip on every conv
  (dense rows keep dense convs), explore at each resource `budget` (explore's utilisation: the same
  DSP/BRAM/LUT ceiling for dense and sparse), then the estimate: throughput (an expectation over the
  calibration images for sparse convs), DSPs, throughput per DSP, and the gain over dense at that budget.

Activation sparsity (dense weights, W8A8): each model is explored at the tight budget, then measured
by activation-sparsity on its calibration inputs and made zero-skipping with the same folding. Per
conv/linear: the fraction of its input activations that are zero (after the ReLU before it, or the
image's own zeros), the mean fraction of zero products per window, and its cycles dense and
zero-skipping (the PASS/HASS expectation); per model the II and the speed-up at equal folding (equal
DSPs). The digits models use 32 training images; the bundled CNNs (examples/models: seeded random
weights, no trained weights exist) 8 standard-normal inputs, so their numbers show the mechanism, not
what trained networks on real data give.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, replace

import numpy as np

from dfcc.analyses.reference import run_reference
from dfcc.backends.estimate.report import Estimate
from dfcc.errors import DfccError
from dfcc.examples.digits_decompose import Setup, lowered, setups
from dfcc.examples.digits_quantization import load_digits_split
from dfcc.examples.digits_sparse import FINETUNE_EPOCHS, finetune_masked, prune_masks
from dfcc.examples.models import MODELS
from dfcc.frontends.mlir import make_context
from dfcc.frontends.torch import import_module
from dfcc.kinds.cost import ZERO_HISTOGRAM_ATTR, zero_histogram
from dfcc.passes.lower_to_dataflow import LowerToDataflow
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


def configurations(densities) -> list[tuple[str, dict | None, bool]]:
    """(label, sparsify options, fine-tuned): dense, dense zero-skipping, then each pruning one-shot and
    fine-tuned with its mask (examples/digits_sparse.py)."""
    pruned = [(f"unstr. {d:.0%}", {"weight_density": d}) for d in densities] + [("2:4", {"pattern": "n:m", "n": 2, "m": 4})]
    return ([("dense", None, False), ("dense+skip", {}, False)]
            + [(f"{label}{' +ft' if ft else ''}", options, ft) for label, options in pruned for ft in (False, True)])


def finetuned(setup: Setup, sparsify: dict, seed: int) -> Setup:
    """`setup` with its model pruned as `sparsify` will prune it and fine-tuned with that mask, lowered again."""
    x_train, _, y_train, _ = load_digits_split(seed)
    options = {"pattern": sparsify.get("pattern", "unstructured"), "density": sparsify.get("weight_density"),
               "n": sparsify.get("n", 2), "m": sparsify.get("m", 4)}
    masks = prune_masks(setup.model, **options)
    model = finetune_masked(setup.model, masks, x_train, y_train, seed)
    return replace(setup, model=model, accuracy_module=lowered(model, setup.x_test),
                   hardware_module=lowered(model, setup.x_test[:1]))


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
        zero_fraction = sum(zeros) / len(zeros) if zeros else float("nan")
        try:
            Explore(utilisation=budget).apply(ctx, module)
        except DfccError:  # even the most folded design needs more than the budget (its memories)
            rows.append(Row(setup.name, config, accuracy, budget, float("nan"), 0, zero_fraction))
            continue
        estimate = Estimate.of_module(module)
        rows.append(Row(setup.name, config, accuracy, budget, estimate.throughput_fps(), estimate.totals.dsp,
                        zero_fraction))
    return rows


def print_table(rows: list[Row]) -> None:
    dense = {(r.model, r.budget): r for r in rows if r.config == "dense"}
    print(f"{'model':14s} {'config':14s} {'acc %':>6s} {'budget':>6s} {'img/s':>12s} {'DSP':>5s} "
          f"{'img/s/DSP':>10s} {'vs dense':>8s} {'act 0s':>6s}")
    for r in rows:
        base = dense[(r.model, r.budget)]
        if r.fps != r.fps:
            print(f"{r.model:14s} {r.config:14s} {r.accuracy:6.2f} {r.budget:6.2f} {'does not fit':>12s}")
            continue
        gain = (r.fps / max(r.dsp, 1)) / (base.fps / max(base.dsp, 1))
        zeros = "" if r.activation_zeros != r.activation_zeros else f"{r.activation_zeros:.0%}"
        print(f"{r.model:14s} {r.config:14s} {r.accuracy:6.2f} {r.budget:6.2f} {r.fps:12,.0f} {r.dsp:5d} "
              f"{r.fps / max(r.dsp, 1):10,.1f} {gain:7.2f}x {zeros:>6s}")


BUNDLED_CNNS = ("cnn", "basic_block", "dwsep", "resnet18_small", "mobilenet_v2_small")
STATS_BUDGETS = (0.05, 0.25, 0.9)  # explore utilisation: the tightest that fits


@dataclass
class LayerStats:
    model: str
    data: str
    layer: str
    activation_zeros: float
    zero_products: float  # mean fraction of a window's products that are zero
    dense_cycles: int
    skip_cycles: int


@dataclass
class ModelStats:
    layers: list[LayerStats]
    dense: Estimate
    skipping: Estimate  # at the dense design's folding
    reexplored: Estimate  # zero-skipping, folding searched again at the same budget


def activation_stats(model: str, data: str, module, calibration: str) -> ModelStats:
    """Per-layer zero statistics and cycles dense vs zero-skipping at the dense design's folding (explored
    at the tightest of STATS_BUDGETS that fits), and the designs' estimates."""
    ctx = make_context()
    module = module.clone()
    Quantize(weight_bits=8, act_bits=8, calibration=calibration).apply(ctx, module)
    for budget in STATS_BUDGETS:
        explored = module.clone()
        try:
            Explore(utilisation=budget).apply(ctx, explored)
        except DfccError:
            continue
        module = explored
        break
    else:
        raise DfccError(f"{model} fits none of the budgets {STATS_BUDGETS}")
    dense = Estimate.of_module(module)
    ActivationSparsity(calibration=calibration).apply(ctx, module)
    ZeroSkip().apply(ctx, module)
    skipping = Estimate.of_module(module)
    Explore(utilisation=budget).apply(ctx, module)
    reexplored = Estimate.of_module(module)
    dense_cycles = {row["name"]: row["cycles"] for row in dense.node_rows()}
    rows = []
    for op in module.walk():
        if ZERO_HISTOGRAM_ATTR not in op.attributes:
            continue
        name, p = op.node_name.data, zero_histogram(op)
        k = p.shape[1] - 1
        zeros = float((p * np.arange(k + 1)).sum(axis=1).mean()) / k
        skip = next(row["cycles"] for row in skipping.node_rows() if row["name"] == name)
        rows.append(LayerStats(model, f"{data}, budget {budget}", name, op.attributes[ZERO_HISTOGRAM_ATTR].data["activation_zeros"].value.data,
                               zeros, dense_cycles[name], skip))
    return ModelStats(rows, dense, skipping, reexplored)


def bundled_calibration(name: str, workdir: str, samples: int = 8) -> str:
    path = os.path.join(workdir, f"{name}_calibration.npz")
    spec = MODELS[name]
    np.savez(path, **{f"arg{i}": np.stack([spec.inputs(seed=s)[i].numpy() for s in range(samples)])
                      for i in range(len(spec.input_shapes))})
    return path


def print_activation_stats(results: list[ModelStats]) -> None:
    print(f"{'model':18s} {'layer':8s} {'act 0s':>6s} {'0 prod':>6s} {'dense cyc':>10s} {'skip cyc':>10s} {'speed-up':>8s}")
    for stats in results:
        for r in stats.layers:
            print(f"{r.model:18s} {r.layer:8s} {r.activation_zeros:6.1%} {r.zero_products:6.1%} {r.dense_cycles:10,d} "
                  f"{r.skip_cycles:10,d} {r.dense_cycles / max(r.skip_cycles, 1):7.2f}x")
    print(f"\n{'model':18s} {'data, budget':24s} {'dense II':>9s} {'DSP':>5s} {'skip II':>9s} {'speed-up':>8s} "
          f"{'re-explored II':>14s} {'DSP':>5s} {'img/s/DSP gain':>14s}")
    for stats in results:
        d, s, e = stats.dense.totals, stats.skipping.totals, stats.reexplored.totals
        gain = (d.ii * max(d.dsp, 1)) / (e.ii * max(e.dsp, 1))
        print(f"{stats.layers[0].model:18s} {stats.layers[0].data:24s} {d.ii:9,d} {d.dsp:5d} {s.ii:9,d} "
              f"{d.ii / max(s.ii, 1):7.2f}x {e.ii:14,d} {e.dsp:5d} {gain:13.2f}x")


def measure_activations(seed: int, workdir: str) -> None:
    results = [activation_stats(setup.name, "32 digits", setup.hardware_module, setup.calibration_one)
               for setup in setups(seed, workdir)]
    ctx = make_context()
    for name in BUNDLED_CNNS:
        spec = MODELS[name]
        module = import_module(spec.build(), *spec.inputs())
        LowerToDataflow().apply(ctx, module)
        results.append(activation_stats(name, "8 random", module, bundled_calibration(name, workdir)))
    print_activation_stats(results)
    print("(W8A8, dense weights; 'skip' at the dense design's folding, so equal DSPs; 're-explored': zero-skipping "
          "folding searched again at the same budget; zero-skipping cycles are the PASS/HASS expectation over the "
          "calibration inputs)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--densities", default=",".join(map(str, DENSITIES)))
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("sweep", "activations"))
    args = parser.parse_args(argv)
    densities = [float(d) for d in args.densities.split(",")]
    budgets = [float(b) for b in args.budgets.split(",")]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "activations":
            rows = []
            for setup in setups(args.seed, tmp):
                for config, options, tune in configurations(densities):
                    rows.extend(measure(finetuned(setup, options, args.seed) if tune else setup, config, options, budgets))
            print_table(rows)
            print(f"({time.perf_counter() - start:.0f} s; accuracy: CPU reference W8A8 on {len(setup.y_test)} "
                  "test images; '+ft': pruned, then fine-tuned with the mask held fixed "
                  f"({FINETUNE_EPOCHS} epochs); img/s: estimate, an expectation over 32 calibration images for "
                  "zero-skipping convs; 'vs dense': img/s/DSP over the dense design's at the same budget)")
        if args.only != "sweep":
            measure_activations(args.seed, tmp)


if __name__ == "__main__":
    main()
