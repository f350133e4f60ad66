"""ResNet-50 (224x224) end to end: import + lower time, CPU reference vs PyTorch eager, peak memory;
with --compile the whole compile to an HLS project, each phase's seconds.

Run: python bench/bench_resnet50.py [model-name] [--compile]   (default resnet50; any name in MODELS works)
Targets (issue 3): import+lower < 30 s, reference within 3x of torch eager, peak RSS < 4 GB.
--compile (issue 14): import (torch-mlir), parse, lower-to-dataflow, quantize 8-bit (calibrated on random
inputs), explore for U250 (its folding search, then FIFO sizing by simulation), -t hls emission (no C++
compiler): CPU seconds (of them in the kernel: page faults, mostly) and wall seconds of each phase, target under
60 CPU s in all. Wall seconds count the other processes sharing the cores; CPU seconds are the measure (they too
grow with the load, printed at the end).
"""

import argparse
import contextlib
import io
import os
import resource
import tempfile
import time
import warnings

import numpy as np
import torch

from dfcc.analyses.reference import run_reference
from dfcc.bench.bench_explore import quantize
from dfcc.backends.hls.target import run_hls
from dfcc.backends.request import TargetRequest
from dfcc.examples.models import MODELS
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.frontends.torch import import_to_text
from dfcc.passes.explore import Explore
from dfcc.passes.lower_to_dataflow import LowerToDataflow


def best_of(runs: int, function):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(name: str = "resnet50") -> None:
    spec = MODELS[name]
    model, inputs = spec.build(), spec.inputs()
    start = time.perf_counter()
    text = import_to_text(model, *inputs)
    t_torch_mlir = time.perf_counter() - start
    start = time.perf_counter()
    module = parse_module(text, "<torch-mlir>")
    t_parse = time.perf_counter() - start
    start = time.perf_counter()
    LowerToDataflow().apply(None, module)
    t_lower = time.perf_counter() - start
    arrays = [x.numpy() for x in inputs]
    t_ref, outputs = best_of(3, lambda: run_reference(module, arrays))
    with torch.no_grad():
        t_torch, expected = best_of(3, lambda: model(*inputs))
    expected = expected if isinstance(expected, tuple) else (expected,)
    error = max(float(np.abs(o - e.numpy()).max() / np.abs(e.numpy()).max()) for o, e in zip(outputs, expected))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is KiB on Linux
    total = t_torch_mlir + t_parse + t_lower
    print(f"model                 {name} {tuple(inputs[0].shape)}, torch threads {torch.get_num_threads()}")
    print(f"torch-mlir import     {t_torch_mlir:7.2f} s")
    print(f"parse (xDSL)          {t_parse:7.2f} s")
    print(f"lower-to-dataflow     {t_lower:7.2f} s")
    print(f"import+lower total    {total:7.2f} s   (target < 30 s: {'ok' if total < 30 else 'MISSED'})")
    print(f"CPU reference         {t_ref * 1e3:7.1f} ms  (best of 3)")
    print(f"torch eager           {t_torch * 1e3:7.1f} ms  (best of 3)")
    print(f"reference / torch     {t_ref / t_torch:7.2f} x   (target < 3x: {'ok' if t_ref < 3 * t_torch else 'MISSED'})")
    print(f"max rel. error        {error:.2e}")
    print(f"peak RSS              {peak_gb:7.2f} GB  (target < 4 GB: {'ok' if peak_gb < 4 else 'MISSED'})")


def whole_compile(name: str = "resnet50") -> None:
    """`name` from PyTorch to an HLS project, each phase's CPU and wall seconds."""
    warnings.filterwarnings("ignore")
    spec = MODELS[name]
    steps: list[tuple[str, float, float]] = []

    def timed(label, function):
        cpu, wall, kernel = time.process_time(), time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
        result = function()
        steps.append((label, time.process_time() - cpu, time.perf_counter() - wall))
        kernel = resource.getrusage(resource.RUSAGE_SELF).ru_stime - kernel
        print(f"  {label:22s} {steps[-1][1]:6.1f} s CPU ({kernel:4.1f} system)  {steps[-1][2]:6.1f} s wall", flush=True)
        return result

    text = timed("import (torch-mlir)", lambda: import_to_text(spec.build(), *spec.inputs()))
    module = timed("parse", lambda: parse_module(text))
    timed("lower-to-dataflow", lambda: LowerToDataflow().apply(make_context(), module))
    timed("quantize 8-bit", lambda: quantize(module, 8))
    timed("explore U250", lambda: Explore(platform="u250").apply(make_context(), module))
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stderr(io.StringIO()):
        timed("-t hls (emission)", lambda: run_hls(module, TargetRequest(output=f"{out}/hls")))
    cpu, wall = sum(s[1] for s in steps), sum(s[2] for s in steps)
    print(f"{name} import -> HLS: {cpu:.1f} s CPU, {wall:.1f} s wall (target < 60 s CPU: {'ok' if cpu < 60 else 'MISSED'}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default="resnet50")
    parser.add_argument("--compile", action="store_true", help="the whole compile, import -> HLS, per phase")
    args = parser.parse_args()
    (whole_compile if args.compile else main)(args.model)
