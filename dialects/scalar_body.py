"""Vectorised evaluation of scalar bodies (the arith/math ops inside map nodes and linalg.generic).

A body describes what happens to one element; evaluating each op once on whole numpy arrays
computes it for every element at numpy speed. The lowering uses this to fold constants and the
CPU reference to run map nodes, so both share one meaning of every scalar op.
"""

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr, i1
from xdsl.ir import Block, Operation, SSAValue

from dfcc.errors import DfccError


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.2e-7 (Numerical Recipes' erfc Chebyshev fit), since numpy has none."""
    z = np.abs(x.astype(np.float64))
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    return (np.sign(x) * (1.0 - t * np.exp(poly))).astype(x.dtype)


_CMPF: dict[str, Callable] = {
    "oeq": np.equal, "ueq": np.equal, "one": np.not_equal, "une": np.not_equal,
    "ogt": np.greater, "ugt": np.greater, "oge": np.greater_equal, "uge": np.greater_equal,
    "olt": np.less, "ult": np.less, "ole": np.less_equal, "ule": np.less_equal,
}

_UNARY: dict[str, Callable] = {
    "arith.negf": np.negative, "math.exp": np.exp, "math.log": np.log, "math.tanh": np.tanh,
    "math.sqrt": np.sqrt, "math.rsqrt": lambda x: 1 / np.sqrt(x), "math.absf": np.abs, "math.erf": _erf,
    "math.floor": np.floor, "math.ceil": np.ceil, "math.roundeven": np.round,
    "math.sin": np.sin, "math.cos": np.cos, "math.exp2": np.exp2, "math.log2": np.log2, "math.log1p": np.log1p,
    "math.expm1": np.expm1, "math.trunc": np.trunc,
}

_BINARY: dict[str, Callable] = {
    "arith.addf": np.add, "arith.subf": np.subtract, "arith.mulf": np.multiply, "arith.divf": np.divide,
    "arith.maximumf": np.maximum, "arith.minimumf": np.minimum, "arith.maxnumf": np.fmax,
    "arith.minnumf": np.fmin, "math.powf": np.power, "arith.remf": np.fmod,
}

_CMPI: dict[str, Callable] = {
    "eq": np.equal, "ne": np.not_equal, "slt": np.less, "sle": np.less_equal, "sgt": np.greater,
    "sge": np.greater_equal, "ult": np.less, "ule": np.less_equal, "ugt": np.greater, "uge": np.greater_equal,
}

# Integer and index arithmetic: index computations of gathers (padding modes, upsampling, flips).
_INTEGER: dict[str, Callable] = {
    "arith.addi": np.add, "arith.subi": np.subtract, "arith.muli": np.multiply,
    "arith.divsi": lambda a, b: np.trunc(np.true_divide(a, b)).astype(np.int64),
    "arith.floordivsi": np.floor_divide, "arith.remsi": np.fmod, "arith.maxsi": np.maximum, "arith.minsi": np.minimum,
    "arith.ceildivsi": lambda a, b: -np.floor_divide(-np.asarray(a), b),
    "arith.divui": np.floor_divide, "arith.remui": np.remainder, "arith.maxui": np.maximum, "arith.minui": np.minimum,
    # bitwise ops: i1 masks (causal attention) combine with these; on 0/1 values they are logic ops
    "arith.andi": np.bitwise_and, "arith.ori": np.bitwise_or, "arith.xori": np.bitwise_xor,
    "arith.shli": np.left_shift, "arith.shrsi": np.right_shift,
}
_CASTS = {"arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui", "arith.trunci", "arith.fptosi",
          "arith.fptoui", "arith.sitofp", "arith.uitofp"}

SUPPORTED_SCALAR_OPS = frozenset(_UNARY) | frozenset(_BINARY) | frozenset(_INTEGER) | frozenset(_CASTS) | {
    "arith.constant", "arith.cmpf", "arith.cmpi", "arith.select", "arith.truncf", "arith.extf", "math.fpowi",
    "cf.assert", "math.absi",
}
# Ops a body may use only while the lowering folds it (loop indices, reads of whole tensors).
INDEXING_OPS = frozenset({"linalg.index", "tensor.extract"})


def constant_value(op: arith.ConstantOp) -> np.ndarray:
    value = op.value
    if isinstance(value, IntegerAttr):  # i1 true is stored as -1: read it as 1
        return np.asarray(value.value.data != 0 if value.type == i1 else value.value.data, dtype=np.int64)
    if hasattr(value, "value") and hasattr(value.value, "data"):
        return np.asarray(value.value.data, dtype=np.float64 if value.type.name == "f64" else np.float32)
    raise DfccError(f"unsupported scalar constant {value}")


def evaluate_op(op: Operation, args: list, indices: Sequence[np.ndarray] | None = None) -> np.ndarray | None:
    """The value of one scalar op on numpy arrays (its operands, broadcast element-wise)."""
    name = op.name
    if name in _INTEGER:
        return _INTEGER[name](args[0], args[1])
    if name == "arith.trunci" and op.results[0].type == i1:
        return np.asarray(args[0]).astype(np.int64) & 1
    if name in ("arith.index_cast", "arith.index_castui", "arith.extsi", "arith.extui", "arith.trunci", "arith.fptosi",
                "arith.fptoui"):
        return np.asarray(args[0]).astype(np.int64)
    if name in ("arith.sitofp", "arith.uitofp"):
        return np.asarray(args[0]).astype(np.float64 if op.results[0].type.name == "f64" else np.float32)
    if name == "math.absi":
        return np.abs(args[0])
    if name == "arith.cmpi":
        return _CMPI[arith.CMPI_COMPARISON_OPERATIONS[op.predicate.value.data]](args[0], args[1])
    if name == "linalg.index" and indices is not None:
        return indices[op.dim.value.data]
    if name == "tensor.extract":
        return args[0][tuple(np.asarray(i, dtype=np.int64) for i in args[1:])]
    if name in _BINARY:
        return _BINARY[name](args[0], args[1])
    if name in _UNARY:
        return _UNARY[name](args[0])
    if name == "arith.constant":
        return constant_value(op)
    if name == "arith.cmpf":
        predicate = op.predicate.value.data
        return _CMPF[arith.CMPF_COMPARISON_OPERATIONS[predicate]](args[0], args[1])
    if name == "arith.select":
        return np.where(args[0], args[1], args[2])
    if name in ("arith.truncf", "arith.extf"):
        return np.asarray(args[0], dtype=np.float32 if op.result.type.name == "f32" else np.float64)
    if name == "math.fpowi":
        return np.power(args[0], args[1])
    if name == "cf.assert":
        return None
    raise DfccError(f"unsupported scalar operation '{name}' in an element-wise body")


def evaluate_ops(ops: Sequence[Operation], env: dict[SSAValue, np.ndarray],
                 indices: Sequence[np.ndarray] | None = None) -> dict[SSAValue, np.ndarray]:
    """Evaluates `ops` in order (operands from `env`), adding their results to `env`."""
    with np.errstate(all="ignore"):
        for op in ops:
            result = evaluate_op(op, [env[v] for v in op.operands], indices)
            if op.results:
                env[op.results[0]] = result
    return env


def evaluate_body(block: Block, args: Sequence[np.ndarray], outer: Callable[[SSAValue], np.ndarray] | None = None,
                  indices: Sequence[np.ndarray] | None = None) -> list[np.ndarray]:
    """Values yielded by `block` with its arguments bound to `args` (broadcasting numpy arrays).

    `outer` resolves values defined outside the block (constants of the enclosing function);
    `indices` are the loop index grids `linalg.index` reads (when folding a linalg.generic).
    """
    env: dict[SSAValue, np.ndarray] = dict(zip(block.args, args))

    def lookup(value: SSAValue) -> np.ndarray:
        if value in env:
            return env[value]
        if outer is None:
            raise DfccError("element-wise body uses a value defined outside it")
        return outer(value)

    with np.errstate(all="ignore"):
        for op in block.ops:
            operands = [lookup(v) for v in op.operands]
            if op is block.last_op:
                return [np.asarray(v, dtype=np.float32) if np.asarray(v).dtype == np.float64 else v for v in operands]
            result = evaluate_op(op, operands, indices)
            if op.results:
                env[op.results[0]] = result
    raise DfccError("element-wise body has no terminator")
