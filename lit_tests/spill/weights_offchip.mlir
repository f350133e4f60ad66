// Weights streamed from DRAM (AutoWS, H2PIPE): conv0 keeps none of its weights on chip, conv1 half of
// its weight memory's words, the linear layer none. Each spilled node gets a weight reader over m_axi
// ports (burst reads into a prefetch FIFO), conv1 a merge of its on-chip words with the streamed ones,
// and the project a weight image with its layout, which the testbench loads into its DRAM arrays.
// RUN: dfcc %s -p 'quantize{weight-bits=4 act-bits=6}' -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: filecheck %s --check-prefix=HDR --input-file %t/top.h
// RUN: filecheck %s --check-prefix=TB --input-file %t/tb.cpp
// RUN: filecheck %s --check-prefix=LAYOUT --input-file %t/weights.json
// RUN: filecheck %s --check-prefix=TCL --input-file %t/run_hls.tcl
// RUN: not dfcc %s -t hls -o %t.float 2>&1 | filecheck %s --check-prefix=FLOAT

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%arg0: tensor<1x4x6x6xf32>) -> tensor<1x6x6x3xf32> {
    %0 = dataflow.source %arg0 {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x6x6xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w0 = dataflow.weights {name = "w0", value = dense<[[[[0.5, -0.625, -0.5]], [[-0.375, -0.5, 0.5]], [[0.625, 0.125, -0.75]], [[-0.625, -0.25, -0.125]]], [[[0.25, 0.0, -0.375]], [[-0.5, 0.25, 0.375]], [[-0.75, -0.625, -0.125]], [[-0.125, 0.625, 0.0]]], [[[-0.125, -0.125, 0.25]], [[0.125, -0.5, 0.375]], [[0.375, 0.75, 0.5]], [[-0.375, -0.25, 0.25]]], [[[0.25, 0.375, 0.625]], [[-0.375, 0.75, -0.75]], [[-0.75, 0.75, 0.75]], [[-0.375, -0.625, -0.25]]]]> : tensor<4x4x1x3xf32>} : tensor<4x4x1x3xf32>
    %b0 = dataflow.weights {name = "b0", value = dense<[0.5, -0.25, 0.125, 0.0]> : tensor<4xf32>} : tensor<4xf32>
    %1 = dataflow.conv %0, %w0, %b0 {dataflow.weights_memory = "off_chip", name = "conv0", kernel = array<i64: 1, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 1, 1>, coarse_in = 2 : i64, coarse_out = 2 : i64} : (!dataflow.stream<1x6x6x4xf32>, tensor<4x4x1x3xf32>, tensor<4xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w1 = dataflow.weights {name = "w1", value = dense<[[[[-0.75, 0.625, 0.25], [0.125, -0.375, 0.0], [-0.5, 0.5, 0.0]], [[-0.75, -0.375, 0.375], [0.0, -0.25, -0.375], [-0.625, 0.125, 0.25]]], [[[0.0, 0.75, 0.75], [-0.5, 0.125, 0.25], [-0.375, -0.375, 0.0]], [[0.375, -0.375, 0.375], [0.25, -0.5, -0.125], [0.5, 0.5, 0.25]]], [[[-0.75, 0.25, -0.5], [0.5, 0.625, -0.125], [0.75, 0.375, -0.25]], [[0.625, -0.25, -0.625], [0.125, 0.625, 0.25], [-0.125, 0.625, 0.0]]], [[[-0.125, -0.625, -0.5], [0.375, 0.5, -0.375], [0.25, 0.625, -0.625]], [[-0.375, 0.0, 0.125], [-0.125, -0.125, -0.625], [0.125, 0.75, -0.5]]]]> : tensor<4x2x3x3xf32>} : tensor<4x2x3x3xf32>
    %2 = dataflow.conv %1, %w1 {dataflow.weights_on_chip = 50 : i64, name = "conv1", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, groups = 2 : i64, fine = 3 : i64} : (!dataflow.stream<1x6x6x4xf32>, tensor<4x2x3x3xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w2 = dataflow.weights {name = "w2", value = dense<[[0.5, -0.5, -0.75, 0.375], [-0.5, 0.375, -0.25, 0.125], [0.75, 0.625, 0.0, -0.5]]> : tensor<3x4xf32>} : tensor<3x4xf32>
    %3 = dataflow.linear %2, %w2 {dataflow.weights_memory = "off_chip", name = "fc"} : (!dataflow.stream<1x6x6x4xf32>, tensor<3x4xf32>) -> !dataflow.stream<1x6x6x3xf32>
    %4 = dataflow.sink %3 {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x6x6x3xf32>) -> tensor<1x6x6x3xf32>
    func.return %4 : tensor<1x6x6x3xf32>
  }
}
