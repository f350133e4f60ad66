"""Graph clean-ups that make a lowered (or rewritten) dataflow graph what hardware should build.

- batch-norm and other per-channel affine maps are folded into the preceding conv/linear weights;
- chains of element-wise maps fuse into one map stage (one pass over the data, one FIFO less);
- reshapes that only regroup size-1 dims collapse, unused weights disappear;
- a transpose of a transpose becomes one transpose (none when they cancel), and a transpose that
  only moves size-1 dims a reshape;
- a stream read by several nodes gets an explicit fork, since each FIFO has exactly one reader;
- a join whose other input is broadcast (a reduction's result: softmax, norms, squeeze-excitation)
  gets a FIFO deep enough on its full-size input to hold what arrives before that result.
"""

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseArrayBase, FloatAttr, ModuleOp, f32, i32
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dfcc.dialects.scalar_body import evaluate_body
from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.dialects.resources import elements_array, make_resource

_AFFINE_OPS = {"arith.addf", "arith.subf", "arith.mulf", "arith.divf", "arith.negf", "arith.constant"}


def _depends_on(block: Block, arg: SSAValue) -> set[SSAValue]:
    dependent = {arg}
    for op in block.ops:
        if any(o in dependent for o in op.operands):
            dependent.update(op.results)
    return dependent


def is_affine_in(block: Block, arg: SSAValue) -> bool:
    """Whether the body computes a*x + b in `arg` (only +, -, x by constants, / of x by constants)."""
    dependent = _depends_on(block, arg)
    for op in block.ops:
        touched = [o in dependent for o in op.operands]
        if not any(touched) or op is block.last_op:
            continue
        if op.name not in _AFFINE_OPS:
            return False
        if op.name == "arith.mulf" and all(touched):
            return False
        if op.name == "arith.divf" and touched[1]:
            return False
    return True


def _channel_vector(array: np.ndarray, channels: int) -> np.ndarray | None:
    """A per-channel vector from a parameter broadcast over the stream (None if it varies elsewhere)."""
    if array.ndim == 0:
        return np.full(channels, array, dtype=np.float32)
    if array.size == channels and array.shape[-1] == channels:
        return array.reshape(channels)
    if array.size == 1:
        return np.full(channels, array.reshape(()), dtype=np.float32)
    return None


class FoldAffineMapIntoWeights(RewritePattern):
    """conv/linear -> map(a*x+b per channel)  ==>  conv/linear with scaled weights and bias."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.MapOp, rewriter: PatternRewriter) -> None:
        if len(op.inputs) != 1 or not isinstance(producer := op.inputs[0].owner, (kinds.ConvOp, kinds.LinearOp)):
            return
        if not producer.output.has_one_use() or not is_affine_in(op.body.block, op.body.block.args[0]):
            return
        channels = producer.output.type.get_shape()[-1]
        params = []
        for param in op.params:
            vector = _channel_vector(elements_array(param.owner.value), channels) if isinstance(param.owner, kinds.WeightsOp) else None
            if vector is None:
                return
            params.append(vector)
        zero, one = (evaluate_body(op.body.block, [np.full(channels, x, np.float32), *params])[0] for x in (0.0, 1.0))
        scale, shift = (one - zero).astype(np.float32), np.broadcast_to(zero, (channels,)).astype(np.float32)
        weights = elements_array(producer.weights.owner.value)
        bias = elements_array(producer.bias.owner.value) if producer.bias is not None else np.zeros(channels, np.float32)
        name = producer.node_name.data
        new_weights = kinds.WeightsOp(make_resource(f"{name}_w", weights * scale.reshape((-1,) + (1,) * (weights.ndim - 1))), f"{name}_w")
        new_bias = kinds.WeightsOp(make_resource(f"{name}_b", bias * scale + shift), f"{name}_b")
        rewriter.insert([new_weights, new_bias], InsertPoint.before(producer))
        producer.operands[1] = new_weights.output
        if producer.bias is not None:
            producer.operands[2] = new_bias.output
        else:
            producer.operands = [*producer.operands, new_bias.output]
        rewriter.replace(op, [], [producer.output])


class FuseMaps(RewritePattern):
    """map -> map (the first read only by the second)  ==>  one map running both bodies."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.MapOp, rewriter: PatternRewriter) -> None:
        for position, value in enumerate(op.inputs):
            producer = value.owner
            if (isinstance(producer, kinds.MapOp) and value.has_one_use()
                    and producer.output.type.get_shape() == op.output.type.get_shape()):
                rewriter.replace(op, fuse_maps(producer, op, position))
                rewriter.erase(producer)
                return


