// Channel concat of two activations: one concat node on the last (channel) stream dim.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK: %{{.*}} = dataflow.concat %{{.*}}, %{{.*}} {name = "concat0", axis = 3 : i64} : (!dataflow.stream<1x3x3x2xf32>, !dataflow.stream<1x3x3x3xf32>) -> !dataflow.stream<1x3x3x5xf32>
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @main(%arg0: tensor<1x2x3x3xf32>, %arg1: tensor<1x3x3x3xf32>) -> tensor<1x5x3x3xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<1x2x3x3xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x2x3x3xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %2 = arith.cmpf ugt, %in, %cst : f32
      %3 = arith.select %2, %in, %cst : f32
      linalg.yield %3 : f32
    } -> tensor<1x2x3x3xf32>
    %concat = tensor.concat dim(1) %1, %arg1 : (tensor<1x2x3x3xf32>, tensor<1x3x3x3xf32>) -> tensor<1x5x3x3xf32>
    return %concat : tensor<1x5x3x3xf32>
  }
}
