// A conv whose output stream does not match its window geometry is rejected.
// RUN: not dfcc %s 2>&1 | filecheck %s
// CHECK: dfcc: error: {{.*}}invalid IR: dataflow.conv 'conv0': output shape (1, 4, 4, 4), expected (1, 2, 2, 4)
func.func @main(%a: tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %w = dataflow.weights {name = "conv0_w", value = dense<0.5> : tensor<4x2x3x3xf32>} : tensor<4x2x3x3xf32>
  %c = dataflow.conv %s, %w {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x4x4x2xf32>, tensor<4x2x3x3xf32>) -> !dataflow.stream<1x4x4x4xf32>
  %t = dataflow.sink %c {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  func.return %t : tensor<1x4x4x4xf32>
}
