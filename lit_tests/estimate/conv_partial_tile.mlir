// A weight-stationary tile need not divide the output pixels: a 1x1 conv over 7x7 = 49 pixels with tile = 10
// takes ceil(49/10) = 5 tiles, the last one 1 pixel past the image idle (conv.h conv_tiled). Hand-computed
// cycles: every input beat is read once, 49 pixels x 64/4 = 784 beats, and each tile takes 10 pixels x 16 channel
// beats x 32/8 filter steps = 640 MAC cycles, then 10 x 4 output beats: 784 + 5 x (640 + 40) = 4,184. The HLS
// call carries the tile as written; the verifier refuses a tile past the output pixels.
// RUN: dfcc %s -t estimate | filecheck %s
// RUN: dfcc %s -t hls -o %t && filecheck %s --check-prefix=HLS --input-file %t/top.cpp
// RUN: sed 's/tile = 10/tile = 50/' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=RANGE

// CHECK: conv {{.*}} ci=4 co=8 cg=1 f=1 pixels=1 tile=10 {{.*}} 4,184
// CHECK: initiation interval {{.*}} 4,184 cycles (bottleneck conv)
// HLS: dfcc::conv_tiled<dfcc::geom<7, 7, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0>, 32, 4, 8, 10, {{.*}}>(in, out, conv_words, {{.*}});  // conv
// RANGE: dfcc: error: <stdin>: invalid IR: dataflow.conv 'conv': tile=50 must be in 1..49

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%a: tensor<1x64x7x7xf32>) -> tensor<1x7x7x32xf32> {
    %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x64x7x7xf32>) -> !dataflow.stream<1x7x7x64xf32>
    %w = dataflow.weights {name = "w", value = dense<0.25> : tensor<32x64x1x1xf32>} : tensor<32x64x1x1xf32>
    %c = dataflow.conv %s, %w {name = "conv", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 4 : i64, coarse_out = 8 : i64, tile = 10 : i64} : (!dataflow.stream<1x7x7x64xf32>, tensor<32x64x1x1xf32>) -> !dataflow.stream<1x7x7x32xf32>
    %t = dataflow.sink %c {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x7x7x32xf32>) -> tensor<1x7x7x32xf32>
    func.return %t : tensor<1x7x7x32xf32>
  }
}
