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

from dfcc.analyses.small_pages import small_pages
from dfcc.dialects.dataflow import NodeOp
from dfcc.dialects.fixed_point import uses_fixed_point
from dfcc.errors import DfccError
from dfcc.kinds import KINDS, NodeKind, SparseWeightsOp, WeightsOp, kind_of
from dfcc.kinds.weights import ConstantKind


def run_reference(module: ModuleOp, inputs: list[np.ndarray], function: str = "main",
                  observers: tuple[Interpreter.Listener, ...] = ()) -> list[np.ndarray]:
    """Outputs of `function` for `inputs` (PyTorch layout in, PyTorch layout out).

    A graph with fixed-point streams runs bit-accurately; `observers` (xDSL interpreter listeners)
    see every node's results, e.g. to calibrate quantization.
    """
    return Reference(module, function, keep_constants=False).run(inputs, observers)


class Reference:
    """`function` of `module` ready to run on many inputs (a pass's calibration runs): checked and its
    interpreter functions built once, and (`keep_constants`) its constants (weights) computed by the
    first run and handed read-only to the later ones. The module must not change between runs."""

    def __init__(self, module: ModuleOp, function: str = "main", keep_constants: bool = True):
        func_op = next((op for op in module.walk() if getattr(op, "sym_name", None) and op.sym_name.data == function), None)
        if func_op is None:
            raise DfccError(f"no function @{function} in the module")
        unsupported = sorted({op.name for op in func_op.body.walk() if op is not func_op and op.parent_op() is func_op
                              and not isinstance(op, NodeOp) and op.name != "func.return"})
        if unsupported:
            raise DfccError(f"the CPU reference runs dataflow graphs only; found {', '.join(unsupported)} "
                            "(run the lower-to-dataflow pass first: -p lower-to-dataflow)")
        self.module, self.function, self._types = module, function, func_op.function_type.inputs.data
        self._functions = _kind_functions("run_fixed" if uses_fixed_point(func_op) else "run_float", keep_constants)()

    def run(self, inputs: list[np.ndarray], observers: tuple[Interpreter.Listener, ...] = ()) -> list[np.ndarray]:
        """Outputs for `inputs`, `observers` seeing every node's results (run_reference)."""
        function = self.function
        if len(inputs) != len(self._types):
            raise DfccError(f"@{function} takes {len(self._types)} inputs, got {len(inputs)}")
        for index, (array, type_) in enumerate(zip(inputs, self._types)):
            if tuple(array.shape) != tuple(type_.get_shape()):
                raise DfccError(f"input arg{index} has shape {tuple(array.shape)}, @{function} expects "
                                f"{tuple(type_.get_shape())}")
        interpreter = Interpreter(self.module, listeners=tuple(observers))
        interpreter.register_implementations(FuncFunctions())
        interpreter.register_implementations(self._functions)
        arrays = tuple(_argument(a, t, index) for index, (a, t) in enumerate(zip(inputs, self._types)))
        with small_pages():  # its many multi-MB temporaries (analyses/small_pages.py)
            return list(interpreter.call_op(function, arrays))


def _argument(array: np.ndarray, type_, index: int) -> np.ndarray:
    """An input as its argument takes it: float32 numbers, or int64 for integer arguments (token ids)."""
    if not isinstance(type_.get_element_type(), IntegerType):
        return np.asarray(array, dtype=np.float32)
    if not np.array_equal(array, np.round(array)):
        raise DfccError(f"input arg{index} feeds an integer argument ({type_}) but holds non-integer values")
    return np.asarray(array, dtype=np.int64)


def _kind_functions(semantics: str, keep_constants: bool) -> type[InterpreterFunctions]:
    """xDSL interpreter functions running every registered kind's `semantics` method; with
    `keep_constants`, a constant kind's (weights) results are kept from their first run, read-only,
    for every later one."""
    constants: dict[NodeOp, tuple] = {}

    def implementation(op_type: type[NodeOp], kind: NodeKind):
        run = getattr(kind, semantics)

        @impl(op_type)
        def run_node(self, interpreter: Interpreter, op: NodeOp, args: tuple):
            return run(op, args)

        @impl(op_type)
        def run_constant(self, interpreter: Interpreter, op: NodeOp, args: tuple):
            if op not in constants:
                constants[op] = tuple(_read_only(value) for value in run(op, args))
            return constants[op]

        return run_constant if keep_constants and isinstance(kind, ConstantKind) else run_node

    namespace = {f"run_{op_type.name}": implementation(op_type, kind) for op_type, kind in KINDS.items()}
    return register_impls(type("KindFunctions", (InterpreterFunctions,), namespace))


def _read_only(value):
    """A constant as no later run's consumer can change it: read-only, a copy of it if it was not."""
    if not isinstance(value, np.ndarray) or not value.flags.writeable:
        return value
    copy = np.array(value)
    copy.setflags(write=False)
    return copy


def check_weights_on_grid(module: ModuleOp) -> None:
    """Refuse weights whose values are off the grid of their `format`, as the reference does, for
    consumers (the C simulation) that would otherwise round them silently."""
    for op in module.walk():
        if isinstance(op, (WeightsOp, SparseWeightsOp)) and op.format is not None:
            kind_of(op).run_fixed(op, ())  # raises for values off the grid
