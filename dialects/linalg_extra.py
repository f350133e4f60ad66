"""Linalg named ops that torch-mlir emits but xDSL 0.74 does not register.

Each is defined like its upstream twin in xDSL (same name, syntax and indexing maps), so files
written by torch-mlir parse and print unchanged.
"""

from collections.abc import Sequence
from typing import ClassVar

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import AnyFloat
from xdsl.dialects.linalg import Linalg
from xdsl.dialects.linalg.abstract_ops import ConvOperation, NamedOperation, PoolingOperation
from xdsl.dialects.linalg.ops import MatmulOp, YieldOp
from xdsl.ir import BlockArgument, Dialect, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.irdl import irdl_op_definition


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
        from xdsl.dialects.builtin import ArrayAttr
        from xdsl.dialects.linalg.attrs import IteratorTypeAttr

        par, red = IteratorTypeAttr.parallel(), IteratorTypeAttr.reduction()
        return ArrayAttr((par, par, par, red))


EXTRA_LINALG_OPS = (DepthwiseConv2DNchwChwOp, PoolingNchwSumOp, BatchMatmulOp)


def extended_linalg() -> Dialect:
    """The upstream linalg dialect plus the ops above, under the same `linalg` name."""
    return Dialect("linalg", [*Linalg.operations, *EXTRA_LINALG_OPS], list(Linalg.attributes))
