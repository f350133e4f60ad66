"""Verifiers reject IR no backend can build, with a message naming what is wrong (issue 16).

Each case is a small graph source -> [fork | reduce | ...] -> sink; the valid template parses, and
each mutation is rejected by `parse_module` (which verifies; types fail while parsing) with the
expected words, which the CLI prints as `dfcc: error: ...` with exit code 1.
"""

import re

import pytest
from xdsl.utils.exceptions import VerifyException

from dfcc.errors import DfccError
from dfcc.frontends.mlir import parse_module

FORK = """
func.func @main(%a: tensor<1x8xf32>) -> (tensor<1x8xf32>, tensor<1x8xf32>) {{
  %s = dataflow.source %a {{name = "input0", perm = array<i64: 0, 1>}} : (tensor<1x8xf32>) -> !dataflow.stream<1x8x{elem}{depth}>
  %f:2 = dataflow.fork %s {{name = "fork0"{fork_attrs}}} : (!dataflow.stream<1x8x{elem}{depth}>) -> (!dataflow.stream<1x8x{elem}{depth}>, !dataflow.stream<1x8x{elem}{depth}>)
  %r = dataflow.reduce %f#0 {{name = "reduce0", kind = "sum", dims = array<i64: 0>{reduce_attrs}}} : (!dataflow.stream<1x8x{elem}{depth}>) -> !dataflow.stream<1x8x{elem}>
  %t0 = dataflow.sink %r {{name = "output0", perm = array<i64: 0, 1>}} : (!dataflow.stream<1x8x{elem}>) -> tensor<1x8xf32>
  %t1 = dataflow.sink %f#1 {{name = "output1", perm = array<i64: 0, 1>}} : (!dataflow.stream<1x8x{elem}{depth}>) -> tensor<1x8xf32>
  func.return %t0, %t1 : tensor<1x8xf32>, tensor<1x8xf32>
}}
"""
VALID = {"elem": "f32", "depth": "", "fork_attrs": "", "reduce_attrs": ""}

LINEAR = """
func.func @main(%a: tensor<1x4xf32>) -> tensor<1x2xf32> {{
  %s = dataflow.source %a {{name = "input0", perm = array<i64: 0, 1>}} : (tensor<1x4xf32>) -> !dataflow.stream<1x4xf32>
  %w = dataflow.weights {{name = "linear0_w", value = {value}}} : tensor<2x4xf32>
  %l = dataflow.linear %s, %w {{name = "linear0"{attrs}}} : (!dataflow.stream<1x4xf32>, tensor<2x4xf32>) -> !dataflow.stream<1x2xf32>
  %t = dataflow.sink %l {{name = "output0", perm = array<i64: 0, 1>}} : (!dataflow.stream<1x2xf32>) -> tensor<1x2xf32>
  func.return %t : tensor<1x2xf32>
}}
{resources}
"""
DENSE = "dense<0.5> : tensor<2x4xf32>"


def test_templates_are_valid():
    parse_module(FORK.format(**VALID))
    parse_module(LINEAR.format(value=DENSE, attrs="", resources=""))  # missing or short blobs: test_bad_input


@pytest.mark.parametrize(
    "change, message",
    [
        ({"fork_attrs": ", coarse = 3"}, "coarse=3 does not divide 8"),
        ({"fork_attrs": f", coarse = {2**62}"}, f"coarse={2**62} does not divide 8"),
        ({"fork_attrs": ", coarse = -8"}, "coarse=-8 does not divide 8"),
        ({"reduce_attrs": ", coarse = 3"}, "coarse=3 does not divide 8"),
        ({"depth": f", depth {2**24 + 1}"}, "stream depth must be in 1..16777216"),
        ({"depth": ", depth 40, sram"}, "stream memory must be one of auto, uram, lutram, got 'sram'"),
        ({"depth": ", bram"}, "stream memory must be one of auto, uram, lutram, got 'bram'"),
        ({"elem": "f16"}, "stream elements must be f32, f64, an integer or !dataflow.fixed"),
        ({"elem": "index"}, "stream elements must be f32, f64, an integer or !dataflow.fixed"),
        ({"elem": "!dataflow.fixed<8, 70>"}, "fixed<8, 70>: integer bits must be in -64..64"),
        ({"elem": "!dataflow.fixed<8, -65>"}, "fixed<8, -65>: integer bits must be in -64..64"),
        ({"fork_attrs": ', "dataflow.mult_impl" = "fpga"'}, "dataflow.mult_impl must be one of dsp, lut"),
        ({"fork_attrs": ', "dataflow.weights_memory" = "sram"'}, "must be one of bram, uram, lutram, off_chip"),
    ],
)
def test_stream_graph_rejected(change, message):
    with pytest.raises((DfccError, VerifyException), match=re.escape(message)):
        parse_module(FORK.format(**{**VALID, **change}))


