// Winograd F(2,3) on a DSP-bound 3x3 conv (16 -> 16 at 16x16, 16 bits, ZedBoard's 220 DSPs): explore picks
// winograd = 2 (4 multiplications a kernel row for 2 output columns), the HLS design calls conv.h conv_wino with
// its exact transform types (V 17, U 18, M 43 bits), the estimate reads it back; a float conv is refused it. The
// conv asks for its products one by one (inner_product = direct): FFIP, which takes fewer DSPs still, would win.
// RUN: dfcc %s -p 'quantize{weight-bits=16 act-bits=16},explore{platform=zedboard}' 2>/dev/null | filecheck %s
// RUN: dfcc %s -p 'quantize{weight-bits=16 act-bits=16},explore{platform=zedboard}' -t hls -o %t 2>/dev/null && filecheck %s --check-prefix=HLS --input-file %t/top.cpp
// RUN: dfcc %s -p 'quantize{weight-bits=16 act-bits=16},explore{platform=zedboard}' 2>/dev/null | dfcc - -t estimate | filecheck %s --check-prefix=EST
// RUN: sed 's/pad = array<i64: 1, 1, 1, 1>}/pad = array<i64: 1, 1, 1, 1>, winograd = 2 : i64}/' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=FLOAT

builtin.module {
  func.func @main(%arg0: tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x16x16x16xf32>) -> !dataflow.stream<1x16x16x16xf32>
    %w0 = dataflow.weights {value = dense<0.25> : tensor<16x16x3x3xf32>, name = "conv0_w"} : tensor<16x16x3x3xf32>
    %1 = dataflow.conv %0, %w0 {name = "conv0", "dataflow.inner_product" = "direct", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x16x16x16xf32>, tensor<16x16x3x3xf32>) -> !dataflow.stream<1x16x16x16xf32>
    %2 = dataflow.sink %1 {name = "output0", perm = array<i64: 0, 3, 1, 2>} : (!dataflow.stream<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
    func.return %2 : tensor<1x16x16x16xf32>
  }
}

// CHECK: dataflow.conv
// CHECK-SAME: fine = {{[39]}} : i64, pixels = 1 : i64, tile = 1 : i64, winograd = 2 : i64}
// HLS: dfcc::conv_wino<dfcc::geom<16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1>, 16,
// HLS-SAME: ap_fixed<17, 5>, ap_fixed<18, 1>, ap_fixed<43, 14>,
// EST: conv0
// EST-SAME: winograd=2
// FLOAT: conv 'conv0': winograd=2 (Winograd F(2,3)) needs fixed-point streams (run quantize first)
