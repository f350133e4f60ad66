"""Fully connected layer over the last stream dim."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, StringAttr, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_operand_def, opt_prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, check_weights_shape, stream_type_of
from dfcc.dialects.fixed_point import fixed_of, mac_result
from dfcc.hardware.cycles import conv_cycles
from dfcc.hardware.dsp import conv_multipliers, macs_per_dsp, multiplier_dsp
from dfcc.hardware.ffip import ffip_cost
from dfcc.hardware.logic import Logic, lut_multiplier, mac_logic, stage_logic
from dfcc.hardware.memory import conv_weight_memory, lutram_luts
from dfcc.kinds.cost import (
    STAGE_PIPELINE_CYCLES, Folding, NodeCost, NodeModel, acc_bits, array_cost, folding_of, node_label, stream_bits,
    weight_bits,
)
from dfcc.kinds.hls_mac import mac_types, mid_and_mul
from dfcc.kinds.hls_offchip import mac_weights
from dfcc.kinds.inner_product import check_inner_product, fixed_mac, pairs_products
from dfcc.kinds.hls_types import prod
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.sparse_weights import weights_format


class LinearFields(NodeOp):
    """Operands, properties, builder, verifier and folding of a linear layer (dense or zero-skipping)."""

    input = operand_def(StreamType)
    weights = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(StreamType)
    coarse_in = opt_prop_def(IntegerAttr)
    coarse_out = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)

    def __init__(self, input: SSAValue, weights: SSAValue, bias: SSAValue | None, *, name: str):
        f = weights.type.get_shape()[0]
        shape = input.type.get_shape()[:-1] + (f,)
        super().__init__(
            operands=[input, weights, bias],
            result_types=[StreamType(shape, input.type.element_type)],
            properties={"name": StringAttr(name)},
        )

    def verify_node(self) -> None:
        in_shape, out_shape = stream_type_of(self.input, "linear input").get_shape(), stream_type_of(self.output, "linear output").get_shape()
        if in_shape[:-1] != out_shape[:-1]:
            raise VerifyException(f"linear '{self.node_name.data}': leading dims {in_shape[:-1]} != {out_shape[:-1]}")
        check_weights_shape(self, self.weights, (out_shape[-1], in_shape[-1]), "weights")
        if self.bias is not None:
            check_weights_shape(self, self.bias, (out_shape[-1],), "bias")
        check_inner_product(self)

    def folding_extents(self) -> dict[str, int]:
        """Input and output features (fpgaConvNet inner-product folding)."""
        return {"coarse_in": self.input.type.get_shape()[-1], "coarse_out": self.output.type.get_shape()[-1]}


@irdl_op_definition
class LinearOp(LinearFields):
    """Fully connected layer over the last stream dim: y = x W^T + b, weights F x C (PyTorch order)."""

    name = "dataflow.linear"

    def splits_multipliers(self, folding=None) -> bool:
        """linear.h numbers its CO*CI multipliers (lanes) as the cost model counts them."""
        return True

    def ffip_extent(self) -> tuple[int, int] | None:
        """The widest FFIP step (kinds/inner_product.py): every output and input feature; fixed point only."""
        return (self.output.type.get_shape()[-1], self.input.type.get_shape()[-1]) if fixed_mac(self) else None

    def ffip_step(self, f: Mapping[str, int]) -> tuple[int, int]:
        """linear.h's step: CO output lanes of CI products each."""
        return f["coarse_out"], f["coarse_in"]


