"""DRAM rings under a writer running inferences ahead of its reader. ddr.h (a skip connection holding more than the
ring, a ring of one inference or several): with the burst-token FIFO as deep as hardware/offchip.py ring_bursts makes
it the writer waits and every word comes back; a FIFO holding every token of the ring lets it overwrite unread bursts. ddr_rows.h
(a conv's line buffer in DRAM, read back a window of rows behind the tokens it took): the same with row_ring_tokens."""

import subprocess

import pytest

from dfcc.backends.hls.bounded import BOUNDED_HEADERS
from dfcc.backends.hls.toolchain import INCLUDE_DIR, ap_types_dir
from dfcc.hardware.memory import fifo_blocks
from dfcc.hardware.offchip import DDR_BURST, ring_bursts, row_ring_tokens
from dfcc.kinds.ddr_fifo import ring_tokens

HARNESS = """
#include <chrono>
#include <cstdio>
#include <thread>
#include "dfcc/ddr.h"

int main() {
    const int BEATS = %(beats)d, RING = %(ring)d, INFERENCES = 5;
    hls::stream<dfcc::vec<int, 1> > in("in", 0), out("out", 0);
    hls::stream<dfcc::vec<bool, 1> > bursts("bursts", %(tokens)d);
    static dfcc::vec<int, 1> ring[RING * BEATS];
    for (int i = 0; i < INFERENCES * BEATS; i++) {
        dfcc::vec<int, 1> v;
        v.data[0] = i;
        in.write(v);
    }
    std::thread writer([&] {
        for (int k = 0; k < INFERENCES; k++) dfcc::ddr_write<BEATS, %(burst)d, RING, 0>(in, ring, bursts);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the reader starts late: the writer runs ahead
    int wrong = 0;
    for (int k = 0; k < INFERENCES; k++) dfcc::ddr_read<BEATS, %(burst)d, RING, 0>(ring, bursts, out);
    for (int i = 0; i < INFERENCES * BEATS; i++) wrong += out.read().data[0] != i;
    writer.join();
    std::printf("%%d\\n", wrong);
}
"""


ROWS_HARNESS = """
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include "dfcc/ddr_rows.h"

int main(int argc, char** argv) {
    typedef dfcc::geom<%(h)d, %(w)d, %(c)d, %(kr)d, 1, %(sr)d, 1, %(dr)d, 1, %(pt)d, %(pt)d> G;
    const int P = %(p)d, ROW = G::W * G::C / P, BEATS = G::H * ROW, INFERENCES = 3;
    hls::stream<dfcc::vec<int, P> > in("in", 0);
    hls::stream<dfcc::vec<int, 1> > bursts("bursts", std::atoi(argv[1]));
    hls::stream<dfcc::vec<int, G::KR * P> > out("out", 0);
    static dfcc::vec<int, P> ring[BEATS];
    for (int i = 0; i < INFERENCES * BEATS; i++) {
        dfcc::vec<int, P> v;
        for (int p = 0; p < P; p++) v.data[p] = i * P + p + 1;  // 0 is the padding
        in.write(v);
    }
    std::thread writer([&] {
        for (int k = 0; k < INFERENCES; k++) dfcc::ddr_write<BEATS, %(burst)d>(in, ring, bursts);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the reader starts late: the writer runs ahead
    int wrong = 0;
    for (int k = 0; k < INFERENCES; k++) {
        dfcc::ddr_rows_read<G, P, %(burst)d>(ring, bursts, out, 0);
        for (int ho = 0; ho < G::HO; ho++)
            for (int j = 0; j < ROW; j++) {
                const dfcc::vec<int, G::KR * P> col = out.read();
                for (int kr = 0; kr < G::KR; kr++) {
                    const int r = ho * G::SR - G::PT + kr * G::DR;
                    const bool inside = r >= 0 && r < G::H;
                    for (int p = 0; p < P; p++)
                        wrong += col.data[kr * P + p] != (inside ? (k * BEATS + r * ROW + j) * P + p + 1 : 0);
                }
            }
    }
    writer.join();
    std::printf("%%d\\n", wrong);
}
"""


