"""explore{off-chip-weights=auto evict-skips=auto} (the defaults): weights stream from DRAM, and skip connections
wait there, only where that wins and the HLS backend builds it, and the design it picks is emitted and
C-simulated bit-exact."""

import json
from pathlib import Path

import numpy as np
import pytest

from dfcc.analyses.network import Network
from dfcc.backends.estimate import Estimate
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.kinds import ConvOp, DdrFifoOp
from dfcc.passes import explore as explore_pass
from dfcc.passes.explore import Explore, apply_design, explore, explore_module
from dfcc.passes.quantize import Quantize
from dfcc.passes.spill import evict_edges, ring_edges
from tests.csim_check import csim_equals_reference
from tests.weight_blobs import blob_section

LIT = Path(__file__).resolve().parent.parent / "lit_tests" / "spill"


def _conv(channels: int = 64, size: int = 4) -> str:
    """A 3x3 conv, `channels` -> `channels` on size x size pixels (64: 36,864 weights), weights in eighths."""
    c, h = channels, size
    w = np.random.default_rng(0).integers(-6, 7, size=(c, c, 3, 3)) / 8.0
    stream = f"!dataflow.stream<1x{h}x{h}x{c}xf32>"
    return f"""func.func @main(%a: tensor<1x{c}x{h}x{h}xf32>) -> tensor<1x{h}x{h}x{c}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x{c}x{h}x{h}xf32>) -> {stream}
  %w = dataflow.weights {{name = "w", value = dense_resource<w_blob> : tensor<{c}x{c}x3x3xf32>}} : tensor<{c}x{c}x3x3xf32>
  %c = dataflow.conv %s, %w {{name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>}} : ({stream}, tensor<{c}x{c}x3x3xf32>) -> {stream}
  %t = dataflow.sink %c {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : ({stream}) -> tensor<1x{h}x{h}x{c}xf32>
  func.return %t : tensor<1x{h}x{h}x{c}xf32>
}}""" + blob_section({"w_blob": w})


def _board(tmp_path, lut: int) -> str:
    """12 BRAM18 (216 Kbit), `lut` LUTs and 20 Gbps of DRAM."""
    board = tmp_path / "small.json"
    board.write_text(json.dumps({"name": "small", "part": "xc7z020", "dsp": 50, "bram18": 12, "uram": 0,
                                 "lut": lut, "ff": 100_000, "clock_mhz": 100, "bandwidth_gbps": 20}))
    return str(board)


@pytest.fixture
def small_board(tmp_path) -> str:
    """The conv's 36,864 8-bit weights (295 Kbit) fit neither in 12 BRAM18 nor in 4,000 LUTs, beside its window
    buffer and logic."""
    return _board(tmp_path, 4000)


def _quantized(text: str):
    module = parse_module(text)
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), module)
    return module


def test_auto_streams_what_does_not_fit_and_csim_is_bit_exact(small_board):
    """With every weight on chip nothing fits; auto streams the conv's weights as true does, and the design
    it writes builds: C simulation with every FIFO at its depth equals the CPU reference."""
    network = Network.from_module(_quantized(_conv()))
    board = load_platform(small_board)
    with pytest.raises(DfccError, match="does not fit on small"):
        explore(network, board, progress=False, off_chip_weights=False)
    streamed = explore(network, board, progress=False, off_chip_weights=True)
    assert explore(network, board, progress=False) == streamed
    module = _quantized(_conv())
    Explore(platform=small_board).apply(make_context(), module)
    (conv,) = [op for op in module.walk() if isinstance(op, ConvOp)]
    assert conv.on_chip_percent() < 100
    x = np.random.default_rng(3).standard_normal((1, 64, 4, 4)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded=True)).max() > 0


def test_auto_keeps_float_weights_on_chip(tmp_path):
    """The HLS backend streams fixed-point weights only: a float design's stay on chip under auto (with 6,000
    LUTs its 16-bit weights do not fit: the on-chip search's error), though true would stream them."""
    network = Network.from_module(parse_module(_conv()))
    board = load_platform(_board(tmp_path, 6000))
    with pytest.raises(DfccError, match="does not fit on small"):
        explore(network, board, progress=False)
    choices, _ = explore(network, board, progress=False, off_chip_weights=True)
    assert any(memory == "off_chip" or on_chip < 100 for _, memory, _, on_chip, *_ in choices)


def test_auto_skips_the_off_chip_search_where_weights_do_not_bind(monkeypatch):
    """A design whose fullest resource holds few weights (a 4 -> 4 conv's 144 on a ZCU102) is the on-chip
    search's, and that search alone ran (the same design as false)."""
    network = Network.from_module(_quantized(_conv(channels=4)))
    zcu102 = load_platform("zcu102")
    searched = []

    def spy(*args):
        searched.append(args[5])  # off_chip
        return search(*args)

    search = explore_pass._search
    monkeypatch.setattr(explore_pass, "_search", spy)
    auto = explore(network, zcu102, progress=False)
    assert searched == [False]
    assert auto == explore(network, zcu102, progress=False, off_chip_weights=False)


