"""The lowering's state and driver: the value every linalg tensor holds while lowering, the walk,
and the registry of handlers (`@lowers(OpClass)`), one module per node kind produced.

The walk goes over the function once, in order, like an abstract interpreter: every tensor value
is either a compile-time constant (a numpy array) or an activation stream with a layout (`Act`),
or pending data movement (`Padded`, `Grouped`, `Gathered`) turned into nodes when read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func, tensor
from xdsl.dialects.builtin import DYNAMIC_INDEX, AnyFloat
from xdsl.ir import Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from dfcc import kinds
from dfcc.dialects import dataflow as df
from dfcc.dialects.resources import make_resource
from dfcc.dialects.scalar_body import SUPPORTED_SCALAR_OPS, evaluate_ops
from dfcc.dialects.source_lines import source_line
from dfcc.errors import DfccError
from dfcc.passes.data_movement import classify_axis, separable_maps

NCHW_TO_STREAM = (0, 2, 3, 1)
UNRECOGNISED_GATHER = ("this data movement (gather) reads the activation by an index that is not one index per dim "
                       "(or fills some of a dim's entries with constants in a pattern that is not a padding): not "
                       "supported")



def default_perm(rank: int) -> tuple[int, ...]:
    """Stream order for a tensor of this rank: channels last for images, as is otherwise."""
    return NCHW_TO_STREAM if rank == 4 else tuple(range(rank))


def _static(type_) -> bool:
    shape = type_.get_shape() if hasattr(type_, "get_shape") else ()
    return all(d >= 0 for d in shape)


def _significant(shape, perm) -> list[int]:
    return [p for p in perm if shape[p] != 1]


def stream_order_reshape(old: tuple[int, ...], perm: tuple[int, ...], new: tuple[int, ...]) -> tuple[int, ...] | None:
    """The stream order of `new` when a row-major reshape old -> new can be done on a stream holding
    `old` in order `perm`: each group of old dims the reshape merges or splits must be adjacent and
    in order in the stream. None when it cannot (the stream must be put in logical order first)."""
    old_dims, new_dims = [d for d in range(len(old)) if old[d] != 1], [d for d in range(len(new)) if new[d] != 1]
    groups, i, j = [], 0, 0
    while i < len(old_dims) and j < len(new_dims):
        olds, news, a, b = [old_dims[i]], [new_dims[j]], old[old_dims[i]], new[new_dims[j]]
        i, j = i + 1, j + 1
        while a != b:
            if a < b and i < len(old_dims):
                olds.append(old_dims[i])
                a, i = a * old[old_dims[i]], i + 1
            elif b < a and j < len(new_dims):
                news.append(new_dims[j])
                b, j = b * new[new_dims[j]], j + 1
            else:
                return None
        groups.append((olds, news))
    if i < len(old_dims) or j < len(new_dims):
        return None
    stream = _significant(old, perm)
    placed = []
    for olds, news in groups:
        at = stream.index(olds[0])
        if stream[at:at + len(olds)] != olds:
            return None
        placed.append((at, news))
    order = [d for _, news in sorted(placed) for d in news]
    for unit in (d for d in range(len(new)) if new[d] == 1):  # size-1 dims: where they keep the order sorted
        at = next((k for k, d in enumerate(order) if d > unit), len(order))
        order.insert(at, unit)
    return tuple(order)


def _without_unit_dims(shape: tuple[int, ...], rank: int) -> tuple[int, ...] | None:
    """`shape` at `rank` by dropping its last unit dims, or None when it has too few."""
    dims = list(shape)
    for d in reversed(range(len(dims))):
        if len(dims) > rank and dims[d] == 1:
            del dims[d]
    return tuple(dims) if len(dims) == rank else None


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


def element_type(type_):
    """A shaped type's element type; a scalar type itself."""
    return type_.get_element_type() if hasattr(type_, "get_element_type") else type_


def ungrouped(shape: tuple[int, ...]) -> tuple[int, ...]:
    """N x G x C/G x H x W as N x C x H x W."""
    n, g, c, h, w = shape
    return (n, g * c, h, w)


def logical_shape(item) -> tuple[int, ...]:
    """The logical tensor shape of an activation or a padded one."""
    if isinstance(item, Padded):
        n, c, h, w = item.act.shape
        return (n, c, h + item.pad[0] + item.pad[1], w + item.pad[2] + item.pad[3])
    return item.shape


def per_channel_bias(init: np.ndarray, op: Operation) -> np.ndarray | None:
    """The per-filter bias a conv/matmul starts from (its `outs` init), or None when zero."""
    channel_first = init.reshape(init.shape[0], init.shape[1], -1)
    bias = channel_first[0, :, 0]
    if not np.array_equal(channel_first, np.broadcast_to(bias[None, :, None], channel_first.shape)):
        raise DfccError(f"{location(op)}: the accumulator init is not a per-channel bias", "lower-to-dataflow")
    return None if not bias.any() else np.ascontiguousarray(bias)



