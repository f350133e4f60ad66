// A 16-bit hardswish, x * clamp(x + 3, 0, 6) / 6, divides by 3 with one multiplication by a constant
// (Granlund & Montgomery), not a ROM of 2^16 words: p = floor(x * clamp / 2 * 2^8) lies in [-288, 98,301],
// biased by -288 to [0, 98,589], and floor(p / 3) = (p * 43,691) >> 17 there. Two lanes: the product (16 x 17
// bits) and the divider (18 x 17) take a DSP48 each per lane, 4 DSP, no block RAM.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate --json | filecheck %s --check-prefix=EST

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2x!dataflow.fixed<16, 8>>
    %1 = dataflow.map %0 {name = "hardswish", coarse = 2 : i64} : !dataflow.stream<1x4x4x2x!dataflow.fixed<16, 8>> -> !dataflow.stream<1x4x4x2x!dataflow.fixed<16, 8>> {
    ^bb0(%x: f32):
      %c3 = arith.constant 3.000000e+00 : f32
      %a = arith.addf %x, %c3 : f32
      %c0 = arith.constant 0.000000e+00 : f32
      %lt = arith.cmpf ult, %a, %c0 : f32
      %lo = arith.select %lt, %c0, %a : f32
      %c6 = arith.constant 6.000000e+00 : f32
      %gt = arith.cmpf ugt, %lo, %c6 : f32
      %hi = arith.select %gt, %c6, %lo : f32
      %m = arith.mulf %x, %hi : f32
      %d6 = arith.constant 6.000000e+00 : f32
      %y = arith.divf %m, %d6 : f32
      dataflow.yield %y : f32
    }
    %2 = dataflow.sink %1 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x2x!dataflow.fixed<16, 8>>) -> tensor<1x2x4x4xf32>
    func.return %2 : tensor<1x2x4x4xf32>
  }
}

// CHECK: // map 'hardswish' (exact)
// CHECK: const ap_fixed<33, 17> v8 = a0 * v7;
// CHECK: floor(p / 3) = (p * 43691) >> 17 for 0 <= p <= 98589
// CHECK: const ap_ufixed<33, 33> v11_q = v11_b * ap_ufixed<16, 16>(43691.0);
// CHECK-NOT: t_hardswish

// EST: "name": "hardswish"
// EST: "DSP": 4
// EST-NEXT: "BRAM18": 0
