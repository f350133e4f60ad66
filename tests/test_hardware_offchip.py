import pytest

from dfcc.hardware.offchip import bandwidth_limited_ii, gbps, row_ring_tokens, streamed_weight_bits
from dfcc.hardware.platforms import load_platform


def test_bandwidth_slowdown():
    zcu102 = load_platform("zcu102")  # 768 bits/cycle at 200 MHz
    assert bandwidth_limited_ii(1000, 500, zcu102.bandwidth_bits_per_cycle) == 1000
    assert bandwidth_limited_ii(1000, 1536, zcu102.bandwidth_bits_per_cycle) == 2000
    assert gbps(3072, 200) == pytest.approx(614.4)  # the check layer's spill needs 614.4 Gbit/s


def test_streamed_weight_bits():
    # a 160-bit x 64,000-word memory read once per inference (a 1280 -> 1000 linear, co=20, 8 bit)
    assert streamed_weight_bits(160, 64_000, 1) == 10_240_000


def test_row_ring_tokens_hand_computed():
    # 8 rows of 8 beats, a 3x3 window at pad 1: 64 beats, 4 bursts of 16. Output row o reads rows o-1..o+1 and takes
    # the tokens through row o+1: ceil((min(o+1, 7) x 8 + 8) / 16) = 1, 2, 2, 3, 3, 4, 4, 4, while its top row lies
    # in burst (max(o-1, 0) x 8) // 16 = 0, 0, 0, 1, 1, 2, 2, 3: the reader is at most 2 bursts ahead of the oldest
    # it still reads, so the writer may run 4 - 1 - 2 = 1 token ahead
    assert row_ring_tokens(8, 8, 8, 3, 1, 1, 1) == 1
    # lit spill/line_buffer.mlir's conv_a, 8 columns x 4 channels at 2 lanes: 16 beats (a burst) a row, 8 bursts.
    # Output row o takes min(o + 2, 8) tokens and reads back from burst max(o - 1, 0): 3 ahead at most, so 8 - 1 - 3
    assert row_ring_tokens(8, 16, 8, 3, 1, 1, 1) == 4
    # 3 rows and a 3-row window: the reader needs the whole inference at once, no writer lead is safe
    assert row_ring_tokens(3, 16, 1, 3, 1, 1, 0) == 0
