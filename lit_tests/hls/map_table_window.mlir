// A 16-bit sigmoid (input fixed<16, 8>, output fixed<16, 2> truncating) as a table map stores only the window of
// input codes where its output varies (kinds/table_window.py): codes -2484 .. 2484 (x in +-9.70), 4,969 words, so
// 5 BRAM18 (1,024 x 18 each, UG573) for its one copy serving both lanes, not 64 for all 2^16; past it, 6,920 codes
// at 1 - 2^-14 (truncation), then 1.0 up to the largest code, and 0.0 below the window.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate --json | filecheck %s --check-prefix=EST

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2x!dataflow.fixed<16, 8>>
    %1 = dataflow.map %0 {name = "sigmoid", coarse = 2 : i64} : !dataflow.stream<1x4x4x2x!dataflow.fixed<16, 8>> -> !dataflow.stream<1x4x4x2x!dataflow.fixed<16, 2>> {
    ^bb0(%x: f32):
      %n = arith.negf %x : f32
      %e = math.exp %n : f32
      %c1 = arith.constant 1.000000e+00 : f32
      %d = arith.addf %c1, %e : f32
      %y = arith.divf %c1, %d : f32
      dataflow.yield %y : f32
    }
    %2 = dataflow.sink %1 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x4x4x2x!dataflow.fixed<16, 2>>) -> tensor<1x2x4x4xf32>
    func.return %2 : tensor<1x2x4x4xf32>
  }
}

// CHECK: // map 'sigmoid' (table)
// CHECK: const unsigned k = (a0.range(15, 0).to_uint() - 63052u) & 65535u;
// CHECK-NEXT: if (k < 4969u) return dfcc::val(t_sigmoid[k]);
// CHECK-NEXT: if (k < 11889u) return ap_fixed<16, 2, AP_TRN, AP_WRAP>(0.99993896484375);
// CHECK-NEXT: if (k < 35252u) return ap_fixed<16, 2, AP_TRN, AP_WRAP>(1.0);
// CHECK-NEXT: return ap_fixed<16, 2, AP_TRN, AP_WRAP>(0.0);

// EST: "name": "sigmoid"
// EST: "DSP": 0
// EST-NEXT: "BRAM18": 5
