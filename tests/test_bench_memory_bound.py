"""bench/bench_throughput.py's memory bound (issue 14): the fps no allocation of the weights between on-chip memory
and DRAM beats under conv.h conv_tiled's architecture, hand-computed for one conv."""

import json

import pytest

from dfcc.analyses.network import Network
from dfcc.bench.bench_throughput import memory_bound_fps, weight_items
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.platforms import load_platform
from tests.test_explore_offchip import _conv

W = 64 * 64 * 9 * 16  # the conv's weight bits (float: 16-bit weights)
PIXEL = (2 * 64 + 64) * 16  # a tile pixel's buffer: its input twice over and its outputs, 16-bit words


@pytest.fixture
def network() -> Network:
    return Network.from_module(parse_module(_conv(64, 4)))  # 64 -> 64, 3x3, 4x4 output pixels


def _board(tmp_path, bram18: int) -> object:
    path = tmp_path / "board.json"
    path.write_text(json.dumps({"name": "b", "part": "x", "dsp": 100, "bram18": bram18, "uram": 0, "lut": 10_000,
                                "ff": 20_000, "clock_mhz": 100, "bandwidth_gbps": 1}))
    return load_platform(str(path))


def test_weight_items_are_the_weights_on_chip_or_each_tile(network):
    # tiles T = ceil(16 / sweeps): 16, 8, 6, 4, 3, 2, 1, each T pixels of buffer and ceil(16 / T) sweeps of W
    assert sorted(weight_items(network)[0]) == sorted(
        [(W, 0)] + [(t * PIXEL, -(-16 // t) * W) for t in (1, 2, 3, 4, 6, 8, 16)])


def test_memory_bound_takes_the_steepest_hull_steps(network, tmp_path):
    # the hull in (pixels of buffer, sweeps): (1, 16), (2, 8), (4, 4), (8, 2), (16, 1), (192, 0); 2 BRAM18 at 70 %
    # hold 25,804.8 bits, 8.4 pixels: through (8, 2), then 0.4 of the 8 pixels to (16, 1): 1.95 sweeps a frame
    assert memory_bound_fps(network, _board(tmp_path, 2), 1.0) == pytest.approx(1e9 / (1.95 * W))
    # at 50 %, 4.2 pixels: through (4, 4), then 0.2 of the 4 to (8, 2): 3.9 sweeps, in half the bandwidth
    assert memory_bound_fps(network, _board(tmp_path, 2), 0.5) == pytest.approx(0.5 * 1e9 / (3.9 * W))


def test_memory_bound_is_infinite_with_every_weight_on_chip_and_zero_without_a_pixel(network, tmp_path):
    assert memory_bound_fps(network, _board(tmp_path, 100), 1.0) == float("inf")  # 1.29 Mbit >= W
    assert memory_bound_fps(network, _board(tmp_path, 0), 1.0) == 0.0


@pytest.mark.parametrize("head_kernel, pixels", [(1, {"expand": 2 * 4, "reduce": 8, "head": 6}),
                                                 (3, {"expand": 2 * 4 + 8, "reduce": 2 * 8 + 8, "head": 2 * 8 + 6})],
                         ids=["orderable", "read-by-a-3x3"])
def test_tile_major_chains_drop_the_outputs_or_hold_sums_only(head_kernel, pixels):
    """test_tile_major's residual block pixel-major (6 x 6 pixels; expand 3x3 4 -> 8, reduce 1x1 8 -> 8, head 8 -> 6,
    16-bit words, as above): its chain (expand and reduce write it, reduce and head read it) can be tile-major when head
    is 1x1. Writing it, a conv keeps no outputs, its input twice over (expand: 2C = 8 words a tile pixel, not 2C + F =
    16); reading it, at most every filter's sum (reduce: F = 8, not 24; head: 6, not 22). A 3x3 head cannot read it,
    and every conv keeps 2C + F."""
    from tests.test_tile_major import _block

    text = _block(4, head_kernel).replace(", tile 4 block 4>", ">")
    network = Network.from_module(parse_module(text))
    items = dict(zip([m.name for m in network.nodes if m.has_weights and m.macs], weight_items(network)))
    for name, words in pixels.items():
        assert min(bits for bits, traffic in items[name] if traffic) == words * 16  # the least: a tile of one pixel


def _strided(dilation: int) -> Network:
    """The conv above at stride 2 (pad 1, or 2 dilated by 2): 2 x 2 output pixels."""
    pad = f"array<i64: {dilation}, {dilation}, {dilation}, {dilation}>"
    text = _conv(64, 4).replace("stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>",
                                f"stride = array<i64: 2, 2>, dilation = array<i64: {dilation}, {dilation}>, pad = {pad}")
    out = "!dataflow.stream<1x2x2x64xf32>"
    text = text.replace("-> !dataflow.stream<1x4x4x64xf32>\n  %t", f"-> {out}\n  %t")
    text = text.replace("(!dataflow.stream<1x4x4x64xf32>) -> tensor<1x4x4x64xf32>", f"({out}) -> tensor<1x2x2x64xf32>")
    text = text.replace("-> tensor<1x4x4x64xf32> {", "-> tensor<1x2x2x64xf32> {").replace(
        "func.return %t : tensor<1x4x4x64xf32>", "func.return %t : tensor<1x2x2x64xf32>")
    return Network.from_module(parse_module(text))


@pytest.mark.parametrize("dilation, words", [(1, 2 * 4 * 64 + 64), (2, 2 * 64 + 64)], ids=["3x3", "dilated"])
def test_a_strided_tile_holds_each_output_pixels_own_input(dilation, words):
    """At stride 2 a 3x3 window's output pixels each take a 2 x 2 block of input pixels no other takes (windows 2
    apart): a tile pixel holds 4 input pixels twice over and its outputs, 2 x 4 x 64 + 64 words; dilated by 2 its
    windows read every other pixel, which their neighbours may read too, so one input pixel, 2 x 64 + 64."""
    items = weight_items(_strided(dilation))[0]
    assert min(bits for bits, traffic in items if traffic) == words * 16
    assert sorted(traffic for _, traffic in items) == [0] + [-(-4 // t) * W for t in (4, 2, 1)]


@pytest.mark.parametrize("traffic, named", [(0.97, "BRAM18 99%, DRAM traffic 97% of budget"),
                                            (0.5, "BRAM18 99% of budget"),
                                            (1.0, "DRAM traffic 100%, BRAM18 99% of budget")])
def test_binding_names_the_dram_traffic_as_full_as_the_memory(network, tmp_path, traffic, named):
    """A design at its resources (no node at its fastest) whose BRAM18 fills 99 % of the board's 2, its DSPs 10 %
    and LUTs 50 %: "binding" names every share within 5 % of the fullest, the DRAM traffic among them (its bits per
    inference of 1 Gbps at 100 MHz, 10 bits a cycle, over the II)."""
    from types import SimpleNamespace

    from dfcc.bench.bench_throughput import binding

    ii = 10**9
    used = {"dsp": 10, "bram18": 1.98, "uram": 0, "lut": 5_000, "ff": 0}
    totals = SimpleNamespace(bandwidth_bound=False, compute_ii=ii, ii=ii, offchip_bits=traffic * 10 * ii,
                             resource=used.__getitem__)
    assert binding(network, totals, _board(tmp_path, 2), 1.0) == named
