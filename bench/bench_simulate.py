"""Estimate vs cycle-level simulation: II and first-inference latency per model, and simulation time.

Run: python bench/bench_simulate.py [--cache DIR] [--bits N] [model ...]   (default: the bundled small examples,
then ResNet-18/50, MobileNetV2/V3, UNet and YOLO). Each model is imported, lowered, explored (float; ZCU102
for the small examples, U250 for the ImageNet-size ones, which do not fit a ZCU102 in float) and
simulated for 3 back-to-back inferences at the FIFO depths explore wrote. With --bits, every stream and weight is
N-bit fixed point (emulated, as bench_explore sets them) and every model explored for a ZCU102: the ImageNet-size
ones then stream their weights from DRAM through tiled convs, the designs whose chains of tiled convs the estimate
traces (ResNet-50 16-bit: latency +24.3 % before f7edac3, -0.4 % since). dII and dlat are the estimate's
error relative to the simulation; the last column is the simulation's CPU time (issue 15: ResNet-50 < 30 s).
"""

import argparse
import time
import warnings

from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate import Estimate
from dfcc.driver.pipeline import parse_pipeline
from dfcc.errors import DfccError
from dfcc.examples.models import MODELS
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.frontends.torch import import_to_text
from dfcc.passes.registry import get_pass

from dfcc.bench.model_cache import emulate_bits, lowered

PIPELINE = "lower-to-dataflow,explore{platform=zcu102}"
BIG_PIPELINE = "lower-to-dataflow,explore{platform=u250}"
DEFAULT = ["cnn", "basic_block", "basic_block_strided", "dwsep", "resnet18_small", "mobilenet_v2_small",
           "mobilenet_v3_small_tiny", "yolo_tiny", "unet", "resnet18", "resnet50", "mobilenet_v2",
           "mobilenet_v3_small"]


def compile_model(name: str, pipeline: str = PIPELINE, cache: str | None = None, bits: int | None = None):
    """The model explored by `pipeline`; with `cache`, its lowered IR is read from (or saved to) there
    as bench_explore.py does, and the pipeline's lower-to-dataflow step is skipped; with `bits`, its streams and
    weights set to that fixed point once lowered."""
    ctx = make_context()
    steps = parse_pipeline(pipeline)
    if cache:
        module, steps = lowered(name, cache), [s for s in steps if s.name != "lower-to-dataflow"]
    else:
        spec = MODELS[name]
        module = parse_module(import_to_text(spec.build(), *spec.inputs()))
    for step in steps:
        if bits and step.name == "explore":
            emulate_bits(module, bits)
        step.instantiate(get_pass(step.name)).apply(ctx, module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=DEFAULT)
    parser.add_argument("--cache")
    parser.add_argument("--bits", type=int)
    args = parser.parse_args()
    cache, bits, names = args.cache, args.bits, args.models
    warnings.filterwarnings("ignore")
    print(f"{'model':24} {'est II':>10} {'sim II':>10} {'dII':>7} {'est lat':>10} {'sim lat':>10} {'dlat':>7}"
          f" {'sim CPU s':>9}")
    for name in names:
        start = time.perf_counter()
        try:
            module = compile_model(name, BIG_PIPELINE if MODELS[name].slow and not bits else PIPELINE, cache, bits)
        except DfccError as error:
            print(f"{name:24} {error}")
            continue
        compiled = time.perf_counter() - start
        est = Estimate.of_module(module).totals
        start = time.process_time()
        sim = simulate(module)
        seconds = time.process_time() - start
        if sim.deadlock:
            print(f"{name:24} DEADLOCK ({seconds:.1f} s): {sim.describe_deadlock()}")
            continue
        d_ii = (est.ii - sim.ii) / sim.ii
        d_lat = (est.latency_cycles - sim.latency) / sim.latency
        print(f"{name:24} {est.ii:>10,} {sim.ii:>10,} {d_ii:>+7.1%} {int(est.latency_cycles):>10,} {sim.latency:>10,}"
              f" {d_lat:>+7.1%} {seconds:>7.2f}   (import+explore {compiled:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
