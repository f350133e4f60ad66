"""Joins streams along one stream dim."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, prop_def, result_def, var_operand_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_attr, stream_type_of
from dfcc.kinds.cost import NodeModel, buffered_stage, stream_bits
from dfcc.kinds.hls_types import prod
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class ConcatOp(NodeOp):
    """Joins streams along stream dim `axis` (channel concat is the last dim of an NHWC stream).

    Buffer: for the last dim none (per pixel it reads each input's channels in turn); for an outer
    dim every input after the first waits until the earlier ones are done, so `buffer_words()`
    counts their elements (realised as FIFO depth on those inputs).
    """

    name = "dataflow.concat"
    inputs = var_operand_def(StreamType)
    output = result_def(StreamType)
    axis = prop_def(IntegerAttr)

    def __init__(self, inputs: Sequence[SSAValue], axis: int, name: str):
        shapes = [v.type.get_shape() for v in inputs]
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        super().__init__(operands=[inputs], result_types=[StreamType(shape, inputs[0].type.element_type)],
                         properties={"name": StringAttr(name), "axis": int_attr(axis)})

    def buffer_words(self) -> int:
        axis = self.axis.value.data
        if axis == len(self.output.type.get_shape()) - 1:
            return 0
        return sum(v.type.num_elements for v in self.inputs[1:])

    def verify_node(self) -> None:
        axis = self.axis.value.data
        shapes = [stream_type_of(v, "concat input").get_shape() for v in self.inputs]
        out = stream_type_of(self.output, "concat output").get_shape()
        if not shapes or not 0 <= axis < len(out):
            raise VerifyException(f"concat '{self.node_name.data}': axis {axis} out of range")
        expected = list(shapes[0])
        expected[axis] = sum(s[axis] for s in shapes)
        if any(len(s) != len(out) or s[:axis] + s[axis + 1:] != out[:axis] + out[axis + 1:] for s in shapes) or tuple(expected) != out:
            raise VerifyException(f"concat '{self.node_name.data}': inputs {shapes} do not concatenate to {out} on axis {axis}")


@register
class Concat(FixedIsFloatThenCast, NodeKind):
    op = ConcatOp
    hls_headers = ("concat.h",)

    def stream_lanes(self, op: ConcatOp, folding=None, producer_lanes: int = 1) -> tuple[int, int]:
        """`coarse` lanes cut to divide every block it joins (each input's last dim when joining
        along it, else the output's)."""
        lanes = (op.folding() if folding is None else folding).get("coarse", 1)
        axis, out_shape = op.axis.value.data, op.output.type.get_shape()
        for v in (op.inputs if axis == len(out_shape) - 1 else [op.output]):
            lanes = math.gcd(lanes, v.type.get_shape()[-1])
        return lanes, lanes

    def cost(self, op: ConcatOp) -> NodeModel:
        words = op.output.type.num_elements
        # an outer-axis concat waits for the earlier inputs: buffer_words() of them (channel concat: none)
        return buffered_stage(op, words, words, op.buffer_words(), stream_bits(op.output))

    def run_float(self, op: ConcatOp, args):
        return (np.concatenate(args, axis=op.axis.value.data),)

    def emit_hls(self, em, op: ConcatOp) -> None:
        """Pairwise `dfcc::concat_blocks` calls (concat.h; a chain for more than two inputs)."""
        name = em.stage(op)
        axis = op.axis.value.data
        out_shape = op.output.type.get_shape()
        p, _ = self.stream_lanes(op)
        outer = prod(out_shape[:axis])
        t_out = em.elem(op.output)
        left = em.read_stream(op.inputs[0], p, name)
        left_words = prod(op.inputs[0].type.get_shape()[axis:])
        for k, value in enumerate(op.inputs[1:], start=1):
            right = em.read_stream(value, p, name)
            words = prod(value.type.get_shape()[axis:])
            if k == len(op.inputs) - 1:
                out = em.new_stream(f"s_{name}", op.output.type, p, value=op.output)
            else:
                out = em.temp_stream(f"s_{name}_part{k}", t_out, p)
            em.calls.append(f"dfcc::concat_blocks<{outer}, {left_words // p}, {words // p}, {p}, {left.elem}, "
                            f"{right.elem}, {t_out}>({left.name}, {right.name}, {out.name});  // {name}")
            left, left_words = out, left_words + words
        em.define(op.output, left)
