"""Off-chip spilling: the AutoWS / SMOF formulas on hand-computed cases, the spill pass and explore's
choices, the evicted skip connection's semantics (identity, float and fixed point), and weights streamed
from DRAM in HLS (word order, DRAM layout, weight image, C simulation)."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import StringAttr
from xdsl.rewriter import Rewriter

from dfcc.analyses.network import DEFAULT_FIFO_DEPTH, RESOURCES, Network, budget, fifo_memory
from dfcc.analyses.reference import run_reference
from dfcc.backends.estimate.report import Estimate
from dfcc.backends.hls.emit import emit_design
from dfcc.backends.hls.project import write_project
from dfcc.dialects.resources import elements_array
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.logic import Logic
from dfcc.hardware.offchip import (
    DDR_BURST, DRAM_LATENCY_CYCLES, MAXI_OUTSTANDING, axi_data_bits, bandwidth_roof_fps, evicted_stream_bits, gbps,
    maxi_adapter, reread_rows, split_depth, weight_reader_adapters,
)
from dfcc.hardware.platforms import load_platform
from dfcc.kinds import ConvOp, DdrFifoOp, ForkOp, LinearOp, WeightsOp
from dfcc.kinds.cost import describe
from dfcc.kinds.ddr_fifo import ring_adapters
from dfcc.kinds.window import LINE_BUFFER_ATTR
from dfcc.kinds.hls_offchip import dram_layout, mac_words, streamed_words
from dfcc.passes.explore import Explore
from dfcc.passes.quantize import Quantize
from dfcc.passes.spill import (
    evict, evict_edges, evict_paying_skips, fastest_ii, place_weights, ring_edges, skip_fifos, skips_worth_evicting,
    spill, streamed_bits_per_block,
)
from tests.autows_layer import CHECK_LAYER
from tests.csim_check import csim_equals_reference

LIT = Path(__file__).resolve().parent.parent / "lit_tests" / "spill"


def _body(path: Path) -> str:
    return "\n".join(line for line in path.read_text().splitlines() if not line.startswith("//"))


def _direct(text: str) -> str:
    """The ddr_fifo lit input with its skip connection kept on chip."""
    return "\n".join(line for line in text.splitlines() if "dataflow.ddr_fifo" not in line).replace("%c, %r", "%c, %f2")


def test_split_and_eviction_formulas():
    assert split_depth(2048, 50) == (1024, 1024)
    assert split_depth(2048, 70) == (1433, 615)  # 70% of 2048 words rounds down to 1433 on chip
    assert evicted_stream_bits(8192, 16) == 262_144  # written once and read once


def test_bandwidth_roof_by_hand():
    """ResNet-50's 25,557,032 weights at 16 bits, read once an inference (409 Mbit), on ZCU102's 153.6 Gbit/s:
    at most 375.7 inferences/s; nothing moved, no roof."""
    assert bandwidth_roof_fps(25_557_032 * 16, 153.6) == pytest.approx(375.63, abs=0.01)
    assert bandwidth_roof_fps(0, 153.6) == float("inf")


def test_maxi_adapter_by_hand():
    """UG1399's m_axi adapter at Vitis's defaults: a data FIFO of 16 outstanding x 16-beat bursts = 256
    beats, a request FIFO of 16 x (64-bit address + 8-bit length) = 1152 bits = 18 LUTRAM LUTs, and the
    analytical logic model's 200 + 1 per data bit."""
    assert axi_data_bits(48) == 64 and axi_data_bits(512) == 512 and axi_data_bits(5) == 8
    # 512 x 256 bits: 15 BRAM18 at 36 x 512 (29 at 18 x 1024)
    assert maxi_adapter(512) == (15, Logic(200 + 512 + 18, 200 + 512))
    # 64 x 256 bits: 2 BRAM18 at 36 x 512
    assert maxi_adapter(64) == (2, Logic(200 + 64 + 18, 200 + 64))
    # 768-bit words of 4-bit weights: dram_layout's 3 ports of 256 bits, 8 BRAM18 each (256 / 36 -> 8)
    assert weight_reader_adapters(768, 4) == (24, Logic(3 * (200 + 256 + 18), 3 * (200 + 256)))
    # a DRAM ring of 4 lanes x 16 bits: a writer's and a reader's 64-bit port
    assert ring_adapters(4, 16) == (4, Logic(2 * 282, 2 * 264))


