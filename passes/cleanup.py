"""Graph clean-ups that make a lowered (or rewritten) dataflow graph what hardware should build.

- batch-norm and other per-channel affine maps are folded into the preceding conv/linear weights (an
  affine head f(a*x + b) of a map too: a*x + b folds, f stays);
- one no conv precedes (DenseNet's BN -> ReLU -> conv on a concat) moves its scale a into the convs or
  linears reading it when f is positively homogeneous (ReLU) and a > 0: f(a*x + b) = a*f(x + b/a), no
  product left in the map; else it is written x * scale + shift, one product a lane;
- chains of element-wise maps fuse into one map stage (one pass over the data, one FIFO less);
- reshapes that only regroup size-1 dims collapse, unused weights disappear;
- a transpose of a transpose becomes one transpose (none when they cancel), and a transpose that
  only moves size-1 dims a reshape;
- a stream read by several nodes gets an explicit fork, since each FIFO has exactly one reader;
- a join whose other input is broadcast (a reduction's result: softmax, norms, squeeze-excitation)
  gets a FIFO deep enough on its full-size input to hold what arrives before that result.
"""

import math
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

from dfcc.dialects.fixed_point import fixed_of
from dfcc.dialects.scalar_body import constant_value, evaluate_ops
from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.dialects.resources import elements_array, make_resource

_AFFINE_OPS = {"arith.addf", "arith.subf", "arith.mulf", "arith.divf", "arith.negf"}
_MUL_DIV = {"arith.mulf", "arith.divf"}


@dataclass
class AffineHead:
    """The value `head` = scale * x + shift (per channel) through which a map's body reads its stream x.

    The ops computing it from x add, subtract, negate, multiply by or divide by values not depending on x;
    `dead` are those and the parameter-only ops nothing else reads, which a rewrite of the head drops;
    `rest` the body's other ops, which read x only through `head`.
    """

    op: kinds.MapOp
    head: SSAValue
    dead: list[Operation]
    rest: list[Operation]
    scale: np.ndarray
    shift: np.ndarray

    @property
    def products(self) -> int:
        return sum(o.name in _MUL_DIV for o in self.dead)


def _head_value(block: Block, arg: SSAValue) -> tuple[SSAValue | None, list[Operation]]:
    """The one value affine in `arg` that the rest of the body reads (None if it reads several), and the
    ops computing the values affine in `arg`."""
    affine, ops = {arg}, []
    for op in block.ops:
        touched = [o in affine for o in op.operands]
        if not any(touched) or op is block.last_op or op.name not in _AFFINE_OPS:
            continue
        if (op.name == "arith.mulf" and all(touched)) or (op.name == "arith.divf" and touched[1]):
            continue
        affine.update(op.results)
        ops.append(op)
    read = {o for op in block.ops if op not in ops for o in op.operands if o in affine}
    return (read.pop() if len(read) == 1 else None), ops


def _channel_vector(param: SSAValue, channels: int) -> np.ndarray | None:
    """A float parameter broadcast over the stream as a per-channel float64 vector (None if it varies
    along another dim, or is not a float weights op)."""
    owner, shape = param.owner, param.type.get_shape()
    if not isinstance(owner, kinds.WeightsOp) or owner.format is not None:
        return None
    if math.prod(shape) not in (1, channels) or (math.prod(shape) == channels and shape[-1] != channels):
        return None
    return np.broadcast_to(np.asarray(elements_array(owner.value), np.float64).reshape(-1), (channels,))


