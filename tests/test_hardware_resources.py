import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dfcc.hardware.dsp import (
    conv_multipliers, dsp_per_multiplier, macs_per_dsp, multiplier_dsp, multipliers_per_dsp,
)
from dfcc.hardware.logic import (
    STAGE_CONTROL_FF, STAGE_CONTROL_LUT, Logic, lut_multiplier, mac_logic, mux_luts, stage_logic,
)
from dfcc.hardware.memory import (
    LUT_PER_BRAM18, _moved, bram18, conv_weight_memory, held_inferences, line_buffer, lutram_luts, rate_limited_burst,
    skip_fifo_depth, uram, uram_rom, uram_rows, window_buffer,
)
from dfcc.hardware.roofline import dsp_roofline, multiplier_roofline


# ---- DSP
def test_dsp_check_288_and_144():
    m = conv_multipliers(2, 16, 9)
    assert m == 288
    assert multiplier_dsp(m, 16, 16) == 288
    assert multiplier_dsp(m, 8, 8) == 144
    assert multiplier_dsp(m, 4, 4) == 72
    assert multiplier_dsp(m, 8, 16) == 288  # packing needs both operands narrow


def test_dsp_per_multiplier_wide():
    assert dsp_per_multiplier(16, 16) == 1
    assert dsp_per_multiplier(18, 27) == 1
    assert dsp_per_multiplier(27, 18) == 1  # either operand may take the 27-bit port
    assert dsp_per_multiplier(32, 32) == 4  # ceil(32/18)*ceil(32/27)
    assert dsp_per_multiplier(20, 16) == 1  # 20 on the 27-bit port, 16 on the 18-bit one
    assert multiplier_dsp(3, 32, 32) == 12


def test_packing_and_macs_per_dsp():
    assert [multipliers_per_dsp(b, b) for b in (3, 4, 5, 8, 9)] == [4, 4, 2, 2, 1]
    assert macs_per_dsp(16, 16) == 1 and macs_per_dsp(4, 4) == 4
    assert macs_per_dsp(32, 32) == 0.25
    assert multiplier_dsp(3, 8, 8) == 2  # 1.5 rounds up to whole slices


# ---- BRAM / URAM
def test_bram_small_memories_and_fifos_are_free():
    assert bram18(16, 63) == 0  # 1008 bits < 1024
    assert bram18(16, 64) == 1  # 1024 bits
    assert bram18(512, 32, fifo=True) == 0  # shallow FIFO -> SRL
    assert bram18(512, 32) == 15  # same array as memory: ceil(512/36)=15 at 36x512
    assert bram18(0, 4096) == 0  # e.g. line buffer of a 1x1 conv


def test_bram_cheapest_aspect():
    assert bram18(1, 16384) == 1
    assert bram18(1, 16385) == 2
    assert bram18(9, 2048) == 1
    assert bram18(10, 2048) == 2  # 18x1024 x2 or 9x2048 x2
    assert bram18(36, 100) == 1
    assert bram18(72, 1000) == 4  # 18x1024: 4*1 (36x512 would be 2*2 = 4 too)
    assert bram18(3, 4096) == 1  # 4x4096


def test_uram_and_lutram():
    assert uram(72, 4096) == 1
    assert uram(73, 4097) == 4
    assert lutram_luts(16, 64) == 16
    assert LUT_PER_BRAM18 == lutram_luts(18, 1024) == 288  # the BRAM18 <-> LUTRAM trade


