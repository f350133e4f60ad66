// A tile-major stream (tile 4 block 2) between weight-stationary convs: `expand` writes it as each filter step of a
// tile ends (dfcc::conv_tiled_tm_out), the ReLU passes it on in that order, and `reduce`, a 1x1 conv, reads a
// block's beats of the tile at a time (dfcc::conv_point_tm_in, its output pixel-major), its words in conv_mac's
// order; it reads beats of 2 lanes, the block, or the verifier refuses it. The estimate by hand: `expand` (3x3,
// 2 -> 4, 2 lanes in and out, 4x4 pixels) reads its 16 input beats and takes 16 pixels x 9 kernel steps x 2 filter
// steps = 288 MAC cycles, no store: 304; `reduce` 4 tiles x (2 blocks x 2 filter steps x 4 pixels + 4 x 2 output
// beats) = 96. The printer keeps the order.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate | filecheck %s --check-prefix=EST
// RUN: dfcc %s -t mlir | filecheck %s --check-prefix=IR
// RUN: sed 's/coarse_in = 2 : i64, coarse_out = 2 : i64, tile = 4 : i64} : (!dataflow.stream<1x4x4x4/coarse_in = 1 : i64, coarse_out = 2 : i64, tile = 4 : i64} : (!dataflow.stream<1x4x4x4/' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=BAD

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%a: tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32> {
    %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %w0 = dataflow.weights {name = "w0", value = dense<0.25> : tensor<4x2x3x3xf32>} : tensor<4x2x3x3xf32>
    %e = dataflow.conv %s, %w0 {name = "expand", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64, coarse_out = 2 : i64, tile = 4 : i64} : (!dataflow.stream<1x4x4x2xf32>, tensor<4x2x3x3xf32>) -> !dataflow.stream<1x4x4x4xf32, tile 4 block 2>
    %m = dataflow.map %e {name = "relu"} : !dataflow.stream<1x4x4x4xf32, tile 4 block 2> -> !dataflow.stream<1x4x4x4xf32, tile 4 block 2> {
    ^bb0(%x: f32):
      %zero = arith.constant 0.000000e+00 : f32
      %y = arith.maximumf %x, %zero : f32
      dataflow.yield %y : f32
    }
    %w1 = dataflow.weights {name = "w1", value = dense<0.5> : tensor<4x4x1x1xf32>} : tensor<4x4x1x1xf32>
    %r = dataflow.conv %m, %w1 {name = "reduce", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 2 : i64, coarse_out = 2 : i64, tile = 4 : i64} : (!dataflow.stream<1x4x4x4xf32, tile 4 block 2>, tensor<4x4x1x1xf32>) -> !dataflow.stream<1x4x4x4xf32>
    %t = dataflow.sink %r {name = "out", perm = array<i64: 0, 3, 1, 2>} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    func.return %t : tensor<1x4x4x4xf32>
  }
}

// CHECK: dfcc::conv_tiled_tm_out<dfcc::geom<4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1>, 4, 2, 2, 4, {{.*}}>({{.*}});  // expand
// CHECK: dfcc::conv_point_tm_in<false, dfcc::geom<4, 4, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0>, 4, 2, 2, 4, {{.*}}>({{.*}});  // reduce
// EST: expand {{.*}} tile=4 {{.*}} 304
// EST: reduce {{.*}} tile=4 {{.*}} 96
// IR: -> !dataflow.stream<1x4x4x4xf32, tile 4 block 2>
// BAD: conv 'reduce': reads a tile-major stream (tile 4 block 2), which needs {{.*}} tile=4 and coarse_in=2, got {{.*}} coarse_in=1
