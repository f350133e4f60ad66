// sparsify: magnitude pruning; each pruned node's weights become a dataflow.sparse_weights op holding
// only the kept values plus a bitmask (unstructured) or in-group indices (n:m), its pattern and density.
// RUN: dfcc %s -p 'sparsify{weight-density=0.5}' 2>&1 | filecheck %s --check-prefix=GLOBAL
// RUN: dfcc %s -p 'sparsify{weight-density=0.5 scope=layer}' 2>&1 | filecheck %s --check-prefix=LAYER
// RUN: dfcc %s -p 'sparsify{pattern=n:m n=2 m=4}' 2>&1 | filecheck %s --check-prefix=NM
// RUN: dfcc %s -p 'sparsify{weight-density=0.5 override=conv0:keep,conv1:0.25}' 2>&1 | filecheck %s --check-prefix=OVR
// The printed IR parses back and runs on the CPU reference (the encoded form is what it reads).
// RUN: dfcc %s -p 'sparsify{pattern=n:m}' 2>/dev/null | dfcc - -p dataflow-cleanup 2>&1 | filecheck %s --check-prefix=ROUND
// RUN: not dfcc %s -p 'sparsify{pattern=n:m weight-density=0.5}' 2>&1 | filecheck %s --check-prefix=BADNM
// RUN: not dfcc %s -p 'sparsify{weight-density=0.5 override=conv9:keep}' 2>&1 | filecheck %s --check-prefix=BADOVR
// RUN: not dfcc %s -p 'sparsify' 2>&1 | filecheck %s --check-prefix=NODENSITY

// Global scope: one magnitude threshold over both layers' 108 weights keeps 54 of them.
// GLOBAL: remark: sparsify: conv0: unstructured, density 0.389 (14 of 36 weights kept)
// GLOBAL: remark: sparsify: conv1: unstructured, density 0.556 (40 of 72 weights kept)
// GLOBAL: %[[W0:.*]] = dataflow.sparse_weights {name = "w0_sparse", values = dense_resource<{{.*}}> : tensor<14xf32>, pattern = "unstructured", density = 0.388{{[0-9]*}} : f64, mask = dense_resource<{{.*}}> : tensor<5xi8>} : tensor<2x2x3x3xf32>
// GLOBAL: dataflow.conv %{{.*}}, %[[W0]] {name = "conv0"
// GLOBAL: dataflow.sparse_weights {name = "w1_sparse", {{.*}}tensor<40xf32>{{.*}}mask = {{.*}}tensor<9xi8>} : tensor<4x2x3x3xf32>
// GLOBAL-NOT: dataflow.weights {value = {{.*}}tensor<4x2x3x3xf32>

// Layer scope: each layer keeps its own largest half.
// LAYER: conv0: unstructured, density 0.500 (18 of 36 weights kept)
// LAYER: conv1: unstructured, density 0.500 (36 of 72 weights kept)

// 2:4 over each filter's 18 weights: groups of 4, 4, 4, 4 and 2 keep 2 each, 10 of 18.
// NM: conv0: 2:4, density 0.556 (20 of 36 weights kept)
// NM: dataflow.sparse_weights {name = "w0_sparse", {{.*}}tensor<20xf32>, pattern = "n:m", density = 0.555{{[0-9]*}} : f64, n = 2 : i64, m = 4 : i64, indices = dense_resource<{{.*}}> : tensor<20xi8>} : tensor<2x2x3x3xf32>

// OVR-NOT: conv0:
// OVR: conv1: unstructured, density 0.250 (18 of 72 weights kept)
// OVR: dataflow.weights {{.*}}name = "w0"

// ROUND: dataflow.sparse_weights {name = "w0_sparse"{{.*}}pattern = "n:m"

// BADNM: error: sparsify: pattern=n:m fixes the density at n/m; drop weight-density=0.5
// BADOVR: error: sparsify: override pattern 'conv9' matches no conv or linear node (they are: conv0, conv1)
// NODENSITY: error: sparsify: pattern=unstructured needs weight-density=D with D in (0, 1], got None

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
