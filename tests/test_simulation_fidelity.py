"""The estimate against the cycle-level simulation on every bundled example the HLS backend builds,
float and 8-bit, after explore for ZCU102: II within 5 %, first-inference latency within 10 %.

Known misses are marked xfail (strict, so a fix shows up): there the simulation shows stalls that a
per-stage estimate does not model (bursty stages coupled through the depth-2 FIFOs inside kernels
and between lane converters, or a stage that reads before it writes slowed by its consumer).
"""

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.analyses.simulation import simulate  # noqa: E402
from dfcc.backends.estimate import Estimate  # noqa: E402
from tests.test_csim import FIXED, FIXED_MODELS, FLOAT, FLOAT_MODELS, compiled  # noqa: E402

BIG = {"resnet18_small", "mobilenet_v2_small", "mobilenet_v3_small_tiny", "yolo_tiny", "unet"}
# measured: (model, number format) where the estimate misses (II by 6-70 %, or latency by > 10 %)
MISSES = {(name, "float") for name in ("cnn", "basic_block", "basic_block_strided", "resnet18_small", "mobilenet_v2_small",
                                        "mobilenet_v3_small_tiny", "conv_same_asym", "conv_stack", "yolo_tiny", "unet",
                                        "vit_block", "llama_block")}
MISSES |= {(name, "int8") for name in ("cnn", "basic_block_strided", "resnet18_small", "mobilenet_v3_small_tiny",
                                       "conv_stack", "yolo_tiny", "unet", "vit_block", "llama_block")}


def _cases():
    for pipeline, tag, names in ((FLOAT, "float", FLOAT_MODELS), (FIXED, "int8", FIXED_MODELS + ["mobilenet_v3_small_tiny"])):
        for name in names:
            marks = [pytest.mark.slow] if name in BIG else []
            if (name, tag) in MISSES:
                marks.append(pytest.mark.xfail(strict=True, reason="stalls the per-stage estimate does not model"))
            yield pytest.param(name, pipeline, id=f"{name}-{tag}", marks=marks)


@pytest.mark.parametrize("name,pipeline", list(_cases()))
def test_estimate_within_5_percent_ii_10_percent_latency(name, pipeline):
    module = compiled(name, pipeline)
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    est = Estimate.of_module(module).totals
    assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, f"estimate II {est.ii}, simulated {sim.ii}"
    assert abs(est.latency_cycles - sim.latency) <= 0.10 * sim.latency, \
        f"estimate latency {est.latency_cycles:.0f}, simulated {sim.latency}"
