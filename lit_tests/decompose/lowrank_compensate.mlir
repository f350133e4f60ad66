// ITERA-LLM style compensation: 3-bit main weights plus a rank-1 branch, joined by an add.
// RUN: dfcc %s -p 'lowrank-compensate{weight-bits=3 rank=1 iterations=3}' 2>&1 | filecheck %s
// The quantize pipeline the pass asks for leaves the main weights on their 3-bit grid.
// RUN: dfcc %s -p 'lowrank-compensate{weight-bits=3 rank=1 iterations=3},quantize{weight-bits=8 override=linear0:w3}' 2>/dev/null | filecheck %s --check-prefix=QUANT
// RUN: not dfcc %s -p 'lowrank-compensate{nodes=conv*}' 2>&1 | filecheck %s --check-prefix=NONE

// The error per iteration of the loop, and the W3 error without the branch.
// CHECK: remark: lowrank-compensate: linear0: weight error at W3 alone 0.192, with rank 1 compensation 0.107 (per iteration: 0.142, 0.107, 0.107)
// CHECK: remark: lowrank-compensate: {{.*}}quantize{weight-bits=8 override=linear0:w3}
// The input is forked: one copy to the branch, one to the main node.
// CHECK: %[[BRANCH:[0-9]+]], %[[MAIN:[0-9]+]] = dataflow.fork %0
// CHECK: %[[V:[0-9]+]] = dataflow.linear %[[BRANCH]], %{{[0-9]+}} {dataflow.decomposition = {method = "itera", rank = 1 : i64, groups = 1 : i64, source = "linear0", factor = 0 : i64}, name = "linear0_lr0"} : (!dataflow.stream<1x6xf32>, tensor<1x6xf32>) -> !dataflow.stream<1x1xf32>
// CHECK: %[[U:[0-9]+]] = dataflow.linear %[[V]], %{{[0-9]+}} {{.*}}name = "linear0_lr1"} : (!dataflow.stream<1x1xf32>, tensor<3x1xf32>) -> !dataflow.stream<1x3xf32>
// CHECK: %[[Q:[0-9]+]] = dataflow.linear %[[MAIN]], {{.*}}{dataflow.compensation = {weight_bits = 3 : i64, rank = 1 : i64, iterations = 3 : i64, error = {{.*}} : f64}, name = "linear0"}
// CHECK: %[[SUM:[0-9]+]] = dataflow.map %[[Q]], %[[U]] {name = "linear0_add"}
// CHECK: arith.addf
// CHECK: dataflow.sink %[[SUM]]

// QUANT: name = "linear0_wq", format = !dataflow.fixed<3, 1, rnd, sat>}
// QUANT: name = "linear0_lr0_w", format = !dataflow.fixed<8,
// NONE: error: lowrank-compensate: nodes=conv* matches no conv or linear node (they are: linear0)

builtin.module {
  func.func @main(%arg0: tensor<1x6xf32>) -> tensor<1x3xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 1>} : (tensor<1x6xf32>) -> !dataflow.stream<1x6xf32>
    %1 = dataflow.weights {value = dense<[[-0.04,0.1,0.35,-0.38,0.71,0.36],[0.42,0.58,0.39,0.42,0.04,-0.71],[-0.07,-0.38,-0.71,0.13,-0.28,-0.51]]> : tensor<3x6xf32>, name = "w"} : tensor<3x6xf32>
    %2 = dataflow.weights {value = dense<[0.1, -0.2, 0.3]> : tensor<3xf32>, name = "b"} : tensor<3xf32>
    %3 = dataflow.linear %0, %1, %2 {name = "linear0"} : (!dataflow.stream<1x6xf32>, tensor<3x6xf32>, tensor<3xf32>) -> !dataflow.stream<1x3xf32>
    %4 = dataflow.sink %3 {name = "output0", perm = array<i64: 0, 1>} : (!dataflow.stream<1x3xf32>) -> tensor<1x3xf32>
    func.return %4 : tensor<1x3xf32>
  }
}
