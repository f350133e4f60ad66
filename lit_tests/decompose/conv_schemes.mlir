// Default scope (Mixed-TD): the stem conv0 stays, the 3x3 conv1 becomes 1x3 then 3x1 (SVD separable).
// RUN: dfcc %s -p 'decompose{rank=1}' 2>&1 | filecheck %s --check-prefix=SEP
// RUN: dfcc %s -p 'decompose{method=svd scheme=grouped groups=2 rank=1}' 2>/dev/null | filecheck %s --check-prefix=GRP
// RUN: dfcc %s -p 'decompose{method=svd scheme=reversed groups=2 rank=1}' 2>/dev/null | filecheck %s --check-prefix=REV
// RUN: dfcc %s -p 'decompose{method=cpd rank=3}' 2>/dev/null | filecheck %s --check-prefix=CPD
// An override reaches the stem too; `keep` leaves a node alone.
// RUN: dfcc %s -p 'decompose{override=conv0:separable2,conv1:keep}' 2>/dev/null | filecheck %s --check-prefix=OVR
// RUN: not dfcc %s -p 'decompose{override=conv9:cpd2}' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: not dfcc %s -p 'decompose{override=conv1:tucker2}' 2>&1 | filecheck %s --check-prefix=SPEC

// The pass says what it did: MACs (4x4 outputs x 4 x 2 x 9 = 1152) and the weight error.
// SEP: remark: decompose: conv1: separable1, MACs 1152 -> 288 (25%), weight error
// SEP: dataflow.conv {{.*}}name = "conv0", kernel = array<i64: 3, 3>
// Provenance (method, rank, groups, source node, position); stride, dilation and padding split by
// axis: the 1xK factor pads columns, the Kx1 factor rows.
// SEP: dataflow.conv {{.*}}{dataflow.decomposition = {method = "svd-separable", rank = 1 : i64, groups = 1 : i64, source = "conv1", factor = 0 : i64}, name = "conv1_separable0", kernel = array<i64: 1, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 1, 1>}
// SEP-SAME: (!dataflow.stream<1x4x4x2xf32>, tensor<1x2x1x3xf32>) -> !dataflow.stream<1x4x4x1xf32>
// The last factor takes the original bias.
// SEP: dataflow.conv {{.*}}source = "conv1", factor = 1 : i64}, name = "conv1_separable1", kernel = array<i64: 3, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 0, 0>}
// SEP-SAME: (!dataflow.stream<1x4x4x1xf32>, tensor<4x1x3x1xf32>, tensor<4xf32>) -> !dataflow.stream<1x4x4x4xf32>
// SEP-NOT: name = "conv1"

// Grouped: 3x3 conv 2 -> 2*1 in 2 groups, then 1x1 2 -> 4.
// GRP: dataflow.conv {{.*}}{dataflow.decomposition = {method = "svd-grouped", rank = 1 : i64, groups = 2 : i64, source = "conv1", factor = 0 : i64}, name = "conv1_grouped0", kernel = array<i64: 3, 3>, {{.*}}pad = array<i64: 1, 1, 1, 1>, groups = 2 : i64}
// GRP-SAME: tensor<2x1x3x3xf32>) -> !dataflow.stream<1x4x4x2xf32>
// GRP: dataflow.conv {{.*}}name = "conv1_grouped1", kernel = array<i64: 1, 1>, {{.*}}pad = array<i64: 0, 0, 0, 0>}
// GRP-SAME: tensor<4x2x1x1xf32>, tensor<4xf32>) -> !dataflow.stream<1x4x4x4xf32>

// Reversed: 1x1 2 -> 2*1, then 3x3 in 2 groups 2 -> 4.
// REV: dataflow.conv {{.*}}method = "svd-reversed"{{.*}}name = "conv1_reversed0", kernel = array<i64: 1, 1>
// REV-SAME: tensor<2x2x1x1xf32>) -> !dataflow.stream<1x4x4x2xf32>
// REV: dataflow.conv {{.*}}name = "conv1_reversed1", kernel = array<i64: 3, 3>, {{.*}}pad = array<i64: 1, 1, 1, 1>, groups = 2 : i64}
// REV-SAME: tensor<4x1x3x3xf32>, tensor<4xf32>) -> !dataflow.stream<1x4x4x4xf32>