def affine_head(op: kinds.MapOp) -> AffineHead | None:
    """The affine head of a float map of one stream whose parameters are per-channel weights (None if any
    of that does not hold); scale and shift are evaluated in float64 from the parameters."""
    block = op.body.block
    if len(op.inputs) != 1 or fixed_of(op.output) is not None or fixed_of(op.inputs[0]) is not None:
        return None
    shape = op.output.type.get_shape()
    channels = shape[-1]
    params = [_channel_vector(p, channels) for p in op.params]
    if op.inputs[0].type.get_shape() != shape or any(p is None for p in params):
        return None
    head, ops = _head_value(block, block.args[0])
    if head is None:
        return None
    body = list(block.ops)
    upto = body[:body.index(head.owner) + 1] if isinstance(head.owner, Operation) else []
    at = [evaluate_ops(upto, dict(zip(block.args, [np.full(channels, x), *params])))[head] for x in (0.0, 1.0)]
    scale, shift = (np.broadcast_to(np.asarray(v, np.float64), (channels,)) for v in (at[1] - at[0], at[0]))
    if not (np.all(np.isfinite(scale)) and np.all(np.isfinite(shift))):
        return None
    live, rest = {*block.last_op.operands}, []
    for inner in reversed(body[:-1]):
        if inner not in ops and any(r in live for r in inner.results):
            live.update(inner.operands)
            rest.insert(0, inner)
    return AffineHead(op, head, [o for o in body[:-1] if o not in rest], rest, scale, shift)


def _coefficient(values: np.ndarray, name: str, block: Block) -> tuple[SSAValue, list[kinds.WeightsOp]]:
    """A coefficient in a body: a constant when every channel shares it, else a new block argument for a
    new per-channel parameter (returned to be the map's operand)."""
    if np.all(values == values[0]):
        constant = arith.ConstantOp(FloatAttr(float(values[0]), f32))
        block.add_op(constant)
        return constant.result, []
    param = kinds.WeightsOp(make_resource(name, values), name)
    return block.insert_arg(param.output.type.element_type, len(block.args)), [param]


def rewrite_head(affine: AffineHead, scale: np.ndarray, shift: np.ndarray, rewriter: PatternRewriter) -> None:
    """Replace the map's affine head by x * scale + shift (stored as float32; no product where scale is 1,
    no sum where shift is 0; the map disappears when nothing else is left)."""
    op, block = affine.op, affine.op.body.block
    x = op.inputs[0]
    scale, shift = scale.astype(np.float32), shift.astype(np.float32)
    if not affine.rest and np.all(scale == 1) and np.all(shift == 0):
        rewriter.replace(op, [], [x])
        return
    kept = [(p, a) for p, a in zip(op.params, block.args[1:]) if any(a in o.operands for o in affine.rest)]
    new = Block(arg_types=[x.type.element_type] + [p.type.element_type for p, _ in kept])
    mapping: dict[SSAValue, SSAValue] = dict(zip([a for _, a in kept], new.args[1:]))
    value, weights = new.args[0], []
    for coefficient, make, identity, role in ((scale, arith.MulfOp, 1, "scale"), (shift, arith.AddfOp, 0, "shift")):
        if np.any(coefficient != identity):
            operand, params = _coefficient(coefficient, f"{op.node_name.data}_{role}", new)
            weights += params
            new.add_op(step := make(value, operand))
            value = step.result
    mapping[affine.head] = value
    for inner in [*affine.rest, block.last_op]:
        new.add_op(inner.clone(value_mapper=mapping))
    rewriter.insert(weights, InsertPoint.before(op))
    rewriter.replace(op, _new_map(op, [x], [p for p, _ in kept] + [w.output for w in weights], new))


def _new_map(like: kinds.MapOp, inputs: list[SSAValue], params: list[SSAValue], block: Block) -> kinds.MapOp:
    """A map with `like`'s name, type and attributes over new operands and body."""
    return kinds.MapOp.create(
        operands=[*inputs, *params], result_types=[like.output.type], regions=[Region(block)],
        properties={**like.properties, "operandSegmentSizes": DenseArrayBase.from_list(i32, [len(inputs), len(params)])})