def _chain(small: int = 3, c: int = 64, h: int = 4) -> str:
    """`small` 1x1 convs then a 3x3 conv, each `c` -> `c` channels on h x h pixels, weights in eighths."""
    rng, stream = np.random.default_rng(0), f"!dataflow.stream<1x{h}x{h}x{c}xf32>"
    lines, blobs, x = [f'  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : '
                       f'(tensor<1x{c}x{h}x{h}xf32>) -> {stream}'], {}, "%s"
    for i in range(small + 1):
        k = 3 if i == small else 1
        p, weights = (k - 1) // 2, f"tensor<{c}x{c}x{k}x{k}xf32>"
        blobs[f"b{i}"] = rng.integers(-6, 7, size=(c, c, k, k)) / 8.0
        lines += [f'  %w{i} = dataflow.weights {{name = "w{i}", value = dense_resource<b{i}> : {weights}}} : {weights}',
                  f'  %c{i} = dataflow.conv {x}, %w{i} {{name = "conv{i}", kernel = array<i64: {k}, {k}>, stride = '
                  f'array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: {p}, {p}, {p}, {p}>}} : '
                  f'({stream}, {weights}) -> {stream}']
        x = f"%c{i}"
    lines.append(f'  %t = dataflow.sink {x} {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : ({stream}) -> '
                 f'tensor<1x{h}x{h}x{c}xf32>')
    return (f"func.func @main(%a: tensor<1x{c}x{h}x{h}xf32>) -> tensor<1x{h}x{h}x{c}xf32> {{\n" + "\n".join(lines)
            + f"\n  func.return %t : tensor<1x{h}x{h}x{c}xf32>\n}}" + blob_section(blobs))


def test_auto_weighs_the_weights_whose_streaming_frees_memory_not_the_others():
    """Three 1x1 convs at 64 lanes with weights in LUTRAM would take 15 BRAM18 each in stream buffers at that folding;
    the 3x3 conv's weights in BRAM free 17 of the design's BRAM18, its fullest memory: the off-chip search is worth
    its time (summed over every conv, streaming would free none, which once hid MobileNetV2 ZCU102 8-bit's
    classifier)."""
    network = Network.from_module(_quantized(_chain()))
    choices = [((1, 64) + (1,) * 5, "lutram", "dsp", 100, None, None) if m.name != "conv3" else
               ((1,) * 7, "bram", "dsp", 100, None, None) if m.has_weights else choice
               for m, choice in zip(network.nodes, network.ir_choices())]
    totals = network.evaluate(choices)
    freed = [cost.bram18 - m.cost(choice[0], "off_chip").bram18
             for m, choice, cost in zip(network.nodes, choices, totals.costs) if m.has_weights]
    assert freed == [-15, -15, -15, 17] and totals.bram18 <= 17 / explore_pass.WEIGHT_SHARE
    limits = {"dsp": 1e9, "bram18": totals.bram18, "uram": 0.0, "lut": 1e9, "ff": 1e9}
    assert explore_pass._streams_faster(network, (choices, totals), 0, limits)
    assert not explore_pass._streams_faster(network, (choices, totals), totals.ii, limits)  # the fastest already


def test_off_chip_weights_option_is_checked():
    with pytest.raises(DfccError, match="off-chip-weights must be auto, true or false, got 'sometimes'"):
        explore(Network.from_module(parse_module(_conv(channels=4))), load_platform("zcu102"), progress=False,
                off_chip_weights="sometimes")


def _skips(bram18: int, tmp_path, short_kernel: int = 3):
    """lit_tests/spill/evict_skips.mlir (a 3x3, or `short_kernel`, and a 15x15 conv beside skip connections,
    128 x 128 x 4) with 16-bit activations, and a board of `bram18` BRAM18 and 34 Gbps of DRAM. At the IR's folding
    add_long's FIFO (3,680 beats) takes 4 BRAM18, more than its ring's two 16-bit m_axi adapters (1 each): it pays."""
    text = "\n".join(line for line in (LIT / "evict_skips.mlir").read_text().splitlines() if not line.startswith("//"))
    k = short_kernel
    text = text.replace("4x4x3x3xf32", f"4x4x{k}x{k}xf32").replace(
        "kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>",
        f"kernel = array<i64: {k}, {k}>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, "
        f"pad = array<i64: {k // 2}, {k // 2}, {k // 2}, {k // 2}>")
    module = parse_module(text)
    Quantize(weight_bits=8, act_bits=16).apply(make_context(), module)
    board = tmp_path / f"bram{bram18}.json"
    board.write_text(json.dumps({"name": f"bram{bram18}", "part": "xc7z020", "dsp": 220, "bram18": bram18, "uram": 0,
                                 "lut": 53200, "ff": 106400, "clock_mhz": 200, "bandwidth_gbps": 34.112}))
    return module, str(board)


