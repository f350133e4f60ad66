// DenseNet's dense layer on a tile-major chain (tile 4 block 2), its HLS text: the stem's max pool writes it (its
// pixel-major beats reordered a tile at a time, dfcc::tile_major_out), the batch norm's per-channel map walks its
// beats with tile_major_loop's counters (a lane's channel from the block b and the beat q in it), `grow` writes its
// new channels (conv_tiled_tm_out) and the concat joins a tile of each input in turn (concat_blocks over the 4 tiles,
// 4 x 2 words of each input a tile), which `head` reads (conv_point_tm_in). The pool by hand: its window walks the
// 10 x 10 padded pixels a beat each, 100 cycles; the reorder's (4 tiles + 1) x 4 beats beside them.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate | filecheck %s --check-prefix=EST
// RUN: dfcc %s -t mlir | filecheck %s --check-prefix=IR
// RUN: sed 's/coarse = 2 : i64} : (!dataflow.stream<1x8x8x2xf32>)/coarse = 2 : i64, pixels = 2 : i64} : (!dataflow.stream<1x8x8x2xf32>)/' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=BAD

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%a: tensor<1x2x8x8xf32>) -> tensor<1x4x4x4xf32> {
    %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x8x8xf32>) -> !dataflow.stream<1x8x8x2xf32>
    %p = dataflow.pool %s {name = "stem_pool", kind = "max", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse = 2 : i64} : (!dataflow.stream<1x8x8x2xf32>) -> !dataflow.stream<1x4x4x2xf32, tile 4 block 2>
    %f0, %f1 = dataflow.fork %p {name = "fork"} : (!dataflow.stream<1x4x4x2xf32, tile 4 block 2>) -> (!dataflow.stream<1x4x4x2xf32, tile 4 block 2>, !dataflow.stream<1x4x4x2xf32, tile 4 block 2>)
    %sc = dataflow.weights {name = "scale", value = dense<[0.5, -0.25]> : tensor<2xf32>} : tensor<2xf32>
    %n = dataflow.map %f0 params(%sc : tensor<2xf32>) {name = "bn", coarse = 1 : i64} : !dataflow.stream<1x4x4x2xf32, tile 4 block 2> -> !dataflow.stream<1x4x4x2xf32, tile 4 block 2> {
    ^bb0(%x: f32, %g: f32):
      %y = arith.mulf %x, %g : f32
      dataflow.yield %y : f32
    }
    %w1 = dataflow.weights {name = "w1", value = dense<0.5> : tensor<4x2x1x1xf32>} : tensor<4x2x1x1xf32>
    %r = dataflow.conv %n, %w1 {name = "reduce", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 2 : i64, coarse_out = 2 : i64, tile = 4 : i64} : (!dataflow.stream<1x4x4x2xf32, tile 4 block 2>, tensor<4x2x1x1xf32>) -> !dataflow.stream<1x4x4x4xf32>
    %w2 = dataflow.weights {name = "w2", value = dense<0.25> : tensor<2x4x3x3xf32>} : tensor<2x4x3x3xf32>
    %g = dataflow.conv %r, %w2 {name = "grow", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64, coarse_out = 2 : i64, tile = 4 : i64} : (!dataflow.stream<1x4x4x4xf32>, tensor<2x4x3x3xf32>) -> !dataflow.stream<1x4x4x2xf32, tile 4 block 2>
    %c = dataflow.concat %f1, %g {name = "cat", axis = 3 : i64, coarse = 2 : i64, side = 1 : i64} : (!dataflow.stream<1x4x4x2xf32, tile 4 block 2>, !dataflow.stream<1x4x4x2xf32, tile 4 block 2>) -> !dataflow.stream<1x4x4x4xf32, tile 4 block 2>
    %w3 = dataflow.weights {name = "w3", value = dense<0.125> : tensor<4x4x1x1xf32>} : tensor<4x4x1x1xf32>
    %h = dataflow.conv %c, %w3 {name = "head", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 2 : i64, coarse_out = 2 : i64, tile = 4 : i64} : (!dataflow.stream<1x4x4x4xf32, tile 4 block 2>, tensor<4x4x1x1xf32>) -> !dataflow.stream<1x4x4x4xf32>
    %t = dataflow.sink %h {name = "out", perm = array<i64: 0, 3, 1, 2>} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    func.return %t : tensor<1x4x4x4xf32>
  }
}

// CHECK: static void stage_bn(
// CHECK: int t = 0, j = 0, b = 0, q = 0;
// CHECK: b * 2 + q * 1 + p
// CHECK: dfcc::max_pool<dfcc::geom<8, 8, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1>, 2>([[IN:.*]], [[PX:s_stem_pool_px[_0-9]*]]);  // stem_pool
// CHECK-NEXT: dfcc::tile_major_out<16, 2, 4, 2, 2, float>([[PX]], [[OUT:.*]]);  // stem_pool
// CHECK: dfcc::conv_point_tm_in<false, {{.*}}  // reduce
// CHECK: dfcc::conv_tiled_tm_out<{{.*}}  // grow
// CHECK: dfcc::concat_blocks<4, 4, 4, 2, {{.*}}  // cat
// CHECK: dfcc::conv_point_tm_in<false, {{.*}}  // head
// EST: stem_pool {{.*}} 100
// IR: dataflow.pool {{.*}} -> !dataflow.stream<1x4x4x2xf32, tile 4 block 2>
// BAD: pool 'stem_pool' writes a tile-major stream (tile 4 block 2), which a pool writes at coarse dividing the block, one pixel a beat, got coarse=2, pixels=2
