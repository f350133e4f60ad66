"""Reorders stream dims through a whole-tensor buffer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, verify_perm
from dfcc.hardware.logic import stage_logic
from dfcc.kinds.cost import STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, array_cost, node_label, stream_bits
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class TransposeOp(NodeOp):
    """Reorders a stream: output dim i is input dim `perm[i]`. Buffers the whole tensor."""

    name = "dataflow.transpose"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    perm = prop_def(DenseArrayBase)

    def moved_dim_groups(self) -> list[list[int]]:
        """Input dims (size-1 dims dropped) in output order, runs that stay adjacent merged: one group means
        the element order does not change (a relabelling); the HLS stage and its schedule read these."""
        shape, groups = self.input.type.get_shape(), []
        for d in (d for d in self.ints_prop("perm") if shape[d] > 1):
            if groups and groups[-1][-1] + 1 == d:
                groups[-1].append(d)
            else:
                groups.append([d])
        return groups

    def __init__(self, input: SSAValue, perm: Sequence[int], name: str):
        shape = input.type.get_shape()
        super().__init__(operands=[input], result_types=[StreamType([shape[p] for p in perm], input.type.element_type)],
                         properties={"name": StringAttr(name), "perm": int_array(perm)})

    def verify_node(self) -> None:
        verify_perm(self.ints_prop("perm"), self.input.type.get_shape(), self.output.type.get_shape(), "transpose output")


@register
class Transpose(FixedIsFloatThenCast, NodeKind):
    op = TransposeOp

    def cost(self, op: TransposeOp) -> NodeModel:
        elements = op.input.type.num_elements
        bits = stream_bits(op.input)

        def evaluate(folding: Folding) -> NodeCost:
            # transpose.h: one buffer holding the whole tensor, written one word per cycle, then read
            # out one word per cycle (the next inference waits for the read-out)
            blocks, luts = array_cost(bits, elements)
            logic = stage_logic(1, bits)
            return NodeCost(cycles=2 * elements, depth=elements + STAGE_PIPELINE_CYCLES, fill=1.0, dsp=0, bram18=blocks,
                            uram=0, lut=logic.lut + luts, ff=logic.ff, out_lanes=1)

        return NodeModel(op, node_label(op), op.name, (), (), evaluate)

    def run_float(self, op: TransposeOp, args):
        return (np.ascontiguousarray(np.transpose(args[0], op.ints_prop("perm"))),)
