"""The CPU reference: runs a dataflow graph with numpy, node by node, as xDSL interpreter functions.

It is the oracle the HLS C simulation is checked against, so it computes exactly what the nodes
mean, in stream order, with the shared scalar-body semantics of `scalar_body`.
"""

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter
from xdsl.interpreters.func import FuncFunctions

from dfcc.backends.cpu import fixed_point
from dfcc.backends.cpu.float_semantics import DataflowFunctions
from dfcc.dialects import dataflow as df
from dfcc.errors import DfccError


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
    if fixed_point.uses_fixed_point(func_op):
        interpreter.register_implementations(fixed_point.FixedPointFunctions(), override=True)
    return list(interpreter.call_op(function, tuple(np.asarray(a, dtype=np.float32) for a in inputs)))
