"""`lower-to-dataflow`: linalg-on-tensors (as torch-mlir writes it) to a graph of streaming nodes.

The pass walks the function once, in order, like an abstract interpreter: every tensor value is
either a compile-time constant (folded with numpy: weights, batch-norm statistics, broadcasts) or
an activation stream with a layout. Named linalg ops become conv/linear/pool nodes; element-wise
`linalg.generic`s become map nodes (their scalar body kept as the node's region); reductions
become reduce nodes. Padding is folded into the window node that reads it. Afterwards
`dataflow_cleanup` folds batch-norm into convolutions, fuses element-wise chains and inserts forks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, func, linalg, tensor
from xdsl.dialects.builtin import DenseArrayBase, DenseIntOrFPElementsAttr, DenseResourceAttr, FloatAttr, ModuleOp, StringAttr, f32, i32
from xdsl.dialects.linalg.attrs import IteratorType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from dfcc.backends.cpu.scalar_body import SUPPORTED_SCALAR_OPS, evaluate_body
from dfcc.dialects import dataflow as df
from dfcc.dialects.linalg_extra import BatchMatmulOp, DepthwiseConv2DNchwChwOp, PoolingNchwSumOp
from dfcc.dialects.resources import elements_array, make_resource
from dfcc.errors import DfccError
from dfcc.passes.cleanup import dataflow_cleanup

NCHW_TO_STREAM = (0, 2, 3, 1)


def default_perm(rank: int) -> tuple[int, ...]:
    """Stream order for a tensor of this rank: channels last for images, as is otherwise."""
    return NCHW_TO_STREAM if rank == 4 else tuple(range(rank))


def _significant(shape, perm) -> list[int]:
    return [p for p in perm if shape[p] != 1]


@dataclass
class Act:
    """An activation: a stream whose dim i holds logical (PyTorch) tensor dim `perm[i]`."""

    stream: SSAValue
    shape: tuple[int, ...]
    perm: tuple[int, ...]


@dataclass
class Padded:
    """`tensor.pad` of an activation, waiting to be folded into the window node that reads it."""

    act: Act
    pad: tuple[int, int, int, int]
    value: float


def location(op: Operation) -> str:
    """A readable position for diagnostics: the op and the value it defines."""
    if op.results and op.results[0].name_hint:
        return f"'{op.name}' defining %{op.results[0].name_hint}"
    return f"'{op.name}'"


@dataclass
class _Lowering:
    func_op: func.FuncOp
    builder: Rewriter = field(default_factory=Rewriter)
    values: dict[SSAValue, np.ndarray | Act | Padded] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    unsupported: dict[str, Operation] = field(default_factory=dict)
    new_ops: list[Operation] = field(default_factory=list)

    # ---- helpers -------------------------------------------------------------------------------
    def fresh(self, kind: str) -> str:
        index = self.counters.get(kind, 0)
        self.counters[kind] = index + 1
        return f"{kind}{index}"

    def emit(self, op: Operation) -> Operation:
        self.new_ops.append(op)
        return op

    def weights(self, array: np.ndarray, name: str) -> SSAValue:
        return self.emit(df.WeightsOp(make_resource(name, array), name)).output

    def const(self, value: SSAValue, op: Operation) -> np.ndarray:
        item = self.values.get(value)
        if not isinstance(item, np.ndarray):
            raise DfccError(f"{location(op)}: expected a constant operand here, got an activation", "lower-to-dataflow")
        return item

    def act(self, value: SSAValue, op: Operation) -> Act:
        item = self.values.get(value)
        if isinstance(item, Padded):
            raise DfccError(f"{location(op)}: a padded activation is only supported as the input of a convolution or pooling", "lower-to-dataflow")
        if not isinstance(item, Act):
            raise DfccError(f"{location(op)}: expected an activation operand", "lower-to-dataflow")
        return item

    def relayout(self, act: Act, perm: tuple[int, ...]) -> Act:
        """The same logical tensor streamed in the order `perm` (a buffered transpose if needed)."""
        if _significant(act.shape, act.perm) == _significant(act.shape, perm):
            if act.perm == perm:
                return act
            stream_shape = [act.shape[p] for p in perm]
            node = self.emit(df.ReshapeOp(act.stream, stream_shape, self.fresh("reshape")))
            return Act(node.output, act.shape, perm)
        node = self.emit(df.TransposeOp(act.stream, [act.perm.index(p) for p in perm], self.fresh("transpose")))
        return Act(node.output, act.shape, perm)

    def reshape(self, act: Act, shape: tuple[int, ...]) -> Act:
        """Row-major reshape of the logical tensor, streamed channels-last when the order allows."""
        act = self.relayout(act, tuple(range(len(act.shape))))
        perm = default_perm(len(shape))
        if _significant(shape, perm) != _significant(shape, tuple(range(len(shape)))):
            perm = tuple(range(len(shape)))
        stream_shape = [shape[p] for p in perm]
        if list(stream_shape) == list(act.stream.type.get_shape()):
            return Act(act.stream, shape, perm)
        node = self.emit(df.ReshapeOp(act.stream, stream_shape, self.fresh("reshape")))
        return Act(node.output, shape, perm)

    def window_input(self, value: SSAValue, op: Operation, pad_value: float) -> tuple[Act, tuple[int, int, int, int]]:
        item = self.values.get(value)
        if isinstance(item, Padded):
            if item.value != pad_value and not (np.isinf(pad_value) and np.isinf(item.value) and item.value < 0):
                raise DfccError(f"{location(op)}: padding value {item.value} is not supported here (expected {pad_value})", "lower-to-dataflow")
            return self.relayout(item.act, NCHW_TO_STREAM), item.pad
        return self.relayout(self.act(value, op), NCHW_TO_STREAM), (0, 0, 0, 0)

    # ---- the walk ------------------------------------------------------------------------------
    def run(self) -> None:
        block = self.func_op.body.block
        for index, arg in enumerate(block.args):
            shape = arg.type.get_shape()
            perm = default_perm(len(shape))
            source = self.emit(df.SourceOp(arg, perm, f"input{index}"))
            self.values[arg] = Act(source.output, shape, perm)
        for op in list(block.ops):
            handler = _HANDLERS.get(type(op))
            if handler is None:
                self.unsupported.setdefault(op.name, op)
            if handler is None or any(v not in self.values for v in op.operands):
                continue  # depends on an unsupported op: reported once, at that op
            handler(self, op)
        if self.unsupported:
            lines = [f"unsupported operation '{name}' ({location(op)})" for name, op in self.unsupported.items()]
            raise DfccError("cannot lower to dataflow:\n  " + "\n  ".join(lines), "lower-to-dataflow")
        self._replace_body()

    def _replace_body(self) -> None:
        block = self.func_op.body.block
        old_ops = list(block.ops)
        for op in reversed(old_ops):
            op.detach()
        for op in reversed(old_ops):
            op.drop_all_references()
        for op in self.new_ops:
            block.add_op(op)
        self.func_op.update_function_type()

    # ---- handlers ------------------------------------------------------------------------------
    def on_constant(self, op: arith.ConstantOp) -> None:
        value = op.value
        if isinstance(value, (DenseResourceAttr, DenseIntOrFPElementsAttr)):
            self.values[op.result] = elements_array(value).astype(np.float32, copy=False)
        elif hasattr(value, "value"):
            self.values[op.result] = np.asarray(value.value.data, dtype=np.float32)
        else:
            self.unsupported.setdefault(op.name, op)

    def on_empty(self, op: tensor.EmptyOp) -> None:
        self.values[op.tensor] = np.broadcast_to(np.float32(0), op.tensor.type.get_shape())

    def on_fill(self, op: linalg.FillOp) -> None:
        scalar = self.const(op.inputs[0], op)
        self.values[op.res[0]] = np.broadcast_to(scalar.astype(np.float32), op.res[0].type.get_shape())

    def on_broadcast(self, op: linalg.BroadcastOp) -> None:
        source = self.const(op.input, op)
        shape = op.init.type.get_shape()
        dims = tuple(op.dimensions.get_values())
        self.values[op.results[0]] = np.broadcast_to(np.expand_dims(source, dims), shape)

    def on_pad(self, op: tensor.PadOp) -> None:
        low, high = list(op.static_low.get_values()), list(op.static_high.get_values())
        yielded = op.region.block.last_op.operands[0]
        pad_value = float(self.values[yielded]) if yielded in self.values else None
        if pad_value is None or any(v < 0 for v in low + high):
            self.unsupported.setdefault("tensor.pad (non-constant or negative padding)", op)
            return
        item = self.values.get(op.source)
        if isinstance(item, np.ndarray):
            self.values[op.result] = np.pad(item, list(zip(low, high)), constant_values=pad_value)
        elif len(low) == 4 and low[:2] == [0, 0] and high[:2] == [0, 0]:
            self.values[op.result] = Padded(self.act(op.source, op), (low[2], high[2], low[3], high[3]), pad_value)
        else:
            self.unsupported.setdefault("tensor.pad (of batch or channel dims)", op)

    def on_reshape(self, op: Operation) -> None:
        result = op.results[0]
        shape = result.type.get_shape()
        item = self.values.get(op.operands[0])
        if isinstance(item, np.ndarray):
            self.values[result] = item.reshape(shape)
        else:
            self.values[result] = self.reshape(self.act(op.operands[0], op), shape)

    def on_transpose(self, op: linalg.TransposeOp) -> None:
        perm = tuple(op.permutation.get_values())
        item = self.values.get(op.inputs[0])
        if isinstance(item, np.ndarray):
            self.values[op.results[0]] = np.transpose(item, perm)
            return
        act = self.act(op.inputs[0], op)
        self.values[op.results[0]] = Act(act.stream, tuple(act.shape[p] for p in perm), tuple(perm.index(p) for p in act.perm))

    def _bias(self, init: np.ndarray, op: Operation) -> np.ndarray | None:
        """The per-filter bias a conv/matmul starts from (its `outs` init), or None when zero."""
        channel_first = init.reshape(init.shape[0], init.shape[1], -1)
        bias = channel_first[0, :, 0]
        if not np.array_equal(channel_first, np.broadcast_to(bias[None, :, None], channel_first.shape)):
            raise DfccError(f"{location(op)}: the accumulator init is not a per-channel bias", "lower-to-dataflow")
        return None if not bias.any() else np.ascontiguousarray(bias)

    def _conv(self, op: Operation, weights: np.ndarray, groups: int) -> None:
        act, pad = self.window_input(op.inputs[0], op, 0.0)
        name = self.fresh("conv")
        init = self.const(op.outputs[0], op)
        bias = self._bias(init, op)
        node = self.emit(df.ConvOp(
            act.stream, self.weights(weights, f"{name}_w"),
            None if bias is None else self.weights(bias, f"{name}_b"),
            name=name, stride=tuple(op.strides.get_values()), dilation=tuple(op.dilations.get_values()),
            pad=pad, groups=groups))
        self.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), NCHW_TO_STREAM)

    def on_conv(self, op: linalg.Conv2DNchwFchwOp) -> None:
        self._conv(op, self.const(op.inputs[1], op), 1)

    def on_depthwise_conv(self, op: DepthwiseConv2DNchwChwOp) -> None:
        weights = self.const(op.inputs[1], op)
        self._conv(op, weights[:, None, :, :], weights.shape[0])

    def on_grouped_conv(self, op: linalg.Conv2DNgchwFgchwOp) -> None:
        raise DfccError(f"{location(op)}: grouped convolution in NGCHW form is not supported yet", "lower-to-dataflow")

    def _pool(self, op: Operation, kind: str, pad_value: float) -> None:
        act, pad = self.window_input(op.inputs[0], op, pad_value)
        kernel = op.inputs[1].type.get_shape()
        node = self.emit(df.PoolOp(act.stream, name=self.fresh(f"{kind}pool"), kind=kind, kernel=kernel,
                                   stride=tuple(op.strides.get_values()), dilation=tuple(op.dilations.get_values()), pad=pad))
        self.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), NCHW_TO_STREAM)

    def on_max_pool(self, op: linalg.PoolingNchwMaxOp) -> None:
        self._pool(op, "max", -np.inf)

    def on_sum_pool(self, op: PoolingNchwSumOp) -> None:
        self._pool(op, "sum", 0.0)

    def on_matmul(self, op: linalg.MatmulOp) -> None:
        lhs, rhs = op.inputs
        if not isinstance(self.values.get(rhs), np.ndarray) or not isinstance(self.values.get(lhs), Act):
            raise DfccError(f"{location(op)}: only activation x constant matmuls are supported yet", "lower-to-dataflow")
        act = self.relayout(self.act(lhs, op), (0, 1))
        name = self.fresh("linear")
        init = self.const(op.outputs[0], op)
        bias = self._bias(init[None], op)
        node = self.emit(df.LinearOp(act.stream, self.weights(np.ascontiguousarray(self.const(rhs, op).T), f"{name}_w"),
                                     None if bias is None else self.weights(bias, f"{name}_b"), name=name))
        self.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), (0, 1))

    def on_generic(self, op: linalg.GenericOp) -> None:
        body = op.body.block
        for inner in body.ops:
            if inner.name not in SUPPORTED_SCALAR_OPS and inner.name != "linalg.yield":
                self.unsupported.setdefault(f"{inner.name} (inside linalg.generic)", op)
                return
        items = [self.values.get(v) for v in op.inputs]
        if any(it.data == IteratorType.REDUCTION for it in op.iterator_types.data):
            self._reduction(op)
        elif all(isinstance(item, np.ndarray) for item in items):
            self._fold_generic(op)
        else:
            self._map(op)

    def _loop_aligned(self, array_or_shape, affine_map, loop_shape, op) -> tuple[int, ...] | np.ndarray:
        """An operand viewed in the loop space: its dims moved to the loop dims its map names."""
        exprs = affine_map.results
        dims = []
        for expr in exprs:
            if isinstance(expr, AffineDimExpr):
                dims.append(expr.position)
            elif isinstance(expr, AffineConstantExpr) and expr.value == 0:
                dims.append(None)
            else:
                raise DfccError(f"{location(op)}: indexing map {affine_map} is not a permutation or broadcast", "lower-to-dataflow")
        used = [d for d in dims if d is not None]
        if isinstance(array_or_shape, np.ndarray):
            array = array_or_shape.reshape([s for s, d in zip(array_or_shape.shape, dims) if d is not None])
            order = sorted(range(len(used)), key=lambda i: used[i])
            array = np.transpose(array, order)
            full = [loop_shape[d] if d in used else 1 for d in range(len(loop_shape))]
            return array.reshape(full)
        if used != sorted(used):
            raise DfccError(f"{location(op)}: a transposing indexing map on an activation is not supported", "lower-to-dataflow")
        return tuple(loop_shape[d] if d in used else 1 for d in range(len(loop_shape)))

    def _loop_shape(self, op: linalg.GenericOp) -> tuple[int, ...]:
        out_map = op.indexing_maps.data[-1].data
        out_shape = op.outputs[0].type.get_shape()
        shape = [1] * out_map.num_dims
        for expr, size in zip(out_map.results, out_shape):
            if isinstance(expr, AffineDimExpr):
                shape[expr.position] = size
        for value, map_attr in zip(op.inputs, op.indexing_maps.data):
            for expr, size in zip(map_attr.data.results, value.type.get_shape()):
                if isinstance(expr, AffineDimExpr):
                    shape[expr.position] = max(shape[expr.position], size)
        return tuple(shape)

    def _outer_scalar(self, op: Operation):
        def lookup(value: SSAValue) -> np.ndarray:
            item = self.values.get(value)
            if not isinstance(item, np.ndarray) or item.ndim != 0:
                raise DfccError(f"{location(op)}: body uses a non-scalar outer value", "lower-to-dataflow")
            return item
        return lookup

    def _fold_generic(self, op: linalg.GenericOp) -> None:
        loop_shape = self._loop_shape(op)
        maps = [m.data for m in op.indexing_maps.data]
        if any(a for a in [m for m in maps[-1].results if not isinstance(m, AffineDimExpr)]):
            self.unsupported.setdefault("linalg.generic (broadcasting output map)", op)
            return
        args = [self._loop_aligned(self.values[v], m, loop_shape, op) for v, m in zip(op.inputs, maps)]
        args += [self._loop_aligned(self.const(v, op), m, loop_shape, op) for v, m in zip(op.outputs, maps[len(op.inputs):])]
        (result,) = evaluate_body(op.body.block, args, self._outer_scalar(op))
        out_dims = [e.position for e in maps[-1].results]
        result = np.broadcast_to(result, loop_shape).transpose(out_dims + [d for d in range(len(loop_shape)) if d not in out_dims])
        self.values[op.results[0]] = np.ascontiguousarray(result.reshape(op.results[0].type.get_shape()), dtype=np.float32)

    def _map(self, op: linalg.GenericOp) -> None:
        loop_shape = self._loop_shape(op)
        maps = [m.data for m in op.indexing_maps.data]
        out_map = maps[-1]
        if [e.position if isinstance(e, AffineDimExpr) else None for e in out_map.results] != list(range(len(loop_shape))):
            self.unsupported.setdefault("linalg.generic (non-identity output map)", op)
            return
        out_shape = op.results[0].type.get_shape()
        acts = [(i, self.act(v, op)) for i, v in enumerate(op.inputs) if isinstance(self.values.get(v), (Act, Padded))]
        full = [a for _, a in acts if a.shape == out_shape]
        perm = full[0].perm if full else default_perm(len(out_shape))
        streams, params, arg_order = [], [], []
        for index, act in acts:
            aligned = self._loop_aligned(act.shape, maps[index], loop_shape, op)
            act = self.relayout(self.reshape(act, aligned) if aligned != act.shape else act, perm)
            streams.append(act.stream)
            arg_order.append(index)
        param_indices = [i for i, v in enumerate(op.inputs) if isinstance(self.values.get(v), np.ndarray)]
        body_block = op.body.block
        out_arg = body_block.args[len(op.inputs)]
        if out_arg.uses:
            param_indices.append(len(op.inputs))
        operand_values = list(op.inputs) + list(op.outputs)
        for index in param_indices:
            array = self._loop_aligned(self.const(operand_values[index], op), maps[index], loop_shape, op)
            array = np.transpose(array, perm)
            if array.size == 1:
                array = array.reshape(())
            else:
                while array.ndim and array.shape[0] == 1:
                    array = array[0]
            params.append(self.weights(np.ascontiguousarray(array), self.fresh("param")))
            arg_order.append(index)
        name = self.fresh("map")
        block = self._clone_body(body_block, arg_order, op)
        out_type = df.StreamType([out_shape[p] for p in perm], f32)
        node = df.MapOp.create(
            operands=[*streams, *params], result_types=[out_type], regions=[Region(block)],
            properties={"name": StringAttr(name), "operandSegmentSizes": DenseArrayBase.from_list(i32, [len(streams), len(params)])})
        self.emit(node)
        self.values[op.results[0]] = Act(node.output, out_shape, perm)

    def _clone_body(self, body: Block, arg_order: list[int], op: Operation) -> Block:
        """The generic's body as a self-contained map body: args reordered, outer scalars inlined."""
        block = Block(arg_types=[body.args[i].type for i in arg_order])
        mapping: dict[SSAValue, SSAValue] = {body.args[i]: block.args[k] for k, i in enumerate(arg_order)}
        for inner in body.ops:
            if inner.name == "cf.assert":
                continue
            for operand in inner.operands:
                if operand not in mapping:
                    scalar = self._outer_scalar(op)(operand)
                    constant = arith.ConstantOp(FloatAttr(float(scalar), operand.type))
                    block.add_op(constant)
                    mapping[operand] = constant.result
            if inner is body.last_op:
                block.add_op(df.YieldOp(*[mapping[v] for v in inner.operands]))
            else:
                block.add_op(inner.clone(value_mapper=mapping))
        return block

    def _reduction(self, op: linalg.GenericOp) -> None:
        body = op.body.block
        combiner = body.last_op.operands[0].owner
        kinds = {"arith.addf": "sum", "arith.maximumf": "max", "arith.maxnumf": "max"}
        out_arg = body.args[len(op.inputs)]
        if (len(op.inputs) != 1 or len(list(body.ops)) != 2 or combiner.name not in kinds
                or out_arg not in combiner.operands or body.args[0] not in combiner.operands):
            self.unsupported.setdefault("linalg.generic (reduction other than sum or max)", op)
            return
        kind = kinds[combiner.name]
        init = self.const(op.outputs[0], op)
        expected = 0.0 if kind == "sum" else -np.inf
        if not np.all(init == expected):
            raise DfccError(f"{location(op)}: reduction starts from a non-neutral value", "lower-to-dataflow")
        act = self.act(op.inputs[0], op)
        maps = [m.data for m in op.indexing_maps.data]
        if [e.position for e in maps[0].results if isinstance(e, AffineDimExpr)] != list(range(len(act.shape))):
            self.unsupported.setdefault("linalg.generic (reduction with a permuting input map)", op)
            return
        kept = {e.position for e in maps[1].results if isinstance(e, AffineDimExpr)}
        reduced = [d for d in range(len(act.shape)) if d not in kept]
        node = self.emit(df.ReduceOp(act.stream, name=self.fresh(f"reduce_{kind}"), kind=kind,
                                     dims=sorted(act.perm.index(d) for d in reduced)))
        kept_shape = tuple(1 if d in reduced else s for d, s in enumerate(act.shape))
        result = Act(node.output, kept_shape, act.perm)
        out_shape = op.results[0].type.get_shape()
        self.values[op.results[0]] = result if kept_shape == out_shape else self.reshape(result, out_shape)

    def on_return(self, op: func.ReturnOp) -> None:
        outputs = []
        for index, value in enumerate(op.arguments):
            act = self.act(value, op)
            outputs.append(self.emit(df.SinkOp(act.stream, act.perm, f"output{index}")).tensor)
        self.emit(func.ReturnOp(*outputs))