def test_half_spilled_check_layer():
    """AutoWS's check: spilling half of the layer's 2048 x 4608-bit weight memory takes it from 526 to
    398 BRAM18 (1024 words on chip: 256; one-BRAM-deep stream buffer: 128). AutoWS shares one DMA among
    all layers; dfcc's reader has its own ports: 9 of 512 bits (32 weights each), whose m_axi adapters
    buffer 16 bursts of 16 beats, 512 x 256 bits: 15 BRAM18 each (36-bit aspect), 135 in all. Those
    buffers cover the DRAM latency, so the FIFO from the reader to the MAC is 2 words deep, in LUTs
    (2 x 4608 bits / 64 = 144, as the one from the whole memory's ROM to the MAC: weights.h weight_rom), not
    AutoWS's BRAM buffer: 398 - 128 + 135."""
    (conv,) = [op for op in parse_module(CHECK_LAYER).walk() if isinstance(op, ConvOp)]
    model = describe(conv)
    folding = (2, 16, 1, 9)
    whole, half = model.cost(folding), model.cost(folding, "bram", "dsp", 50)
    assert (whole.bram18, whole.offchip_bits) == (526, 0)
    assert half.bram18 == 398 - 128 + 9 * 15
    assert half.lut - whole.lut == 9 * (200 + 512 + 18)
    # 1024 words x 4608 bits re-read for each of the 196 output pixels
    assert half.offchip_bits == 1024 * 4608 * 196 == 924_844_032
    # per cycle of weight reads (2048 words per pixel, 196 pixels) that is 2304 bits, 460.8 Gbit/s at 200 MHz
    # (AutoWS's formula off*width/(on + 512) counts 3072: it fetches the whole spilled part while the
    # on-chip part runs; dfcc costs the average rate, the spilled words spread among the on-chip ones)
    assert half.offchip_bits / (2048 * 196) == 2304
    assert gbps(2304, 200) == pytest.approx(460.8)
    assert model.cost(folding, "uram", "dsp", 50).uram == 64 * 1  # 4608/72 = 64 URAMs of 4096 words
    assert model.cost(folding, "off_chip").offchip_bits == 2048 * 4608 * 196


@pytest.mark.parametrize("bandwidth, placed", [(1e12, 68), (1e9, None)])
def test_place_weights_keeps_the_most_that_fits(bandwidth, placed):
    """The 512 -> 512 check layer at (2, 16, 1, 9): 8192 x 4608-bit weights in 2048 BRAM18 (128 per 512
    words), line and window buffers 22. Streaming part of them adds the m_axi adapters of 9 512-bit ports
    (135; the reader's FIFO to the MAC is in LUTs). Within 0.9 x 1824 BRAM18 at most 11 x 512 words stay
    on chip (11 x 128 + 135 + 22 = 1565; 12 would be 1693): 68% (5570 words; 69% would be 5652, a 12th
    block). Streaming the other 2622 words x 4608 bits for each of 196 pixels takes 2.37 Gbit per image:
    with a 1 Gbit budget nothing fits."""
    module = parse_module(CHECK_LAYER.replace("256", "512"))
    network = Network.from_module(module)
    (n,) = [i for i, m in enumerate(network.nodes) if m.has_weights]
    choices = network.ir_choices()
    choices[n] = ((2, 16, 1, 9, 1), "bram", "dsp", 100, choices[n][4], None)
    totals = network.evaluate(choices)
    assert totals.costs[n].bram18 == 2048 + 22
    zcu102 = load_platform("zcu102")
    limits = {k: 0.9 * getattr(zcu102, k) for k in RESOURCES} | {"offchip_bits": bandwidth}
    found = place_weights(network, choices, totals, limits, zcu102)
    if placed is None:
        assert found is None
        return
    assert found[0][n] == ((2, 16, 1, 9, 1), "bram", "dsp", placed, choices[n][4], None)
    assert found[1].costs[n].bram18 == 11 * 128 + 135 + 22
    assert found[1].offchip_bits - totals.offchip_bits == (8192 - 5570) * 4608 * 196


