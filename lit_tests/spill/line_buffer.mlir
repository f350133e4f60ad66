// A conv whose line buffer lives in DRAM (SMOF): `dataflow.line_buffer = "off_chip"` on the conv. Its input
// is written to a DRAM ring once and each output row's window rows are read back (ddr_rows.h conv_rows):
// conv_a (3x3, pad 1, 8x8) reads 8 + 7 + 7 + ... rows: 22 of its 24 window rows lie inside the image, so
// (8 + 22) rows x 8 x 4 words x 16 bits = 15360 bits per inference; conv_b (3x3, stride 2, pad 1, 4 output
// rows) reads 11 rows: (8 + 11) x 8 x 4 x 16 = 9728 bits. Neither holds a line buffer; each has a ring's two
// m_axi adapters. conv_a's ring is 128 beats of 2 lanes.
// RUN: dfcc %s -t estimate --json | filecheck %s --check-prefix=JSON
// RUN: dfcc %s -t hls -o %t && filecheck %s --check-prefix=HLS --input-file %t/top.cpp
// RUN: dfcc %s -t simulate | filecheck %s --check-prefix=SIM
// RUN: sed 's/name = "pool"/dataflow.line_buffer = "off_chip", name = "pool"/' %s | not dfcc - 2>&1 | filecheck %s --check-prefix=POOL
// RUN: sed 's/dataflow.line_buffer = "off_chip", name = "conv_a"/dataflow.line_buffer = "ddr", name = "conv_a"/' %s | not dfcc - 2>&1 | filecheck %s --check-prefix=VALUE

// 15360 and 9728 bits every 4608-cycle II (conv_a's) at 200 MHz
// JSON:      "name": "conv_a",
// JSON:      "offchip_gbps": 0.666666
// JSON:      "name": "conv_b",
// JSON:      "offchip_gbps": 0.422222

// HLS: INTERFACE m_axi port=conv_a_wr {{.*}} depth=128
// HLS: dfcc::conv_rows<dfcc::geom<8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1>, 4, 1, 2, 1, 1, 16, {{.*}}>(in, s_conv_a, {{.*}}, conv_a_wr, conv_a_rd);  // conv_a
// HLS: dfcc::conv_rows<dfcc::geom<8, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1>, 4, 1, 1, 1, 1, 16, {{.*}}>(s_pool, out, {{.*}}, conv_b_wr, conv_b_rd);  // conv_b

// the ring writer, the row reader and the column window keep pace with conv_a's MACs (4608 cycles)
// SIM: initiation interval 4,608 cycles 4,608 (+0.0%)
// POOL: dataflow.line_buffer: only a dense conv's line buffer can live in DRAM
// VALUE: dataflow.line_buffer must be "off_chip"
func.func @main(%a: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x8x8xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %w = dataflow.weights {name = "wa", value = dense<2.500000e-01> : tensor<4x4x3x3xf32>} : tensor<4x4x3x3xf32>
  %c = dataflow.conv %s, %w {dataflow.line_buffer = "off_chip", name = "conv_a", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64} : (!dataflow.stream<1x8x8x4xf32>, tensor<4x4x3x3xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %p = dataflow.pool %c {name = "pool", kind = "max", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x8x8x4xf32>) -> !dataflow.stream<1x8x8x4xf32>
  %v = dataflow.weights {name = "wb", value = dense<1.250000e-01> : tensor<4x4x3x3xf32>} : tensor<4x4x3x3xf32>
  %d = dataflow.conv %p, %v {dataflow.line_buffer = "off_chip", name = "conv_b", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x8x8x4xf32>, tensor<4x4x3x3xf32>) -> !dataflow.stream<1x4x4x4xf32>
  %t = dataflow.sink %d {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  func.return %t : tensor<1x4x4x4xf32>
}
