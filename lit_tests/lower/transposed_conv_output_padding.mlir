// ConvTranspose2d(k=3, s=2, padding=1, output_padding=1) on 3x3 -> 6x6 by phases. Along each axis the
// even outputs meet the middle tap (input q), the odd ones the outer two (inputs q and q+1): a 2-wide
// window from input q, one row and column of zero padding after the input for the last odd output,
// and 3 outputs per phase (3*2 = 6, nothing to slice off).
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK-NOT: dataflow.resize
// CHECK: %{{.*}} = dataflow.conv %{{.*}}, %{{.*}}, %{{.*}} {name = "conv0", kernel = array<i64: 2, 2>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 1, 0, 1>} : (!dataflow.stream<1x3x3x2xf32>, tensor<12x2x2x2xf32>, tensor<12xf32>) -> !dataflow.stream<1x3x3x12xf32>
// CHECK-NEXT: %{{.*}} = dataflow.depth_to_space %{{.*}} {name = "depth_to_space0", scale = array<i64: 2, 2>} : (!dataflow.stream<1x3x3x12xf32>) -> !dataflow.stream<1x6x6x3xf32>
// CHECK-NEXT: dataflow.sink
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @main(%arg0: tensor<1x2x3x3xf32>) -> tensor<1x3x6x6xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense_resource<torch_tensor_2_3_3_3_torch.float32> : tensor<2x3x3x3xf32>
    %cst_1 = arith.constant dense_resource<torch_tensor_3_torch.float32> : tensor<3xf32>
    %c2 = arith.constant 2 : index
    %0 = tensor.empty() : tensor<3x2x3x3xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3x2x3x3xf32>) -> tensor<3x2x3x3xf32>
    %2 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%1 : tensor<3x2x3x3xf32>) {
    ^bb0(%out: f32):
      %7 = linalg.index 0 : index
      %8 = linalg.index 1 : index
      %9 = linalg.index 2 : index
      %10 = linalg.index 3 : index
      %11 = arith.subi %c2, %9 : index
      %12 = arith.subi %c2, %10 : index
      %extracted = tensor.extract %cst_0[%8, %7, %11, %12] : tensor<2x3x3x3xf32>
      linalg.yield %extracted : f32
    } -> tensor<3x2x3x3xf32>
    %3 = tensor.empty() : tensor<1x2x8x8xf32>
    %4 = linalg.fill ins(%cst : f32) outs(%3 : tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
    %inserted_slice = tensor.insert_slice %arg0 into %4[0, 0, 1, 1] [1, 2, 3, 3] [1, 1, 2, 2] : tensor<1x2x3x3xf32> into tensor<1x2x8x8xf32>
    %5 = tensor.empty() : tensor<1x3x6x6xf32>
    %broadcasted = linalg.broadcast ins(%cst_1 : tensor<3xf32>) outs(%5 : tensor<1x3x6x6xf32>) dimensions = [0, 2, 3] 
    %6 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%inserted_slice, %2 : tensor<1x2x8x8xf32>, tensor<3x2x3x3xf32>) outs(%broadcasted : tensor<1x3x6x6xf32>) -> tensor<1x3x6x6xf32>
    return %6 : tensor<1x3x6x6xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_2_3_3_3_torch.float32: "0x040000008BDABCBAC56ED33D543222BEDB0711BECCCD97BDC461533D56E479BBFC401C3ED7E88BBC6E96503D293A6EBD9CF21ABDFC443CBEE48302BE0379A2BDB69AE93B09D19B3DDD7DEC3DE29905BEE2A1ABBD58288F3DC5A4233E2D3A22BD0E78133E221DFEBC43D2A63CF270323EA2D036BEEC1FF8BD619047BD88A299BD87442A3EDB78FFBD416FB5BD28AE09BE299138BEFD12E6BD6966293E1CDFAF3D1C07BF3D9AD3253C6511CABD395D053D8F0038BE34650EBE9A30CBBD2EADF83D6317E73D54CCAEBDFC8AE3BB3613FC3DA8E9433E206D9C3D15FBD43C",
      torch_tensor_3_torch.float32: "0x04000000CB21043EBA11E8BDF4E3123D"
    }
  }
#-}

