// Unpadded grouped 1x1 conv (groups=2): the NGCHW view of the input is read directly, giving one grouped conv.
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK: dataflow.conv %{{.*}} {name = "conv0", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, groups = 2 : i64} : (!dataflow.stream<1x5x5x4xf32>, tensor<8x2x1x1xf32>, tensor<8xf32>) -> !dataflow.stream<1x5x5x8xf32>
// CHECK-NOT: dataflow.reshape
module {
  func.func @main(%arg0: tensor<1x4x5x5xf32>) -> tensor<1x8x5x5xf32> {
    %cst = arith.constant dense_resource<torch_tensor_8_2_1_1_torch.float32> : tensor<8x2x1x1xf32>
    %cst_0 = arith.constant dense_resource<torch_tensor_8_torch.float32> : tensor<8xf32>
    %0 = tensor.empty() : tensor<1x8x5x5xf32>
    %broadcasted = linalg.broadcast ins(%cst_0 : tensor<8xf32>) outs(%0 : tensor<1x8x5x5xf32>) dimensions = [0, 2, 3] 
    %expanded = tensor.expand_shape %arg0 [[0], [1, 2], [3], [4]] output_shape [1, 2, 2, 5, 5] : tensor<1x4x5x5xf32> into tensor<1x2x2x5x5xf32>
    %expanded_1 = tensor.expand_shape %cst [[0, 1], [2], [3], [4]] output_shape [2, 4, 2, 1, 1] : tensor<8x2x1x1xf32> into tensor<2x4x2x1x1xf32>
    %expanded_2 = tensor.expand_shape %broadcasted [[0], [1, 2], [3], [4]] output_shape [1, 2, 4, 5, 5] : tensor<1x8x5x5xf32> into tensor<1x2x4x5x5xf32>
    %1 = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%expanded, %expanded_1 : tensor<1x2x2x5x5xf32>, tensor<2x4x2x1x1xf32>) outs(%expanded_2 : tensor<1x2x4x5x5xf32>) -> tensor<1x2x4x5x5xf32>
    %collapsed = tensor.collapse_shape %1 [[0], [1, 2], [3], [4]] : tensor<1x2x4x5x5xf32> into tensor<1x8x5x5xf32>
    return %collapsed : tensor<1x8x5x5xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_8_2_1_1_torch.float32: "0x04000000BB2533BE0E1221BF54215EBE03DCE53BCB80E53EC891263FAAAA163FC0A4123F8D3133BE8F05EBBE934386BC53A6EE3ED6F0F8BD681386BD6F8C0FBFF9B1F8BE",
      torch_tensor_8_torch.float32: "0x04000000BA6E293D8355233F6F166B3EC3EAC33EE16D26BE7BF4EA3EA84A11BE91CD08BF"
    }
  }
#-}
