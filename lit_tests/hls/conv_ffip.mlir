// A 16-bit conv taking its inner products by FFIP (dataflow.inner_product = "ffip", kinds/inner_product.py):
// 2 -> 6 channels, 3x3, ci=2 co=4 fine=3 (a last filter step half idle): each filter's step of 2*3 = 6 products
// takes 3 multiplications on 17-bit operands, plus 3 x-only ones the 4 filters share: 4*3 + 3 = 15 multipliers and
// DSPs (direct: 4*6 = 24). The HLS call passes dfcc::ffip_product and the bias less the w-only terms (bf_conv0);
// with "direct" the estimate is the direct one; explore, on a conv whose IR says neither, keeps it direct where DSPs
// have room (FFIP's LUTs would be pure cost; where DSPs bind it weighs both: tests/test_ffip.py) and keeps a value
// the IR has (a user's "ffip" in the runs above, a user's "direct"); a value other than direct or ffip is refused.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate --json 2>/dev/null | filecheck %s --check-prefix=EST
// RUN: dfcc %s -t estimate 2>/dev/null | filecheck %s --check-prefix=TABLE
// RUN: sed 's/inner_product" = "ffip"/inner_product" = "direct"/' %s | dfcc - -t estimate --json 2>/dev/null \
// RUN:   | filecheck %s --check-prefix=DIRECT
// RUN: sed 's/, "dataflow.inner_product" = "ffip"//' %s | dfcc - -p 'explore{platform=zcu104}' | filecheck %s --check-prefix=EXPLORE
// RUN: sed 's/inner_product" = "ffip"/inner_product" = "direct"/' %s | dfcc - -p 'explore{platform=zcu104}' \
// RUN:   | filecheck %s --check-prefix=KEPT
// RUN: sed 's/inner_product" = "ffip"/inner_product" = "fast"/' %s | not dfcc - -t estimate 2>&1 | filecheck %s --check-prefix=BAD

builtin.module attributes {dataflow.platform = "zcu104"} {
  func.func @main(%arg0: tensor<1x2x6x6xf32>) -> tensor<1x6x6x6xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x6x6xf32>) -> !dataflow.stream<1x6x6x2x!dataflow.fixed<16, 4>>
    %w0 = dataflow.weights {value = dense<0.25> : tensor<6x2x3x3xf32>, name = "conv0_w", format = !dataflow.fixed<16, 2>} : tensor<6x2x3x3xf32>
    %b0 = dataflow.weights {value = dense<0.5> : tensor<6xf32>, name = "conv0_b", format = !dataflow.fixed<16, 2>} : tensor<6xf32>
    %1 = dataflow.conv %0, %w0, %b0 {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 2 : i64, coarse_out = 4 : i64, fine = 3 : i64, "dataflow.inner_product" = "ffip"} : (!dataflow.stream<1x6x6x2x!dataflow.fixed<16, 4>>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> !dataflow.stream<1x6x6x6x!dataflow.fixed<16, 6>>
    %2 = dataflow.sink %1 {name = "output0", perm = array<i64: 0, 3, 1, 2>} : (!dataflow.stream<1x6x6x6x!dataflow.fixed<16, 6>>) -> tensor<1x6x6x6xf32>
    func.return %2 : tensor<1x6x6x6xf32>
  }
}

// CHECK: bf_conv0
// CHECK: dfcc::conv<{{.*}}, 6, 1, 2, 4, 3, {{[0-9]+}}, {{.*}}, dfcc::dsp_mul, dfcc::ffip_product>({{.*}}bf_conv0);  // conv0

// EST:       "name": "conv0",
// EST:       "DSP": 15,
// EST:       "multipliers": 15,
// EST-NEXT:  "inner_product": "ffip"

// TABLE: conv0 {{.*}} f=3 pixels=1 ip:ffip

// DIRECT:     "name": "conv0",
// DIRECT:     "DSP": 24,
// DIRECT:     "multipliers": 24
// DIRECT-NOT: inner_product

// EXPLORE: dataflow.conv
// EXPLORE-SAME: dataflow.inner_product = "direct"

// KEPT: dataflow.conv
// KEPT-SAME: dataflow.inner_product = "direct"

// BAD: dataflow.inner_product must be one of direct, ffip, got "fast"
