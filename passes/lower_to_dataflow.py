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
from xdsl.dialects import arith, func, tensor
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.builtin import AnyFloat, DenseArrayBase, Float32Type, IntegerType, i1, DenseIntOrFPElementsAttr, DenseResourceAttr, FloatAttr, IntegerAttr, ModuleOp, StringAttr, i32
from xdsl.dialects.linalg.attrs import IteratorType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.scalar_body import INDEXING_OPS, SUPPORTED_SCALAR_OPS, evaluate_body, evaluate_ops
from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.dialects import tm_tensor
from dfcc.dialects.linalg_extra import BatchMatmulOp, DepthwiseConv2DNchwChwOp, GenericOp, PoolingNchwSumOp
from dfcc.dialects.resources import elements_array, make_resource
from dfcc.dialects.source_lines import source_line
from dfcc.errors import DfccError
from dfcc.passes.cleanup import dataflow_cleanup
from dfcc.passes.data_movement import classify_axis, separable_maps

NCHW_TO_STREAM = (0, 2, 3, 1)
UNRECOGNISED_GATHER = ("this data movement (gather) is not a slice, pad, nearest resize or concat "
                       "(bilinear/bicubic interpolation is not supported: use mode='nearest')")


def default_perm(rank: int) -> tuple[int, ...]:
    """Stream order for a tensor of this rank: channels last for images, as is otherwise."""
    return NCHW_TO_STREAM if rank == 4 else tuple(range(rank))


def _static(type_) -> bool:
    shape = type_.get_shape() if hasattr(type_, "get_shape") else ()
    return all(d >= 0 for d in shape)


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


@dataclass
class Grouped:
    """An NCHW activation (or padded one) viewed as N x G x C/G x H x W, the input of a grouped conv."""

    item: Act | Padded
    shape: tuple[int, ...]


@dataclass
class Gathered:
    """Pure data movement of an activation not yet turned into nodes: slices, insertions, gathers.

    `index` has the logical shape of the result and holds, per element, the row-major position in
    `act`'s logical tensor it copies, or -1 where it holds `fill` (None when that is not a single
    constant). When a compute op reads it, `materialize` recognises it as slice / resize / pad
    nodes, one axis at a time.
    """

    act: Act
    index: np.ndarray
    fill: float | None

    @staticmethod
    def of(act: Act) -> "Gathered":
        return Gathered(act, np.arange(int(np.prod(act.shape)), dtype=np.int64).reshape(act.shape), None)


def location(op: Operation) -> str:
    """A readable position for diagnostics: the op, the value it defines and its source line."""
    where = f" at {line}" if (line := source_line(op)) else ""
    if op.results and op.results[0].name_hint:
        return f"'{op.name}' defining %{op.results[0].name_hint}{where}"
    return f"'{op.name}'{where}"


def _loop_indices(loop_shape: tuple[int, ...]) -> list[np.ndarray]:
    """Broadcastable index grids of a loop nest (what `linalg.index d` reads)."""
    return [np.arange(n).reshape([-1 if a == d else 1 for a in range(len(loop_shape))]) for d, n in enumerate(loop_shape)]


def _element_type(type_):
    return type_.get_element_type() if hasattr(type_, "get_element_type") else type_


def _float_constant(block: Block, value: float) -> SSAValue:
    constant = arith.ConstantOp(FloatAttr(value, Float32Type()))
    block.add_op(constant)
    return constant.result


def _select_constants(block: Block, condition: SSAValue, if_true: float, if_false: float) -> SSAValue:
    a, b = _float_constant(block, if_true), _float_constant(block, if_false)
    select = arith.SelectOp(condition, a, b)
    block.add_op(select)
    return select.result


def _compare_constant(block: Block, x: SSAValue, predicate: str, value: float) -> SSAValue:
    compare = arith.CmpfOp(x, _float_constant(block, value), predicate)
    block.add_op(compare)
    return compare.result


def _ungrouped(shape: tuple[int, ...]) -> tuple[int, ...]:
    n, g, c, h, w = shape
    return (n, g * c, h, w)


def _logical_shape(item) -> tuple[int, ...]:
    if isinstance(item, Padded):
        n, c, h, w = item.act.shape
        return (n, c, h + item.pad[0] + item.pad[1], w + item.pad[2] + item.pad[3])
    return item.shape


