import pytest

from dfcc.hardware.memory import bram18, line_buffer, window_buffer
from dfcc.hardware.offchip import (
    activation_spill_bits, bandwidth_limited_ii, gbps, skip_spill_bits, stream_bits_per_cycle,
    weight_spill,
)
from dfcc.hardware.platforms import load_platform

# sliding-window memories of the 3x3 256->256 check layer (ci=2, 16 bit): 8 + 6 BRAM18
WINDOW_BRAM = bram18(*line_buffer(256, 14, 3, 16, 2, pad_left=1, pad_right=1)) + bram18(
    *window_buffer(256, 3, 3, 16, 2))


def test_autows_check_526_to_398():
    full = weight_spill(4608, 2048, 0)
    assert (full.bram18 + WINDOW_BRAM, full.bits_per_cycle) == (526, 0)
    half = weight_spill(4608, 2048, 1024)
    # 1024*4608/(1024+512) = 3072 bits/cycle; 256 on-chip + 128 buffer + 14 = 398 BRAM18
    assert half.bits_per_cycle == 3072
    assert half.bram18 + WINDOW_BRAM == 398


def test_weight_spill_all_and_step():
    everything = weight_spill(4608, 2048, 2048)
    assert everything.bram18 == 128  # just the stream buffer
    assert everything.bits_per_cycle == 2048 * 4608 / 512
    # a 10% AutoWS step: 205 words off -> 205*4608/(1843+512)
    step = weight_spill(4608, 2048, 205)
    assert step.bits_per_cycle == pytest.approx(205 * 4608 / 2355)
    assert step.bram18 == bram18(4608, 1843) + 128 == 128 * 4 + 128


def test_activation_and_skip_spill():
    assert stream_bits_per_cycle(14 * 14 * 256, 8, 401_408) == pytest.approx(1.0)
    assert activation_spill_bits(2.0, 3) == 6.0
    assert skip_spill_bits(2.5) == 5.0


def test_bandwidth_slowdown():
    zcu102 = load_platform("zcu102")  # 768 bits/cycle at 200 MHz
    assert bandwidth_limited_ii(1000, 500, zcu102.bandwidth_bits_per_cycle) == 1000
    assert bandwidth_limited_ii(1000, 1536, zcu102.bandwidth_bits_per_cycle) == 2000
    assert gbps(3072, 200) == pytest.approx(614.4)  # the check layer's spill needs 614.4 Gbit/s


def test_streamed_weight_bits():
    from dfcc.hardware.offchip import streamed_weight_bits

    # a 160-bit x 64,000-word memory read once per inference (a 1280 -> 1000 linear, co=20, 8 bit)
    assert streamed_weight_bits(160, 64_000, 1) == 10_240_000
