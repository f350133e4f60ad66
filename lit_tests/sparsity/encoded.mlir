// A graph after sparsify{weight-density=0.5 override=conv0:keep}, activation-sparsity and
// zero-skip{nodes=conv1}: conv1 reads pruned weights (kept values + bitmask) and skips zero products.
// It parses, verifies and prints back; the estimate costs conv1 by its measured histogram.
// RUN: dfcc %s | filecheck %s
// RUN: dfcc %s -t estimate 2>&1 | filecheck %s --check-prefix=EST
// RUN: dfcc %s -t estimate --json 2>/dev/null | filecheck %s --check-prefix=JSON

// CHECK: dataflow.sparse_weights {name = "w1_sparse", values = dense_resource<dfcc_w1_sparse_values> : tensor<36xf32>, pattern = "unstructured", density = 5.000000e-01 : f64, mask = dense_resource<dfcc_w1_sparse_mask> : tensor<9xi8>} : tensor<4x2x3x3xf32>
// CHECK: dataflow.sparse_conv {{.*}}dataflow.zero_histogram = {counts = dense<{{\[\[}}0, 0, 0, 116, 174, 377, 609, 435, 116, 29], [0, 0, 0, 0, 348, 232, 812, 261, 203, 0]]> : tensor<2x10xi64>
// CHECK: dfcc_w1_sparse_mask: "0x04000000FCBC44C6D28AB9C83A"

// Hand computation at ci = co = fine = 1 (PASS/HASS): each channel's expected window cost is
// sum_z P(z) ceil((9 - z)/1): channel 0 5887/1856, channel 1 5829/1856, together 6.3125 cycles per
// output pixel and filter on the one stream; 4x4 pixels x 4 filters x 6.3125 = 404 (dense: 1,152).
// EST: conv0 {{.*}} conv {{.*}} 576
// EST: conv1 {{.*}} sparse_conv {{.*}} 404
// EST: conv1: zero-skipping; its cycles are an expectation over random inputs
// JSON: "cycles": 404
// JSON: "cycles_expected_over": "random inputs"

builtin.module {
  func.func @main(%arg0: tensor<1x2x6x6xf32>) -> tensor<1x4x4x4xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x6x6xf32>) -> !dataflow.stream<1x6x6x2xf32>
    %1 = dataflow.weights {value = dense<[[[[6.000000e-02, -7.000000e-02, 3.200000e-01], [5.000000e-02, -2.700000e-01, 1.800000e-01], [6.500000e-01, 4.700000e-01, -3.500000e-01]], [[-6.300000e-01, -3.100000e-01, 2.000000e-02], [-1.160000e+00, -1.100000e-01, -6.200000e-01], [-3.700000e-01, -2.700000e-01, -1.600000e-01]]], [[[2.100000e-01, 5.200000e-01, -6.000000e-02], [6.800000e-01, -3.300000e-01, 1.800000e-01], [4.500000e-01, 5.000000e-02, -3.700000e-01]], [[-4.600000e-01, -2.300000e-01, 1.100000e-01], [-5.000000e-01, -1.000000e-01, -8.000000e-02], [2.700000e-01, 1.100000e-01, 1.800000e-01]]]]> : tensor<2x2x3x3xf32>, name = "w0"} : tensor<2x2x3x3xf32>
    %2 = dataflow.conv %0, %1 {dataflow.zero_histogram = {counts = dense<[[928, 0, 0, 0, 0, 0, 0, 0, 0, 0], [928, 0, 0, 0, 0, 0, 0, 0, 0, 0]]> : tensor<2x10xi64>, activation_zeros = 0.000000e+00 : f64, data = "random"}, name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x6x6x2xf32>, tensor<2x2x3x3xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %3 = dataflow.weights {value = dense<[-2.300000e-01, 4.000000e-02, -6.000000e-02, 1.000000e-02]> : tensor<4xf32>, name = "b1"} : tensor<4xf32>
    %4 = dataflow.sparse_weights {name = "w1_sparse", values = dense_resource<dfcc_w1_sparse_values> : tensor<36xf32>, pattern = "unstructured", density = 5.000000e-01 : f64, mask = dense_resource<dfcc_w1_sparse_mask> : tensor<9xi8>} : tensor<4x2x3x3xf32>
    %5 = dataflow.sparse_conv %2, %4, %3 {dataflow.zero_histogram = {counts = dense<[[0, 0, 0, 116, 174, 377, 609, 435, 116, 29], [0, 0, 0, 0, 348, 232, 812, 261, 203, 0]]> : tensor<2x10xi64>, activation_zeros = 0.000000e+00 : f64, data = "random"}, name = "conv1", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x4x4x2xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> !dataflow.stream<1x4x4x4xf32>
    %6 = dataflow.sink %5 {name = "output0", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    func.return %6 : tensor<1x4x4x4xf32>
  }
}


{-#
  dialect_resources: {
    builtin: {
      dfcc_w1_sparse_mask: "0x04000000FCBC44C6D28AB9C83A",dfcc_w1_sparse_values: "0x0400000014AEC73E0000403FAE4721BF5C8F423F1F852B3F14AEC73E48E13A3F48E17A3F6666663FC3F5283F9A9919BF0AD723BF3D0A17BFE17A14BF52B85E3F713D4A3FC3F5283FCDCC8CBF0000003FC3F5683FC3F528BFD7A3F03E0000803FCDCC0CBF0AD723BF6666263F5C8FC2BE3D0A573F713D4A3FB81E053F1F852BBF333333BF48E1FA3E713D0ABFAE47E13E0AD723BF"
    }
  }
#-}