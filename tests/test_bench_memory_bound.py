"""bench/memory_bound.py, issue 14's memory bound: no design explore and the estimate reach is faster (small graphs,
weights streamed, chains tile-major), and a 1x1 conv's streamed tiles hand-computed."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from dfcc.analyses.network import Network
from dfcc.backends.estimate import Estimate
from dfcc.bench.memory_bound import least_traffic, memory_bound_fps, model_points, point_rows
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.cycles import throughput
from dfcc.hardware.platforms import load_platform
from dfcc.kinds.concat import ConcatOp
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
    text = _conv(64, 4).split("\n{-#")[0]  # its weights' blob section dropped: the weights are 0.5 here
    text = text.replace("dense_resource<w_blob> : tensor<64x64x3x3xf32>", "dense<0.5> : tensor<64x64x1x1xf32>")
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
    ("block", 8, 4, 6_000, 1), ("bottleneck", 8, 120, 60_000, 1), ("bottleneck", 16, 300, 60_000, 2),
    ("tiled", 8, 60, 15_000, 5)])
def test_no_design_beats_the_bound(tmp_path, graph, bits, bram18, lut, gbps):
    """explore's designs on small graphs, their weights streamed where the board's memory is short (_conv's 36,864
    weights; the ResNet-50 bottleneck end, whose chain may be tile-major; a 3x3 conv whose sums may be in LUTRAM), reach
    no more than the bound."""
    text = {"conv": _conv(), "block": _block(4).replace(", tile 4 block 4>", ">"), "bottleneck": _bottleneck(""),
            "tiled": _conv(256, 7)}[graph]
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


def _window_conv(name: str, source: str, size: int, channels: int, kernel: int, folding: str = "") -> str:
    """A `kernel` x `kernel` conv %`name` (padded to keep the size), `channels` -> `channels` on size x size pixels."""
    stream = f"!dataflow.stream<1x{size}x{size}x{channels}xf32>"
    weights = f"tensor<{channels}x{channels}x{kernel}x{kernel}xf32>"
    p = kernel // 2
    return (f'  %w_{name} = dataflow.weights {{name = "w_{name}", value = dense<0.25> : {weights}}} : {weights}\n'
            f'  %{name} = dataflow.conv %{source}, %w_{name} {{name = "{name}", kernel = array<i64: {kernel}, {kernel}>, '
            f'stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: {p}, {p}, {p}, {p}>{folding}}} : '
            f'({stream}, {weights}) -> {stream}\n')


def _residual(size: int = 24, channels: int = 8, fold: str = "", lanes: tuple[int, int] = (1, 1)) -> str:
    """A residual block on size x size pixels: a fork into a 1x1 then a 3x3 conv (padded) and the add joining them;
    `fold` the convs' folding, `lanes` the fork's and the add's."""
    fork, coarse = lanes
    stream = f"!dataflow.stream<1x{size}x{size}x{channels}xf32>"
    return f"""func.func @main(%a: tensor<1x{channels}x{size}x{size}xf32>) -> tensor<1x{size}x{size}x{channels}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x{channels}x{size}x{size}xf32>) -> {stream}
  %f, %f2 = dataflow.fork %s {{name = "fork", coarse = {fork} : i64}} : ({stream}) -> ({stream}, {stream})
{_window_conv("point", "f", size, channels, 1, fold)}{_window_conv("window", "point", size, channels, 3, fold)}  %j = dataflow.map %window, %f2 {{name = "add", coarse = {coarse} : i64}} : {stream}, {stream} -> {stream} {{
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    dataflow.yield %z : f32
  }}
  %t = dataflow.sink %j {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : ({stream}) -> tensor<1x{size}x{size}x{channels}xf32>
  func.return %t : tensor<1x{size}x{size}x{channels}xf32>
}}"""


