"""The estimate backend: per-node formulas on hand-computed IR cases, network totals, the CLI target."""

import json

import pytest
from xdsl.dialects.builtin import IntegerAttr, StringAttr, i64

from dfcc.analyses.network import Converter
from dfcc.analyses.schedules import Pipeline
from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate import Estimate, Network, describe, node_cost
from dfcc.driver.cli import main
from dfcc.errors import DfccError
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.cycles import windowed_stage_cycles
from dfcc.kinds import kind_of
from dfcc.kinds.conv import channel_folding, window_depth
from dfcc.kinds.map import map_kind


def _conv_module(c, f, k, hw, stride, pad, elem="f32", wfmt="", groups=1):
    ho = (hw + 2 * pad - k) // stride + 1
    return parse_module(f"""
func.func @main(%a: tensor<1x{c}x{hw}x{hw}xf32>) -> tensor<1x{f}x{ho}x{ho}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x{c}x{hw}x{hw}xf32>) -> !dataflow.stream<1x{hw}x{hw}x{c}x{elem}>
  %w = dataflow.weights {{name = "w", value = dense<0.5> : tensor<{f}x{c // groups}x{k}x{k}xf32>{wfmt}}} : tensor<{f}x{c // groups}x{k}x{k}xf32>
  %y = dataflow.conv %s, %w {{name = "conv", kernel = array<i64: {k}, {k}>, stride = array<i64: {stride}, {stride}>, dilation = array<i64: 1, 1>, pad = array<i64: {pad}, {pad}, {pad}, {pad}>, groups = {groups} : i64}} : (!dataflow.stream<1x{hw}x{hw}x{c}x{elem}>, tensor<{f}x{c // groups}x{k}x{k}xf32>) -> !dataflow.stream<1x{ho}x{ho}x{f}x{elem}>
  %t = dataflow.sink %y {{name = "out", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x{ho}x{ho}x{f}x{elem}>) -> tensor<1x{f}x{ho}x{ho}xf32>
  func.return %t : tensor<1x{f}x{ho}x{ho}xf32>
}}""")


def _node(module, name):
    return next(op for op in module.walk() if "name" in op.properties and op.properties["name"].data == name)


def _fold(op, **factors):
    for k, v in factors.items():
        op.properties[k] = IntegerAttr(v, i64)
    return op


# ---- HARDWARE_MODEL.md checks, through IR nodes

def test_resnet18_conv1_cycles():
    conv = _fold(_node(_conv_module(3, 64, 7, 224, 2, 3), "conv"), coarse_in=3, coarse_out=1, fine=49)
    # fpgaConvNet's compute term 112*112*64 = 802,816, plus the MAC's waits for the window generator
    # (7x7 stride-2 walk of 230x230, 64 cycles per window, depth-2 stream: stall gap + 2 - 192):
    # 111 row changes of 2*230 - 222 = 238 pixels (48 each) and the 1,620-pixel wrap (1,428)
    assert node_cost(conv).cycles == 802_816 + 111 * 48 + 1_428


def test_conv_3x3_256_cycles_dsp_bram():
    conv = _fold(_node(_conv_module(256, 256, 3, 14, 1, 1), "conv"), coarse_in=2, coarse_out=16, fine=9)
    cost = node_cost(conv)
    # fpgaConvNet's 14*14*128*16 = 401,408 plus the MAC's waits for the window generator (128 beats
    # per pixel, 16 cycles per beat, depth-2 stream: stall gap + 2 - 48): 13 row changes of
    # 2*128 + 1 = 257 cycles (211 each) and the 34-pixel wrap, 34*128 + 1 = 4,353 (4,307)
    assert windowed_stage_cycles(14, 14, 16, 16, 1, 1, 128, 16, pads=(1, 1, 1, 1), span=(3, 3)) == \
        401_408 + 13 * 211 + 4_307
    # conv.h conv queues 32 windows instead (window_depth: 32 x 3*3*2*16 bits, 144 LUTs, for 0.8 % of the cycles
    # of 288 multipliers): no stall at the row changes (259 <= 33 * 16), 4,355 - 528 = 3,827 at the wrap
    assert window_depth(conv, channel_folding(conv.folding())) == 32
    assert cost.cycles == 401_408 + 3_827
    assert cost.dsp == 288
    # weights 4608 x 2048 = 512 BRAM18, line buffer 64 x 2048 = 8, window buffer 192 x 128 = 6
    assert cost.bram18 == 526
    assert (cost.weight_width, cost.weight_depth) == (4608, 2048)
    # URAM: two 2304-bit rows a word, one per port: ceil(2304/72) * ceil(4096/4096) = 32 (one 4608-bit row:
    # 64, half empty), and the weights leave BRAM; in either, the 2-word FIFO from weight_rom to the MAC:
    # 4608 * 2 / 64 = 144 LUTs
    in_uram = describe(conv).cost(describe(conv).ir_folding(), "uram")
    assert (in_uram.uram, in_uram.bram18, in_uram.lut) == (32, 14, cost.lut)
    assert cost.lut - describe(conv).evaluate(describe(conv).ir_folding()).lut == 144


