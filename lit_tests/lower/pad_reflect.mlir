// Reflect padding: torch-mlir's index gathers become a pad node (mode reflect) before an unpadded conv.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK: %{{.*}} = dataflow.pad %{{.*}} {name = "pad0", mode = "reflect", pad = array<i64: 0, 0, 1, 1, 1, 1, 0, 0>} : (!dataflow.stream<1x4x4x2xf32>) -> !dataflow.stream<1x6x6x2xf32>
// CHECK: %{{.*}} = dataflow.conv %{{.*}}, %{{.*}}, %{{.*}} {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x6x6x2xf32>, tensor<2x2x3x3xf32>, tensor<2xf32>) -> !dataflow.stream<1x4x4x2xf32>
#map = affine_map<(d0) -> (d0)>
#map1 = affine_map<(d0) -> ()>
#map2 = affine_map<(d0, d1, d2, d3) -> (0, 0, 0, 0)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d2, 0)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d3)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
    %c-1_i64 = arith.constant -1 : i64
    %c1_i64 = arith.constant 1 : i64
    %c0_i64 = arith.constant 0 : i64
    %cst = arith.constant dense_resource<torch_tensor_2_torch.float32> : tensor<2xf32>
    %cst_0 = arith.constant dense_resource<torch_tensor_2_2_3_3_torch.float32> : tensor<2x2x3x3xf32>
    %c4_i64 = arith.constant 4 : i64
    %c2_i64 = arith.constant 2 : i64
    %c6_i64 = arith.constant 6 : i64
    %cst_1 = arith.constant dense<3> : tensor<i64>
    %0 = tensor.empty() : tensor<6xi64>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%0 : tensor<6xi64>) {
    ^bb0(%out: i64):
      %19 = linalg.index 0 : index
      %20 = arith.index_cast %19 : index to i64
      %21 = arith.addi %20, %c-1_i64 : i64
      linalg.yield %21 : i64
    } -> tensor<6xi64>
    %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%1 : tensor<6xi64>) outs(%0 : tensor<6xi64>) {
    ^bb0(%in: i64, %out: i64):
      %19 = math.absi %in : i64
      linalg.yield %19 : i64
    } -> tensor<6xi64>
    %3 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel"]} ins(%cst_1, %2 : tensor<i64>, tensor<6xi64>) outs(%0 : tensor<6xi64>) {
    ^bb0(%in: i64, %in_5: i64, %out: i64):
      %19 = arith.subi %in, %in_5 : i64
      linalg.yield %19 : i64
    } -> tensor<6xi64>
    %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%3 : tensor<6xi64>) outs(%0 : tensor<6xi64>) {
    ^bb0(%in: i64, %out: i64):
      %19 = math.absi %in : i64
      linalg.yield %19 : i64
    } -> tensor<6xi64>
    %5 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel"]} ins(%cst_1, %4 : tensor<i64>, tensor<6xi64>) outs(%0 : tensor<6xi64>) {
    ^bb0(%in: i64, %in_5: i64, %out: i64):
      %19 = arith.subi %in, %in_5 : i64
      linalg.yield %19 : i64
    } -> tensor<6xi64>
    %6 = tensor.empty() : tensor<4xi64>
    %7 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%6 : tensor<4xi64>) {
    ^bb0(%out: i64):
      %19 = linalg.index 0 : index
      %20 = arith.index_cast %19 : index to i64
      linalg.yield %20 : i64
    } -> tensor<4xi64>
    %expanded = tensor.expand_shape %5 [[0, 1]] output_shape [6, 1] : tensor<6xi64> into tensor<6x1xi64>
    %8 = tensor.empty() : tensor<2xi64>
    %9 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%8 : tensor<2xi64>) {
    ^bb0(%out: i64):
      %19 = linalg.index 0 : index
      %20 = arith.index_cast %19 : index to i64
      linalg.yield %20 : i64
    } -> tensor<2xi64>
    %expanded_2 = tensor.expand_shape %9 [[0, 1, 2]] output_shape [2, 1, 1] : tensor<2xi64> into tensor<2x1x1xi64>
    %10 = tensor.empty() : tensor<1xi64>
    %11 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%10 : tensor<1xi64>) {
    ^bb0(%out: i64):
      linalg.yield %c0_i64 : i64
    } -> tensor<1xi64>
    %expanded_3 = tensor.expand_shape %11 [[0, 1, 2, 3]] output_shape [1, 1, 1, 1] : tensor<1xi64> into tensor<1x1x1x1xi64>
    %12 = tensor.empty() : tensor<1x2x6x4xf32>
    %13 = linalg.generic {indexing_maps = [#map2, #map3, #map4, #map5, #map6], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_3, %expanded_2, %expanded, %7 : tensor<1x1x1x1xi64>, tensor<2x1x1xi64>, tensor<6x1xi64>, tensor<4xi64>) outs(%12 : tensor<1x2x6x4xf32>) {
    ^bb0(%in: i64, %in_5: i64, %in_6: i64, %in_7: i64, %out: f32):
      %19 = arith.cmpi slt, %in, %c0_i64 : i64
      %20 = arith.addi %in, %c1_i64 : i64
      %21 = arith.select %19, %20, %in : i64
      %22 = arith.index_cast %21 : i64 to index
      %23 = arith.cmpi slt, %in_5, %c0_i64 : i64
      %24 = arith.addi %in_5, %c2_i64 : i64
      %25 = arith.select %23, %24, %in_5 : i64
      %26 = arith.index_cast %25 : i64 to index
      %27 = arith.cmpi slt, %in_6, %c0_i64 : i64
      %28 = arith.addi %in_6, %c4_i64 : i64
      %29 = arith.select %27, %28, %in_6 : i64
      %30 = arith.index_cast %29 : i64 to index
      %31 = arith.cmpi slt, %in_7, %c0_i64 : i64
      %32 = arith.addi %in_7, %c4_i64 : i64
      %33 = arith.select %31, %32, %in_7 : i64
      %34 = arith.index_cast %33 : i64 to index
      %extracted = tensor.extract %arg0[%22, %26, %30, %34] : tensor<1x2x4x4xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x2x6x4xf32>
    %14 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%0 : tensor<6xi64>) {
    ^bb0(%out: i64):
      %19 = linalg.index 0 : index
      %20 = arith.index_cast %19 : index to i64
      linalg.yield %20 : i64
    } -> tensor<6xi64>
    %expanded_4 = tensor.expand_shape %14 [[0, 1]] output_shape [6, 1] : tensor<6xi64> into tensor<6x1xi64>
    %15 = tensor.empty() : tensor<1x2x6x6xf32>
    %16 = linalg.generic {indexing_maps = [#map2, #map3, #map4, #map5, #map6], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_3, %expanded_2, %expanded_4, %5 : tensor<1x1x1x1xi64>, tensor<2x1x1xi64>, tensor<6x1xi64>, tensor<6xi64>) outs(%15 : tensor<1x2x6x6xf32>) {
    ^bb0(%in: i64, %in_5: i64, %in_6: i64, %in_7: i64, %out: f32):
      %19 = arith.cmpi slt, %in, %c0_i64 : i64
      %20 = arith.addi %in, %c1_i64 : i64
      %21 = arith.select %19, %20, %in : i64
      %22 = arith.index_cast %21 : i64 to index
      %23 = arith.cmpi slt, %in_5, %c0_i64 : i64
      %24 = arith.addi %in_5, %c2_i64 : i64
      %25 = arith.select %23, %24, %in_5 : i64
      %26 = arith.index_cast %25 : i64 to index
      %27 = arith.cmpi slt, %in_6, %c0_i64 : i64
      %28 = arith.addi %in_6, %c6_i64 : i64
      %29 = arith.select %27, %28, %in_6 : i64
      %30 = arith.index_cast %29 : i64 to index
      %31 = arith.cmpi slt, %in_7, %c0_i64 : i64
      %32 = arith.addi %in_7, %c4_i64 : i64
      %33 = arith.select %31, %32, %in_7 : i64
      %34 = arith.index_cast %33 : i64 to index
      %extracted = tensor.extract %13[%22, %26, %30, %34] : tensor<1x2x6x4xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x2x6x6xf32>
    %17 = tensor.empty() : tensor<1x2x4x4xf32>
    %broadcasted = linalg.broadcast ins(%cst : tensor<2xf32>) outs(%17 : tensor<1x2x4x4xf32>) dimensions = [0, 2, 3] 
    %18 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%16, %cst_0 : tensor<1x2x6x6xf32>, tensor<2x2x3x3xf32>) outs(%broadcasted : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    return %18 : tensor<1x2x4x4xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_2_torch.float32: "0x040000003577193E63A0643E",
      torch_tensor_2_2_3_3_torch.float32: "0x0400000055FC72BD11EB65BEB7D28ABBF4C135BE892C3ABEDAC754BC9CF4103D0FB0C5BD93370F3E60E012BE86005B3E4367253EB6884BBE314870BD8A402E3CB5DB0C3D08FA643DAA6EBD3DB851673C3888EBBDBE6AE43D028667BE1F0E0FBE75AD71BD7523EBBDF6DEA8BDBBD245BEEB5C4DBD475E4E3DB93C1DBEAD2E46BCF2C62C3E857EC6BC27A7D63B0493A6BCE862433D"
    }
  }
#-}
