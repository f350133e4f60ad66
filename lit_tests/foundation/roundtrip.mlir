// Dataflow IR prints, parses and prints again unchanged (custom types and node syntax).
// RUN: dfcc %s | filecheck %s
// RUN: dfcc %s | dfcc - | filecheck %s

// CHECK-LABEL: func.func @main
// CHECK:       %[[S:.*]] = dataflow.source %{{.*}} {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
// CHECK:       dataflow.weights {name = "w", value = dense<[5.000000e-01, 2.000000e+00]> : tensor<2xf32>} : tensor<2xf32>
// CHECK:       dataflow.map %[[S]] params(%{{.*}} : tensor<2xf32>) {name = "scale"} : !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2x!dataflow.fixed<8, 3, unsigned, rnd_conv, sat>, depth 16> {
// CHECK-NEXT:  ^{{.*}}(%[[X:.*]]: f32, %[[P:.*]]: f32):
// CHECK-NEXT:    %[[Y:.*]] = arith.mulf %[[X]], %[[P]] : f32
// CHECK-NEXT:    dataflow.yield %[[Y]] : f32
// CHECK:       dataflow.sink
func.func @main(%a: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %w = dataflow.weights {name = "w", value = dense<[0.5, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %m = dataflow.map %s params(%w : tensor<2xf32>) {name = "scale"} : !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2x!dataflow.fixed<8, 3, unsigned, rnd_conv, sat>, depth 16> {
  ^bb0(%x: f32, %p: f32):
    %y = arith.mulf %x, %p : f32
    dataflow.yield %y : f32
  }
  %t = dataflow.sink %m {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x2x!dataflow.fixed<8, 3, unsigned, rnd_conv, sat>, depth 16>) -> tensor<1x2x4x4xf32>
  func.return %t : tensor<1x2x4x4xf32>
}