@pytest.mark.parametrize(
    "attrs, message",
    [
        (', "dataflow.dsp_share" = 50 : i64', "dataflow.dsp_share needs mult_impl = lut"),
        (', "dataflow.mult_impl" = "lut", "dataflow.dsp_share" = 100 : i64', "must be a percent in 1..99"),
        (', "dataflow.mult_impl" = "lut", "dataflow.dsp_share" = "half"', "must be a percent in 1..99"),
    ],
)
def test_dsp_share_rejected(attrs, message):
    parse_module(LINEAR.format(value=DENSE, attrs=', "dataflow.mult_impl" = "lut", "dataflow.dsp_share" = 50 : i64',
                               resources=""))
    with pytest.raises((DfccError, VerifyException), match=re.escape(message)):
        parse_module(LINEAR.format(value=DENSE, attrs=attrs, resources=""))


def test_dsp_share_needs_a_kernel_that_splits():
    # a reduce's multipliers (a mean's scaling) are not numbered lanes: no split
    with pytest.raises((DfccError, VerifyException), match="MAC kernel cannot split its multipliers"):
        parse_module(FORK.format(**{**VALID, "reduce_attrs": ', "dataflow.mult_impl" = "lut", "dataflow.dsp_share" = 25 : i64'}))


def test_acc_format_must_be_fixed_point():
    with pytest.raises(DfccError, match="acc_format must be a !dataflow.fixed"):
        parse_module(LINEAR.format(value=DENSE, attrs=", acc_format = 32 : i64", resources=""))


DEPTH_TO_SPACE = """
func.func @main(%a: tensor<1x12x2x3xf32>) -> tensor<1x{c}x{h}x{w}xf32> {{
  %s = dataflow.source %a {{name = "input0", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x12x2x3xf32>) -> !dataflow.stream<1x2x3x12xf32>
  %d = dataflow.depth_to_space %s {{name = "d2s0", scale = array<i64: {scale}>}} : (!dataflow.stream<1x2x3x12xf32>) -> !dataflow.stream<1x{h}x{w}x{c}xf32>
  %t = dataflow.sink %d {{name = "output0", perm = array<i64: 0, 2, 3, 1>}} : (!dataflow.stream<1x{h}x{w}x{c}xf32>) -> tensor<1x{c}x{h}x{w}xf32>
  func.return %t : tensor<1x{c}x{h}x{w}xf32>
}}
"""


@pytest.mark.parametrize("change, message", [
    ({}, None),
    ({"scale": "2, 3", "h": 4, "w": 9, "c": 2}, None),
    ({"scale": "5, 1", "h": 10, "w": 3, "c": 2}, "12 channels do not split into 5x1 blocks"),
    ({"scale": "2", "h": 4, "w": 3, "c": 6}, "two scale factors >= 1"),
    ({"h": 4, "w": 6, "c": 4}, "output shape [1, 4, 6, 4], expected [1, 4, 6, 3]"),
])
def test_depth_to_space_verifier(change, message):
    text = DEPTH_TO_SPACE.format(**{"scale": "2, 2", "h": 4, "w": 6, "c": 3, **change})
    if message is None:
        parse_module(text)
        return
    with pytest.raises((DfccError, VerifyException), match=re.escape(message)):
        parse_module(text)
