"""Calibration inputs of a dataflow function, shared by the passes that measure streams (quantize,
activation-sparsity): the samples of an .npz file, or seeded standard-normal inputs, said on stderr."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType

from dfcc.frontends.inputs import load_inputs, random_inputs
from dfcc.errors import DfccError, remark


def calibration_inputs(function: func.FuncOp, path: str | None, samples: int, seed: int,
                       origin: str) -> list[list[np.ndarray]]:
    """One list of input arrays per sample; `path` an .npz with arrays arg0, arg1, ... each one input of
    the function's input shape or a stack of them (leading sample dim); None for random inputs."""
    shapes = [tuple(t.get_shape()) for t in function.function_type.inputs.data]
    if path is None:
        rng = np.random.default_rng(seed)
        smallest = min(int(np.prod(s)) for s in shapes) if shapes else 1
        count = max(samples, min(32, -(-2048 // max(smallest, 1))))  # >= ~2k values per input
        ids = any(isinstance(t.get_element_type(), IntegerType) for t in function.function_type.inputs.data)
        remark(f"no calibration=FILE.npz given; calibrating @{function.sym_name.data} on "
               f"{count} standard-normal random input(s) of shape {', '.join('x'.join(map(str, s)) for s in shapes)} "
               f"({'token ids uniform over the embedding table, ' if ids else ''}seed {seed}); the statistics fit "
               "random data, not your data", origin)
        return [random_inputs(function, rng) for _ in range(count)]
    arrays = load_inputs(str(path))
    if len(arrays) != len(shapes):
        raise DfccError(f"calibration file has {len(arrays)} input array(s), @{function.sym_name.data} takes "
                        f"{len(shapes)}", str(path))
    stacks = []
    for index, (array, shape) in enumerate(zip(arrays, shapes)):
        array = np.asarray(array, dtype=np.int64 if np.issubdtype(array.dtype, np.integer) else np.float32)
        if array.shape == shape:
            stacks.append(array[None])
        elif array.shape[1:] == shape:
            stacks.append(array)
        elif shape and shape[0] == 1 and array.shape[1:] == shape[1:]:
            stacks.append(array[:, None])
        else:
            raise DfccError(f"calibration arg{index} has shape {array.shape}; expected {shape} or a stack "
                            f"N x {shape}", str(path))
    count = min(len(s) for s in stacks)
    return [[s[i] for s in stacks] for i in range(count)]