def _rings(module) -> list[str]:
    return [op.node_name.data for op in module.walk() if isinstance(op, DdrFifoOp)]


def test_auto_evicts_the_skip_without_which_nothing_fits(tmp_path):
    """On 6 BRAM18 (budget 5) the design does not fit with both skip FIFOs on chip; auto evicts add_long's to a
    DRAM ring, as evict-skips=true does, and finds true's design. Written into the IR, it estimates to the II
    explore reports, and its C simulation, the ring's writer and reader over the testbench's DRAM, equals the
    reference."""
    module, board = _skips(6, tmp_path)
    platform = load_platform(board)
    with pytest.raises(DfccError, match="does not fit on bram6"):
        explore_module(module.clone(), platform, progress=False, evict_skips=False)
    evicted = module.clone()
    _, _, forced = explore_module(evicted, platform, progress=False, evict_skips=True)
    network, choices, auto = explore_module(module, platform, progress=False)
    assert _rings(module) == _rings(evicted) == ["add_long_ddr1"]
    assert (auto.ii, auto.bram18, auto.lut) == (forced.ii, forced.bram18, forced.lut)
    apply_design(module, network, choices, auto, board)
    estimate = Estimate.of_module(module).totals
    assert (estimate.ii, estimate.bram18) == (auto.ii, auto.bram18) and estimate.bram18 <= 0.9 * 6
    x = np.random.default_rng(5).standard_normal((1, 4, 128, 128)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded=False)).max() > 0


def test_auto_costs_again_only_the_nodes_eviction_changed(tmp_path, monkeypatch):
    """evict-skips=auto searches the graph as it came, then with add_long's skip evicted (nothing fits on 6 BRAM18
    without): the second search costs only the ring's points (every other node's cost key is unchanged, its points
    are the first search's; with tile memories in LUTRAM, where BRAM binds, points of their own), and finds the design of a search of the evicted graph alone (evict-skips=true)."""
    module, board = _skips(6, tmp_path)
    platform = load_platform(board)
    _, forced_choices, forced = explore_module(module.clone(), platform, progress=False, evict_skips=True)
    costed = []

    def spy(model, platform, product, off_chip=False, *rest, lutram=False):
        costed.append((model.op.node_name.data, off_chip, product, lutram))
        return node_space(model, platform, product, off_chip, *rest, lutram=lutram)

    node_space = explore_pass._node_space
    monkeypatch.setattr(explore_pass, "_node_space", spy)
    _, choices, auto = explore_module(module, platform, progress=False)
    assert _rings(module) == ["add_long_ddr1"]
    rule_placed = [point for point in costed if not point[3]]  # LUTRAM tile memories: a later search's own points
    assert len(costed) == len(set(costed)) and {name for name, *_ in rule_placed[-2:]} == {"add_long_ddr1"}
    assert choices == forced_choices and auto.ii == forced.ii


def test_auto_keeps_skips_on_chip_where_that_is_faster(tmp_path):
    """On 12 BRAM18 both FIFOs fit on chip (6 BRAM18 of the design's 9) and the design is faster than with
    add_long's ring (whose adapters' LUTs the folding then lacks): auto keeps false's design, no ring."""
    module, board = _skips(12, tmp_path)
    platform = load_platform(board)
    _, _, kept = explore_module(module.clone(), platform, progress=False, evict_skips=False)
    _, _, forced = explore_module(module.clone(), platform, progress=False, evict_skips=True)
    _, _, auto = explore_module(module, platform, progress=False)
    assert forced.ii > kept.ii and kept.fifo_bram18 == 6
    assert auto.ii == kept.ii and _rings(module) == []


def test_auto_searches_the_kept_graph_further_only_where_its_design_stands(tmp_path, monkeypatch):
    """On 16 BRAM18 the skip FIFOs bind the first design of the graph as it came (weights in DRAM allowed: nothing
    fits without), so the graph with add_long's skip evicted is searched too, and is slower: only then, its design
    standing, the kept graph's LUTRAM search runs, going on from its first search (no search runs twice), and
    auto's design is false's."""
    module, board = _skips(16, tmp_path)
    platform = load_platform(board)
    _, kept_choices, kept = explore_module(module.clone(), platform, progress=False, evict_skips=False)
    searched = []

    def spy(network, *args, **options):
        design = search(network, *args, **options)
        searched.append((len(network.nodes), args[4], options.get("lutram", False), design[0][1].ii))
        return design

    search = explore_pass._search_points
    monkeypatch.setattr(explore_pass, "_search_points", spy)
    _, choices, auto = explore_module(module, platform, progress=False)
    assert searched == [(8, True, False, 606208), (9, True, False, 753664), (8, True, True, 606208)]
    assert _rings(module) == [] and choices == kept_choices and auto.ii == kept.ii


