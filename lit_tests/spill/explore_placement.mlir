// explore{off-chip-weights=true} on a layer whose 16-bit weights (33.6 Mbit) do not fit a ZCU102's BRAM: the
// search finds a folding with the weights in BRAM, over budget, then re-places them at that folding (AutoWS's
// split by depth, any percent that changes the on-chip blocks, not only 10% steps): the percent kept on chip
// is the most that fits, the rest streams from DRAM within the bandwidth. A linear layer over 14x14 rows
// re-reads its weights for every row and has no weight-stationary tiles (a conv would take them:
// conv_tiled.mlir). At the folding found today (ci=1 co=128: 16384 words x 2048 bits, 57 BRAM18 per 512
// words) that is 81%: 26 x 57 + the 57 of the stream buffer + the reader's m_axi adapters = 1599 BRAM18; 82%
// would take a 27th block row (1656 > 0.9 x 1824). The check below only asks for a percent off AutoWS's 10% grid.
// RUN: dfcc %s -p 'explore{platform=zcu102 off-chip-weights=true}' | filecheck %s
// RUN: dfcc %s -p 'explore{platform=zcu102 off-chip-weights=true}' -t estimate | filecheck %s --check-prefix=TABLE
// The default, off-chip-weights=auto, streams weights only where the HLS backend builds them (fixed point: run
// quantize first): these float weights stay on chip, where they do not fit.
// RUN: not dfcc %s -p 'explore{platform=zcu102}' 2>&1 | filecheck %s --check-prefix=AUTO
// AUTO: explore: the design does not fit on ZCU102: {{.*}} BRAM18

// CHECK: dataflow.linear %s, %w {dataflow.weights_on_chip = {{[1-9]?[1-9]}} : i64, name = "fc"
// TABLE: fc {{.*}} w:bram {{[0-9]+}}%+ddr {{[0-9]+}}%
// TABLE: binding resource
func.func @main(%a: tensor<1x1024x14x14xf32>) -> tensor<1x14x14x2048xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x1024x14x14xf32>) -> !dataflow.stream<1x14x14x1024xf32>
  %w = dataflow.weights {name = "w", value = dense<5.000000e-01> : tensor<2048x1024xf32>} : tensor<2048x1024xf32>
  %c = dataflow.linear %s, %w {name = "fc"} : (!dataflow.stream<1x14x14x1024xf32>, tensor<2048x1024xf32>) -> !dataflow.stream<1x14x14x2048xf32>
  %t = dataflow.sink %c {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x14x14x2048xf32>) -> tensor<1x14x14x2048xf32>
  func.return %t : tensor<1x14x14x2048xf32>
}
