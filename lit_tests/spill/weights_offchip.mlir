// Weights streamed from DRAM (AutoWS, H2PIPE): conv0 keeps none of its weights on chip (its 16-bit words, 4 x
// 4 bits, one a 16-bit beat: as few bits as 32 to a 512-bit beat, through a narrower port), conv1 half of
// its weight memory's words, conv2 none (its 96 x 4-bit words span three 128-bit ports), the linear layer none (its 192 single
// weights fill two beats of 128). Each spilled node gets a weight reader over m_axi
// ports (burst reads into a prefetch FIFO), conv1 a merge of its on-chip words with the streamed ones,
// and the project a weight image with its layout, which the testbench loads into its DRAM arrays.
// RUN: dfcc %s -p 'quantize{weight-bits=4 act-bits=6}' -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: filecheck %s --check-prefix=HDR --input-file %t/top.h
// RUN: filecheck %s --check-prefix=TB --input-file %t/tb.cpp
// RUN: filecheck %s --check-prefix=LAYOUT --input-file %t/weights.json
// RUN: filecheck %s --check-prefix=TCL --input-file %t/run_hls.tcl
// RUN: not dfcc %s -t hls -o %t.float 2>&1 | filecheck %s --check-prefix=FLOAT

builtin.module attributes {dataflow.platform = "zcu102"} {
  func.func @main(%arg0: tensor<1x4x6x6xf32>) -> tensor<1x6x6x24xf32> {
    %0 = dataflow.source %arg0 {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x6x6xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w0 = dataflow.weights {name = "w0", value = dense<[[[[0.5, -0.625, -0.5]], [[-0.375, -0.5, 0.5]], [[0.625, 0.125, -0.75]], [[-0.625, -0.25, -0.125]]], [[[0.25, 0.0, -0.375]], [[-0.5, 0.25, 0.375]], [[-0.75, -0.625, -0.125]], [[-0.125, 0.625, 0.0]]], [[[-0.125, -0.125, 0.25]], [[0.125, -0.5, 0.375]], [[0.375, 0.75, 0.5]], [[-0.375, -0.25, 0.25]]], [[[0.25, 0.375, 0.625]], [[-0.375, 0.75, -0.75]], [[-0.75, 0.75, 0.75]], [[-0.375, -0.625, -0.25]]]]> : tensor<4x4x1x3xf32>} : tensor<4x4x1x3xf32>
    %b0 = dataflow.weights {name = "b0", value = dense<[0.5, -0.25, 0.125, 0.0]> : tensor<4xf32>} : tensor<4xf32>
    %1 = dataflow.conv %0, %w0, %b0 {dataflow.weights_memory = "off_chip", name = "conv0", kernel = array<i64: 1, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 1, 1>, coarse_in = 2 : i64, coarse_out = 2 : i64} : (!dataflow.stream<1x6x6x4xf32>, tensor<4x4x1x3xf32>, tensor<4xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w1 = dataflow.weights {name = "w1", value = dense<[[[[-0.75, 0.625, 0.25], [0.125, -0.375, 0.0], [-0.5, 0.5, 0.0]], [[-0.75, -0.375, 0.375], [0.0, -0.25, -0.375], [-0.625, 0.125, 0.25]]], [[[0.0, 0.75, 0.75], [-0.5, 0.125, 0.25], [-0.375, -0.375, 0.0]], [[0.375, -0.375, 0.375], [0.25, -0.5, -0.125], [0.5, 0.5, 0.25]]], [[[-0.75, 0.25, -0.5], [0.5, 0.625, -0.125], [0.75, 0.375, -0.25]], [[0.625, -0.25, -0.625], [0.125, 0.625, 0.25], [-0.125, 0.625, 0.0]]], [[[-0.125, -0.625, -0.5], [0.375, 0.5, -0.375], [0.25, 0.625, -0.625]], [[-0.375, 0.0, 0.125], [-0.125, -0.125, -0.625], [0.125, 0.75, -0.5]]]]> : tensor<4x2x3x3xf32>} : tensor<4x2x3x3xf32>
    %2 = dataflow.conv %1, %w1 {dataflow.weights_on_chip = 50 : i64, name = "conv1", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, groups = 2 : i64, fine = 3 : i64} : (!dataflow.stream<1x6x6x4xf32>, tensor<4x2x3x3xf32>) -> !dataflow.stream<1x6x6x4xf32>
    %w3 = dataflow.weights {name = "w3", value = dense<[[[[0.25, 0.5, -0.75], [0.5, 0.0, 0.0], [0.25, -0.375, 0.75]], [[-0.75, -0.375, -0.25], [0.125, -0.125, -0.625], [-0.75, -0.75, -0.75]], [[-0.625, 0.75, -0.5], [0.25, 0.375, -0.375], [-0.375, -0.125, -0.375]], [[0.75, -0.5, 0.625], [0.5, 0.5, -0.625], [-0.125, 0.25, 0.0]]], [[[0.25, 0.25, 0.25], [-0.75, 0.75, 0.125], [0.625, -0.375, -0.25]], [[0.625, -0.5, -0.75], [-0.25, 0.25, -0.625], [0.625, -0.25, -0.5]], [[0.125, 0.625, 0.625], [0.625, -0.375, -0.75], [0.5, 0.375, 0.5]], [[-0.75, -0.75, 0.0], [-0.25, -0.125, 0.75], [-0.5, 0.0, -0.25]]], [[[-0.375, 0.5, -0.625], [-0.25, -0.625, -0.625], [-0.375, 0.375, 0.125]], [[-0.125, -0.5, 0.5], [0.5, -0.375, -0.75], [-0.25, -0.625, 0.5]], [[0.0, 0.0, -0.375], [0.0, 0.75, -0.375], [0.375, -0.75, -0.25]], [[0.75, 0.625, -0.625], [0.5, 0.5, -0.125], [-0.25, 0.75, 0.75]]], [[[0.25, -0.125, -0.5], [0.75, -0.375, 0.125], [0.25, -0.375, -0.25]], [[0.375, -0.5, 0.25], [0.75, 0.25, 0.25], [0.0, 0.75, -0.5]], [[-0.25, 0.25, 0.25], [-0.625, -0.5, 0.25], [0.5, 0.25, 0.75]], [[-0.25, -0.25, 0.5], [-0.75, -0.5, -0.5], [-0.125, -0.5, 0.5]]], [[[0.625, -0.25, -0.75], [0.375, -0.625, 0.125], [-0.5, 0.75, 0.25]], [[0.75, 0.25, 0.375], [-0.25, 0.5, -0.625], [-0.625, -0.25, 0.375]], [[0.0, 0.625, 0.75], [-0.125, -0.125, 0.125], [0.25, 0.0, 0.125]], [[0.75, 0.375, -0.25], [-0.125, -0.125, -0.625], [-0.75, 0.5, -0.125]]], [[[-0.25, 0.25, 0.125], [0.75, 0.25, 0.75], [0.125, -0.25, -0.25]], [[0.75, 0.125, -0.5], [0.5, 0.5, -0.75], [-0.5, 0.375, -0.125]], [[-0.25, -0.75, -0.5], [0.625, 0.5, 0.5], [0.125, -0.625, -0.25]], [[0.0, 0.75, -0.375], [0.125, 0.0, 0.0], [0.125, 0.375, -0.625]]], [[[0.75, 0.625, 0.375], [-0.375, -0.125, -0.125], [-0.25, -0.75, 0.375]], [[-0.75, 0.375, -0.5], [0.25, -0.25, -0.375], [0.75, 0.0, 0.625]], [[-0.5, 0.0, -0.25], [-0.125, -0.75, 0.25], [-0.25, 0.625, -0.5]], [[-0.25, -0.75, 0.5], [0.0, -0.125, 0.625], [0.125, 0.75, 0.375]]], [[[0.125, 0.0, -0.5], [0.25, 0.5, 0.375], [-0.125, -0.75, 0.375]], [[-0.75, 0.5, -0.625], [-0.375, -0.5, 0.125], [-0.5, -0.375, -0.75]], [[0.75, -0.5, -0.5], [0.125, -0.625, 0.625], [0.5, -0.25, -0.125]], [[-0.25, 0.375, -0.125], [-0.375, 0.25, -0.625], [0.5, -0.125, 0.75]]]]> : tensor<8x4x3x3xf32>} : tensor<8x4x3x3xf32>
    %3 = dataflow.conv %2, %w3 {dataflow.weights_memory = "off_chip", name = "conv2", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, coarse_in = 4 : i64, coarse_out = 8 : i64, fine = 3 : i64} : (!dataflow.stream<1x6x6x4xf32>, tensor<8x4x3x3xf32>) -> !dataflow.stream<1x6x6x8xf32>
    %w2 = dataflow.weights {name = "w2", value = dense<[[-0.125, 0.0, 0.0, -0.25, 0.75, -0.25, 0.25, -0.25], [-0.125, 0.75, -0.5, 0.25, -0.125, 0.25, 0.375, -0.25], [0.25, 0.25, -0.125, -0.625, 0.25, -0.75, 0.625, 0.625], [0.625, -0.75, 0.75, 0.75, 0.125, 0.5, 0.375, 0.5], [-0.625, -0.75, -0.375, -0.5, 0.125, 0.625, 0.375, -0.125], [0.125, 0.25, 0.5, -0.625, 0.5, -0.5, 0.125, 0.0], [0.625, 0.375, -0.5, 0.125, -0.75, -0.625, 0.0, 0.625], [-0.5, -0.625, 0.75, -0.125, -0.625, 0.125, -0.25, -0.25], [-0.125, -0.125, 0.5, 0.625, -0.375, -0.125, 0.25, 0.125], [0.125, 0.75, -0.5, -0.375, 0.375, 0.625, -0.125, -0.25], [0.5, -0.25, 0.0, 0.625, -0.125, -0.75, 0.0, 0.625], [0.5, 0.5, 0.5, 0.625, -0.25, -0.75, 0.375, -0.375], [0.375, 0.5, 0.0, -0.125, 0.125, -0.75, 0.625, 0.375], [-0.75, 0.5, 0.625, 0.75, 0.0, -0.625, -0.25, -0.375], [0.75, 0.5, 0.0, -0.625, -0.5, -0.375, 0.375, -0.125], [-0.5, -0.125, -0.625, 0.125, -0.375, 0.625, 0.0, 0.25], [0.75, 0.25, -0.25, 0.125, -0.625, -0.5, -0.375, -0.125], [0.25, 0.75, -0.5, 0.625, -0.625, 0.375, 0.75, 0.0], [0.0, 0.625, -0.625, 0.25, 0.625, -0.125, -0.375, 0.0], [-0.75, -0.5, -0.125, 0.125, 0.25, -0.25, -0.5, 0.5], [-0.75, 0.5, -0.625, 0.75, -0.125, 0.5, -0.5, -0.75], [0.125, 0.375, -0.25, 0.5, -0.25, 0.625, -0.625, 0.0], [0.5, 0.0, 0.375, 0.0, -0.25, -0.5, 0.5, 0.75], [-0.125, 0.75, -0.75, -0.375, 0.125, 0.75, 0.125, -0.5]]> : tensor<24x8xf32>} : tensor<24x8xf32>
    %5 = dataflow.linear %3, %w2 {dataflow.weights_memory = "off_chip", name = "fc"} : (!dataflow.stream<1x6x6x8xf32>, tensor<24x8xf32>) -> !dataflow.stream<1x6x6x24xf32>
    %4 = dataflow.sink %5 {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x6x6x24xf32>) -> tensor<1x6x6x24xf32>
    func.return %4 : tensor<1x6x6x24xf32>
  }
}

// One m_axi port per DRAM buffer: conv0's 16-bit words, 512-bit beats of whole words, or conv2's 384-bit words
// over three 128-bit ports:
// CHECK:      void top({{.*}}, ap_uint<16>* conv0_w0, ap_uint<512>* conv1_w0, ap_uint<128>* conv2_w0, ap_uint<128>* conv2_w1, ap_uint<128>* conv2_w2, ap_uint<512>* fc_w0) {
// CHECK:      DFCC_HLS(INTERFACE m_axi port=conv0_w0 offset=slave bundle=gmem_conv0_w0 depth=12 max_read_burst_length=16
// CHECK-NEXT: DFCC_HLS(INTERFACE m_axi port=conv1_w0 offset=slave bundle=gmem_conv1_w0 depth=1 max_read_burst_length=16
// CHECK-NEXT: DFCC_HLS(INTERFACE m_axi port=conv2_w0 offset=slave bundle=gmem_conv2_w0 depth=3 max_read_burst_length=16
// CHECK-NEXT: DFCC_HLS(INTERFACE m_axi port=conv2_w1 offset=slave bundle=gmem_conv2_w1 depth=3 max_read_burst_length=16
// CHECK-NEXT: DFCC_HLS(INTERFACE m_axi port=conv2_w2 offset=slave bundle=gmem_conv2_w2 depth=3 max_read_burst_length=16
// CHECK-NEXT: DFCC_HLS(INTERFACE m_axi port=fc_w0 offset=slave bundle=gmem_fc_w0 depth=2 max_read_burst_length=16
// the prefetch FIFOs cover a 64-cycle DRAM latency in 16-beat bursts
// CHECK:      hls::stream<dfcc::vec<dfcc::code<ap_fixed<4, 1>, signed char >, 4> > conv0_wfifo("conv0_wfifo");
// CHECK-NEXT: DFCC_HLS(STREAM variable=conv0_wfifo depth=2)
// reader<sweeps (output pixels), streamed words, words a beat, lanes a port, bits, beat bits>
// CHECK:      dfcc::weight_reader<36, 12, 1, 4, 4, 16>(conv0_wfifo, conv0_w0);  // conv0: 12 of 12 words from DRAM
// CHECK-NEXT: dfcc::conv<{{.*}}>(in, s_conv0, conv0_wfifo, w_b0);  // conv0
// CHECK:      dfcc::weight_reader<36, 12, 42, 3, 4, 512>(conv1_wfifo, conv1_w0);  // conv1: 12 of 24 words from DRAM
// CHECK-NEXT: dfcc::weight_merge<36, 12, 12>(w_w1_conv1_on, conv1_wfifo, conv1_words);  // conv1
// CHECK-NEXT: dfcc::conv<{{.*}}>(conv1_in1, s_conv1, conv1_words, b_conv1_zero);  // conv1
// CHECK:      dfcc::weight_reader<36, 3, 1, 32, 4, 128>(conv2_wfifo, conv2_w0, conv2_w1, conv2_w2);  // conv2: 3 of 3 words from DRAM
// CHECK-NEXT: dfcc::conv<{{.*}}>(conv2_in4, s_conv2, conv2_wfifo, b_conv2_zero);  // conv2
// CHECK:      dfcc::weight_reader<36, 192, 128, 1, 4, 512>(fc_wfifo, fc_w0);  // fc: 192 of 192 words from DRAM
// CHECK-NEXT: dfcc::linear<{{.*}}>(fc_in1, out, fc_wfifo, b_fc_zero);  // fc

// HDR:      #include "dfcc/offchip.h"
// HDR:      // DRAM buffer dram_conv0_w0: 12 words of ap_uint<16>; the host allocates it and loads it from weights.bin (weights.json) and passes it to every one of conv0_w0

// TB:       static ap_uint<16> dram_conv0_w0[12];
// TB:       const std::vector<unsigned char> image = read_bytes(dir + "/../weights.bin");
// TB:       dram_conv1_w0[i].range(8 * k + 7, 8 * k) = image[4096 + i * 64 + k];
// TB:       top(port_in, port_out, dram_conv0_w0, dram_conv1_w0, dram_conv2_w0, dram_conv2_w1, dram_conv2_w2, dram_fc_w0);

// LAYOUT:      "buffer": "dram_conv1_w0",
// LAYOUT-NEXT: "port": 0,
// LAYOUT-NEXT: "offset": 4096,
// LAYOUT-NEXT: "bytes": 64,
// LAYOUT:      "words_on_chip": 12,
// LAYOUT-NEXT: "words_streamed": 12,
// LAYOUT-NEXT: "sweeps": 36,

// TCL: add_files -tb weights.bin

// FLOAT: HLS backend: dataflow.conv 'conv0': weights streamed from off-chip memory need fixed-point weights (run quantize first)
