// Rows read by a constant index in arbitrary order (x[:, :, index], torch-mlir's gather with the index
// as a constant tensor): a reindex node over the stream's H dim, the NHWC stream's dim 1.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK: %{{.*}} = dataflow.reindex %{{.*}} {name = "reindex0", axis = 1 : i64, index = array<i64: 2, 0, 3, 1, 1>} : (!dataflow.stream<1x4x3x2xf32>) -> !dataflow.stream<1x5x3x2xf32>
module {
  func.func @main(%arg0: tensor<1x2x4x3xf32>) -> tensor<1x2x5x3xf32> {
    %rows = arith.constant dense<[[2], [0], [3], [1], [1]]> : tensor<5x1xi64>
    %0 = tensor.empty() : tensor<1x2x5x3xf32>
    %1 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d2, 0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%rows : tensor<5x1xi64>) outs(%0 : tensor<1x2x5x3xf32>) {
    ^bb0(%row: i64, %out: f32):
      %n = linalg.index 0 : index
      %c = linalg.index 1 : index
      %w = linalg.index 3 : index
      %h = arith.index_cast %row : i64 to index
      %extracted = tensor.extract %arg0[%n, %c, %h, %w] : tensor<1x2x4x3xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x2x5x3xf32>
    return %1 : tensor<1x2x5x3xf32>
  }
}
