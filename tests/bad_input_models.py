"""Small valid models the bad-input and fuzz tests start from (linalg, and hand-written dataflow IR)."""

LINALG = """#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @main(%arg0: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %cst = arith.constant 3.000000e+00 : f32
  %0 = tensor.empty() : tensor<1x2x2x2xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = arith.addf %in, %cst : f32
    linalg.yield %2 : f32
  } -> tensor<1x2x2x2xf32>
  return %1 : tensor<1x2x2x2xf32>
}
"""

BLOB = "0x040000000000003F00000040"  # alignment header 4, then float32 0.5 and 2.0 little-endian
DATAFLOW = """func.func @main(%a: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %w = dataflow.weights {name = "w", value = dense_resource<blob> : tensor<2xf32>} : tensor<2xf32>
  %m = dataflow.map %s params(%w : tensor<2xf32>) {name = "scale"} : !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2xf32> {
  ^bb0(%x: f32, %p: f32):
    %y = arith.mulf %x, %p : f32
    dataflow.yield %y : f32
  }
  %t = dataflow.sink %m {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x2xf32>) -> tensor<1x2x4x4xf32>
  func.return %t : tensor<1x2x4x4xf32>
}
{-# dialect_resources: { builtin: { blob: "BLOB" } } #-}
""".replace("BLOB", BLOB)
