"""The reference interpreter: runs a dataflow graph with numpy, node by node, through each node
kind's `run_float` (or, in a graph with fixed-point streams, its bit-exact `run_fixed`).

It is the oracle the HLS C simulation is checked against and what the calibrating passes
(quantize, activation-sparsity, the searches) measure streams with; it runs on xDSL's Interpreter
so they can observe every node's results through interpreter listeners.
"""

import numpy as np
from xdsl.dialects.builtin import IntegerType, ModuleOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.func import FuncFunctions

from dfcc.dialects.dataflow import NodeOp
from dfcc.dialects.fixed_point import uses_fixed_point
from dfcc.errors import DfccError
from dfcc.kinds import KINDS, NodeKind, SparseWeightsOp, WeightsOp, kind_of


def run_reference(module: ModuleOp, inputs: list[np.ndarray], function: str = "main",
                  observers: tuple[Interpreter.Listener, ...] = ()) -> list[np.ndarray]:
    """Outputs of `function` for `inputs` (PyTorch layout in, PyTorch layout out).

    A graph with fixed-point streams runs bit-accurately; `observers` (xDSL interpreter listeners)
    see every node's results, e.g. to calibrate quantization.
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
                          and not isinstance(op, NodeOp) and op.name != "func.return"})
    if unsupported:
        raise DfccError(f"the CPU reference runs dataflow graphs only; found {', '.join(unsupported)} "
                        "(run the lower-to-dataflow pass first: -p lower-to-dataflow)")
    interpreter = Interpreter(module, listeners=tuple(observers))
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(_kind_functions("run_fixed" if uses_fixed_point(func_op) else "run_float")())
    arrays = tuple(_argument(a, t, index) for index, (a, t) in enumerate(zip(inputs, func_op.function_type.inputs.data)))
    return list(interpreter.call_op(function, arrays))


def _argument(array: np.ndarray, type_, index: int) -> np.ndarray:
    """An input as its argument takes it: float32 numbers, or int64 for integer arguments (token ids)."""
    if not isinstance(type_.get_element_type(), IntegerType):
        return np.asarray(array, dtype=np.float32)
    if not np.array_equal(array, np.round(array)):
        raise DfccError(f"input arg{index} feeds an integer argument ({type_}) but holds non-integer values")
    return np.asarray(array, dtype=np.int64)


def _kind_functions(semantics: str) -> type[InterpreterFunctions]:
    """xDSL interpreter functions running every registered kind's `semantics` method."""

    def implementation(op_type: type[NodeOp], kind: NodeKind):
        run = getattr(kind, semantics)

        @impl(op_type)
        def run_node(self, interpreter: Interpreter, op: NodeOp, args: tuple):
            return run(op, args)

        return run_node

    namespace = {f"run_{op_type.name}": implementation(op_type, kind) for op_type, kind in KINDS.items()}
    return register_impls(type("KindFunctions", (InterpreterFunctions,), namespace))


def check_weights_on_grid(module: ModuleOp) -> None:
    """Refuse weights whose values are off the grid of their `format`, as the reference does, for
    consumers (the C simulation) that would otherwise round them silently."""
    for op in module.walk():
        if isinstance(op, (WeightsOp, SparseWeightsOp)) and op.format is not None:
            kind_of(op).run_fixed(op, ())  # raises for values off the grid
