// dataflow-cleanup on its own: two chained maps fuse into one, a weights op nobody reads goes.
// (Its fork insertion shows in the lowering tests: a stream read twice is invalid IR in a file.)
// RUN: dfcc %s -p dataflow-cleanup | filecheck %s
// CHECK-NOT:   dataflow.weights {name = "unused"
// CHECK:       %[[S:.*]] = dataflow.source
// CHECK:       dataflow.map %[[S]] {name = "double"} : !dataflow.stream<1x4xf32> -> !dataflow.stream<1x4xf32> {
// CHECK-NEXT:  ^{{.*}}(%[[X:.*]]: f32):
// CHECK:         arith.maximumf
// CHECK:         arith.mulf
// CHECK:         dataflow.yield
// CHECK-NOT:   dataflow.map
// CHECK:       dataflow.sink
func.func @main(%a: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 1>} : (tensor<1x4xf32>) -> !dataflow.stream<1x4xf32>
  %u = dataflow.weights {name = "unused", value = dense<1.0> : tensor<4xf32>} : tensor<4xf32>
  %r = dataflow.map %s {name = "relu"} : !dataflow.stream<1x4xf32> -> !dataflow.stream<1x4xf32> {
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    %y = arith.maximumf %x, %z : f32
    dataflow.yield %y : f32
  }
  %m = dataflow.map %r {name = "double"} : !dataflow.stream<1x4xf32> -> !dataflow.stream<1x4xf32> {
  ^bb0(%x: f32):
    %two = arith.constant 2.0 : f32
    %y = arith.mulf %x, %two : f32
    dataflow.yield %y : f32
  }
  %t0 = dataflow.sink %m {name = "output0", perm = array<i64: 0, 1>} : (!dataflow.stream<1x4xf32>) -> tensor<1x4xf32>
  func.return %t0 : tensor<1x4xf32>
}
