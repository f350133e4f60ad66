"""Reorders stream dims through a whole-tensor buffer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, verify_perm
from dfcc.hardware.logic import stage_logic
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, array_cost, folding_of, node_label, stream_bits,
)
from dfcc.kinds.hls_types import prod
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast

MAX_STAGE_DIMS = 6  # transpose.h's buffer rank


@irdl_op_definition
class TransposeOp(NodeOp):
    """Reorders a stream: output dim i is input dim `perm[i]`. Buffers the whole tensor.

    Folding: `coarse` lanes, written along the input's last dim and read along the output's.
    """

    name = "dataflow.transpose"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    perm = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)

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

    def stage_layout(self) -> tuple[list[int], list[int]]:
        """transpose.h's view: the input as 3 dims (6 when more than 3 groups move; groups in input order,
        1s in front) and the input dim each output dim walks."""
        shape, groups = self.input.type.get_shape(), self.moved_dim_groups()
        in_groups = sorted(groups, key=lambda g: g[0])
        pad = (3 if len(groups) <= 3 else MAX_STAGE_DIMS) - len(groups)
        dims = [1] * pad + [prod(shape[d] for d in g) for g in in_groups]
        return dims, list(range(pad)) + [pad + in_groups.index(g) for g in groups]

    def __init__(self, input: SSAValue, perm: Sequence[int], name: str):
        shape = input.type.get_shape()
        super().__init__(operands=[input], result_types=[StreamType([shape[p] for p in perm], input.type.element_type)],
                         properties={"name": StringAttr(name), "perm": int_array(perm)})

    def folding_extents(self) -> dict[str, int]:
        """Lanes dividing both the input's and the output's last dim."""
        return {"coarse": math.gcd(self.input.type.get_shape()[-1], self.output.type.get_shape()[-1])}

    def verify_node(self) -> None:
        verify_perm(self.ints_prop("perm"), self.input.type.get_shape(), self.output.type.get_shape(), "transpose output")


@register
class Transpose(FixedIsFloatThenCast, NodeKind):
    op = TransposeOp
    hls_headers = ("transpose.h",)

    def stream_lanes(self, op: TransposeOp, folding=None) -> tuple[int, int]:
        """Its folding's `coarse` lanes, in and out: they divide both last dims (folding_extents), so
        transpose.h writes whole beats of the input's last dim and reads whole beats of the output's."""
        coarse = (op.folding() if folding is None else folding)["coarse"]
        return coarse, coarse

    def cost(self, op: TransposeOp) -> NodeModel:
        elements = op.input.type.num_elements
        bits = stream_bits(op.input)

        # the last dim moves: banks along the read dim too (transpose.h ARRAY_PARTITION on both dims)
        groups = op.moved_dim_groups()
        moves_last = len(groups) > 1 and groups[-1][-1] != len(op.input.type.get_shape()) - 1

        def evaluate(folding: Folding) -> NodeCost:
            (lanes,) = folding
            # transpose.h: one buffer holding the whole tensor in `lanes` cyclic banks (lanes^2 when the
            # last dim moves), written `lanes` words per cycle, then read out `lanes` per cycle (the next
            # inference waits for the read-out)
            banks = lanes * lanes if moves_last else lanes
            blocks, luts = array_cost(bits, -(-elements // banks))
            logic = stage_logic(lanes, bits)
            beats = -(-elements // lanes)
            return NodeCost(cycles=2 * beats, depth=beats + STAGE_PIPELINE_CYCLES, fill=1.0, dsp=0,
                            bram18=banks * blocks, uram=0, lut=logic.lut + banks * luts, ff=logic.ff,
                            out_lanes=self.stream_lanes(op, {"coarse": lanes})[1])

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate)

    def run_float(self, op: TransposeOp, args):
        return (np.ascontiguousarray(np.transpose(args[0], op.ints_prop("perm"))),)

    def emit_hls(self, em, op: TransposeOp) -> None:
        """One `dfcc::transpose` call (transpose.h), or nothing when the element order is kept."""
        name = em.stage(op)
        if op.input.type.element_type != op.output.type.element_type:
            raise em.error(op, "a transpose that changes the number format is not supported")
        groups = op.moved_dim_groups()
        if len(groups) > MAX_STAGE_DIMS:
            raise em.error(op, f"a transpose moving {len(groups)} dim groups ({op.input.type.get_shape()} by "
                               f"{list(op.ints_prop('perm'))}) is not supported: transpose.h moves at most "
                               f"{MAX_STAGE_DIMS}; split the permute in two in the model")
        pi, po = self.stream_lanes(op)
        if len(groups) <= 1:  # the element order does not change: a relabelling, like a reshape
            src = em.read_stream(op.input, pi, name)
            em.alias(op.output, src)
            em.calls.append(f"// {name}: transpose that keeps the element order reuses stream {src.name}")
            return
        dims, perm = op.stage_layout()
        x = em.read(op.input, pi, name)
        out = em.new_stream(f"s_{name}", op.output.type, po, value=op.output)
        em.define(op.output, out)
        em.calls.append(f"dfcc::transpose<{', '.join(map(str, (*dims, *perm, pi, po)))}>({x}, {out.name});  // {name}")
