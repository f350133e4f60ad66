"""An ungrouped conv's `coarse_out` need not divide its filters: ceil(F/coarse_out) filter steps per input
beat, the last one partly idle, output beats of the least divisor of F at least coarse_out lanes. The
verifier's range and exclusions, the options explore sees, the cost and the cycle-level schedule on a
hand-computed case, the streamed weight words, and C simulation bit-exact against the CPU reference (the
kernel's own cases: tests/test_hls_kernels.py)."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import IntegerAttr, i64
from xdsl.utils.exceptions import VerifyException

from dfcc.analyses.network import Network
from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate import node_cost
from dfcc.dialects.dataflow import WEIGHTS_ON_CHIP_ATTR
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.dsp import conv_multipliers
from dfcc.kinds.conv import SIFT_RUNG, beat_filters, beat_steps, conv_pixel_cycles
from dfcc.kinds.hls_offchip import mac_words
from dfcc.passes.quantize import Quantize
from tests.csim_check import csim_equals_reference
from tests.test_estimate import _conv_module, _fold, _node


def _two_convs(rng: np.random.Generator) -> str:
    """4 -> 8 channels by a 1x1 conv (with bias), then 8 -> 8 by a 3x3 one, on a 5x5 image, random weights."""

    def dense(shape):
        return f"dense<{np.array2string(rng.uniform(-1, 1, shape).round(3), separator=', ', threshold=10**6)}>"

    s4, s8 = "!dataflow.stream<1x5x5x4xf32>", "!dataflow.stream<1x5x5x8xf32>"
    win = "stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>"
    return f"""
