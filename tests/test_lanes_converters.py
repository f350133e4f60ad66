"""What a lane converter (vec.h dfcc::lanes) and a graph port cost, against the structures the HLS builds:
a narrowing converter muxes the parts of the wide beat it holds, a widening one shifts narrow beats into a
register, and a port is the axis interface of the stage it meets (hand-computed cases)."""

from __future__ import annotations

import numpy as np

from dfcc.analyses.network import Converter, Network
from dfcc.backends.hls.emit import emit_design
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.logic import Logic, lane_converter_logic
from dfcc.hardware.platforms import load_platform
from dfcc.kinds.cost import describe
from dfcc.kinds.sink import SinkOp
from dfcc.kinds.source import SourceOp
from dfcc.passes.explore import _Search


def test_narrowing_muxes_the_parts_widening_only_registers():
    # 256 -> 2 lanes of 16 bits: 128 parts onto 32 output bits, a LUT6 tree of ceil(127 / 3) = 43 LUTs per bit,
    # plus 200 of control; the 4,096-bit wide beat held
    assert lane_converter_logic(256, 2, 16) == Logic(200 + 32 * 43, 200 + 4096)
    # 2 -> 256: a 4,096-bit shift register, no mux
    assert lane_converter_logic(2, 256, 16) == Logic(200, 200 + 4096)
    # 4 -> 3 through 1 lane: 4:1 onto 8 bits (one LUT each), then 1 -> 3 into 24 bits of register
    assert lane_converter_logic(4, 3, 8) == Logic(200 + 8 + 200, 200 + 32 + 200 + 24)
    assert lane_converter_logic(6, 6, 8) == Logic(0, 0)  # no converter
    assert Converter(edge=0, elements=512, lanes_in=32, lanes_out=4, bits=8).logic() == (200 + 32 * 3, 200 + 256)


F16 = "!dataflow.fixed<16, 8>"


def _ports(classes: int, lanes: int, pixels: int = 1) -> str:
    return f"""
func.func @main(%a: tensor<1x2x2x{classes}xf32>) -> tensor<1x2x2x{classes}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 1, 2, 3>}} : (tensor<1x2x2x{classes}xf32>) -> !dataflow.stream<1x2x2x{classes}x{F16}>
  %r = dataflow.map %s {{name = "relu", coarse = {lanes} : i64}} : !dataflow.stream<1x2x2x{classes}x{F16}> -> !dataflow.stream<1x2x2x{classes}x{F16}> {{
  ^bb0(%x: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %x, %zero : f32
    dataflow.yield %m : f32
  }}
  %t = dataflow.sink %r {{name = "out", perm = array<i64: 0, 1, 2, 3>, pixels = {pixels} : i64}} : (!dataflow.stream<1x2x2x{classes}x{F16}>) -> tensor<1x2x2x{classes}xf32>
  func.return %t : tensor<1x2x2x{classes}xf32>
}}"""


def test_a_port_has_no_logic_of_its_own():
    # 1,000 classes: the ports take the map's 8 lanes (the emitter's axis ports), no stage between
    module = parse_module(_ports(1000, 8))
    for op in module.walk():
        if isinstance(op, (SourceOp, SinkOp)):
            cost = describe(op).cost(describe(op).ir_folding())
            assert (cost.lut, cost.ff, cost.cycles) == (0, 0, 4)  # 4 pixels, one a beat
    network = Network.from_module(module)
    totals = network.evaluate(network.ir_choices())
    assert totals.converters == () and totals.lut == totals.costs[1].lut
    top = emit_design(module).files["top.cpp"]
    assert "dfcc::lanes<" not in top and ", 8> >& in," in top and ", 8> >& out)" in top


def test_a_wider_port_is_written_by_its_converter():
    # 2 pixels a beat on the output port: 2 x 6 = 12 lanes from the map's 3, one converter (3 -> 12: a 192-bit
    # shift register) writing the port itself, no copy stage after it
    module = parse_module(_ports(6, 3, pixels=2))
    network = Network.from_module(module)
    totals = network.evaluate(network.ir_choices())
    (conv,) = totals.converters
    assert (conv.lanes_in, conv.lanes_out) == (3, 12) and conv.logic() == (200, 200 + 12 * 16)
    top = emit_design(module).files["top.cpp"]
    assert top.count("dfcc::lanes<") == 1 and "dfcc::lanes<24, 3, 12>(s_relu, out);" in top


def test_explore_drops_a_converter_where_an_end_takes_the_other_ends_lanes():
    # relu at 8 lanes into a 3x3 8 -> 64 conv reading 2 (8 -> 2: a 4:1 mux on 32 bits): 64 pixels x 8/2 x 64/8 =
    # 2,048 cycles on 144 DSPs; a ZedBoard at 75 % leaves 165, too few for a faster point (294,912 MACs / 165 >
    # 1,787 cycles, and no folding in between). Either end can take the other's lanes at that II (the relu 2 lanes,
    # or the conv 8 lanes in and 2 filters a step, 144 DSPs still), and the converter goes. The kernel's columns are
    # dilated (2) so that no Winograd F(2,3) point, faster and with a converter of its own, takes the conv
    module = parse_module(f"""
func.func @main(%a: tensor<1x8x8x8xf32>) -> tensor<1x8x8x64xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 1, 2, 3>}} : (tensor<1x8x8x8xf32>) -> !dataflow.stream<1x8x8x8x{F16}>
  %r = dataflow.map %s {{name = "relu", coarse = 8 : i64}} : !dataflow.stream<1x8x8x8x{F16}> -> !dataflow.stream<1x8x8x8x{F16}> {{
  ^bb0(%x: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %x, %zero : f32
    dataflow.yield %m : f32
  }}
  %w = dataflow.weights {{name = "w", value = dense<0.5> : tensor<64x8x3x3xf32>, format = {F16}}} : tensor<64x8x3x3xf32>
  %y = dataflow.conv %r, %w {{name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 2>, pad = array<i64: 1, 1, 2, 2>, coarse_in = 2 : i64, coarse_out = 8 : i64, fine = 9 : i64}} : (!dataflow.stream<1x8x8x8x{F16}>, tensor<64x8x3x3xf32>) -> !dataflow.stream<1x8x8x64x{F16}>
  %t = dataflow.sink %y {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : (!dataflow.stream<1x8x8x64x{F16}>) -> tensor<1x8x8x64xf32>
  func.return %t : tensor<1x8x8x64xf32>
}}""")
    network = Network.from_module(module)
    picks = network.ir_choices()
    totals = network.evaluate(picks)
    (conv,) = totals.converters
    assert (conv.lanes_in, conv.lanes_out) == (8, 2) and totals.ii == 2048 and totals.dsp == 144
    search = _Search(network, load_platform("zedboard"), 0.75, 0)
    matched, matched_totals = search.match_lanes(picks, totals)
    assert matched_totals.converters == () and matched_totals.ii == 2048 and matched_totals.dsp == 144
    assert search._spent(matched_totals) < search._spent(totals) and np.all(search.over(matched_totals) <= 1.0)