def test_conv_weights_in_bram_are_one_packed_rom():
    # ResNet's 3x3 256 -> 256 at (ci = 1, co = 128, fine = 3): a word of 3*128 16-bit weights a cycle, 6144 bits
    # x 256*3*2 = 1536 words, ceil(6144/36) * ceil(1536/512) = 171 * 3 = 513 BRAM18 (the HLS's ROM of them,
    # tests/test_bram_weights.py; a bank per lane and kernel position would take 128*9 = 1152); line buffer
    # 2 rows x 16 bits x 256*16 = 32 x 4096 = 8 BRAM18 (at 4 x 4096), window buffer 3*2*16 x 256 = 96 x 256 = 3
    conv = _fold(_node(_conv_module(256, 256, 3, 14, 1, 1), "conv"), coarse_in=1, coarse_out=128, fine=3)
    cost = node_cost(conv)
    assert (cost.weight_width, cost.weight_depth) == (6144, 1536)
    assert cost.bram18 == 513 + 8 + 3


def test_conv_multipliers_in_luts():
    conv = _fold(_node(_conv_module(256, 256, 3, 14, 1, 1), "conv"), coarse_in=2, coarse_out=16, fine=9)
    cost = node_cost(conv)
    # 288 multipliers of 16 x 16 bits in fabric: 288 * 256 = 73,728 LUT, and no DSP left
    assert cost.mult_lut == 73_728
    lut = cost.with_mult("lut")
    assert lut.dsp == 0 and lut.lut == cost.lut + 73_728 and lut.cycles == cost.cycles
    conv.attributes["dataflow.mult_impl"] = StringAttr("lut")
    assert node_cost(conv) == lut


def test_conv_multipliers_split_between_dsps_and_luts():
    conv = _fold(_node(_conv_module(256, 256, 3, 14, 1, 1), "conv"), coarse_in=2, coarse_out=16, fine=9)
    cost = node_cost(conv)
    # 288 multipliers of 16 x 16 bits, one DSP each; a quarter on DSPs: lanes 0..71 on 72 DSPs, the other
    # 216 in fabric at 256 LUT each = 55,296 LUT
    split = cost.with_mult(25)
    assert cost.multipliers == 288 and cost.dsp == 288
    assert split.dsp == 72 and split.lut == cost.lut + 55_296 and split.cycles == cost.cycles
    conv.attributes["dataflow.mult_impl"] = StringAttr("lut")
    conv.attributes["dataflow.dsp_share"] = IntegerAttr(25, i64)
    assert node_cost(conv) == split


def test_split_of_packed_multipliers_rounds_up_to_whole_dsps():
    module = _conv_module(256, 256, 3, 14, 1, 1, elem="!dataflow.fixed<8, 3>", wfmt=", format = !dataflow.fixed<8, 1>")
    cost = node_cost(_fold(_node(module, "conv"), coarse_in=1, coarse_out=1, fine=3))
    # 3 multipliers of 8 x 8 bits pack two per DSP (WP486): 2 DSPs; half of them (lane 0) keep ceil(2 x 1 / 3) = 1,
    # the other 2 in fabric at 64 LUT each
    assert cost.dsp == 2 and cost.with_mult(50).dsp == 1 and cost.with_mult(50).lut == cost.lut + 128


