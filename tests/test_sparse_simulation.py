"""The estimate against the cycle-level simulation for zero-skipping designs (kinds/sparse_conv.py,
sparse_linear.py): bundled models pruned (unstructured at 8 bits, or 2:4 in float) or left dense,
their zero products measured on random inputs, every conv and linear zero-skipping, explored for
ZCU102: II within 5 %. The simulation runs each processing element for the expected cycles the cost
model gives it (analyses/schedules.py), so what is checked is the rest: the deal, the queues, the
glue and the stages around them.

Latency is not checked yet: the estimate's is 10 to 13 % below the simulation's on these designs (the
deal, queues and glue around the busiest PE's first pixel are not in a zero-skipping node's depth).
Known miss (strict xfail, so a fix shows up): cnn with dense weights at 8 bits, 5.3 % (a zero-skipping
conv behind a lane converter and a pool, near the II: the stages-in-series shape of
test_simulation_fidelity.py).
"""

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.analyses.simulation import simulate  # noqa: E402
from dfcc.backends.estimate import Estimate  # noqa: E402
from tests.test_csim import compiled  # noqa: E402

SKIP = "activation-sparsity{samples=2},zero-skip,explore{platform=zcu102}"
PIPELINES = {
    "unstructured-int8": f"lower-to-dataflow,quantize{{weight-bits=8 act-bits=8}},sparsify{{weight-density=0.4}},{SKIP}",
    "2:4-float": f"lower-to-dataflow,sparsify{{pattern=n:m n=2 m=4}},{SKIP}",
    "dense-int8": f"lower-to-dataflow,quantize{{weight-bits=8 act-bits=8}},{SKIP}",
}
CASES = [("mlp", "unstructured-int8"), ("mlp", "2:4-float"), ("mlp", "dense-int8"), ("cnn", "unstructured-int8"),
         ("cnn", "2:4-float"), pytest.param("cnn", "dense-int8", marks=pytest.mark.xfail(strict=True)),
         ("conv_groups4", "unstructured-int8")]


@pytest.mark.parametrize("name,tag", CASES)
def test_zero_skipping_estimate_within_5_percent_ii(name, tag):
    module = compiled(name, PIPELINES[tag])
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    est = Estimate.of_module(module).totals
    assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, f"estimate II {est.ii}, simulated {sim.ii}"