def test_spill_pass_fits_and_keeps_the_numbers():
    module = parse_module(_body(LIT / "spill.mlir"))
    x = np.random.default_rng(0).standard_normal((1, 512, 4, 4)).astype(np.float32)
    before = run_reference(module, [x])[0]
    zcu102 = load_platform("zcu102")
    totals = spill(module, zcu102)
    assert totals.bram18 <= 0.9 * zcu102.bram18
    assert any(isinstance(op, DdrFifoOp) for op in module.walk())
    np.testing.assert_array_equal(run_reference(module, [x])[0], before)


def test_spill_keeps_the_fifo_depths_in_the_ir():
    """A skip FIFO fifo sizing made 300,000 beats deep (16-bit words: 293 BRAM18) stays that deep, and spill
    counts it: 60% of the conv's 2.36 M x 16-bit weights on chip (1383 BRAM18; 1407 with its reader's m_axi
    adapter and its line and window buffers) plus the FIFO would exceed 0.9 x 1824, so 50% stay."""
    module = parse_module(_body(LIT / "spill.mlir"))
    (fork,) = [op for op in module.walk() if isinstance(op, ForkOp)]
    Rewriter.replace_value_with_new_type(fork.results[1], fork.results[1].type.with_depth(300_000))
    zcu102 = load_platform("zcu102")
    totals = spill(module, zcu102, skips=False, line_buffers=False)
    (fork,) = [op for op in module.walk() if isinstance(op, ForkOp)]
    (conv,) = [op for op in module.walk() if isinstance(op, ConvOp)]
    assert fork.results[1].type.depth.data == 300_000
    assert conv.on_chip_percent() == 50
    assert totals.fifo_bram18 >= fifo_memory(300_000, 16, 1)[0] == 293
    assert Estimate.of_module(module).totals.bram18 <= 0.9 * zcu102.bram18


def test_evicted_skip_is_bit_exact_in_fixed_point():
    module = parse_module(_body(LIT / "ddr_fifo.mlir"))
    x = np.random.default_rng(1).standard_normal((1, 4, 8, 8)).astype(np.float32)
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), module)
    direct = parse_module(_direct(_body(LIT / "ddr_fifo.mlir")))
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), direct)
    np.testing.assert_array_equal(run_reference(module, [x])[0], run_reference(direct, [x])[0])


def test_explore_spills_part_of_a_memory_within_the_bandwidth():
    """A 1024 -> 2048 linear layer over 14x14 rows has 33.6 Mbit of 16-bit weights, a ZCU102 30 Mbit of BRAM
    at 90%: streaming them all for every row (6.6 Gbit per image) would make the DRAM the bottleneck, so
    explore keeps most on chip and streams the rest (a conv would take weight-stationary tiles instead:
    tests/test_conv_tiled.py)."""
    module = parse_module(_body(LIT / "explore_placement.mlir"))
    Explore(platform="zcu102", off_chip_weights=True).apply(make_context(), module)
    (fc,) = [op for op in module.walk() if isinstance(op, LinearOp)]
    assert 0 < fc.on_chip_percent() < 100
    zcu102 = load_platform("zcu102")
    network = Network.from_module(module)
    totals = network.evaluate(network.ir_choices(), respect_ir_depths=True,
                              max_bits_per_cycle=zcu102.bandwidth_bits_per_cycle)
    assert totals.bram18 <= 0.9 * zcu102.bram18
    assert totals.offchip_bits / totals.ii <= zcu102.bandwidth_bits_per_cycle
    assert not totals.bandwidth_bound


def test_evicting_a_skip_deeper_in_the_ir():
    """A skip stream fifo sizing (or the lowering) made deeper than the default moves to DRAM all the same: its
    on-chip depth goes back to the default and the join reads the ring's output."""
    module = parse_module(_body(LIT / "spill.mlir"))
    (fork,) = [op for op in module.walk() if isinstance(op, ForkOp)]
    Rewriter.replace_value_with_new_type(fork.results[1], fork.results[1].type.with_depth(300_000))
    (add,) = [op for op in module.walk() if getattr(op, "node_name", None) and op.node_name.data == "add"]
    ring = evict(fork.results[1], add)
    assert fork.results[1].type.depth.data == DEFAULT_FIFO_DEPTH
    assert ring.input is fork.results[1] and add.operands[1] is ring.output
    module.verify()


