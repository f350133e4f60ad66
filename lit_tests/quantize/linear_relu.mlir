// RUN: dfcc %s -p 'quantize{weight-bits=8 act-bits=8}' 2>&1 | filecheck %s
// RUN: dfcc %s -pass-pipeline='builtin.module(quantize{weight-bits=4 act-bits=6 acc-bits=16 rounding=rnd_conv overflow=wrap})' 2>/dev/null | filecheck %s --check-prefix=NARROW
// RUN: dfcc %s -p 'quantize{weight-bits=8 act-bits=8 per-channel=true override=linear0:w4a12}' 2>/dev/null | filecheck %s --check-prefix=CHANNEL

// Without calibration data the pass says it calibrates on random inputs (32 for so small an input).
// CHECK: remark: quantize: no calibration=FILE.npz given; calibrating @main on 32 standard-normal random input(s) of shape 1x4
// ... and reports the per-node error it measured (details: -t quant-report).
// CHECK: remark: quantize: @main: lowest output SQNR {{[0-9.]+}} dB at

// Streams carry fixed-point types: the input ~ N(0,1) needs 3 integer bits (sign included).
// CHECK: dataflow.source {{.*}} -> !dataflow.stream<1x4x!dataflow.fixed<8, 3, rnd, sat>>
// Weights are quantized offline and carry their format; w in [-0.5, 0.75] needs 1 integer bit.
// CHECK: dataflow.weights {{.*}}name = "w", format = !dataflow.fixed<8, 1, rnd, sat>}
// The bias sits on the accumulator's grid (5 + 7 = 12 fractional bits).
// CHECK: dataflow.weights {{.*}}name = "b", format = !dataflow.fixed<12, 0, rnd, sat>}
// The accumulator never overflows: 12 fractional bits + the worst case over all inputs in
// [-4, 4): |acc| <= 4 * (0.75 + 0.5 + 0.25 + 0.125) + 0.1 = 6.6 -> 4 integer bits (sign included).
// CHECK: dataflow.linear {{.*}}acc_format = !dataflow.fixed<16, 4>}
// CHECK-SAME: -> !dataflow.stream<1x3x!dataflow.fixed<8, {{-?[0-9]+}}, rnd, sat>>
// ReLU's output never goes negative: unsigned.
// CHECK: dataflow.map {{.*}} -> !dataflow.stream<1x3x!dataflow.fixed<8, {{-?[0-9]+}}, unsigned, rnd, sat>>
// The sink turns the fixed-point stream back into a float tensor.
// CHECK: dataflow.sink {{.*}} : (!dataflow.stream<1x3x!dataflow.fixed<8, {{.*}}>>) -> tensor<1x3xf32>

// NARROW: dataflow.source {{.*}}!dataflow.fixed<6, 3, rnd_conv>>
// NARROW: format = !dataflow.fixed<4, 1, rnd, sat>
// A 16-bit accumulator keeps the 3 + 3 fractional bits of the products and wraps.
// NARROW: dataflow.linear {{.*}}acc_format = !dataflow.fixed<16, 10>}

// Per output channel: max |w| 0.75, 0.3, 0.2 -> 1, 0, -1 integer bits.
// CHANNEL: dataflow.weights {{.*}}name = "w", format = [!dataflow.fixed<4, 1, rnd, sat>, !dataflow.fixed<4, 0, rnd, sat>, !dataflow.fixed<4, -1, rnd, sat>]}
// CHANNEL: dataflow.linear {{.*}}-> !dataflow.stream<1x3x!dataflow.fixed<12,
// CHANNEL: dataflow.map {{.*}}-> !dataflow.stream<1x3x!dataflow.fixed<8,

builtin.module {
  func.func @main(%arg0: tensor<1x4xf32>) -> tensor<1x3xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 1>} : (tensor<1x4xf32>) -> !dataflow.stream<1x4xf32>
    %1 = dataflow.weights {value = dense<[[0.75, -0.5, 0.25, 0.125], [0.3, -0.2, 0.1, 0.05], [0.1, 0.2, -0.15, 0.01]]> : tensor<3x4xf32>, name = "w"} : tensor<3x4xf32>
    %2 = dataflow.weights {value = dense<[0.1, -0.2, 0.3]> : tensor<3xf32>, name = "b"} : tensor<3xf32>
    %3 = dataflow.linear %0, %1, %2 {name = "linear0"} : (!dataflow.stream<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> !dataflow.stream<1x3xf32>
    %4 = dataflow.map %3 {name = "relu0"} : !dataflow.stream<1x3xf32> -> !dataflow.stream<1x3xf32> {
    ^bb0(%x: f32):
      %zero = arith.constant 0.000000e+00 : f32
      %r = arith.maximumf %x, %zero : f32
      dataflow.yield %r : f32
    }
    %5 = dataflow.sink %4 {name = "output0", perm = array<i64: 0, 1>} : (!dataflow.stream<1x3xf32>) -> tensor<1x3xf32>
    func.return %5 : tensor<1x3xf32>
  }
}