def test_conv_8bit_formats_halve_dsp():
    module = _conv_module(256, 256, 3, 14, 1, 1, elem="!dataflow.fixed<8, 3>", wfmt=", format = !dataflow.fixed<8, 1>")
    conv = _fold(_node(module, "conv"), coarse_in=2, coarse_out=16, fine=9)
    cost = node_cost(conv)
    assert cost.dsp == 144
    assert cost.weight_width == 2304  # 8 bits * 288 multipliers


def test_conv_unfolded_and_depthwise():
    conv = _node(_conv_module(4, 8, 3, 8, 1, 1), "conv")
    cost = node_cost(conv)
    # compute 8*8 * 4 * 9 * 8 = 18432 > read 10*10*4 = 400
    assert cost.cycles == 18_432 and cost.dsp == 1
    dw = _fold(_node(_conv_module(8, 8, 3, 8, 1, 1, groups=8), "conv"), coarse_group=4, fine=3)
    # compute 8*8 * ceil(8/4) * ceil(9/3) * ceil(8/(1*8)) = 384; read 10*10*2 = 200
    # plus the wrap between inferences: 22 pixels of 2 beats, 45 cycles, less 3 beats of 3 cycles: 38 with
    # Vitis HLS's 2-deep window stream; conv.h conv queues 15 (window_depth), 16 beats of 3 cycles: none
    assert windowed_stage_cycles(8, 8, 10, 10, 1, 1, 2, 3, pads=(1, 1, 1, 1), span=(3, 3)) == 384 + 38
    assert window_depth(dw, channel_folding(dw.folding())) == 15
    assert node_cost(dw).cycles == 384
    assert node_cost(dw).dsp == 12
    model = describe(dw)
    assert model.factors == ("coarse_in", "coarse_out", "coarse_group", "fine", "pixels", "tile", "winograd")
    assert model.extents == (1, 1, 8, 9, 8, 64, 1)  # tile: the 8 x 8 output pixels; no Winograd for a grouped conv
    assert model.macs == 8 * 8 * 8 * 9


NET = """
func.func @main(%a: tensor<1x4x8x8xf32>) -> tensor<1x10xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x8x8xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %f:2 = dataflow.fork %s {name = "fork"} : (!dataflow.stream<1x8x8x4xf32>) -> (!dataflow.stream<1x8x8x4xf32>, !dataflow.stream<1x8x8x4xf32>)
  %w = dataflow.weights {name = "w", value = dense<0.5> : tensor<4x4x3x3xf32>} : tensor<4x4x3x3xf32>
  %c = dataflow.conv %f#0, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x8x8x4xf32>, tensor<4x4x3x3xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %j = dataflow.map %c, %f#1 {name = "add", coarse = 2 : i64} : !dataflow.stream<1x8x8x4xf32>, !dataflow.stream<1x8x8x4xf32> -> !dataflow.stream<1x8x8x4xf32> {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    dataflow.yield %z : f32
  }
  %p = dataflow.pool %j {name = "pool", kind = "max", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse = 2 : i64} : (!dataflow.stream<1x8x8x4xf32>) -> !dataflow.stream<1x4x4x4xf32>
  %r = dataflow.reshape %p {name = "flat"} : (!dataflow.stream<1x4x4x4xf32>) -> !dataflow.stream<1x64xf32>
  %lw = dataflow.weights {name = "lw", value = dense<0.5> : tensor<10x64xf32>} : tensor<10x64xf32>
  %l = dataflow.linear %r, %lw {name = "fc", coarse_in = 4 : i64, coarse_out = 2 : i64} : (!dataflow.stream<1x64xf32>, tensor<10x64xf32>) -> !dataflow.stream<1x10xf32>
  %t = dataflow.sink %l {name = "out", perm = array<i64: 0, 1>} : (!dataflow.stream<1x10xf32>) -> tensor<1x10xf32>
  func.return %t : tensor<1x10xf32>
}"""


