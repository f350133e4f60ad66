// A linear C -> F becomes C -> R -> F (SVD, sqrt(S) in each factor); the bias stays on the second.
// RUN: dfcc %s -p 'decompose{rank=2}' 2>&1 | filecheck %s
// energy=1 keeps every singular value: the exact rank, min(3, 6) = 3.
// RUN: dfcc %s -p 'decompose{energy=1.0}' 2>&1 | filecheck %s --check-prefix=FULL
// RUN: not dfcc %s -p 'decompose{override=linear0:cpd2}' 2>&1 | filecheck %s --check-prefix=CPD

// CHECK: remark: decompose: linear0: svd2, MACs 18 -> 18 (100%)
// CHECK: dataflow.linear %0, %{{[0-9]+}} {dataflow.decomposition = {method = "svd", rank = 2 : i64, groups = 1 : i64, source = "linear0", factor = 0 : i64}, name = "linear0_svd0"} : (!dataflow.stream<1x6xf32>, tensor<2x6xf32>) -> !dataflow.stream<1x2xf32>
// CHECK: dataflow.linear {{.*}}factor = 1 : i64}, name = "linear0_svd1"} : (!dataflow.stream<1x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> !dataflow.stream<1x3xf32>
// FULL: remark: decompose: linear0: svd3, MACs 18 -> 27 (150%), weight error {{[0-9.e-]+}}
// CPD: error: scheme 'cpd' does not apply to a linear layer (use one of svd)

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