class FoldAffineMapIntoWeights(RewritePattern):
    """conv/linear -> map(f(a*x+b) per channel)  ==>  conv/linear with scaled weights and bias -> map(f(x))
    (no map at all when f is the identity: a batch norm after its conv)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.MapOp, rewriter: PatternRewriter) -> None:
        if len(op.inputs) != 1 or not isinstance(producer := op.inputs[0].owner, (kinds.ConvOp, kinds.LinearOp)):
            return
        if not producer.output.has_one_use() or (affine := affine_head(op)) is None or affine.head is op.body.block.args[0]:
            return
        if not all(_float_weights(v) for v in (producer.weights, producer.bias) if v is not None):
            return
        scale, shift = affine.scale, affine.shift
        weights = np.asarray(elements_array(producer.weights.owner.value), np.float64)
        bias = np.asarray(elements_array(producer.bias.owner.value), np.float64) if producer.bias is not None else 0.0
        name = producer.node_name.data
        new_weights = kinds.WeightsOp(make_resource(f"{name}_w", weights * scale.reshape((-1,) + (1,) * (weights.ndim - 1))), f"{name}_w")
        new_bias = kinds.WeightsOp(make_resource(f"{name}_b", bias * scale + shift), f"{name}_b")
        rewriter.insert([new_weights, new_bias], InsertPoint.before(producer))
        producer.operands[1] = new_weights.output
        if producer.bias is not None:
            producer.operands[2] = new_bias.output
        else:
            producer.operands = [*producer.operands, new_bias.output]
        rewrite_head(affine, np.ones_like(scale), np.zeros_like(shift), rewriter)


def _float_weights(value: SSAValue) -> bool:
    """Whether `value` is a weights op's float numbers (not yet given a fixed-point format)."""
    return isinstance(value.owner, kinds.WeightsOp) and value.owner.format is None


class CanonicalizeAffineHead(RewritePattern):
    """map(f((x - mean) * invstd * gamma + beta))  ==>  map(f(x * scale + shift)), the coefficients folded in
    float64: one product a lane instead of several, where no conv precedes to fold into (DenseNet's batch
    norms after a concat). A head with no more products ((x - m) * s, x / 64 + eps) stays as written."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.MapOp, rewriter: PatternRewriter) -> None:
        if (affine := affine_head(op)) is None or affine.products <= int(np.any(affine.scale.astype(np.float32) != 1)):
            return
        rewrite_head(affine, affine.scale, affine.shift, rewriter)


class MoveScaleIntoConsumers(RewritePattern):
    """map(f(a*x + b)) -> convs/linears, f positively homogeneous, every a > 0  ==>  map(f(x + b/a)) -> the
    convs/linears with their weights scaled by a per input channel, as f(a*y) = a*f(y) for a > 0 (ReLU, leaky
    ReLU, max/min with 0) and a conv's zero padding stays zero: the map needs no multiplier. Between the map
    and them may be nodes that commute with a positive per-channel scale (`_channel_scaled_readers`: a
    DenseNet's last norm -> ReLU -> global average pool -> linear). Any a <= 0, or another reader (a concat,
    an output), and the map keeps its scale."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: kinds.MapOp, rewriter: PatternRewriter) -> None:
        if (affine := affine_head(op)) is None or not affine.products or not np.all(affine.scale > 0):
            return
        if not (readers := _channel_scaled_readers(op.output)):
            return
        if not _positively_homogeneous(op.body.block, affine.head, affine.rest):
            return
        for consumer in readers:
            _scale_input_channels(consumer, affine.scale, rewriter)
        rewrite_head(affine, np.ones_like(affine.scale), affine.shift / affine.scale, rewriter)


def _channel_scaled_readers(value: SSAValue) -> list[kinds.ConvOp | kinds.LinearOp] | None:
    """The convs and linears reading `value`, directly or through nodes that commute with a positive scale
    per channel (max and sum pools, reductions over other dims, reshapes keeping the channel dim, maps of one
    stream positively homogeneous in it); None if any other node reads it on the way."""
    readers: list[kinds.ConvOp | kinds.LinearOp] = []
    for use in value.uses:
        node = use.operation
        if isinstance(node, (kinds.ConvOp, kinds.LinearOp)) and use.index == 0 and _float_weights(node.weights):
            readers.append(node)
            continue
        channels_kept = (
            isinstance(node, kinds.PoolOp)
            or (isinstance(node, kinds.ReduceOp) and len(value.type.get_shape()) - 1 not in node.ints_prop("dims"))
            or (isinstance(node, kinds.ReshapeOp) and node.output.type.get_shape()[-1] == value.type.get_shape()[-1])
            or (isinstance(node, kinds.MapOp) and len(node.inputs) == 1 and fixed_of(node.output) is None
                and _positively_homogeneous(node.body.block, node.body.block.args[0], list(node.body.block.ops)[:-1])))
        if not channels_kept or (further := _channel_scaled_readers(node.output)) is None:
            return None
        readers += further
    return list(dict.fromkeys(readers))


