// Token and position embeddings (GPT-2 style, torch-mlir's gathers): the table read at the input ids
// becomes an embedding node; the position table read at a constant arange folds to a constant the
// add takes as a parameter.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK: %[[IDS:.*]] = dataflow.source %{{.*}} {name = "input0", perm = array<i64: 0, 1>} : (tensor<1x3xi64>) -> !dataflow.stream<1x3xi64>
// CHECK: %[[TABLE:.*]] = dataflow.weights {{{.*}}name = "table0"} : tensor<5x4xf32>
// CHECK: %[[ROWS:.*]] = dataflow.embedding %[[IDS]], %[[TABLE]] {name = "embedding0"} : (!dataflow.stream<1x3xi64>, tensor<5x4xf32>) -> !dataflow.stream<1x3x4xf32>
// CHECK: %[[POS:.*]] = dataflow.weights {{{.*}}name = "param0"} : tensor<3x4xf32>
// CHECK: dataflow.map %[[ROWS]] params(%[[POS]] : tensor<3x4xf32>) {name = "map0"} : !dataflow.stream<1x3x4xf32> -> !dataflow.stream<1x3x4xf32>
// CHECK-NEXT: ^{{.*}}(%[[X:.*]]: f32, %[[P:.*]]: f32):
// CHECK-NEXT: arith.addf %[[X]], %[[P]] : f32
#ids = affine_map<(d0, d1, d2) -> (d0, d1)>
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
module {
  func.func @main(%arg0: tensor<1x3xi64>) -> tensor<1x3x4xf32> {
    %c5 = arith.constant 5 : index
    %c0_i64 = arith.constant 0 : i64
    %words = arith.constant dense<[[0.0, 0.5, 1.0, 1.5], [2.0, 2.5, 3.0, 3.5], [-1.0, -0.5, 0.25, 0.125], [4.0, 0.0, -4.0, 1.0], [0.75, -0.75, 0.375, -2.0]]> : tensor<5x4xf32>
    %positions = arith.constant dense<[[0.5, 0.5, 0.5, 0.5], [1.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, -1.0]]> : tensor<3x4xf32>
    %0 = tensor.empty() : tensor<1x3x4xf32>
    %1 = linalg.generic {indexing_maps = [#ids, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x3xi64>) outs(%0 : tensor<1x3x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %2 = arith.index_cast %in : i64 to index
      %3 = linalg.index 2 : index
      %4 = arith.cmpi slt, %2, %c5 : index
      cf.assert %4, "index must be smaller than dim size"
      %5 = arith.cmpi sge, %in, %c0_i64 : i64
      cf.assert %5, "index must be larger or equal to 0"
      %extracted = tensor.extract %words[%2, %3] : tensor<5x4xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x3x4xf32>
    %6 = tensor.empty() : tensor<3xi64>
    %7 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%6 : tensor<3xi64>) {
    ^bb0(%out: i64):
      %8 = linalg.index 0 : index
      %9 = arith.index_cast %8 : index to i64
      linalg.yield %9 : i64
    } -> tensor<3xi64>
    %expanded = tensor.expand_shape %7 [[0, 1]] output_shape [1, 3] : tensor<3xi64> into tensor<1x3xi64>
    %10 = linalg.generic {indexing_maps = [#ids, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded : tensor<1x3xi64>) outs(%0 : tensor<1x3x4xf32>) {
    ^bb0(%in: i64, %out: f32):
      %11 = arith.index_cast %in : i64 to index
      %12 = linalg.index 2 : index
      %extracted_1 = tensor.extract %positions[%11, %12] : tensor<3x4xf32>
      linalg.yield %extracted_1 : f32
    } -> tensor<1x3x4xf32>
    %13 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%1, %10 : tensor<1x3x4xf32>, tensor<1x3x4xf32>) outs(%0 : tensor<1x3x4xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %14 = arith.addf %in, %in_1 : f32
      linalg.yield %14 : f32
    } -> tensor<1x3x4xf32>
    return %13 : tensor<1x3x4xf32>
  }
}
