// Max pooling, average pooling (a sum pool and a divide, as torch-mlir writes it) and global
// average pooling (a reduce over H and W); the input feeds two branches through a fork.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK:      %[[A:.*]], %[[B:.*]] = dataflow.fork %{{.*}} {name = "fork0"}
// CHECK-NEXT: %[[M:.*]] = dataflow.pool %[[A]] {name = "maxpool0", kind = "max", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>
// CHECK-NEXT: %[[S:.*]] = dataflow.pool %[[M]] {name = "sumpool0", kind = "sum"
// CHECK-NEXT: dataflow.map %[[S]]
// CHECK:        arith.constant 4.000000e+00 : f32
// CHECK:      dataflow.reduce %[[B]] {name = "reduce_sum0", kind = "sum", dims = array<i64: 1, 2>} : (!dataflow.stream<1x8x8x2xf32>) -> !dataflow.stream<1x1x1x2xf32>
// CHECK:        arith.constant 6.400000e+01 : f32
// CHECK:      func.return %{{.*}}, %{{.*}} : tensor<1x2x2x2xf32>, tensor<1x2xf32>
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
#map2 = affine_map<(d0, d1) -> (d0, d1)>
module {
  func.func @main(%arg0: tensor<1x2x8x8xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2xf32>) {
    %cst = arith.constant 0xFF800000 : f32
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_1 = arith.constant 4.000000e+00 : f32
    %cst_2 = arith.constant 6.400000e+01 : f32
    %0 = tensor.empty() : tensor<1x2x4x4xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %2 = tensor.empty() : tensor<2x2xf32>
    %3 = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%arg0, %2 : tensor<1x2x8x8xf32>, tensor<2x2xf32>) outs(%1 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %4 = tensor.empty() : tensor<1x2x2x2xf32>
    %5 = linalg.fill ins(%cst_0 : f32) outs(%4 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
    %6 = linalg.pooling_nchw_sum {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%3, %2 : tensor<1x2x4x4xf32>, tensor<2x2xf32>) outs(%5 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%6 : tensor<1x2x2x2xf32>) outs(%4 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %12 = arith.divf %in, %cst_1 : f32
      linalg.yield %12 : f32
    } -> tensor<1x2x2x2xf32>
    %8 = tensor.empty() : tensor<1x2xf32>
    %9 = linalg.fill ins(%cst_0 : f32) outs(%8 : tensor<1x2xf32>) -> tensor<1x2xf32>
    %10 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%arg0 : tensor<1x2x8x8xf32>) outs(%9 : tensor<1x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %12 = arith.addf %in, %out : f32
      linalg.yield %12 : f32
    } -> tensor<1x2xf32>
    %11 = linalg.generic {indexing_maps = [#map2, #map2], iterator_types = ["parallel", "parallel"]} ins(%10 : tensor<1x2xf32>) outs(%8 : tensor<1x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %12 = arith.divf %in, %cst_2 : f32
      linalg.yield %12 : f32
    } -> tensor<1x2xf32>
    return %7, %11 : tensor<1x2x2x2xf32>, tensor<1x2xf32>
  }
}
