// A skip connection evicted to DRAM (SMOF): dataflow.ddr_fifo passes its stream through a ring buffer of
// `capacity` words; it holds no FIFO in BRAM, moves its tensor twice over the DRAM port, and a join needs no
// on-chip FIFO for it (up to its capacity). Its writer's and reader's m_axi ports (64 bits: 4 lanes x 16) each buffer 16 bursts
// of 16 beats, 64 x 256 bits = 2 BRAM18 (UG1399's adapter FIFO).
// RUN: dfcc %s | filecheck %s
// RUN: dfcc %s -t estimate --json | filecheck %s --check-prefix=JSON
// RUN: dfcc %s -t simulate | filecheck %s --check-prefix=SIM
// RUN: dfcc %s -t hls -o %t && filecheck %s --check-prefix=HLS --input-file %t/top.cpp
// RUN: filecheck %s --check-prefix=HDR --input-file %t/top.h
// RUN: filecheck %s --check-prefix=TB --input-file %t/tb.cpp
// RUN: sed 's/capacity = 256/capacity = 768/' %s | dfcc - -t hls -o %t.three && filecheck %s --check-prefix=THREE --input-file %t.three/top.cpp
// RUN: sed 's/capacity = 256/capacity = 255/' %s | not dfcc - 2>&1 | filecheck %s --check-prefix=CAPACITY
// RUN: sed 's/capacity = 256/capacity = 0/' %s | not dfcc - 2>&1 | filecheck %s --check-prefix=CAPACITY

// CHECK: dataflow.ddr_fifo %f2 {name = "skip", capacity = 256 : i64, coarse = 4 : i64} : (!dataflow.stream<1x8x8x4xf32>) -> !dataflow.stream<1x8x8x4xf32>

// JSON:      "offchip_gbps":
// the ring's reader starts DRAM_LATENCY_CYCLES (64) after its writer, so the add reads the conv's output that much
// later: the conv's stream holds 39 of its 64 beats (simulated 49: the reader also waits for a burst's token) plus
// SATAY's 64
// JSON:      "fifos": [
// JSON-NEXT:   {
// JSON-NEXT:     "from": "fork",
// JSON-NEXT:     "to": "conv",
// JSON-NEXT:     "depth": 4
// JSON-NEXT:   },
// JSON-NEXT:   {
// JSON-NEXT:     "from": "conv",
// JSON-NEXT:     "to": "add",
// JSON-NEXT:     "depth": 103
// JSON-NEXT:   }
// JSON-NEXT: ],
// JSON:      "name": "skip",
// JSON-NEXT: "op": "dataflow.ddr_fifo",
// JSON-NEXT: "folding": {
// JSON-NEXT:   "coarse": 4
// JSON-NEXT: },
// 2 x 256 words x 16 bits (f32 costed at 16) every 100-cycle II at 200 MHz: 16.384 Gbit/s
// JSON-NEXT: "offchip_gbps": 16.384,
// JSON:      "BRAM18": 4,

// the skip waits in the ring, not in an on-chip FIFO; the ring's 64 beats are 4 bursts of 16, its writer sends a
// token a burst and waits with 2 unread (ddr.h, hardware/offchip.py ring_bursts). The reader takes a burst once its
// token comes, so the add waits for the fork's first 16 beats, which the conv's line buffer and its streams hold
// (the fork's into it 4 deep)
// SIM: skip_tokens {{.*}} skip_write {{.*}} skip_read {{.*}} 1 {{.*}} 2 {{.*}} 1
// SIM: initiation interval
// HLS:      void top({{.*}}, dfcc::vec<float, 4>* skip_wr, dfcc::vec<float, 4>* skip_rd) {
// HLS:      DFCC_HLS(INTERFACE m_axi port=skip_wr offset=slave bundle=gmem_skip_wr depth=64 max_read_burst_length=16 max_write_burst_length=16)
// HLS-NEXT: DFCC_HLS(INTERFACE m_axi port=skip_rd offset=slave bundle=gmem_skip_rd depth=64
// HLS:      hls::stream<dfcc::vec<bool, 1> > skip_bursts("skip_bursts");
// HLS-NEXT: DFCC_HLS(STREAM variable=skip_bursts depth=2)
// HLS:      dfcc::ddr_write<64, 16, 1, 0>(s_fork_1, skip_wr, skip_bursts);  // skip
// HLS-NEXT: dfcc::ddr_read<64, 16, 1, 0>(skip_rd, skip_bursts, s_skip);  // skip
// HLS-NEXT: stage_add(s_conv, s_skip, out);  // add
// HDR:      // DRAM buffer ddr_skip: 64 words of dfcc::vec<float, 4>; the host allocates it and passes it to every one of skip_wr, skip_rd
// TB:       static dfcc::vec<float, 4> ddr_skip[64];
// TB-NEXT:  top(port_in, port_out, ddr_skip, ddr_skip);
// a ring of three inferences: 192 beats, 12 bursts of which the writer leaves 10 tokens unread
// THREE:      DFCC_HLS(INTERFACE m_axi port=skip_wr offset=slave bundle=gmem_skip_wr depth=192
// THREE:      DFCC_HLS(STREAM variable=skip_bursts depth=10)
// THREE:      dfcc::ddr_write<64, 16, 3, 0>(s_fork_1, skip_wr, skip_bursts);  // skip
// THREE-NEXT: dfcc::ddr_read<64, 16, 3, 0>(skip_rd, skip_bursts, s_skip);  // skip
// CAPACITY: ddr_fifo 'skip': capacity must be whole inferences of 256 words
func.func @main(%a: tensor<1x4x8x8xf32>) -> tensor<1x8x8x4xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x8x8xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %f, %f2 = dataflow.fork %s {name = "fork", coarse = 4 : i64} : (!dataflow.stream<1x8x8x4xf32>) -> (!dataflow.stream<1x8x8x4xf32, depth 4>, !dataflow.stream<1x8x8x4xf32>)
  %w = dataflow.weights {name = "w", value = dense<5.000000e-01> : tensor<4x4x3x3xf32>} : tensor<4x4x3x3xf32>
  %c = dataflow.conv %f, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 4 : i64, coarse_out = 4 : i64, fine = 9 : i64} : (!dataflow.stream<1x8x8x4xf32, depth 4>, tensor<4x4x3x3xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %r = dataflow.ddr_fifo %f2 {name = "skip", capacity = 256 : i64, coarse = 4 : i64} : (!dataflow.stream<1x8x8x4xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %j = dataflow.map %c, %r {name = "add", coarse = 4 : i64} : !dataflow.stream<1x8x8x4xf32>, !dataflow.stream<1x8x8x4xf32> -> !dataflow.stream<1x8x8x4xf32> {
  ^bb0(%x: f32, %y: f32):
    %z = arith.addf %x, %y : f32
    dataflow.yield %z : f32
  }
  %t = dataflow.sink %j {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
  func.return %t : tensor<1x8x8x4xf32>
}
