"""Token embedding: each integer id of the input stream reads one row of a weight table."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, IntegerType, StringAttr, TensorType
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, stream_type_of
from dfcc.dialects.fixed_point import cast, fixed_of
from dfcc.errors import DfccError
from dfcc.hardware.cycles import stage_cycles
from dfcc.hardware.logic import stage_logic
from dfcc.kinds.cost import STAGE_PIPELINE_CYCLES, NodeCost, NodeModel, array_cost, folding_of, node_label, weight_bits
from dfcc.kinds.hls_types import HLS, cpp_type, prod, sanitize
from dfcc.kinds.registry import NodeKind, register


@irdl_op_definition
class EmbeddingOp(NodeOp):
    """out[..., :] = table[ids[...], :]: a stream of integer ids (any shape S) in, S x D rows out.

    Folding: `coarse` words of a row per beat (the table is read `coarse` words wide).
    """

    name = "dataflow.embedding"
    input = operand_def(StreamType)
    table = operand_def(TensorType)
    output = result_def(StreamType)
    coarse = opt_prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, table: SSAValue, name: str):
        rows, width = table.type.get_shape()
        super().__init__(
            operands=[input, table],
            result_types=[StreamType([*input.type.get_shape(), width], table.type.get_element_type())],
            properties={"name": StringAttr(name)},
        )

    def verify_node(self) -> None:
        ids = stream_type_of(self.input, "embedding input")
        out = stream_type_of(self.output, "embedding output")
        where = f"embedding '{self.node_name.data}'"
        if not isinstance(ids.element_type, IntegerType) or ids.element_type.width.data < 2:
            raise VerifyException(f"{where}: the input must carry integer ids, got {ids.element_type}")
        table = self.table.type.get_shape()
        if len(table) != 2:
            raise VerifyException(f"{where}: the table must be rows x width, got shape {table}")
        if out.get_shape() != (*ids.get_shape(), table[1]):
            raise VerifyException(f"{where}: output shape {out.get_shape()}, expected {(*ids.get_shape(), table[1])}")

    def folding_extents(self) -> dict[str, int]:
        """Words of a row per beat, dividing the row width."""
        return {"coarse": self.table.type.get_shape()[1]}


def lookup(ids: np.ndarray, table: np.ndarray, op: EmbeddingOp) -> np.ndarray:
    """table[ids], refusing ids outside the table (PyTorch raises there too)."""
    ids = np.asarray(ids)
    rows = table.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= rows or not np.array_equal(ids, np.floor(ids))):
        bad = ids[(ids < 0) | (ids >= rows) | (ids != np.floor(ids))].flat[0]
        raise DfccError(f"embedding '{op.node_name.data}': token id {bad} is not a row of its {rows}-row table "
                        f"(ids must be integers in 0..{rows - 1})")
    return table[ids.astype(np.int64)]


@register
class Embedding(NodeKind):
    op = EmbeddingOp

    def stream_lanes(self, op: EmbeddingOp, folding=None) -> tuple[int, int]:
        """One id per beat in, `coarse` words of its row per beat out."""
        return 1, (op.folding() if folding is None else folding)["coarse"]

    def cost(self, op: EmbeddingOp) -> NodeModel:
        rows, width = op.table.type.get_shape()
        tokens = op.input.type.num_elements
        bits = weight_bits(op.table)

        def evaluate(folding) -> NodeCost:
            (coarse,) = folding
            beats = width // coarse
            # fpgaConvNet streaming stage: max(words in, words out / coarse) cycles
            cycles = int(stage_cycles(tokens, 1, tokens * width, coarse))
            # MicroRec (Jiang et al., MLSys 2021): an on-chip embedding table is a memory `coarse`
            # words wide holding each row in width/coarse consecutive words; one row read per lookup
            t_bram, t_lut = array_cost(bits * coarse, rows * beats)
            logic = stage_logic(coarse, bits)
            return NodeCost(
                cycles=cycles, depth=STAGE_PIPELINE_CYCLES, fill=1.0 / tokens, dsp=0, bram18=t_bram, uram=0,
                lut=logic.lut + t_lut, ff=logic.ff, out_lanes=coarse, weight_width=bits * coarse, weight_bits=bits,
                weight_depth=rows * beats,
                # MicroRec: a table in DRAM moves only the rows looked up (tokens of the rows per inference)
                weight_sweeps=tokens / rows,
            )

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate, has_weights=True)

    def run_float(self, op: EmbeddingOp, args):
        ids, table = args
        return (lookup(ids, np.asarray(table, dtype=np.float32), op),)

    def run_fixed(self, op: EmbeddingOp, args):
        """The row as the table holds it (exact in its `format`), then T_out."""
        ids, table = args
        rows = lookup(ids, np.asarray(table, dtype=np.float64), op)
        fmt = fixed_of(op.output)
        return (rows if fmt is None else cast(rows, fmt),)

    def emit_hls(self, em, op: EmbeddingOp) -> None:
        """A generated stage, one loop nest pipelined at II=1 (analyses/schedules.py follows it): per id,
        read at the row's first beat, the row's words from the table ROM, `coarse` per beat."""
        name = em.stage(op)
        fn = sanitize(name)
        rows, width = op.table.type.get_shape()
        tokens = prod(op.input.type.get_shape())
        _, coarse = self.stream_lanes(op)
        table = em.rom(em.weights(op.table, op, "the table"))
        t_id, t_out = cpp_type(op.input.type.element_type), cpp_type(op.output.type.element_type)
        ids = em.read(op.input, 1, name)
        out = em.new_stream(f"s_{name}", op.output.type, coarse, value=op.output)
        em.define(op.output, out)
        em.defs.append("\n".join([
            f"// embedding '{name}': {tokens} ids -> rows of a {rows}x{width} table, {coarse} word(s) per beat",
            f"static void stage_{fn}(hls::stream<dfcc::vec<{t_id}, 1> >& in, hls::stream<dfcc::vec<{t_out}, {coarse}> >& out) {{",
            f"    {t_id} id = 0;",
            f"    for (int t = 0; t < {tokens}; t++) {{",
            f"        for (int b = 0; b < {width // coarse}; b++) {{",
            f"            {HLS}(PIPELINE II=1)",
            "            if (b == 0) id = in.read().data[0];",
            f"            dfcc::vec<{t_out}, {coarse}> y;",
            f"            for (int p = 0; p < {coarse}; p++) y.data[p] = {t_out}(dfcc::val({table.name}[id][b * {coarse} + p]));",
            "            out.write(y);",
            "        }",
            "    }",
            "}",
            "",
        ]))
        em.calls.append(f"stage_{fn}({ids}, {out.name});  // {name}")
