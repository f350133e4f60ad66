// spill{} moves weights (AutoWS 10% steps), skip FIFOs and line buffers (SMOF) off chip until the design at
// the IR's folding fits: the decisions are IR attributes and a dataflow.ddr_fifo node (here the conv's
// line buffer, 2 rows x 6 columns x 512 channels in 6 BRAM18, frees 4 beside its ring's two adapters for
// 4 + 10 rows of 4 x 512 words an inference, cheaper per bit than any step of weights); -t estimate shows per node
// what lives where, its DRAM bandwidth and the binding resource.
// RUN: dfcc %s -p 'spill{platform=zcu102}' | filecheck %s
// RUN: dfcc %s -p 'spill{platform=zcu102}' -t estimate | filecheck %s --check-prefix=TABLE
// RUN: dfcc %s -p 'spill{platform=zcu102}' -t estimate --json | filecheck %s --check-prefix=JSON
// RUN: dfcc %s -p 'spill{platform=zcu102 skips=false line-buffers=false}' | filecheck %s --check-prefix=WEIGHTS
// With the skip FIFO on chip (4 BRAM18) the conv still keeps 70%: 1613 BRAM18 of weights, the 15 of its weight
// reader's 512-bit m_axi adapter (whose buffer covers the DRAM latency: the FIFO to the MAC is 2 words of
// LUTs) and its 9 others, 1641 with the FIFO of 0.9 x 1824 = 1641.6 (80% alone takes 1844). A skip FIFO 300000 beats deep in the IR
// (as fifo sizing may write) keeps its depth, and its 293 BRAM18 push the conv down to 50%:
// RUN: sed -e 's/-> (!dataflow.stream<1x4x4x512xf32>, !dataflow.stream<1x4x4x512xf32>)/-> (!dataflow.stream<1x4x4x512xf32>, !dataflow.stream<1x4x4x512xf32, depth 300000>)/' -e 's/{name = "add"} : !dataflow.stream<1x4x4x512xf32>, !dataflow.stream<1x4x4x512xf32>/{name = "add"} : !dataflow.stream<1x4x4x512xf32>, !dataflow.stream<1x4x4x512xf32, depth 300000>/' %s | dfcc - -p 'spill{platform=zcu102 skips=false line-buffers=false}' | filecheck %s --check-prefix=DEEP
// RUN: not dfcc %s -p 'spill{platform=zedboard utilisation=0.01}' 2>&1 | filecheck %s --check-prefix=NOFIT
// RUN: not dfcc %s -p 'spill{platform=zcu102 step=0}' 2>&1 | filecheck %s --check-prefix=STEP
// RUN: sed 's/{name = "conv",/{dataflow.weights_on_chip = 100 : i64, name = "conv",/' %s | not dfcc - 2>&1 | filecheck %s --check-prefix=PERCENT
// RUN: sed 's/{name = "conv",/{dataflow.weights_on_chip = 50 : i64, dataflow.weights_memory = "off_chip", name = "conv",/' %s | not dfcc - 2>&1 | filecheck %s --check-prefix=CONTRA
// RUN: sed 's/{name = "add"}/{name = "add", dataflow.weights_on_chip = 50 : i64}/' %s | not dfcc - 2>&1 | filecheck %s --check-prefix=NOWEIGHTS

// CHECK:      builtin.module attributes {dataflow.platform = "zcu102"}
// CHECK:      dataflow.conv %f, %w {dataflow.line_buffer = "off_chip", dataflow.weights_on_chip = 70 : i64, name = "conv"
// CHECK:      %[[R:.*]] = dataflow.ddr_fifo %f2 {name = "add_ddr1", capacity = 32768 : i64} : (!dataflow.stream<1x4x4x512xf32>) -> !dataflow.stream<1x4x4x512xf32>
// CHECK-NEXT: dataflow.map %c, %[[R]] {name = "add"}

// TABLE:      conv {{.*}} w:bram 70%+ddr 30%
// TABLE:      add_ddr1 {{.*}} ddr_fifo
// TABLE:      binding resource {{.*}} BRAM18

// JSON:       "binding_resource": "BRAM18",
// JSON:       "name": "conv",
// JSON:       "weights_memory": "bram",
// JSON-NEXT:  "weights_on_chip_percent": 70,
// JSON-NEXT:  "offchip_gbps":

// WEIGHTS-NOT: ddr_fifo
// WEIGHTS:     dataflow.conv %f, %w {dataflow.weights_on_chip = 70 : i64, name = "conv"
// WEIGHTS-NOT: ddr_fifo

// DEEP:      dataflow.fork {{.*}} -> (!dataflow.stream<1x4x4x512xf32>, !dataflow.stream<1x4x4x512xf32, depth 300000>)
// DEEP:      dataflow.conv %f, %w {dataflow.weights_on_chip = 50 : i64, name = "conv"
// DEEP:      dataflow.map %c, %f2 {name = "add"} : !dataflow.stream<1x4x4x512xf32>, !dataflow.stream<1x4x4x512xf32, depth 300000>

// NOFIT: dfcc: error: spill: the design needs 1,104 FF on ZedBoard (budget 1,064); moving memories off chip cannot help
// STEP: dfcc: error: spill: step must be a percent in 1..100, got 0
// PERCENT: conv 'conv': dataflow.weights_on_chip must be a percent in 1..99
// CONTRA: conv 'conv': dataflow.weights_on_chip contradicts weights_memory = off_chip
// NOWEIGHTS: map 'add': dataflow.weights_on_chip on a node that reads no weights
func.func @main(%a: tensor<1x512x4x4xf32>) -> tensor<1x4x4x512xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x512x4x4xf32>) -> !dataflow.stream<1x4x4x512xf32>
  %f, %f2 = dataflow.fork %s {name = "fork"} : (!dataflow.stream<1x4x4x512xf32>) -> (!dataflow.stream<1x4x4x512xf32>, !dataflow.stream<1x4x4x512xf32>)
  %w = dataflow.weights {name = "w", value = dense<5.000000e-01> : tensor<512x512x3x3xf32>} : tensor<512x512x3x3xf32>
  %c = dataflow.conv %f, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x4x4x512xf32>, tensor<512x512x3x3xf32>) -> !dataflow.stream<1x4x4x512xf32>
  %j = dataflow.map %c, %f2 {name = "add"} : !dataflow.stream<1x4x4x512xf32>, !dataflow.stream<1x4x4x512xf32> -> !dataflow.stream<1x4x4x512xf32> {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    dataflow.yield %z : f32
  }
  %t = dataflow.sink %j {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x4x4x512xf32>) -> tensor<1x4x4x512xf32>
  func.return %t : tensor<1x4x4x512xf32>
}