def test_uram_rom_reads_half_words_on_both_ports():
    """A 3x3 256->256 layer's ROM at ci=2, co=16, fine=9 (4608 bits x 2048 words, 16-bit weights): one 72-bit
    port a word takes 64 URAM columns of 2048 of their 4096 rows; two 2304-bit rows a word, one per port, take
    32 full ones. At 4096 words or more the halves gain nothing (128 both ways: one row kept); 3 weights of 16
    bits split 32 + 16 bits, one URAM either way; a single weight cannot split."""
    assert (uram(4608, 2048), uram_rows(4608, 2048, 16), uram_rom(4608, 2048, 16)) == (64, 2, 32)
    assert (uram_rows(4608, 4096, 16), uram_rom(4608, 4096, 16)) == (1, 64)
    assert (uram_rows(9216, 4096, 16), uram_rom(9216, 4096, 16)) == (1, 128)
    assert (uram_rows(48, 100, 16), uram_rom(48, 100, 16)) == (1, 1)
    assert (uram_rows(80, 10, 80), uram_rom(80, 10, 80)) == (1, 2)
    # 96 lanes of 4 bits, 3 words (the lit model's conv2): 6 URAM in one row, 3 in two rows of 48 lanes
    assert (uram(384, 3), uram_rows(384, 3, 4), uram_rom(384, 3, 4)) == (6, 2, 3)


def test_weight_memory_check_512():
    width, depth = conv_weight_memory(256, 256, 3, 3, 16, coarse_in=2, coarse_out=16, fine=9)
    assert (width, depth) == (4608, 2048)
    assert bram18(width, depth) == 512


def test_weight_memory_conv1_and_grouped():
    # ResNet-18 conv1 folding: 3*1*64 / (1*1*1) deep, 16*49*3*1 wide
    assert conv_weight_memory(3, 64, 7, 7, 16, coarse_in=3, coarse_out=1, fine=49) == (2352, 64)
    # depthwise C=F=g=32, 3x3, cg=4, fine=3: depth 32/4 * 9/3 * 32/32 = 24, width 8*3*4 = 96
    assert conv_weight_memory(32, 32, 3, 3, 8, 1, 1, 3, groups=32, coarse_group=4) == (96, 24)


def test_line_and_window_buffers_of_the_check_layer():
    lb = line_buffer(256, 14, 3, 16, coarse_in=2, pad_left=1, pad_right=1)
    assert lb == (64, 2048) and bram18(*lb) == 8
    wb = window_buffer(256, 3, 3, 16, coarse_in=2)
    assert wb == (192, 128) and bram18(*wb) == 6
    # 526 of the AutoWS spill check = 512 weights + 8 line buffer + 6 window buffer
    assert 512 + bram18(*lb) + bram18(*wb) == 526


def test_skip_fifo_depth():
    assert skip_fifo_depth(1000) == 1064
    assert skip_fifo_depth(1000, margin=0) == 1000


# ---- LUT / FF (dfcc's analytical estimate)
def test_logic_model():
    assert lut_multiplier(4, 4) == 16
    # 288 MACs on DSPs, 32-bit accumulators, 16x16: LUT 288*32, FF 288*(32+32)
    assert mac_logic(288, 16, 16, 32) == Logic(9216, 18432)
    # 144 4x4 MACs in fabric, 12-bit accumulators: LUT 144*(12+16), FF 144*(12+8)
    assert mac_logic(144, 4, 4, 12, on_dsp=False) == Logic(4032, 2880)
    assert stage_logic(4, 8) == Logic(STAGE_CONTROL_LUT + 32, STAGE_CONTROL_FF + 32)
    assert Logic(1, 2) + Logic(3, 4) == Logic(4, 6)


def test_mux_luts():
    # a LUT6 selects 1 of 4 inputs: 2..4 ways take one a bit, 5..7 two (a 4:1 feeding a 4:1), 1 way none
    assert mux_luts(16, 1) == 0
    assert mux_luts(16, 3) == mux_luts(16, 4) == 16
    assert mux_luts(16, 5) == mux_luts(16, 7) == 32
    assert mux_luts(16, 9) == 48


