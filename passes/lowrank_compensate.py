"""`lowrank-compensate`: low-bit weights plus a low-rank branch that compensates their error (ITERA-LLM).

    lowrank-compensate{weight-bits=4 rank=8 iterations=5 factor-bits=8 nodes=linear*}

ITERA-LLM (arXiv 2505.08981) approximates a weight W by Q(W) + Q(U)Q(V): sub-8-bit weights plus
low-rank factors, found iteratively, of the quantization error. The paper's loop, factor
precision and iteration count are not public; ours is LoftQ-style (our choice):

    R <- W;  repeat T times:  Q <- q_b(R);  U, V <- SVD_r(W - Q) with sqrt(S) each;
                              U, V <- q_f(U), q_f(V);  R <- W - U V

q_b rounds to the grid `quantize{weight-bits=b}` itself gives (per tensor, round to nearest,
saturate), iterated to its fixed point, so quantizing the result again changes nothing. Hardware:
the node's input forks into the main node (weights Q) and a branch of two nodes (conv: the node's
KxK window C -> r, then 1x1 r -> F; linear: C -> r -> F) whose output an add map joins to the
main path. Follow with `quantize{weight-bits=F override=NODE:wB,...}` (the pass prints the
override for the nodes it rewrote): the main nodes get b bits, the factors F (= factor-bits).

Each node records its role: the main node `dataflow.compensation = {weight_bits, rank,
iterations, error}` (error: ||W - Q - UV|| / ||W||), the branch nodes `dataflow.decomposition =
{method = "itera", rank, source, factor}`. Nodes: every conv and linear (`nodes=GLOB` selects).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseArrayBase, DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, StringAttr, f64, i32, i64
from xdsl.ir import Block, Region
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dfcc.dialects import fixed_point as fx
from dfcc import kinds
from dfcc.dialects.resources import make_resource
from dfcc.errors import DfccError, remark
from dfcc.passes.cleanup import insert_forks
from dfcc.passes.decompose import Layer, build_node, dataflow_functions, layer_names, node_names, unique_name
from dfcc.passes.lowrank import Factor, Geometry
from dfcc.passes.quantize import MAX_BITS, MIN_BITS, fixed_for

COMPENSATION_ATTR = "dataflow.compensation"


def quantize_grid(weights: np.ndarray, bits: int) -> np.ndarray:
    """`weights` on the grid quantize{weight-bits=bits} gives it, at a fixed point of that rounding
    (a narrower range after rounding can select a finer format: repeat until nothing moves)."""
    values = weights.astype(np.float64)
    for _ in range(8):
        fmt = fixed_for(float(values.min()), float(values.max()), bits, True, "rnd", "sat")
        rounded = fx.cast_weights(values, fmt)
        if np.array_equal(rounded, values):
            break
        values = rounded
    return values


@dataclass
class Compensation:
    main: np.ndarray  # Q, as the layer's weight matrix (F x C*Kr*Kc)
    u: np.ndarray  # F x r
    v: np.ndarray  # r x C*Kr*Kc
    error: float  # ||W - Q - UV|| / ||W|| of the iterate kept (the best one)
    errors: list[float]  # the same after each iteration
    plain_error: float  # ||W - q_b(W)|| / ||W||: quantization alone


def compensate(matrix: np.ndarray, bits: int, rank: int, iterations: int, factor_bits: int) -> Compensation:
    """The LoftQ-style loop of the module doc on a weight matrix W (F x C*Kr*Kc), keeping its best iterate:
    the loop is not monotone (the per-tensor grid of q_b(W - UV) can be coarser than that of W)."""
    w = matrix.astype(np.float64)
    norm = max(np.linalg.norm(w), 1e-30)
    residual_target = w
    errors, best = [], None
    for _ in range(iterations):
        q = quantize_grid(residual_target, bits)
        left, s, right = np.linalg.svd(w - q, full_matrices=False)
        root = np.sqrt(s[:rank])
        u = quantize_grid(left[:, :rank] * root, factor_bits)
        v = quantize_grid(root[:, None] * right[:rank], factor_bits)
        residual_target = w - u @ v
        errors.append(float(np.linalg.norm(w - q - u @ v) / norm))
        if best is None or errors[-1] < best[0]:
            best = (errors[-1], q, u, v)
    plain_error = float(np.linalg.norm(w - quantize_grid(w, bits)) / norm)
    error, q, u, v = best
    return Compensation(q, u, v, error, errors, plain_error)


def add_map(lhs, rhs, name: str) -> kinds.MapOp:
    """A two-input map adding its streams (the join of the main path and the branch)."""
    block = Block(arg_types=[lhs.type.element_type, rhs.type.element_type])
    total = arith.AddfOp(block.args[0], block.args[1])
    block.add_ops([total, kinds.YieldOp(total.result)])
    return kinds.MapOp.create(operands=[lhs, rhs], result_types=[lhs.type], regions=[Region(block)],
                           properties={"name": StringAttr(name), "operandSegmentSizes": DenseArrayBase.from_list(i32, [2, 0])})


@dataclass(frozen=True)
class LowrankCompensate(ModulePass):
    """Quantized weights plus a low-rank compensation branch (module doc)."""

    name = "lowrank-compensate"

    weight_bits: int = 4
    rank: int = 4
    iterations: int = 5
    factor_bits: int = 8
    nodes: str = "*"

    def __post_init__(self) -> None:
        for option, bits in (("weight-bits", self.weight_bits), ("factor-bits", self.factor_bits)):
            if not MIN_BITS <= bits <= MAX_BITS:
                raise DfccError(f"lowrank-compensate: {option}={bits} must be in {MIN_BITS}..{MAX_BITS}")
        if self.rank < 1 or self.iterations < 1:
            raise DfccError(f"lowrank-compensate: rank={self.rank} and iterations={self.iterations} must be at least 1")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        dataflow_functions(op, self.name)
        names = layer_names(op)
        if not any(fnmatch.fnmatchcase(n, self.nodes) for n in names):
            raise DfccError(f"nodes={self.nodes} matches no conv or linear node (they are: {', '.join(sorted(names))})", self.name)
        taken = node_names(op)
        rewritten = []
        for node in [o for o in op.walk() if isinstance(o, (kinds.ConvOp, kinds.LinearOp)) and fnmatch.fnmatchcase(o.node_name.data, self.nodes)]:
            if isinstance(node, kinds.ConvOp) and node.groups.value.data != 1:
                continue  # a grouped conv's weight is not one matrix
            rewritten.append(self._rewrite(Layer.of(node), taken))
        insert_forks(op)
        if rewritten:
            remark(origin=self.name, message=f"quantize the main nodes at {self.weight_bits} bits and the factors at {self.factor_bits}: "
                   f"quantize{{weight-bits={self.factor_bits} override={','.join(f'{n}:w{self.weight_bits}' for n in rewritten)}}}")

    def _rewrite(self, layer: Layer, taken: set[str]) -> str:
        node = layer.op
        shape = layer.weights.shape
        rank = min(self.rank, shape[0], int(np.prod(shape[1:])))
        result = compensate(layer.weights.reshape(shape[0], -1), self.weight_bits, rank, self.iterations, self.factor_bits)
        name = layer.name
        main = kinds.WeightsOp(make_resource(f"{name}_wq", result.main.reshape(shape)), f"{name}_wq")
        Rewriter.insert_op(main, InsertPoint.before(node))
        old = node.weights.owner
        node.operands[1] = main.output
        if not old.output.uses:
            Rewriter.erase_op(old)
        node.attributes[COMPENSATION_ATTR] = DictionaryAttr({
            "weight_bits": IntegerAttr(self.weight_bits, i64), "rank": IntegerAttr(rank, i64),
            "iterations": IntegerAttr(self.iterations, i64), "error": FloatAttr(result.error, f64)})
        if isinstance(node, kinds.LinearOp):
            factors = [Factor(result.v.astype(np.float32), None), Factor(result.u.astype(np.float32), None)]
        else:
            f, c, kr, kc = shape
            factors = [Factor(result.v.reshape(rank, c, kr, kc).astype(np.float32), None, layer.geometry),
                       Factor(result.u[:, :, None, None].astype(np.float32), None, Geometry())]
        value = node.input
        for index, factor in enumerate(factors):
            value = build_node(node, value, factor, f"{name}_lr{index}", taken,
                               {"method": StringAttr("itera"), "rank": IntegerAttr(rank, i64),
                                "groups": IntegerAttr(1, i64), "source": StringAttr(name), "factor": IntegerAttr(index, i64)})
        join = add_map(node.output, value, unique_name(f"{name}_add", taken))
        Rewriter.insert_op(join, InsertPoint.after(node))  # the branch sits before the main node
        node.output.replace_uses_with_if(join.output, lambda use: use.operation is not join)
        remark(origin=self.name, message=f"{name}: weight error at W{self.weight_bits} alone {result.plain_error:.3g}, with rank {rank} "
               f"compensation {result.error:.3g} (per iteration: {', '.join(f'{e:.3g}' for e in result.errors)})")
        return name
