"""Reorders stream dims through a whole-tensor buffer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, verify_perm
from dfcc.hardware.logic import stage_logic
from dfcc.kinds.cost import STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, array_cost, node_label, stream_bits
from dfcc.errors import DfccError
from dfcc.kinds.hls_types import prod
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

    def stage_layout(self) -> tuple[list[int], tuple[int, int, int]]:
        """transpose.h's view of a transpose moving 2 or 3 dim groups: the input as 3 dims (groups
        in input order, 1s in front) and the input dim each output dim is (a, b, c)."""
        shape, groups = self.input.type.get_shape(), self.moved_dim_groups()
        in_groups = sorted(groups, key=lambda g: g[0])
        pad = 3 - len(groups)
        dims = [1] * pad + [prod(shape[d] for d in g) for g in in_groups]
        a, b, c = list(range(pad)) + [pad + in_groups.index(g) for g in groups]
        return dims, (a, b, c)

    def __init__(self, input: SSAValue, perm: Sequence[int], name: str):
        shape = input.type.get_shape()
        super().__init__(operands=[input], result_types=[StreamType([shape[p] for p in perm], input.type.element_type)],
                         properties={"name": StringAttr(name), "perm": int_array(perm)})

    def verify_node(self) -> None:
        verify_perm(self.ints_prop("perm"), self.input.type.get_shape(), self.output.type.get_shape(), "transpose output")


@register
class Transpose(FixedIsFloatThenCast, NodeKind):
    op = TransposeOp
    hls_headers = ("transpose.h",)

    def stream_lanes(self, op: TransposeOp, folding=None, producer_lanes: int = 1) -> tuple[int, int]:
        """A relabelling keeps its producer's lanes (cut to the last dim); transpose.h reads lanes of
        the innermost input dim and writes as many as divide the innermost output dim."""
        groups = op.moved_dim_groups()
        if len(groups) <= 1:
            lanes = math.gcd(producer_lanes, op.output.type.get_shape()[-1])
            return lanes, lanes
        if len(groups) > 3:
            raise DfccError(f"transpose '{op.node_name.data}' permutes more than 3 dims: no stage realises it")
        dims, (_, _, c) = op.stage_layout()
        pi = math.gcd(producer_lanes, dims[2])
        return pi, pi if c == 2 else math.gcd(pi, dims[c])

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

    def emit_hls(self, em, op: TransposeOp) -> None:
        """One `dfcc::transpose` call (transpose.h), or nothing when the element order is kept."""
        name = em.stage(op)
        if op.input.type.element_type != op.output.type.element_type:
            raise em.error(op, "a transpose that changes the number format is not supported")
        shape, perm = op.input.type.get_shape(), list(op.ints_prop("perm"))
        groups = op.moved_dim_groups()
        if len(groups) > 3:
            raise em.error(op, f"transposes that permute more than 3 dims ({shape} by {perm}) are not supported")
        pi, po = self.stream_lanes(op, producer_lanes=em.producer_lanes(op.input) or 1)
        if len(groups) <= 1:  # the element order does not change: a relabelling, like a reshape
            src = em.read_stream(op.input, pi, name)
            em.alias(op.output, src)
            em.calls.append(f"// {name}: transpose that keeps the element order reuses stream {src.name}")
            return
        dims, (a, b, c) = op.stage_layout()
        x = em.read(op.input, pi, name)
        out = em.new_stream(f"s_{name}", op.output.type, po, value=op.output)
        em.define(op.output, out)
        em.calls.append(f"dfcc::transpose<{dims[0]}, {dims[1]}, {dims[2]}, {a}, {b}, {c}, {pi}, {po}>"
                        f"({x}, {out.name});  // {name}")
