// A zero-skipping linear (zero-skip on a linear whose weights hold zeros), costed from its zero
// weights alone and built by the HLS backend as the sparse conv kernel with a 1x1 kernel.
// RUN: dfcc %s -t estimate 2>&1 | filecheck %s --check-prefix=EST
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: filecheck %s --check-prefix=SRC --input-file %t/weights/src_linear0.h
// RUN: dfcc %s -t simulate 2>/dev/null | filecheck %s --check-prefix=SIM

// Hand computation (PASS/HASS, activations dense): a channel's expected cycles per row and filter
// are the fraction of filters with a non-zero weight on it: 1, 0, 3/4, 1/4, 1, 0, 3/4, 1/4. In
// stream order (c mod 2) the two streams carry 3.5 and 0.5; PASS sorts the channels (c0 c4 c2 c6
// c3 c7 c1 c5) and deals them in snake order (0 1 1 0 0 1 1 0): 2 and 2. 8 rows x 4 filters x 2 = 64
// cycles (stream order: 112, dense: 128), above the input read 8 x 8/2 = 32 and output write 32.
// EST: linear0 {{.*}} sparse_linear {{.*}} 64
// EST: linear0: zero-skipping; its cycles are an expectation over zero weights only
// The simulation runs the kernel's processing elements (one per input stream) for those expected
// cycles, 64 each, so the simulated II is the estimate's (the deal reads 4 beats a row, plus a row
// of delay for its channel reordering: 36 iterations).
// SIM: linear0.deal {{.*}} 36
// SIM: linear0.pe0 {{.*}} 64 {{.*}} 100%
// SIM: linear0.pe1 {{.*}} 64 {{.*}} 100%
// SIM: initiation interval {{ *}}64 cycles {{ *}}64 (+0.0%)
// CHECK: dfcc::sparse_conv<dfcc::geom<8, 1, 8, 1, 1>, 4, 1, 2, 1, 1, 8, true,
// SRC: src_linear0[4][2] = {{[{][{]}}0, 4},
// SRC-NEXT: {6, 2},
// SRC-NEXT: {3, 7},
// SRC-NEXT: {5, 1}};

builtin.module {
  func.func @main(%arg0: tensor<8x8xf32>) -> tensor<8x4xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 1>} : (tensor<8x8xf32>) -> !dataflow.stream<8x8xf32>
    %1 = dataflow.weights {value = dense<[[0.5, 0.0, 0.25, -1.0, 0.5, 0.0, 0.75, 1.0], [-0.5, 0.0, 0.5, 0.0, 1.0, 0.0, -0.25, 0.0], [1.0, 0.0, -0.75, 0.0, 0.25, 0.0, 0.5, 0.0], [0.25, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0]]> : tensor<4x8xf32>, name = "w0"} : tensor<4x8xf32>
    %2 = dataflow.sparse_linear %0, %1 {name = "linear0", coarse_in = 2 : i64} : (!dataflow.stream<8x8xf32>, tensor<4x8xf32>) -> !dataflow.stream<8x4xf32>
    %3 = dataflow.sink %2 {name = "output0", perm = array<i64: 0, 1>} : (!dataflow.stream<8x4xf32>) -> tensor<8x4xf32>
    func.return %3 : tensor<8x4xf32>
  }
}
