// ConvTranspose2d(k=2, s=2): by phases, not over a zero-inserted input. Each of the 2x2 output phases
// meets one kernel tap, so the 4 phases are one 1x1 conv with 4*3 filters over the 3x3 input (3*3*12*2
// = 216 MACs instead of 6*6*3*2*4 = 864), interleaved by depth_to_space into the 6x6 output.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK-NOT: dataflow.resize
// CHECK: %{{.*}} = dataflow.conv %{{.*}}, %{{.*}}, %{{.*}} {name = "conv0", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x3x3x2xf32>, tensor<12x2x1x1xf32>, tensor<12xf32>) -> !dataflow.stream<1x3x3x12xf32>
// CHECK-NEXT: %{{.*}} = dataflow.depth_to_space %{{.*}} {name = "depth_to_space0", scale = array<i64: 2, 2>} : (!dataflow.stream<1x3x3x12xf32>) -> !dataflow.stream<1x6x6x3xf32>
// CHECK-NEXT: dataflow.sink
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @main(%arg0: tensor<1x2x3x3xf32>) -> tensor<1x3x6x6xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense_resource<torch_tensor_2_3_2_2_torch.float32> : tensor<2x3x2x2xf32>
    %cst_1 = arith.constant dense_resource<torch_tensor_3_torch.float32> : tensor<3xf32>
    %c1 = arith.constant 1 : index
    %0 = tensor.empty() : tensor<3x2x2x2xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3x2x2x2xf32>) -> tensor<3x2x2x2xf32>
    %2 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%1 : tensor<3x2x2x2xf32>) {
    ^bb0(%out: f32):
      %7 = linalg.index 0 : index
      %8 = linalg.index 1 : index
      %9 = linalg.index 2 : index
      %10 = linalg.index 3 : index
      %11 = arith.subi %c1, %9 : index
      %12 = arith.subi %c1, %10 : index
      %extracted = tensor.extract %cst_0[%8, %7, %11, %12] : tensor<2x3x2x2xf32>
      linalg.yield %extracted : f32
    } -> tensor<3x2x2x2xf32>
    %3 = tensor.empty() : tensor<1x2x7x7xf32>
    %4 = linalg.fill ins(%cst : f32) outs(%3 : tensor<1x2x7x7xf32>) -> tensor<1x2x7x7xf32>
    %inserted_slice = tensor.insert_slice %arg0 into %4[0, 0, 1, 1] [1, 2, 3, 3] [1, 1, 2, 2] : tensor<1x2x3x3xf32> into tensor<1x2x7x7xf32>
    %5 = tensor.empty() : tensor<1x3x6x6xf32>
    %broadcasted = linalg.broadcast ins(%cst_1 : tensor<3xf32>) outs(%5 : tensor<1x3x6x6xf32>) dimensions = [0, 2, 3] 
    %6 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%inserted_slice, %2 : tensor<1x2x7x7xf32>, tensor<3x2x2x2xf32>) outs(%broadcasted : tensor<1x3x6x6xf32>) -> tensor<1x3x6x6xf32>
    return %6 : tensor<1x3x6x6xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_2_3_2_2_torch.float32: "0x04000000E8A30DBB13931E3E7E4B73BEC98B59BEB1B4E3BD53899E3D406BBBBB7A616A3E42DDD1BCD2709C3D9EABB2BDEA6B68BDBD338DBED6C543BE84B5F3BD08342F3C8DB9E93D665E313ED26648BE69B900BE83BCD63D2777753E435773BD15345D3E",
      torch_tensor_3_torch.float32: "0x04000000DA953EBD653BFA3CB5D4853E"
    }
  }
#-}
