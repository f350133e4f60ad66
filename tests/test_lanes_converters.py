"""What a lane converter (vec.h dfcc::lanes) and a graph port cost, against the structures the HLS builds:
a narrowing converter muxes the parts of the wide beat it holds, a widening one shifts narrow beats into a
register, and a port is the axis interface of the stage it meets (hand-computed cases)."""

from __future__ import annotations

from dfcc.analyses.network import Converter, Network
from dfcc.backends.hls.emit import emit_design
from dfcc.frontends.mlir import parse_module
from dfcc.hardware.logic import Logic, lane_converter_logic
from dfcc.kinds.cost import describe
from dfcc.kinds.sink import SinkOp
from dfcc.kinds.source import SourceOp


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