def _squeeze(size: int = 8, channels: int = 16, lanes: tuple[int, int] = (1, 1)) -> str:
    """An SE block on size x size pixels: a fork into a global mean pool and a ReLU, whose per-channel scale
    multiplies the fork's other copy; `lanes` the fork's and the pool's and multiply's."""
    fork, coarse = lanes
    stream, vector = f"!dataflow.stream<1x{size}x{size}x{channels}xf32>", f"!dataflow.stream<1x1x1x{channels}xf32>"
    return f"""func.func @main(%a: tensor<1x{channels}x{size}x{size}xf32>) -> tensor<1x{size}x{size}x{channels}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x{channels}x{size}x{size}xf32>) -> {stream}
  %f, %f2 = dataflow.fork %s {{name = "fork", coarse = {fork} : i64}} : ({stream}) -> ({stream}, {stream})
  %p = dataflow.reduce %f {{name = "squeeze", kind = "mean", dims = array<i64: 1, 2>, coarse = {coarse} : i64}} : ({stream}) -> {vector}
  %g = dataflow.map %p {{name = "gate"}} : {vector} -> {vector} {{
  ^bb0(%x: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %e = arith.maximumf %x, %zero : f32
    dataflow.yield %e : f32
  }}
  %j = dataflow.map %g, %f2 {{name = "scale", coarse = {coarse} : i64}} : {vector}, {stream} -> {stream} {{
  ^bb0(%x: f32, %y: f32):
    %z = arith.mulf %x, %y : f32
    dataflow.yield %z : f32
  }}
  %t = dataflow.sink %j {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : ({stream}) -> tensor<1x{size}x{size}x{channels}xf32>
  func.return %t : tensor<1x{size}x{size}x{channels}xf32>
}}"""


def _holds(module) -> dict[str, int]:
    from dfcc.analyses.skip_holds import skip_holds

    ops = [m.op for m in Network.from_module(module).nodes]
    return {f"{v.owner.node_name.data}>{next(iter(v.uses)).operation.node_name.data}": by_tile[0]
            for v, by_tile in skip_holds(ops)}


def test_a_skips_least_hold_by_hand(tmp_path):
    """The residual block (24 x 24 pixels, 8 channels): the add cannot take more than a beat of the skip before the
    3x3 conv's first output, which needs input pixel (1, 1), raster 25, with every channel (the 1x1 conv's output
    25, so its input pixel 25): the fork has written 25 x 8 + 1 = 201 elements into both copies, less 11 uncosted
    beats of at most 8 lanes: 113 held, 1,808 bits at 16 bits. The SE block (8 x 8 pixels, 16 channels): the scale's
    first element needs the pool's, every pixel's channel 0, pixel-major all but 15 channels of the last pixel: 63
    x 16 + 1 = 1,009, less 11 x 16: 833 held, 13,328 bits. Their points: those bits in BRAM18 (18,432 bits),
    URAM (294,912) or LUTs (64), or 2 x the stream's bits through DRAM and a ring's m_axi adapters at 1 lane, the
    fewest: a data FIFO in a BRAM18 for each of its two ports (kinds/ddr_fifo.py `ring_adapters`)."""
    from dfcc.bench.memory_bound import skip_points
    from dfcc.kinds.ddr_fifo import ring_adapters

    residual, squeeze = _quantized(_residual(), 16), _quantized(_squeeze(), 16)
    assert _holds(residual) == {"fork>add": 113}
    assert _holds(squeeze) == {"fork>scale": 833}
    (rows,), sides = skip_points(Network.from_module(squeeze))
    assert sides == [(None, None)]
    bits = 833 * 16
    ring_lut = ring_adapters(1, 16)[1].lut
    assert np.allclose(rows[:, 1:5], [[bits / 18_432, 0, 0, 0], [0, bits / 294_912, 0, 0], [0, 0, bits / 64, 0],
                                      [2, 0, ring_lut, 2 * 8 * 8 * 16 * 16]])
    assert ring_lut == min(ring_adapters(lanes, 16)[1].lut for lanes in range(1, 17))


def test_a_skip_beside_a_pointwise_branch_holds_nothing():
    """tests/test_tile_major.py's block: its branch a 1x1 conv only, whose first output needs one pixel: no hold."""
    assert _holds(parse_module(_block(4))) == {}


@pytest.mark.parametrize("graph, fold, lanes", [
    ("residual", "", (1, 1)), ("residual", ", coarse_in = 8 : i64, coarse_out = 8 : i64", (8, 8)),
    ("residual", ", coarse_in = 2 : i64, coarse_out = 4 : i64, tile = 8 : i64", (2, 2)),
    ("residual", ", coarse_in = 8 : i64, coarse_out = 2 : i64", (4, 4)), ("residual", "", (1, 8)),
    ("residual", ", coarse_in = 8 : i64, coarse_out = 8 : i64", (2, 4)), ("squeeze", "", (1, 1)),
    ("squeeze", "", (16, 16)), ("squeeze", "", (1, 16)), ("squeeze", "", (4, 2))])
