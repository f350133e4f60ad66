"""C simulation benchmark: generate, compile (g++ -O2) and run the HLS project, compare with the CPU reference.

    python bench/bench_csim.py                       # resnet18 (224x224) + the 32x32 CNNs
    python bench/bench_csim.py resnet18 --fixed      # also a quantized (8-bit) design
    python bench/bench_csim.py --pipeline 'lower-to-dataflow'
    python bench/bench_csim.py mobilenet_v3_large --input-size 32 \
        --pipeline 'lower-to-dataflow,quantize{weight-bits=8 act-bits=8},explore{platform=u250 spatial=true}'

Prints per model: import, pipeline, reference, generate, compile and run seconds, and the error
(max |csim - reference| / max(1, |reference|) for float; number of differing values for fixed).
The default float pipeline has no explore: float ResNet-18 fits no bundled board (explore refuses).

Measured (2 cores, g++ 12 -O2):
    resnet18 (224x224) float: generate 25 s, compile 53 s, run 3 s (81 s), error 4.8e-7
    resnet18 (224x224) 8-bit: generate 12 s, compile 61 s, run 115 s (188 s), 0 differing values
    mobilenet_v3_large (32x32) 8-bit, explored for U250 with spatial=true (source 4 pixels a beat, convs at 8
    and 2): passes 32 s, compile 310 s (at load 4-7), run 1 s, 0 differing values
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from dfcc.analyses.reference import run_reference
from dfcc.backends.hls.csim import csim
from dfcc.driver.pipeline import parse_pipeline
from dfcc.examples.models import MODELS
from dfcc.frontends.mlir import make_context
from dfcc.frontends.torch import import_module
from dfcc.passes.registry import get_pass

DEFAULT = ["resnet18", "resnet18_small", "mobilenet_v2_small", "mobilenet_v3_small_tiny"]
FLOAT = "lower-to-dataflow"
FIXED = "lower-to-dataflow,quantize{weight-bits=8 act-bits=8}"


def bench(name: str, pipeline: str, input_size: int | None = None) -> dict:
    """`input_size` replaces the height and width of 4-D inputs (a reduced size of an ImageNet model)."""
    spec = MODELS[name]
    if input_size is not None:
        shapes = [s[:2] + (input_size, input_size) if len(s) == 4 else s for s in spec.input_shapes]
        spec = dataclasses.replace(spec, input_shapes=shapes)
    t = time.perf_counter()
    module = import_module(spec.build(), *spec.inputs())
    times = {"import": time.perf_counter() - t}
    t = time.perf_counter()
    ctx = make_context()
    for p in parse_pipeline(pipeline):
        p.instantiate(get_pass(p.name)).apply(ctx, module)
    times["passes"] = time.perf_counter() - t
    inputs = [x.numpy() for x in spec.inputs(seed=1)]
    t = time.perf_counter()
    expected = run_reference(module, inputs)
    times["reference"] = time.perf_counter() - t
    result = csim(module, inputs)
    times.update(result.seconds)
    errors, diffs = [], 0
    for out, ref in zip(result.outputs, expected):
        errors.append(float((np.abs(out.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))).max()))
        diffs += int(np.sum(out != ref))
    return {"times": times, "error": max(errors), "differing": diffs, "warnings": len(result.warnings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=DEFAULT)
    parser.add_argument("--pipeline", default=None)
    parser.add_argument("--fixed", action="store_true", help="also run the 8-bit quantized design")
    parser.add_argument("--input-size", type=int, default=None, help="height and width of image inputs")
    args = parser.parse_args()
    pipelines = [args.pipeline] if args.pipeline else [FLOAT] + ([FIXED] if args.fixed else [])
    print(f"{'model':26s} {'design':6s} {'import':>7s} {'passes':>7s} {'ref':>6s} {'gen':>6s} {'compile':>8s} "
          f"{'run':>6s} {'csim total':>10s}  error / differing values")
    for name in args.models:
        for pipeline in pipelines:
            kind = "fixed" if "quantize" in pipeline else "float"
            r = bench(name, pipeline, args.input_size)
            t = r["times"]
            total = t["generate"] + t["compile"] + t["run"]
            print(f"{name:26s} {kind:6s} {t['import']:7.1f} {t['passes']:7.1f} {t['reference']:6.1f} {t['generate']:6.1f} "
                  f"{t['compile']:8.1f} {t['run']:6.1f} {total:10.1f}  {r['error']:.2g} / {r['differing']}"
                  + (f"  ({r['warnings']} warnings in generated files)" if r["warnings"] else ""), flush=True)


if __name__ == "__main__":
    main()
