"""Model inputs from numpy files: `.npz` with keys arg0, arg1, ... (or one `.npy`).

Inputs must be real numbers (bool, integer or float arrays) and finite: a NaN or an infinity has
no fixed-point code and float hardware and the reference would not agree on it, so it is refused.
"""

import zipfile
import zlib
from tokenize import TokenError

import numpy as np
from xdsl.dialects.builtin import IntegerType

from dfcc.dialects.dataflow import NodeOp
from dfcc.errors import DfccError
from dfcc.kinds import EmbeddingOp

_NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: complex, strings, objects, dates are refused


def load_inputs(path: str) -> list[np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            arrays = {"arg0": data}
        else:
            with data:
                arrays = _named_arrays(data, path)  # reads every array now: a bad CRC shows here
    except (OSError, ValueError, EOFError, SyntaxError, TokenError, RecursionError, zipfile.BadZipFile,
            zlib.error) as error:  # what numpy raises on a damaged file or .npy header
        raise DfccError(f"cannot read inputs (not a readable .npy or .npz file): {error or type(error).__name__}", path) from None
    for key, array in arrays.items():
        _check_input(key, array, path)
    return list(arrays.values())


def _named_arrays(data, path: str) -> dict[str, np.ndarray]:
    keys = sorted((k for k in data.files if k.startswith("arg") and k[3:].isdigit()), key=lambda k: int(k[3:]))
    if not keys or keys != [f"arg{i}" for i in range(len(keys))]:
        raise DfccError(f"input .npz must hold arrays arg0, arg1, ... (found: {', '.join(data.files) or 'none'})", path)
    return {k: data[k] for k in keys}


def _check_input(key: str, array: np.ndarray, path: str) -> None:
    if array.dtype.kind not in _NUMERIC_KINDS or array.dtype.fields is not None:
        raise DfccError(f"input {key} has dtype {array.dtype}; dfcc takes real numbers (bool, int or float arrays)", path)
    bad = ~np.isfinite(array) if array.dtype.kind == "f" else np.zeros(array.shape, bool)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DfccError(f"input {key} holds {int(bad.sum())} NaN or infinite values (the first at index {where}); "
                        "dfcc takes finite inputs only", path)


def random_inputs(function, rng: np.random.Generator) -> list[np.ndarray]:
    """Seeded inputs of a dataflow function when the user gives none: standard-normal float32 numbers,
    and for an integer input (token ids) ids drawn uniformly from the rows of the smallest table an
    embedding node looks them up in (0 or 1 when no embedding reads it)."""
    inputs = []
    for arg in function.body.block.args:
        shape = arg.type.get_shape()
        if isinstance(arg.type.get_element_type(), IntegerType):
            inputs.append(rng.integers(0, _id_bound(arg), shape, dtype=np.int64))
        else:
            inputs.append(rng.standard_normal(shape).astype(np.float32))
    return inputs


def _id_bound(arg) -> int:
    """Rows of the smallest embedding table reading the ids `arg` carries (2 when none does)."""
    rows, pending, seen = [], [arg], set()
    while pending:
        value = pending.pop()
        for use in value.uses:
            op = use.operation
            if isinstance(op, EmbeddingOp):
                rows.append(op.table.type.get_shape()[0])
            elif op not in seen and isinstance(op, NodeOp):
                seen.add(op)
                pending.extend(op.results)
    return min(rows, default=2)