def test_no_sized_skip_holds_less(graph, fold, lanes):
    """The cycle-level FIFO sizing (analyses/fifo_sizing.py) of each folding, lane converters on the skip too, gives
    the skip's FIFO at least the elements the bound says it holds (its depth x the fork's lanes). (The sizing holds
    what the fork has written less at most a wide beat: fork lanes 1 and the add's 8, 193 of the 201 written.)"""
    from dfcc.analyses.fifo_sizing import size_fifos

    module = parse_module(_residual(fold=fold, lanes=lanes) if graph == "residual" else _squeeze(lanes=lanes))
    ((name, held),) = _holds(module).items()
    network = Network.from_module(module)
    (edge,) = [e for e in network.edges if network.nodes[e.producer].name == "fork" and
               f"fork>{network.nodes[e.consumer].name}" == name]
    assert size_fifos(module).depths[edge.value] * lanes[0] >= held


@pytest.mark.parametrize("graph, bits, bram18, lut, gbps", [
    ("residual", 16, 4, 3_000, 1), ("residual", 8, 2, 10_000, 10), ("wide residual", 16, 8, 3_000, 1),
    ("wide residual", 8, 4, 3_000, 1), ("squeeze", 16, 12, 10_000, 10), ("squeeze", 8, 8, 10_000, 10)])
def test_no_design_beats_the_bound_with_skips(tmp_path, graph, bits, bram18, lut, gbps):
    """explore's designs of the residual block (24 x 24 x 8, or 32 x 32 x 16: its skip 33 x 16 + 1 - 11 x 16 = 353
    elements) and the SE block (16 x 16 x 32) reach no more than the bound."""
    text = {"residual": _residual(), "wide residual": _residual(32, 16), "squeeze": _squeeze(16, 32)}[graph]
    fps, bound = _design_fps(text, bits, _board(tmp_path, bram18, lut, gbps))
    assert 0 < fps <= bound * (1 + 1e-6)


def test_a_skip_lowers_the_bound(tmp_path, monkeypatch):
    """The wide residual block at 16 bits on 8 BRAM18 (7.2 in the budget), 3,000 LUTs and 1 Gbps: its skip's 5,648
    bits at least (a third of a BRAM18) lower the bound, which explore's design still meets."""
    import dfcc.bench.memory_bound as bound

    board = load_platform(_board(tmp_path, 8, 3_000, 1))
    network = Network.from_module(_quantized(_residual(32, 16), 16))
    with_skip = memory_bound_fps(network, board, 0.9)
    monkeypatch.setattr(bound, "skip_points", lambda *args: ([], []))
    assert with_skip < memory_bound_fps(network, board, 0.9)


def test_a_tile_major_concat_holds_by_its_tile():
    """The residual block joined by a channel concat (24 x 24, 8 + 8 channels): pixel-major it holds the add's 113
    elements whichever input comes first (a concat takes a pixel of each in turn). Where its output may be
    tile-major (kinds/concat.py: a tile of each input in turn), the skip first: in tiles of 4, the concat takes the
    skip's 4 pixels, 32 elements, then waits for the conv's tile of 4, whose all but last element (pixel 2 whole,
    31 elements: the conv's output pixel 3 touched) needs input pixel (1, 4), raster 28, the fork's 28 x 8 + 1 =
    225: 225 - 32 - 88 = 105; in tiles of 8 (pixel 7: input (1, 8), 32) 257 - 64 - 88 = 105; in one tile of the
    576 pixels the skip passes whole before the conv's first: nothing. Its tiles not known, nothing; the skip
    second: 113 (the conv's first element comes first)."""
    from dfcc.analyses.skip_holds import skip_holds

    stream, cat = "!dataflow.stream<1x24x24x8xf32>", "!dataflow.stream<1x24x24x16xf32>"
    for inputs, held in (("%f2, %window", {0: 113, 4: 105, 8: 105, 576: 0}),
                         ("%window, %f2", {0: 113, 4: 113, 8: 113, 576: 113})):
        text = _residual().replace("tensor<1x24x24x8xf32>", "tensor<1x24x24x16xf32>")
        start, end = text.index("  %j = dataflow.map"), text.index("  %t = ")
        text = (text[:start] + f'  %j = dataflow.concat {inputs} {{name = "cat", axis = 3 : i64}} : ({stream}, {stream})'
                f" -> {cat}\n" + text[end:].replace(f": ({stream}) -> tensor", f": ({cat}) -> tensor"))
        module = parse_module(text)
        ops = [m.op for m in Network.from_module(module).nodes]
        output = next(op for op in ops if op.node_name.data == "cat").output
        assert _holds(module) == {"fork>cat": 113}
        ((_, by_tile),) = skip_holds(ops, frozenset({output}), tiles={output: (0, 4, 8, 576)})
        assert by_tile == held
        assert [h for _, h in skip_holds(ops, frozenset({output}))] == ([] if held[4] == 105 else [{0: 113}])