def _compile(tmp_path, source_text: str):
    source = tmp_path / "ring.cpp"
    source.write_text(source_text)
    binary = tmp_path / "ring"
    subprocess.run(["g++", "-std=c++14", "-O1", "-pthread", "-I", str(BOUNDED_HEADERS), "-I", str(INCLUDE_DIR),
                    "-isystem", str(ap_types_dir()), str(source), "-o", str(binary)], check=True, capture_output=True)
    return lambda *args: int(subprocess.run([str(binary), *map(str, args)], check=True, capture_output=True,
                                            text=True).stdout)


def _wrong_words(tmp_path, beats: int, ring: int, burst: int, tokens: int) -> int:
    return _compile(tmp_path, HARNESS % {"beats": beats, "ring": ring, "burst": burst, "tokens": tokens})()


@pytest.mark.parametrize("beats, ring", [(64, 1), (100, 1), (7, 1), (64, 2), (7, 3), (4800, 2)])
def test_a_ring_written_inferences_ahead_returns_every_word(tmp_path, beats, ring):
    burst, tokens = ring_bursts(beats, ring)
    assert _wrong_words(tmp_path, beats, ring, burst, tokens) == 0


@pytest.mark.parametrize("ring", [1, 2])
def test_a_burst_fifo_holding_the_rings_bursts_lets_the_writer_overwrite_unread_ones(tmp_path, ring):
    assert _wrong_words(tmp_path, 64, ring, DDR_BURST, ring * 64 // DDR_BURST) > 0


def test_ring_bursts_hand_computed():
    # 64 beats: 4 bursts of 16, 2 tokens; 100: 7 bursts (the last 4 beats), 5; 40 < 3 x 16: bursts of 13, 4 of them
    # (the last 1 beat), 2; 7: bursts of 2 (the last 1), 2 tokens; 2 beats: no ring; a ring of 3 inferences of 64
    # beats: 12 bursts, 10 tokens; 2 of 4,800 beats: 600 bursts, a token for 2 (RING_TOKEN_SPANS 512), 298 tokens;
    # MobileNetV3-Large's 14x14x672 map, 4 in the ring: 32,928 bursts, a token for 65, 1,040 beats: 4 x 127 spans
    assert [ring_bursts(b) for b in (64, 100, 40, 7, 2)] == [(16, 2), (16, 5), (13, 2), (2, 2), (0, 0)]
    assert [ring_bursts(64, 3), ring_bursts(4800, 2), ring_bursts(131712, 4)] == [(16, 10), (32, 298), (1040, 506)]


def test_a_rings_tokens_take_a_lutram_hand_computed():
    # the 506 one-bit tokens of MobileNetV3-Large's largest ring (above): 506 bits, under a BRAM18's 1,024 (fpgaConvNet's
    # rule), so ceil(506 / 64) = 8 LUT6 of LUTRAM; a token a burst, 32,926 of them, would take 3 BRAM18 (1 x 16,384)
    assert ring_tokens(131712, 4 * 131712, 1) == (1040, 0, 8)
    assert fifo_blocks(1, 4 * -(-131712 // DDR_BURST) - 2) == (3, 0, 0)


# (h, w, c, p, kr, sr, dr, pt): rows of half a burst (1 token), whole bursts (4), stride 2 over two lanes, dilation 2
@pytest.mark.parametrize("geometry", [(8, 8, 1, 1, 3, 1, 1, 1), (8, 16, 1, 1, 3, 1, 1, 1), (9, 16, 2, 2, 3, 2, 1, 1),
                                      (10, 4, 8, 1, 3, 1, 2, 2)])
def test_a_line_buffer_ring_written_inferences_ahead_returns_every_row(tmp_path, geometry):
    h, w, c, p, kr, sr, dr, pt = geometry
    ho = (h + 2 * pt - dr * (kr - 1) - 1) // sr + 1
    tokens = row_ring_tokens(h, w * c // p, ho, kr, sr, dr, pt)
    wrong_words = _compile(tmp_path, ROWS_HARNESS % {"h": h, "w": w, "c": c, "p": p, "kr": kr, "sr": sr, "dr": dr,
                                                     "pt": pt, "burst": DDR_BURST})
    assert wrong_words(tokens) == 0
    assert wrong_words(-(-h * w * c // p // DDR_BURST)) > 0  # a token FIFO holding an inference: row 0 overwritten
