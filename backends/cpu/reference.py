"""The CPU reference: runs a dataflow graph with numpy, node by node, as xDSL interpreter functions.

It is the oracle the HLS C simulation is checked against, so it computes exactly what the nodes
mean, in stream order, with the shared scalar-body semantics of `scalar_body`.
"""

from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.func import FuncFunctions

from dfcc.backends.cpu import kernels
from dfcc.backends.cpu.scalar_body import evaluate_body
from dfcc.dialects import dataflow as df
from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError


@register_impls
class DataflowFunctions(InterpreterFunctions):
    """One implementation per dataflow node; values are numpy arrays in stream order."""

    @impl(df.SourceOp)
    def run_source(self, interpreter: Interpreter, op: df.SourceOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(np.transpose(args[0], op.ints_prop("perm")), dtype=np.float32),)

    @impl(df.SinkOp)
    def run_sink(self, interpreter: Interpreter, op: df.SinkOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(np.transpose(args[0], np.argsort(op.ints_prop("perm"))), dtype=np.float32),)

    @impl(df.WeightsOp)
    def run_weights(self, interpreter: Interpreter, op: df.WeightsOp, args: tuple[Any, ...]):
        return (elements_array(op.value),)

    @impl(df.ConvOp)
    def run_conv(self, interpreter: Interpreter, op: df.ConvOp, args: tuple[Any, ...]):
        x, weights, *bias = args
        return (kernels.conv2d(x, weights, bias[0] if bias else None, op.ints_prop("stride"),
                               op.ints_prop("dilation"), op.ints_prop("pad"), op.groups.value.data).astype(np.float32),)

    @impl(df.LinearOp)
    def run_linear(self, interpreter: Interpreter, op: df.LinearOp, args: tuple[Any, ...]):
        x, weights, *bias = args
        return (kernels.linear(x, weights, bias[0] if bias else None).astype(np.float32),)

    @impl(df.PoolOp)
    def run_pool(self, interpreter: Interpreter, op: df.PoolOp, args: tuple[Any, ...]):
        return (kernels.pool2d(args[0], op.kind.data, op.ints_prop("kernel"), op.ints_prop("stride"),
                               op.ints_prop("dilation"), op.ints_prop("pad")).astype(np.float32),)

    @impl(df.ReduceOp)
    def run_reduce(self, interpreter: Interpreter, op: df.ReduceOp, args: tuple[Any, ...]):
        return (kernels.reduce(args[0], op.kind.data, op.ints_prop("dims")).astype(np.float32),)

    @impl(df.MapOp)
    def run_map(self, interpreter: Interpreter, op: df.MapOp, args: tuple[Any, ...]):
        (result,) = evaluate_body(op.body.block, args)
        return (np.ascontiguousarray(np.broadcast_to(result, op.output.type.get_shape()), dtype=np.float32),)

    @impl(df.ForkOp)
    def run_fork(self, interpreter: Interpreter, op: df.ForkOp, args: tuple[Any, ...]):
        return tuple(args[0] for _ in op.outputs)

    @impl(df.ReshapeOp)
    def run_reshape(self, interpreter: Interpreter, op: df.ReshapeOp, args: tuple[Any, ...]):
        return (args[0].reshape(op.output.type.get_shape()),)

    @impl(df.TransposeOp)
    def run_transpose(self, interpreter: Interpreter, op: df.TransposeOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(np.transpose(args[0], op.ints_prop("perm"))),)

    @impl(df.ConcatOp)
    def run_concat(self, interpreter: Interpreter, op: df.ConcatOp, args: tuple[Any, ...]):
        return (np.concatenate(args, axis=op.axis.value.data),)

    @impl(df.SliceOp)
    def run_slice(self, interpreter: Interpreter, op: df.SliceOp, args: tuple[Any, ...]):
        return (np.ascontiguousarray(kernels.slice_(args[0], op.ints_prop("offsets"), op.output.type.get_shape(),
                                                    op.ints_prop("strides"))),)

    @impl(df.PadOp)
    def run_pad(self, interpreter: Interpreter, op: df.PadOp, args: tuple[Any, ...]):
        return (kernels.pad(args[0], op.ints_prop("pad"), op.mode.data, op.value.value.data).astype(np.float32),)

    @impl(df.ResizeOp)
    def run_resize(self, interpreter: Interpreter, op: df.ResizeOp, args: tuple[Any, ...]):
        return (kernels.resize(args[0], op.ints_prop("scale"), op.mode.data),)

    @impl(df.MatmulOp)
    def run_matmul(self, interpreter: Interpreter, op: df.MatmulOp, args: tuple[Any, ...]):
        return (np.matmul(args[0], args[1]).astype(np.float32),)


def run_reference(module: ModuleOp, inputs: list[np.ndarray], function: str = "main",
                  observers: tuple[Interpreter.Listener, ...] = ()) -> list[np.ndarray]:
    """Outputs of `function` for `inputs` (PyTorch layout in, PyTorch layout out).

    A graph with fixed-point streams runs bit-accurately (`fixed_point`); `observers` (xDSL
    interpreter listeners) see every node's results, e.g. to calibrate quantization.
    """
    func_op = next((op for op in module.walk() if getattr(op, "sym_name", None) and op.sym_name.data == function), None)
    if func_op is None:
        raise DfccError(f"no function @{function} in the module")
    expected = [t.get_shape() for t in func_op.function_type.inputs.data]
    if len(inputs) != len(expected):
        raise DfccError(f"@{function} takes {len(expected)} inputs, got {len(inputs)}")
    for index, (array, shape) in enumerate(zip(inputs, expected)):
        if tuple(array.shape) != tuple(shape):
            raise DfccError(f"input arg{index} has shape {tuple(array.shape)}, @{function} expects {tuple(shape)}")
    unsupported = sorted({op.name for op in func_op.body.walk() if op is not func_op and op.parent_op() is func_op
                          and not isinstance(op, df.NodeOp) and op.name != "func.return"})
    if unsupported:
        raise DfccError(f"the CPU reference runs dataflow graphs only; found {', '.join(unsupported)} "
                        "(run the lower-to-dataflow pass first: -p lower-to-dataflow)")
    interpreter = Interpreter(module, listeners=tuple(observers))
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(DataflowFunctions())
    from dfcc.backends.cpu import fixed_point  # imports this module

    if fixed_point.uses_fixed_point(func_op):
        interpreter.register_implementations(fixed_point.FixedPointFunctions(), override=True)
    return list(interpreter.call_op(function, tuple(np.asarray(a, dtype=np.float32) for a in inputs)))
