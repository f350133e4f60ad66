"""Pads stream dims with a constant or copies of the edge (PyTorch's modes)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, Float32Type, FloatAttr, IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array
from dfcc.kinds.cost import NodeModel, buffered_stage, stream_bits
from dfcc.kinds.registry import NodeKind, register


PAD_MODES = ("constant", "reflect", "replicate", "circular")


@irdl_op_definition
class PadOp(NodeOp):
    """Pads stream dims by `pad` = (lo0, hi0, lo1, hi1, ...) with a constant or copies of the edge.

    `reflect` mirrors without repeating the edge, `replicate` repeats it, `circular` wraps around
    (PyTorch's padding modes). Constant zero padding read by a conv or pool is folded into that
    node instead. Buffer (`buffer_words()`): in an NHWC stream, reflect/replicate re-emit up to
    lo+1 rows already seen, circular needs the last rows before the first, i.e. the whole frame.
    Folding: `coarse` lanes over the last dim when that dim is not padded.
    """

    name = "dataflow.pad"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    mode = prop_def(StringAttr)
    pad = prop_def(DenseArrayBase)
    value = prop_def(FloatAttr, default_value=FloatAttr(0.0, Float32Type()))
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, pad: Sequence[int], mode: str, name: str, value: float = 0.0):
        shape = [d + pad[2 * i] + pad[2 * i + 1] for i, d in enumerate(input.type.get_shape())]
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "mode": StringAttr(mode), "pad": int_array(pad),
                                     "value": FloatAttr(value, Float32Type())})

    def buffer_words(self) -> int:
        shape, pad = self.input.type.get_shape(), self.ints_prop("pad")
        if self.mode.data == "constant":
            return 0
        if self.mode.data == "circular":
            return self.input.type.num_elements
        outer = next((i for i in range(len(shape)) if pad[2 * i] or pad[2 * i + 1]), len(shape) - 1)
        row = self.input.type.num_elements // math.prod(shape[:outer + 1])
        return (max(pad[2 * outer], pad[2 * outer + 1]) + 1) * row

    def folding_extents(self) -> dict[str, int]:
        """Lanes over the last dim, unless the last dim is padded (or nothing is: a plain copy)."""
        shape, pad = self.input.type.get_shape(), self.ints_prop("pad")
        pads_last = pad[-2] or pad[-1] or not any(pad)
        return {"coarse": 1 if pads_last else shape[-1]}

    def verify_node(self) -> None:
        shape, out, pad = self.input.type.get_shape(), self.output.type.get_shape(), self.ints_prop("pad")
        if self.mode.data not in PAD_MODES:
            raise VerifyException(f"pad mode must be one of {PAD_MODES}, got '{self.mode.data}'")
        if len(pad) != 2 * len(shape) or min(pad) < 0:
            raise VerifyException(f"pad '{self.node_name.data}': pad needs two non-negative values per dim")
        if out != tuple(d + pad[2 * i] + pad[2 * i + 1] for i, d in enumerate(shape)):
            raise VerifyException(f"pad '{self.node_name.data}': output shape {out} is not the padded input {shape}")
        if self.mode.data == "reflect" and any(max(pad[2 * i], pad[2 * i + 1]) >= d for i, d in enumerate(shape)):
            raise VerifyException(f"pad '{self.node_name.data}': reflect padding must be smaller than the dim")


@register
class Pad(NodeKind):
    op = PadOp

    def cost(self, op: PadOp) -> NodeModel:
        return buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, op.buffer_words(),
                               stream_bits(op.input), in_turn=True)
