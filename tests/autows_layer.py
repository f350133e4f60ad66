"""The check layer of AutoWS (Yu and Bouganis, DATE 2024), shared by the weight-streaming tests: 3x3, 256 -> 256
at 14x14 (16-bit weights and data, 32-bit accumulators once quantized)."""

CHECK_LAYER = """
func.func @main(%a: tensor<1x256x14x14xf32>) -> tensor<1x14x14x256xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x256x14x14xf32>) -> !dataflow.stream<1x14x14x256xf32>
  %w = dataflow.weights {name = "w", value = dense<5.000000e-01> : tensor<256x256x3x3xf32>} : tensor<256x256x3x3xf32>
  %c = dataflow.conv %s, %w {name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x14x14x256xf32>, tensor<256x256x3x3xf32>) -> !dataflow.stream<1x14x14x256xf32>
  %t = dataflow.sink %c {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x14x14x256xf32>) -> tensor<1x14x14x256xf32>
  func.return %t : tensor<1x14x14x256xf32>
}
"""