func.func @main(%a: tensor<1x4x5x5xf32>) -> tensor<1x8x5x5xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x4x5x5xf32>) -> {s4}
  %w1 = dataflow.weights {{name = "w1", value = {dense((8, 4, 1, 1))} : tensor<8x4x1x1xf32>}} : tensor<8x4x1x1xf32>
  %b1 = dataflow.weights {{name = "b1", value = {dense((8,))} : tensor<8xf32>}} : tensor<8xf32>
  %y1 = dataflow.conv %s, %w1, %b1 {{name = "conv1", kernel = array<i64: 1, 1>, {win}, pad = array<i64: 0, 0, 0, 0>}} : ({s4}, tensor<8x4x1x1xf32>, tensor<8xf32>) -> {s8}
  %w2 = dataflow.weights {{name = "w2", value = {dense((8, 8, 3, 3))} : tensor<8x8x3x3xf32>}} : tensor<8x8x3x3xf32>
  %y2 = dataflow.conv %y1, %w2 {{name = "conv2", kernel = array<i64: 3, 3>, {win}, pad = array<i64: 1, 1, 1, 1>}} : ({s8}, tensor<8x8x3x3xf32>) -> {s8}
  %t = dataflow.sink %y2 {{name = "out", perm = array<i64: 0, 2, 3, 1>}} : ({s8}) -> tensor<1x8x5x5xf32>
  func.return %t : tensor<1x8x5x5xf32>
}}"""


def test_output_beats_are_the_least_divisor_written_at_their_last_filter():
    # 8 filters, 3 a step: beats of 4; filters 0-3 are done at step 1, 4-7 at step 2
    assert beat_filters(8, 3) == 4 and beat_steps(8, 3, 4).tolist() == [1, 2]
    # 6 filters, 4 a step: one beat of all 6, done at the second step; 5 a step of 8: one beat of 8
    assert beat_filters(6, 4) == 6 and beat_steps(6, 4, 6).tolist() == [1]
    assert beat_filters(8, 5) == 8 and beat_steps(8, 5, 8).tolist() == [1]
    assert beat_filters(8, 2) == 2 and beat_steps(8, 2, 2).tolist() == [0, 1, 2, 3]


def test_coarse_out_may_be_any_value_up_to_the_filters_of_an_ungrouped_conv():
    module = _conv_module(4, 8, 3, 8, 1, 1)
    conv = _fold(_node(module, "conv"), coarse_out=3)
    module.verify()
    _fold(conv, coarse_out=9)
    with pytest.raises(VerifyException, match="coarse_out=9 must be in 1..8"):
        module.verify()
    _fold(conv, coarse_out=3, tile=4)  # conv_tiled takes full filter steps only
    with pytest.raises(VerifyException, match="tile=4 .* coarse_out dividing the 8 filters"):
        module.verify()
    _fold(conv, coarse_in=4, coarse_out=5, tile=1, pixels=2)  # beats of 8 filters, but 5 computed a step
    with pytest.raises(VerifyException, match="pixels=2 per beat needs whole pixels"):
        module.verify()
    grouped = _conv_module(4, 8, 3, 8, 1, 1, groups=2)  # grouped: coarse_out divides the filters of a group
    _fold(_node(grouped, "conv"), coarse_out=3)
    with pytest.raises(VerifyException, match="coarse_out=3 does not divide 4"):
        grouped.verify()


def test_explore_offers_partial_coarse_out_where_it_fills_a_gap():
    """4 -> 8 channels, 1x1: coarse_out 1, 2, 4, 8 (dividing) and 3 (ceil(8/3) = 3 steps; 5 to 7 take 2, as 4
    does). (ci 4, co 3): 12 multipliers, 3 steps a pixel, where a dividing folding with no more
    multipliers takes 4 at best ((4, 2), (2, 4): 8 multipliers): kept. 3x3: (ci 4, co 3, fine 9), 108
    multipliers and 3 steps, is no faster than (4, 8, 3): 96 multipliers, 3 steps (a partial `fine`
    fills that gap already): dropped, as is every non-dividing coarse_out there. Grouped: divisors only."""

    def options(k, groups=1):
        conv = next(m for m in Network.from_module(_conv_module(4, 8, k, 8, 1, 0, groups=groups)).nodes
                    if m.name == "conv")
        return [f[:4] for f in conv.folding_options(frozenset({"pixels", "tile"}))]

    one = options(1)
    assert {f[1] for f in one} == {1, 2, 3, 4, 8} and (4, 3, 1, 1) in one
    three = options(3)
    assert (4, 8, 1, 3) in three and {f[1] for f in three} == {1, 2, 4, 8}
    assert {f[1] for f in options(1, groups=2)} == {1, 2, 4}


def test_sift_keeps_a_partial_coarse_out_an_eighth_faster():
    """1 -> 24 channels, 1x1: coarse_out 5 (ceil(24/5) = 5 steps a pixel, 5 multipliers) is 1/5 faster than
    the dividing 4 (6 steps, 4 multipliers): a 12.5 % rung keeps it (5 x 9/8 <= 6; 25 % rungs did not: 5 x 5/4 > 6)."""
    conv = next(m for m in Network.from_module(_conv_module(1, 24, 1, 4, 1, 0)).nodes if m.name == "conv")
    assert SIFT_RUNG == 8
    assert {f[1] for f in conv.folding_options(frozenset({"pixels", "tile"}))} == {1, 2, 3, 4, 5, 6, 8, 12, 24}


def test_sift_drops_only_foldings_a_rung_slower_than_a_kept_one():
    """16 -> 48 channels, 3x3: each partial coarse_out folding the sift drops is at most 1/SIFT_RUNG slower
    (MAC steps a pixel) than a kept one with no more multipliers, so explore misses no design by more."""
    conv = next(m for m in Network.from_module(_conv_module(16, 48, 3, 4, 1, 1)).nodes if m.name == "conv")
    kept = conv.folding_options(frozenset({"pixels", "tile"}))
    sift, conv.sift = conv.sift, None
    every = conv.folding_options(frozenset({"pixels", "tile"}))
    conv.sift = sift

    def pace(f):
        return conv_multipliers(f[0], f[1], f[3], f[2]), conv_pixel_cycles(16, 48, 9, 1, f)

    paces = [pace(f) for f in kept]
    dropped = [f for f in every if f not in kept]
    assert dropped and all(48 % f[1] for f in dropped)
    for f in dropped:
        m, s = pace(f)
        assert any(km <= m and ks * SIFT_RUNG <= s * (SIFT_RUNG + 1) for km, ks in paces), f


def test_partial_coarse_out_cost_and_schedule():
    """4 -> 8 channels, 1x1, 8x8 image, 16 bits, one channel a beat and 3 filters a step: ceil(8/3) = 3
    steps per beat, 4 beats, 12 MAC cycles per output pixel, 768 in all (a 1x1 window waits for nothing);
    3 multipliers, 3 DSPs (16 x 16 bits: one each); weight words of 3 x 16 bits, 4 x 3 = 12 deep; output
    beats of 4 filters. coarse_out 4 takes 2 steps: 512 cycles with a DSP more."""
    costs, sims = {}, {}
    for co in (3, 4):
        module = _conv_module(4, 8, 1, 8, 1, 0)
        conv = _fold(_node(module, "conv"), coarse_in=1, coarse_out=co)
        module.verify()
        costs[co], sims[co] = node_cost(conv), simulate(module).ii
    three = costs[3]
    assert (three.cycles, three.dsp, three.weight_width, three.weight_depth, three.out_lanes) == (768, 3, 48, 12, 4)
    assert (costs[4].cycles, costs[4].dsp) == (512, 4)
    for co, cost in costs.items():  # the schedule of conv.h's loops agrees with the estimate
        assert sims[co] == cost.cycles, (co, sims[co], cost.cycles)


def test_streamed_words_leave_the_last_filter_step_idle():
    """Five filters (weights 0..4 of one channel, 1x1), two a step: three words, the last one's second
    lane a don't-care (the previous step's filter, as on chip: weights.h)."""
    w = np.arange(5).reshape(5, 1, 1, 1)
    words = mac_words(w, channels=1, groups=1, lanes_in=1, lanes_out=2, fine=1)
    assert words.tolist() == [[0, 1], [2, 3], [4, 3]]


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_partial_coarse_out_csim_bit_exact(bounded):
    """8-bit: the 1x1 conv at 2 channels a beat and 3 filters a step (half its weight words from DRAM),
    the 3x3 at 2 channels, 3 filters and 4 kernel positions a step; C simulation equals the CPU
    reference, also with every FIFO at its depth."""
    rng = np.random.default_rng(3)
    module = parse_module(_two_convs(rng))
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), module)
    _fold(_node(module, "conv1"), coarse_in=2, coarse_out=3).attributes[WEIGHTS_ON_CHIP_ATTR] = IntegerAttr(50, i64)
    _fold(_node(module, "conv2"), coarse_in=2, coarse_out=3, fine=4)
    module.verify()
    x = rng.standard_normal((1, 4, 5, 5)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0
