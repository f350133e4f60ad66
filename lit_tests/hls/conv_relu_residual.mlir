// The shape of the emitted C++ for a small graph: conv -> relu -> fork -> (conv, skip) -> add.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: filecheck %s --check-prefix=HDR --input-file %t/top.h
// RUN: filecheck %s --check-prefix=TCL --input-file %t/run_hls.tcl

builtin.module attributes {dataflow.platform = "zcu104"} {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %w0 = dataflow.weights {value = dense<0.25> : tensor<2x2x3x3xf32>, name = "conv0_w"} : tensor<2x2x3x3xf32>
    %b0 = dataflow.weights {value = dense<[0.5, -0.5]> : tensor<2xf32>, name = "conv0_b"} : tensor<2xf32>
    %1 = dataflow.conv %0, %w0, %b0 {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_out = 2 : i64} : (!dataflow.stream<1x4x4x2xf32>, tensor<2x2x3x3xf32>, tensor<2xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %2 = dataflow.map %1 {name = "relu0"} : !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2xf32> {
    ^bb0(%x: f32):
      %zero = arith.constant 0.000000e+00 : f32
      %m = arith.maximumf %x, %zero : f32
      dataflow.yield %m : f32
    }
    %3, %4 = dataflow.fork %2 {name = "fork0"} : (!dataflow.stream<1x4x4x2xf32>) -> (!dataflow.stream<1x4x4x2xf32>, !dataflow.stream<1x4x4x2xf32, depth 40>)
    %5 = dataflow.conv %3, %w0 {name = "conv1", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x4x4x2xf32>, tensor<2x2x3x3xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %6 = dataflow.map %5, %4 {name = "add0"} : !dataflow.stream<1x4x4x2xf32>, !dataflow.stream<1x4x4x2xf32, depth 40> -> !dataflow.stream<1x4x4x2xf32> {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      dataflow.yield %s : f32
    }
    %7 = dataflow.sink %6 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x2xf32>) -> tensor<1x2x4x4xf32>
    func.return %7 : tensor<1x2x4x4xf32>
  }
}

// CHECK:      #include "top.h"
// CHECK:      #include "weights/w_conv0_w_conv0.h"
// CHECK:      struct relu0_body {
// CHECK-NEXT:     static float apply(const float& a0) {
// CHECK-NEXT:         const float v0 = 0.0f;
// CHECK-NEXT:         const float v1 = (a0 > v0 ? a0 : v0);
// CHECK:      static void stage_relu0(hls::stream<dfcc::vec<float, 1> >& in0, hls::stream<dfcc::vec<float, 1> >& out) {
// CHECK:      DFCC_HLS(PIPELINE II=1)
// CHECK:      struct add0_body {
// CHECK-NEXT:     static float apply(const float& a0, const float& a1) {
// CHECK-NEXT:         const float v0 = a0 + a1;
// CHECK:      static void stage_add0(hls::stream<dfcc::vec<float, 1> >& in0, hls::stream<dfcc::vec<float, 1> >& in1, hls::stream<dfcc::vec<float, 1> >& out) {
// CHECK:      void top(hls::stream<dfcc::vec<float, 1> >& input0, hls::stream<dfcc::vec<float, 1> >& output0) {
// CHECK-NEXT:     DFCC_HLS(INTERFACE axis port=input0)
// CHECK-NEXT:     DFCC_HLS(INTERFACE axis port=output0)
// CHECK-NEXT:     DFCC_HLS(DATAFLOW)
// CHECK:          hls::stream<dfcc::vec<float, 2> > s_conv0("s_conv0");
// CHECK-NEXT:     DFCC_HLS(STREAM variable=s_conv0 depth=2)
// CHECK:          hls::stream<dfcc::vec<float, 1> > s_fork0_1("s_fork0_1");
// CHECK-NEXT:     DFCC_HLS(STREAM variable=s_fork0_1 depth=40)
// CHECK:          dfcc::weight_rom<16, 18, 1>(w_conv0_w_conv0, conv0_words);  // conv0
// conv0's window stream is 3 deep (kinds/conv.py window_depth: the walk's gaps between rows), conv1's 2 (no gap
// stalls its 18 MAC cycles a window beat)
// CHECK-NEXT:     dfcc::conv<dfcc::geom<4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1>, 2, 1, 1, 2, 1, 3, float, float, float, float, float>(input0, s_conv0, conv0_words, w_conv0_b);  // conv0
// CHECK-NEXT:     dfcc::lanes<32, 2, 1>(s_conv0, [[CONV:.*]]);
// CHECK-NEXT:     stage_relu0([[CONV]], s_relu0);  // relu0
// CHECK-NEXT:     dfcc::fork_each<32, 1>(s_relu0, s_fork0_0, s_fork0_1);  // fork0
// CHECK-NEXT:     dfcc::weight_rom<16, 36, 1>(w_conv0_w_conv1, conv1_words);  // conv1
// CHECK-NEXT:     dfcc::conv<{{.*}}, 1, 1, 2, float, {{.*}}>(s_fork0_0, s_conv1, conv1_words, b_conv1_zero);  // conv1
// CHECK-NEXT:     stage_add0(s_conv1, s_fork0_1, output0);  // add0
// CHECK-NEXT: }

// HDR: void top(hls::stream<dfcc::vec<float, 1> >& input0, hls::stream<dfcc::vec<float, 1> >& output0);

// TCL: set_top top
// TCL: csim_design
// TCL: csynth_design
// TCL: cosim_design
// TCL: export_design -format ip_catalog
