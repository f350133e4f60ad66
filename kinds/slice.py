"""Keeps a strided window of a stream."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array
from dfcc.kinds.cost import NodeModel, buffered_stage, stream_bits
from dfcc.kinds.hls_types import HLS, cpp_type, guarded_loops, sanitize
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class SliceOp(NodeOp):
    """Keeps elements `offsets + strides * i` (i < output shape) of each stream dim, drops the rest.

    One output of a split (`chunk`, crops): a fork feeding several slices is a split. No buffer: it
    forwards or discards each element as it arrives.
    """

    name = "dataflow.slice"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    offsets = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)

    def __init__(self, input: SSAValue, offsets: Sequence[int], sizes: Sequence[int], strides: Sequence[int], name: str):
        super().__init__(operands=[input], result_types=[StreamType(sizes, input.type.element_type)],
                         properties={"name": StringAttr(name), "offsets": int_array(offsets), "strides": int_array(strides)})

    def verify_node(self) -> None:
        shape, out = self.input.type.get_shape(), self.output.type.get_shape()
        offsets, strides = self.ints_prop("offsets"), self.ints_prop("strides")
        if not len(shape) == len(out) == len(offsets) == len(strides):
            raise VerifyException(f"slice '{self.node_name.data}': offsets, strides and shapes must have one entry per dim")
        for size, o, n, st in zip(shape, offsets, out, strides):
            if o < 0 or st < 1 or o + st * (n - 1) >= size:
                raise VerifyException(f"slice '{self.node_name.data}': window {offsets}/{strides} of {out} exceeds {shape}")


@register
class Slice(FixedIsFloatThenCast, NodeKind):
    op = SliceOp

    def stream_lanes(self, op: SliceOp, folding=None, producer_lanes: int = 1) -> tuple[int, int]:
        """`coarse` lanes (cut to divide the last dim) when the whole last dim is kept, else one."""
        shape, out_shape = op.input.type.get_shape(), op.output.type.get_shape()
        if op.ints_prop("offsets")[-1] or op.ints_prop("strides")[-1] != 1 or out_shape[-1] != shape[-1]:
            return 1, 1
        lanes = math.gcd((op.folding() if folding is None else folding).get("coarse", 1), shape[-1])
        return lanes, lanes

    def cost(self, op: SliceOp) -> NodeModel:
        # reads every input word, forwards the kept ones; no buffer
        return buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, 0, stream_bits(op.input))

    def run_float(self, op: SliceOp, args):
        offsets, sizes, strides = op.ints_prop("offsets"), op.output.type.get_shape(), op.ints_prop("strides")
        return (np.ascontiguousarray(args[0][tuple(slice(o, o + s * (n - 1) + 1, s)
                                                   for o, n, s in zip(offsets, sizes, strides))]),)

    def emit_hls(self, em, op: SliceOp) -> None:
        """A generated stage, a filter: reads the input in stream order and forwards the elements
        inside the window."""
        name = em.stage(op)
        fn = sanitize(name)
        shape, out_shape = list(op.input.type.get_shape()), list(op.output.type.get_shape())
        offsets, strides = op.ints_prop("offsets"), op.ints_prop("strides")
        rank = len(shape)
        whole_last = offsets[-1] == 0 and strides[-1] == 1 and out_shape[-1] == shape[-1]
        lanes, _ = self.stream_lanes(op)
        t_in, t_out = cpp_type(op.input.type.element_type), cpp_type(op.output.type.element_type)
        if (em.fixed_type(op.input) is None) != (em.fixed_type(op.output) is None):
            raise em.error(op, "slicing between float and fixed-point streams is not supported")
        x = em.read(op.input, lanes, name)
        out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
        em.define(op.output, out)
        names = [f"i{d}" for d in range(rank - 1)] + ["cb"]
        conds = []
        for d in range(rank):
            if d == rank - 1 and whole_last:
                continue
            if offsets[d] == 0 and strides[d] == 1 and out_shape[d] == shape[d]:
                continue
            i, o, s, n = names[d], offsets[d], strides[d], out_shape[d]
            conds.append(f"{i} >= {o}" + (f" && ({i} - {o}) % {s} == 0" if s > 1 else "") + f" && {i} <= {o + s * (n - 1)}")
        keep = " && ".join(f"({c})" for c in conds) or "true"
        heads, closers, ind = guarded_loops(shape[:-1] + [shape[-1] // lanes], names, "    ")
        stage = [
            f"// slice '{name}': offsets {list(offsets)}, strides {list(strides)} of {'x'.join(map(str, shape))} -> "
            f"{'x'.join(map(str, out_shape))}",
            f"static void stage_{fn}(hls::stream<dfcc::vec<{t_in}, {lanes}> >& in, hls::stream<dfcc::vec<{t_out}, {lanes}> >& out) {{",
            *heads,
            f"{ind}{HLS}(PIPELINE II=1)",
            f"{ind}const dfcc::vec<{t_in}, {lanes}> x = in.read();",
            f"{ind}if ({keep}) {{",
            f"{ind}    dfcc::vec<{t_out}, {lanes}> y;",
            f"{ind}    for (int p = 0; p < {lanes}; p++) y.data[p] = {t_out}(x.data[p]);",
            f"{ind}    out.write(y);",
            f"{ind}}}",
            *closers,
            "}",
            "",
        ]
        em.defs.append("\n".join(stage))
        em.calls.append(f"stage_{fn}({x}, {out.name});  // {name}")
