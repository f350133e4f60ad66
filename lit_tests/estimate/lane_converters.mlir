// Lane converters are costed as dfcc::lanes (vec.h) builds them, between nodes whose lanes differ: "wide" writes
// 8 filters a beat, "narrow" reads 2 channels a beat, "last" reads 8 again. Hand-computed at 16 bits:
// narrowing 8 -> 2 holds the wide beat and muxes its 4 parts onto 2 x 16 output bits: 200 control LUT + 32 x
// ceil(3/3) mux LUT = 232 LUT, 200 + 8 x 16 = 328 FF; widening 2 -> 8 shifts beats in, no mux: 200 LUT, 328 FF.
// Together 432 LUT and 656 FF; each moves 4 x 4 x 8 / 2 = 64 beats of 2 lanes an inference (64 cycles).
// RUN: dfcc %s -t estimate | filecheck %s
// RUN: dfcc %s -t estimate --json | filecheck %s --check-prefix=JSON
// RUN: dfcc %s -t hls -o %t && filecheck %s --check-prefix=HLS --input-file %t/top.cpp

// CHECK: (lane converters) {{.*}} 2 {{.*}} 64 {{.*}} 25% {{.*}} 0 {{.*}} 0 {{.*}} 0 {{.*}} 432 {{.*}} 656
// JSON:      "lane_converters": [
// JSON-NEXT:   {
// JSON-NEXT:     "from": "wide",
// JSON-NEXT:     "to": "narrow",
// JSON-NEXT:     "lanes_in": 8,
// JSON-NEXT:     "lanes_out": 2,
// JSON-NEXT:     "cycles": 64
// JSON:          "from": "narrow",
// JSON-NEXT:     "to": "last",
// JSON-NEXT:     "lanes_in": 2,
// JSON-NEXT:     "lanes_out": 8,
// JSON-NEXT:     "cycles": 64
// HLS: dfcc::lanes<128, 8, 2>(s_wide, [[NARROW_IN:[a-z_0-9]+]]);
// HLS: dfcc::lanes<128, 2, 8>(s_narrow, [[LAST_IN:[a-z_0-9]+]]);

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%a: tensor<1x4x4x4xf32>) -> tensor<1x4x4x8xf32> {
    %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>, pixels = 1 : i64} : (tensor<1x4x4x4xf32>) -> !dataflow.stream<1x4x4x4x!dataflow.fixed<16, 8>>
    %w0 = dataflow.weights {name = "w0", value = dense<0.25> : tensor<8x4x1x1xf32>, format = !dataflow.fixed<16, 8>} : tensor<8x4x1x1xf32>
    %c0 = dataflow.conv %s, %w0 {name = "wide", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 4 : i64, coarse_out = 8 : i64} : (!dataflow.stream<1x4x4x4x!dataflow.fixed<16, 8>>, tensor<8x4x1x1xf32>) -> !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 8>>
    %w1 = dataflow.weights {name = "w1", value = dense<0.25> : tensor<8x8x1x1xf32>, format = !dataflow.fixed<16, 8>} : tensor<8x8x1x1xf32>
    %c1 = dataflow.conv %c0, %w1 {name = "narrow", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 2 : i64, coarse_out = 2 : i64} : (!dataflow.stream<1x4x4x8x!dataflow.fixed<16, 8>>, tensor<8x8x1x1xf32>) -> !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 8>>
    %w2 = dataflow.weights {name = "w2", value = dense<0.25> : tensor<8x8x1x1xf32>, format = !dataflow.fixed<16, 8>} : tensor<8x8x1x1xf32>
    %c2 = dataflow.conv %c1, %w2 {name = "last", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse_in = 8 : i64, coarse_out = 8 : i64} : (!dataflow.stream<1x4x4x8x!dataflow.fixed<16, 8>>, tensor<8x8x1x1xf32>) -> !dataflow.stream<1x4x4x8x!dataflow.fixed<16, 8>>
    %t = dataflow.sink %c2 {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x4x4x8x!dataflow.fixed<16, 8>>) -> tensor<1x4x4x8xf32>
    func.return %t : tensor<1x4x4x8xf32>
  }
}