Handler = Callable[["Lowering", Operation], None]
HANDLERS: dict[type[Operation], Handler] = {}


def lowers(*op_types: type[Operation]) -> Callable[[Handler], Handler]:
    """Decorator: make the function the lowering of these op classes (one handler per class)."""

    def register(handler: Handler) -> Handler:
        for op_type in op_types:
            if op_type in HANDLERS:
                raise ValueError(f"{op_type.name} has two lowering handlers")
            HANDLERS[op_type] = handler
        return handler

    return register


@dataclass
class Lowering:
    """The lowering of one function: what each tensor value holds and the nodes built so far."""

    func_op: func.FuncOp
    values: dict[SSAValue, np.ndarray | Act | Padded] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    unsupported: dict[str, tuple[Operation, str]] = field(default_factory=dict)
    poisoned: set[SSAValue] = field(default_factory=set)
    new_ops: list[Operation] = field(default_factory=list)

    # ---- helpers for the handlers ----------------------------------------------------------------
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
        if index.ndim > len(act.shape) and (shape := _without_unit_dims(index.shape, len(act.shape))):
            # extra unit dims (adaptive pooling's one-element windows, e.g. upsampling 1x1 to 7x7): gather at
            # the data's rank, then insert them
            inner, _ = self.materialize(Gathered(act, index.reshape(shape), g.fill), op)
            return self.reshape(inner, index.shape), (0, 0, 0, 0)
        if index.ndim != len(act.shape):
            raise DfccError(f"{location(op)}: this gather reads rank-{len(act.shape)} data into rank {index.ndim} "
                            "(windows of varying size, as in adaptive pooling to an output size that does not "
                            "divide the input size): not supported; pick sizes that divide", "lower-to-dataflow")
        if np.array_equal(index, np.arange(index.size).reshape(index.shape)) and index.shape == act.shape:
            return act, (0, 0, 0, 0)
        maps = separable_maps(index, act.shape)
        if maps is None:
            raise DfccError(f"{location(op)}: {UNRECOGNISED_GATHER}", "lower-to-dataflow")
        steps = [classify_axis(m, n) for m, n in zip(maps, act.shape)]
        rank = len(act.shape)
        order = act.perm
        for a in (a for a in range(rank) if steps[a] is None):  # any other order: read that dim by its index
            if (maps[a] < 0).any():
                raise DfccError(f"{location(op)}: {UNRECOGNISED_GATHER}", "lower-to-dataflow")
            node = self.emit(kinds.ReindexOp(act.stream, order.index(a), maps[a].tolist(), self.fresh("reindex")))
            act = Act(node.output, tuple(len(maps[a]) if d == a else n for d, n in enumerate(act.shape)), act.perm)
            steps[a] = ((0, 1, len(maps[a])), None, None)
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
        """Row-major reshape of the logical tensor, streamed channels-last when the order allows.

        A stream in another order than the logical one is reshaped in its own order when the reshape
        only merges or splits dims the stream holds together (a conv's NHWC output flattened to
        tokens), so no buffered transpose is built for it."""
        if _significant(act.shape, act.perm) != _significant(act.shape, tuple(range(len(act.shape)))):
            perm = stream_order_reshape(act.shape, act.perm, shape)
            if perm is not None:
                stream_shape = [shape[p] for p in perm]
                if stream_shape == list(act.stream.type.get_shape()):
                    return Act(act.stream, shape, perm)
                node = self.emit(kinds.ReshapeOp(act.stream, stream_shape, self.fresh("reshape")))
                return Act(node.output, shape, perm)
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
            if not all(_static(r.type) for r in op.results) and not isinstance(op, tensor.CastOp):
                self.reject(op, "dynamic shapes are not supported (streams have static sizes)")
                continue
            handler = HANDLERS.get(type(op))
            if handler is None and op.name in SUPPORTED_SCALAR_OPS and op.name != "arith.constant":
                handler = Lowering.fold_scalar_op
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
                computed = item.shape if isinstance(item, (np.ndarray, Grouped)) else logical_shape(item)
            if len(computed) != len(declared) or any(d not in (c, DYNAMIC_INDEX) for c, d in zip(computed, declared)):
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

    def fold_scalar_op(self, op: Operation) -> None:
        """arith/math ops outside bodies (scalar conversions of padding values, masks) on constants."""
        env = {v: self.const(v, op) for v in op.operands}
        evaluate_ops([op], env)
        for result in op.results:
            dtype = np.float32 if isinstance(element_type(result.type), AnyFloat) else np.int64
            self.values[result] = np.asarray(env[result]).astype(dtype)
