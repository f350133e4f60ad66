// A skip FIFO bound to URAM (the stream type's memory): it prints and parses back, the estimate costs it in URAM
// (ceil(16 bits / 72) x ceil(300 / 4096) = 1 URAM288, UG573) where left to Vitis HLS it takes a BRAM18 (18 x 1024,
// UG573) besides the conv's 2, the HLS design binds it there, and a memory not one of auto, uram, lutram is refused.
// RUN: dfcc %s | dfcc - | filecheck %s --check-prefix=IR
// RUN: dfcc %s -t estimate --json 2>/dev/null | filecheck %s --check-prefix=EST
// RUN: sed -e 's/depth 300, uram>/depth 300>/' %s | dfcc - -t estimate --json 2>/dev/null | filecheck %s --check-prefix=AUTO
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp --check-prefix=HLS
// RUN: sed -e 's/depth 300, uram>/depth 300, sram>/' %s | not dfcc - 2>&1 | filecheck %s --check-prefix=BAD

builtin.module attributes {dataflow.platform = "u250"} {
  func.func @main(%arg0: tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x16x16xf32>) -> !dataflow.stream<1x16x16x8xf32>
    %w = dataflow.weights {value = dense<0.25> : tensor<8x8x3x3xf32>, name = "w"} : tensor<8x8x3x3xf32>
    %1, %2 = dataflow.fork %0 {name = "fork0"} : (!dataflow.stream<1x16x16x8xf32>) -> (!dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32, depth 300, uram>)
    %3 = dataflow.conv %1, %w {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x16x16x8xf32>, tensor<8x8x3x3xf32>) -> !dataflow.stream<1x16x16x8xf32>
    %4 = dataflow.map %3, %2 {name = "add0"} : !dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32, depth 300, uram> -> !dataflow.stream<1x16x16x8xf32> {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      dataflow.yield %s : f32
    }
    %5 = dataflow.sink %4 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x16x16x8xf32>) -> tensor<1x8x16x16xf32>
    func.return %5 : tensor<1x8x16x16xf32>
  }
}

// IR: dataflow.fork {{.*}} -> (!dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32, depth 300, uram>)
// IR: dataflow.map {{.*}} !dataflow.stream<1x16x16x8xf32, depth 300, uram> -> !dataflow.stream<1x16x16x8xf32>

// EST:      "resources": {
// EST-NEXT:   "DSP": 1,
// EST-NEXT:   "BRAM18": 2,
// EST-NEXT:   "URAM": 1,
// EST:        "fifos": [
// EST:          "depth": 300,
// EST-NEXT:     "memory": "uram"

// AUTO:      "resources": {
// AUTO-NEXT:   "DSP": 1,
// AUTO-NEXT:   "BRAM18": 3,
// AUTO-NEXT:   "URAM": 0,
// AUTO:        "depth": 300
// AUTO-NEXT: }

// HLS:      hls::stream<dfcc::vec<float, 1> > s_fork0_1("s_fork0_1");
// HLS-NEXT: DFCC_HLS(STREAM variable=s_fork0_1 depth=300)
// HLS-NEXT: DFCC_HLS(BIND_STORAGE variable=s_fork0_1 type=fifo impl=uram)

// BAD: dfcc: error: {{.*}}stream memory must be one of auto, uram, lutram, got 'sram'
