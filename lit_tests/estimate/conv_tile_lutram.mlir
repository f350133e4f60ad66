// dataflow.tile_lutram puts a tiled conv's tile memories in LUTRAM whatever their size. This 1x1 conv (64 -> 32 at
// 7x7, float, tile = 49, 8 filter lanes) keeps, per lane, its sums (32 bits x 49) and its tile's outputs (32 bits x
// 4 filter steps x 49 = 196 deep): each above a BRAM's worth of LUTRAM, so the rule puts both in a BRAM18 a lane and
// "all" frees those 16 BRAM18 for LUTs. The estimate and the HLS design read the same place (conv.h's two flags);
// the verifier refuses an unknown place and the attribute on a conv without tiles.
// RUN: dfcc %s -t estimate | filecheck %s
// RUN: sed 's/dataflow.tile_lutram = "all", //' %s | dfcc - -t estimate | filecheck %s --check-prefix=RULE
// RUN: dfcc %s -t hls -o %t && filecheck %s --check-prefix=HLS --input-file %t/top.cpp
// RUN: sed 's/"all"/"most"/' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=PLACE
// RUN: sed 's/tile = 49/tile = 1/' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=UNTILED

// CHECK: conv {{.*}} tile=49 {{.*}} 4,116 {{.*}} 32 │ {{ +}}23 │
// RULE: conv {{.*}} tile=49 {{.*}} 4,116 {{.*}} 32 │ {{ +}}39 │
// HLS: dfcc::conv_tiled<dfcc::geom<7, 7, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0>, 32, 4, 8, 49, 1, 1, true, true, {{.*}}>(in, out, conv_words, {{.*}});  // conv
// PLACE: dfcc: error: <stdin>: invalid IR: conv 'conv': dataflow.tile_lutram must be one of sums, all, got "most"
// UNTILED: dfcc: error: <stdin>: invalid IR: conv 'conv': dataflow.tile_lutram places a tiled conv's tile memories; this conv has no tiles (tile = 1)

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%a: tensor<1x64x7x7xf32>) -> tensor<1x7x7x32xf32> {
    %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x64x7x7xf32>) -> !dataflow.stream<1x7x7x64xf32>
    %w = dataflow.weights {name = "w", value = dense<0.25> : tensor<32x64x1x1xf32>} : tensor<32x64x1x1xf32>
    %c = dataflow.conv %s, %w {dataflow.tile_lutram = "all", name = "conv", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 4 : i64, coarse_out = 8 : i64, tile = 49 : i64} : (!dataflow.stream<1x7x7x64xf32>, tensor<32x64x1x1xf32>) -> !dataflow.stream<1x7x7x32xf32>
    %t = dataflow.sink %c {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x7x7x32xf32>) -> tensor<1x7x7x32xf32>
    func.return %t : tensor<1x7x7x32xf32>
  }
}
