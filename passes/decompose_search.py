"""`decompose-search`: a hardware-aware choice of decomposition scheme and rank per layer (Mixed-TD).

    decompose-search{validation=val.npz platform=zcu102 trials=60 max-loss=1.0}
    decompose-search{validation=val.npz trials=200 storage=sqlite:///td.db study=resnet workers=2 plot=front.png}

Per layer (Mixed-TD's scope: KxK convs but the stem, or `nodes=GLOB`) the choices are: keep, or a
scheme of `schemes` (SVD separable, grouped and reversed with g = 1 or 2, CPD) at a rank of
Mixed-TD's grid (ranks keeping 30-70 % of the layer's MACs in 5 % steps, moved to the nearby
integer with most divisors; `passes/lowrank.py`). Each trial decomposes, quantizes (W8A8 by
default, calibrated on the validation inputs) and is measured:
- error, in % (lower is better): with `labels` in the validation file (one class per sample), the
  top-1 error of the output's argmax over its last dim; without, 100 x the relative L2 distance of
  the outputs from the undecomposed quantized graph's;
- throughput (inferences/s, x the batch of the graph) and DSPs, from `explore` for `platform`:
  the same cost model and folding search as the explore pass.

NSGA-II (shared engine, `analyses/search.py`) searches the Pareto front of error against
throughput and DSPs; the trial with the highest throughput per DSP whose error is at most
`max-loss` above the undecomposed graph's (the first trial) is written into the IR (the
`dataflow.decomposition` provenance on its nodes, `dataflow.decompose_search` on the module), the
front is printed as a table on stderr and, with `plot=FILE.png`, drawn. Trials run in `workers`
processes; with `storage` (an Optuna storage URL) several runs, on several machines, share one study.
The validation file holds `arg0` (`samples` of them are used), a stack of inputs of the graph's
input shape, and optionally `labels`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, StringAttr, f64, i64
from xdsl.passes import ModulePass

from dfcc.analyses.search import Constraint, Objective, Problem, SearchResult, TrialResult, search
from dfcc.analyses.reference import run_reference
from dfcc.analyses.network import Network
from dfcc.kinds import ConvOp, SourceOp
from dfcc.errors import DfccError
from dfcc.hardware.cycles import throughput
from dfcc.hardware.platforms import load_platform
from dfcc.passes.decompose import (
    Layer, apply_schemes, candidate_layers, dataflow_functions, default_scope, is_decomposable, parse_spec,
)
from dfcc.passes.explore import explore
from dfcc.passes.lowrank import Scheme, rank_grid
from dfcc.passes.quantize import Quantize

SEARCH_ATTR = "dataflow.decompose_search"
SCHEMES = ("separable", "grouped", "reversed", "cpd")
GROUPS = (1, 2)
KEEP = "keep"
CALIBRATION_SAMPLES = 32


def layer_choices(layer: Layer, schemes=SCHEMES, groups=GROUPS) -> list[str]:
    """keep, then every scheme x groups x Mixed-TD grid rank that applies to the layer."""
    choices = [KEEP]
    f, c = layer.weights.shape[:2]
    for name in schemes:
        for g in groups if name in ("grouped", "reversed") else (1,):
            if (name == "grouped" and c % g) or (name == "reversed" and f % g):
                continue
            per_rank = layer.chain_macs(layer.factorise(Scheme(name, 1, g)))
            choices += [Scheme(name, r, g).spec for r in rank_grid(per_rank, layer.macs)]
    return choices


def search_space(module: ModuleOp, nodes: str | None = None, schemes=SCHEMES, groups=GROUPS) -> dict[str, list[str]]:
    """Per in-scope layer, its choices (Mixed-TD's scope unless `nodes` names layers)."""
    space = {}
    for function in dataflow_functions(module, "decompose-search"):
        layers, stem = candidate_layers(function)
        for op in layers:
            name = op.node_name.data
            in_scope = fnmatch.fnmatchcase(name, nodes) if nodes else isinstance(op, ConvOp) and default_scope(op, stem)
            if in_scope and is_decomposable(op):
                space[name] = layer_choices(Layer.of(op), schemes, groups)
    if not space:
        raise DfccError("no layer to decompose (Mixed-TD's scope: KxK convs other than the stem; or give nodes=GLOB)",
                        "decompose-search")
    return space


def schemes_of(params: dict[str, str]) -> dict[str, Scheme]:
    return {name: scheme for name, spec in params.items() if (scheme := parse_spec(spec)) is not None}


def hardware_metrics(module: ModuleOp, platform: str) -> dict[str, float]:
    """Throughput (inferences/s) and resources of the best folding explore finds for `platform`."""
    board = load_platform(platform)
    network = Network.from_module(module)
    _, totals = explore(network, board, progress=False)
    batch = next(op.output.type.get_shape()[0] for op in module.walk() if isinstance(op, SourceOp))
    fps = batch * throughput(board.clock_mhz, totals.ii)
    return {"fps": fps, "dsp": float(totals.dsp), "bram18": float(totals.bram18), "lut": float(totals.lut),
            "fps_per_dsp": fps / max(totals.dsp, 1)}


def decomposition_problem(space: dict[str, list[str]], evaluate: Callable[[dict[str, Scheme]], dict[str, float]],
                          max_error: float | None = None) -> Problem:
    """Error against throughput and DSPs; the undecomposed graph is the first trial."""
    constraints = [Constraint("error", max_error)] if max_error is not None else []
    return Problem(space=space, evaluate=lambda params: evaluate(schemes_of(params)),
                   objectives=[Objective("error", "minimize"), Objective("fps", "maximize"), Objective("dsp", "minimize")],
                   constraints=constraints, seeds=[{name: KEEP for name in space}])


def choose(result: SearchResult, max_loss: float) -> TrialResult | None:
    """Highest throughput per DSP within `max_loss` error points of the undecomposed graph."""
    baseline = next((t for t in result.trials if all(v == KEEP for v in t.params.values())), None)
    limit = (baseline.metrics["error"] if baseline else min(t.metrics["error"] for t in result.trials)) + max_loss
    return result.best("fps_per_dsp", "maximize", where=lambda t: t.metrics["error"] <= limit + 1e-9)


def front_table(result: SearchResult, chosen: TrialResult | None, title: str, label: str = "decomposition"):
    from rich.table import Table

    table = Table(title=title)
    for column in ("trial", "error %", "fps", "DSP", "fps/DSP", label):
        table.add_column(column, justify="left" if column == label else "right")
    for trial in result.pareto():
        m = trial.metrics
        mark = " (chosen)" if chosen is not None and trial.number == chosen.number else ""
        specs = ", ".join(f"{k}:{v}" for k, v in trial.params.items() if v != KEEP) or "none"
        table.add_row(f"{trial.number}{mark}", f"{m['error']:.2f}", f"{m['fps']:,.0f}", f"{m['dsp']:.0f}",
                      f"{m['fps_per_dsp']:,.1f}", specs)
    return table


def plot_front(result: SearchResult, chosen: TrialResult | None, path: str) -> None:
    """Error against throughput per DSP: every trial, the Pareto front and the chosen point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    trials, front = result.trials, result.pareto()
    ax.scatter([t.metrics["fps_per_dsp"] for t in trials], [t.metrics["error"] for t in trials], s=10, c="0.7", label="trials")
    ax.scatter([t.metrics["fps_per_dsp"] for t in front], [t.metrics["error"] for t in front], s=18, c="C0", label="Pareto front")
    if chosen is not None:
        ax.scatter([chosen.metrics["fps_per_dsp"]], [chosen.metrics["error"]], s=60, marker="*", c="C3", label="chosen")
    ax.set_xlabel("throughput per DSP (inferences/s/DSP)")
    ax.set_ylabel("error (%)")
    ax.legend()
    fig.tight_layout()
    staged = f"{path}.{os.getpid()}.tmp.png"
    fig.savefig(staged, dpi=120)
    plt.close(fig)
    os.replace(staged, path)


@dataclass(frozen=True)
class DecomposeSearch(ModulePass):
    """Per-layer scheme and rank by a Pareto search over error, throughput and DSPs (module doc)."""

    name = "decompose-search"

    validation: str | None = None
    samples: int = 128
    platform: str = "zcu102"
    trials: int = 40
    max_loss: int | float = 1.0
    weight_bits: int = 8
    act_bits: int = 8
    nodes: str | None = None
    seed: int = 0
    storage: str | None = None
    study: str = "decompose-search"
    workers: int = 1
    plot: str | None = None

    def __post_init__(self) -> None:
        if self.validation is not None and not os.path.isfile(str(self.validation)):
            raise DfccError(f"decompose-search: validation file '{self.validation}' does not exist "
                            "(an .npz with arg0, a stack of inputs, and optionally labels)")
        if self.trials < 1 or self.samples < 1 or self.workers < 1:
            raise DfccError("decompose-search: trials, samples and workers must be at least 1")
        load_platform(self.platform)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from rich.console import Console

        space = search_space(op, self.nodes)
        evaluate = _Evaluator(ctx, op, self._inputs(op), self._labels(), self.platform, self.weight_bits, self.act_bits)
        result = search(decomposition_problem(space, evaluate), self.trials, self.seed, self.storage, self.study,
                        self.workers)
        chosen = choose(result, self.max_loss)
        Console(stderr=True).print(front_table(result, chosen, f"decompose-search: Pareto front, {len(result.trials)} trials, {self.platform}"))
        if self.plot:
            plot_front(result, chosen, self.plot)
        if chosen is None:
            raise DfccError(f"no trial within max-loss={self.max_loss} error points of the undecomposed graph", self.name)
        apply_schemes(op, schemes_of(chosen.params), verbose=False)
        m = chosen.metrics
        op.attributes[SEARCH_ATTR] = DictionaryAttr({
            "trial": IntegerAttr(chosen.number, i64), "trials": IntegerAttr(len(result.trials), i64),
            "error": FloatAttr(m["error"], f64), "fps": FloatAttr(m["fps"], f64), "dsp": IntegerAttr(int(m["dsp"]), i64),
            "platform": StringAttr(self.platform)})

    def _inputs(self, module: ModuleOp) -> list[np.ndarray]:
        function = next(f for f in dataflow_functions(module, self.name))
        shape = tuple(function.function_type.inputs.data[0].get_shape())
        if self.validation is None:
            rng = np.random.default_rng(self.seed)
            return [rng.standard_normal(shape).astype(np.float32) for _ in range(min(self.samples, 8))]
        stack = np.load(self.validation)["arg0"].astype(np.float32)
        if stack.shape[1:] != shape:
            raise DfccError(f"validation arg0 has samples of shape {stack.shape[1:]}, the graph takes {shape}", self.name)
        return list(stack[: self.samples])

    def _labels(self) -> np.ndarray | None:
        if self.validation is None:
            return None
        data = np.load(self.validation)
        return data["labels"][: self.samples] if "labels" in data else None


class _Evaluator:
    """error, fps, dsp, fps_per_dsp of one decomposition (a node -> Scheme map)."""

    def __init__(self, ctx: Context, module: ModuleOp, inputs: list[np.ndarray], labels: np.ndarray | None, platform: str,
                 weight_bits: int, act_bits: int):
        self.ctx, self.module, self.inputs, self.labels, self.platform = ctx, module, inputs, labels, platform
        self.bits = (weight_bits, act_bits)
        self.reference = None if labels is not None else self._outputs(self._quantized({}))

    def __call__(self, schemes: dict[str, Scheme]) -> dict[str, float]:
        module = self._quantized(schemes)
        outputs = self._outputs(module)
        if self.labels is not None:
            predictions = np.concatenate([o.reshape(-1, o.shape[-1]).argmax(-1) for o in outputs])
            error = 100.0 * float(np.mean(predictions != self.labels.reshape(-1)[: len(predictions)]))
        else:
            diff = math.sqrt(sum(float(np.sum((o - r) ** 2)) for o, r in zip(outputs, self.reference)))
            error = 100.0 * diff / max(math.sqrt(sum(float(np.sum(r ** 2)) for r in self.reference)), 1e-30)
        return {"error": error, **hardware_metrics(module, self.platform)}

    def _quantized(self, schemes: dict[str, Scheme]) -> ModuleOp:
        module = self.module.clone()
        apply_schemes(module, schemes, verbose=False)
        with tempfile.TemporaryDirectory() as tmp:
            calibration = os.path.join(tmp, "calibration.npz")
            np.savez(calibration, arg0=np.stack(self.inputs[:CALIBRATION_SAMPLES]))
            with contextlib.redirect_stderr(io.StringIO()):  # one trial's remarks: noise in a search
                Quantize(weight_bits=self.bits[0], act_bits=self.bits[1], calibration=calibration).apply(self.ctx, module)
        return module

    def _outputs(self, module: ModuleOp) -> list[np.ndarray]:
        return [run_reference(module, [x])[0] for x in self.inputs]
