// A conv whose multipliers are split (dataflow.dsp_share = 50 of its 4 MAC lanes on DSPs, the rest in
// fabric): the HLS call builds that split (split_mul<2>), the estimate costs it, and a share out of 1..99
// or on a node that cannot split is refused.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate | filecheck %s --check-prefix=EST
// RUN: sed 's/dsp_share" = 50/dsp_share" = 100/' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=RANGE
// RUN: sed 's/"dataflow.mult_impl" = "lut", //' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=IMPL

builtin.module attributes {dataflow.platform = "zcu104"} {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %w0 = dataflow.weights {value = dense<0.25> : tensor<4x2x3x3xf32>, name = "conv0_w"} : tensor<4x2x3x3xf32>
    %1 = dataflow.conv %0, %w0 {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_out = 4 : i64, "dataflow.mult_impl" = "lut", "dataflow.dsp_share" = 50 : i64} : (!dataflow.stream<1x4x4x2xf32>, tensor<4x2x3x3xf32>) -> !dataflow.stream<1x4x4x4xf32>
    %2 = dataflow.sink %1 {name = "output0", perm = array<i64: 0, 3, 1, 2>} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    func.return %2 : tensor<1x4x4x4xf32>
  }
}

// CHECK: dfcc::split_mul<2>
// EST: conv0
// EST-SAME: m:dsp 50%+lut
// RANGE: dataflow.dsp_share must be a percent in 1..99
// IMPL: dataflow.dsp_share needs mult_impl = lut