def test_streaming_nodes():
    module = parse_module(NET)
    # element-wise add, 8*8*4/2 words; max pool 2x2/2 over the 8x8 input: 8*8*4/2
    assert node_cost(_node(module, "add")).cycles == 128
    assert node_cost(_node(module, "add")).dsp == 0
    assert node_cost(_node(module, "pool")).cycles == 128
    assert node_cost(_node(module, "fork")).cycles == 256
    assert node_cost(_node(module, "flat")).cycles == 64  # wires, but its stream moves one word per cycle at one lane
    fc = node_cost(_node(module, "fc"))
    # linear: ceil(64/4) * ceil(10/2) = 80 cycles, 8 multipliers; weights 128 x 80 bits -> 4 BRAM18 (36x512)
    assert (fc.cycles, fc.dsp, fc.bram18) == (80, 8, 4)
    assert node_cost(_node(module, "in")).cycles == 64  # one pixel per cycle


def test_network_totals_and_skip_fifo():
    network = Network.from_module(parse_module(NET))
    totals = network.evaluate(network.ir_choices())
    assert totals.ii == 9216  # the unfolded conv: 8*8 * 4 * 9 * 4
    assert network.nodes[totals.bottleneck].name == "conv"
    (edge, depth), = totals.fifo_depths.items()
    assert network.nodes[network.edges[edge].producer].name == "fork"
    # the fork writes each inference over the II (the inputs fed at the pipeline's pace: cycles 6 to 9,222); the add
    # reads from 1,523.6 (the conv's first window once it has row 0 and 2 pixels of row 1, 10 of 64 pixels, 1,440
    # cycles in, then its pipeline) to 10,560; the most held is at the add's start: 1,517.6 / 9,216 of the 256
    # words, 42.2 -> 43, plus SATAY's 64
    assert depth == 43 + 64 == 107
    assert totals.dsp == sum(c.dsp for c in totals.costs)
    # a chain apart from the skip, with lane converters conv (1) -> add (2), beside fork (1) -> add (2),
    # pool (2) -> flat (1, its coarse) and flat (1) -> fc (4); P2/P1 - 1 + 3 cycles deep: 4, 3 and 6
    assert [(c.lanes_in, c.lanes_out) for c in totals.converters] == [(1, 2), (1, 2), (2, 1), (1, 4)]
    assert totals.depth_cycles == sum(c.depth for c in totals.costs) + 4 + 3 + 6


