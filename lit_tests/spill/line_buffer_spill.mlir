// spill{} evicts a line buffer when BRAM is short (SMOF): a 3x3 conv on a 4 x 256 map of 16 channels (16-bit
// words, one lane) holds 2 rows x 258 columns x 16 channels in its line buffer, 4128 x 32 bits = 9 BRAM18,
// its 16 x 16 x 9 weights in 3 and its window registers (6 lanes of 16 words, shallower than a LUT RAM) in
// LUTRAM: 12. On a board of 10 BRAM18
// (budget 9), moving the line buffer to a DRAM ring frees 9 - 2 (the ring's two m_axi adapters) for
// (4 + 10) rows x 256 x 16 words x 16 bits = 917,504 bits per inference; streaming the weights would free 3
// for 36,864 bits per output pixel (37.7 Mbit). The line buffer goes (5 BRAM18); the weights stay.
// RUN: printf '{"name": "tiny", "part": "xc7z020clg484-1", "dsp": 220, "bram18": 10, "uram": 0, "lut": 53200, "ff": 106400, "clock_mhz": 200, "bandwidth_gbps": 34.112}' > %t.json
// RUN: dfcc %s -p 'spill{platform=%t.json}' | filecheck %s
// RUN: dfcc %s -p 'spill{platform=%t.json}' -t estimate --json | filecheck %s --check-prefix=JSON
// RUN: not dfcc %s -p 'spill{platform=%t.json line-buffers=false skips=false weights=false}' 2>&1 | filecheck %s --check-prefix=NOFIT

// CHECK:     dataflow.conv %s, %w {dataflow.line_buffer = "off_chip", name = "conv"
// CHECK-NOT: weights_on_chip
// JSON:      "name": "conv",
// JSON:      "BRAM18": 5,
// NOFIT: spill: the design does not fit on tiny even with every weight memory, skip connection and line buffer off chip
func.func @main(%a: tensor<1x16x4x256xf32>) -> tensor<1x4x256x16xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x16x4x256xf32>) -> !dataflow.stream<1x4x256x16xf32>
  %w = dataflow.weights {name = "w", value = dense<5.000000e-01> : tensor<16x16x3x3xf32>} : tensor<16x16x3x3xf32>
  %c = dataflow.conv %s, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x4x256x16xf32>, tensor<16x16x3x3xf32>) -> !dataflow.stream<1x4x256x16xf32>
  %t = dataflow.sink %c {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x4x256x16xf32>) -> tensor<1x4x256x16xf32>
  func.return %t : tensor<1x4x256x16xf32>
}