# ---- rooflines
def test_rooflines():
    # ResNet-18: 1.814e9 MACs; ZCU102 2520 DSP, 4-bit packing 4 MACs/DSP at 200 MHz
    assert dsp_roofline(2520, 4, 200, 1.814e9) == pytest.approx(2520 * 4 * 200e6 / 1.814e9)
    assert dsp_roofline(100, 1, 100, 1e8) == 100
    # 100 DSPs at 2 MACs each (8-bit packing) plus 6,400 LUTs of 8x8 fabric multipliers (64 LUTs each):
    # 200 + 100 = 300 MACs per cycle at 100 MHz over 3e8 MACs = 100 inferences/s
    assert multiplier_roofline(100, 0.5, 6400, 64, 100, 3e8) == pytest.approx(100)
    assert multiplier_roofline(100, 1, 6400, 0, 100, 1e8) == pytest.approx(100)  # no fabric multipliers
    # with a 16-LUT adder per MAC: the 200 DSP MACs take 3,200 LUTs, the other 3,200 LUTs make
    # 3,200 / (64 + 16) = 40 fabric MACs: 240 MACs per cycle at 100 MHz over 2.4e8 MACs = 100/s
    assert multiplier_roofline(100, 0.5, 6400, 64, 100, 2.4e8, 16) == pytest.approx(100)
    # too few LUTs for every DSP's adder: 1,600 LUTs feed 100 DSP MACs and nothing is left for fabric
    assert multiplier_roofline(100, 0.5, 1600, 64, 100, 1e8, 16) == pytest.approx(100)


def test_rate_limited_burst():
    # 128 words at 8 a cycle (16 cycles) into a reader taking 1 a cycle: 16 taken, 112 wait; the writer's next
    # burst 128 cycles later, over which the reader takes 128: all 112 held
    assert rate_limited_burst(128, 8, 1, 128) == 112
    # the next burst 64 cycles later: the reader takes only 64 words before it, so 64 are held
    assert rate_limited_burst(128, 8, 1, 64) == 64
    # a reader as fast as the burst holds nothing
    assert rate_limited_burst(128, 8, 8, 128) == 0


def test_held_inferences():
    # writer over [0, 100], reader over [50, 150], every 200 cycles: at the reader's start half an inference is in
    assert held_inferences(200, 0, 100, 50, 150) == 0.5
    # the reader a whole II behind: one inference and the part of the next the writer has by the reader's start
    assert held_inferences(100, 0, 100, 120, 220) == pytest.approx(1.2)
    # a burst (written in 10 cycles) read over 100: at the burst's end 1 - 10/100 of it waits
    assert held_inferences(200, 0, 10, 0, 100) == pytest.approx(0.9)
    # the reader keeps pace with the writer, 5 cycles behind over a 100-cycle span: 5 %
    assert held_inferences(100, 0, 100, 5, 105) == pytest.approx(0.05)
    # the reader's span longer than the II (inferences overlap), 100 and 250 cycles: at its first beat of the fifth
    # inference (cycle 450) the writer has moved 4 + 0.5 inferences, the reader 1 + 1 + 0.8 + 0.4 + 0
    assert held_inferences(100, 0, 100, 50, 300) == pytest.approx(1.3)


def _moved_by_definition(t: float, first: float, span: float, ii: float) -> float:
    """`_moved` as its docstring says: every inference begun by `t`, its share of its span, summed in order."""
    return sum(min(1.0, max(0.0, (t - first - j * ii) / span)) for j in range(math.floor((t - first) / ii) + 1))


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.integers(1, 10 ** 6), st.floats(-1e6, 1e6), st.floats(1e-6, 20.0), st.floats(-2.0, 40.0))
def test_overlapping_spans_moved_as_summed_over_every_inference(ii, first, longer, later):
    """With spans longer than the II, `_moved` sums the shares of the inferences begun by t from the first still
    moving (those before are done): exactly the sum over every one, bit for bit."""
    t, span = first + later * ii, ii * (1.0 + longer)
    assert _moved(t, first, span, ii) == _moved_by_definition(t, first, span, ii)