def test_skip_eviction_pays_only_above_the_ring_adapters():
    """The lit model of two skips at the IR's folding (16-bit words, one a beat): add_short's FIFO (585 beats,
    1 BRAM18; 520 simulated) is cheaper than a ring's two 16-bit m_axi adapters (1 BRAM18 each), add_long's (4,164
    beats, 5 BRAM18; 4,112 simulated) is not. Only add_long moves, and the values do not change."""
    module = parse_module(_body(LIT / "evict_skips.mlir"))
    network = Network.from_module(module)
    fifos = {network.nodes[network.edges[f.edge].consumer].name: f
             for f in skip_fifos(network, network.evaluate(network.ir_choices()))}
    assert {k: (f.bram18, f.ring_bram18, f.pays) for k, f in fifos.items()} == {
        "add_short": (1, 2, False), "add_long": (5, 2, True)}
    x = np.random.default_rng(3).standard_normal((1, 4, 128, 128)).astype(np.float32)
    before = run_reference(module, [x])[0]
    assert evict_paying_skips(module, load_platform("zedboard"), 0.9) == 1
    (ring,) = [op for op in module.walk() if isinstance(op, DdrFifoOp)]
    assert ring.node_name.data == "add_long_ddr1"
    np.testing.assert_array_equal(run_reference(module, [x])[0], before)


