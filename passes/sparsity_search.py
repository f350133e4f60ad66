"""`sparsity-search`: HASS-style per-layer weight and activation thresholds, searched against accuracy,
throughput and DSPs with the shared engine (analyses/search.py), the chosen point written into the IR.

    sparsity-search{validation=val.npz trials=40 max-loss=1.0 platform=zcu102}

HASS (arXiv 2406.03088) prunes without retraining by two thresholds per layer: weights |w| < tau_w
become 0 and the ReLU before a layer becomes x > tau_a ? x : 0. Here tau_w is chosen per conv/linear
node as a quantile of its |w| (`p30`: the 30 % smallest weights zeroed) and tau_a per ReLU map from
`ACT_THRESHOLDS`; `keep` leaves a node alone. Each trial applies its thresholds to the float graph,
quantizes it (W8A8, calibrated on the validation inputs), prunes, re-measures the zero-product
histograms (activation-sparsity on the validation inputs), makes every conv and linear zero-skipping and
re-runs explore's folding search for `platform`: error (top-1 with `labels` in the validation
file, else relative L2 distance from the unthresholded graph) against throughput and DSPs (NSGA-II,
Pareto front printed). The trial with the highest throughput per DSP within `max-loss` error points
of the unthresholded graph is applied (float graph: run quantize, activation-sparsity and
zero-skip after it, as the trial did) and recorded in `dataflow.sparsity_search` on the module.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, StringAttr, f32, f64, i64
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dfcc import kinds
from dfcc.analyses.search import Objective, Problem, search
from dfcc.analyses.reference import run_reference
from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError
from dfcc.hardware.platforms import load_platform
from dfcc.passes.activation_sparsity import ActivationSparsity
from dfcc.passes.decompose_search import KEEP, choose, front_table, hardware_metrics
from dfcc.passes.quantize import Quantize
from dfcc.passes.zero_skip import ZeroSkip

SEARCH_ATTR = "dataflow.sparsity_search"
WEIGHT_PRUNED = (10, 20, 30, 40, 50, 60, 70, 80)  # % of a layer's smallest |w| zeroed
ACT_THRESHOLDS = (0.01, 0.02, 0.05, 0.1, 0.2)  # HASS's precursor steps tau_a by 0.01
CALIBRATION_SAMPLES = 32


def relu_compare(op: kinds.MapOp) -> arith.CmpfOp | None:
    """The `x > 0` comparison of a ReLU map (cmpf ugt/ogt x, 0 then select x, 0), else None."""
    ops = list(op.body.block.ops)
    compares = [o for o in ops if isinstance(o, arith.CmpfOp)]
    selects = [o for o in ops if isinstance(o, arith.SelectOp)]
    if len(op.inputs) != 1 or op.params or len(compares) != 1 or len(selects) != 1 or len(ops) != 4:
        return None
    compare, select = compares[0], selects[0]
    zero = compare.rhs.owner
    if not (isinstance(zero, arith.ConstantOp) and zero.value.value.data == 0.0 and compare.lhs is op.body.block.args[0]
            and select.lhs is compare.lhs and select.rhs is compare.rhs
            and compare.predicate.value.data in (2, 9)):  # ogt, ugt
        return None
    return compare


def set_relu_threshold(op: kinds.MapOp, tau: float) -> None:
    """x > 0 ? x : 0 becomes x > tau ? x : 0."""
    compare = relu_compare(op)
    threshold = arith.ConstantOp(FloatAttr(tau, f32))
    Rewriter.insert_op(threshold, InsertPoint.before(compare))
    compare.operands[1] = threshold.result


def prune_below_quantile(op: kinds.ConvOp | kinds.LinearOp, percent: int) -> None:
    """Weights |w| < tau_w (the `percent` quantile of |w|) become 0: encoded sparse weights."""
    owner = op.weights.owner
    weights = elements_array(owner.value)
    tau = np.percentile(np.abs(weights), percent)
    sparse = kinds.SparseWeightsOp(f"{owner.node_name.data}_sparse", weights, np.abs(weights) >= tau, "unstructured",
                                   fmt=owner.format)
    Rewriter.insert_op(sparse, InsertPoint.before(op))
    op.operands[1] = sparse.output
    if not owner.output.uses:
        Rewriter.erase_op(owner)


def search_space(module: ModuleOp) -> dict[str, list[str]]:
    space = {}
    for op in module.walk():
        if isinstance(op, (kinds.ConvOp, kinds.LinearOp)) and isinstance(op.weights.owner, kinds.WeightsOp):
            space[f"w:{op.node_name.data}"] = [KEEP, *(f"p{p}" for p in WEIGHT_PRUNED)]
        elif isinstance(op, kinds.MapOp) and relu_compare(op) is not None:
            space[f"a:{op.node_name.data}"] = [KEEP, *(f"t{t:g}" for t in ACT_THRESHOLDS)]
    if not space:
        raise DfccError("no conv/linear weights or ReLU to threshold (run lower-to-dataflow first)", "sparsity-search")
    return space


def apply_activation_thresholds(module: ModuleOp, params: dict[str, str]) -> None:
    for op in [o for o in module.walk() if isinstance(o, kinds.MapOp)]:
        choice = params.get(f"a:{op.node_name.data}", KEEP)
        if choice != KEEP:
            set_relu_threshold(op, float(choice[1:]))


def apply_weight_thresholds(module: ModuleOp, params: dict[str, str]) -> None:
    for op in [o for o in module.walk() if isinstance(o, (kinds.ConvOp, kinds.LinearOp))]:
        choice = params.get(f"w:{op.node_name.data}", KEEP)
        if choice != KEEP:
            prune_below_quantile(op, int(choice[1:]))


@dataclass(frozen=True)
class SparsitySearch(ModulePass):
    """Per-layer HASS thresholds by a Pareto search over error, throughput and DSPs (module doc)."""

    name = "sparsity-search"

    validation: str | None = None
    samples: int = 128
    platform: str = "zcu102"
    trials: int = 40
    max_loss: int | float = 1.0
    seed: int = 0
    workers: int = 1

    def __post_init__(self) -> None:
        if self.validation is None or not os.path.isfile(str(self.validation)):
            raise DfccError(f"sparsity-search: validation file '{self.validation}' does not exist (an .npz with "
                            "arg0, a stack of inputs, and optionally labels); activation zeros need real data")
        if self.trials < 1 or self.samples < 1 or self.workers < 1:
            raise DfccError("sparsity-search: trials, samples and workers must be at least 1")
        load_platform(self.platform)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from rich.console import Console

        space = search_space(op)
        data = np.load(self.validation)
        inputs = data["arg0"].astype(np.float32)[: self.samples]
        labels = data["labels"][: self.samples] if "labels" in data else None
        with tempfile.TemporaryDirectory() as tmp:
            evaluate = _Evaluator(ctx, op, inputs, labels, self.platform, tmp)
            problem = Problem(space=space, evaluate=evaluate,
                              objectives=[Objective("error"), Objective("fps", "maximize"), Objective("dsp")],
                              constraints=[], seeds=[{name: KEEP for name in space}])
            result = search(problem, self.trials, self.seed, workers=self.workers)
        chosen = choose(result, self.max_loss)
        Console(stderr=True).print(front_table(result, chosen, f"sparsity-search: Pareto front, {len(result.trials)} "
                                                               f"trials, {self.platform}", "thresholds"))
        if chosen is None:
            raise DfccError(f"no trial within max-loss={self.max_loss} error points of the unthresholded graph", self.name)
        apply_activation_thresholds(op, chosen.params)
        apply_weight_thresholds(op, chosen.params)
        m = chosen.metrics
        op.attributes[SEARCH_ATTR] = DictionaryAttr({
            "trial": IntegerAttr(chosen.number, i64), "trials": IntegerAttr(len(result.trials), i64),
            "error": FloatAttr(m["error"], f64), "fps": FloatAttr(m["fps"], f64), "dsp": IntegerAttr(int(m["dsp"]), i64),
            "platform": StringAttr(self.platform),
            "choices": DictionaryAttr({k: StringAttr(v) for k, v in chosen.params.items() if v != KEEP})})


class _Evaluator:
    """error, fps, dsp, fps_per_dsp of one set of thresholds (HASS: histograms re-measured, folding re-explored)."""

    def __init__(self, ctx: Context, module: ModuleOp, inputs: np.ndarray, labels: np.ndarray | None, platform: str,
                 workdir: str):
        self.ctx, self.module, self.inputs, self.labels, self.platform = ctx, module, inputs, labels, platform
        self.calibration = os.path.join(workdir, "calibration.npz")
        np.savez(self.calibration, arg0=inputs[:CALIBRATION_SAMPLES])
        self.reference = None if labels is not None else self._outputs(self._thresholded({}))

    def __call__(self, params: dict[str, str]) -> dict[str, float]:
        module = self._thresholded(params)
        outputs = self._outputs(module)
        if self.labels is not None:
            predictions = np.concatenate([o.reshape(-1, o.shape[-1]).argmax(-1) for o in outputs])
            error = 100.0 * float(np.mean(predictions != self.labels.reshape(-1)[: len(predictions)]))
        else:
            diff = np.sqrt(sum(float(np.sum((o - r) ** 2)) for o, r in zip(outputs, self.reference)))
            error = 100.0 * diff / max(np.sqrt(sum(float(np.sum(r ** 2)) for r in self.reference)), 1e-30)
        with contextlib.redirect_stderr(io.StringIO()):
            ActivationSparsity(calibration=self.calibration).apply(self.ctx, module)
            ZeroSkip().apply(self.ctx, module)
        return {"error": error, **hardware_metrics(module, self.platform)}

    def _thresholded(self, params: dict[str, str]) -> ModuleOp:
        module = self.module.clone()
        apply_activation_thresholds(module, params)
        with contextlib.redirect_stderr(io.StringIO()):  # one trial's remarks: noise in a search
            Quantize(weight_bits=8, act_bits=8, calibration=self.calibration).apply(self.ctx, module)
        apply_weight_thresholds(module, params)
        return module

    def _outputs(self, module: ModuleOp) -> list[np.ndarray]:
        return [run_reference(module, [x])[0] for x in self.inputs]
