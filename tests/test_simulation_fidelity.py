"""The estimate against the cycle-level simulation on every bundled example the HLS backend builds,
float and 8-bit, after explore for ZCU102: II within 5 %, first-inference latency within 10 %.

Known misses (MISSES) are marked xfail (strict, so a fix shows up). explore's default (spatial=auto) gives the
small convs P pixels a beat: conv_stack's last conv, at 6 pixels a beat behind a converter widening one-pixel beats,
is traced 13 % early at 8 bits (102 cycles estimated, 117 simulated; float is within 10 %, 165 vs 182): its fill's
input beats come one per the converter's interval, not one a cycle, and its window drains 28 cycles after its last
input beat, 22 in the trace. A narrowing converter's last input beat leaving as lanes_in/gcd beats, one a cycle
(its `tail`), had been left out: conv_stack 8-bit was 99 estimated, float 162, basic_block_strided float 8.4 % low
(now 5.8 %). Tried and not kept (session 40): the trace's last output at least the last input beat plus the
conv's `tail` (its windows over the bottom padding) plus its lag brings conv_stack 8-bit to 107 (within 10 %) and
mobilenet_v2_small's early convs to within 5 cycles of their simulated last beats (conv1 -26 -> -4), but takes
mobilenet_v2_small float from 9,764 to 10,287 against 9,220 simulated: its 2x2 depthwise convs are costed at fill
1.0 (whole pixels), so traced ~40 cycles late at their first output each (a group's first output needs only the
first beat of the last pixel), which the early last beats had cancelled; and `tail` counts the window the last pixel
completes, whose MACs overlap that pixel's reads (a 1x1 map's conv: its whole 384 cycles, 43 simulated). Taking the
first output from the completing pixel's burst alone (`pixel_work`) and the tail in the trace gave 10,123: all three
need fixing together.
First-inference latency: the estimate spreads each stage's input evenly over its producer's span, while the
simulated beats come in bursts (a strided window emits every other row, a MAC a pixel's output beats at once); the
error builds up along a long chain of such stages. A conv's pixels come in bursts (its outputs follow each pixel's
last window beat), so a slower conv whose window waits for such a pixel starts that pixel's MACs at the burst's
first beat (resnet18_small float: each 2x2 layer had been costed ~300 cycles early, 11.2 % low in all).
vit_block and llama_block float were 13.5 % and 11.7 % high while a lane converter from few wide beats
(a layer norm's 32-lane statistics to a 1-lane reduce) was costed as waiting one beat's share of its
producer's whole span after the first beat, though it writes as soon as that beat is in (now 1,431 vs
1,477 and 1,337 vs 1,367 simulated).
Lane converters themselves are costed (analyses/network.py), and explore keeps them within the II, and
keeps a widening converter from pacing the window generator of the conv it feeds beyond it (one beat per
ceil(out/in) cycles, padding walked at one a cycle); a converter through the gcd of its lanes (4 -> 1 -> 3)
paces it too (one beat per out/gcd cycles). mobilenet_v3_small_tiny, once listed here as a miss of the partial
conv `fine` (II 1,156 estimated, 1,296 simulated), was paced by such converters; it simulates at 1,156 since.
"""

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.analyses.simulation import simulate  # noqa: E402
from dfcc.backends.estimate import Estimate  # noqa: E402
from tests.test_csim import FIXED, FIXED_MODELS, FLOAT, FLOAT_MODELS, compiled  # noqa: E402

BIG = {"resnet18_small", "mobilenet_v2_small", "mobilenet_v3_small_tiny", "yolo_tiny", "unet"}
# measured: (model, number format) where the estimate misses (II by > 5 %, or latency by > 10 %)
MISSES: set[tuple[str, str]] = {("conv_stack", "int8")}


def _cases():
    for pipeline, tag, names in ((FLOAT, "float", FLOAT_MODELS), (FIXED, "int8", FIXED_MODELS + ["mobilenet_v3_small_tiny"])):
        for name in names:
            marks = [pytest.mark.slow] if name in BIG else []
            if (name, tag) in MISSES:
                marks.append(pytest.mark.xfail(strict=True, reason="past 5 % II or 10 % latency; see MISSES and the module docstring"))
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
