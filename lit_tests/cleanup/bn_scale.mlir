// dataflow-cleanup on batch norms no conv precedes. BN: (x - mean) * invstd * gamma + beta, per channel
// mean (0.5, -1), invstd (2, 0.5), beta (0.25, -0.5): scale a = invstd * gamma, shift b = beta - mean * a.
// bn (gamma 1.5, 0.25: a = (3, 0.125) > 0, b = (-1.25, -0.375)) -> ReLU -> conv: ReLU(a x + b) = a ReLU(x + b/a),
// so the fused map adds b/a = (-0.41667, -3) and compares, no product; conv's weights (1, 2) become (3, 0.25).
// bn2 (gamma -1.5, 0.25: a = (-3, 0.125), b = (1.75, -0.375)) -> max(., 0) -> output: a channel's a < 0 (and no
// conv reads it), so it keeps x * a + b: one product a lane instead of two.
// RUN: dfcc %s -p dataflow-cleanup | filecheck %s
// CHECK:       %[[S:.*]] = dataflow.source %a
// CHECK-NEXT:  %[[C:.*]] = dataflow.weights {value = dense_resource<dfcc_relu_shift> : tensor<2xf32>
// CHECK-NEXT:  %[[R:.*]] = dataflow.map %[[S]] params(%[[C]] : tensor<2xf32>) {name = "relu"}
// CHECK-NEXT:  ^{{.*}}(%[[X:.*]]: f32, %[[P:.*]]: f32):
// CHECK-NEXT:    %[[Y:.*]] = arith.addf %[[X]], %[[P]] : f32
// CHECK-NOT:     arith.mulf
// CHECK:         arith.cmpf ugt, %[[Y]]
// CHECK:       %[[W:.*]] = dataflow.weights {value = dense_resource<dfcc_conv_w>
// CHECK-NEXT:  dataflow.conv %[[R]], %[[W]] {name = "conv"
// CHECK:       %[[S2:.*]] = dataflow.source %b
// CHECK:       dataflow.map %[[S2]] params(%{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2xf32>) {name = "bn2"}
// CHECK-NEXT:  ^{{.*}}(%[[X2:.*]]: f32, %[[A:.*]]: f32, %[[B:.*]]: f32):
// CHECK-NEXT:    %[[M:.*]] = arith.mulf %[[X2]], %[[A]] : f32
// CHECK-NEXT:    %[[Y2:.*]] = arith.addf %[[M]], %[[B]] : f32
// CHECK-NOT:     arith.mulf
// CHECK:         arith.maximumf %[[Y2]]
// float32 little-endian after the 4-byte alignment: -3 = C0400000, 0.125 = 3E000000, 1.75 = 3FE00000,
// -0.375 = BEC00000, 3 = 40400000, 0.25 = 3E800000, -0.41667 = BED55555
// CHECK:       dfcc_bn2_scale: "0x04000000000040C00000003E"
// CHECK-SAME:  dfcc_bn2_shift: "0x040000000000E03F0000C0BE"
// CHECK-SAME:  dfcc_conv_w: "0x04000000000040400000803E"
// CHECK-SAME:  dfcc_relu_shift: "0x040000005555D5BE000040C0"
func.func @main(%a: tensor<1x2x4x4xf32>, %b: tensor<1x2x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x2x4x4xf32>) {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %mean = dataflow.weights {name = "mean", value = dense<[0.5, -1.0]> : tensor<2xf32>} : tensor<2xf32>
  %invstd = dataflow.weights {name = "invstd", value = dense<[2.0, 0.5]> : tensor<2xf32>} : tensor<2xf32>
  %gamma = dataflow.weights {name = "gamma", value = dense<[1.5, 0.25]> : tensor<2xf32>} : tensor<2xf32>
  %beta = dataflow.weights {name = "beta", value = dense<[0.25, -0.5]> : tensor<2xf32>} : tensor<2xf32>
  %bn = dataflow.map %s params(%mean, %invstd, %gamma, %beta : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {name = "bn"} : !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2xf32> {
  ^bb0(%x: f32, %m: f32, %i: f32, %g: f32, %be: f32):
    %0 = arith.subf %x, %m : f32
    %1 = arith.mulf %0, %i : f32
    %2 = arith.mulf %1, %g : f32
    %3 = arith.addf %2, %be : f32
    dataflow.yield %3 : f32
  }
  %relu = dataflow.map %bn {name = "relu"} : !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2xf32> {
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    %c = arith.cmpf ugt, %x, %z : f32
    %y = arith.select %c, %x, %z : f32
    dataflow.yield %y : f32
  }
  %w = dataflow.weights {name = "conv_w", value = dense<[[[[1.0]], [[2.0]]]]> : tensor<1x2x1x1xf32>} : tensor<1x2x1x1xf32>
  %conv = dataflow.conv %relu, %w {name = "conv", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x4x4x2xf32>, tensor<1x2x1x1xf32>) -> !dataflow.stream<1x4x4x1xf32>
  %t0 = dataflow.sink %conv {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x1xf32>) -> tensor<1x1x4x4xf32>
  %s2 = dataflow.source %b {name = "input1", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
  %gamma2 = dataflow.weights {name = "gamma2", value = dense<[-1.5, 0.25]> : tensor<2xf32>} : tensor<2xf32>
  %bn2 = dataflow.map %s2 params(%mean, %invstd, %gamma2, %beta : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {name = "bn2"} : !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2xf32> {
  ^bb0(%x: f32, %m: f32, %i: f32, %g: f32, %be: f32):
    %0 = arith.subf %x, %m : f32
    %1 = arith.mulf %0, %i : f32
    %2 = arith.mulf %1, %g : f32
    %3 = arith.addf %2, %be : f32
    %z = arith.constant 0.0 : f32
    %y = arith.maximumf %3, %z : f32
    dataflow.yield %y : f32
  }
  %t1 = dataflow.sink %bn2 {name = "output1", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x2xf32>) -> tensor<1x2x4x4xf32>
  func.return %t0, %t1 : tensor<1x1x4x4xf32>, tensor<1x2x4x4xf32>
}
