"""Shared check of the lowering against PyTorch: import, lower, verify, run the CPU reference, compare.

The error measure is max |reference - torch| / max |torch| per output (as in test_models).
"""

import numpy as np
import torch
from xdsl.dialects.builtin import ModuleOp

from dfcc.analyses.reference import run_reference
from dfcc.frontends.torch import import_module
from dfcc.passes.lower_to_dataflow import LowerToDataflow

TOLERANCE = 1e-4


def lower(model: torch.nn.Module, *inputs: torch.Tensor) -> ModuleOp:
    """`model` (in eval mode) imported on `inputs` and lowered to a verified dataflow graph."""
    module = import_module(model.eval(), *inputs)
    LowerToDataflow().apply(None, module)
    module.verify()
    return module


def lowered_vs_torch(model: torch.nn.Module, *inputs: torch.Tensor) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(CPU reference outputs of the lowered graph, PyTorch outputs) for `model` on `inputs`."""
    module = lower(model, *inputs)
    outputs = run_reference(module, [x.numpy() for x in inputs])
    with torch.no_grad():
        expected = model(*inputs)
    expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
    return outputs, expected


def assert_matches_torch(model: torch.nn.Module, *inputs: torch.Tensor) -> None:
    outputs, expected = lowered_vs_torch(model, *inputs)
    assert [o.shape for o in outputs] == [e.shape for e in expected]
    errors = [float(np.abs(o - e).max() / max(np.abs(e).max(), 1e-30)) for o, e in zip(outputs, expected)]
    assert max(errors) < TOLERANCE, errors