def fuse_maps(first: kinds.MapOp, second: kinds.MapOp, position: int) -> kinds.MapOp:
    """A map computing `second` with its input `position` replaced by `first`'s body."""
    inputs = [*second.inputs[:position], *first.inputs, *second.inputs[position + 1:]]
    params = [*first.params, *second.params]
    block = Block(arg_types=[v.type.element_type for v in inputs] + [p.type.element_type for p in params])
    n_first = len(first.inputs)
    first_args = block.args[position:position + n_first] + block.args[len(inputs):len(inputs) + len(first.params)]
    mapping: dict[SSAValue, SSAValue] = dict(zip(first.body.block.args, first_args))
    for inner in first.body.block.ops:
        if isinstance(inner, kinds.YieldOp):
            first_result = mapping[inner.operands[0]]
        else:
            block.add_op(inner.clone(value_mapper=mapping))
    second_stream_args = block.args[:position] + (first_result,) + block.args[position + n_first:len(inputs)]
    second_param_args = block.args[len(inputs) + len(first.params):]
    mapping = dict(zip(second.body.block.args, (*second_stream_args, *second_param_args)))
    for inner in second.body.block.ops:
        block.add_op(inner.clone(value_mapper=mapping))
    return kinds.MapOp.create(
        operands=[*inputs, *params], result_types=[second.output.type], regions=[Region(block)],
        properties={**second.properties, "operandSegmentSizes": DenseArrayBase.from_list(i32, [len(inputs), len(params)])})


def _rebuild_map(op: kinds.MapOp, inputs: list[SSAValue], params: list[SSAValue], arg_values) -> kinds.MapOp:
    """A copy of `op` over new operands; `arg_values(block)` gives the value each old body arg becomes."""
    block = Block(arg_types=[v.type.element_type for v in inputs] + [p.type.element_type for p in params])
    mapping: dict[SSAValue, SSAValue] = dict(zip(op.body.block.args, arg_values(block)))
    for inner in op.body.block.ops:
        block.add_op(inner.clone(value_mapper=mapping))
    return kinds.MapOp.create(
        operands=[*inputs, *params], result_types=[op.output.type], regions=[Region(block)],
        properties={**op.properties, "operandSegmentSizes": DenseArrayBase.from_list(i32, [len(inputs), len(params)])})


class DedupMapInputs(RewritePattern):
    """map(%a, %a)  ==>  map(%a): one FIFO read serves every use of the same stream in the body."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.MapOp, rewriter: PatternRewriter) -> None:
        inputs = list(op.inputs)
        unique = list(dict.fromkeys(inputs))
        if len(unique) == len(inputs):
            return
        params = list(op.params)
        rewriter.replace(op, _rebuild_map(op, unique, params, lambda block: [
            *(block.args[unique.index(v)] for v in inputs), *block.args[len(unique):]]))


class InlineScalarParams(RewritePattern):
    """A single-number parameter becomes a constant in the body: no memory, no extra port."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.MapOp, rewriter: PatternRewriter) -> None:
        scalars = [p for p in op.params if isinstance(p.owner, kinds.WeightsOp) and elements_array(p.owner.value).size == 1]
        if not scalars:
            return
        kept = [p for p in op.params if p not in scalars]
        constants = {p: arith.ConstantOp(FloatAttr(float(elements_array(p.owner.value).reshape(())), f32)) for p in scalars}

        def arg_values(block: Block) -> list[SSAValue]:
            for constant in constants.values():
                block.add_op(constant)
            kept_args = iter(block.args[len(op.inputs):])
            return [*block.args[:len(op.inputs)], *(constants[p].result if p in constants else next(kept_args) for p in op.params)]

        rewriter.replace(op, _rebuild_map(op, list(op.inputs), kept, arg_values))


