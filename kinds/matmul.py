"""Batched product of two activation streams (attention)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, StreamType, int_array, stream_type_of
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


def stage_dims(lhs_shape, lhs_perm, n: int) -> tuple[int, int, int, int, int]:
    """(O, M, I, K, N): the left operand streams as O x M x I x K, its batch entries flattened to
    O x I (I: the batch dims streamed after M, as heads read token-major); N columns out."""
    at = list(lhs_perm).index(len(lhs_shape) - 2)
    return prod(lhs_shape[:at]), lhs_shape[at], prod(lhs_shape[at + 1:-1]), lhs_shape[-1], n


def rhs_groups(rhs_shape, rhs_perm) -> tuple[int, ...]:
    """The right operand's stream dims as groups (0: batch, 1: K, 2: N) in stream order, size-1
    dims dropped, runs merged, and absent groups placed where they keep the order: a permutation of
    (0, 1, 2) when the stream holds each group together."""
    rank, groups = len(rhs_shape), []
    for size, d in zip(rhs_shape, rhs_perm):
        g = 0 if d < rank - 2 else d - rank + 3
        if size > 1 and (not groups or groups[-1] != g):
            groups.append(g)
    for g in range(3):
        if g not in groups:
            groups.insert(next((i for i, h in enumerate(groups) if h > g), len(groups)), g)
    return tuple(groups)


def layout_error(lhs_shape, lhs_perm, rhs_shape, rhs_perm) -> str | None:
    """Why a matmul cannot read operands streamed in these orders (None when it can): the left one
    must stream rows of K with its batch dims in order; the right one, buffered, each dim group
    together with its batch dims in order, batch first when rows come in blocks of entries (O > 1)."""
    rank = len(lhs_shape)
    lp, rp = tuple(lhs_perm), tuple(rhs_perm)
    if sorted(lp) != list(range(rank)) or sorted(rp) != list(range(rank)):
        return f"orders {lp}, {rp} are not permutations of {rank} dims"
    if lp[-1] != rank - 1 or [d for d in lp if d < rank - 2] != list(range(rank - 2)):
        return f"the left operand's order {lp} does not stream rows of K with the batch dims in order"
    batch = [d for size, d in zip(rhs_shape, rp) if d < rank - 2 and size > 1]
    groups = rhs_groups(rhs_shape, rp)
    if batch != sorted(batch) or len(groups) != 3:
        return f"the right operand's order {rp} splits or reorders its batch dims"
    # linear.h matmul_load reads one block's I x K x N words in a row: O blocks of them are
    # consecutive in the stream only when its batch dims come first
    if stage_dims(lhs_shape, lp, 0)[0] > 1 and groups[0] != 0:
        return f"rows streamed in blocks of batch entries need the right operand's batch dims first, not {rp}"
    return None


@irdl_op_definition
class MatmulOp(NodeOp):
    """Batched product of two activation streams: (B.. x M x K) @ (B.. x K x N) -> (B.. x M x N).

    Attention's q k^T and p v. Each operand may stream its logical dims in another order
    (`lhs_perm`, `rhs_perm`: stream dim i holds logical dim perm[i]; identity when absent), so the
    heads of a token-major projection are read where they are, without a transpose buffer. The left
    operand streams rows of K (K last, batch dims in order, M anywhere among them: `stage_dims()`);
    the output streams in the left operand's order with N in place of K. The right operand is
    buffered (`buffer_words()`, twice: a ping-pong buffer): per batch entry when the rows come batch
    by batch, else whole.
    """

    name = "dataflow.matmul"
    lhs = operand_def(StreamType)
    rhs = operand_def(StreamType)
    output = result_def(StreamType)
    lhs_perm = opt_prop_def(DenseArrayBase)
    rhs_perm = opt_prop_def(DenseArrayBase)
    coarse_in = opt_prop_def(IntegerAttr)
    coarse_out = opt_prop_def(IntegerAttr)
    acc_format = opt_prop_def(Attribute)

    def __init__(self, lhs: SSAValue, rhs: SSAValue, name: str, lhs_perm=None, rhs_perm=None):
        rank = len(lhs.type.get_shape())
        lp, rp = tuple(lhs_perm or range(rank)), tuple(rhs_perm or range(rank))
        properties = {"name": StringAttr(name)}
        for key, perm in (("lhs_perm", lp), ("rhs_perm", rp)):
            if perm != tuple(range(rank)):
                properties[key] = int_array(perm)
        n = rhs.type.get_shape()[rp.index(rank - 1)] if len(rp) == rank else 0
        super().__init__(operands=[lhs, rhs], result_types=[StreamType(list(lhs.type.get_shape()[:-1]) + [n], lhs.type.element_type)],
                         properties=properties)

    def perms(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(lhs_perm, rhs_perm), identity when absent."""
        rank = len(self.lhs.type.get_shape())
        return tuple(self.ints_prop("lhs_perm") if "lhs_perm" in self.properties else range(rank)), \
            tuple(self.ints_prop("rhs_perm") if "rhs_perm" in self.properties else range(rank))

    def logical_shapes(self) -> tuple[list[int], list[int]]:
        """The operands' logical shapes (B.. x M x K, B.. x K x N)."""
        (lp, rp), a, b = self.perms(), self.lhs.type.get_shape(), self.rhs.type.get_shape()
        return [a[lp.index(d)] for d in range(len(a))], [b[rp.index(d)] for d in range(len(b))]

    def stage_dims(self) -> tuple[int, int, int, int, int]:
        """(O, M, I, K, N) (`stage_dims`)."""
        lp, rp = self.perms()
        return stage_dims(self.lhs.type.get_shape(), lp, self.rhs.type.get_shape()[rp.index(len(rp) - 1)])

    def rhs_order(self) -> tuple[int, ...]:
        """The right operand's stream as dim groups (`rhs_groups`)."""
        return rhs_groups(self.rhs.type.get_shape(), self.perms()[1])

    def layout_error(self) -> str | None:
        """Why these stream orders have no stage (`layout_error`)."""
        lp, rp = self.perms()
        return layout_error(self.lhs.type.get_shape(), lp, self.rhs.type.get_shape(), rp)

    def buffer_words(self) -> int:
        """The right operand of the I batch entries one block of rows reads (`stage_dims`)."""
        _, _, inner, k, n = self.stage_dims()
        return inner * k * n

    def verify_node(self) -> None:
        stream_type_of(self.lhs, "matmul lhs"), stream_type_of(self.rhs, "matmul rhs")
        a, b = self.lhs.type.get_shape(), self.rhs.type.get_shape()
        out = stream_type_of(self.output, "matmul output").get_shape()
        if len(a) < 2 or len(a) != len(b):
            raise VerifyException(f"matmul '{self.node_name.data}': {a} @ {b} have no common batch dims")
        if (error := self.layout_error()) is not None:
            raise VerifyException(f"matmul '{self.node_name.data}': {error}")
        (la, lb), n = self.logical_shapes(), self.stage_dims()[-1]
        if la[:-2] != lb[:-2] or la[-1] != lb[-2] or tuple(out) != tuple(a[:-1]) + (lb[-1],) or n != lb[-1]:
            raise VerifyException(f"matmul '{self.node_name.data}': {la} @ {lb} does not give {out} in the left operand's order")

    def folding_extents(self) -> dict[str, int]:
        """The inner dim K and the output columns N, as for a linear layer over the buffered rhs."""
        _, _, _, k, n = self.stage_dims()
        return {"coarse_in": k, "coarse_out": n}


