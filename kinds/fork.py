"""Copies one stream to several consumers."""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, var_result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType
from dfcc.hardware.cycles import streaming_cycles
from dfcc.hardware.logic import stage_logic
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, coarse_pixel_lanes, folding_of, node_label, stream_bits,
    whole_pixel_beats,
)
from dfcc.kinds.hls_types import prod
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class ForkOp(NodeOp):
    """Copies one stream to several consumers (each FIFO has exactly one reader).

    Folding (fpgaConvNet fork): `coarse` channel lanes; spatial parallelism: `pixels` adjacent
    pixels of an N x H x W x C stream per beat, which needs every channel in a beat (`coarse` = C).
    """

    name = "dataflow.fork"
    input = operand_def(StreamType)
    outputs = var_result_def(StreamType)
    coarse = opt_prop_def(IntegerAttr)
    pixels = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, count: int, name: str):
        super().__init__(operands=[input], result_types=[[input.type] * count], properties={"name": StringAttr(name)})

    def verify_node(self) -> None:
        if len(self.outputs) < 2:
            raise VerifyException("fork needs at least two outputs")
        shape = self.input.type.get_shape()
        if any(o.type.get_shape() != shape for o in self.outputs):
            raise VerifyException("fork outputs must have the input's shape")
        folding = self.folding()
        if not whole_pixel_beats(folding["coarse"], folding["pixels"], shape[-1]):
            raise VerifyException(f"fork '{self.node_name.data}': pixels={folding['pixels']} per beat needs whole pixels "
                                  f"(coarse = {shape[-1]} channels, got {folding['coarse']})")

    def order_problem(self) -> str | None:
        """Each beat passed on as it is: any order, the same on every stream."""
        return self.same_order_problem()

    def folding_extents(self) -> dict[str, int]:
        """Channel lanes: the last dim of the input, then pixels per beat dividing the width of an
        N x H x W x C stream (other ranks: one)."""
        shape = self.input.type.get_shape()
        return {"coarse": shape[-1], "pixels": shape[2] if len(shape) == 4 else 1}


@register
class Fork(FixedIsFloatThenCast, NodeKind):
    op = ForkOp
    hls_headers = ("fork.h",)

    def stream_lanes(self, op: ForkOp, folding=None) -> tuple[int, int]:
        lanes = coarse_pixel_lanes(op, folding)  # `pixels` whole pixels per beat
        return lanes, lanes

    def cost(self, op: ForkOp) -> NodeModel:
        shape = op.input.type.get_shape()
        c = shape[-1]
        rows = op.input.type.num_elements // c
        bits = stream_bits(op.input)
        outs = len(op.outputs)

        def evaluate(folding: Folding) -> NodeCost:
            coarse, px = folding
            # fpgaConvNet fork: H*W*C/coarse cycles, P pixels per beat (Ma et al., FPGA'17: Pox unrolled)
            logic = stage_logic(coarse * px * outs, bits)
            return NodeCost(cycles=streaming_cycles(rows // px, 1, c, coarse), depth=STAGE_PIPELINE_CYCLES, fill=0.0,
                            dsp=0, bram18=0, uram=0, lut=logic.lut, ff=logic.ff, out_lanes=coarse * px)

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate,
                         buildable=lambda folding: whole_pixel_beats(*folding, c))

    def run_float(self, op: ForkOp, args):
        return tuple(args[0] for _ in op.outputs)

    def emit_hls(self, em, op: ForkOp) -> None:
        """One `dfcc::fork_each` call (fork.h): each beat copied to every output."""
        name = em.stage(op)
        p, _ = self.stream_lanes(op)
        x = em.read(op.input, p, name)
        outs = []
        for i, result in enumerate(op.outputs):
            if result.type.element_type != op.input.type.element_type:
                raise em.error(op, "fork outputs with a number format other than the input's are not supported")
            s = em.new_stream(f"s_{name}_{i}", result.type, p, value=result)
            em.define(result, s)
            outs.append(s.name)
        beats = prod(op.input.type.get_shape()) // p
        em.calls.append(f"dfcc::fork_each<{beats}, {p}>({x}, {', '.join(outs)});  // {name}")
