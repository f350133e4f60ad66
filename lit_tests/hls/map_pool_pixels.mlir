// Spatial parallelism past the convs: a fork, a residual-add map and a max pool taking 2 whole pixels per
// beat (all 2 channels each) stream 4-lane beats from the 2-pixel input port to the 2-pixel output port, with
// no lane converter between them; the estimate halves each stage's beats.
// RUN: dfcc %s -t hls -o %t && filecheck %s --input-file %t/top.cpp
// RUN: dfcc %s -t estimate --json | filecheck %s --check-prefix=EST

builtin.module attributes {dataflow.platform = "zcu104"} {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>, pixels = 2 : i64} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %1:2 = dataflow.fork %0 {name = "fork0", coarse = 2 : i64, pixels = 2 : i64} : (!dataflow.stream<1x4x4x2xf32>) -> (!dataflow.stream<1x4x4x2xf32>, !dataflow.stream<1x4x4x2xf32>)
    %2 = dataflow.map %1#0, %1#1 {name = "add0", coarse = 2 : i64, pixels = 2 : i64} : !dataflow.stream<1x4x4x2xf32>, !dataflow.stream<1x4x4x2xf32> -> !dataflow.stream<1x4x4x2xf32> {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      dataflow.yield %s : f32
    }
    %3 = dataflow.pool %2 {name = "pool0", kind = "max", kernel = array<i64: 2, 2>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, coarse = 2 : i64, pixels = 2 : i64} : (!dataflow.stream<1x4x4x2xf32>) -> !dataflow.stream<1x2x2x2xf32>
    %4 = dataflow.sink %3 {name = "output0", perm = array<i64: 0, 2, 3, 1>, pixels = 2 : i64} : (!dataflow.stream<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
    func.return %4 : tensor<1x2x2x2xf32>
  }
}

// CHECK: static void stage_add0(hls::stream<dfcc::vec<float, 4> >& in0, hls::stream<dfcc::vec<float, 4> >& in1
// CHECK: void top(hls::stream<dfcc::vec<float, 4> >& input0, hls::stream<dfcc::vec<float, 4> >& output0)
// CHECK-NOT: dfcc::lanes<
// CHECK: dfcc::fork_each<8, 4>(input0,
// CHECK-NOT: dfcc::lanes<
// CHECK: dfcc::max_pool_px<{{.*}}, 2>(s_add0, output0);

// 16 pixels, 2 a beat: 8 beats for the fork, the map and the pool's walk; its 4 output pixels leave in 2 beats
// EST: "name": "fork0"
// EST: "cycles": 8
// EST: "name": "add0"
// EST: "cycles": 8
// EST: "name": "pool0"
// EST: "cycles": 8
// EST: "name": "output0"
// EST: "cycles": 2