class CollapseReshapes(RewritePattern):
    """reshape -> reshape  ==>  one reshape; a reshape to its own shape disappears."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.ReshapeOp, rewriter: PatternRewriter) -> None:
        if op.input.type.get_shape() == op.output.type.get_shape():
            rewriter.replace(op, [], [op.input])
        elif isinstance(inner := op.input.owner, kinds.ReshapeOp) and op.input.has_one_use():
            op.operands[0] = inner.input
            rewriter.erase(inner)


class FoldTransposes(RewritePattern):
    """transpose -> transpose  ==>  one transpose, or none when they undo each other; a transpose
    that only moves size-1 dims (same element order)  ==>  a reshape, which buffers nothing."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.TransposeOp, rewriter: PatternRewriter) -> None:
        if len(op.moved_dim_groups()) <= 1:
            rewriter.replace(op, kinds.ReshapeOp(op.input, op.output.type.get_shape(), op.node_name.data))
            return
        inner = op.input.owner
        if not isinstance(inner, kinds.TransposeOp):
            return
        inner_perm = inner.ints_prop("perm")
        perm = [inner_perm[p] for p in op.ints_prop("perm")]
        if perm == list(range(len(perm))):
            rewriter.replace(op, [], [inner.input])
        else:
            rewriter.replace(op, kinds.TransposeOp(inner.input, perm, op.node_name.data))
        if not inner.output.uses:
            rewriter.erase(inner)


class EraseUnusedWeights(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.WeightsOp, rewriter: PatternRewriter) -> None:
        if not op.output.uses:
            rewriter.erase(op)


def insert_forks(module: ModuleOp) -> None:
    """Give every stream read by more than one node a fork with one output per reader."""
    names = {op.node_name.data for op in module.walk() if isinstance(op, df.NodeOp)}
    counter = 0
    for op in list(module.walk()):
        for result in op.results:
            if not isinstance(result.type, df.StreamType) or result.uses.get_length() < 2:
                continue
            while f"fork{counter}" in names:
                counter += 1
            uses = sorted(result.uses, key=lambda use: (_position(use.operation), use.index))
            fork = kinds.ForkOp(result, len(uses), f"fork{counter}")
            names.add(f"fork{counter}")
            Rewriter.insert_op(fork, InsertPoint.after(op))
            for use, output in zip(uses, fork.outputs):
                use.operation.operands[use.index] = output


def _position(op: Operation) -> int:
    block = op.parent_block()
    return block.get_operation_index(op) if block else 0


def join_buffer_words(op: kinds.MapOp, value: SSAValue) -> int:
    """Words the full-size input `value` of a join must buffer until its broadcast inputs arrive.

    A broadcast input (e.g. a mean over H, W, or over the last dim) is one element per slice of the
    output; the slice's elements, from the first broadcast stream dim inwards, stream in before it.
    """
    shape = value.type.get_shape()
    words = 0
    for other in op.inputs:
        other_shape = other.type.get_shape()
        other_shape = (1,) * (len(shape) - len(other_shape)) + other_shape
        first = next((i for i, (a, b) in enumerate(zip(shape, other_shape)) if b == 1 and a != 1), None)
        if first is not None:
            size = 1
            for d in shape[first:]:
                size *= d
            words = max(words, size)
    return words


def set_join_depths(module: ModuleOp) -> None:
    """Make the buffering of broadcast joins explicit as FIFO depth on their full-size inputs."""
    for op in list(module.walk()):
        if not isinstance(op, kinds.MapOp) or len(op.inputs) < 2:
            continue
        for value in list(op.inputs):
            words = join_buffer_words(op, value)
            if value.type.get_shape() == op.output.type.get_shape() and words + 2 > value.type.depth.data:
                Rewriter.replace_value_with_new_type(value, value.type.with_depth(words + 2))


@dataclass(frozen=True)
class DataflowCleanup(ModulePass):
    """`dataflow-cleanup`: the clean-ups below as a pipeline pass (lower-to-dataflow also runs them)."""

    name = "dataflow-cleanup"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        dataflow_cleanup(op)


def dataflow_cleanup(module: ModuleOp) -> None:
    """Fold, fuse and tidy the graph, then make fan-out explicit."""
    PatternRewriteWalker(GreedyRewritePatternApplier([
        InlineScalarParams(), DedupMapInputs(), FoldAffineMapIntoWeights(), FuseMaps(), FoldTransposes(),
        CollapseReshapes(), EraseUnusedWeights(),
    ])).rewrite_module(module)
    PatternRewriteWalker(EraseUnusedWeights()).rewrite_module(module)
    insert_forks(module)
    set_join_depths(module)
