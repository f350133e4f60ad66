// Residual add: the input forks to the conv and to the join; the add and the LeakyReLU after it
// fuse into one two-input map stage.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK:      %[[A:.*]], %[[B:.*]] = dataflow.fork %{{.*}} {name = "fork0"}
// CHECK:      %[[C:.*]] = dataflow.conv %[[A]]
// CHECK-NEXT: dataflow.map %[[C]], %[[B]] {name = "{{.*}}"} : !dataflow.stream<1x3x3x2xf32>, !dataflow.stream<1x3x3x2xf32> -> !dataflow.stream<1x3x3x2xf32> {
// CHECK-NEXT: ^{{.*}}(%[[X:.*]]: f32, %[[Y:.*]]: f32):
// CHECK-NEXT:   arith.addf %[[X]], %[[Y]] : f32
// CHECK-NOT:  dataflow.fork
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> ()>
module {
  func.func @main(%arg0: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
    %cst = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_0 = arith.constant 1.000000e-01 : f64
    %cst_1 = arith.constant dense_resource<torch_tensor_2_2_1_1_torch.float32> : tensor<2x2x1x1xf32>
    %cst_2 = arith.constant dense_resource<torch_tensor_2_torch.float32> : tensor<2xf32>
    %0 = tensor.empty() : tensor<1x2x3x3xf32>
    %broadcasted = linalg.broadcast ins(%cst_2 : tensor<2xf32>) outs(%0 : tensor<1x2x3x3xf32>) dimensions = [0, 2, 3] 
    %1 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%arg0, %cst_1 : tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) outs(%broadcasted : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%1, %arg0 : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %7 = arith.addf %in, %in_3 : f32
      linalg.yield %7 : f32
    } -> tensor<1x2x3x3xf32>
    %3 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst, %2 : tensor<f32>, tensor<1x2x3x3xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %7 = arith.cmpf ogt, %in, %in_3 : f32
      %8 = arith.select %7, %in, %in_3 : f32
      linalg.yield %8 : f32
    } -> tensor<1x2x3x3xf32>
    %4 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst, %2 : tensor<f32>, tensor<1x2x3x3xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %7 = arith.cmpf olt, %in, %in_3 : f32
      %8 = arith.select %7, %in, %in_3 : f32
      linalg.yield %8 : f32
    } -> tensor<1x2x3x3xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%4 : tensor<1x2x3x3xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.truncf %cst_0 : f64 to f32
      %8 = arith.mulf %in, %7 : f32
      linalg.yield %8 : f32
    } -> tensor<1x2x3x3xf32>
    %6 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %5 : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %7 = arith.addf %in, %in_3 : f32
      linalg.yield %7 : f32
    } -> tensor<1x2x3x3xf32>
    return %6 : tensor<1x2x3x3xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_2_2_1_1_torch.float32: "0x040000002279ADBB9C36C23EB1FC14BF1D3805BF",
      torch_tensor_2_torch.float32: "0x04000000D6708BBEAB2A423E"
    }
  }
#-}
