// Weight-stationary tiles: a 3x3 512 -> 512 conv at 14x14 has 37.7 Mbit of 16-bit weights, more than a
// ZCU102's BRAM. Streamed from DRAM once per output pixel they would take 7.4 Gbit an image; explore
// instead gives the conv a `tile` of output pixels that each weight word serves
// before the next (conv.h conv_tiled), so the weights stream once per tile, within the bandwidth. The HLS
// stage is a dfcc::conv_tiled call whose weight reader sweeps the words 196 / tile times an image, each word
// in several beats of one port (weight_reader_beats: the MACs spend a tile's cycles on it). Nothing fits with the
// weights on chip, so explore's default off-chip-weights=auto streams them as off-chip-weights=true does.
// RUN: dfcc %s -p 'quantize{weight-bits=16 act-bits=16},explore{platform=zcu102}' -o %t.mlir
// RUN: filecheck %s --input-file %t.mlir
// RUN: dfcc %t.mlir -t estimate | filecheck %s --check-prefix=TABLE
// RUN: dfcc %t.mlir -t hls -o %t.hls && filecheck %s --check-prefix=HLS --input-file %t.hls/top.cpp

// CHECK: dataflow.conv %s, %w {{{.*}}dataflow.weights_memory = "off_chip", name = "conv", {{.*}} tile = {{[1-9][0-9]*}} : i64
// TABLE: conv {{.*}} tile={{[1-9][0-9]*}} w:off_chip
// TABLE: binding resource
// HLS: dfcc::weight_reader_beats<{{[1-9][0-9]?}}, {{.*}}  // conv: {{[0-9]+}} of {{[0-9]+}} words from DRAM
// HLS: dfcc::conv_tiled<dfcc::geom<14, 14, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1>, 512, {{[0-9]+}}, {{[0-9]+}}, {{[1-9][0-9]*}}, {{.*}}  // conv
func.func @main(%a: tensor<1x512x14x14xf32>) -> tensor<1x14x14x512xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x512x14x14xf32>) -> !dataflow.stream<1x14x14x512xf32>
  %w = dataflow.weights {name = "w", value = dense<5.000000e-01> : tensor<512x512x3x3xf32>} : tensor<512x512x3x3xf32>
  %c = dataflow.conv %s, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x14x14x512xf32>, tensor<512x512x3x3xf32>) -> !dataflow.stream<1x14x14x512xf32>
  %t = dataflow.sink %c {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x14x14x512xf32>) -> tensor<1x14x14x512xf32>
  func.return %t : tensor<1x14x14x512xf32>
}
