"""bench/memory_bound.py, issue 14's memory bound: no design explore and the estimate reach is faster (small graphs,
weights streamed, chains tile-major), and a 1x1 conv's streamed tiles hand-computed."""

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from dfcc.analyses.network import Network
from dfcc.backends.estimate import Estimate
from dfcc.bench.memory_bound import least_traffic, memory_bound_fps, model_points, point_rows
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.cycles import throughput
from dfcc.hardware.platforms import load_platform
from dfcc.passes.explore import Explore, foldings
from dfcc.passes.quantize import Quantize
from tests.test_explore_offchip import _conv
from tests.test_tile_major import _block, _bottleneck

W = 64 * 64 * 16  # the 1x1 conv's weight bits (float: 16-bit weights)


def _board(tmp_path, bram18: int, lut: int = 10_000, gbps: float = 1) -> str:
    path = tmp_path / f"board{bram18}_{lut}_{gbps}.json"
    path.write_text(json.dumps({"name": "b", "part": "x", "dsp": 100, "bram18": bram18, "uram": 0, "lut": lut,
                                "ff": 200_000, "clock_mhz": 100, "bandwidth_gbps": gbps}))
    return str(path)


def _point_conv() -> Network:
    """_conv's graph with a 1x1 window, unpadded: 64 -> 64 on 4 x 4 pixels."""
    text = re.sub(r"dense<.*?> : tensor<64x64x3x3xf32>", "dense<0.5> : tensor<64x64x1x1xf32>", _conv(64, 4), flags=re.S)
    text = text.replace("64x64x3x3", "64x64x1x1").replace("kernel = array<i64: 3, 3>", "kernel = array<i64: 1, 1>")
    text = text.replace("pad = array<i64: 1, 1, 1, 1>", "pad = array<i64: 0, 0, 0, 0>")
    return Network.from_module(parse_module(text))


