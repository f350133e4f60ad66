import pytest

from dfcc.hardware.cycles import (
    batch_cycles, conv_cycles, expected_window_cycles, network_ii, px_output_span, px_paced_cycles, px_walk,
    sliding_window_fill, sliding_window_px_fill, sparse_conv_cycles, stage_cycles, streaming_cycles, throughput,
    window_walk, windows_after_input,
)

# 3x3 256->256 at 14x14, pad 1, ci=2 co=16 fine=9 (HARDWARE_MODEL.md check)
L3 = dict(rows=14, cols=14, channels=256, filters=256, kr=3, kc=3, rows_out=14, cols_out=14,
          coarse_in=2, coarse_out=16, fine=9, pad_top=1, pad_bottom=1, pad_left=1, pad_right=1)


def test_resnet18_conv1():
    # 112*112 * (3*49/(49*3)) * (64/1) = 802,816; input term 230*230*1 = 52,900 is smaller
    c = conv_cycles(224, 224, 3, 64, 7, 7, 112, 112, coarse_in=3, coarse_out=1, fine=49,
                    pad_top=3, pad_bottom=3, pad_left=3, pad_right=3)
    assert c == 802_816


def test_conv_3x3_256():
    # 14*14 * (256*9/(9*2)) * (256/16) = 196*128*16 = 401,408
    assert conv_cycles(**L3) == 401_408


def test_conv_input_bound():
    # 1x1 stride-2 conv 4->4 at 8x8 -> 4x4, ci=co=4: compute 16*1*1*1 = 16, read 8*8*1 = 64
    assert conv_cycles(8, 8, 4, 4, 1, 1, 4, 4, coarse_in=4, coarse_out=4, fine=1) == 64


def test_conv_non_dividing_fold_rounds_up():
    # C=3 with ci=2 -> 2 channel steps; K^2=9 with fine=2 -> 5 steps; F=5, co=2 -> 3 steps
    assert conv_cycles(4, 4, 3, 5, 3, 3, 2, 2, coarse_in=2, coarse_out=2, fine=2) == 4 * 2 * 5 * 3


def test_grouped_depthwise():
    # depthwise 3x3, C=F=g=32 at 8x8 pad 1, cg=4: compute 64*(32/4)*9*1 = 4608; read 100*8 = 800
    assert conv_cycles(8, 8, 32, 32, 3, 3, 8, 8, coarse_in=1, coarse_out=1, fine=1, groups=32,
                       coarse_group=4, pad_top=1, pad_bottom=1, pad_left=1, pad_right=1) == 4608


def test_stage_and_streaming():
    assert stage_cycles(1000, 2, 300, 1) == 500
    assert stage_cycles(1000, 4, 300, 1) == 300
    assert streaming_cycles(14, 14, 256, 8) == 14 * 14 * 32
    assert streaming_cycles(2, 2, 10, 4) == 12  # 10 channels on 4 lanes take 3 beats


def test_expected_window_cycles_hand_computed():
    # z=0 or z=5 with p=0.5 each: fine=1 0.5*9 + 0.5*4 = 6.5; fine=3 0.5*3 + 0.5*ceil(4/3) = 2.5
    half = [0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0]
    assert expected_window_cycles([half], 9, 1).tolist() == [6.5]
    assert expected_window_cycles([half], 9, 3).tolist() == [2.5]
    # all-zero windows: skipped (0 cycles) or not (1); per (channel, filter) histograms keep their shape
    empty = [0.0] * 9 + [1.0]
    assert expected_window_cycles([[empty, half]], 9, 1).tolist() == [[0.0, 6.5]]
    assert expected_window_cycles([empty], 9, 1, skip_zero_windows=False).tolist() == [1.0]


def test_sparse_dense_loads_equal_dense():
    # every window dense at fine=9 (1 cycle each): each of the 2 x 16 PEs takes 128 channels
    # x 16 filters per pixel: 14*14 * 2048 = 401,408, the dense conv's cycles
    args = dict(rows=14, cols=14, channels=256, filters=256, rows_out=14, cols_out=14, lanes_in=2, lanes_out=16,
                pad_top=1, pad_bottom=1, pad_left=1, pad_right=1)
    assert sparse_conv_cycles(**args, pe_loads=[128 * 16] * 32) == conv_cycles(**L3) == 401_408
    # no work at all: bounded by the input read 16*16*128 = 32,768
    assert sparse_conv_cycles(**args, pe_loads=[0.0] * 32) == 32_768


def test_sparse_slowest_pe_sets_pace():
    # 1x1 output, 2 filters on 2 output lanes, PE loads 18 and 2 cycles per pixel: 18 (their mean would give 10);
    # read 3*3*4 = 36 with one input lane
    assert sparse_conv_cycles(3, 3, 4, 2, 1, 1, lanes_in=1, lanes_out=2, pe_loads=[18, 2]) == 36
    assert sparse_conv_cycles(1, 1, 4, 2, 1, 1, lanes_in=1, lanes_out=2, pe_loads=[18, 2]) == 18


def test_sliding_window_fill():
    # 3x3 on 14 cols pad 1, 256 ch / ci=2: ((16*2) + 2) * 128 = 4352
    assert sliding_window_fill(14, 256, 3, 3, 2, pad_left=1, pad_right=1) == 4352


