"""Sum, mean or max over stream dims (global pooling, norms, softmax)."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, stream_type_of
from dfcc.hardware.cycles import streaming_cycles
from dfcc.hardware.dsp import multiplier_dsp
from dfcc.hardware.logic import lut_multiplier, stage_logic
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, acc_bits, array_cost, folding_of, node_label, stream_bits,
)
from dfcc.kinds.registry import NodeKind, register


REDUCE_KINDS = ("sum", "mean", "max")


@irdl_op_definition
class ReduceOp(NodeOp):
    """Reduces stream dims `dims` (sum, mean or max), keeping them as size 1.

    Global average pooling is `mean` over H and W of an N x H x W x C stream: one accumulator per
    channel, so its buffer is C words whatever the image size.
    """

    name = "dataflow.reduce"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    kind = prop_def(StringAttr)
    dims = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, *, name: str, kind: str, dims: Sequence[int]):
        shape = tuple(1 if i in dims else d for i, d in enumerate(input.type.get_shape()))
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "kind": StringAttr(kind), "dims": int_array(dims)})

    def verify_node(self) -> None:
        if self.kind.data not in REDUCE_KINDS:
            raise VerifyException(f"reduce kind must be one of {REDUCE_KINDS}, got '{self.kind.data}'")
        shape = stream_type_of(self.input, "reduce input").get_shape()
        dims = self.ints_prop("dims")
        if any(d < 0 or d >= len(shape) for d in dims):
            raise VerifyException(f"reduce dims {dims} out of range for rank {len(shape)}")
        expected = tuple(1 if i in dims else d for i, d in enumerate(shape))
        if self.output.type.get_shape() != expected:
            raise VerifyException(f"reduce output shape {self.output.type.get_shape()}, expected {expected}")

    def folding_extents(self) -> dict[str, int]:
        """Channel lanes: the last dim of the input (fpgaConvNet global pooling)."""
        return {"coarse": self.input.type.get_shape()[-1]}


@register
class Reduce(NodeKind):
    op = ReduceOp

    def cost(self, op: ReduceOp) -> NodeModel:
        in_shape = op.input.type.get_shape()
        c = in_shape[-1]
        rows = op.input.type.num_elements // c
        kept = op.output.type.num_elements
        bits, a_bits = stream_bits(op.input), acc_bits(op)
        reduces_last = (len(in_shape) - 1) in op.ints_prop("dims")
        mean = op.kind.data == "mean"

        def evaluate(folding: Folding) -> NodeCost:
            (coarse,) = folding
            # fpgaConvNet global pooling / streaming layers: H*W*C/coarse cycles
            cycles = streaming_cycles(rows, 1, c, coarse)
            # one accumulator per kept element, coarse of them per word
            m_bram, m_lut = array_cost(a_bits * coarse, -(-kept // coarse))
            logic = stage_logic(coarse, a_bits)
            dsp = multiplier_dsp(coarse, a_bits, bits) if mean else 0  # the 1/N scaling
            # the first output needs every input it reduces: all of them unless only C is reduced
            fill = 1.0 / rows if reduces_last else 1.0
            return NodeCost(cycles=cycles, depth=int(cycles * fill) + STAGE_PIPELINE_CYCLES, fill=fill, dsp=dsp,
                            bram18=m_bram, uram=0, lut=logic.lut + m_lut, ff=logic.ff, out_lanes=1 if reduces_last else coarse,
                            mult_lut=coarse * lut_multiplier(a_bits, bits) if mean else 0)

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate)
