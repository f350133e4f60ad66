// Hardware-aware search of conv1's scheme and rank (the stem conv0 is out of Mixed-TD's scope):
// the Pareto front is printed, the chosen point is applied and recorded on the module.
// RUN: dfcc %s -p 'decompose-search{trials=6 max-loss=100 platform=zcu102}' 2>%t.err | filecheck %s
// RUN: filecheck %s --check-prefix=TABLE < %t.err
// RUN: not dfcc %s -p 'decompose-search{validation=missing.npz}' 2>&1 | filecheck %s --check-prefix=BAD

// CHECK: builtin.module attributes {dataflow.decompose_search = {trial = {{[0-9]+}} : i64, trials = 6 : i64, error = {{.*}} : f64, fps = {{.*}} : f64, dsp = {{[0-9]+}} : i64, platform = "zcu102"}}
// CHECK: name = "conv0", kernel = array<i64: 3, 3>
// CHECK: dataflow.decomposition = {{{.*}}source = "conv1", factor = 0 : i64}

// TABLE: decompose-search: Pareto front, 6 trials, zcu102
// TABLE: trial {{.*}} error % {{.*}} fps {{.*}} DSP {{.*}} fps/DSP {{.*}} decomposition
// The undecomposed graph is trial 0, error 0 by definition (no labels: distance to its own outputs).
// TABLE: {{^}}│ {{ *}}0 │ {{ *}}0.00 │{{.*}}│ none
// TABLE: (chosen)
// BAD: error: decompose-search: validation file 'missing.npz' does not exist

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
