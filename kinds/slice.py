"""Keeps a strided window of a stream."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array
from dfcc.kinds.cost import NodeModel, buffered_stage, stream_bits
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class SliceOp(NodeOp):
    """Keeps elements `offsets + strides * i` (i < output shape) of each stream dim, drops the rest.

    One output of a split (`chunk`, crops): a fork feeding several slices is a split. No buffer: it
    forwards or discards each element as it arrives.
    """

    name = "dataflow.slice"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    offsets = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)

    def __init__(self, input: SSAValue, offsets: Sequence[int], sizes: Sequence[int], strides: Sequence[int], name: str):
        super().__init__(operands=[input], result_types=[StreamType(sizes, input.type.element_type)],
                         properties={"name": StringAttr(name), "offsets": int_array(offsets), "strides": int_array(strides)})

    def verify_node(self) -> None:
        shape, out = self.input.type.get_shape(), self.output.type.get_shape()
        offsets, strides = self.ints_prop("offsets"), self.ints_prop("strides")
        if not len(shape) == len(out) == len(offsets) == len(strides):
            raise VerifyException(f"slice '{self.node_name.data}': offsets, strides and shapes must have one entry per dim")
        for size, o, n, st in zip(shape, offsets, out, strides):
            if o < 0 or st < 1 or o + st * (n - 1) >= size:
                raise VerifyException(f"slice '{self.node_name.data}': window {offsets}/{strides} of {out} exceeds {shape}")


@register
class Slice(FixedIsFloatThenCast, NodeKind):
    op = SliceOp

    def cost(self, op: SliceOp) -> NodeModel:
        # reads every input word, forwards the kept ones; no buffer
        return buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, 0, stream_bits(op.input))

    def run_float(self, op: SliceOp, args):
        offsets, sizes, strides = op.ints_prop("offsets"), op.output.type.get_shape(), op.ints_prop("strides")
        return (np.ascontiguousarray(args[0][tuple(slice(o, o + s * (n - 1) + 1, s)
                                                   for o, n, s in zip(offsets, sizes, strides))]),)
