"""Reinterprets a stream with a new shape (no hardware)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType
from dfcc.kinds.cost import Folding, NodeCost, NodeModel, folding_of, node_label
from dfcc.kinds.hls_types import dims_text
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class ReshapeOp(NodeOp):
    """Reinterprets a stream with a new shape, same elements in the same order (no buffer).

    Folding: `coarse`, the lanes of the stream it relabels (fitting both last dims).
    """

    name = "dataflow.reshape"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, shape: Sequence[int], name: str):
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name)})

    def folding_extents(self) -> dict[str, int]:
        """Lanes dividing both the input's and the output's last dim."""
        return {"coarse": math.gcd(self.input.type.get_shape()[-1], self.output.type.get_shape()[-1])}

    def verify_node(self) -> None:
        if self.input.type.num_elements != self.output.type.num_elements:
            raise VerifyException(f"reshape changes the element count: {self.input.type.get_shape()} -> {self.output.type.get_shape()}")


@register
class Reshape(FixedIsFloatThenCast, NodeKind):
    op = ReshapeOp

    def stream_lanes(self, op: ReshapeOp, folding=None) -> tuple[int, int]:
        """Its folding's `coarse` lanes (fitting both last dims), in and out."""
        coarse = (op.folding() if folding is None else folding)["coarse"]
        return coarse, coarse

    def cost(self, op: ReshapeOp) -> NodeModel:
        elements = op.input.type.num_elements

        def evaluate(folding: Folding) -> NodeCost:
            (lanes,) = folding
            # same elements in the same order: wires, no stage (dfcc); the stream it relabels moves
            # `lanes` words per cycle
            return NodeCost(cycles=-(-elements // lanes), depth=0, fill=0.0, dsp=0, bram18=0, uram=0, lut=0, ff=0,
                            out_lanes=self.stream_lanes(op, {"coarse": lanes})[1])

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate)

    def run_float(self, op: ReshapeOp, args):
        return (args[0].reshape(op.output.type.get_shape()),)

    def emit_hls(self, em, op: ReshapeOp) -> None:
        """No hardware: the same words in the same order, in its folding's lanes (fitting both last dims)."""
        em.stage(op)
        if op.input.type.element_type != op.output.type.element_type:
            raise em.error(op, "a reshape that changes the number format is not supported")
        lanes, _ = self.stream_lanes(op)
        src = em.read_stream(op.input, lanes, op.node_name.data)
        em.alias(op.output, src)
        em.calls.append(f"// {op.node_name.data}: reshape {dims_text(op.input.type.get_shape())} -> "
                        f"{dims_text(op.output.type.get_shape())} reuses stream {src.name}")