@dataclass
class _Lowering:
    func_op: func.FuncOp
    builder: Rewriter = field(default_factory=Rewriter)
    values: dict[SSAValue, np.ndarray | Act | Padded] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    unsupported: dict[str, tuple[Operation, str]] = field(default_factory=dict)
    poisoned: set[SSAValue] = field(default_factory=set)
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
        return self.emit(kinds.WeightsOp(make_resource(name, array), name)).output

    def const(self, value: SSAValue, op: Operation) -> np.ndarray:
        item = self.values.get(value)
        if not isinstance(item, np.ndarray):
            raise DfccError(f"{location(op)}: expected a constant operand here, got an activation", "lower-to-dataflow")
        return item

    def act(self, value: SSAValue, op: Operation) -> Act:
        """The activation `value` holds, turning pending data movement into nodes first."""
        item = self.values.get(value)
        if isinstance(item, Grouped):
            return self.reshape(self.resolve(item.item, op), item.shape)
        if isinstance(item, (Padded, Gathered)):
            return self.resolve(item, op)
        if not isinstance(item, Act):
            raise DfccError(f"{location(op)}: expected an activation operand", "lower-to-dataflow")
        return item

    def resolve(self, item: "Act | Padded | Gathered", op: Operation) -> Act:
        if isinstance(item, Padded):
            act = self.relayout(item.act, NCHW_TO_STREAM)
            pad = (0, 0, *item.pad, 0, 0)
            node = self.emit(kinds.PadOp(act.stream, pad, "constant", self.fresh("pad"), item.value))
            n, c, h, w = act.shape
            return Act(node.output, (n, c, h + pad[2] + pad[3], w + pad[4] + pad[5]), act.perm)
        if isinstance(item, Gathered):
            return self.materialize(item, op)[0]
        return item

    def gathered(self, value: SSAValue, op: Operation) -> Gathered:
        item = self.values.get(value)
        if isinstance(item, Gathered):
            return item
        return Gathered.of(self.act(value, op))

    def materialize(self, g: Gathered, op: Operation, fold_fill: float | None = None) -> tuple[Act, tuple[int, int, int, int]]:
        """Nodes computing a gathered activation: slice, then resize, then pad, per stream dim.

        With `fold_fill`, constant padding of H and W by that value is returned instead of built,
        for the window node reading it to fold.
        """
        index, act = g.index, g.act
        if index.ndim != len(act.shape):
            act = self.reshape(act, act.shape)  # ranks always agree; kept for clarity
        if np.array_equal(index, np.arange(index.size).reshape(index.shape)) and index.shape == act.shape:
            return act, (0, 0, 0, 0)
        maps = separable_maps(index, act.shape)
        if maps is None:
            raise DfccError(f"{location(op)}: {UNRECOGNISED_GATHER}", "lower-to-dataflow")
        steps = [classify_axis(m, n) for m, n in zip(maps, act.shape)]
        if any(step is None for step in steps):
            raise DfccError(f"{location(op)}: {UNRECOGNISED_GATHER}", "lower-to-dataflow")
        rank = len(act.shape)
        order = act.perm
        # slices
        if any(st[0] != (0, 1, n) for st, n in zip(steps, act.shape)):
            offsets = [steps[a][0][0] for a in order]
            strides = [steps[a][0][1] for a in order]
            sizes = [steps[a][0][2] for a in order]
            node = self.emit(kinds.SliceOp(act.stream, offsets, sizes, strides, self.fresh("slice")))
            act = Act(node.output, tuple(steps[a][0][2] for a in range(rank)), act.perm)
        for mode in ("nearest", "zeros"):
            if any(st[1] is not None and st[1][0] == mode and st[1][1] > 1 for st in steps):
                scale = [steps[a][1][1] if steps[a][1] is not None and steps[a][1][0] == mode else 1 for a in order]
                node = self.emit(kinds.ResizeOp(act.stream, scale, mode, self.fresh("resize")))
                shape = kinds.ResizeOp.output_shape(act.stream.type.get_shape(), scale, mode)
                act = Act(node.output, tuple(shape[order.index(a)] for a in range(rank)), act.perm)
        if any(st[1] is not None and st[1][0] == "zeros" for st in steps) and g.fill != 0.0:
            raise DfccError(f"{location(op)}: zero insertion with a non-zero fill", "lower-to-dataflow")
        folded = (0, 0, 0, 0)
        modes = {st[2][0] for st in steps if st[2] is not None and (st[2][1] or st[2][2])}
        for mode in sorted(modes):
            if mode == "constant" and g.fill is None:
                raise DfccError(f"{location(op)}: padding with values that are not one constant", "lower-to-dataflow")
            pads = [(steps[a][2][1], steps[a][2][2]) if steps[a][2] is not None and steps[a][2][0] == mode else (0, 0) for a in range(rank)]
            if (mode == "constant" and fold_fill is not None and rank == 4 and g.fill == fold_fill
                    and pads[0] == pads[1] == (0, 0)):
                folded = (*pads[2], *pads[3])
                continue
            flat = [x for a in order for x in pads[a]]
            node = self.emit(kinds.PadOp(act.stream, flat, mode, self.fresh("pad"), g.fill if mode == "constant" else 0.0))
            act = Act(node.output, tuple(act.shape[a] + sum(pads[a]) for a in range(rank)), act.perm)
        return act, folded

    def relayout(self, act: Act, perm: tuple[int, ...]) -> Act:
        """The same logical tensor streamed in the order `perm` (a buffered transpose if needed)."""
        if _significant(act.shape, act.perm) == _significant(act.shape, perm):
            if act.perm == perm:
                return act
            stream_shape = [act.shape[p] for p in perm]
            node = self.emit(kinds.ReshapeOp(act.stream, stream_shape, self.fresh("reshape")))
            return Act(node.output, act.shape, perm)
        node = self.emit(kinds.TransposeOp(act.stream, [act.perm.index(p) for p in perm], self.fresh("transpose")))
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
        node = self.emit(kinds.ReshapeOp(act.stream, stream_shape, self.fresh("reshape")))
        return Act(node.output, shape, perm)

    def window_input(self, value: SSAValue, op: Operation, pad_value: float) -> tuple[Act, tuple[int, int, int, int]]:
        item = self.values.get(value)
        if isinstance(item, Grouped):
            item = item.item
        if isinstance(item, Padded):
            if item.value != pad_value and not (np.isinf(pad_value) and np.isinf(item.value) and item.value < 0):
                return self.relayout(self.resolve(item, op), NCHW_TO_STREAM), (0, 0, 0, 0)
            return self.relayout(item.act, NCHW_TO_STREAM), item.pad
        if isinstance(item, Gathered):
            act, pad = self.materialize(item, op, fold_fill=pad_value)
            return self.relayout(act, NCHW_TO_STREAM), pad
        if not isinstance(item, Act):
            raise DfccError(f"{location(op)}: expected an activation operand", "lower-to-dataflow")
        return self.relayout(item, NCHW_TO_STREAM), (0, 0, 0, 0)

    # ---- the walk ------------------------------------------------------------------------------
    def reject(self, op: Operation, reason: str = "", name: str | None = None) -> None:
        """Record `op` as unsupported (once per distinct op name) and poison what it defines."""
        self.unsupported.setdefault(name or op.name, (op, reason))
        self.poisoned.update(op.results)

    def run(self) -> None:
        block = self.func_op.body.block
        for index, arg in enumerate(block.args):
            shape = arg.type.get_shape()
            if not _static(arg.type):
                self.unsupported.setdefault("func.func", (self.func_op, f"argument {index} has a dynamic shape {arg.type}"))
                self.poisoned.add(arg)
                continue
            perm = default_perm(len(shape))
            source = self.emit(kinds.SourceOp(arg, perm, f"input{index}"))
            self.values[arg] = Act(source.output, shape, perm)
        for op in list(block.ops):
            if any(v in self.poisoned for v in op.operands):
                self.poisoned.update(op.results)  # depends on an unsupported op: reported once, at that op
                continue
            if not all(_static(r.type) for r in op.results):
                self.reject(op, "dynamic shapes are not supported (streams have static sizes)")
                continue
            handler = _HANDLERS.get(type(op))
            if handler is None and op.name in SUPPORTED_SCALAR_OPS and op.name != "arith.constant":
                handler = _Lowering.on_constant_arith
            if handler is None:
                self.reject(op)
                continue
            try:
                handler(self, op)
                self.check_result_shapes(op)
            except DfccError as error:
                self.reject(op, error.message.removeprefix(location(op) + ": "))
            except (VerifyException, ValueError, IndexError) as error:  # a node the op's operands cannot form
                self.reject(op, f"cannot be expressed as dataflow nodes ({str(error).splitlines()[0]})")
        if self.unsupported:
            lines = [f"unsupported operation '{name}' ({location(op)})" + (f": {reason}" if reason else "")
                     for name, (op, reason) in self.unsupported.items()]
            raise DfccError("cannot lower to dataflow:\n  " + "\n  ".join(lines), "lower-to-dataflow")
        self._replace_body()

    def check_result_shapes(self, op: Operation) -> None:
        """Every value the handler produced has the shape the op's result type declares.

        A mismatch is a bug in a handler's shape arithmetic (the op verifiers check their own
        geometry), so it is raised as an internal error rather than reported as unsupported input.
        """
        for result in op.results:
            item = self.values.get(result)
            if item is None or result in self.poisoned:
                continue
            declared = tuple(result.type.get_shape()) if hasattr(result.type, "get_shape") else ()
            if isinstance(item, Act):
                computed = tuple(item.shape)
                stream = tuple(item.stream.type.get_shape())
                if stream != tuple(computed[p] for p in item.perm):
                    raise RuntimeError(f"lower-to-dataflow: {location(op)}: stream {stream} does not hold {computed} in order {item.perm}")
            elif isinstance(item, Gathered):
                computed = item.index.shape
            else:
                computed = item.shape if isinstance(item, (np.ndarray, Grouped)) else _logical_shape(item)
            if tuple(computed) != declared:
                raise RuntimeError(f"lower-to-dataflow: {location(op)}: computed shape {tuple(computed)} "
                                   f"but the result type says {declared}")

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
        dtype = np.float32 if isinstance(_element_type(op.result.type), AnyFloat) else np.int64
        if isinstance(value, (DenseResourceAttr, DenseIntOrFPElementsAttr)):
            self.values[op.result] = elements_array(value).astype(dtype, copy=False)
        elif hasattr(value, "value"):
            self.values[op.result] = np.asarray(value.value.data != 0 if op.result.type == i1 else value.value.data, dtype=dtype)
        else:
            self.reject(op, f"constant {value} is not a number or tensor")

    def on_constant_arith(self, op: Operation) -> None:
        """arith/math ops outside bodies (scalar conversions of padding values, masks) on constants."""
        env = {v: self.const(v, op) for v in op.operands}
        evaluate_ops([op], env)
        for result in op.results:
            dtype = np.float32 if isinstance(_element_type(result.type), AnyFloat) else np.int64
            self.values[result] = np.asarray(env[result]).astype(dtype)

    def on_scan(self, op: tm_tensor.ScanOp) -> None:
        """A scan (cumulative sum of position ids) of constants, folded one position at a time."""
        if len(op.inputs) != 1 or len(op.outputs) != 2 or any(not isinstance(self.values.get(v), np.ndarray) for v in op.operands):
            raise DfccError(f"{location(op)}: a scan over an activation (cumulative sum) has no streaming node", "lower-to-dataflow")
        source, accumulator = self.const(op.inputs[0], op), self.const(op.outputs[1], op)
        axis = op.dimension.value.data
        carry = np.expand_dims(accumulator, axis)
        columns = []
        for i in range(source.shape[axis]):
            current = np.take(source, [i], axis=axis)
            if op.inclusive.value.data:
                carry = current if i == 0 else evaluate_body(op.body.block, [carry, current])[0]
                columns.append(carry)
            else:
                columns.append(carry)
                carry = evaluate_body(op.body.block, [carry, current])[0]
        self.values[op.results[0]] = np.concatenate(columns, axis=axis).astype(source.dtype)
        self.values[op.results[1]] = np.squeeze(carry, axis).astype(accumulator.dtype)

    def on_empty(self, op: tensor.EmptyOp) -> None:
        dtype = np.float32 if isinstance(op.tensor.type.get_element_type(), AnyFloat) else np.int64
        self.values[op.tensor] = np.broadcast_to(dtype(0), op.tensor.type.get_shape())

    def on_fill(self, op: linalg.FillOp) -> None:
        scalar = self.const(op.inputs[0], op)
        self.values[op.res[0]] = np.broadcast_to(scalar, op.res[0].type.get_shape())

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
            self.reject(op, name="tensor.pad (non-constant or negative padding)")
            return
        item = self.values.get(op.source)
        if isinstance(item, np.ndarray):
            self.values[op.result] = np.pad(item, list(zip(low, high)), constant_values=pad_value)
        elif isinstance(item, Act) and len(low) == 4 and low[:2] == [0, 0] and high[:2] == [0, 0]:
            self.values[op.result] = Padded(item, (low[2], high[2], low[3], high[3]), pad_value)
        else:
            g = self.gathered(op.source, op)
            fill = pad_value if g.fill in (None, pad_value) and not (g.index < 0).any() or g.fill == pad_value else None
            self.values[op.result] = Gathered(g.act, np.pad(g.index, list(zip(low, high)), constant_values=-1), fill)

    @staticmethod
    def _slices(op) -> tuple[slice, ...]:
        return tuple(slice(o, o + st * (n - 1) + 1, st) for o, n, st in
                     zip(op.static_offsets.get_values(), op.static_sizes.get_values(), op.static_strides.get_values()))

    def on_extract_slice(self, op: tensor.ExtractSliceOp) -> None:
        item, shape = self.values.get(op.source), op.result.type.get_shape()
        if isinstance(item, np.ndarray):
            self.values[op.result] = item[self._slices(op)].reshape(shape)
            return
        g = self.gathered(op.source, op)
        sliced = Gathered(g.act, g.index[self._slices(op)], g.fill)
        if sliced.index.ndim == len(shape):
            self.values[op.result] = sliced
        else:  # rank-reducing slice
            self.values[op.result] = self.reshape(self.resolve(sliced, op), shape)

    def on_insert_slice(self, op: tensor.InsertSliceOp) -> None:
        dest, source = self.values.get(op.dest), self.values.get(op.source)
        sizes = tuple(op.static_sizes.get_values())
        if isinstance(dest, np.ndarray) and isinstance(source, np.ndarray):
            result = np.array(dest)
            result[self._slices(op)] = source.reshape(sizes)
            self.values[op.result] = result
            return
        if isinstance(source, np.ndarray):
            raise DfccError(f"{location(op)}: inserting constants into an activation", "lower-to-dataflow")
        src = self.gathered(op.source, op)
        if isinstance(dest, np.ndarray):
            uniform = dest.size and np.all(dest == dest.flat[0])
            index, fill = np.full(dest.shape, -1, np.int64), float(dest.flat[0]) if uniform else None
        else:
            into = self.gathered(op.dest, op)
            if into.act.stream is not src.act.stream or into.act.shape != src.act.shape:
                raise DfccError(f"{location(op)}: inserting one activation into another (use a concatenation)", "lower-to-dataflow")
            index, fill = np.array(into.index), into.fill
        index[self._slices(op)] = src.index.reshape(sizes)
        if (src.index < 0).any() and src.fill != fill:
            fill = None
        self.values[op.result] = Gathered(src.act, index, fill)

    def on_concat(self, op: tensor.ConcatOp) -> None:
        dim = op.dim.value.data
        items = [self.values.get(v) for v in op.inputs]
        if all(isinstance(item, np.ndarray) for item in items):
            self.values[op.result] = np.concatenate(items, axis=dim)
            return
        if any(isinstance(item, np.ndarray) for item in items):
            self._concat_constants(op, dim, items)
            return
        acts = [self.act(v, op) for v in op.inputs]
        perm = acts[0].perm
        streams = [self.relayout(a, perm).stream for a in acts]
        node = self.emit(kinds.ConcatOp(streams, perm.index(dim), self.fresh("concat")))
        self.values[op.result] = Act(node.output, op.result.type.get_shape(), perm)

    def _concat_constants(self, op: tensor.ConcatOp, dim: int, items: list) -> None:
        """Constants joined with an activation (a class token before the patch tokens): the activation
        padded with zeros along `dim`, plus a parameter holding the constants there and zeros elsewhere."""
        is_const = [isinstance(item, np.ndarray) for item in items]
        first, last = is_const.index(False), len(is_const) - 1 - is_const[::-1].index(False)
        if not all(not c for c in is_const[first:last + 1]):
            raise DfccError(f"{location(op)}: constants between activations in a concatenation", "lower-to-dataflow")
        acts = [self.act(v, op) for v in op.inputs[first:last + 1]]
        perm = acts[0].perm
        streams = [self.relayout(a, perm).stream for a in acts]
        stream = streams[0] if len(streams) == 1 else self.emit(kinds.ConcatOp(streams, perm.index(dim), self.fresh("concat"))).output
        before, after = (sum(item.shape[dim] for item in items[a:b]) for a, b in ((0, first), (last + 1, len(items))))
        pad = [x for p in perm for x in ((before, after) if p == dim else (0, 0))]
        padded = self.emit(kinds.PadOp(stream, pad, "constant", self.fresh("pad"), 0.0)).output
        out_shape = op.result.type.get_shape()
        constants = np.concatenate([item if c else np.zeros(v.type.get_shape(), np.float32)
                                    for item, c, v in zip(items, is_const, op.inputs)], axis=dim).astype(np.float32)
        param = self.weights(self._param_array(constants, perm), self.fresh("param"))
        block = Block(arg_types=[padded.type.element_type, Float32Type()])
        add = arith.AddfOp(block.args[0], block.args[1])
        block.add_op(add)
        block.add_op(kinds.YieldOp(add.result))
        node = kinds.MapOp.create(
            operands=[padded, param], result_types=[df.StreamType([out_shape[p] for p in perm], padded.type.element_type)],
            regions=[Region(block)],
            properties={"name": StringAttr(self.fresh("map")), "operandSegmentSizes": DenseArrayBase.from_list(i32, [1, 1])})
        self.emit(node)
        self.values[op.result] = Act(node.output, out_shape, perm)

    def on_reshape(self, op: Operation) -> None:
        result = op.results[0]
        shape = result.type.get_shape()
        item = self.values.get(op.operands[0])
        if isinstance(item, np.ndarray):
            self.values[result] = item.reshape(shape)
        elif isinstance(item, Grouped) and shape == _ungrouped(item.shape):
            self.values[result] = item.item
        elif isinstance(item, (Act, Padded)) and len(item_shape := _logical_shape(item)) == 4 and len(shape) == 5 \
                and _ungrouped(shape) == item_shape:
            self.values[result] = Grouped(item, shape)  # N x C x H x W viewed as N x G x C/G x H x W
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

    def fit_window(self, act: Act, pad: tuple[int, int, int, int], kernel, stride, dilation, out_hw,
                   op: Operation) -> tuple[Act, tuple[int, int, int, int]]:
        """Input and padding of a window node computing exactly the `out_hw` positions the linalg op does.

        A window op reads rows `[0, (out - 1) * stride + dilation * (kernel - 1) + 1)` of its padded
        input; torch-mlir pads more than that for ceil_mode pools (so the padded size alone would
        give one position too many). Then the trailing padding and input rows no window reads are dropped.
        """
        n, h, w, c = act.stream.type.get_shape()
        sizes, new_pad = [h, w], list(pad)
        for axis in range(2):
            lo = pad[2 * axis]
            extent = (out_hw[axis] - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1
            if extent > sizes[axis] + lo + pad[2 * axis + 1]:
                raise DfccError(f"{location(op)}: windows read past the end of the (padded) input", "lower-to-dataflow")
            if extent - lo < 1:
                raise DfccError(f"{location(op)}: windows read nothing but padding", "lower-to-dataflow")
            if df.window_output_size(sizes[axis], kernel[axis], stride[axis], dilation[axis], lo, pad[2 * axis + 1]) == out_hw[axis]:
                continue
            new_pad[2 * axis + 1] = max(0, extent - lo - sizes[axis])
            sizes[axis] = min(sizes[axis], extent - lo)
        if sizes != [h, w]:
            node = self.emit(kinds.SliceOp(act.stream, [0, 0, 0, 0], [n, *sizes, c], [1, 1, 1, 1], self.fresh("slice")))
            act = Act(node.output, (act.shape[0], act.shape[1], *sizes), act.perm)
        return act, tuple(new_pad)

    def _conv(self, op: Operation, weights: np.ndarray, groups: int) -> None:
        act, pad = self.window_input(op.inputs[0], op, 0.0)
        out_shape = op.results[0].type.get_shape()
        init = self.const(op.outputs[0], op)
        if len(out_shape) == 5:  # grouped: N x G x F/G x H x W
            out_shape = _ungrouped(out_shape)
            init = init.reshape(out_shape)
        act, pad = self.fit_window(act, pad, weights.shape[2:], tuple(op.strides.get_values()),
                                   tuple(op.dilations.get_values()), out_shape[2:], op)
        name = self.fresh("conv")
        bias = self._bias(init, op)
        node = self.emit(kinds.ConvOp(
            act.stream, self.weights(np.ascontiguousarray(weights), f"{name}_w"),
            None if bias is None else self.weights(bias, f"{name}_b"),
            name=name, stride=tuple(op.strides.get_values()), dilation=tuple(op.dilations.get_values()),
            pad=pad, groups=groups))
        result = Act(node.output, out_shape, NCHW_TO_STREAM)
        shape = op.results[0].type.get_shape()
        self.values[op.results[0]] = Grouped(result, shape) if len(shape) == 5 else result

    def on_conv(self, op: linalg.Conv2DNchwFchwOp) -> None:
        self._conv(op, self.const(op.inputs[1], op), 1)

    def on_depthwise_conv(self, op: DepthwiseConv2DNchwChwOp) -> None:
        weights = self.const(op.inputs[1], op)
        self._conv(op, weights[:, None, :, :], weights.shape[0])

    def on_grouped_conv(self, op: linalg.Conv2DNgchwGfchwOp | linalg.Conv2DNgchwFgchwOp) -> None:
        """Grouped conv on an N x G x C/G x H x W view; weights G x F/G x C/G x Kh x Kw (or F/G x G x ..)."""
        weights = self.const(op.inputs[1], op)
        if isinstance(op, linalg.Conv2DNgchwFgchwOp):
            weights = weights.transpose(1, 0, 2, 3, 4)
        groups, fg, cg, kh, kw = weights.shape
        if not isinstance(self.values.get(op.inputs[0]), Grouped):
            n, g, c, h, w = op.inputs[0].type.get_shape()
            self.values[op.inputs[0]] = Grouped(self.reshape(self.act(op.inputs[0], op), (n, g * c, h, w)), (n, g, c, h, w))
        self._conv(op, weights.reshape(groups * fg, cg, kh, kw), groups)

    def _pool(self, op: Operation, kind: str, pad_value: float) -> None:
        act, pad = self.window_input(op.inputs[0], op, pad_value)
        kernel = op.inputs[1].type.get_shape()
        act, pad = self.fit_window(act, pad, kernel, tuple(op.strides.get_values()), tuple(op.dilations.get_values()),
                                   op.results[0].type.get_shape()[2:], op)
        node = self.emit(kinds.PoolOp(act.stream, name=self.fresh(f"{kind}pool"), kind=kind, kernel=kernel,
                                   stride=tuple(op.strides.get_values()), dilation=tuple(op.dilations.get_values()), pad=pad))
        self.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), NCHW_TO_STREAM)

    def on_max_pool(self, op: linalg.PoolingNchwMaxOp) -> None:
        self._pool(op, "max", -np.inf)

    def on_sum_pool(self, op: PoolingNchwSumOp) -> None:
        self._pool(op, "sum", 0.0)

    def on_matmul(self, op: linalg.MatmulOp | BatchMatmulOp) -> None:
        lhs, rhs = op.inputs
        if isinstance(self.values.get(lhs), np.ndarray):
            raise DfccError(f"{location(op)}: a constant left operand is not supported", "lower-to-dataflow")
        if not isinstance(self.values.get(rhs), np.ndarray):
            self._stream_matmul(op)
            return
        if isinstance(op, BatchMatmulOp):
            raise DfccError(f"{location(op)}: batched matmul with constant weights per batch entry", "lower-to-dataflow")
        act = self.relayout(self.act(lhs, op), (0, 1))
        name = self.fresh("linear")
        init = self.const(op.outputs[0], op)
        bias = self._bias(init[None], op)
        node = self.emit(kinds.LinearOp(act.stream, self.weights(np.ascontiguousarray(self.const(rhs, op).T), f"{name}_w"),
                                     None if bias is None else self.weights(bias, f"{name}_b"), name=name))
        self.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), (0, 1))

    def _stream_matmul(self, op: Operation) -> None:
        """Product of two activations (attention): a matmul node reading both streams row-major."""
        if np.any(self.const(op.outputs[0], op)):
            raise DfccError(f"{location(op)}: a matmul of activations must start from zero", "lower-to-dataflow")
        rank = len(op.results[0].type.get_shape())
        lhs, rhs = (self.relayout(self.act(v, op), tuple(range(rank))) for v in op.inputs)
        node = self.emit(kinds.MatmulOp(lhs.stream, rhs.stream, self.fresh("matmul")))
        self.values[op.results[0]] = Act(node.output, op.results[0].type.get_shape(), tuple(range(rank)))

    def on_generic(self, op: linalg.GenericOp) -> None:
        body = op.body.block
        for inner in body.ops:
            if inner.name not in SUPPORTED_SCALAR_OPS | INDEXING_OPS and inner.name != "linalg.yield":
                self.reject(op, name=f"{inner.name} (inside linalg.generic)")
                return
        items = [self.values.get(v) for v in op.inputs]
        reads_activation = any(inner.name == "tensor.extract" and not isinstance(self.values.get(inner.operands[0]), np.ndarray)
                               for inner in body.ops)
        reduction = any(it.data == IteratorType.REDUCTION for it in op.iterator_types.data)
        if self._looks_up_table(op):
            raise DfccError(f"{location(op)}: a lookup in a constant table indexed by activation values (token "
                            "embedding, nn.Embedding) needs an embedding node kind, which dfcc does not have yet",
                            "lower-to-dataflow")
        if reduction and all(isinstance(item, np.ndarray) for item in items):
            self._fold_reduction(op)
        elif reduction:
            self._reduction(op)
        elif reads_activation:
            self._gather(op)
        elif all(isinstance(item, np.ndarray) for item in items):
            self._fold_generic(op)
        else:
            self._map(op)

    def _looks_up_table(self, op: linalg.GenericOp) -> bool:
        """Whether the body reads a constant tensor at positions computed from an activation input."""
        body = op.body.block
        derived = {arg for arg, v in zip(body.args, op.inputs) if not isinstance(self.values.get(v), np.ndarray)}
        for inner in body.ops:
            if (inner.name == "tensor.extract" and isinstance(self.values.get(inner.operands[0]), np.ndarray)
                    and any(v in derived for v in inner.operands[1:])):
                return True
            if any(v in derived for v in inner.operands):
                derived.update(inner.results)
        return False

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

    def _outer_scalar(self, op: Operation, tensors: bool = False):
        def lookup(value: SSAValue) -> np.ndarray:
            item = self.values.get(value)
            if not isinstance(item, np.ndarray) or (item.ndim != 0 and not tensors):
                raise DfccError(f"{location(op)}: body uses a non-scalar outer value", "lower-to-dataflow")
            return item
        return lookup

    def _fold_generic(self, op: linalg.GenericOp) -> None:
        loop_shape = self._loop_shape(op)
        maps = [m.data for m in op.indexing_maps.data]
        if any(a for a in [m for m in maps[-1].results if not isinstance(m, AffineDimExpr)]):
            self.reject(op, name="linalg.generic (broadcasting output map)")
            return
        args = [self._loop_aligned(self.values[v], m, loop_shape, op) for v, m in zip(op.inputs, maps)]
        args += [self._loop_aligned(self.const(v, op), m, loop_shape, op) for v, m in zip(op.outputs, maps[len(op.inputs):])]
        (result,) = evaluate_body(op.body.block, args, self._outer_scalar(op, tensors=True), _loop_indices(loop_shape))
        self.values[op.results[0]] = self._to_output(result, maps[-1], loop_shape, op.results[0])

    def _fold_reduction(self, op: linalg.GenericOp) -> None:
        """A reduction of constants, evaluated one reduction position at a time (accumulators in the loop space)."""
        loop_shape = self._loop_shape(op)
        maps = [m.data for m in op.indexing_maps.data]
        reduced = [d for d, it in enumerate(op.iterator_types.data) if it.data == IteratorType.REDUCTION]
        ins = [np.broadcast_to(self._loop_aligned(self.values[v], m, loop_shape, op), loop_shape)
               for v, m in zip(op.inputs, maps)]
        n_in = len(op.inputs)
        acc_shape = tuple(1 if d in reduced else n for d, n in enumerate(loop_shape))
        accs = [np.broadcast_to(self._loop_aligned(self.const(v, op), m, loop_shape, op), acc_shape)
                for v, m in zip(op.outputs, maps[n_in:])]
        grids = _loop_indices(loop_shape)
        for position in np.ndindex(*(loop_shape[d] for d in reduced)):
            at = dict(zip(reduced, position))
            take = tuple(slice(at[d], at[d] + 1) if d in at else slice(None) for d in range(len(loop_shape)))
            indices = [np.full((1,) * len(loop_shape), at[d]) if d in at else grid for d, grid in enumerate(grids)]
            accs = evaluate_body(op.body.block, [x[take] for x in ins] + accs, self._outer_scalar(op, tensors=True), indices)
        for result, acc, out_map in zip(op.results, accs, maps[n_in:]):
            self.values[result] = self._to_output(np.broadcast_to(acc, acc_shape), out_map, acc_shape, result)

    @staticmethod
    def _to_output(result: np.ndarray, out_map, loop_shape, value: SSAValue) -> np.ndarray:
        """A body's result over the loop space, laid out as the generic's output tensor."""
        out_dims = [e.position for e in out_map.results if isinstance(e, AffineDimExpr)]  # the others are size-1 dims
        result = np.broadcast_to(result, loop_shape).transpose(out_dims + [d for d in range(len(loop_shape)) if d not in out_dims])
        dtype = np.float32 if isinstance(value.type.get_element_type(), AnyFloat) else np.int64
        return np.ascontiguousarray(result.reshape(value.type.get_shape()), dtype=dtype)

    def _gather(self, op: linalg.GenericOp) -> None:
        """A generic copying activation elements by computed indices (upsampling, padding modes)."""
        body = op.body.block
        yielded = body.last_op.operands[0].owner
        extracts = [inner for inner in body.ops if inner.name == "tensor.extract"
                    and not isinstance(self.values.get(inner.operands[0]), np.ndarray)]
        if len(extracts) != 1 or yielded is not extracts[0] or len(op.results) != 1:
            raise DfccError(f"{location(op)}: computes with gathered activation elements", "lower-to-dataflow")
        source = self.gathered(yielded.operands[0], op)
        loop_shape = self._loop_shape(op)
        maps = [m.data for m in op.indexing_maps.data]
        args = [self._loop_aligned(self.const(v, op), m, loop_shape, op) for v, m in zip([*op.inputs, *op.outputs], maps)]
        constants = self._outer_scalar(op, tensors=True)
        lookup = lambda value: source.index if value is yielded.operands[0] else constants(value)  # noqa: E731
        (index,) = evaluate_body(body, args, lookup, _loop_indices(loop_shape))
        self.values[op.results[0]] = Gathered(source.act, self._to_output(index, maps[-1], loop_shape, op.results[0]).astype(np.int64), source.fill)

    @staticmethod
    def _param_array(array: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
        """A loop-aligned constant as a map parameter: in stream order, leading unit dims dropped."""
        array = np.transpose(array, perm)
        if array.size == 1:
            return np.ascontiguousarray(array.reshape(()))
        while array.ndim and array.shape[0] == 1:
            array = array[0]
        return np.ascontiguousarray(array)

    def _fold_index_terms(self, op: linalg.GenericOp, stream_inputs: list[int],
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
        env = {arg: self._loop_aligned(self.values[v], m, loop_shape, op)
               for arg, v, m in zip(body.args, operand_values, maps) if arg not in streamed and arg.uses}
        outer = self._outer_scalar(op, tensors=True)
        for inner in folded_ops:
            for v in inner.operands:
                if v not in env and v not in defined:
                    env[v] = outer(v)
        evaluate_ops(folded_ops, env, _loop_indices(loop_shape))
        folded = {}
        for value in sorted(defined, key=lambda v: folded_ops.index(v.owner)):
            if any(use.operation not in folded_ops for use in value.uses):
                array = np.asarray(env[value])
                array = array.reshape(array.shape if array.ndim == len(loop_shape) else (1,) * len(loop_shape))
                folded[value] = array.astype(np.float32) if isinstance(value.type, AnyFloat) else self._exact_float(array, op)
        return folded, set(folded_ops)

    def _map(self, op: linalg.GenericOp) -> None:
        loop_shape = self._loop_shape(op)
        maps = [m.data for m in op.indexing_maps.data]
        out_map = maps[-1]
        if [e.position if isinstance(e, AffineDimExpr) else None for e in out_map.results] != list(range(len(loop_shape))):
            self.reject(op, name="linalg.generic (non-identity output map)")
            return
        out_shape = op.results[0].type.get_shape()
        acts = [(i, self.act(v, op)) for i, v in enumerate(op.inputs) if isinstance(self.values.get(v), (Act, Padded, Gathered, Grouped))]
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
        folded, skipped = self._fold_index_terms(op, [i for i, _ in acts], loop_shape)
        for index in param_indices:
            array = self._loop_aligned(self.const(operand_values[index], op), maps[index], loop_shape, op)
            if isinstance(body_block.args[index].type, AnyFloat):
                params.append(self.weights(self._param_array(array, perm), self.fresh("param")))
                arg_order.append(index)
            else:  # integer or i1 (masks): a float parameter converted back in the body, like folded values
                folded[body_block.args[index]] = self._exact_float(array, op)
        for array in folded.values():
            params.append(self.weights(self._param_array(array, perm), self.fresh("param")))
        name = self.fresh("map")
        block = self._clone_body(body_block, arg_order, op, list(folded), skipped)
        out_type = df.StreamType([out_shape[p] for p in perm], op.results[0].type.get_element_type())
        node = kinds.MapOp.create(
            operands=[*streams, *params], result_types=[out_type], regions=[Region(block)],
            properties={"name": StringAttr(name), "operandSegmentSizes": DenseArrayBase.from_list(i32, [len(streams), len(params)])})
        self.emit(node)
        self.values[op.results[0]] = Act(node.output, out_shape, perm)

    def _clone_body(self, body: Block, arg_order: list[int], op: Operation, folded: list[SSAValue] = (),
                    skipped: set[Operation] = frozenset()) -> Block:
        """The generic's body as a self-contained map body: args reordered, outer scalars inlined.

        Each `folded` value (computed from loop indices) is read from a float parameter appended to
        the arguments and converted back to its type; the ops computing it (`skipped`) are left out.
        """
        block = Block(arg_types=[body.args[i].type for i in arg_order] + [Float32Type()] * len(folded))
        mapping: dict[SSAValue, SSAValue] = {body.args[i]: block.args[k] for k, i in enumerate(arg_order)}
        for value, arg in zip(folded, block.args[len(arg_order):]):
            mapping[value] = self._from_float_param(block, arg, value.type)
        for inner in body.ops:
            if inner.name == "cf.assert" or inner in skipped:
                continue
            if inner.name in INDEXING_OPS:
                raise DfccError(f"{location(op)}: element-wise body indexes with values computed from activations",
                                "lower-to-dataflow")
            for operand in inner.operands:
                if operand not in mapping:
                    scalar = self._outer_scalar(op)(operand)
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

    @staticmethod
    def _exact_float(array: np.ndarray, op: Operation) -> np.ndarray:
        """Integer constants as float32 map parameters (exact below 2^24)."""
        if np.any(np.abs(array) >= 2 ** 24):
            raise DfccError(f"{location(op)}: integer constants too large for a float parameter", "lower-to-dataflow")
        return np.asarray(array).astype(np.float32)

    @staticmethod
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
        raise DfccError(f"a map parameter of type {type_} is not supported", "lower-to-dataflow")

    def _reduction(self, op: linalg.GenericOp) -> None:
        body = op.body.block
        combiner = body.last_op.operands[0].owner
        reduction_kinds = {"arith.addf": "sum", "arith.maximumf": "max", "arith.maxnumf": "max", "arith.ori": "any", "arith.andi": "all"}
        out_arg = body.args[len(op.inputs)]
        # torch-mlir's max reduction also computes the argmax; dropped when nobody reads it.
        extra_unused = len(op.results) > 1 and all(not r.uses for r in op.results[1:])
        if (len(op.inputs) != 1 or (len(list(body.ops)) != 2 and not extra_unused) or combiner.name not in reduction_kinds
                or out_arg not in combiner.operands or body.args[0] not in combiner.operands):
            self.reject(op, name="linalg.generic (reduction other than sum or max)")
            return
        kind = reduction_kinds[combiner.name]
        if kind in ("any", "all") and combiner.results[0].type != i1:
            self.reject(op, name="linalg.generic (bitwise reduction of integers)")
            return
        init = self.const(op.outputs[0], op)
        expected = {"sum": 0.0, "max": -np.inf, "any": 0, "all": 1}[kind]
        if not np.all(init == expected):
            raise DfccError(f"{location(op)}: reduction starts from a non-neutral value", "lower-to-dataflow")
        act = self.act(op.inputs[0], op)
        if kind in ("any", "all"):  # of a mask: a max over 1.0 where the mask holds (any) or fails (all)
            act = self._unary_map(act, Float32Type(), lambda block, x: _select_constants(block, x, *((1.0, 0.0) if kind == "any" else (0.0, 1.0))))
        maps = [m.data for m in op.indexing_maps.data]
        if [e.position for e in maps[0].results if isinstance(e, AffineDimExpr)] != list(range(len(act.shape))):
            self.reject(op, name="linalg.generic (reduction with a permuting input map)")
            return
        kept = {e.position for e in maps[1].results if isinstance(e, AffineDimExpr)}
        reduced = [d for d in range(len(act.shape)) if d not in kept]
        node_kind = "max" if kind in ("any", "all") else kind
        node = self.emit(kinds.ReduceOp(act.stream, name=self.fresh(f"reduce_{node_kind}"), kind=node_kind,
                                     dims=sorted(act.perm.index(d) for d in reduced)))
        kept_shape = tuple(1 if d in reduced else s for d, s in enumerate(act.shape))
        result = Act(node.output, kept_shape, act.perm)
        if kind in ("any", "all"):
            predicate = "ogt" if kind == "any" else "olt"
            result = self._unary_map(result, i1, lambda block, x: _compare_constant(block, x, predicate, 0.5))
        out_shape = op.results[0].type.get_shape()
        self.values[op.results[0]] = result if kept_shape == out_shape else self.reshape(result, out_shape)

    def _unary_map(self, act: Act, element_type, body) -> Act:
        """A map node applying `body(block, x)` (which adds ops to `block` and returns the result) to each element."""
        block = Block(arg_types=[act.stream.type.element_type])
        block.add_op(kinds.YieldOp(body(block, block.args[0])))
        node = kinds.MapOp.create(
            operands=[act.stream], result_types=[df.StreamType(act.stream.type.get_shape(), element_type)],
            regions=[Region(block)],
            properties={"name": StringAttr(self.fresh("map")), "operandSegmentSizes": DenseArrayBase.from_list(i32, [1, 0])})
        self.emit(node)
        return Act(node.output, act.shape, act.perm)

    def on_return(self, op: func.ReturnOp) -> None:
        outputs = []
        for index, value in enumerate(op.arguments):
            act = self.act(value, op)
            outputs.append(self.emit(kinds.SinkOp(act.stream, act.perm, f"output{index}")).tensor)
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
    BatchMatmulOp: _Lowering.on_matmul,
    linalg.Conv2DNgchwGfchwOp: _Lowering.on_grouped_conv,
    linalg.Conv2DNgchwFgchwOp: _Lowering.on_grouped_conv,
    tensor.ExtractSliceOp: _Lowering.on_extract_slice,
    tensor.InsertSliceOp: _Lowering.on_insert_slice,
    tensor.ConcatOp: _Lowering.on_concat,
    GenericOp: _Lowering.on_generic,
    linalg.GenericOp: _Lowering.on_generic,
    func.ReturnOp: _Lowering.on_return,
    tm_tensor.ScanOp: _Lowering.on_scan,
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
