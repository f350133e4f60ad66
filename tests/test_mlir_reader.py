"""The MLIR reader's fast paths: string literals found by their closing quote, op lines counted incrementally."""

from xdsl.dialects.builtin import StringAttr

from dfcc.dialects.source_lines import source_line
from dfcc.frontends.mlir import parse_module

TEXT = '''module {
  func.func @f(%arg0: tensor<2xf32>) -> tensor<2xf32> {
    %0 = "test.op"() {s = "a \\"quoted\\" word\\0A", t = "plain"} : () -> tensor<2xf32>

    %1 = arith.addf %arg0, %0 : tensor<2xf32>
    return %1 : tensor<2xf32>
  }
}
'''


def test_each_op_remembers_the_line_it_starts_on():
    module = parse_module(TEXT, "m.mlir")
    lines = {op.name: source_line(op) for op in module.walk()}
    assert lines == {"builtin.module": "m.mlir:1", "func.func": "m.mlir:2", "test.op": "m.mlir:3",
                     "arith.addf": "m.mlir:5", "func.return": "m.mlir:6"}


def test_string_literals_with_and_without_escapes_keep_their_values():
    op = next(op for op in parse_module(TEXT).walk() if op.name == "test.op")
    assert op.attributes["s"] == StringAttr('a "quoted" word\n')
    assert op.attributes["t"] == StringAttr("plain")