def test_estimate_json_and_table(capsys, tmp_path):
    path = tmp_path / "net.mlir"
    path.write_text(NET)
    assert main([str(path), "-t", "estimate", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    for key in ("throughput_fps", "latency_s", "ii_cycles", "clock_mhz", "resources", "platform", "macs",
                "roofline_fps", "roofline_counts", "dsp_roofline_fps", "nodes"):
        assert key in data
    assert set(data["resources"]) == {"DSP", "BRAM18", "URAM", "LUT", "FF"}
    assert {"name", "DSP", "BRAM18", "URAM", "LUT", "FF", "clock_mhz", "bandwidth_gbps"} <= set(data["platform"])
    assert data["platform"]["name"] == "ZCU102" and "zcu102" in err
    assert data["ii_cycles"] == 9216 and data["throughput_fps"] == pytest.approx(200e6 / 9216)
    assert data["macs"] == 8 * 8 * 4 * 4 * 9 + 64 * 10
    node = next(n for n in data["nodes"] if n["name"] == "fc")
    assert node["folding"] == {"coarse_in": 4, "coarse_out": 2} and node["cycles"] == 80
    assert main([str(path), "-t", "estimate"]) == 0
    out, _ = capsys.readouterr()
    assert "total" in out and "conv" in out and "II 9,216" in out and "throughput" in out
    png = tmp_path / "p.png"
    jfile = tmp_path / "e.json"
    assert main([str(path), "-t", "estimate", "--json", "-o", str(jfile), "--plot", str(png)]) == 0
    assert json.loads(jfile.read_text())["ii_cycles"] == 9216
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_estimate_of_module_roofline():
    est = Estimate.of_module(parse_module(NET), "zedboard")
    macs = 8 * 8 * 4 * 4 * 9 + 640
    # DSPs alone: 220 DSP * 1 MAC (16-bit) * 200 MHz / MACs
    assert est.dsp_roofline_fps() == pytest.approx(220 * 200e6 / macs)
    # every multiplier: 220 DSPs, each MAC with a 32-bit accumulator's adder (32 LUTs), and the
    # 53,200 - 220 x 32 LUTs left as 16x16 fabric multipliers (256 LUTs) with their adders
    assert est.roofline_fps() == pytest.approx((220 + (53200 - 220 * 32) / (256 + 32)) * 200e6 / macs)


def test_off_chip_weights_and_bandwidth_limit():
    module = _conv_module(256, 256, 3, 14, 1, 1)
    conv = _fold(_node(module, "conv"), coarse_in=2, coarse_out=16, fine=9)
    conv.attributes["dataflow.weights_memory"] = StringAttr("off_chip")
    cost = node_cost(conv)
    # weights 4608 x 2048 leave BRAM (526 - 512 = 14) for the m_axi adapters of nine 512-bit ports (15 BRAM18
    # each: 16 bursts x 16 beats x 512 bits, UG1399, which cover the DRAM latency) and a 2-word FIFO to the
    # MAC in LUTs; swept once per output pixel: 4608 * 2048 * 14 * 14 = 1,849,688,064 bits per inference
    assert cost.bram18 == 14 + 9 * 15
    assert cost.offchip_bits == 4608 * 2048 * 196
    totals = Network.from_module(module).evaluate(Network.from_module(module).ir_choices())
    # graph I/O adds 14*14*256*16 bits in and out: 802,816 each
    assert totals.offchip_bits == 1_849_688_064 + 2 * 802_816
    assert totals.ii == totals.compute_ii == 405_235  # no platform bandwidth given (the conv's II above)
    # at 1000 bits/cycle the II becomes 405,235 * (bits/405,235) / 1000 = ceil(1,851,293,696 / 1000)
    limited = Network.from_module(module).evaluate(Network.from_module(module).ir_choices(), max_bits_per_cycle=1000)
    assert limited.ii == 1_851_294 and limited.bandwidth_bound and limited.compute_ii == 405_235


MATMUL = """
func.func @main(%a: tensor<2x4x8xf32>, %b: tensor<2x8x6xf32>) -> tensor<2x8x6xf32> {
  %x = dataflow.source %a {name = "a", perm = array<i64: 0, 1, 2>} : (tensor<2x4x8xf32>) -> !dataflow.stream<2x4x8x!dataflow.fixed<8, 3>>
  %y = dataflow.source %b {name = "b", perm = array<i64: 0, 1, 2>} : (tensor<2x8x6xf32>) -> !dataflow.stream<2x8x6x!dataflow.fixed<8, 3>>
  %m = dataflow.matmul %x, %y {name = "mm", coarse_in = 2 : i64, coarse_out = 3 : i64} : (!dataflow.stream<2x4x8x!dataflow.fixed<8, 3>>, !dataflow.stream<2x8x6x!dataflow.fixed<8, 3>>) -> !dataflow.stream<2x4x6x!dataflow.fixed<8, 3>>
  %s = dataflow.map %m {name = "scale", coarse = 2 : i64} : !dataflow.stream<2x4x6x!dataflow.fixed<8, 3>> -> !dataflow.stream<2x4x6x!dataflow.fixed<8, 3>> {
  ^bb0(%v: f32):
    %z = arith.mulf %v, %v : f32
    dataflow.yield %z : f32
  }
  %f:2 = dataflow.fork %s {name = "copy"} : (!dataflow.stream<2x4x6x!dataflow.fixed<8, 3>>) -> (!dataflow.stream<2x4x6x!dataflow.fixed<8, 3>>, !dataflow.stream<2x4x6x!dataflow.fixed<8, 3>>)
  %c = dataflow.concat %f#0, %f#1 {name = "cat", axis = 1 : i64} : (!dataflow.stream<2x4x6x!dataflow.fixed<8, 3>>, !dataflow.stream<2x4x6x!dataflow.fixed<8, 3>>) -> !dataflow.stream<2x8x6x!dataflow.fixed<8, 3>>
  %t = dataflow.sink %c {name = "out", perm = array<i64: 0, 1, 2>} : (!dataflow.stream<2x8x6x!dataflow.fixed<8, 3>>) -> tensor<2x8x6xf32>
  func.return %t : tensor<2x8x6xf32>
}"""


def test_matmul_map_concat_models():
    module = parse_module(MATMUL)
    mm = node_cost(_node(module, "mm"))
    # 2 batches x 4 rows x K=8 x N=6 MACs over ci*co = 6 multipliers: 384 / 6 = 64 cycles, 32 a batch;
    # each batch's right operand, K x N/CO = 8 x 2 beats, loads while the batch before computes
    # (ping-pong): 2 * max(16, 32) = 64 (the kernel's loops)
    assert mm.cycles == 64
    processes = {p.name: p for p in Pipeline.of_module(module).processes}
    assert processes["mm"].iterations == 64 and processes["mm_load"].iterations == 32
    # first output: after those 16 load beats, the first row's K/CI = 4 left beats, 2 iterations each,
    # written in the last one's first iteration (16 + 3 * 2), then the 3-cycle pipeline
    loaded = next(at for ch, at in processes["mm_load"].writes if ch.name == "mm_loaded")
    assert mm.depth == 16 + 3 * 2 + 3 == loaded[0] + 1 + processes["mm"].writes[0][1][0] + processes["mm"].latency
    # 6 multipliers of 8 x 8 bits pack two per DSP: 3 DSP; in fabric 6 * 64 = 384 LUT
    assert mm.dsp == 3 and mm.mult_lut == 384
    assert describe(_node(module, "mm")).macs == 2 * 4 * 8 * 6
    scale = node_cost(_node(module, "scale"))
    # one multiplication per element, coarse 2: 48 / 2 = 24 cycles, 2 multipliers -> 1 DSP, or 128 LUT
    assert scale.cycles == 24 and scale.dsp == 1 and scale.mult_lut == 128
    cat = node_cost(_node(module, "cat"))
    # outer-axis concat: 96 words at one per cycle, buffering the second input's 48 words (LUTRAM)
    assert cat.cycles == 96 and cat.dsp == 0 and cat.depth == 48 + 3


HEADS = """
func.func @main(%a: tensor<2x4x8xf32>, %b: tensor<2x6x8xf32>) -> tensor<4x2x6xf32> {
  %x = dataflow.source %a {name = "q", perm = array<i64: 1, 0, 2>} : (tensor<2x4x8xf32>) -> !dataflow.stream<4x2x8xf32>
  %y = dataflow.source %b {name = "k", perm = array<i64: 1, 0, 2>} : (tensor<2x6x8xf32>) -> !dataflow.stream<6x2x8xf32>
  %m = dataflow.matmul %x, %y {name = "mm", lhs_perm = array<i64: 1, 0, 2>, rhs_perm = array<i64: 2, 0, 1>, coarse_in = 2 : i64, coarse_out = 3 : i64} : (!dataflow.stream<4x2x8xf32>, !dataflow.stream<6x2x8xf32>) -> !dataflow.stream<4x2x6xf32>
  %t = dataflow.sink %m {name = "out", perm = array<i64: 0, 1, 2>} : (!dataflow.stream<4x2x6xf32>) -> tensor<4x2x6xf32>
  func.return %t : tensor<4x2x6xf32>
}"""


def test_matmul_reading_heads_token_major():
    """q kᵀ with 2 heads, q and k streamed token-major (tokens x heads x 8): k is read as kᵀ into the
    buffer of both heads, K along its stream's last dim, so in coarse_in lanes."""
    module = parse_module(HEADS)
    op = _node(module, "mm")
    assert op.stage_dims() == (1, 4, 2, 8, 6) and op.rhs_order() == (2, 0, 1) and op.buffer_words() == 2 * 8 * 6
    assert kind_of(op).read_lanes(op, op.rhs) == 2
    mm = node_cost(op)
    # 4 tokens x 2 heads = 8 rows x K=8 x N=6 MACs over 6 multipliers: 64 cycles; the load, 2 x 8 x 6
    # words 2 a beat: 48, overlapped: max(48, 64) = 64
    assert mm.cycles == 64
    # first output: the 48 load beats, then the first row's 4 left beats of 2 iterations each (3 * 2),
    # then the 3-cycle pipeline
    assert mm.depth == 48 + 3 * 2 + 3 and mm.preload == 48


HEADS_FIRST = """
func.func @main(%a: tensor<2x4x8xf32>, %b: tensor<2x6x8xf32>) -> tensor<2x4x6xf32> {
  %x = dataflow.source %a {name = "q", perm = array<i64: 0, 1, 2>} : (tensor<2x4x8xf32>) -> !dataflow.stream<2x4x8xf32>
  %y = dataflow.source %b {name = "k", perm = array<i64: 1, 0, 2>} : (tensor<2x6x8xf32>) -> !dataflow.stream<6x2x8xf32>
  %m = dataflow.matmul %x, %y {name = "mm", rhs_perm = array<i64: 2, 0, 1>} : (!dataflow.stream<2x4x8xf32>, !dataflow.stream<6x2x8xf32>) -> !dataflow.stream<2x4x6xf32>
  %t = dataflow.sink %m {name = "out", perm = array<i64: 0, 1, 2>} : (!dataflow.stream<2x4x6xf32>) -> tensor<2x4x6xf32>
  func.return %t : tensor<2x4x6xf32>
}"""


def test_matmul_rejects_a_right_operand_whose_heads_interleave_blocks_of_rows():
    """q streamed head by head (2 blocks of rows) and k token-major: each block needs one head of k,
    but k's stream interleaves both heads, so no block is consecutive in it and the verifier says so."""
    with pytest.raises(DfccError, match="batch dims first"):
        parse_module(HEADS_FIRST)


LANES = """
func.func @main(%a: tensor<1x12x8x8xf32>) -> tensor<1x12x8x8xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x12x8x8xf32>) -> !dataflow.stream<1x8x8x12xf32>
  %x = dataflow.map %s {name = "four", coarse = 4 : i64} : !dataflow.stream<1x8x8x12xf32> -> !dataflow.stream<1x8x8x12xf32> {
  ^bb0(%v: f32):
    %z = arith.addf %v, %v : f32
    dataflow.yield %z : f32
  }
  %y = dataflow.map %x {name = "three", coarse = 3 : i64} : !dataflow.stream<1x8x8x12xf32> -> !dataflow.stream<1x8x8x12xf32> {
  ^bb0(%v: f32):
    %z = arith.addf %v, %v : f32
    dataflow.yield %z : f32
  }
  %t = dataflow.sink %y {name = "out", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x8x8x12xf32>) -> tensor<1x12x8x8xf32>
  func.return %t : tensor<1x12x8x8xf32>
}"""


def test_lane_converter_bounds_ii_and_adds_latency():
    module = parse_module(LANES)
    network = Network.from_module(module)
    totals = network.evaluate(network.ir_choices())
    (conv,) = totals.converters
    assert (conv.lanes_in, conv.lanes_out) == (4, 3)
    # dfcc::lanes (include/dfcc/vec.h), neither of 4 and 3 divides the other: 4 -> gcd 1 -> 3, each a
    # loop pipelined at II=1 of N/min(P1, P2) = 768/1 iterations; the maps take 768/4 and 768/3
    assert conv.cycles == 768 and totals.ii == 768
    assert network.nodes[totals.bottleneck].name == "three"  # converters are named after their consumer
    # first output: 4 -> 1 writes at once, 1 -> 3 fills a beat in 3 iterations; 3-cycle pipeline each
    assert conv.depth == (0 + 3) + (2 + 3)
    # 4 -> 1 muxes 4 parts onto 16 output bits (one LUT6 each), 1 -> 3 shifts into a register (no LUT); control
    assert totals.lut == sum(c.lut for c in totals.costs) + (200 + 16) + 200
    assert Estimate.of_module(module).to_json()["lane_converters"] == [
        {"from": "four", "to": "three", "lanes_in": 4, "lanes_out": 3, "cycles": 768}]
    assert "(lane converters)" in Estimate.of_module(module).render_table()
    # the cycle-level simulation of the same design paces the pipeline at the converter, 768 cycles
    sim = simulate(module)
    assert sim.ii == 768
    assert abs(totals.latency_cycles - sim.latency) <= 0.05 * sim.latency


def test_lane_converter_waits_for_the_input_beats_of_its_first_output_beat():
    """The share of its producer's span (first to last input beat, beats evenly spread) a converter
    waits before its first output: the first beat opens the span, so 32 -> 1 lanes writes at once."""
    wide_to_narrow = Converter(edge=0, elements=512, lanes_in=32, lanes_out=1, bits=16)
    assert wide_to_narrow.fill == 0.0
    # 1 -> 32 lanes: its first output beat needs 32 input beats, 31 after the first of 512
    narrow_to_wide = Converter(edge=0, elements=512, lanes_in=1, lanes_out=32, bits=16)
    assert narrow_to_wide.fill == 31 / 511
    # 4 -> 6 lanes: ceil(6 / 4) = 2 input beats, 1 after the first of 12
    assert Converter(edge=0, elements=48, lanes_in=4, lanes_out=6, bits=16).fill == 1 / 11


MAPS16 = """
func.func @main(%a: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x4x4xf32>) -> !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 6>>
  %w = dataflow.weights {name = "w", value = dense<[0.5, 2.0, 1.5, 0.25, 1.0, 3.0, 0.75, 1.25]> : tensor<8xf32>, format = !dataflow.fixed<16, 4>} : tensor<8xf32>
  %b = dataflow.map %s params(%w : tensor<8xf32>) {name = "bn", coarse = 4 : i64} : !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 6>> -> !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 6>> {
  ^bb0(%x: f32, %p: f32):
    %v = arith.mulf %x, %p : f32
    %y = arith.mulf %v, %p : f32
    %h = arith.constant 2.0 : f32
    %z = arith.divf %y, %h : f32
    dataflow.yield %z : f32
  }
  %r = dataflow.map %b {name = "relu", coarse = 4 : i64} : !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 6>> -> !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 6>> {
  ^bb0(%x: f32):
    %c = arith.constant 0.0 : f32
    %g = arith.cmpf ogt, %x, %c : f32
    %y = arith.select %g, %x, %c : f32
    dataflow.yield %y : f32
  }
  %e = dataflow.map %r {name = "tanh", coarse = 4 : i64} : !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 6>> -> !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 6>> {
  ^bb0(%x: f32):
    %y = math.tanh %x : f32
    dataflow.yield %y : f32
  }
  %t = dataflow.sink %e {name = "out", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x8x!dataflow.fixed<16, 6>>) -> tensor<1x8x4x4xf32>
  func.return %t : tensor<1x8x4x4xf32>
}"""


def test_map_costs_what_its_hls_stage_builds():
    """A 16-bit map is costed as map_kind builds it: an exact body's products on DSPs (or fabric), its division
    by a power of two a shift; a ReLU compared, not a 64 Ki-word table; an inexact body (tanh) a table, a copy
    per two lanes, and no DSP."""
    module = parse_module(MAPS16)
    bn, relu, tanh = (_node(module, name) for name in ("bn", "relu", "tanh"))
    assert [map_kind(op) for op in (bn, relu, tanh)] == ["exact", "exact", "table"]
    bn_cost, relu_cost, tanh_cost = (node_cost(op) for op in (bn, relu, tanh))
    # exact products as HLS types them: x * p is 16 x 16 bits (1 DSP48: 27 x 18), (x * p) * p 32 x 16 (2: the
    # 32 bits span two 18- or 27-bit ports); 4 lanes: 12 DSP, in fabric 4 x (16 x 16 + 32 x 16) = 3,072 LUT;
    # the division by 2 takes none
    assert bn_cost.dsp == 12 and bn_cost.mult_lut == 3_072
    assert relu_cost.dsp == 0 and relu_cost.bram18 == 0
    # the window where the table varies (kinds/table_window.py), truncating at 2^-10: -1 below -atanh(1 - 2^-10) =
    # -3.8120 (codes up to -3,904), 1 - 2^-10 above atanh(1 - 2^-10) (from 3,904 up, then 1 where float64's tanh
    # is): 7,807 words x 16 bits read by 4 lanes, 2 copies (two ports each) of 8 BRAM18 (18 x 1024); the whole
    # 2^16-word table took 64
    assert tanh_cost.dsp == 0 and tanh_cost.mult_lut == 0 and tanh_cost.bram18 == 2 * 8
    # the fabric option: no DSP, the multipliers' LUTs added
    bn.attributes["dataflow.mult_impl"] = StringAttr("lut")
    fabric = node_cost(bn)
    assert fabric.dsp == 0 and fabric.lut == bn_cost.lut + 3_072
