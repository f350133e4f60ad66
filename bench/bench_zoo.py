"""The model zoo: real architectures from torchvision, timm and transformers, end to end, as one table.

    make zoo                                         # every model (needs the `zoo` extra)
    python -m dfcc.bench.bench_zoo resnet18 deit_tiny # some of them
    python -m dfcc.bench.bench_zoo --no-csim         # skip the C simulations

Per model (random init, batch 1, the input shape of tests/vision_models.py or tests/hf_models.py):
import (torch-mlir), lower, `-t cpu` rel. error vs PyTorch (max |ref - torch| / max |torch|, must be
< 1e-4; VACUOUS when PyTorch's output for another input is as close, so the match proves nothing),
quantize{weight-bits=8 act-bits=8}, explore{platform=u250} (inferences/s, or why it does not fit),
HLS project emitted, and for designs under --csim-macs MACs and --csim-weights weight values the C
simulation of the quantized design, bit-exact against the CPU reference (number of differing values; g++
needs ~1 GB per million ROM initializers, so RegNet-X-400MF's 5.5 M weights exhaust a shared machine). A step that fails shows the
last line of its diagnostic and the steps after it are skipped; an exception that is not a DfccError
is a bug and shows as "BUG".
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
import warnings

import numpy as np
import torch

from dfcc.analyses.network import Network
from dfcc.analyses.reference import run_reference
from dfcc.backends.estimate.report import Estimate
from dfcc.backends.hls.csim import csim
from dfcc.backends.hls.emit import emit_design
from dfcc.backends.hls.project import write_project
from dfcc.driver.pipeline import parse_pipeline
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context
from dfcc.frontends.torch import import_module
from dfcc.kinds import WeightsOp
from dfcc.passes.registry import get_pass

TOLERANCE = 1e-4
QUANTIZE = "quantize{weight-bits=8 act-bits=8}"
EXPLORE = "explore{platform=u250}"
COLUMNS = ("import", "lower", "cpu", "quantize", "explore u250", "hls", "csim")


def zoo() -> dict:
    """name -> (factory, example input); transformers models only when the package is installed."""
    from dfcc.tests.vision_models import VISION_MODELS

    models = {}
    for name, (factory, shape) in VISION_MODELS.items():
        models[name] = (factory, lambda shape=shape: torch.randn(shape))
    if importlib.util.find_spec("transformers"):
        from dfcc.tests.hf_models import HF_MODELS, VOCAB

        for name, (factory, shape, dtype) in HF_MODELS.items():
            make = (lambda shape=shape: torch.randint(0, VOCAB, shape)) if dtype == torch.int64 else \
                (lambda shape=shape: torch.randn(shape))
            models["hf_" + name] = (factory, make)
    return models


def _apply(module, pipeline: str) -> None:
    ctx = make_context()
    for p in parse_pipeline(pipeline):
        p.instantiate(get_pass(p.name)).apply(ctx, module)


def _why(error: Exception) -> str:
    if isinstance(error, DfccError):
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        # both ends: what failed, and the figure that says by how much ("over by 1,234 BRAM18 (45%)")
        return "no: " + (last if len(last) <= 140 else f"{last[:60]} ... {last[-76:]}")
    return f"BUG {type(error).__name__}: {str(error).splitlines()[0][:100] if str(error) else ''}"


def _torch_outputs(model, x) -> list[np.ndarray]:
    with torch.no_grad():
        result = model(x)
    return [t.numpy() for t in (result if isinstance(result, tuple) else (result,))]


def _relative_error(outputs: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """max |output - expected| / max |expected|, the worst over the outputs."""
    return max(float(np.abs(o - e).max() / max(np.abs(e).max(), 1e-30)) for o, e in zip(outputs, expected))


def run(name: str, factory, make_input, csim_macs: float, csim_weights: float) -> dict[str, str]:
    """One zoo model through every step; each step's cell, the first failing one saying why."""
    cells: dict[str, str] = {}
    torch.manual_seed(0)
    model, x = factory().eval(), make_input()
    inputs = [x.numpy()]

    def step(column: str, action) -> bool:
        t = time.perf_counter()
        try:
            note = action()
        except Exception as error:  # noqa: BLE001 - the table reports every failure, a bug included
            cells[column] = _why(error)
            return False
        cells[column] = note or f"ok {time.perf_counter() - t:.0f}s"
        return True

    module = None

    def do_import():
        nonlocal module
        module = import_module(model, x)

    def do_cpu():
        outputs, expected = run_reference(module, inputs), _torch_outputs(model, x)
        if [o.shape for o in outputs] != [e.shape for e in expected]:
            raise DfccError(f"shape {[o.shape for o in outputs]}, PyTorch {[e.shape for e in expected]}")
        error = _relative_error(outputs, expected)
        if _relative_error(_torch_outputs(model, make_input()), expected) < TOLERANCE:  # it would prove nothing
            return f"VACUOUS {error:.0e} (the output does not depend on the input)"
        return f"{'ok' if error < TOLERANCE else 'WRONG'} {error:.0e}"

    def do_explore():
        _apply(module, EXPLORE)
        return f"{Estimate.of_module(module).throughput_fps():,.0f} fps"

    def do_hls():
        with tempfile.TemporaryDirectory() as directory:
            write_project(emit_design(module), directory)

    def do_csim():
        macs = Network.from_module(module).macs()
        weights = sum(op.output.type.element_count() for op in module.walk() if isinstance(op, WeightsOp))
        if macs > csim_macs or weights > csim_weights:
            return f"skip ({macs / 1e6:.0f}M MACs, {weights / 1e6:.1f}M weights)"
        result = csim(module, inputs)
        differing = sum(int(np.sum(o != r)) for o, r in zip(result.outputs, run_reference(module, inputs)))
        return "bit-exact" if differing == 0 else f"WRONG: {differing} values differ"

    steps = [("import", do_import), ("lower", lambda: _apply(module, "lower-to-dataflow")), ("cpu", do_cpu),
             ("quantize", lambda: _apply(module, QUANTIZE)), ("explore u250", do_explore), ("hls", do_hls),
             ("csim", do_csim)]
    for column, action in steps:
        if not step(column, action):
            break
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="zoo model names (default: all)")
    parser.add_argument("--no-csim", action="store_true", help="skip the C simulations")
    parser.add_argument("--csim-macs", type=float, default=20e6, help="C-simulate designs up to this many MACs")
    parser.add_argument("--csim-weights", type=float, default=4e6,
                        help="... and up to this many weight values (ROM initializers g++ compiles)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    models = zoo()
    unknown = [n for n in args.models if n not in models]
    if unknown:
        parser.error(f"unknown zoo models {unknown}; known: {', '.join(models)}")
    print(f"{'model':20} " + " | ".join(COLUMNS))
    for name in args.models or list(models):
        factory, make_input = models[name]
        cells = run(name, factory, make_input, 0 if args.no_csim else args.csim_macs, args.csim_weights)
        print(f"{name:20} " + " | ".join(cells.get(c, "-") for c in COLUMNS), flush=True)


if __name__ == "__main__":
    main()
