"""A conv's `fine` need not divide its kernel positions: ceil(KR*KC/fine) steps per window beat, the
last one partly idle. The verifier's range, the options explore sees, the cost and the cycle-level
schedule on a hand-computed case, the streamed weight words, and C simulation bit-exact against the
CPU reference with on-chip, half on-chip and streamed weights (the kernel's own cases:
tests/test_hls_kernels.py)."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.utils.exceptions import VerifyException

from dfcc.analyses.network import Network
from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate import node_cost
from dfcc.kinds.cost import step_factors
from dfcc.kinds.hls_offchip import mac_words
from tests.csim_check import csim_equals_reference
from tests.test_estimate import _conv_module, _fold, _node
from tests.test_spill import _offchip_module


def test_step_factors_are_the_least_factor_per_step_count():
    # ceil(9/s) for s = 9..1 steps: 1, 2, 2, 2, 2, 3, 3, 5, 9 -> distinct
    assert step_factors(9) == [1, 2, 3, 5, 9]
    assert step_factors(4) == [1, 2, 4]
    assert step_factors(6) == [1, 2, 3, 6]


def test_fine_may_be_any_value_up_to_the_kernel_positions():
    module = _conv_module(4, 4, 3, 8, 1, 1)
    _fold(_node(module, "conv"), fine=5)
    module.verify()
    _fold(_node(module, "conv"), fine=10)
    with pytest.raises(VerifyException, match="fine=10 must be in 1..9"):
        module.verify()
    _fold(_node(module, "conv"), fine=2, coarse_in=3)  # channel factors still divide
    with pytest.raises(VerifyException, match="coarse_in=3 does not divide 4"):
        module.verify()


def test_explore_offers_the_least_fine_per_step_count():
    conv = next(m for m in Network.from_module(_conv_module(4, 4, 3, 8, 1, 1)).nodes if m.name == "conv")
    assert sorted({f[3] for f in conv.folding_options()}) == [1, 2, 3, 5, 9]


def test_partial_fine_cost_and_schedule():
    """4 -> 4 channels, 3x3, 8x8 image, one channel and four filters per cycle. fine = 2: ceil(9/2) = 5
    steps per channel beat, 4 beats, so 20 MAC cycles per output pixel (64 pixels: 1,280 cycles, plus
    the waits for the window generator) and 20 weight words of 4 filters x 2 positions; fine = 4 takes
    as many steps as fine = 3 (ceil(9/4) = 3), so as many cycles, with a third more multipliers."""
    costs, sims = {}, {}
    for fine in (2, 3, 4):
        module = _conv_module(4, 4, 3, 8, 1, 1)
        conv = _fold(_node(module, "conv"), coarse_in=1, coarse_out=4, fine=fine)
        module.verify()
        costs[fine] = node_cost(conv)
        sims[fine] = simulate(module).ii
    two = costs[2]
    assert (two.weight_depth, two.weight_width, two.dsp) == (20, 4 * 2 * 16, 8)
    assert 64 * 20 <= two.cycles <= 64 * 20 * 1.1
    assert costs[4].cycles == costs[3].cycles and costs[4].dsp == 16 and costs[3].dsp == 12
    for fine, cost in costs.items():  # the schedule of conv.h's loops agrees with the estimate
        assert sims[fine] == cost.cycles, (fine, sims[fine], cost.cycles)


def test_streamed_words_leave_the_last_step_idle():
    """One filter, one channel, 3x3 (weights 0..8), fine = 2: five words, the last one's second slot
    a don't-care (it repeats the run's last weight, as the on-chip word does)."""
    w = np.arange(9).reshape(1, 1, 3, 3)
    words = mac_words(w, channels=1, groups=1, lanes_in=1, lanes_out=1, fine=2)
    assert words.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 8]]
    # two channels a beat (LC = 2), fine = 4: the 18 products of a filter in ceil(9/4) = 3 words of 8
    w2 = np.arange(18).reshape(1, 2, 3, 3)
    words = mac_words(w2, channels=2, groups=1, lanes_in=2, lanes_out=1, fine=4)
    assert words.tolist() == [list(range(8)), list(range(8, 16)), [16, 17] + [17] * 6]


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_partial_fine_csim_bit_exact(bounded):
    """The streamed-weights model with fine not dividing 9: conv1 (2 groups, half its words on chip)
    at fine 2, conv2 (weights from DRAM, 4 channels a beat) at fine 4; C simulation equals the CPU
    reference, also with every FIFO at its depth."""
    module = _offchip_module()
    _fold(_node(module, "conv1"), fine=2)
    _fold(_node(module, "conv2"), fine=4)
    module.verify()
    x = np.random.default_rng(5).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0
