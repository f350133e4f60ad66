// Depthwise convolution (groups = channels) with dilation; ReLU6's clamp constants are inlined.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK:      %[[W:.*]] = dataflow.weights {{.*}} : tensor<4x1x3x3xf32>
// CHECK-NEXT: %[[C:.*]] = dataflow.conv %{{.*}}, %[[W]] {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 2, 2>, pad = array<i64: 2, 2, 2, 2>, groups = 4 : i64}
// CHECK-NEXT: dataflow.map %[[C]] {name = "{{.*}}"} : !dataflow.stream<1x5x5x4xf32> -> !dataflow.stream<1x5x5x4xf32> {
// CHECK:        arith.constant 0.000000e+00 : f32
// CHECK:        arith.constant 6.000000e+00 : f32
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> ()>
module {
  func.func @main(%arg0: tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense<6.000000e+00> : tensor<f32>
    %cst_1 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_2 = arith.constant dense_resource<torch_tensor_4_1_3_3_torch.float32> : tensor<4x1x3x3xf32>
    %padded = tensor.pad %arg0 low[0, 0, 2, 2] high[0, 0, 2, 2] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index, %arg4: index):
      tensor.yield %cst : f32
    } : tensor<1x4x5x5xf32> to tensor<1x4x9x9xf32>
    %0 = tensor.empty() : tensor<1x4x5x5xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
    %collapsed = tensor.collapse_shape %cst_2 [[0, 1], [2], [3]] : tensor<4x1x3x3xf32> into tensor<4x3x3xf32>
    %2 = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<2> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded, %collapsed : tensor<1x4x9x9xf32>, tensor<4x3x3xf32>) outs(%1 : tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2, %cst_1 : tensor<1x4x5x5xf32>, tensor<f32>) outs(%0 : tensor<1x4x5x5xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %5 = arith.cmpf ogt, %in, %in_3 : f32
      %6 = arith.select %5, %in, %in_3 : f32
      linalg.yield %6 : f32
    } -> tensor<1x4x5x5xf32>
    %4 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst_0, %3 : tensor<f32>, tensor<1x4x5x5xf32>) outs(%0 : tensor<1x4x5x5xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %5 = arith.cmpf olt, %in, %in_3 : f32
      %6 = arith.select %5, %in, %in_3 : f32
      linalg.yield %6 : f32
    } -> tensor<1x4x5x5xf32>
    return %4 : tensor<1x4x5x5xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_4_1_3_3_torch.float32: "0x04000000568D23BB281B373E64778CBE56337BBE4E7703BEE60FB73DAB69D8BBDF51873E9654F2BC66A4B43D904FCEBD4B3086BDD00BA3BE180F62BE9BB40CBEAB4E4A3CEBF0063ECBCE4C3E666767BE53A314BECBF4F73D34B88D3E307E8CBD7B6C7F3EAB115CBDB678103DDC889A3E8A529EBEDEE156BED6D3ACBD3E0D05BEC674933ECE3E5DBE80201DBE23786EBEFAD69FBE"
    }
  }
#-}