@register
class Matmul(NodeKind):
    op = MatmulOp
    hls_headers = ("linear.h",)

    def stream_lanes(self, op: MatmulOp, folding=None) -> tuple[int, int]:
        """The left operand in coarse_in lanes, the output in coarse_out."""
        f = op.folding() if folding is None else folding
        return f["coarse_in"], f["coarse_out"]

    def read_lanes(self, op: MatmulOp, value, folding=None, producer_lanes: int = 1) -> int:
        """The left operand in coarse_in lanes; the right one along its last stream dim: coarse_out
        lanes along N, coarse_in along K (the buffer's banks along each), one along a batch dim."""
        ci, co = self.stream_lanes(op, folding)
        return (1, ci, co)[op.rhs_order()[2]] if value is op.rhs else ci

    def cost(self, op: MatmulOp) -> NodeModel:
        outer, m, inner, k, n = op.stage_dims()
        rows, batch = outer * m * inner, outer * inner
        l_bits, r_bits, a_bits = stream_bits(op.lhs), stream_bits(op.rhs), acc_bits(op)

        def evaluate(folding: Folding) -> NodeCost:
            ci, co = folding
            # each left row is a 1x1 convolution with the buffered right operand as weights (fpgaConvNet
            # inner product): rows*K*N/(ci*co) compute cycles, bounded below by reading both operands
            compute = conv_cycles(rows, 1, k, n, 1, 1, rows, 1, ci, co, 1)
            # linear.h matmul: per block of I batch entries the right operand is loaded (I x K x N words,
            # `read_lanes` a cycle) while the block before computes its rows: two DATAFLOW processes
            # around a ping-pong buffer run at the slower one's rate (UG1399, PIPO buffers)
            lanes = self.read_lanes(op, op.rhs, {"coarse_in": ci, "coarse_out": co})
            load = -(-inner * k * n // lanes)
            block = -(-compute // outer)
            cycles = outer * max(load, block)
            # linear.h matmul: the first output beat is written after the first block's right operand
            # and the first row's K/CI left beats, in its last one
            nb, kb = -(-n // co), -(-k // ci)
            depth = load + (kb - 1) * nb + STAGE_PIPELINE_CYCLES
            mults = conv_multipliers(ci, co, 1)
            # MatmulOp.buffer_words(): I x K x N words of the right operand, ping-pong (two buffers, as
            # above), banked ci x co wide like conv weights (fpgaConvNet weights memory)
            ww, wd = conv_weight_memory(k, inner * n, 1, 1, r_bits, ci, co, 1)
            m_bram, m_lut = array_cost(ww, 2 * wd)
            acc_lut = lutram_luts(a_bits * co, -(-n // co))
            logic = mac_logic(mults, l_bits, r_bits, a_bits) + stage_logic(ci, l_bits)
            # a left row is read once the right operand's first block (1/O of it) is buffered: the
            # left operand's FIFO holds what its producer writes meanwhile (Q while Kᵀ loads)
            fill = 1.0 / max(rows // batch, 1)
            return NodeCost(
                cycles=cycles, depth=depth, fill=fill, input_fills=(fill, 1.0 / outer), preload=load,
                drain=block + (outer - 1) * max(load, block),
                dsp=multiplier_dsp(mults, l_bits, r_bits), bram18=m_bram, uram=0, lut=logic.lut + m_lut + acc_lut,
                ff=logic.ff, out_lanes=self.stream_lanes(op, {"coarse_in": ci, "coarse_out": co})[1], mult_lut=mults * lut_multiplier(l_bits, r_bits),
            )

        return NodeModel(op, node_label(op), op.name, *folding_of(op), evaluate,
                         macs=rows * k * n, macs_per_dsp=macs_per_dsp(l_bits, r_bits), lut_per_mac=lut_multiplier(l_bits, r_bits),
                         adder_lut_per_mac=mac_logic(1, l_bits, r_bits, a_bits).lut)

    @staticmethod
    def _product(op: MatmulOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The operands put in logical order, multiplied, and the result put in the output's order."""
        lp, rp = op.perms()
        return np.transpose(np.matmul(np.transpose(a, np.argsort(lp)), np.transpose(b, np.argsort(rp))), lp)

    def run_float(self, op: MatmulOp, args):
        return (np.ascontiguousarray(self._product(op, *args)).astype(np.float32),)

    def run_fixed(self, op: MatmulOp, args):
        """As conv/linear without bias: exact float64 product, then `acc_format` and T_out."""
        if fixed_of(op.output) is None:
            return self.run_float(op, args)
        a, b = (np.asarray(v, dtype=np.float64) for v in args)
        return (cast_accumulator(op, np.ascontiguousarray(self._product(op, a, b))),)

    def emit_hls(self, em, op: MatmulOp) -> None:
        """One `dfcc::matmul` call (linear.h); fixed point: exact products summed in acc_format (or
        exactly, then cast to a narrower acc_format), as for linear."""
        name = em.stage(op)
        outer, m, inner, k, n = op.stage_dims()
        ci, co = self.stream_lanes(op)
        a = em.read_stream(op.lhs, ci, name)
        b = em.read_stream(op.rhs, self.read_lanes(op, op.rhs), name)
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
        order = ", ".join(map(str, op.rhs_order()))
        em.calls.append(f"dfcc::matmul<{outer}, {m}, {inner}, {k}, {n}, {order}, {ci}, {co}, {types}>"
                        f"({a.name}, {b.name}, {out.name});  // {name}")