def test_skip_eviction_within_a_budget_counts_the_rings_logic():
    """add_long's FIFO (5 BRAM18) against its ring (2 BRAM18, adapters of 2 x 234 LUT): on 90% of a ZedBoard
    5 / 226.8 = 0.0220 of the budget against 2 / 226.8 + 468 / 47,880 = 0.0186, the ring pays; with half the
    LUTs 0.0284, it costs more; by BRAM alone (`pays`) it always pays."""
    module = parse_module(_body(LIT / "evict_skips.mlir"))
    network = Network.from_module(module)
    (fifo,) = [f for f in skip_fifos(network, network.evaluate(network.ir_choices())) if f.pays]
    assert (fifo.bram18, fifo.lut, fifo.ring_bram18, fifo.ring_lut) == (5, 0, 2, 468)
    zedboard = load_platform("zedboard")
    assert fifo.pays_within(budget(zedboard, 0.9))
    halved = replace(zedboard, lut=zedboard.lut // 2)
    assert not fifo.pays_within(budget(halved, 0.9))
    assert evict_paying_skips(module, halved, 0.9, logic=True) == 0


@pytest.mark.parametrize("memory, on_chip, per_block", [("off_chip", 100, 3_211_264), ("bram", 25, 3_211_264),
                                                        ("bram", 100, 0)])
def test_streamed_weights_price_a_bram18_in_dram_bits(memory, on_chip, per_block):
    """AutoWS's check layer at the IR's folding (one 16-bit weight a word, 589,824 words) reads its weights 196 times
    an inference (once per output pixel): a BRAM18 (1,024 such words) of them on chip saves 196 x 1,024 x 16 DRAM bits
    an inference, with the memory whole in DRAM (1,849,688,064 bits, 576 BRAM18) or 75 % of it (442,368 words: 432
    BRAM18); with every weight on chip nothing streams."""
    network = Network.from_module(parse_module(CHECK_LAYER))
    choices = [(choice[0], memory, choice[2], on_chip, *choice[4:]) if model.has_weights else choice
               for model, choice in zip(network.nodes, network.ir_choices())]
    assert streamed_bits_per_block(network, choices, network.evaluate(choices)) == per_block


@pytest.mark.parametrize("per_block, worth", [(700_000, ["add_long"]), (699_000, [])])
def test_a_paying_skip_is_worth_its_ring_only_below_the_weights_price(per_block, worth):
    """At the IR's folding add_long's FIFO (5 BRAM18) pays for its ring (2 BRAM18), so evict_paying_skips moves it;
    but its ring adds 2 x 65,536 x 16 = 2,097,152 DRAM bits for 3 BRAM18, 699,051 bits each: a design whose streamed
    weights save fewer bits per BRAM18 (the BRAM's other use) does better with the skip on chip. add_short's FIFO
    (1 BRAM18) never pays. Evicted by name, the ring is the one evict_paying_skips puts there."""
    module = parse_module(_body(LIT / "evict_skips.mlir"))
    network = Network.from_module(module)
    fifos = skips_worth_evicting(network, network.evaluate(network.ir_choices()), per_block)
    assert [network.nodes[network.edges[f.edge].consumer].name for f in fifos] == worth
    chosen = module.clone()
    assert evict_paying_skips(chosen, load_platform("zedboard"), 0.9) == 1
    assert ring_edges(chosen) == {("add_long", 1)}
    assert evict_edges(module, {("add_long", 1)}) == 1 and ring_edges(module) == {("add_long", 1)}
    assert str(module) == str(chosen)


@pytest.mark.parametrize("margin, evicted", [(1.01, 1), (0.99, 0)])
def test_skip_eviction_needs_the_bandwidth(margin, evicted):
    """add_long's ring moves 2 x 65536 words x 16 bits, the graph's ports 2 x 65536 x 16: it is evicted only
    if 90% of the board's bandwidth carries both at the fastest II the network could reach."""
    module = parse_module(_body(LIT / "evict_skips.mlir"))
    network = Network.from_module(module)
    zedboard = load_platform("zedboard")
    bits = 2 * 2 * 65536 * 16
    per_cycle = bits / (0.9 * fastest_ii(network, zedboard, network.ir_choices()))
    board = replace(zedboard, bandwidth_gbps=gbps(per_cycle * margin, zedboard.clock_mhz))
    assert evict_paying_skips(module, board, 0.9) == evicted


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_evicted_skips_csim_bit_exact(bounded):
    """The 3-level UNet, 8-bit, with every skip connection through a DRAM ring buffer (writer and reader
    stages over m_axi ports; the testbench's arrays are the DRAM): C simulation equals the reference."""
    pytest.importorskip("hls4ml")
    pytest.importorskip("torch_mlir.fx")
    from dfcc.examples.models import MODELS
    from dfcc.frontends.torch import import_module
    from dfcc.passes.lower_to_dataflow import LowerToDataflow

    spec = MODELS["unet"]
    module = import_module(spec.build(), *spec.inputs())
    ctx = make_context()
    LowerToDataflow().apply(ctx, module)
    Quantize(weight_bits=8, act_bits=8).apply(ctx, module)
    network = Network.from_module(module)
    for f in skip_fifos(network, network.evaluate(network.ir_choices())):
        evict(network.edges[f.edge].value, network.nodes[network.edges[f.edge].consumer].op)
    Explore(platform="zcu104").apply(ctx, module)
    assert sum(isinstance(op, DdrFifoOp) for op in module.walk()) == 2
    csim_equals_reference(module, [x.numpy() for x in spec.inputs(seed=1)], bounded)


def _offchip_module():
    """The lit model of streamed weights (conv0, conv2 and fc all off chip, conv1 half), 4-bit weights."""
    module = parse_module(_body(LIT / "weights_offchip.mlir"))
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    return module


def test_dram_layout_and_latency_cover():
    """512-bit beats: 128 single 4-bit weights (an AXI beat is at least 8 bits), 14 words of 9 x 4 bits (504
    bits used); a 16-bit word (4 x 4 bits, or one 16-bit weight) in a 16-bit beat, which moves as few bits as 32
    of them packed in a 512-bit beat, through an adapter of 1 BRAM18 (16 x 256 bits) instead of 15 (512 x 256);
    256 x 4 = 1024 bits span two 512-bit ports; 192 x 4 = 768 bits (ResNet-18's conv16 as explore
    picks it) three 256-bit ports, not two 512-bit ones that would move a third more than the cost model
    counts; 144 x 4 = 576 bits nine 64-bit ports (two 512-bit ones would move 1024)."""
    assert dram_layout(4, 4) == (16, 1, 4, 1, 1)
    assert dram_layout(1, 16) == (16, 1, 1, 1, 1)
    assert weight_reader_adapters(16, 16)[0] == 1 and maxi_adapter(512)[0] == 15
    assert dram_layout(1, 4) == (512, 1, 1, 128, 1)
    assert dram_layout(9, 4) == (512, 1, 9, 14, 1)
    assert dram_layout(256, 4) == (512, 2, 128, 1, 1)
    assert dram_layout(192, 4) == (256, 3, 64, 1, 1)
    assert dram_layout(144, 4) == (64, 9, 16, 1, 1)
    # a MAC spending 9 cycles on each word (a tile of 9 pixels) takes those 576 bits in 9 beats of one 64-bit
    # port; at 8 cycles it cannot (9 beats)
    assert dram_layout(144, 4, 9) == (64, 1, 16, 1, 9)
    assert dram_layout(144, 4, 8) == (64, 9, 16, 1, 1)
    # ResNet-18's 3x3 convs at 8 output lanes, all nine positions a cycle: 72 16-bit weights a word, 18 beats
    # of 64 bits within a tile of 28 pixels; an adapter of 64 x 256 bits (2 BRAM18) instead of nine of 128 (36)
    assert dram_layout(72, 16, 28) == (64, 1, 4, 1, 18)
    assert weight_reader_adapters(1152, 16, 28)[0] == 2 and weight_reader_adapters(1152, 16)[0] == 9 * 4
    # a 64-cycle DRAM latency at a beat a cycle has 64 beats in flight: an m_axi adapter's 16 outstanding
    # 16-beat bursts (256 beats) cover it four times, so the reader's FIFO to the MAC needs no depth of its own
    assert MAXI_OUTSTANDING * DDR_BURST == 256 >= 4 * DRAM_LATENCY_CYCLES


def test_streamed_words_spread_evenly():
    """3 of 8 words streamed: floor((d+1)*3/8) steps at d = 2, 5, 7; all or none at the ends."""
    assert np.flatnonzero(streamed_words(8, 3)).tolist() == [2, 5, 7]
    assert streamed_words(5, 5).all() and not streamed_words(5, 0).any()
    assert streamed_words(9216, 8295).sum() == 8295


def test_mac_words_follow_the_kernel_order():
    """A 2-group conv, 3x3 kernel, fine 3, one lane in and out: each word is 3 kernel positions of one
    filter; per output pixel filter 0 (group 0) reads its channel's 9 weights in 3 words, then filter 1."""
    w = np.arange(4 * 2 * 3 * 3).reshape(4, 2, 3, 3)
    words = mac_words(w, channels=4, groups=2, lanes_in=1, lanes_out=1, fine=3)
    assert words.shape == (24, 3)
    assert words[:3].tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]  # filter 0, its group's channel 0
    assert words[3:6].tolist() == [[18, 19, 20], [21, 22, 23], [24, 25, 26]]  # filter 1, channel 0
    assert words[6:9].tolist() == [[9, 10, 11], [12, 13, 14], [15, 16, 17]]  # input beat 1: filter 0, channel 1
    # a linear layer (F x C) with 2 input and 2 output lanes: word (cb, fo) = w[2fo:2fo+2, 2cb:2cb+2], row-major
    lin = np.arange(4 * 4).reshape(4, 4)
    assert mac_words(lin, channels=4, groups=1, lanes_in=2, lanes_out=2, fine=1)[:2].tolist() == [[0, 1, 4, 5],
                                                                                                   [8, 9, 12, 13]]


