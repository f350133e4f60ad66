"""Keeps a strided window of a stream."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
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
    forwards or discards each element as it arrives. Folding: `coarse` lanes over the last dim,
    whole beats kept or dropped, so with a channel window they divide its offset and size.
    """

    name = "dataflow.slice"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    offsets = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, offsets: Sequence[int], sizes: Sequence[int], strides: Sequence[int], name: str):
        super().__init__(operands=[input], result_types=[StreamType(sizes, input.type.element_type)],
                         properties={"name": StringAttr(name), "offsets": int_array(offsets), "strides": int_array(strides)})

    def folding_extents(self) -> dict[str, int]:
        """Lanes over the last dim: beats of the input that lie wholly inside or outside the window
        (a strided channel window: one lane)."""
        c, kept = self.input.type.get_shape()[-1], self.output.type.get_shape()[-1]
        offset, stride = self.ints_prop("offsets")[-1], self.ints_prop("strides")[-1]
        return {"coarse": math.gcd(c, offset, kept) if stride == 1 else 1}

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

    def stream_lanes(self, op: SliceOp, folding=None) -> tuple[int, int]:
        """Its folding's `coarse` lanes: whole beats in or out of the window (SliceOp.folding_extents)."""
        coarse = (op.folding() if folding is None else folding)["coarse"]
        return coarse, coarse

    def cost(self, op: SliceOp) -> NodeModel:
        # reads every input beat, forwards the kept ones; no buffer
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
        lanes, _ = self.stream_lanes(op)
        t_in, t_out = cpp_type(op.input.type.element_type), cpp_type(op.output.type.element_type)
        if (em.fixed_type(op.input) is None) != (em.fixed_type(op.output) is None):
            raise em.error(op, "slicing between float and fixed-point streams is not supported")
        x = em.read(op.input, lanes, name)
        out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
        em.define(op.output, out)
        names = [f"i{d}" for d in range(rank - 1)] + ["cb"]
        conds = []
        beats = shape[:-1] + [shape[-1] // lanes]
        for d in range(rank):
            # the last dim in beats: a window of lanes-aligned channels is a window of beats
            o, n = (offsets[d] // lanes, out_shape[d] // lanes) if d == rank - 1 else (offsets[d], out_shape[d])
            i, s = names[d], strides[d]
            if o == 0 and s == 1 and n == beats[d]:
                continue
            conds.append(f"{i} >= {o}" + (f" && ({i} - {o}) % {s} == 0" if s > 1 else "") + f" && {i} <= {o + s * (n - 1)}")
        keep = " && ".join(f"({c})" for c in conds) or "true"
        heads, closers, ind = guarded_loops(beats, names, "    ")
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
