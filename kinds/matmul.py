"""Batched product of two activation streams (attention)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, stream_type_of
from dfcc.dialects.fixed_point import cast_accumulator, fixed_of
from dfcc.hardware.cycles import conv_cycles
from dfcc.hardware.dsp import conv_multipliers, macs_per_dsp, multiplier_dsp
from dfcc.hardware.logic import lut_multiplier, mac_logic, stage_logic
from dfcc.hardware.memory import conv_weight_memory, lutram_luts
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, acc_bits, array_cost, folding_of, node_label, stream_bits,
)
from dfcc.kinds.accumulators import product_sum_bits
from dfcc.kinds.hls_mac import acc_types, mid_and_mul
from dfcc.kinds.hls_types import Fx, prod
from dfcc.kinds.registry import NodeKind, register


@irdl_op_definition
class MatmulOp(NodeOp):
    """Batched product of two activation streams: (B.. x M x K) @ (B.. x K x N) -> (B.. x M x N).

    Attention's q k^T and p v. Buffer (`buffer_words()`): the whole right operand of one batch
    entry (K x N words, double-buffered across batch entries in hardware), while the left operand
    streams row by row.
    """

    name = "dataflow.matmul"
    lhs = operand_def(StreamType)
    rhs = operand_def(StreamType)
    output = result_def(StreamType)
    coarse_in = opt_prop_def(IntegerAttr)
    coarse_out = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)

    def __init__(self, lhs: SSAValue, rhs: SSAValue, name: str):
        shape = lhs.type.get_shape()[:-1] + rhs.type.get_shape()[-1:]
        super().__init__(operands=[lhs, rhs], result_types=[StreamType(shape, lhs.type.element_type)],
                         properties={"name": StringAttr(name)})

    def buffer_words(self) -> int:
        k, n = self.rhs.type.get_shape()[-2:]
        return k * n

    def verify_node(self) -> None:
        a, b = stream_type_of(self.lhs, "matmul lhs").get_shape(), stream_type_of(self.rhs, "matmul rhs").get_shape()
        out = stream_type_of(self.output, "matmul output").get_shape()
        if len(a) < 2 or len(a) != len(b) or a[:-2] != b[:-2] or a[-1] != b[-2] or out != a[:-1] + b[-1:]:
            raise VerifyException(f"matmul '{self.node_name.data}': {a} @ {b} does not give {out}")

    def folding_extents(self) -> dict[str, int]:
        """The inner dim K and the output columns N, as for a linear layer over the buffered rhs."""
        k, n = self.rhs.type.get_shape()[-2:]
        return {"coarse_in": k, "coarse_out": n}


@register
class Matmul(NodeKind):
    op = MatmulOp
    hls_headers = ("linear.h",)

    def stream_lanes(self, op: MatmulOp, folding=None) -> tuple[int, int]:
        """The left operand in coarse_in lanes; the right one and the output in coarse_out."""
        f = op.folding() if folding is None else folding
        return f["coarse_in"], f["coarse_out"]

    def read_lanes(self, op: MatmulOp, value, folding=None, producer_lanes: int = 1) -> int:
        """The right operand in coarse_out lanes, the left in coarse_in."""
        ci, co = self.stream_lanes(op, folding)
        return co if value is op.rhs else ci

    def cost(self, op: MatmulOp) -> NodeModel:
        k, n = op.rhs.type.get_shape()[-2:]
        rows = op.lhs.type.num_elements // k  # batch x M rows of the left operand
        batch = op.rhs.type.num_elements // (k * n)
        l_bits, r_bits, a_bits = stream_bits(op.lhs), stream_bits(op.rhs), acc_bits(op)

        def evaluate(folding: Folding) -> NodeCost:
            ci, co = folding
            # each left row is a 1x1 convolution with the buffered right operand as weights (fpgaConvNet
            # inner product): rows*K*N/(ci*co) compute cycles, bounded below by reading both operands
            compute = conv_cycles(rows, 1, k, n, 1, 1, rows, 1, ci, co, 1)
            # linear.h matmul: per batch entry the right operand is loaded (K x N/CO
            # beats, one per cycle) before the rows are computed, in sequence (UG1399: loops of one
            # function body without DATAFLOW run one after the other)
            cycles = compute + batch * k * -(-n // co)
            # linear.h matmul: the first output beat is written after the first batch's right operand
            # (K x N/CO beats) and the first row's K/CI left beats, in its last one
            nb, kb = -(-n // co), -(-k // ci)
            depth = k * nb + (kb - 1) * nb + STAGE_PIPELINE_CYCLES
            mults = conv_multipliers(ci, co, 1)
            # MatmulOp.buffer_words(): K x N words of the right operand, double-buffered across batch
            # entries, banked ci x co wide like conv weights (fpgaConvNet weights memory)
            ww, wd = conv_weight_memory(k, n, 1, 1, r_bits, ci, co, 1)
            m_bram, m_lut = array_cost(ww, 2 * wd)
            acc_lut = lutram_luts(a_bits * co, -(-n // co))
            logic = mac_logic(mults, l_bits, r_bits, a_bits) + stage_logic(ci, l_bits)
            return NodeCost(
                cycles=cycles, depth=depth, fill=1.0 / max(rows // batch, 1),
                dsp=multiplier_dsp(mults, l_bits, r_bits), bram18=m_bram, uram=0, lut=logic.lut + m_lut + acc_lut,
                ff=logic.ff, out_lanes=self.stream_lanes(op, {"coarse_in": ci, "coarse_out": co})[1], mult_lut=mults * lut_multiplier(l_bits, r_bits),
            )

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate,
                         macs=rows * k * n, macs_per_dsp=macs_per_dsp(l_bits, r_bits), lut_per_mac=lut_multiplier(l_bits, r_bits),
                         adder_lut_per_mac=mac_logic(1, l_bits, r_bits, a_bits).lut)

    def run_float(self, op: MatmulOp, args):
        return (np.matmul(args[0], args[1]).astype(np.float32),)

    def run_fixed(self, op: MatmulOp, args):
        """As conv/linear without bias: exact float64 product, then `acc_format` and T_out."""
        if fixed_of(op.output) is None:
            return self.run_float(op, args)
        a, b = (np.asarray(v, dtype=np.float64) for v in args)
        return (cast_accumulator(op, np.matmul(a, b)),)

    def emit_hls(self, em, op: MatmulOp) -> None:
        """One `dfcc::matmul` call (linear.h); fixed point: exact products summed in acc_format (or
        exactly, then cast to a narrower acc_format), as for linear."""
        name = em.stage(op)
        a_shape, b_shape = op.lhs.type.get_shape(), op.rhs.type.get_shape()
        m, k = a_shape[-2:]
        n = b_shape[-1]
        ci, co = self.stream_lanes(op)
        a = em.read_stream(op.lhs, ci, name)
        b = em.read_stream(op.rhs, co, name)
        out = em.new_stream(f"s_{name}", op.output.type, co, value=op.output)
        em.define(op.output, out)
        a_fixed, b_fixed = em.fixed_type(op.lhs), em.fixed_type(op.rhs)
        if em.fixed_type(op.output) is None:
            if a_fixed is not None or b_fixed is not None:
                raise em.error(op, "a float matmul of fixed-point streams is not supported")
            t_acc, t_mid = "float", None
        else:
            if a_fixed is None or b_fixed is None:
                raise em.error(op, "a fixed-point output needs fixed-point inputs")
            acc_fmt = op.properties.get("acc_format")
            if acc_fmt is None:
                raise em.error(op, "a fixed-point matmul needs its acc_format (written by the quantize pass)")
            t_acc, t_mid = acc_types(Fx(*product_sum_bits(a_fixed, b_fixed, k)), acc_fmt)
        types = f"{a.elem}, {b.elem}, {t_acc}, {out.elem}" + mid_and_mul(op, t_acc, t_mid)
        em.calls.append(f"dfcc::matmul<{prod(a_shape[:-2])}, {m}, {k}, {n}, {ci}, {co}, {types}>"
                        f"({a.name}, {b.name}, {out.name});  // {name}")
