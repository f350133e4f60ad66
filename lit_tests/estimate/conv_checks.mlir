// HARDWARE_MODEL.md's conv check through -t estimate: 3x3 256->256 at 14x14, ci=2 co=16 fine=9:
// 401,408 MAC cycles plus 3,827 waiting for the window generator between inferences, its window stream 32 deep
// (tests/test_estimate.py; 7,050 at Vitis HLS's 2) = 405,235 cycles, 288 DSP at 16 bit (144 with 8-bit operands), 526
// BRAM18 (512 weights + 8 line buffer + 6 window buffer).
// RUN: dfcc %s -t estimate --json 2>/dev/null | filecheck %s
// RUN: sed -e 's/256xf32>/256x!dataflow.fixed<8, 3>>/g' -e 's/name = "w", value/name = "w", format = !dataflow.fixed<8, 1>, value/' %s \
// RUN:   | dfcc - -t estimate --json 2>/dev/null | filecheck %s --check-prefix=Q8

// Q8:          "name": "conv",
// Q8:          "cycles": 405235,
// Q8:          "DSP": 144,

// CHECK:       "name": "conv",
// CHECK-NEXT:  "op": "dataflow.conv",
// CHECK-NEXT:  "folding": {
// CHECK-NEXT:    "coarse_in": 2,
// CHECK-NEXT:    "coarse_out": 16,
// CHECK-NEXT:    "coarse_group": 1,
// CHECK-NEXT:    "fine": 9,
// CHECK-NEXT:    "pixels": 1,
// CHECK-NEXT:    "tile": 1,
// CHECK-NEXT:    "winograd": 1
// CHECK-NEXT:  },
// CHECK-NEXT:  "weights_memory": "bram",
// CHECK-NEXT:  "offchip_gbps": 0.0,
// CHECK-NEXT:  "cycles": 405235,
// CHECK:       "resources": {
// CHECK-NEXT:    "DSP": 288,
// CHECK-NEXT:    "BRAM18": 526,

func.func @main(%a: tensor<1x256x14x14xf32>) -> tensor<1x256x14x14xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x256x14x14xf32>) -> !dataflow.stream<1x14x14x256xf32>
  %w = dataflow.weights {name = "w", value = dense<5.000000e-01> : tensor<256x256x3x3xf32>} : tensor<256x256x3x3xf32>
  %y = dataflow.conv %s, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64, coarse_out = 16 : i64, coarse_group = 1 : i64, fine = 9 : i64} : (!dataflow.stream<1x14x14x256xf32>, tensor<256x256x3x3xf32>) -> !dataflow.stream<1x14x14x256xf32>
  %t = dataflow.sink %y {name = "out", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x14x14x256xf32>) -> tensor<1x256x14x14xf32>
  func.return %t : tensor<1x256x14x14xf32>
}
