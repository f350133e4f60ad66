// MaxPool2d(3, 2, ceil_mode=True) on 23x23: torch-mlir pads the bottom/right by 2, but only 11 windows are
// computed; the trailing padding no window reads is dropped, so the pool gives 11x11 like PyTorch (not 12x12).
// RUN: dfcc %s -p lower-to-dataflow | filecheck %s
// CHECK: dataflow.pool %{{.*}} {name = "maxpool0", kind = "max", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x23x23x3xf32>) -> !dataflow.stream<1x11x11x3xf32>
// CHECK: -> tensor<1x3x11x11xf32>
module {
  func.func @main(%arg0: tensor<1x3x23x23xf32>) -> tensor<1x3x11x11xf32> {
    %cst = arith.constant 0xFF800000 : f32
    %padded = tensor.pad %arg0 low[0, 0, 0, 0] high[0, 0, 2, 2] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index, %arg4: index):
      tensor.yield %cst : f32
    } : tensor<1x3x23x23xf32> to tensor<1x3x25x25xf32>
    %0 = tensor.empty() : tensor<1x3x11x11xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x3x11x11xf32>) -> tensor<1x3x11x11xf32>
    %2 = tensor.empty() : tensor<3x3xf32>
    %3 = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%padded, %2 : tensor<1x3x25x25xf32>, tensor<3x3xf32>) outs(%1 : tensor<1x3x11x11xf32>) -> tensor<1x3x11x11xf32>
    return %3 : tensor<1x3x11x11xf32>
  }
}
