// SiLU, GELU (erf form) and hardswish, summed: one map stage holding all three scalar bodies, reading
// its input stream once (no fork).
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK:      %[[IN:.*]] = dataflow.source
// CHECK-NEXT: dataflow.map %[[IN]] {name = "{{.*}}"} : !dataflow.stream<1x2x2x2xf32> -> !dataflow.stream<1x2x2x2xf32> {
// CHECK-DAG:    math.exp
// CHECK-DAG:    math.erf
// CHECK-DAG:    arith.constant 3.000000e+00 : f32
// CHECK-NOT:  dataflow.fork
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @main(%arg0: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
    %cst = arith.constant 1.000000e+00 : f32
    %cst_0 = arith.constant 5.000000e-01 : f32
    %cst_1 = arith.constant 3.000000e+00 : f32
    %cst_2 = arith.constant 0.000000e+00 : f32
    %cst_3 = arith.constant 6.000000e+00 : f32
    %cst_4 = arith.constant 1.41421354 : f32
    %0 = tensor.empty() : tensor<1x2x2x2xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.addf %in, %cst_1 : f32
      linalg.yield %11 : f32
    } -> tensor<1x2x2x2xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%1 : tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.cmpf ult, %in, %cst_2 : f32
      %12 = arith.select %11, %cst_2, %in : f32
      linalg.yield %12 : f32
    } -> tensor<1x2x2x2xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2 : tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.cmpf ugt, %in, %cst_3 : f32
      %12 = arith.select %11, %cst_3, %in : f32
      linalg.yield %12 : f32
    } -> tensor<1x2x2x2xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0, %3 : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %11 = arith.mulf %in, %in_5 : f32
      linalg.yield %11 : f32
    } -> tensor<1x2x2x2xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%4 : tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.divf %in, %cst_3 : f32
      linalg.yield %11 : f32
    } -> tensor<1x2x2x2xf32>
    %6 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.divf %in, %cst_4 : f32
      %12 = math.erf %11 : f32
      %13 = arith.addf %12, %cst : f32
      %14 = arith.mulf %13, %cst_0 : f32
      %15 = arith.mulf %in, %14 : f32
      linalg.yield %15 : f32
    } -> tensor<1x2x2x2xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %6 : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %11 = arith.addf %in, %in_5 : f32
      linalg.yield %11 : f32
    } -> tensor<1x2x2x2xf32>
    %8 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.negf %in : f32
      %12 = math.exp %11 : f32
      %13 = arith.addf %12, %cst : f32
      %14 = arith.divf %cst, %13 : f32
      linalg.yield %14 : f32
    } -> tensor<1x2x2x2xf32>
    %9 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0, %8 : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %11 = arith.mulf %in, %in_5 : f32
      linalg.yield %11 : f32
    } -> tensor<1x2x2x2xf32>
    %10 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%7, %9 : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) outs(%0 : tensor<1x2x2x2xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %11 = arith.addf %in, %in_5 : f32
      linalg.yield %11 : f32
    } -> tensor<1x2x2x2xf32>
    return %10 : tensor<1x2x2x2xf32>
  }
}
