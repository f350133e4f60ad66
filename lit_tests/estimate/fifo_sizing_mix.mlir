// explore{spatial=false}: the one-pixel design this story is about (spatial=auto gives conv0 more pixels a beat)
// FIFO sizing takes each stage from the schedule that needs the fewest BRAM18 (analyses/fifo_sizing.py): the first
// blocks of MobileNetV3-Small (16-bit, weights replaced by constants on their formats' grids) explored for ZCU102.
// The depthwise conv9 (88 channels) runs behind conv0, the bottleneck, so its input waits. The just-in-time
// schedule (the sizing before session 16; whole, the narrow-slack one costs more here, so session 16 kept it) holds
// that wait after the expanding conv8, 1,250 beats of 88 channels. The mix takes conv8 to conv10 from the
// narrow-slack schedule (conv8 at its latest), so most of the wait is before conv8, 173 beats of 24 channels, and
// 370 beats after it, and conv1 to conv7 (and the squeeze-excite branch) from the latest schedule: 73 -> 63 FIFO
// BRAM18 at the same II (conv0's 51,076 cycles; 65 while explore kept a costed depth above a sized one, 64 while it
// kept one the sizing left at the default). The depths are the simulated schedules' peaks.
// RUN: dfcc %s -p 'explore{platform=zcu102 spatial=false}' | filecheck %s
// RUN: dfcc %s -p 'explore{platform=zcu102 spatial=false}' -t estimate | filecheck %s --check-prefix=TABLE

// CHECK:      name = "fork1"
// CHECK-SAME:   -> (!dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>, depth 173>,
// CHECK:      name = "map43"
// CHECK-SAME:   -> !dataflow.stream<1x28x28x88x!dataflow.fixed<16, 0, unsigned, rnd, sat>, depth 370>

// TABLE:      (FIFOs) {{.*}} 10 sized {{.*}} 0 {{.*}} 63 {{.*}}
// TABLE:      initiation interval {{.*}} 51,076 cycles (bottleneck conv0)