def test_weight_image_holds_the_streamed_words(tmp_path):
    """A host reading only weights.json recovers every streamed weight from weights.bin."""
    module = _offchip_module()
    design = emit_design(module)
    write_project(design, tmp_path, tcl=False)
    layout = json.loads((tmp_path / "weights.json").read_text())
    image = (tmp_path / "weights.bin").read_bytes()
    weights = {op.node_name.data: np.asarray(elements_array(op.value)) for op in module.walk() if isinstance(op, WeightsOp)}
    decoded = {}
    for entry in layout["buffers"]:
        assert entry["offset"] % layout["alignment"] == 0
        data = np.frombuffer(image[entry["offset"]:entry["offset"] + entry["bytes"]], dtype=np.uint8)
        bits = np.unpackbits(data, bitorder="little").reshape(entry["beats"], entry["beat_bits"])
        lo, hi = entry["lanes"]
        per_beat, per_port, b = entry["words_per_beat"], entry["lanes_per_port"], entry["bits"]
        fields = bits[:, :per_beat * per_port * b].reshape(entry["beats"] * per_beat, per_port, b)
        codes = (fields * (1 << np.arange(b))).sum(axis=2)
        codes = np.where(codes >= 1 << (b - 1), codes - (1 << b), codes)[:entry["words_streamed"], :hi - lo]
        decoded.setdefault(entry["node"], []).append(codes * 2.0 ** -entry["frac_bits"])
    words = {node: np.concatenate(parts, axis=1) for node, parts in decoded.items()}
    assert sorted(words) == ["conv0", "conv1", "conv2", "fc"]
    assert np.array_equal(words["conv0"], mac_words(weights["w0"], channels=4, groups=1, lanes_in=2, lanes_out=2, fine=1))
    conv1 = mac_words(weights["w1"], channels=4, groups=2, lanes_in=1, lanes_out=1, fine=3)
    assert np.array_equal(words["conv1"], conv1[1::2])  # half of its 24 words streamed, spread: every second
    assert words["conv2"].shape == (3, 96)  # three ports of 32 lanes
    assert np.array_equal(words["conv2"], mac_words(weights["w3"], channels=4, groups=1, lanes_in=4, lanes_out=8, fine=3))
    assert np.array_equal(words["fc"].ravel(), weights["w2"].T.ravel())  # one weight a word, channel-major


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_streamed_weights_csim_bit_exact(bounded):
    """conv0, conv2 (three ports, three beats) and fc (several words a beat, two beats) read every weight from the
    testbench's DRAM arrays, conv1 half of its words (the other half from its ROM): C simulation equals
    the CPU reference, also with every FIFO at its depth."""
    module = _offchip_module()
    x = np.random.default_rng(4).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded)).max() > 0