def test_a_point_convs_streamed_tiles_by_hand(tmp_path):
    """The 1x1 conv's tiles (16 output pixels: the divisors and ceil(16/n), n <= 8: 1, 2, 3, 4, 6, 8, 16), its
    weights wholly in DRAM: traffic ceil(16/T) x W (each sweep moves every weight word once), and the least BRAM18:
    - every tile: the weight reader's m_axi adapter, a 16-bit beat, its data FIFO in 1 BRAM18 (UG1399); the word
      FIFO to the MAC 2 deep (shift registers);
    - T = 1 (conv_mac, no tile): nothing else (a 1x1 window has no line buffer): 1;
    - T > 1 (conv.h conv_tiled): its input FIFO (a tile's share of the input, T x 64 / CI beats of CI 16-bit words)
      and tile buffer (T pixels of 64 words, CI a beat) each T x 1,024 bits, at least 1,024 bits, so BRAM18 unless
      the FIFO is at most 32 deep (shift registers: CI >= 2T, the buffer then 32T >= 64 bits wide, 2 BRAM18 at least
      at 36 bits a BRAM18), at CI = 1 each 16 bits x T x 64 <= 1,024 deep, 1 BRAM18 (UG573's 16 x 1K aspect): 2; the
      32-bit sums (T deep) and the outputs (64 / CO x T deep) in LUTRAM at 32 filter lanes (at most 512 bits a lane):
      3."""
    model = _point_conv().nodes[1]
    board = load_platform(_board(tmp_path, 4))
    at = model.factors.index("tile")
    least = {}
    for folding in foldings(model, False, True):
        sweeps = -(-16 // folding[at])
        for cycles, bram, uram, lut, offchip in point_rows(model, [(folding, None)], board):
            if offchip == sweeps * W:  # the weights wholly streamed (a split moves part of each sweep)
                least[folding[at], sweeps] = min(bram, least.get((folding[at], sweeps), bram))
    assert least == {(1, 16): 1, (2, 8): 3, (3, 6): 3, (4, 4): 3, (6, 3): 3, (8, 2): 3, (16, 1): 3}


def test_points_keep_the_least_bram_of_each_traffic(tmp_path):
    """`model_points` (the rows the bound weighs, those no other beats in every column) keep the hand-computed least
    BRAM18 for W moved a frame (tile 16), and 0 BRAM18 for none moved (the weights in LUTRAM)."""
    rows = model_points(_point_conv().nodes[1], load_platform(_board(tmp_path, 4)))
    assert rows[rows[:, 4] <= W][:, 1].min() == 0
    assert rows[(rows[:, 4] <= W) & (rows[:, 4] > 0)][:, 1].min() == 3
    assert rows[rows[:, 4] > 0][:, 1].min() == 1  # untiled, 16 W


def _rows(*rows: tuple[float, float, float, float]) -> np.ndarray:
    """Points of one cycle from (BRAM18, traffic, tile read, tile written)."""
    return np.array([(1, bram, 0, 0, traffic, read, written) for bram, traffic, read, written in rows], dtype=float)


def test_the_dual_is_the_lp_relaxation():
    """One node, 0 BRAM18 and 10 bits or 4 BRAM18 and none, in 2 BRAM18: the LP takes half of each, 5 bits; the
    dual's best price, 2.5 bits a BRAM18, gives min(10, 4 x 2.5) - 2 x 2.5 = 5."""
    board = SimpleNamespace(bram18=2, uram=0, lut=0)
    assert least_traffic([_rows((0, 10, 0, 0), (4, 0, 0, 0))], [(None, None)], board, 1.0, 1) == pytest.approx(5, 1e-6)


def test_a_chain_takes_one_tile():
    """A conv writing a chain (pixel-major: 5 bits, at tile 4: 1) and one reading it (2, or 7 at tile 4), no memory:
    tied, the least is min(5 + 2, 1 + 7) = 7; were they free, 1 + 2 = 3."""
    points = [_rows((0, 5, 0, 0), (0, 1, 0, 4)), _rows((0, 2, 0, 0), (0, 7, 4, 0))]
    board = SimpleNamespace(bram18=1, uram=0, lut=0)
    assert least_traffic(points, [(None, 0), (0, None)], board, 1.0, 1) == pytest.approx(7, 1e-4)
    assert least_traffic(points, [(None, None), (None, None)], board, 1.0, 1) == pytest.approx(3, 1e-4)


def _quantized(text: str, bits: int):
    module = parse_module(text)
    Quantize(weight_bits=bits, act_bits=bits).apply(make_context(), module)
    return module


def _design_fps(text: str, bits: int, board: str) -> tuple[float, float]:
    """(explore's design fps by the estimate, the memory bound of the graph as it came) at `bits`."""
    module = _quantized(text, bits)
    bound = memory_bound_fps(Network.from_module(module), load_platform(board), 0.9)
    Explore(platform=board).apply(make_context(), module)
    totals = Estimate.of_module(module).totals
    return throughput(load_platform(board).clock_mhz, totals.ii), bound


@pytest.mark.parametrize("graph, bits, bram18, lut, gbps", [
    ("conv", 8, 12, 4_000, 20), ("conv", 8, 12, 20_000, 1), ("conv", 16, 40, 20_000, 1),
    ("block", 8, 4, 6_000, 1), ("bottleneck", 8, 120, 60_000, 1), ("bottleneck", 16, 300, 60_000, 2)])
def test_no_design_beats_the_bound(tmp_path, graph, bits, bram18, lut, gbps):
    """explore's designs on small graphs, their weights streamed where the board's memory is short (_conv's 36,864
    weights; the ResNet-50 bottleneck end, whose chain may be tile-major), reach no more than the bound."""
    text = {"conv": _conv(), "block": _block(4).replace(", tile 4 block 4>", ">"), "bottleneck": _bottleneck("")}[graph]
    fps, bound = _design_fps(text, bits, _board(tmp_path, bram18, lut, gbps))
    assert 0 < fps <= bound * (1 + 1e-6)


@pytest.mark.parametrize("traffic, named", [(0.97, "BRAM18 99%, DRAM traffic 97% of budget"),
                                            (0.5, "BRAM18 99% of budget"),
                                            (1.0, "DRAM traffic 100%, BRAM18 99% of budget")])
def test_binding_names_the_dram_traffic_as_full_as_the_memory(tmp_path, traffic, named):
    """A design at its resources (no node at its fastest) whose BRAM18 fills 99 % of the board's 2, its DSPs 10 %
    and LUTs 50 %: "binding" names every share within 5 % of the fullest, the DRAM traffic among them (its bits per
    inference of 1 Gbps at 100 MHz, 10 bits a cycle, over the II)."""
    from dfcc.bench.bench_throughput import binding

    ii = 10**9
    used = {"dsp": 10, "bram18": 1.98, "uram": 0, "lut": 5_000, "ff": 0}
    totals = SimpleNamespace(bandwidth_bound=False, compute_ii=ii, ii=ii, offchip_bits=traffic * 10 * ii,
                             resource=used.__getitem__)
    network = Network.from_module(parse_module(_conv(64, 4)))
    assert binding(network, totals, load_platform(_board(tmp_path, 2)), 1.0) == named


def test_a_chain_through_a_concat_takes_whole_tiles(tmp_path):
    """DenseNet's join pixel-major (tests/test_tile_major_dense.py `_dense`: its chain passes a channel concat of 36
    pixels): `expand`'s points writing it tile-major are tagged with tiles dividing 36 only (a concat takes whole
    tiles), while its tiles alone (the least tile of each step count) include 5 and 8, which do not."""
    from dfcc.bench.memory_bound import node_points
    from dfcc.passes.tile_order import orderable_streams
    from tests.test_tile_major_dense import _dense, _pixel_major

    module = parse_module(_pixel_major(_dense()))
    network = Network.from_module(module)
    board = load_platform(_board(tmp_path, 40))
    n = next(i for i, m in enumerate(network.nodes) if m.name == "expand")
    points, _ = node_points(network, board)
    assert set(points[n][:, 6].tolist()) - {0} <= {2, 3, 4, 6, 9, 12, 18, 36}
    assert len(set(points[n][:, 6].tolist()) - {0}) > 1
    free = model_points(network.nodes[n], board, orderable=frozenset(orderable_streams(module)))
    assert {5, 8} <= set(free[:, 6].tolist())


def test_the_duals_design_takes_one_tile_a_chain():
    """The design the dual counts (`_Priced.design`, the explanation's) for test_a_chain_takes_one_tile's two convs:
    both pixel-major (5 + 2 bits) where the reader at tile 4 moves 7; both at tile 4 (1 + 1) where it moves 1."""
    from dfcc.bench.memory_bound import _Priced

    board = SimpleNamespace(bram18=1, uram=0, lut=0)
    for read_tiled, picked in ((7, [(5, 0, 0), (2, 0, 0)]), (1, [(1, 0, 4), (1, 4, 0)])):
        points = [_rows((0, 5, 0, 0), (0, 1, 0, 4)), _rows((0, 2, 0, 0), (0, read_tiled, 4, 0))]
        priced = _Priced.at(points, [(None, 0), (0, None)], board, 1.0, 1)
        _, lut_price, mu = priced.best()
        assert [(row[4], row[5], row[6]) for row in priced.design(lut_price, mu)] == picked