builtin.module {
  func.func @main(%arg0: tensor<1x3x224x224xf32>) -> tensor<1x28x28x24xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x3x224x224xf32>) -> !dataflow.stream<1x224x224x3x!dataflow.fixed<16, 4, rnd, sat>>
    %1 = dataflow.weights {value = dense<0.25> : tensor<16x3x3x3xf32>, name = "conv0_w", format = !dataflow.fixed<16, 0, rnd, sat>} : tensor<16x3x3x3xf32>
    %2 = dataflow.weights {value = dense<0.25> : tensor<16xf32>, name = "conv0_b", format = !dataflow.fixed<24, 0, rnd, sat>} : tensor<16xf32>
    %3 = dataflow.conv %0, %1, %2 {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, acc_format = !dataflow.fixed<35, 7>} : (!dataflow.stream<1x224x224x3x!dataflow.fixed<16, 4, rnd, sat>>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> !dataflow.stream<1x112x112x16x!dataflow.fixed<16, 4, rnd, sat>>
    %4 = dataflow.map %3 {name = "map8"} : !dataflow.stream<1x112x112x16x!dataflow.fixed<16, 4, rnd, sat>> -> !dataflow.stream<1x112x112x16x!dataflow.fixed<16, 4, rnd, sat>> {
    ^bb0(%5: f32):
      %6 = arith.constant 3.000000e+00 : f32
      %7 = arith.addf %5, %6 : f32
      %8 = arith.constant 0.000000e+00 : f32
      %9 = arith.cmpf ult, %7, %8 : f32
      %10 = arith.select %9, %8, %7 : f32
      %11 = arith.constant 6.000000e+00 : f32
      %12 = arith.cmpf ugt, %10, %11 : f32
      %13 = arith.select %12, %11, %10 : f32
      %14 = arith.mulf %5, %13 : f32
      %15 = arith.constant 6.000000e+00 : f32
      %16 = arith.divf %14, %15 : f32
      dataflow.yield %16 : f32
    }
    %17 = dataflow.weights {value = dense<0.25> : tensor<16x1x3x3xf32>, name = "conv1_w", format = !dataflow.fixed<16, 0, rnd, sat>} : tensor<16x1x3x3xf32>
    %18 = dataflow.weights {value = dense<1.0> : tensor<16xf32>, name = "conv1_b", format = !dataflow.fixed<24, 2, rnd, sat>} : tensor<16xf32>
    %19 = dataflow.conv %4, %17, %18 {name = "conv1", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, groups = 16 : i64, acc_format = !dataflow.fixed<34, 6>} : (!dataflow.stream<1x112x112x16x!dataflow.fixed<16, 4, rnd, sat>>, tensor<16x1x3x3xf32>, tensor<16xf32>) -> !dataflow.stream<1x56x56x16x!dataflow.fixed<16, 3, rnd, sat>>
    %20 = dataflow.map %19 {name = "map13"} : !dataflow.stream<1x56x56x16x!dataflow.fixed<16, 3, rnd, sat>> -> !dataflow.stream<1x56x56x16x!dataflow.fixed<16, 2, unsigned, rnd, sat>> {
    ^bb0(%21: f32):
      %22 = arith.constant 0.000000e+00 : f32
      %23 = arith.cmpf ugt, %21, %22 : f32
      %24 = arith.select %23, %21, %22 : f32
      dataflow.yield %24 : f32
    }
    %25, %26 = dataflow.fork %20 {name = "fork0"} : (!dataflow.stream<1x56x56x16x!dataflow.fixed<16, 2, unsigned, rnd, sat>>) -> (!dataflow.stream<1x56x56x16x!dataflow.fixed<16, 2, unsigned, rnd, sat>>, !dataflow.stream<1x56x56x16x!dataflow.fixed<16, 2, unsigned, rnd, sat>, depth 50178>)
    %27 = dataflow.reduce %25 {name = "reduce_sum0", kind = "sum", dims = array<i64: 1, 2>, acc_format = !dataflow.fixed<30, 16>} : (!dataflow.stream<1x56x56x16x!dataflow.fixed<16, 2, unsigned, rnd, sat>>) -> !dataflow.stream<1x1x1x16x!dataflow.fixed<16, 11, unsigned, rnd, sat>>
    %28 = dataflow.weights {value = dense<0.125> : tensor<8xf32>, name = "conv2_b", format = !dataflow.fixed<24, -1, rnd, sat>} : tensor<8xf32>
    %29 = dataflow.weights {value = dense<6.103515625e-05> : tensor<8x16x1x1xf32>, name = "conv2_w", format = !dataflow.fixed<16, -12, rnd, sat>} : tensor<8x16x1x1xf32>
    %30 = dataflow.conv %27, %29, %28 {name = "conv2", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, acc_format = !dataflow.fixed<34, 1>} : (!dataflow.stream<1x1x1x16x!dataflow.fixed<16, 11, unsigned, rnd, sat>>, tensor<8x16x1x1xf32>, tensor<8xf32>) -> !dataflow.stream<1x1x1x8x!dataflow.fixed<16, -1, rnd, sat>>
    %31 = dataflow.map %30 {name = "map15"} : !dataflow.stream<1x1x1x8x!dataflow.fixed<16, -1, rnd, sat>> -> !dataflow.stream<1x1x1x8x!dataflow.fixed<16, -2, unsigned, rnd, sat>> {
    ^bb0(%32: f32):
      %33 = arith.constant 0.000000e+00 : f32
      %34 = arith.cmpf ugt, %32, %33 : f32
      %35 = arith.select %34, %32, %33 : f32
      dataflow.yield %35 : f32
    }
    %36 = dataflow.weights {value = dense<0.25> : tensor<16x8x1x1xf32>, name = "conv3_w", format = !dataflow.fixed<16, 0, rnd, sat>} : tensor<16x8x1x1xf32>
    %37 = dataflow.weights {value = dense<2.0> : tensor<16xf32>, name = "conv3_b", format = !dataflow.fixed<24, 3, rnd, sat>} : tensor<16xf32>
    %38 = dataflow.conv %31, %36, %37 {name = "conv3", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, acc_format = !dataflow.fixed<37, 3>} : (!dataflow.stream<1x1x1x8x!dataflow.fixed<16, -2, unsigned, rnd, sat>>, tensor<16x8x1x1xf32>, tensor<16xf32>) -> !dataflow.stream<1x1x1x16x!dataflow.fixed<16, 2, unsigned, rnd, sat>>
    %39 = dataflow.map %38 {name = "map19"} : !dataflow.stream<1x1x1x16x!dataflow.fixed<16, 2, unsigned, rnd, sat>> -> !dataflow.stream<1x1x1x16x!dataflow.fixed<16, 0, unsigned, rnd, sat>> {
    ^bb0(%40: f32):
      %41 = arith.constant 0.000000e+00 : f32
      %42 = arith.cmpf ult, %40, %41 : f32
      %43 = arith.select %42, %41, %40 : f32
      %44 = arith.constant 6.000000e+00 : f32
      %45 = arith.cmpf ugt, %43, %44 : f32
      %46 = arith.select %45, %44, %43 : f32
      %47 = arith.constant 6.000000e+00 : f32
      %48 = arith.divf %46, %47 : f32
      dataflow.yield %48 : f32
    }
    %49 = dataflow.map %39, %26 {name = "map20"} : !dataflow.stream<1x1x1x16x!dataflow.fixed<16, 0, unsigned, rnd, sat>>, !dataflow.stream<1x56x56x16x!dataflow.fixed<16, 2, unsigned, rnd, sat>, depth 50178> -> !dataflow.stream<1x56x56x16x!dataflow.fixed<16, 1, unsigned, rnd, sat>> {
    ^bb0(%50: f32, %51: f32):
      %52 = arith.mulf %50, %51 : f32
      dataflow.yield %52 : f32
    }
    %53 = dataflow.weights {value = dense<0.25> : tensor<16x16x1x1xf32>, name = "conv4_w", format = !dataflow.fixed<16, 0, rnd, sat>} : tensor<16x16x1x1xf32>
    %54 = dataflow.weights {value = dense<0.5> : tensor<16xf32>, name = "conv4_b", format = !dataflow.fixed<24, 1, rnd, sat>} : tensor<16xf32>
    %55 = dataflow.conv %49, %53, %54 {name = "conv4", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, acc_format = !dataflow.fixed<35, 4>} : (!dataflow.stream<1x56x56x16x!dataflow.fixed<16, 1, unsigned, rnd, sat>>, tensor<16x16x1x1xf32>, tensor<16xf32>) -> !dataflow.stream<1x56x56x16x!dataflow.fixed<16, 1, rnd, sat>>
    %56 = dataflow.weights {value = dense<0.5> : tensor<72x16x1x1xf32>, name = "conv5_w", format = !dataflow.fixed<16, 1, rnd, sat>} : tensor<72x16x1x1xf32>
    %57 = dataflow.weights {value = dense<0.5> : tensor<72xf32>, name = "conv5_b", format = !dataflow.fixed<24, 1, rnd, sat>} : tensor<72xf32>
    %58 = dataflow.conv %55, %56, %57 {name = "conv5", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, acc_format = !dataflow.fixed<33, 3>} : (!dataflow.stream<1x56x56x16x!dataflow.fixed<16, 1, rnd, sat>>, tensor<72x16x1x1xf32>, tensor<72xf32>) -> !dataflow.stream<1x56x56x72x!dataflow.fixed<16, 1, rnd, sat>>
    %59 = dataflow.map %58 {name = "map29"} : !dataflow.stream<1x56x56x72x!dataflow.fixed<16, 1, rnd, sat>> -> !dataflow.stream<1x56x56x72x!dataflow.fixed<16, 0, unsigned, rnd, sat>> {
    ^bb0(%60: f32):
      %61 = arith.constant 0.000000e+00 : f32
      %62 = arith.cmpf ugt, %60, %61 : f32
      %63 = arith.select %62, %60, %61 : f32
      dataflow.yield %63 : f32
    }
    %64 = dataflow.weights {value = dense<0.5> : tensor<72x1x3x3xf32>, name = "conv6_w", format = !dataflow.fixed<16, 1, rnd, sat>} : tensor<72x1x3x3xf32>
    %65 = dataflow.weights {value = dense<0.5> : tensor<72xf32>, name = "conv6_b", format = !dataflow.fixed<24, 1, rnd, sat>} : tensor<72xf32>
    %66 = dataflow.conv %59, %64, %65 {name = "conv6", kernel = array<i64: 3, 3>, stride = array<i64: 2, 2>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, groups = 72 : i64, acc_format = !dataflow.fixed<34, 3>} : (!dataflow.stream<1x56x56x72x!dataflow.fixed<16, 0, unsigned, rnd, sat>>, tensor<72x1x3x3xf32>, tensor<72xf32>) -> !dataflow.stream<1x28x28x72x!dataflow.fixed<16, 2, rnd, sat>>
    %67 = dataflow.map %66 {name = "map34"} : !dataflow.stream<1x28x28x72x!dataflow.fixed<16, 2, rnd, sat>> -> !dataflow.stream<1x28x28x72x!dataflow.fixed<16, 1, unsigned, rnd, sat>> {
    ^bb0(%68: f32):
      %69 = arith.constant 0.000000e+00 : f32
      %70 = arith.cmpf ugt, %68, %69 : f32
      %71 = arith.select %70, %68, %69 : f32
      dataflow.yield %71 : f32
    }
    %72 = dataflow.weights {value = dense<0.125> : tensor<24x72x1x1xf32>, name = "conv7_w", format = !dataflow.fixed<16, -1, rnd, sat>} : tensor<24x72x1x1xf32>
    %73 = dataflow.weights {value = dense<0.5> : tensor<24xf32>, name = "conv7_b", format = !dataflow.fixed<24, 1, rnd, sat>} : tensor<24xf32>
    %74 = dataflow.conv %67, %72, %73 {name = "conv7", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, acc_format = !dataflow.fixed<37, 5>} : (!dataflow.stream<1x28x28x72x!dataflow.fixed<16, 1, unsigned, rnd, sat>>, tensor<24x72x1x1xf32>, tensor<24xf32>) -> !dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>>
    %75, %76 = dataflow.fork %74 {name = "fork1"} : (!dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>>) -> (!dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>>, !dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>>)
    %77 = dataflow.weights {value = dense<0.25> : tensor<88x24x1x1xf32>, name = "conv8_w", format = !dataflow.fixed<16, 0, rnd, sat>} : tensor<88x24x1x1xf32>
    %78 = dataflow.weights {value = dense<0.5> : tensor<88xf32>, name = "conv8_b", format = !dataflow.fixed<24, 1, rnd, sat>} : tensor<88xf32>
    %79 = dataflow.conv %75, %77, %78 {name = "conv8", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, acc_format = !dataflow.fixed<35, 5>} : (!dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>>, tensor<88x24x1x1xf32>, tensor<88xf32>) -> !dataflow.stream<1x28x28x88x!dataflow.fixed<16, 1, rnd, sat>>
    %80 = dataflow.map %79 {name = "map43"} : !dataflow.stream<1x28x28x88x!dataflow.fixed<16, 1, rnd, sat>> -> !dataflow.stream<1x28x28x88x!dataflow.fixed<16, 0, unsigned, rnd, sat>> {
    ^bb0(%81: f32):
      %82 = arith.constant 0.000000e+00 : f32
      %83 = arith.cmpf ugt, %81, %82 : f32
      %84 = arith.select %83, %81, %82 : f32
      dataflow.yield %84 : f32
    }
    %85 = dataflow.weights {value = dense<0.5> : tensor<88x1x3x3xf32>, name = "conv9_w", format = !dataflow.fixed<16, 1, rnd, sat>} : tensor<88x1x3x3xf32>
    %86 = dataflow.weights {value = dense<0.5> : tensor<88xf32>, name = "conv9_b", format = !dataflow.fixed<24, 1, rnd, sat>} : tensor<88xf32>
    %87 = dataflow.conv %80, %85, %86 {name = "conv9", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, groups = 88 : i64, acc_format = !dataflow.fixed<34, 3>} : (!dataflow.stream<1x28x28x88x!dataflow.fixed<16, 0, unsigned, rnd, sat>>, tensor<88x1x3x3xf32>, tensor<88xf32>) -> !dataflow.stream<1x28x28x88x!dataflow.fixed<16, 2, rnd, sat>>
    %88 = dataflow.map %87 {name = "map48"} : !dataflow.stream<1x28x28x88x!dataflow.fixed<16, 2, rnd, sat>> -> !dataflow.stream<1x28x28x88x!dataflow.fixed<16, 0, unsigned, rnd, sat>> {
    ^bb0(%89: f32):
      %90 = arith.constant 0.000000e+00 : f32
      %91 = arith.cmpf ugt, %89, %90 : f32
      %92 = arith.select %91, %89, %90 : f32
      dataflow.yield %92 : f32
    }
    %93 = dataflow.weights {value = dense<0.125> : tensor<24x88x1x1xf32>, name = "conv10_w", format = !dataflow.fixed<16, -1, rnd, sat>} : tensor<24x88x1x1xf32>
    %94 = dataflow.weights {value = dense<0.5> : tensor<24xf32>, name = "conv10_b", format = !dataflow.fixed<24, 1, rnd, sat>} : tensor<24xf32>
    %95 = dataflow.conv %88, %93, %94 {name = "conv10", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>, acc_format = !dataflow.fixed<36, 3>} : (!dataflow.stream<1x28x28x88x!dataflow.fixed<16, 0, unsigned, rnd, sat>>, tensor<24x88x1x1xf32>, tensor<24xf32>) -> !dataflow.stream<1x28x28x24x!dataflow.fixed<16, 1, rnd, sat>>
    %96 = dataflow.map %76, %95 {name = "map53"} : !dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>>, !dataflow.stream<1x28x28x24x!dataflow.fixed<16, 1, rnd, sat>> -> !dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>> {
    ^bb0(%97: f32, %98: f32):
      %99 = arith.addf %97, %98 : f32
      dataflow.yield %99 : f32
    }
    %t = dataflow.sink %96 {name = "output0", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x28x28x24x!dataflow.fixed<16, 2, rnd, sat>>) -> tensor<1x28x28x24xf32>
    func.return %t : tensor<1x28x28x24xf32>
  }
}
