// dataflow-cleanup folds transposes: two that cancel (NCHW -> NHWC -> NCHW) disappear, two that do
// not become one, and one that only moves a size-1 dim becomes a reshape (no buffer).
// RUN: dfcc %s -p dataflow-cleanup | filecheck %s
// CHECK:      %[[A:.*]] = dataflow.source %{{.*}} {name = "a"
// CHECK-NEXT: %[[B:.*]] = dataflow.source %{{.*}} {name = "b"
// CHECK-NEXT: %[[C:.*]] = dataflow.source %{{.*}} {name = "c"
// CHECK-NEXT: %{{.*}} = dataflow.sink %[[A]] {name = "out_a"
// CHECK-NEXT: %[[T:.*]] = dataflow.transpose %[[B]] {name = "b2", perm = array<i64: 2, 0, 1>} : (!dataflow.stream<2x3x4xf32>) -> !dataflow.stream<4x2x3xf32>
// CHECK-NEXT: %{{.*}} = dataflow.sink %[[T]] {name = "out_b"
// CHECK-NEXT: %[[R:.*]] = dataflow.reshape %[[C]] {name = "c1"} : (!dataflow.stream<1x1x4xf32>) -> !dataflow.stream<1x4x1xf32>
// CHECK-NEXT: %{{.*}} = dataflow.sink %[[R]] {name = "out_c"
func.func @main(%a: tensor<1x2x3x4xf32>, %b: tensor<2x3x4xf32>, %c: tensor<1x1x4xf32>) -> (tensor<1x2x3x4xf32>, tensor<4x2x3xf32>, tensor<1x4x1xf32>) {
  %sa = dataflow.source %a {name = "a", perm = array<i64: 0, 1, 2, 3>} : (tensor<1x2x3x4xf32>) -> !dataflow.stream<1x2x3x4xf32>
  %sb = dataflow.source %b {name = "b", perm = array<i64: 0, 1, 2>} : (tensor<2x3x4xf32>) -> !dataflow.stream<2x3x4xf32>
  %sc = dataflow.source %c {name = "c", perm = array<i64: 0, 1, 2>} : (tensor<1x1x4xf32>) -> !dataflow.stream<1x1x4xf32>
  %a1 = dataflow.transpose %sa {name = "a1", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x2x3x4xf32>) -> !dataflow.stream<1x3x4x2xf32>
  %a2 = dataflow.transpose %a1 {name = "a2", perm = array<i64: 0, 3, 1, 2>} : (!dataflow.stream<1x3x4x2xf32>) -> !dataflow.stream<1x2x3x4xf32>
  %ta = dataflow.sink %a2 {name = "out_a", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %b1 = dataflow.transpose %sb {name = "b1", perm = array<i64: 1, 0, 2>} : (!dataflow.stream<2x3x4xf32>) -> !dataflow.stream<3x2x4xf32>
  %b2 = dataflow.transpose %b1 {name = "b2", perm = array<i64: 2, 1, 0>} : (!dataflow.stream<3x2x4xf32>) -> !dataflow.stream<4x2x3xf32>
  %tb = dataflow.sink %b2 {name = "out_b", perm = array<i64: 0, 1, 2>} : (!dataflow.stream<4x2x3xf32>) -> tensor<4x2x3xf32>
  %c1 = dataflow.transpose %sc {name = "c1", perm = array<i64: 0, 2, 1>} : (!dataflow.stream<1x1x4xf32>) -> !dataflow.stream<1x4x1xf32>
  %tc = dataflow.sink %c1 {name = "out_c", perm = array<i64: 0, 1, 2>} : (!dataflow.stream<1x4x1xf32>) -> tensor<1x4x1xf32>
  func.return %ta, %tb, %tc : tensor<1x2x3x4xf32>, tensor<4x2x3xf32>, tensor<1x4x1xf32>
}
