// Command-line errors: one line on stderr, exit code 1, no traceback.
// RUN: not dfcc %s -p 'lower-to-dataflow{' 2>&1 | filecheck %s --check-prefix=PIPELINE
// RUN: not dfcc %s -p no-such-pass 2>&1 | filecheck %s --check-prefix=PASS
// RUN: not dfcc %s -t no-such-target 2>&1 | filecheck %s --check-prefix=TARGET
// RUN: not dfcc %s.missing 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: not dfcc %s -t cpu 2>&1 | filecheck %s --check-prefix=CPU
// RUN: not dfcc %s -p lower-to-dataflow 2>&1 | filecheck %s --check-prefix=NOLOWER
// PIPELINE: dfcc: error: pass pipeline, column {{[0-9]+}}: unexpected end of pipeline
// PASS: dfcc: error: unknown pass 'no-such-pass'; available passes: {{.*}}lower-to-dataflow
// TARGET: dfcc: error: unknown target 'no-such-target'; available targets: mlir, cpu
// MISSING: dfcc: error: {{.*}}cli_errors.mlir.missing: cannot read input file: No such file or directory
// CPU: dfcc: error: -t cpu needs --input
// NOLOWER: dfcc: error: lower-to-dataflow: cannot lower to dataflow:
// NOLOWER-NEXT: unsupported operation 'math.atan2'
// NOLOWER-NOT: Traceback
func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %b = math.atan2 %a, %a : tensor<4xf32>
  func.return %b : tensor<4xf32>
}
