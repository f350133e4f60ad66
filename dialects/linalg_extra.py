"""Linalg named ops that torch-mlir emits but xDSL 0.74 does not register.

Each is defined like its upstream twin in xDSL (same name, syntax and indexing maps), so files
written by torch-mlir parse and print unchanged.
"""

from collections.abc import Sequence
from typing import ClassVar

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import AnyFloat, ArrayAttr
from xdsl.dialects.linalg import Linalg
from xdsl.dialects.linalg.attrs import IteratorType, IteratorTypeAttr
from xdsl.dialects.linalg.abstract_ops import ConvOperation, NamedOperation, PoolingOperation
from xdsl.dialects.linalg.ops import GenericOp as UpstreamGenericOp
from xdsl.dialects.linalg.ops import MatmulOp, YieldOp
from xdsl.ir import BlockArgument, Dialect, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.irdl import irdl_op_definition
from xdsl.parser import Parser

from dfcc.dialects.operand_groups import parse_operand_group


@irdl_op_definition
class DepthwiseConv2DNchwChwOp(ConvOperation):
    """Depthwise 2-D convolution, one filter per channel (upstream `linalg.depthwise_conv_2d_nchw_chw`)."""

    name = "linalg.depthwise_conv_2d_nchw_chw"

    def get_default_indexing_maps(self) -> Sequence[AffineMap]:
        n, oh, ow, c, kh, kw = (AffineDimExpr(d) for d in range(6))
        sh, sw = self.strides.get_values()
        dh, dw = self.dilations.get_values()
        return (
            AffineMap(6, 0, (n, c, oh * sh + kh * dh, ow * sw + kw * dw)),
            AffineMap(6, 0, (c, kh, kw)),
            AffineMap(6, 0, (n, c, oh, ow)),
        )


@irdl_op_definition
class PoolingNchwSumOp(PoolingOperation):
    """Sum pooling (upstream `linalg.pooling_nchw_sum`); torch-mlir builds average pooling from it."""

    name = "linalg.pooling_nchw_sum"

    @classmethod
    def get_hidden_region(cls, inputs: Sequence[SSAValue], outputs: Sequence[SSAValue]) -> Region:
        arg_types = cls.body_arg_types((*inputs, *outputs))
        add = arith.AddfOp if isinstance(arg_types[-1], AnyFloat) else arith.AddiOp

        @Builder.implicit_region(arg_types)
        def hidden_region(args: tuple[BlockArgument, ...]) -> None:
            YieldOp(add(args[2], args[0]))

        return hidden_region

    def get_default_indexing_maps(self) -> Sequence[AffineMap]:
        n, c, oh, ow, kh, kw = (AffineDimExpr(d) for d in range(6))
        sh, sw = self.strides.get_values()
        dh, dw = self.dilations.get_values()
        return (
            AffineMap(6, 0, (n, c, oh * sh + kh * dh, ow * sw + kw * dw)),
            AffineMap(6, 0, (kh, kw)),
            AffineMap(6, 0, (n, c, oh, ow)),
        )


@irdl_op_definition
class BatchMatmulOp(NamedOperation):
    """Batched matrix multiply `C[b] += A[b] @ B[b]` (upstream `linalg.batch_matmul`)."""

    name = "linalg.batch_matmul"

    PRINT_ATTRS_IN_FRONT: ClassVar[bool] = True

    def __init__(self, inputs: Sequence[SSAValue], outputs: Sequence[SSAValue] = ()):
        super().__init__(
            ins=inputs,
            outs=outputs,
            result_types=[o.type for o in outputs],
            hidden_region=MatmulOp.get_hidden_region(inputs, outputs),
        )

    @classmethod
    def get_hidden_region(cls, inputs: Sequence[SSAValue], outputs: Sequence[SSAValue]) -> Region:
        return MatmulOp.get_hidden_region(inputs, outputs)

    def get_default_indexing_maps(self) -> Sequence[AffineMap]:
        b, i, j, k = (AffineDimExpr(d) for d in range(4))
        return (
            AffineMap(4, 0, (b, i, k)),
            AffineMap(4, 0, (b, k, j)),
            AffineMap(4, 0, (b, i, j)),
        )

    def get_iterator_types(self):
        par, red = IteratorTypeAttr.parallel(), IteratorTypeAttr.reduction()
        return ArrayAttr((par, par, par, red))


class GenericOp(UpstreamGenericOp):
    """`linalg.generic`, also with several results (`-> (tensor<..>, tensor<..>)`).

    xDSL 0.74 parses the result types of `linalg.generic` as a bare list, so the parenthesised list
    MLIR prints for two or more results (torch-mlir's max-with-argmax reductions) fails to parse.
    This subclass parses both forms and is otherwise upstream's op (same IRDL definition, inherited;
    its printer already prints the parenthesised form).
    """

    name = "linalg.generic"

    @classmethod
    def parse(cls, parser: Parser) -> "GenericOp":
        start = parser.pos
        attrs = dict(parser.parse_optional_attr_dict())
        if "indexing_maps" not in attrs or "iterator_types" not in attrs:
            parser.raise_error("linalg.generic needs indexing_maps and iterator_types", start, parser.pos)
        indexing_maps = attrs.pop("indexing_maps")
        iterator_types = ArrayAttr([
            t if isinstance(t, IteratorTypeAttr) else IteratorTypeAttr(IteratorType(t.data))
            for t in attrs.pop("iterator_types").data
        ])
        doc, library_call = attrs.pop("doc", None), attrs.pop("library_call", None)
        ins, outs = parse_operand_group(parser, "ins", optional=True), parse_operand_group(parser, "outs", optional=True)
        if parser.parse_optional_keyword("attrs") is not None:
            parser.parse_punctuation("=")
            attrs |= parser.expect(parser.parse_optional_attr_dict, "expected extra attributes")
        body = parser.parse_region()
        result_types = []
        if parser.parse_optional_punctuation("->") is not None:
            if parser.parse_optional_punctuation("(") is not None:
                result_types = parser.parse_comma_separated_list(Parser.Delimiter.NONE, parser.parse_type)
                parser.parse_punctuation(")")
            else:
                result_types = parser.parse_comma_separated_list(Parser.Delimiter.NONE, parser.parse_type)
        op = cls(ins, outs, body, indexing_maps, iterator_types, result_types, doc, library_call)
        op.attributes |= attrs
        return op


EXTRA_LINALG_OPS = (DepthwiseConv2DNchwChwOp, PoolingNchwSumOp, BatchMatmulOp)


def extended_linalg() -> Dialect:
    """The upstream linalg dialect plus the ops above (and the multi-result generic parser)."""
    operations = [GenericOp if op is UpstreamGenericOp else op for op in Linalg.operations]
    return Dialect("linalg", [*operations, *EXTRA_LINALG_OPS], list(Linalg.attributes))