def _is_zero(value: SSAValue) -> bool:
    owner = value.owner
    return isinstance(owner, arith.ConstantOp) and float(constant_value(owner)) == 0.0


def _positively_homogeneous(block: Block, head: SSAValue, rest: list[Operation]) -> bool:
    """Whether `rest` computes the block's result as f(head) with f(a*y) = a*f(y) for every a > 0: from the
    head, zeros, sums, max/min, products and quotients by values not depending on it, and selects on
    comparisons of such values (a comparison's outcome does not change when both sides scale by a > 0)."""
    scaled, signs = {head}, set()
    for inner in rest:
        operands = list(inner.operands)
        if not any(o in scaled or o in signs for o in operands):
            continue
        like = [o in scaled or _is_zero(o) for o in operands]
        free = [o not in scaled and o not in signs for o in operands]
        name = inner.name
        if name == "arith.negf" or (name in _HOMOGENEOUS_BINARY and all(like)):
            scaled.update(inner.results)
        elif name == "arith.mulf" and any(free) and any(like):
            scaled.update(inner.results)
        elif name == "arith.divf" and like[0] and free[1]:
            scaled.update(inner.results)
        elif name == "arith.cmpf" and all(like):
            signs.update(inner.results)
        elif name == "arith.select" and (operands[0] in signs or free[0]) and all(like[1:]):
            scaled.update(inner.results)
        else:
            return False
    return block.last_op.operands[0] in scaled


_HOMOGENEOUS_BINARY = {"arith.addf", "arith.subf", "arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf"}


def _scale_input_channels(consumer: kinds.ConvOp | kinds.LinearOp, scale: np.ndarray, rewriter: PatternRewriter) -> None:
    """Multiply the weights `consumer` applies to input channel c by scale[c] (a new weights op: another node
    may read the old one)."""
    weights = np.asarray(elements_array(consumer.weights.owner.value), np.float64)
    if isinstance(consumer, kinds.ConvOp):  # F x C/groups x Kr x Kc: filter f of group g reads channels g*C/groups + j
        filters, per_group = weights.shape[:2]
        group = np.arange(filters) // (filters // consumer.groups.value.data)
        factor = scale[group[:, None] * per_group + np.arange(per_group)].reshape(filters, per_group, 1, 1)
    else:  # F x C
        factor = scale.reshape(1, -1)
    name = consumer.node_name.data
    new_weights = kinds.WeightsOp(make_resource(f"{name}_w", weights * factor), f"{name}_w")
    rewriter.insert(new_weights, InsertPoint.before(consumer))
    consumer.operands[1] = new_weights.output


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
    return _new_map(second, inputs, params, block)


def _rebuild_map(op: kinds.MapOp, inputs: list[SSAValue], params: list[SSAValue], arg_values) -> kinds.MapOp:
    """A copy of `op` over new operands; `arg_values(block)` gives the value each old body arg becomes."""
    block = Block(arg_types=[v.type.element_type for v in inputs] + [p.type.element_type for p in params])
    mapping: dict[SSAValue, SSAValue] = dict(zip(op.body.block.args, arg_values(block)))
    for inner in op.body.block.ops:
        block.add_op(inner.clone(value_mapper=mapping))
    return _new_map(op, inputs, params, block)


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
    # after fusion, so the activation a batch norm's scale must pass is in the same map
    PatternRewriteWalker(GreedyRewritePatternApplier([MoveScaleIntoConsumers(), CanonicalizeAffineHead()])).rewrite_module(module)
    PatternRewriteWalker(EraseUnusedWeights()).rewrite_module(module)
    insert_forks(module)
    set_join_depths(module)