// CPD (ALS): 1x1 2 -> 3, depthwise 3x1, depthwise 1x3, 1x1 3 -> 4.
// CPD: dataflow.conv {{.*}}method = "cpd", rank = 3 : i64{{.*}}name = "conv1_cpd0", kernel = array<i64: 1, 1>
// CPD-SAME: tensor<3x2x1x1xf32>) -> !dataflow.stream<1x4x4x3xf32>
// CPD: dataflow.conv {{.*}}name = "conv1_cpd1", kernel = array<i64: 3, 1>, {{.*}}pad = array<i64: 1, 1, 0, 0>, groups = 3 : i64}
// CPD-SAME: tensor<3x1x3x1xf32>) -> !dataflow.stream<1x4x4x3xf32>
// CPD: dataflow.conv {{.*}}name = "conv1_cpd2", kernel = array<i64: 1, 3>, {{.*}}pad = array<i64: 0, 0, 1, 1>, groups = 3 : i64}
// CPD-SAME: tensor<3x1x1x3xf32>) -> !dataflow.stream<1x4x4x3xf32>
// CPD: dataflow.conv {{.*}}name = "conv1_cpd3", kernel = array<i64: 1, 1>
// CPD-SAME: tensor<4x3x1x1xf32>, tensor<4xf32>) -> !dataflow.stream<1x4x4x4xf32>

// OVR: name = "conv0_separable0"
// OVR: name = "conv0_separable1"
// OVR: name = "conv1", kernel = array<i64: 3, 3>

// BAD: error: decompose: override pattern 'conv9' matches no conv or linear node (they are: conv0, conv1)
// SPEC: override spec 'tucker2' must be keep or SCHEME RANK [gGROUPS]

builtin.module {
  func.func @main(%arg0: tensor<1x2x6x6xf32>) -> tensor<1x4x4x4xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x6x6xf32>) -> !dataflow.stream<1x6x6x2xf32>
    %1 = dataflow.weights {value = dense<[[[[0.06,-0.07,0.32],[0.05,-0.27,0.18],[0.65,0.47,-0.35]],[[-0.63,-0.31,0.02],[-1.16,-0.11,-0.62],[-0.37,-0.27,-0.16]]],[[[0.21,0.52,-0.06],[0.68,-0.33,0.18],[0.45,0.05,-0.37]],[[-0.46,-0.23,0.11],[-0.5,-0.1,-0.08],[0.27,0.11,0.18]]]]> : tensor<2x2x3x3xf32>, name = "w0"} : tensor<2x2x3x3xf32>
    %2 = dataflow.conv %0, %1 {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x6x6x2xf32>, tensor<2x2x3x3xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %3 = dataflow.weights {value = dense<[[[[-0.33,-0.06,0.39],[0.75,-0.63,0.76],[0.67,0.39,0.13]],[[-0.16,0.73,0.98],[0.9,0.66,0.18],[-0.6,-0.0,0.33]]],[[[-0.64,0.2,0.21],[0.35,-0.59,-0.33],[-0.22,-0.58,0.87]],[[-0.25,0.16,-0.13],[0.79,0.66,0.32],[-1.1,0.03,0.34]]],[[[0.5,-0.31,0.91],[-0.66,-0.33,0.47],[0.02,1.0,0.09]],[[-0.32,-0.19,-0.55],[-0.64,0.32,0.29],[0.65,-0.38,0.84]]],[[[-0.14,0.79,-0.22],[-0.37,0.12,0.52],[0.08,-0.29,-0.67]],[[-0.7,0.25,0.49],[-0.08,-0.54,0.44],[-0.64,-0.36,0.31]]]]> : tensor<4x2x3x3xf32>, name = "w1"} : tensor<4x2x3x3xf32>
    %4 = dataflow.weights {value = dense<[-0.23,0.04,-0.06,0.01]> : tensor<4xf32>, name = "b1"} : tensor<4xf32>
    %5 = dataflow.conv %2, %3, %4 {name = "conv1", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x4x4x2xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> !dataflow.stream<1x4x4x4xf32>
    %6 = dataflow.sink %5 {name = "output0", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    func.return %6 : tensor<1x4x4x4xf32>
  }
}