_HANDLERS = {
    arith.ConstantOp: _Lowering.on_constant,
    tensor.EmptyOp: _Lowering.on_empty,
    linalg.FillOp: _Lowering.on_fill,
    linalg.BroadcastOp: _Lowering.on_broadcast,
    tensor.PadOp: _Lowering.on_pad,
    tensor.ExpandShapeOp: _Lowering.on_reshape,
    tensor.CollapseShapeOp: _Lowering.on_reshape,
    linalg.TransposeOp: _Lowering.on_transpose,
    linalg.Conv2DNchwFchwOp: _Lowering.on_conv,
    DepthwiseConv2DNchwChwOp: _Lowering.on_depthwise_conv,
    linalg.PoolingNchwMaxOp: _Lowering.on_max_pool,
    PoolingNchwSumOp: _Lowering.on_sum_pool,
    linalg.MatmulOp: _Lowering.on_matmul,
    linalg.GenericOp: _Lowering.on_generic,
    func.ReturnOp: _Lowering.on_return,
}


@dataclass(frozen=True)
class LowerToDataflow(ModulePass):
    """Convert every function of a linalg-on-tensors module into a dataflow graph."""

    name = "lower-to-dataflow"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func_op in [o for o in op.walk() if isinstance(o, func.FuncOp)]:
            if func_op.body.blocks and not any(isinstance(o, df.NodeOp) for o in func_op.body.block.ops):
                _Lowering(func_op).run()
        dataflow_cleanup(op)
