import pytest

from dfcc.hardware.offchip import bandwidth_limited_ii, gbps, streamed_weight_bits
from dfcc.hardware.platforms import load_platform


def test_bandwidth_slowdown():
    zcu102 = load_platform("zcu102")  # 768 bits/cycle at 200 MHz
    assert bandwidth_limited_ii(1000, 500, zcu102.bandwidth_bits_per_cycle) == 1000
    assert bandwidth_limited_ii(1000, 1536, zcu102.bandwidth_bits_per_cycle) == 2000
    assert gbps(3072, 200) == pytest.approx(614.4)  # the check layer's spill needs 614.4 Gbit/s


def test_streamed_weight_bits():
    # a 160-bit x 64,000-word memory read once per inference (a 1280 -> 1000 linear, co=20, 8 bit)
    assert streamed_weight_bits(160, 64_000, 1) == 10_240_000
