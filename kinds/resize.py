"""Integer-factor upsampling (nearest) or zero insertion."""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array
from dfcc.kinds.cost import NodeModel, buffered_stage, stream_bits
from dfcc.kinds.registry import NodeKind, register


RESIZE_MODES = ("nearest", "zeros")


@irdl_op_definition
class ResizeOp(NodeOp):
    """Integer-factor upsampling of each stream dim by `scale`.

    `nearest` repeats every element scale times (n -> n*s; nn.Upsample(mode="nearest")); `zeros`
    inserts s-1 zeros between elements (n -> (n-1)*s+1), the input of a transposed convolution
    lowered to a convolution. Buffer: nearest re-emits each row of an NHWC stream s times, so it
    holds one row (W*C words); zeros holds nothing. Folding: `coarse` lanes over the last dim
    when that dim is not scaled.
    """

    name = "dataflow.resize"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    mode = prop_def(StringAttr)
    scale = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)

    @staticmethod
    def output_shape(shape: Sequence[int], scale: Sequence[int], mode: str) -> tuple[int, ...]:
        if mode == "nearest":
            return tuple(d * s for d, s in zip(shape, scale))
        return tuple((d - 1) * s + 1 for d, s in zip(shape, scale))

    def __init__(self, input: SSAValue, scale: Sequence[int], mode: str, name: str):
        shape = self.output_shape(input.type.get_shape(), scale, mode)
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "mode": StringAttr(mode), "scale": int_array(scale)})

    def buffer_words(self) -> int:
        if self.mode.data != "nearest":
            return 0
        shape, scale = self.input.type.get_shape(), self.ints_prop("scale")
        outer = next((i for i, s in enumerate(scale) if s > 1), len(shape) - 1)
        return math.prod(shape[outer + 1:])

    def folding_extents(self) -> dict[str, int]:
        """Lanes over the last dim (fpgaConvNet resize), unless the last dim is scaled."""
        return {"coarse": self.input.type.get_shape()[-1] if self.ints_prop("scale")[-1] == 1 else 1}

    def verify_node(self) -> None:
        if self.mode.data not in RESIZE_MODES:
            raise VerifyException(f"resize mode must be one of {RESIZE_MODES}, got '{self.mode.data}'")
        shape, scale = self.input.type.get_shape(), self.ints_prop("scale")
        if len(scale) != len(shape) or min(scale) < 1:
            raise VerifyException(f"resize '{self.node_name.data}': scale needs one factor >= 1 per dim")
        expected = self.output_shape(shape, scale, self.mode.data)
        if self.output.type.get_shape() != expected:
            raise VerifyException(f"resize '{self.node_name.data}': output shape {self.output.type.get_shape()}, expected {expected}")


@register
class Resize(NodeKind):
    op = ResizeOp

    def cost(self, op: ResizeOp) -> NodeModel:
        return buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, op.buffer_words(),
                               stream_bits(op.input))
