"""The estimate against the cycle-level simulation on every bundled example the HLS backend builds,
float and 8-bit, after explore for ZCU102: II within 5 %, first-inference latency within 10 %.

Known misses are marked xfail (strict, so a fix shows up):
- a conv's window generator fed slower than one beat per cycle (a lane converter or a slow producer in
  front of it, which a per-node cost does not see) makes the MAC wait longer between rows than
  windowed_stage_cycles counts (basic_block_strided int8);
- stages near the II in series behind lane converters (whose beats come in bursts) through 2-deep
  streams wait on each other longer than the slowest alone (mobilenet_v2_small float: 1156 estimated,
  1418 simulated; resnet18_small, yolo_tiny, unet the same shape, not analysed further);
- latency: resnet18_small (estimate 15 to 19 % low), yolo_tiny int8 and unet float (10 to 16 % high); vit_block
  and llama_block with lanes on their whole-tensor transposes and reshapes (explore's `coarse`) 18 % high
  in float, 34 and 73 % high at 8 bits, not analysed yet.
Lane converters themselves are costed (analyses/network.py), and explore keeps them within the II.
"""

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.analyses.simulation import simulate  # noqa: E402
from dfcc.backends.estimate import Estimate  # noqa: E402
from tests.test_csim import FIXED, FIXED_MODELS, FLOAT, FLOAT_MODELS, compiled  # noqa: E402

BIG = {"resnet18_small", "mobilenet_v2_small", "mobilenet_v3_small_tiny", "yolo_tiny", "unet"}
# measured: (model, number format) where the estimate misses (II by > 5 %, or latency by > 10 %)
MISSES = {(name, "float") for name in ("resnet18_small", "mobilenet_v2_small", "yolo_tiny", "unet", "vit_block",
                                        "llama_block")}
MISSES |= {(name, "int8") for name in ("basic_block_strided", "resnet18_small", "yolo_tiny", "vit_block", "llama_block")}


def _cases():
    for pipeline, tag, names in ((FLOAT, "float", FLOAT_MODELS), (FIXED, "int8", FIXED_MODELS + ["mobilenet_v3_small_tiny"])):
        for name in names:
            marks = [pytest.mark.slow] if name in BIG else []
            if (name, tag) in MISSES:
                marks.append(pytest.mark.xfail(strict=True, reason="slow-fed stages in series; see the module docstring"))
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
