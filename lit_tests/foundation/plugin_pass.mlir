// A pass defined outside dfcc (examples/plugins/set_folding.py) runs in a pipeline like a built-in one.
// RUN: dfcc %s --load-pass-plugin %examples/plugins/set_folding.py -p 'set-folding{node=conv0 coarse-out=2 fine=3}' | filecheck %s
// RUN: not dfcc %s --load-pass-plugin %examples/plugins/set_folding.py -p 'set-folding{node=conv0 coarse-out=5}' 2>&1 | filecheck %s --check-prefix=ILLEGAL
// CHECK: dataflow.conv {{.*}}coarse_out = 2 : i64, fine = 3 : i64
// ILLEGAL: dfcc: error: pass 'set-folding' produced invalid IR: {{.*}}coarse_out=5 must be in 1..4
func.func @main(%a: tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %w = dataflow.weights {name = "conv0_w", value = dense<0.5> : tensor<4x2x3x3xf32>} : tensor<4x2x3x3xf32>
  %c = dataflow.conv %s, %w {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x4x4x2xf32>, tensor<4x2x3x3xf32>) -> !dataflow.stream<1x4x4x4xf32>
  %t = dataflow.sink %c {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  func.return %t : tensor<1x4x4x4xf32>
}