def test_evicted_line_buffer_cost_by_hand():
    """A 3x3 conv (pad 1) on a 112 x 112 x 64 map of 16-bit words, one lane: its line buffer (2 rows x 114
    columns x 64 channels = 7296 words of 32 bits) takes 15 BRAM18 (36 x 512 aspect); in DRAM, the ring's two
    16-bit m_axi adapters take 1 each (256 beats x 16 bits), so 13 are saved. Traffic: the input written once
    (112 rows) and each output row's window rows read back: 112 x 3 - 2 (the padding rows) = 334 rows of
    112 x 64 words."""
    module = parse_module(CHECK_LAYER.replace("256x14x14", "64x112x112").replace("14x14x256", "112x112x64")
                          .replace("256x256x3x3", "64x64x3x3"))
    (conv,) = [op for op in module.walk() if isinstance(op, ConvOp)]
    folding = (1, 1, 1, 1, 1)
    on_chip = describe(conv).cost(folding)
    conv.attributes[LINE_BUFFER_ATTR] = StringAttr("off_chip")
    evicted = describe(conv).cost(folding)
    assert on_chip.bram18 - evicted.bram18 == 15 - 2
    assert reread_rows(112, 112, 3, 1, 1, 1) == 334
    assert evicted.offchip_bits - on_chip.offchip_bits == (112 + 334) * 112 * 64 * 16
    # the reader's Kr + 1 beats per input beat of each output row (112 x 64 beats a row) stay below the MACs'
    assert evicted.cycles == on_chip.cycles > 112 * 112 * 64 * 4


@pytest.mark.parametrize("bounded", [False, True], ids=["csim", "bounded-fifos"])
def test_evicted_line_buffer_csim_bit_exact(bounded):
    """The lit model's two convs (3x3 pad 1, and 3x3 stride 2 pad 1 after a pool) with their line buffers in
    DRAM rings (the testbench's arrays), 8-bit: C simulation equals the reference."""
    module = parse_module(_body(LIT / "line_buffer.mlir"))
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), module)
    x = np.random.default_rng(4).standard_normal((1, 4, 8, 8)).astype(np.float32)
    csim_equals_reference(module, [x], bounded)
