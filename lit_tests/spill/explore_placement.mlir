// explore{off-chip-weights=true} on a layer whose 16-bit weights (37.7 Mbit) do not fit a ZCU102's BRAM: the
// search finds a folding with the weights in BRAM, over budget, then re-places them at that folding (AutoWS's
// split by depth, any percent that changes the on-chip blocks, not only 10% steps): the percent kept on chip
// is the most that fits, the rest streams from DRAM within the bandwidth. At the folding found today (ci=4 co=4
// f=9: 16384 words x 2304 bits, 64 BRAM18 per 512 words) that is 71%: 23 x 64 + the 64 of the stream buffer +
// the 72 of the reader's nine 256-bit m_axi adapters + 26 of line and window buffers = 1634 BRAM18; 72% would
// take a 24th block row (1698 > 0.9 x 1824). The check below only asks for a percent off AutoWS's 10% grid.
// RUN: dfcc %s -p 'explore{platform=zcu102 off-chip-weights=true}' | filecheck %s
// RUN: dfcc %s -p 'explore{platform=zcu102 off-chip-weights=true}' -t estimate | filecheck %s --check-prefix=TABLE

// CHECK: dataflow.conv %s, %w {dataflow.weights_on_chip = {{[1-9]?[1-9]}} : i64, name = "conv"
// TABLE: conv {{.*}} w:bram {{[0-9]+}}%+ddr {{[0-9]+}}%
// TABLE: binding resource
func.func @main(%a: tensor<1x512x14x14xf32>) -> tensor<1x14x14x512xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x512x14x14xf32>) -> !dataflow.stream<1x14x14x512xf32>
  %w = dataflow.weights {name = "w", value = dense<5.000000e-01> : tensor<512x512x3x3xf32>} : tensor<512x512x3x3xf32>
  %c = dataflow.conv %s, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x14x14x512xf32>, tensor<512x512x3x3xf32>) -> !dataflow.stream<1x14x14x512xf32>
  %t = dataflow.sink %c {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x14x14x512xf32>) -> tensor<1x14x14x512xf32>
  func.return %t : tensor<1x14x14x512xf32>
}
