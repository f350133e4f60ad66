"""The two torch-mlir TMTensor ops that Hugging Face models emit for position ids: `tm_tensor.scan`
(cumulative sums) and its `tm_tensor.yield`, so such files parse; the lowering folds scans of
constants and names scans of activations as unsupported.
"""

from xdsl.dialects.builtin import BoolAttr, IntegerAttr, i1, i64
from xdsl.dialects.utils import AbstractYieldOperation
from xdsl.ir import Attribute, Dialect, Region
from xdsl.irdl import AttrSizedOperandSegments, IRDLOperation, irdl_op_definition, prop_def, region_def, traits_def, var_operand_def, var_result_def
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import IsTerminator

from dfcc.dialects.operand_groups import parse_operand_group


@irdl_op_definition
class YieldOp(AbstractYieldOperation[Attribute]):
    name = "tm_tensor.yield"

    traits = traits_def(IsTerminator())


@irdl_op_definition
class ScanOp(IRDLOperation):
    """`outs[0][.., i, ..] = combine(outs[0][.., i-1, ..], ins[0][.., i, ..])` along `dimension`;
    `outs[1]` (the accumulator) ends as the last entry. Exclusive scans start from the accumulator."""

    name = "tm_tensor.scan"

    inputs = var_operand_def()
    outputs = var_operand_def()
    results_ = var_result_def()
    dimension = prop_def(IntegerAttr)
    inclusive = prop_def(BoolAttr)
    body = region_def("single_block")

    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def __init__(self, inputs, outputs, result_types, dimension: int, inclusive: bool, body: Region):
        super().__init__(operands=[inputs, outputs], result_types=[result_types], regions=[body],
                         properties={"dimension": IntegerAttr(dimension, i64), "inclusive": IntegerAttr(int(inclusive), i1)})

    @classmethod
    def parse(cls, parser: Parser) -> "ScanOp":
        parser.parse_characters("dimension")
        parser.parse_punctuation("(")
        dimension = parser.parse_integer()
        parser.parse_punctuation(")")
        parser.parse_characters("inclusive")
        parser.parse_punctuation("(")
        inclusive = parser.parse_boolean()
        parser.parse_punctuation(")")
        inputs, outputs = parse_operand_group(parser, "ins"), parse_operand_group(parser, "outs")
        body = parser.parse_region()
        parser.parse_punctuation("->")
        result_types = parser.parse_comma_separated_list(Parser.Delimiter.NONE, parser.parse_type)
        return cls(inputs, outputs, result_types, dimension, inclusive, body)

    def print(self, printer: Printer) -> None:
        printer.print_string(f" dimension({self.dimension.value.data}) inclusive({'true' if self.inclusive.value.data else 'false'})")
        for keyword, values in (("ins", self.inputs), ("outs", self.outputs)):
            printer.print_string(f" {keyword}(")
            printer.print_list(values, printer.print_operand)
            printer.print_string(" : ")
            printer.print_list([v.type for v in values], printer.print_attribute)
            printer.print_string(")")
        printer.print_string(" ")
        printer.print_region(self.body)
        printer.print_string(" -> ")
        printer.print_list([r.type for r in self.results], printer.print_attribute)


TMTensor = Dialect("tm_tensor", [ScanOp, YieldOp], [])
