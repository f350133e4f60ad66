"""ddr.h's DRAM ring under a writer running inferences ahead of its reader (a skip connection holding more than
the ring): with the burst-token FIFO as deep as hardware/offchip.py ring_bursts makes it the writer waits and every
word comes back; a FIFO holding every token of an inference (the rule before) lets it overwrite unread bursts."""

import subprocess

import pytest

from dfcc.backends.hls.bounded import BOUNDED_HEADERS
from dfcc.backends.hls.toolchain import INCLUDE_DIR
from dfcc.hardware.offchip import DDR_BURST, ring_bursts

HARNESS = """
#include <chrono>
#include <cstdio>
#include <thread>
#include "dfcc/ddr.h"

int main() {
    const int BEATS = %(beats)d, INFERENCES = 3;
    hls::stream<dfcc::vec<int, 1> > in("in", 0), bursts("bursts", %(tokens)d), out("out", 0);
    static dfcc::vec<int, 1> ring[BEATS];
    for (int i = 0; i < INFERENCES * BEATS; i++) {
        dfcc::vec<int, 1> v;
        v.data[0] = i;
        in.write(v);
    }
    std::thread writer([&] { for (int k = 0; k < INFERENCES; k++) dfcc::ddr_write<BEATS, %(burst)d>(in, ring, bursts); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the reader starts late: the writer runs ahead
    int wrong = 0;
    for (int k = 0; k < INFERENCES; k++) dfcc::ddr_read<BEATS, %(burst)d>(ring, bursts, out);
    for (int i = 0; i < INFERENCES * BEATS; i++) wrong += out.read().data[0] != i;
    writer.join();
    std::printf("%%d\\n", wrong);
}
"""


def _wrong_words(tmp_path, beats: int, burst: int, tokens: int) -> int:
    source = tmp_path / "ring.cpp"
    source.write_text(HARNESS % {"beats": beats, "burst": burst, "tokens": tokens})
    binary = tmp_path / "ring"
    subprocess.run(["g++", "-std=c++14", "-O1", "-pthread", "-I", str(BOUNDED_HEADERS), "-I", str(INCLUDE_DIR),
                    str(source), "-o", str(binary)], check=True, capture_output=True)
    return int(subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout)


@pytest.mark.parametrize("beats", [64, 100, 7])
def test_a_ring_written_inferences_ahead_returns_every_word(tmp_path, beats):
    burst, tokens = ring_bursts(beats)
    assert _wrong_words(tmp_path, beats, burst, tokens) == 0


def test_a_burst_fifo_holding_an_inference_lets_the_writer_overwrite_unread_bursts(tmp_path):
    assert _wrong_words(tmp_path, 64, DDR_BURST, 64 // DDR_BURST) > 0


def test_ring_bursts_hand_computed():
    # 64 beats: 4 bursts of 16, 2 tokens; 100: 7 bursts (the last 4 beats), 5; 40 < 3 x 16: bursts of 13, 4 of them
    # (the last 1 beat), 2; 7: bursts of 2 (the last 1), 2 tokens; 2 beats: no ring
    assert [ring_bursts(b) for b in (64, 100, 40, 7, 2)] == [(16, 2), (16, 5), (13, 2), (2, 2), (0, 0)]
