// Flatten of a channels-last stream needs PyTorch's (C, H, W) order: a buffered transpose, then a
// free reshape; the linear layer keeps PyTorch's F x C weights; sigmoid is a map.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK:      %[[T:.*]] = dataflow.transpose %{{.*}} {name = "transpose0", perm = array<i64: 0, 3, 1, 2>} : (!dataflow.stream<1x2x2x2xf32>) -> !dataflow.stream<1x2x2x2xf32>
// CHECK-NEXT: %[[F:.*]] = dataflow.reshape %[[T]] {{.*}} -> !dataflow.stream<1x8xf32>
// CHECK:      %[[L:.*]] = dataflow.linear %[[F]], %{{.*}}, %{{.*}} {name = "linear0"} : (!dataflow.stream<1x8xf32>, tensor<3x8xf32>, tensor<3xf32>) -> !dataflow.stream<1x3xf32>
// CHECK-NEXT: dataflow.map %[[L]]
// CHECK:        math.exp
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
module {
  func.func @main(%arg0: tensor<1x2x2x2xf32>) -> tensor<1x3xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.000000e+00 : f32
    %cst_1 = arith.constant dense_resource<torch_tensor_3_torch.float32> : tensor<3xf32>
    %cst_2 = arith.constant dense_resource<torch_tensor_3_8_torch.float32> : tensor<3x8xf32>
    %collapsed = tensor.collapse_shape %arg0 [[0], [1, 2, 3]] : tensor<1x2x2x2xf32> into tensor<1x8xf32>
    %0 = tensor.empty() : tensor<8x3xf32>
    %transposed = linalg.transpose ins(%cst_2 : tensor<3x8xf32>) outs(%0 : tensor<8x3xf32>) permutation = [1, 0] 
    %1 = tensor.empty() : tensor<1x3xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x3xf32>) -> tensor<1x3xf32>
    %3 = linalg.matmul ins(%collapsed, %transposed : tensor<1x8xf32>, tensor<8x3xf32>) outs(%2 : tensor<1x3xf32>) -> tensor<1x3xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%3, %cst_1 : tensor<1x3xf32>, tensor<3xf32>) outs(%1 : tensor<1x3xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %6 = arith.addf %in, %in_3 : f32
      linalg.yield %6 : f32
    } -> tensor<1x3xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%4 : tensor<1x3xf32>) outs(%1 : tensor<1x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %6 = arith.negf %in : f32
      %7 = math.exp %6 : f32
      %8 = arith.addf %7, %cst_0 : f32
      %9 = arith.divf %cst_0, %8 : f32
      linalg.yield %9 : f32
    } -> tensor<1x3xf32>
    return %5 : tensor<1x3xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_3_torch.float32: "0x040000001E6B69BD353C193DA1E8A33E",
      torch_tensor_3_8_torch.float32: "0x0400000022792DBB9C36423EB1FC94BE1D3885BED6700BBEAB2AC23D578AE5BB40878F3EDE8300BD9799BF3D5DD3DABD1B548EBDC2EFACBE90C56FBE9F3D15BE4C94563C6B200F3E403B593EDE7075BE86A71DBEA77F033EF750963EE70395BD7A75873E"
    }
  }
#-}