def test_px_walk_steps_and_their_padding():
    # 8 columns padded by 1 in steps of 2: 5 steps a row, reading columns 0-1 .. 6-7 at steps 0-3, step 4 padding
    assert px_walk(8, (1, 1, 1, 1), 2) == (5, (1, 1, 0, 1))
    # padded by 3: 7 steps; step s reads the beat of column 2s - 2, so steps 1-4 read, 0 and 5-6 are padding
    assert px_walk(8, (3, 3, 3, 3), 2) == (7, (3, 3, 1, 2))
    # 16 columns padded by 1 in steps of 8: 3 steps, the last one padding
    assert px_walk(16, (1, 1, 1, 1), 8) == (3, (1, 1, 0, 1))


def test_sliding_window_px_fill():
    # 3x3, pad 1, 8 columns, 2 a step: the first read at padded row 1 step 0 (walk position 5); the first group's
    # last column is 1 + 2 = 3, step 1 of padded row 2 (position 11): 6 steps on
    assert sliding_window_px_fill(3, 3, 1, (1, 1, 1, 1), 8, 2) == 6


def test_px_output_span():
    # 8x8 outputs in groups of 2 over 5 steps a row: groups at steps 1-4 of a row, 7 rows on: 7 * 5 + 3
    assert px_output_span(8, 8, 8, (1, 1), (1, 1, 1, 1), 2) == 38


def test_px_paced_cycles():
    # 8x8 image, 2 pixels a beat, one beat per 2 cycles: 32 beats take 64 cycles; a row's one padding step hides
    # behind the 3 beats the converter works ahead (its 2-deep stream and the one it holds, 6 cycles); between
    # inferences 11 padding steps (the last row's, two padded rows of 5) stall it 5 cycles: 69 (simulated: 72)
    assert px_paced_cycles(8, 8, (1, 1, 1, 1), 2, 2) == 69
    # 16x16, 8 pixels a beat, one per 4 cycles: 128 cycles, the 7 padding steps between inferences hidden
    assert px_paced_cycles(16, 16, (1, 1, 1, 1), 8, 4) == 128


def test_windows_after_input():
    # 3x3 pad 1 on 4x4 (padded 6x6; the last input at padded row 4, column 4): output row 3's windows reach the bottom
    # padding (4), and row 2's at columns 2 and 3 end at or past the last input column (2)
    assert windows_after_input(4, 4, 4, 4, (1, 1), (3, 3), (1, 1, 1, 1)) == 6
    # no padding: only the last window, which the last input completes
    assert windows_after_input(4, 4, 2, 2, (1, 1), (3, 3), (0, 0, 0, 0)) == 1
    # stride 2 pad 1 on 4x4: output row 1's windows end at input row 3, and only the last one at its last column
    assert windows_after_input(4, 4, 2, 2, (2, 2), (3, 3), (1, 1, 1, 1)) == 1
    # 5x5 pad 2 on 8x8: output rows 6 and 7 (16) and row 5's columns 5-7 (3)
    assert windows_after_input(8, 8, 8, 8, (1, 1), (5, 5), (2, 2, 2, 2)) == 19


def test_network():
    ii = network_ii([802_816, 401_408, 100])
    assert ii == 802_816
    assert batch_cycles(ii, 4, 5000) == 4 * 802_816 + 5000
    assert throughput(200, 802_816) == pytest.approx(200e6 / 802_816)  # ~249.1 inferences/s


def test_window_walk_gap_between_inferences_and_the_depth_that_hides_it():
    # unet's 32x32 3x3 pad-1 conv, one beat a pixel, 3 MAC cycles a window: the next inference's first window
    # ends at padded position 2*34 + 2 = 70, 71 positions after the last one (1155 -> 1156 + 70): 71 + 2 cycles
    # until it is readable, the MACs having 3 windows (depth 2 and their own) of 3 cycles: a stall of 64
    walk = window_walk(32, 32, 34, 34, 1, 1, 1, pads=(1, 1, 1, 1), span=(3, 3))
    assert walk.gaps[-1] == (1, 73) and walk.walk == 34 * 34
    assert walk.stage_cycles(3) == 32 * 32 * 3 + 64 == 3136
    # 24 windows queued hide it (73 <= 25 * 3), 23 leave one cycle
    assert walk.stage_cycles(3, 23) == 3073 and walk.stage_cycles(3, 24) == 3072
    assert walk.shallowest_depth(3, 32) == 24


def test_window_walk_rows_a_stride_skips():
    # ResNet-18's stem: 7x7 stride 2 pad 3 on 224x224 (230 padded), 8 MAC cycles a window. From an output
    # row's last window (row 6 + 2k, column 6 + 222) to the next row's first (row 8 + 2k, column 6): 238
    # positions, 240 cycles; 111 times a stall of 240 - 3 * 8 = 216 with depth 2, none with 29 (30 * 8 >= 240).
    # Between inferences 6 rows and 6 columns: 1620 cycles, 1596 stalled, 1356 with depth 32.
    walk = window_walk(112, 112, 230, 230, 2, 2, 1, pads=(3, 3, 3, 3), span=(7, 7))
    assert walk.gaps[2] == (111, 240) and walk.gaps[3] == (1, 1620)
    assert walk.stage_cycles(8) == 112 * 112 * 8 + 111 * 216 + 1596 == 125924
    assert walk.stage_cycles(8, 29) == 112 * 112 * 8 + 1620 - 30 * 8 == 101732
    assert walk.shallowest_depth(8, 32) == 32 and walk.stage_cycles(8, 32) == 100352 + 1356
