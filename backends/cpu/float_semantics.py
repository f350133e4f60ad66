"""Float semantics of every dataflow node as xDSL interpreter functions, on numpy arrays in stream
order (the CPU reference runs them; `fixed_point` refines them for fixed-point streams)."""

from typing import Any

import numpy as np
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls

from dfcc import kinds
from dfcc.backends.cpu import kernels
from dfcc.backends.cpu.scalar_body import evaluate_body
from dfcc.dialects.resources import elements_array


@register_impls
class DataflowFunctions(InterpreterFunctions):
    """One implementation per dataflow node; values are numpy arrays in stream order."""

    @impl(kinds.SourceOp)
    def run_source(self, interpreter: Interpreter, op: kinds.SourceOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(np.transpose(args[0], op.ints_prop("perm")), dtype=np.float32),)

    @impl(kinds.SinkOp)
    def run_sink(self, interpreter: Interpreter, op: kinds.SinkOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(np.transpose(args[0], np.argsort(op.ints_prop("perm"))), dtype=np.float32),)

    @impl(kinds.WeightsOp)
    def run_weights(self, interpreter: Interpreter, op: kinds.WeightsOp, args: tuple[Any, ...]):
        return (elements_array(op.value),)

    @impl(kinds.SparseWeightsOp)
    def run_sparse_weights(self, interpreter: Interpreter, op: kinds.SparseWeightsOp, args: tuple[Any, ...]):
        return (op.decode(),)

    @impl(kinds.ConvOp)
    def run_conv(self, interpreter: Interpreter, op: kinds.ConvOp, args: tuple[Any, ...]):
        x, weights, *bias = args
        return (kernels.conv2d(x, weights, bias[0] if bias else None, op.ints_prop("stride"),
                               op.ints_prop("dilation"), op.ints_prop("pad"), op.groups.value.data).astype(np.float32),)

    @impl(kinds.SparseConvOp)
    def run_sparse_conv(self, interpreter: Interpreter, op: kinds.SparseConvOp, args: tuple[Any, ...]):
        return self.run_conv(interpreter, op, args).values

    @impl(kinds.LinearOp)
    def run_linear(self, interpreter: Interpreter, op: kinds.LinearOp, args: tuple[Any, ...]):
        x, weights, *bias = args
        return (kernels.linear(x, weights, bias[0] if bias else None).astype(np.float32),)

    @impl(kinds.PoolOp)
    def run_pool(self, interpreter: Interpreter, op: kinds.PoolOp, args: tuple[Any, ...]):
        return (kernels.pool2d(args[0], op.kind.data, op.ints_prop("kernel"), op.ints_prop("stride"),
                               op.ints_prop("dilation"), op.ints_prop("pad")).astype(np.float32),)

    @impl(kinds.ReduceOp)
    def run_reduce(self, interpreter: Interpreter, op: kinds.ReduceOp, args: tuple[Any, ...]):
        return (kernels.reduce(args[0], op.kind.data, op.ints_prop("dims")).astype(np.float32),)

    @impl(kinds.MapOp)
    def run_map(self, interpreter: Interpreter, op: kinds.MapOp, args: tuple[Any, ...]):
        (result,) = evaluate_body(op.body.block, args)
        return (np.ascontiguousarray(np.broadcast_to(result, op.output.type.get_shape()), dtype=np.float32),)

    @impl(kinds.ForkOp)
    def run_fork(self, interpreter: Interpreter, op: kinds.ForkOp, args: tuple[Any, ...]):
        return tuple(args[0] for _ in op.outputs)

    @impl(kinds.ReshapeOp)
    def run_reshape(self, interpreter: Interpreter, op: kinds.ReshapeOp, args: tuple[Any, ...]):
        return (args[0].reshape(op.output.type.get_shape()),)

    @impl(kinds.TransposeOp)
    def run_transpose(self, interpreter: Interpreter, op: kinds.TransposeOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(np.transpose(args[0], op.ints_prop("perm"))),)

    @impl(kinds.ConcatOp)
    def run_concat(self, interpreter: Interpreter, op: kinds.ConcatOp, args: tuple[Any, ...]):
        return (np.concatenate(args, axis=op.axis.value.data),)

    @impl(kinds.SliceOp)
    def run_slice(self, interpreter: Interpreter, op: kinds.SliceOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(kernels.slice_(args[0], op.ints_prop("offsets"), op.output.type.get_shape(),
                                                    op.ints_prop("strides"))),)

    @impl(kinds.PadOp)
    def run_pad(self, interpreter: Interpreter, op: kinds.PadOp, args: tuple[Any, ...]):
        return (kernels.pad(args[0], op.ints_prop("pad"), op.mode.data, op.value.value.data).astype(np.float32),)

    @impl(kinds.ResizeOp)
    def run_resize(self, interpreter: Interpreter, op: kinds.ResizeOp, args: tuple[Any, ...]):
        return (kernels.resize(args[0], op.ints_prop("scale"), op.mode.data),)

    @impl(kinds.MatmulOp)
    def run_matmul(self, interpreter: Interpreter, op: kinds.MatmulOp, args: tuple[Any, ...]):
        return (np.matmul(args[0], args[1]).astype(np.float32),)
