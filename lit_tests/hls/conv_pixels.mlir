// Spatial parallelism: a graph input and a conv taking 2 whole pixels per beat (all 2 channels in, all 2
// filters out) become a 4-lane port and one dfcc::conv_px stage; the estimate halves the conv's window walk.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate --json | filecheck %s --check-prefix=EST

builtin.module attributes {dataflow.platform = "zcu104"} {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>, pixels = 2 : i64} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %w0 = dataflow.weights {value = dense<0.25> : tensor<2x2x3x3xf32>, name = "conv0_w"} : tensor<2x2x3x3xf32>
    %1 = dataflow.conv %0, %w0 {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64, coarse_out = 2 : i64, fine = 9 : i64, pixels = 2 : i64} : (!dataflow.stream<1x4x4x2xf32>, tensor<2x2x3x3xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %2 = dataflow.sink %1 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x2xf32>) -> tensor<1x2x4x4xf32>
    func.return %2 : tensor<1x2x4x4xf32>
  }
}

// CHECK: hls::stream<dfcc::vec<float, 4> >& input0
// CHECK: dfcc::conv_px<dfcc::geom<4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1>, 2, 1, 2, 9,
// CHECK-NOT: dfcc::conv<

// the padded 6x6 image walked 2 columns a step: 6 rows x 3 steps = 18 cycles (8 output beats of one MAC cycle each)
// EST: "name": "conv0"
// EST: "cycles": 18
