// The emitted C++ of a reflect pad (a ring of rows) feeding a nearest upsampling and a channel concat.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp

builtin.module {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x4x12x12xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %1 = dataflow.pad %0 {name = "pad0", mode = "reflect", pad = array<i64: 0, 0, 1, 1, 1, 1, 0, 0>} : (!dataflow.stream<1x4x4x2xf32>) -> !dataflow.stream<1x6x6x2xf32>
    %2, %3 = dataflow.fork %1 {name = "fork0"} : (!dataflow.stream<1x6x6x2xf32>) -> (!dataflow.stream<1x6x6x2xf32>, !dataflow.stream<1x6x6x2xf32>)
    %4 = dataflow.resize %2 {name = "up0", mode = "nearest", scale = array<i64: 1, 2, 2, 1>} : (!dataflow.stream<1x6x6x2xf32>) -> !dataflow.stream<1x12x12x2xf32>
    %5 = dataflow.resize %3 {name = "up1", mode = "nearest", scale = array<i64: 1, 2, 2, 1>} : (!dataflow.stream<1x6x6x2xf32>) -> !dataflow.stream<1x12x12x2xf32>
    %6 = dataflow.concat %4, %5 {name = "concat0", axis = 3 : i64} : (!dataflow.stream<1x12x12x2xf32>, !dataflow.stream<1x12x12x2xf32>) -> !dataflow.stream<1x12x12x4xf32>
    %7 = dataflow.sink %6 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x12x12x4xf32>) -> tensor<1x4x12x12xf32>
    func.return %7 : tensor<1x4x12x12xf32>
  }
}

// CHECK:      // pad 'pad0': reflect [0, 0, 1, 1, 1, 1, 0, 0] of 1x4x4x2, a ring of 2 row(s) of 8
// CHECK-NEXT: static int src_pad0(int i, int n, int lo) {
// CHECK-NEXT:     const int j = i - lo;
// CHECK-NEXT:     return j < 0 ? -j : (j >= n ? 2 * (n - 1) - j : j);
// CHECK:      static void stage_pad0(hls::stream<dfcc::vec<float, 1> >& in, hls::stream<dfcc::vec<float, 1> >& out) {
// CHECK-NEXT:     static float ring[2][8];
// CHECK:                  ring[have % 2][b * 1 + p] = x.data[p];
// CHECK:                  y.data[p] = (r < 0 || s3 < 0 || s2 < 0) ? float(0.0) : float(ring[r % 2][s2 * 2 + s3]);
// CHECK:      void top(
// CHECK:          stage_pad0(input0, s_pad0);  // pad0
// CHECK-NEXT:     dfcc::fork_each<72, 1>(s_pad0, s_fork0_0, s_fork0_1);  // fork0
// CHECK-NEXT:     dfcc::upsample_nearest<6, 6, 2, 2, 2, 1, float, float>(s_fork0_0, s_up0);  // up0
// CHECK-NEXT:     dfcc::upsample_nearest<6, 6, 2, 2, 2, 1, float, float>(s_fork0_1, s_up1);  // up1
// CHECK-NEXT:     dfcc::concat_blocks<144, 2, 2, 1, float, float, float>(s_up0, s_up1, output0);  // concat0
