"""Element-wise linalg.generic -> `dataflow.map`: its scalar body kept as the node's region,
constant operands and index-computed terms as parameters."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.builtin import (
    AnyFloat, DenseArrayBase, Float32Type, IntegerType, i1, FloatAttr, IntegerAttr, StringAttr, i32,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr

from dfcc.dialects.scalar_body import INDEXING_OPS, evaluate_ops
from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.errors import DfccError
from dfcc.passes.lowering.core import Act, Gathered, Grouped, Lowering, Padded, default_perm, location
from dfcc.passes.lowering.loops import loop_aligned, loop_indices, loop_shape_of, outer_scalar, param_array


def _float_constant(block: Block, value: float) -> SSAValue:
    constant = arith.ConstantOp(FloatAttr(value, Float32Type()))
    block.add_op(constant)
    return constant.result


def select_constants(block: Block, condition: SSAValue, if_true: float, if_false: float) -> SSAValue:
    a, b = _float_constant(block, if_true), _float_constant(block, if_false)
    select = arith.SelectOp(condition, a, b)
    block.add_op(select)
    return select.result


def compare_constant(block: Block, x: SSAValue, predicate: str, value: float) -> SSAValue:
    compare = arith.CmpfOp(x, _float_constant(block, value), predicate)
    block.add_op(compare)
    return compare.result


def lower_map(lw: Lowering, op: linalg.GenericOp) -> None:
    """An element-wise generic as a map node over its activation inputs, constants as parameters."""
    loop_shape = loop_shape_of(op)
    maps = [m.data for m in op.indexing_maps.data]
    out_map = maps[-1]
    if [e.position if isinstance(e, AffineDimExpr) else None for e in out_map.results] != list(range(len(loop_shape))):
        lw.reject(op, name="linalg.generic (non-identity output map)")
        return
    out_shape = op.results[0].type.get_shape()
    acts = [(i, lw.act(v, op)) for i, v in enumerate(op.inputs) if isinstance(lw.values.get(v), (Act, Padded, Gathered, Grouped))]
    full = [a for _, a in acts if a.shape == out_shape]
    if full:
        perm = full[0].perm
    else:  # every input broadcast: each put in the loop's rank first, the order chosen from them
        acts = [(i, _aligned(lw, op, a, maps[i], loop_shape)) for i, a in acts]
        perm = _broadcast_order([a for _, a in acts], out_shape)
    streams, params, arg_order = [], [], []
    for index, act in acts:
        act = lw.relayout(_aligned(lw, op, act, maps[index], loop_shape), perm)
        streams.append(act.stream)
        arg_order.append(index)
    param_indices = [i for i, v in enumerate(op.inputs) if isinstance(lw.values.get(v), np.ndarray)]
    body_block = op.body.block
    out_arg = body_block.args[len(op.inputs)]
    if out_arg.uses:
        param_indices.append(len(op.inputs))
    operand_values = list(op.inputs) + list(op.outputs)
    folded, skipped = _fold_index_terms(lw, op, [i for i, _ in acts], loop_shape)
    for index in param_indices:
        array = loop_aligned(lw.const(operand_values[index], op), maps[index], loop_shape, op)
        if isinstance(body_block.args[index].type, AnyFloat):
            params.append(lw.weights(param_array(array, perm), lw.fresh("param")))
            arg_order.append(index)
        else:  # integer or i1 (masks): a float parameter converted back in the body, like folded values
            folded[body_block.args[index]] = _exact_float(array, op)
    for array in folded.values():
        params.append(lw.weights(param_array(array, perm), lw.fresh("param")))
    name = lw.fresh("map")
    block = _clone_body(lw, body_block, arg_order, op, list(folded), skipped)
    out_type = df.StreamType([out_shape[p] for p in perm], op.results[0].type.get_element_type())
    node = kinds.MapOp.create(
        operands=[*streams, *params], result_types=[out_type], regions=[Region(block)],
        properties={"name": StringAttr(name), "operandSegmentSizes": DenseArrayBase.from_list(i32, [len(streams), len(params)])})
    lw.emit(node)
    lw.values[op.results[0]] = Act(node.output, out_shape, perm)


def _aligned(lw: Lowering, op: linalg.GenericOp, act: Act, indexing_map, loop_shape) -> Act:
    """`act` reshaped to the loop's rank as its indexing map reads it (unchanged if it already is)."""
    aligned = loop_aligned(act.shape, indexing_map, loop_shape, op)
    return lw.reshape(act, aligned) if aligned != act.shape else act


def _broadcast_order(acts: list[Act], out_shape) -> tuple[int, ...]:
    """Stream order of a map whose every input is broadcast (an expand): the default one, unless the
    largest input would need a transpose to it; then that input's order, each broadcast dim placed
    right after the dim logically before it, so the map repeats the fewest words (LLaMA's K/V heads
    repeated for grouped-query attention stay token-major: a head's row, not all its tokens)."""
    perm = default_perm(len(out_shape))
    act = max(acts, key=lambda a: int(np.prod(a.shape)))
    order = [d for d in act.perm if act.shape[d] != 1]
    if order == [d for d in perm if act.shape[d] != 1]:
        return perm
    for d in sorted(set(range(len(out_shape))) - set(order)):
        order.insert(order.index(d - 1) + 1 if d - 1 in order else 0, d)
    return tuple(order)


