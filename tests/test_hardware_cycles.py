import pytest

from dfcc.hardware.cycles import (
    batch_cycles, conv_cycles, network_ii, sliding_window_fill, sparse_conv_cycles,
    stage_cycles, streaming_cycles, throughput,
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


def test_sparse_dense_histogram_equals_dense():
    dense = [[1.0] + [0.0] * 9] * 256
    assert sparse_conv_cycles(**L3, zero_histograms=dense) == 401_408


def test_sparse_half_zero_windows():
    # every window has z=5 zeros with p=0.5, else 0 zeros; fine=1: 0.5*4 + 0.5*9 = 6.5 cycles
    # per window instead of 9 -> 196*128*16*6.5/9
    hist = [[0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0]] * 256
    got = sparse_conv_cycles(**{**L3, "fine": 1}, zero_histograms=hist)
    assert got == pytest.approx(196 * 128 * 16 * 6.5)


def test_sparse_all_zero_windows_skip_or_not():
    # all windows all-zero: skipped -> compute 0, bounded by the input read 16*16*128 = 32,768;
    # not skipped -> 1 cycle per window = 196*128*16 = 401,408
    hist = [[0.0] * 9 + [1.0]] * 256
    assert sparse_conv_cycles(**L3, zero_histograms=hist) == 32_768
    assert sparse_conv_cycles(**L3, zero_histograms=hist, skip_zero_windows=False) == 401_408


def test_sparse_worst_stream_sets_pace():
    # 4 channels on ci=2: channels 0,2 (stream 0) dense, 9 cycles each; 1,3 all-zero, 0 cycles.
    # 1x1 output, F=8, co=1: worst stream 8*(9+9) = 144 (the mean would give 72); read 9*2 = 18
    dense, empty = [1.0] + [0.0] * 9, [0.0] * 9 + [1.0]
    got = sparse_conv_cycles(3, 3, 4, 8, 3, 3, 1, 1, coarse_in=2, coarse_out=1, fine=1,
                             zero_histograms=[dense, empty, dense, empty])
    assert got == 1 * 1 * 8 * 18


def test_sliding_window_fill():
    # 3x3 on 14 cols pad 1, 256 ch / ci=2: ((16*2) + 2) * 128 = 4352
    assert sliding_window_fill(14, 256, 3, 3, 2, pad_left=1, pad_right=1) == 4352


def test_network():
    ii = network_ii([802_816, 401_408, 100])
    assert ii == 802_816
    assert batch_cycles(ii, 4, 5000) == 4 * 802_816 + 5000
    assert throughput(200, 802_816) == pytest.approx(200e6 / 802_816)  # ~249.1 inferences/s