@pytest.mark.parametrize("per_block, kept", [(None, {("add_long", 1)}), (700_000, {("add_long", 1)}), (699_000, set())])
def test_a_design_keeps_only_the_rings_worth_their_traffic(per_block, kept, monkeypatch):
    """A design of the evict-skips model with add_long's skip in a DRAM ring (as the IR's folding chose): at its
    foldings the skip's FIFO would take 5 BRAM18, the ring 2, for 2,097,152 DRAM bits. Priced at what the design's
    streamed weights take per BRAM18 (passes/spill.py streamed_bits_per_block), the ring is kept from 699,051 bits up
    (3 BRAM18 freed) and dropped below; a design streaming no weights (this one) keeps every ring."""
    module = parse_module("\n".join(line for line in (LIT / "evict_skips.mlir").read_text().splitlines()
                                    if not line.startswith("//")))
    design = module.clone()
    evict_edges(design, {("add_long", 1)})
    network = Network.from_module(design)
    choices = network.ir_choices()
    if per_block is not None:
        monkeypatch.setattr(explore_pass, "streamed_bits_per_block", lambda *design: per_block)
    rings = ring_edges(design)
    assert explore_pass._rings_worth_keeping(module, rings, network, choices, network.evaluate(choices)) == kept


@pytest.mark.parametrize("bram18, rings", [(17, ["add_long_ddr1"]), (20, ["add_short_ddr1", "add_long_ddr1"])])
def test_auto_keeps_only_the_rings_worth_their_traffic_at_the_design(bram18, rings, tmp_path, monkeypatch):
    """The evict-skips model with an 11x11 conv beside the short skip: at the IR's folding both skips' FIFOs (3 and 6
    BRAM18) take more of the budget than rings (2 BRAM18 and 468 LUT each), and auto's design evicts both. With a
    BRAM18 priced at 1,000,000 DRAM bits (as if that design streamed weights so: patched), add_short's ring is not
    worth its 2,097,152 bits at the design's foldings, add_long's is: the graph with add_long's ring alone is explored
    too. On 17 BRAM18 it is faster (the first design's rings' LUTs bound it) and is kept, written into the module
    (its estimate is the II explore reports); on 20 BRAM18 it is slower and both rings stay."""
    module, board = _skips(bram18, tmp_path, short_kernel=11)
    monkeypatch.setattr(explore_pass, "streamed_bits_per_block", lambda *design: 1_000_000)
    first = []
    ordered = explore_pass._ordered_design

    def spy(graph, *args):
        design = ordered(graph, *args)
        first.append((_rings(graph), design[2].ii))
        return design

    monkeypatch.setattr(explore_pass, "_ordered_design", spy)
    network, choices, totals = explore_module(module, load_platform(board), progress=False)
    assert first[0][0] == ["add_short_ddr1", "add_long_ddr1"] and first[1][0] == ["add_long_ddr1"]
    assert _rings(module) == rings and totals.ii == min(ii for _, ii in first) < max(ii for _, ii in first)
    apply_design(module, network, choices, totals, board)
    assert Estimate.of_module(module).totals.ii == totals.ii


def test_evict_skips_option_is_checked():
    with pytest.raises(DfccError, match="evict-skips must be auto, true or false, got 'often'"):
        explore_module(_quantized(_conv(channels=4)), load_platform("zcu102"), progress=False, evict_skips="often")


def test_traffic_budget_is_at_the_ii_the_design_reaches(small_board):
    """The off-chip budget is 0.9 x 20 Gbps / 100 MHz = 180 bits a cycle of the II a design reaches, not of the
    target it was searched at: a design ten times faster than its target may move a tenth of the bits."""
    network = Network.from_module(_quantized(_conv()))
    board = load_platform(small_board)
    search = explore_pass._Search(network, board, 0.9, 0, off_chip=True)
    choices = [(c.choices[0][0], "off_chip" if network.nodes[n].has_weights else "bram", "dsp", 100, *c.choices[0][4:])
               for n, c in enumerate(search.spaces)]
    totals = search.evaluate(choices)
    assert totals.offchip_bits > 0
    search.set_target(10 * totals.ii)
    assert search.over(totals)[-1] == pytest.approx(totals.offchip_bits / (180 * totals.ii))
    for off_chip in (True, "auto"):
        _, design = explore(network, board, progress=False, off_chip_weights=off_chip)
        assert design.offchip_bits <= 180 * design.ii