def linear_row_cycles(features_in: int, features_out: int, folding: Folding) -> int:
    """Cycles the dense MAC loop spends on one row under (coarse_in, coarse_out)."""
    ci, co = folding
    # fpgaConvNet (Venieris & Bouganis), inner product layer per row: C/ci * F/co
    return -(-features_in // ci) * -(-features_out // co)


def linear_rows(op: LinearFields) -> int:
    """Rows (vectors) per inference: the product of the leading stream dims."""
    rows = 1
    for d in op.input.type.get_shape()[:-1]:
        rows *= d
    return rows


@register
class Linear(NodeKind):
    op = LinearOp
    hls_headers = ("linear.h",)

    def stream_lanes(self, op: LinearOp, folding=None) -> tuple[int, int]:
        f = op.folding() if folding is None else folding
        return f["coarse_in"], f["coarse_out"]

    def cycles_function(self, op: LinearOp) -> Callable[[Folding], float]:
        """Cycles per inference as a function of the folding (dense: every product computed)."""
        c, f, rows = op.input.type.get_shape()[-1], op.output.type.get_shape()[-1], linear_rows(op)
        # a linear layer is a 1x1 convolution over `rows` pixels (fpgaConvNet inner product layer)
        return lambda folding: conv_cycles(rows, 1, c, f, 1, 1, rows, 1, folding[0], folding[1], 1)

    def cost(self, op: LinearOp) -> NodeModel:
        c, f, rows = op.input.type.get_shape()[-1], op.output.type.get_shape()[-1], linear_rows(op)
        cycles_of = self.cycles_function(op)
        d_bits, w_bits, a_bits = stream_bits(op.input), weight_bits(op.weights), acc_bits(op)
        has_bias = op.bias is not None
        x_signed = fixed_of(op.input) is None or fixed_of(op.input).is_signed

        def evaluate(folding: Folding, product: str | None = None) -> NodeCost:
            ci, co = folding
            cycles = cycles_of(folding)
            mults = conv_multipliers(ci, co, 1)
            dsp, mult_lut, sums_lut = multiplier_dsp(mults, d_bits, w_bits), mults * lut_multiplier(d_bits, w_bits), 0
            ffip = pairs_products(op, {"coarse_in": ci, "coarse_out": co}, product)
            if ffip:  # hardware/ffip.py: a multiplier per pair of products per output lane, and the shared x-only ones
                mults, dsp, mult_lut, sums_lut = ffip_cost(co, ci, 1, d_bits, x_signed, w_bits)
            ww, wd = conv_weight_memory(c, f, 1, 1, w_bits, ci, co, 1)
            w_bram, w_lut = array_cost(ww, wd)
            # accumulators and biases in distributed RAM, as for conv
            a_bram, a_lut = 0, lutram_luts(a_bits * co, -(-f // co))
            b_bram, b_lut = (0, lutram_luts(w_bits * co, -(-f // co))) if has_bias else (0, 0)
            if ffip:  # the bias less the w-only terms (hls_mac.py mac_types) at acc_bits, with or without a bias
                b_lut = lutram_luts(a_bits * co, -(-f // co))
            logic = mac_logic(mults, d_bits, w_bits, a_bits) + stage_logic(ci, d_bits) + Logic(sums_lut, 0)
            per_row = linear_row_cycles(c, f, folding)
            return NodeCost(
                cycles=cycles, depth=per_row + STAGE_PIPELINE_CYCLES, fill=1.0 / rows,
                dsp=dsp, bram18=w_bram + a_bram + b_bram, uram=0,
                lut=logic.lut + w_lut + a_lut + b_lut, ff=logic.ff, out_lanes=self.stream_lanes(op, {"coarse_in": ci, "coarse_out": co})[1], weight_width=ww, weight_depth=wd, weight_bits=w_bits, word_stream=True,
                mult_lut=mult_lut, multipliers=mults, weight_sweeps=rows,
            )

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate,
                         macs=rows * c * f, macs_per_dsp=macs_per_dsp(d_bits, w_bits), lut_per_mac=lut_multiplier(d_bits, w_bits),
                         adder_lut_per_mac=mac_logic(1, d_bits, w_bits, a_bits).lut, has_weights=True)

    def run_float(self, op: LinearOp, args):
        x, weights, *bias = args
        return (linear(x, weights, bias[0] if bias else None).astype(np.float32),)

    def run_fixed(self, op: LinearOp, args):
        """As conv (kinds/conv.py): exact sum of products + bias, then T_acc and T_out."""
        if fixed_of(op.output) is None:
            return self.run_float(op, args)
        x, weights, *bias = (np.asarray(a, dtype=np.float64) for a in args)
        return (mac_result(op, x, weights, weights_format(op.weights), bias[0] if bias else None, linear),)

    def emit_hls(self, em, op: LinearOp) -> None:
        """One `dfcc::linear` call (linear.h) over the rows of the input (its weights on chip, or streamed
        from DRAM: kinds/hls_offchip.py)."""
        name = em.stage(op)
        in_shape, out_shape = op.input.type.get_shape(), op.output.type.get_shape()
        c, f = in_shape[-1], out_shape[-1]
        ci, co = self.stream_lanes(op)
        x = em.read(op.input, ci, name)
        out = em.new_stream(f"s_{name}", op.output.type, co, value=op.output)
        em.define(op.output, out)
        ffip = pairs_products(op, op.folding())  # the products paired (inner_product.h), the bias folded (hls_mac.py)
        w_rom, b_rom, t_acc, t_mid = mac_types(em, op, (f, c), (ci, 1) if ffip else None)
        rows = prod(in_shape[:-1])
        w_arg = mac_weights(em, op, w_rom, rows, channels=c, groups=1, lanes_in=ci, lanes_out=co, fine=1)  # swept per row
        types = f"{em.elem(op.input)}, {w_rom.elem}, {b_rom.elem}, {t_acc}, {out.elem}" + mid_and_mul(op, t_acc, t_mid, ffip)
        em.calls.append(f"dfcc::linear<{rows}, {c}, {f}, {ci}, {co}, {types}>"
                        f"({x}, {out.name}, {w_arg}, {b_rom.name});  // {name}")


def linear(x: np.ndarray, weights: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """x W^T + b over the last dim (weights F x C, PyTorch order)."""
    out = x @ weights.T
    return out + bias if bias is not None else out

