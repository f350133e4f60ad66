// explore{evict-skips=true} decides per skip connection (SMOF): a skip moves to a DRAM ring (a
// dataflow.ddr_fifo on its edge) only when its on-chip FIFO takes more BRAM than the ring's two m_axi
// adapters, and the traffic fits the bandwidth. At the IR's folding (one 16-bit word a beat):
// - add_short waits for conv3's 3x3 window fill: 584 beats x 16 bits, 1 BRAM18; the ring's adapters (a writer's
//   and a reader's 16-bit port, 256 beats each) take 2: it stays on chip;
// - add_long waits for conv15's 15x15 window fill: 3680 beats x 16 bits, 4 BRAM18 > 2: evicted. Its traffic,
//   2 x 65536 words x 16 bits, with the graph's I/O fits 90% of the ZedBoard's 170.6 bits a cycle at the fastest
//   II the network could reach. With 0.1 Gbps nothing fits, and nothing is evicted.
// RUN: dfcc %s -p 'explore{platform=zedboard evict-skips=true}' | filecheck %s
// RUN: printf '{"name": "slow", "part": "xc7z020clg484-1", "dsp": 220, "bram18": 280, "uram": 0, "lut": 53200, "ff": 106400, "clock_mhz": 200, "bandwidth_gbps": 0.1}' > %t.json
// RUN: dfcc %s -p 'explore{platform=%t.json evict-skips=true}' | filecheck %s --check-prefix=SLOW
// RUN: dfcc %s -p 'explore{platform=zedboard}' | filecheck %s --check-prefix=AUTO

// CHECK:      %j1 = dataflow.map %c1, %f2 {name = "add_short"
// CHECK:      %[[R:.*]] = dataflow.ddr_fifo %g2 {name = "add_long_ddr1", capacity = 262144 : i64
// CHECK-NEXT: %j2 = dataflow.map %c2, %[[R]] {name = "add_long"
// SLOW-NOT:   dataflow.ddr_fifo
// AUTO-NOT:   dataflow.ddr_fifo
// AUTO:       %j2 = dataflow.map %c2, %g2 {name = "add_long"
func.func @main(%a: tensor<1x4x128x128xf32>) -> tensor<1x128x128x4xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x128x128xf32>) -> !dataflow.stream<1x128x128x4xf32>
  %f1, %f2 = dataflow.fork %s {name = "fork_short"} : (!dataflow.stream<1x128x128x4xf32>) -> (!dataflow.stream<1x128x128x4xf32>, !dataflow.stream<1x128x128x4xf32>)
  %w1 = dataflow.weights {name = "w3", value = dense<5.000000e-01> : tensor<4x4x3x3xf32>} : tensor<4x4x3x3xf32>
  %c1 = dataflow.conv %f1, %w1 {name = "conv3", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x128x128x4xf32>, tensor<4x4x3x3xf32>) -> !dataflow.stream<1x128x128x4xf32>
  %j1 = dataflow.map %c1, %f2 {name = "add_short"} : !dataflow.stream<1x128x128x4xf32>, !dataflow.stream<1x128x128x4xf32> -> !dataflow.stream<1x128x128x4xf32> {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    dataflow.yield %z : f32
  }
  %g1, %g2 = dataflow.fork %j1 {name = "fork_long"} : (!dataflow.stream<1x128x128x4xf32>) -> (!dataflow.stream<1x128x128x4xf32>, !dataflow.stream<1x128x128x4xf32>)
  %w2 = dataflow.weights {name = "w15", value = dense<5.000000e-01> : tensor<4x4x15x15xf32>} : tensor<4x4x15x15xf32>
  %c2 = dataflow.conv %g1, %w2 {name = "conv15", kernel = array<i64: 15, 15>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 7, 7, 7, 7>} : (!dataflow.stream<1x128x128x4xf32>, tensor<4x4x15x15xf32>) -> !dataflow.stream<1x128x128x4xf32>
  %j2 = dataflow.map %c2, %g2 {name = "add_long"} : !dataflow.stream<1x128x128x4xf32>, !dataflow.stream<1x128x128x4xf32> -> !dataflow.stream<1x128x128x4xf32> {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    dataflow.yield %z : f32
  }
  %t = dataflow.sink %j2 {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x128x128x4xf32>) -> tensor<1x128x128x4xf32>
  func.return %t : tensor<1x128x128x4xf32>
}