def _fold_index_terms(lw: Lowering, op: linalg.GenericOp, stream_inputs: list[int],
                      loop_shape) -> tuple[dict[SSAValue, np.ndarray], set[Operation]]:
    """Values of the body computed from loop indices (not from streams), folded over the loop space.

    Average pooling with ceil_mode or count_include_pad=False divides by a window count that
    torch-mlir computes from `linalg.index`; it becomes a constant parameter of the map. Returns
    each folded value the rest of the body reads (as a float32 array aligned with the loop) and
    the ops computing them.
    """
    body = op.body.block
    streamed = {body.args[i] for i in stream_inputs}
    folded_ops, defined = [], set()
    if not any(inner.name == "linalg.index" for inner in body.ops):
        return {}, set()
    for inner in list(body.ops)[:-1]:
        if any(v in streamed for v in inner.operands):
            streamed.update(inner.results)
        elif inner.name == "linalg.index" or any(v in defined for v in inner.operands):
            folded_ops.append(inner)
            defined.update(inner.results)
    maps = [m.data for m in op.indexing_maps.data]
    operand_values = [*op.inputs, *op.outputs]
    env = {arg: loop_aligned(lw.values[v], m, loop_shape, op)
           for arg, v, m in zip(body.args, operand_values, maps) if arg not in streamed and arg.uses}
    outer = outer_scalar(lw, op, tensors=True)
    for inner in folded_ops:
        for v in inner.operands:
            if v not in env and v not in defined:
                env[v] = outer(v)
    evaluate_ops(folded_ops, env, loop_indices(loop_shape))
    folded = {}
    for value in sorted(defined, key=lambda v: folded_ops.index(v.owner)):
        if any(use.operation not in folded_ops for use in value.uses):
            array = np.asarray(env[value])
            array = array.reshape(array.shape if array.ndim == len(loop_shape) else (1,) * len(loop_shape))
            folded[value] = array.astype(np.float32) if isinstance(value.type, AnyFloat) else _exact_float(array, op)
    return folded, set(folded_ops)


def _clone_body(lw: Lowering, body: Block, arg_order: list[int], op: Operation, folded: list[SSAValue] = (),
                skipped: set[Operation] = frozenset()) -> Block:
    """The generic's body as a lw-contained map body: args reordered, outer scalars inlined.

    Each `folded` value (computed from loop indices) is read from a float parameter appended to
    the arguments and converted back to its type; the ops computing it (`skipped`) are left out.
    """
    block = Block(arg_types=[body.args[i].type for i in arg_order] + [Float32Type()] * len(folded))
    mapping: dict[SSAValue, SSAValue] = {body.args[i]: block.args[k] for k, i in enumerate(arg_order)}
    for value, arg in zip(folded, block.args[len(arg_order):]):
        mapping[value] = _from_float_param(block, arg, value.type)
    for inner in body.ops:
        if inner.name == "cf.assert" or inner in skipped:
            continue
        if inner.name in INDEXING_OPS:
            raise DfccError(f"{location(op)}: element-wise body indexes with values computed from activations",
                            "lower-to-dataflow")
        for operand in inner.operands:
            if operand not in mapping:
                scalar = outer_scalar(lw, op)(operand)
                attr = (FloatAttr(float(scalar), operand.type) if isinstance(operand.type, AnyFloat)
                        else IntegerAttr(int(scalar), operand.type))
                constant = arith.ConstantOp(attr)
                block.add_op(constant)
                mapping[operand] = constant.result
        if inner is body.last_op:
            block.add_op(kinds.YieldOp(*[mapping[v] for v in inner.operands]))
        else:
            block.add_op(inner.clone(value_mapper=mapping))
    return block


def _exact_float(array: np.ndarray, op: Operation) -> np.ndarray:
    """Integer constants as float32 map parameters (exact below 2^24)."""
    if np.any(np.abs(array) >= 2 ** 24):
        raise DfccError(f"{location(op)}: integer constants too large for a float parameter", "lower-to-dataflow")
    return np.asarray(array).astype(np.float32)


def _from_float_param(block: Block, arg: SSAValue, type_) -> SSAValue:
    """`arg` (a float32 parameter holding a folded value) as a value of `type_`."""
    if isinstance(type_, AnyFloat):
        if type_ == arg.type:
            return arg
        convert = arith.TruncFOp(arg, type_) if type_.bitwidth < 32 else arith.ExtFOp(arg, type_)
    elif type_ == i1:
        zero = arith.ConstantOp(FloatAttr(0.0, arg.type))
        block.add_op(zero)
        convert = arith.CmpfOp(arg, zero.result, "une")
    elif isinstance(type_, IntegerType):
        convert = arith.FPToSIOp(arg, type_)
    else:
        raise DfccError(f"a map parameter of type {type_} is not supported", "lower-to-dataflow")
    block.add_op(convert)
    return convert.result


def unary_map(lw: Lowering, act: Act, element_type, body) -> Act:
    """A map node applying `body(block, x)` (which adds ops to `block` and returns the result) to each element."""
    block = Block(arg_types=[act.stream.type.element_type])
    block.add_op(kinds.YieldOp(body(block, block.args[0])))
    node = kinds.MapOp.create(
        operands=[act.stream], result_types=[df.StreamType(act.stream.type.get_shape(), element_type)],
        regions=[Region(block)],
        properties={"name": StringAttr(lw.fresh("map")), "operandSegmentSizes": DenseArrayBase.from_list(i32, [1, 0])})
    lw.emit(node)
    return Act(node.output, act.shape, act.perm)
