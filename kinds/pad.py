"""Pads stream dims with a constant or copies of the edge (PyTorch's modes)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from xdsl.dialects.builtin import DenseArrayBase, Float32Type, FloatAttr, IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array
from dfcc.kinds.cost import NodeModel, buffered_stage, stream_bits
from dfcc.kinds.hls_types import HLS, cpp_type, float_literal, guarded_loops, sanitize
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


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


_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}

def _pad_source(mode: str) -> str:
    """C++ expression of the input index read for output index i (-1: the constant) of a dim of
    extent n padded by lo in front, as numpy.pad's modes define it."""
    return {
        "constant": "(j >= 0 && j < n) ? j : -1",
        "reflect": "j < 0 ? -j : (j >= n ? 2 * (n - 1) - j : j)",
        "replicate": "j < 0 ? 0 : (j >= n ? n - 1 : j)",
        "circular": "((j % n) + n) % n",
    }[mode]


@register
class Pad(FixedIsFloatThenCast, NodeKind):
    op = PadOp

    def stream_lanes(self, op: PadOp, folding=None) -> tuple[int, int]:
        """Its folding's `coarse` lanes (one when the last dim is padded: PadOp.folding_extents)."""
        coarse = (op.folding() if folding is None else folding)["coarse"]
        return coarse, coarse

    def cost(self, op: PadOp) -> NodeModel:
        return buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, op.buffer_words(),
                               stream_bits(op.input), in_turn=True)

    def run_float(self, op: PadOp, args):
        widths = list(zip(op.ints_prop("pad")[0::2], op.ints_prop("pad")[1::2]))
        mode = op.mode.data
        if mode == "constant":
            return (np.pad(args[0], widths, constant_values=op.value.value.data).astype(np.float32),)
        return (np.pad(args[0], widths, mode=_NUMPY_PAD_MODES[mode]).astype(np.float32),)

    def emit_hls(self, em, op: PadOp) -> None:
        """A generated stage, in any of PyTorch's modes: rows of the outermost padded dim are kept in a
        ring of R rows (R = max(lo, hi) + 1 for reflect/replicate/constant, the whole dim for circular:
        the node's `buffer_words()`), each output element is read from the ring at its source index."""
        name = em.stage(op)
        fn = sanitize(name)
        shape, out_shape = list(op.input.type.get_shape()), list(op.output.type.get_shape())
        pads, mode = op.ints_prop("pad"), op.mode.data
        if mode not in ("constant", "reflect", "replicate", "circular"):
            raise em.error(op, f"pad mode '{mode}' is not supported")
        rank = len(shape)
        padded = [d for d in range(rank) if pads[2 * d] or pads[2 * d + 1]]
        o = padded[0] if padded else rank - 1
        lanes, _ = self.stream_lanes(op)
        row = int(np.prod(shape[o + 1:])) if o + 1 < rank else 1
        lo_o, hi_o = pads[2 * o], pads[2 * o + 1]
        ring = shape[o] if mode == "circular" else min(shape[o], max(lo_o, hi_o) + 1)
        t_in, t_out = cpp_type(op.input.type.element_type), cpp_type(op.output.type.element_type)
        if (em.fixed_type(op.input) is None) != (em.fixed_type(op.output) is None):
            raise em.error(op, "padding between float and fixed-point streams is not supported")
        x = em.read(op.input, lanes, name)
        out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
        em.define(op.output, out)
        value = float_literal(float(op.value.value.data), single=False)
        inner = list(range(o + 1, rank))
        inner_names = [f"i{d}" for d in inner[:-1]] + (["cb"] if inner else [])
        inner_dims = [out_shape[d] for d in inner[:-1]] + ([out_shape[-1] // lanes] if inner else [])
        # flat index of the source element inside a ring row, and whether it is padding
        terms, checks, srcs = [], [], []
        stride = 1
        for d in reversed(inner):
            idx = f"i{d}" if d < rank - 1 else f"(cb * {lanes} + p)"
            srcs.append(f"const int s{d} = src_{fn}({idx}, {shape[d]}, {pads[2 * d]});")
            terms.append(f"s{d} * {stride}" if stride > 1 else f"s{d}")
            checks.append(f"s{d} < 0")
            stride *= shape[d]
        flat = " + ".join(reversed(terms)) or "0"
        pad_check = " || ".join(["r < 0"] + checks)
        outer_heads, outer_closers, ind = guarded_loops(shape[:o], [f"i{d}" for d in range(o)], "    ")
        i_o = f"i{o}" if o < rank - 1 else "cb"
        heads, closers, ind2 = guarded_loops(inner_dims, inner_names, ind + "    ")

        def fill(ind: str) -> list[str]:
            return [
                f"{ind}for (; have < need; have++) {{",
                f"{ind}    for (int b = 0; b < {row // lanes}; b++) {{",
                f"{ind}        {HLS}(PIPELINE II=1)",
                f"{ind}        const dfcc::vec<{t_in}, {lanes}> x = in.read();",
                f"{ind}        for (int p = 0; p < {lanes}; p++) ring[have % {ring}][b * {lanes} + p] = x.data[p];",
                f"{ind}    }}",
                f"{ind}}}",
            ]

        stage = [
            f"// pad '{name}': {mode} {list(pads)} of {'x'.join(map(str, shape))}, a ring of {ring} row(s) of {row}",
            f"static int src_{fn}(int i, int n, int lo) {{",
            "    const int j = i - lo;",
            f"    return {_pad_source(mode)};",
            "}",
            f"static void stage_{fn}(hls::stream<dfcc::vec<{t_in}, {lanes}> >& in, hls::stream<dfcc::vec<{t_out}, {lanes}> >& out) {{",
            f"    static {t_in} ring[{ring}][{row}];",
            *outer_heads,
            f"{ind}int have = 0;",
            f"{ind}for (int {i_o} = 0; {i_o} < {out_shape[o]}; {i_o}++) {{",
            f"{ind}    const int r = src_{fn}({i_o}, {shape[o]}, {lo_o});",
            f"{ind}    const int need = r < 0 ? have : r + 1;",
            *fill(ind + "    "),
            *heads,
            f"{ind2}{HLS}(PIPELINE II=1)",
            f"{ind2}dfcc::vec<{t_out}, {lanes}> y;",
            f"{ind2}for (int p = 0; p < {lanes}; p++) {{",
            *(f"{ind2}    {s}" for s in reversed(srcs)),
            f"{ind2}    y.data[p] = ({pad_check}) ? {t_out}({value}) : {t_out}(ring[r % {ring}][{flat}]);",
            f"{ind2}}}",
            f"{ind2}out.write(y);",
            *closers,
            f"{ind}}}",
            f"{ind}const int need = {shape[o]};",
            *fill(ind),
            *outer_closers,
            "}",
            "",
        ]
        if o == rank - 1:  # padding the last dim only: rows are single elements, no inner loops
            stage = [line.replace("(cb * 1 + p)", "cb") for line in stage]
        em.defs.append("\n".join(stage))
        em.calls.append(f"stage_{fn}({x}, {out.name});  // {name}")
