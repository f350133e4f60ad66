// Conv + batch-norm + ReLU: padding folds into the conv, batch-norm folds into its weights and
// bias, ReLU stays as a map node whose body is the scalar function.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK:      %[[IN:.*]] = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x6x6xf32>) -> !dataflow.stream<1x6x6x2xf32>
// CHECK-NEXT: %[[W:.*]] = dataflow.weights {value = dense_resource<{{.*}}> : tensor<3x2x3x3xf32>, name = "conv0_w"}
// CHECK-NEXT: %[[B:.*]] = dataflow.weights {value = dense_resource<{{.*}}> : tensor<3xf32>, name = "conv0_b"}
// CHECK-NEXT: %[[C:.*]] = dataflow.conv %[[IN]], %[[W]], %[[B]] {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : {{.*}} -> !dataflow.stream<1x3x3x3xf32>
// CHECK-NEXT: %[[R:.*]] = dataflow.map %[[C]] {name = "{{.*}}"} : !dataflow.stream<1x3x3x3xf32> -> !dataflow.stream<1x3x3x3xf32> {
// CHECK:        arith.cmpf ugt
// CHECK-NEXT:   arith.select
// CHECK-NEXT:   dataflow.yield
// CHECK:      dataflow.sink %[[R]] {name = "output0", perm = array<i64: 0, 2, 3, 1>}
// CHECK-NOT:  dataflow.map
#map = affine_map<(d0) -> (d0)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
module {
  func.func @main(%arg0: tensor<1x2x6x6xf32>) -> tensor<1x3x3x3xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.000000e+00 : f32
    %cst_1 = arith.constant dense_resource<torch_tensor_3_torch.float32_4> : tensor<3xf32>
    %cst_2 = arith.constant dense_resource<torch_tensor_3_torch.float32_3> : tensor<3xf32>
    %cst_3 = arith.constant 1.000000e-05 : f64
    %cst_4 = arith.constant dense_resource<torch_tensor_3_torch.float32_2> : tensor<3xf32>
    %cst_5 = arith.constant dense_resource<torch_tensor_3_torch.float32_1> : tensor<3xf32>
    %cst_6 = arith.constant dense_resource<torch_tensor_3_2_3_3_torch.float32> : tensor<3x2x3x3xf32>
    %cst_7 = arith.constant dense_resource<torch_tensor_3_torch.float32> : tensor<3xf32>
    %padded = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index, %arg4: index):
      tensor.yield %cst : f32
    } : tensor<1x2x6x6xf32> to tensor<1x2x8x8xf32>
    %0 = tensor.empty() : tensor<1x3x3x3xf32>
    %broadcasted = linalg.broadcast ins(%cst_7 : tensor<3xf32>) outs(%0 : tensor<1x3x3x3xf32>) dimensions = [0, 2, 3] 
    %1 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%padded, %cst_6 : tensor<1x2x8x8xf32>, tensor<3x2x3x3xf32>) outs(%broadcasted : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
    %2 = tensor.empty() : tensor<3xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%cst_4 : tensor<3xf32>) outs(%2 : tensor<3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.truncf %cst_3 : f64 to f32
      %12 = arith.addf %in, %11 : f32
      linalg.yield %12 : f32
    } -> tensor<3xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%3 : tensor<3xf32>) outs(%2 : tensor<3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = math.sqrt %in : f32
      linalg.yield %11 : f32
    } -> tensor<3xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%4 : tensor<3xf32>) outs(%2 : tensor<3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.cmpf one, %in, %cst : f32
      cf.assert %11, "unimplemented: tensor with zero element"
      %12 = arith.divf %cst_0, %in : f32
      linalg.yield %12 : f32
    } -> tensor<3xf32>
    %expanded = tensor.expand_shape %cst_5 [[0, 1, 2]] output_shape [3, 1, 1] : tensor<3xf32> into tensor<3x1x1xf32>
    %expanded_8 = tensor.expand_shape %5 [[0, 1, 2]] output_shape [3, 1, 1] : tensor<3xf32> into tensor<3x1x1xf32>
    %6 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%1, %expanded : tensor<1x3x3x3xf32>, tensor<3x1x1xf32>) outs(%0 : tensor<1x3x3x3xf32>) {
    ^bb0(%in: f32, %in_11: f32, %out: f32):
      %11 = arith.subf %in, %in_11 : f32
      linalg.yield %11 : f32
    } -> tensor<1x3x3x3xf32>
    %7 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%6, %expanded_8 : tensor<1x3x3x3xf32>, tensor<3x1x1xf32>) outs(%0 : tensor<1x3x3x3xf32>) {
    ^bb0(%in: f32, %in_11: f32, %out: f32):
      %11 = arith.mulf %in, %in_11 : f32
      linalg.yield %11 : f32
    } -> tensor<1x3x3x3xf32>
    %expanded_9 = tensor.expand_shape %cst_2 [[0, 1, 2]] output_shape [3, 1, 1] : tensor<3xf32> into tensor<3x1x1xf32>
    %8 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%7, %expanded_9 : tensor<1x3x3x3xf32>, tensor<3x1x1xf32>) outs(%0 : tensor<1x3x3x3xf32>) {
    ^bb0(%in: f32, %in_11: f32, %out: f32):
      %11 = arith.mulf %in, %in_11 : f32
      linalg.yield %11 : f32
    } -> tensor<1x3x3x3xf32>
    %expanded_10 = tensor.expand_shape %cst_1 [[0, 1, 2]] output_shape [3, 1, 1] : tensor<3xf32> into tensor<3x1x1xf32>
    %9 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%8, %expanded_10 : tensor<1x3x3x3xf32>, tensor<3x1x1xf32>) outs(%0 : tensor<1x3x3x3xf32>) {
    ^bb0(%in: f32, %in_11: f32, %out: f32):
      %11 = arith.addf %in, %in_11 : f32
      linalg.yield %11 : f32
    } -> tensor<1x3x3x3xf32>
    %10 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%9 : tensor<1x3x3x3xf32>) outs(%0 : tensor<1x3x3x3xf32>) {
    ^bb0(%in: f32, %out: f32):
      %11 = arith.cmpf ugt, %in, %cst : f32
      %12 = arith.select %11, %in, %cst : f32
      linalg.yield %12 : f32
    } -> tensor<1x3x3x3xf32>
    return %10 : tensor<1x3x3x3xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_3_torch.float32_4: "0x0400000040641C3D00446D3E00D11E3F",
      torch_tensor_3_torch.float32_3: "0x040000009600BD3F89B3D43F15E2933F",
      torch_tensor_3_torch.float32_2: "0x04000000FA6FCB3F7E9BC63FB0444E3F",
      torch_tensor_3_torch.float32_1: "0x040000006C7A46BF186E31BFD23E04BF",
      torch_tensor_3_2_3_3_torch.float32: "0x040000002E4CE7BABE79013E42A646BE27A031BEC9EBB9BDC771813DE50699BB015F3F3E7D5AABBC74777F3D3EE291BD7AC53DBD029566BE0BD91FBED4FCC6BD880D0F3CE4D5BE3D2BD2103E94A023BEB234D2BDDF54AF3DF56B483EDFAF46BDA39C343EBF9C1BBD4750CC3C818B5A3ED6E65FBED9F117BE3B6A74BDDE29BCBDD388503EAE711CBE0936DEBD8D9F28BE2B0C62BE1EE40CBEC9784F3ED265D73DD5F5E93D62184B3C4F7BF7BD4A56233D115B61BEE0652EBE11DBF8BD5A48183E94830D3E4915D6BD4C570BBC225D1A3E6EF16F3E0F95BF3D6F6C023D",
      torch_tensor_3_torch.float32: "0x04000000F7D3213EE11C0EBE40E7333D"
    }
  }
#-}