def _dense_join(size: int = 16, channels: int = 8) -> str:
    """DenseNet's layer between 1x1 convs: `expand` (1x1) forked to a 1x1 then a 3x3 conv, a channel concat of the
    skip and their output, read by `head` (1x1): one chain that may be tile-major (passes/tile_order.py)."""
    text = _residual(size, channels).replace("tensor<1x{0}x{0}x{1}xf32>".format(size, channels),
                                             "tensor<1x{0}x{0}x{1}xf32>".format(size, 2 * channels))
    stream = f"!dataflow.stream<1x{size}x{size}x{channels}xf32>"
    cat = f"!dataflow.stream<1x{size}x{size}x{2 * channels}xf32>"
    start, end = text.index("  %j = dataflow.map"), text.index("  %t = ")
    head = (f'  %w_head = dataflow.weights {{name = "w_head", value = dense<0.25> : tensor<{2 * channels}x{2 * channels}'
            f'x1x1xf32>}} : tensor<{2 * channels}x{2 * channels}x1x1xf32>\n'
            f'  %h = dataflow.conv %j, %w_head {{name = "head", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, '
            f'dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>}} : ({cat}, tensor<{2 * channels}x{2 * channels}'
            f'x1x1xf32>) -> {cat}\n')
    text = (text[:start] + f'  %j = dataflow.concat %f2, %window {{name = "cat", axis = 3 : i64}} : ({stream}, {stream})'
            f" -> {cat}\n" + head + text[end:].replace(f"%j {{name = \"out\"", "%h {name = \"out\"").replace(
                f": ({stream}) -> tensor", f": ({cat}) -> tensor"))
    expand = _window_conv("expand", "s", size, channels, 1)
    return text.replace("  %f, %f2 = dataflow.fork %s", expand + "  %f, %f2 = dataflow.fork %expand")


@pytest.mark.parametrize("bits, bram18, lut, gbps", [(16, 6, 4_000, 1), (8, 4, 3_000, 1), (16, 12, 10_000, 2)])
def test_no_design_beats_the_bound_through_a_tile_major_concat(tmp_path, bits, bram18, lut, gbps):
    """The DenseNet layer, its chain orderable through the concat (the skip's pseudo-node tied to its tile), within
    the bound."""
    from dfcc.passes.tile_order import orderable_streams

    text = _dense_join()
    module = parse_module(text)
    cat = next(op for op in module.walk() if isinstance(op, ConcatOp))
    assert cat.output in set(orderable_streams(module))
    fps, bound = _design_fps(text, bits, _board(tmp_path, bram18, lut, gbps))
    assert 0 < fps <= bound * (1 + 1e-6)


def test_the_bound_weighs_tile_memories_in_lutram(tmp_path, monkeypatch):
    """explore may keep a tiled conv's sums in LUTRAM (dataflow.tile_lutram): the bound's points take that place too,
    so its 3x3 conv (256 -> 256 at 7x7, 8 bits, 60 BRAM18, 15,000 LUTs, 5 Gbps), which frees BRAM18 for weights
    that way, is bounded higher than with the rule's place alone."""
    from dfcc.kinds.cost import NodeModel

    network = Network.from_module(_quantized(_conv(256, 7), 8))
    board = load_platform(_board(tmp_path, 60, 15_000, 5))
    bound = memory_bound_fps(network, board, 0.9)
    monkeypatch.setattr(NodeModel, "lutram_options", lambda self, folding: (None,))
    assert bound > memory_bound_fps(Network.from_module(_quantized(_conv(256, 7), 8)), board, 0.9) * 1.01
