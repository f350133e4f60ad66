"""Reads one stream dim in a constant order (a gather by a constant index along one dim)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, int_attr
from dfcc.kinds.cost import NodeModel, buffered_stage, stream_bits
from dfcc.kinds.hls_types import Rom, sanitize
from dfcc.kinds.registry import NodeKind, register
from dfcc.kinds.semantics import FixedIsFloatThenCast


@irdl_op_definition
class ReindexOp(NodeOp):
    """Output index i along stream dim `axis` is input index `index[i]`, in any order, repeated or
    skipped: x[:, idx] by a constant index, and the row/column gathers of bilinear interpolation
    (torch-mlir decomposes it into four such gathers weighted by maps).

    Buffer (`buffer_words()`): the input's block from `axis` inward, since any of its entries may
    come first; one row of it (the dims inside `axis`) when the index never decreases (`monotone()`:
    nearest-like gathers, bilinear's). Folding: `coarse` lanes over the last dim when `axis` is not the last.
    """

    name = "dataflow.reindex"
    input = operand_def(StreamType)
    output = result_def(StreamType)
    axis = prop_def(IntegerAttr)
    index = prop_def(DenseArrayBase)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, axis: int, index: Sequence[int], name: str):
        shape = list(input.type.get_shape())
        shape[axis] = len(index)
        super().__init__(operands=[input], result_types=[StreamType(shape, input.type.element_type)],
                         properties={"name": StringAttr(name), "axis": int_attr(axis),
                                     "index": int_array(index)})

    def block(self) -> tuple[int, int, int, int]:
        """(outer, input extent, output extent, inner): the stream as [outer][extent][inner]."""
        shape, axis = self.input.type.get_shape(), self.axis.value.data
        return (math.prod(shape[:axis]), shape[axis], len(self.ints_prop("index")), math.prod(shape[axis + 1:]))

    def monotone(self) -> bool:
        index = self.ints_prop("index")
        return all(a <= b for a, b in zip(index, index[1:]))

    def buffer_words(self) -> int:
        _, n, _, inner = self.block()
        return inner if self.monotone() else n * inner

    def folding_extents(self) -> dict[str, int]:
        """Lanes over the last dim, unless it is the one read in another order."""
        shape = self.input.type.get_shape()
        return {"coarse": 1 if self.axis.value.data == len(shape) - 1 else shape[-1]}

    def verify_node(self) -> None:
        shape, axis, index = self.input.type.get_shape(), self.axis.value.data, self.ints_prop("index")
        where = f"reindex '{self.node_name.data}'"
        if not 0 <= axis < len(shape):
            raise VerifyException(f"{where}: axis {axis} is not a dim of {shape}")
        if not index or min(index) < 0 or max(index) >= shape[axis]:
            raise VerifyException(f"{where}: index must be non-empty, each in [0, {shape[axis]})")
        expected = tuple(len(index) if d == axis else n for d, n in enumerate(shape))
        if self.output.type.get_shape() != expected:
            raise VerifyException(f"{where}: output shape {self.output.type.get_shape()}, expected {expected}")


@register
class Reindex(FixedIsFloatThenCast, NodeKind):
    op = ReindexOp
    hls_headers = ("reindex.h",)

    def stream_lanes(self, op: ReindexOp, folding=None) -> tuple[int, int]:
        """Its folding's `coarse` lanes, in and out (one when the last dim is reindexed)."""
        coarse = (op.folding() if folding is None else folding)["coarse"]
        return coarse, coarse

    def cost(self, op: ReindexOp) -> NodeModel:
        # reindex.h reads a block, then writes its output block (in turn)
        return buffered_stage(op, op.input.type.num_elements, op.output.type.num_elements, op.buffer_words(),
                              stream_bits(op.input), in_turn=True)

    def run_float(self, op: ReindexOp, args):
        return (np.take(args[0], op.ints_prop("index"), axis=op.axis.value.data),)

    def emit_hls(self, em, op: ReindexOp) -> None:
        """One `dfcc::reindex` call (reindex.h) with the index as a ROM."""
        name = em.stage(op)
        if op.input.type.element_type != op.output.type.element_type:
            raise em.error(op, "a reindex that changes the number format is not supported")
        outer, n, m, inner = op.block()
        p, _ = self.stream_lanes(op)
        index = np.asarray(op.ints_prop("index"), dtype=np.int64)
        rom = em.add_rom(Rom(f"i_{sanitize(name)}", "int", "int", index.shape, index, 0,
                             f"{name}: input index of each output index along dim {op.axis.value.data}", plain=True))
        x = em.read(op.input, p, name)
        out = em.new_stream(f"s_{name}", op.output.type, p, value=op.output)
        em.define(op.output, out)
        monotone = "true" if op.monotone() else "false"
        em.calls.append(f"dfcc::reindex<{outer}, {n}, {m}, {inner}, {p}, {monotone}>({x}, {out.name}, {rom.name});"
                        f"  // {name}")
