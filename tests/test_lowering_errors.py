"""Ops dfcc cannot map give one diagnostic naming every distinct one, with its location; exit code 1."""

import subprocess
import sys

import pytest
from xdsl.dialects.linalg import ops as linalg

from dfcc.errors import DfccError
from dfcc.frontends.mlir import parse_module
from dfcc.passes.lower_to_dataflow import LowerToDataflow
from dfcc.passes.lowering import HANDLERS, lowers
from dfcc.passes.lowering.conv import on_conv

SORT_AND_TOPK = """
func.func @main(%arg0: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %1 = tensor.empty() : tensor<2x4xi64>
  %2:2 = tm_tensor.sort dimension(1) outs(%arg0, %1 : tensor<2x4xf32>, tensor<2x4xi64>) {
  ^bb0(%a: f32, %b: f32, %c: i64, %d: i64):
    %10 = arith.cmpf ole, %a, %b : f32
    tm_tensor.yield %10 : i1
  } -> tensor<2x4xf32>, tensor<2x4xi64>
  %8:2 = tm_tensor.topk dimension(1) ins(%arg0 : tensor<2x4xf32>) outs(%2#0, %2#0 : tensor<2x4xf32>, tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %10 = arith.cmpf ogt, %a, %b : f32
    tm_tensor.yield %10 : i1
  } -> tensor<2x4xf32>, tensor<2x4xf32>
  return %8#0 : tensor<2x4xf32>
}
"""

SCAN_OF_ACTIVATION = """
func.func @main(%arg0: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %e = tensor.empty() : tensor<2x4xf32>
  %a = tensor.empty() : tensor<2xf32>
  %8:2 = tm_tensor.scan dimension(1) inclusive(true) ins(%arg0 : tensor<2x4xf32>) outs(%e, %a : tensor<2x4xf32>, tensor<2xf32>) {
  ^bb0(%x: f32, %y: f32):
    %10 = arith.addf %x, %y : f32
    tm_tensor.yield %10 : f32
  } -> tensor<2x4xf32>, tensor<2xf32>
  return %8#0 : tensor<2x4xf32>
}
"""

DYNAMIC = """
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%arg0: tensor<?x4xf32>, %arg1: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %cst = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %d = tensor.dim %arg0, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%d) : tensor<?x4xf32>
  %r = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x4xf32>) outs(%e : tensor<?x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %cst : f32
    linalg.yield %m : f32
  } -> tensor<?x4xf32>
  return %arg1 : tensor<2x4xf32>
}
"""

# atan2 twice (reported once), an element-wise body with atan2 (its own entry), and a gather whose
# indices depend on activation values (data-dependent addressing).
SEVERAL = """
#map = affine_map<(d0) -> (d0)>
func.func @main(%a: tensor<4xf32>, %i: tensor<4xi64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %b = math.atan2 %a, %a : tensor<4xf32>
  %c = math.atan2 %b, %a : tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = math.atan2 %in, %in : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  %h = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%i : tensor<4xi64>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: i64, %out: f32):
    %k = arith.index_cast %in : i64 to index
    %x = tensor.extract %a[%k] : tensor<4xf32>
    linalg.yield %x : f32
  } -> tensor<4xf32>
  return %c, %g, %h : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
"""


def lower_error(text: str) -> str:
    with pytest.raises(DfccError) as info:
        LowerToDataflow().apply(None, parse_module(text, "test.mlir"))
    return str(info.value)


def test_unknown_ops_are_all_named_with_lines():
    with pytest.raises(DfccError) as info:
        parse_module(SORT_AND_TOPK, "sort.mlir")
    message = str(info.value)
    assert message.startswith("sort.mlir:4:")
    assert "unsupported operation 'tm_tensor.sort'" in message
    assert "sort.mlir:9: unsupported operation 'tm_tensor.topk'" in message


def test_resource_blobs_are_not_reported_as_ops():
    """The `{-# dialect_resources #-}` section after an unreadable op holds blob names, not ops."""
    blobs = '\n{-#\n  dialect_resources: {\n    builtin: {\n      torch_tensor_4_torch.float32: "0x0400000000000000"\n    }\n  }\n#-}\n'
    with pytest.raises(DfccError) as info:
        parse_module(SORT_AND_TOPK + blobs, "sort.mlir")
    assert "tm_tensor.topk" in str(info.value) and "torch_tensor" not in str(info.value)


def test_scan_of_an_activation_is_named_with_its_line():
    """Scans of constants (position ids) fold; a cumulative sum over an activation has no node."""
    message = lower_error(SCAN_OF_ACTIVATION)
    assert "'tm_tensor.scan' at test.mlir:5): a scan over an activation (cumulative sum) has no streaming node" in message


def test_dynamic_shapes():
    message = lower_error(DYNAMIC)
    assert "cannot lower to dataflow" in message
    assert "unsupported operation 'func.func'" in message and "dynamic shape tensor<?x4xf32>" in message
    assert "tensor.dim" not in message  # follows from the dynamic argument: not reported again


def test_every_distinct_unsupported_op_once():
    message = lower_error(SEVERAL)
    lines = message.splitlines()[1:]
    assert len(lines) == 3, message
    assert lines[0].strip().startswith("unsupported operation 'math.atan2' ('math.atan2' defining %b at test.mlir:4)")
    assert "math.atan2 (inside linalg.generic)" in lines[1] and "defining %g at test.mlir:7" in lines[1]
    assert "'linalg.generic' defining %h at test.mlir:12" in lines[2] and "constant operand" in lines[2]


def test_cli_exit_code_and_no_traceback(tmp_path):
    source = tmp_path / "several.mlir"
    source.write_text(SEVERAL)
    result = subprocess.run([sys.executable, "-m", "dfcc.driver.cli", str(source), "-p", "lower-to-dataflow"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("dfcc: error: lower-to-dataflow: cannot lower to dataflow:")
    assert result.stderr.count("unsupported operation") == 3


def test_one_lowering_handler_per_op_class():
    assert HANDLERS[linalg.Conv2DNchwFchwOp] is on_conv
    with pytest.raises(ValueError, match="linalg.conv_2d_nchw_fchw has two lowering handlers"):
        lowers(linalg.Conv2DNchwFchwOp)(lambda lw, op: None)
    assert HANDLERS[linalg.Conv2DNchwFchwOp] is on_conv
