"""Keeps a strided window of a stream."""

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


@irdl_op_definition
class SliceOp(NodeOp):
    """Keeps elements `offsets + strides * i` (i < output shape) of each stream dim, drops the rest.

    One output of a split (`chunk`, crops): a fork feeding several slices is a split. No buffer: it
    forwards or discards each element as it arrives. Folding: `coarse` lanes over the last dim,
    whole beats kept or dropped, so with a channel window they divide its offset and size.
    """

    name = "dataflow.slice"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    offsets = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, offsets: Sequence[int], sizes: Sequence[int], strides: Sequence[int], name: str):
        super().__init__(operands=[input], result_types=[StreamType(sizes, input.type.element_type)],
                         properties={"name": StringAttr(name), "offsets": int_array(offsets), "strides": int_array(strides)})

    def folding_extents(self) -> dict[str, int]:
        """Lanes over the last dim: beats of the input that lie wholly inside or outside the window
        (a strided channel window: one lane)."""
        c, kept = self.input.type.get_shape()[-1], self.output.type.get_shape()[-1]
        offset, stride = self.ints_prop("offsets")[-1], self.ints_prop("strides")[-1]
        return {"coarse": math.gcd(c, offset, kept) if stride == 1 else 1}

    def verify_node(self) -> None:
        shape, out = self.input.type.get_shape(), self.output.type.get_shape()
        offsets, strides = self.ints_prop("offsets"), self.ints_prop("strides")
        if not len(shape) == len(out) == len(offsets) == len(strides):
            raise VerifyException(f"slice '{self.node_name.data}': offsets, strides and shapes must have one entry per dim")
        for size, o, n, st in zip(shape, offsets, out, strides):
            if o < 0 or st < 1 or o + st * (n - 1) >= size:
                raise VerifyException(f"slice '{self.node_name.data}': window {offsets}/{strides} of {out} exceeds {shape}")


@register
class Slice(NodeKind):
    op = SliceOp

    def cost(self, op: SliceOp) -> NodeModel:
        # reads every input beat, forwards the kept ones; no buffer
        return buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, 0, stream_bits(op.input))
