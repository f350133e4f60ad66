// A global average pool taking 4 whole pixels per beat (both channels each): the 4-pixel input port's 8-lane
// beats go straight in, each channel's 4 values fold into its accumulator in the beat's cycle, and one pixel's
// 2 channels leave; the estimate takes 16 pixels in 4 beats.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate --json | filecheck %s --check-prefix=EST

builtin.module attributes {dataflow.platform = "zcu104"} {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x1x1xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>, pixels = 4 : i64} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %1 = dataflow.reduce %0 {name = "mean0", kind = "mean", dims = array<i64: 1, 2>, coarse = 2 : i64, pixels = 4 : i64} : (!dataflow.stream<1x4x4x2xf32>) -> !dataflow.stream<1x1x1x2xf32>
    %2 = dataflow.sink %1 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x1x1x2xf32>) -> tensor<1x2x1x1xf32>
    func.return %2 : tensor<1x2x1x1xf32>
  }
}

// CHECK: // reduce 'mean0': mean over dims [1, 2] of 1x4x4x2, 4 pixels a beat
// CHECK-NEXT: static void stage_mean0(hls::stream<dfcc::vec<float, 8> >& in, hls::stream<dfcc::vec<float, 2> >& out) {
// CHECK: for (int q = 0; q < 4; q++) {
// CHECK-NEXT: const float v = float(x.data[q * 2 + p]);
// CHECK: if (i1 == 3 && i2 == 0) out.write(y);
// CHECK-NOT: dfcc::lanes<
// CHECK: stage_mean0(input0, output0);

// 16 pixels, 4 a beat: 4 cycles
// EST: "name": "mean0"
// EST: "cycles": 4
