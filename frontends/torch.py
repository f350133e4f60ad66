"""Importing PyTorch modules through torch-mlir's FX importer (linalg-on-tensors, weights inline).

torch and torch-mlir are an optional extra (`pip install dfcc[torch]`); everything else in dfcc
reads the MLIR they produce.
"""

import importlib.util
import sys
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from dfcc.errors import DfccError
from dfcc.frontends.mlir import parse_module


def _require_torch():
    try:
        import torch
        from torch_mlir import fx
    except ImportError as error:
        raise DfccError(f"importing PyTorch models needs torch and torch-mlir ({error}); "
                        "install them with: pip install 'dfcc[torch]'") from None
    return torch, fx


def import_to_text(module, *example_inputs) -> str:
    """linalg-on-tensors MLIR text of `module` (put in eval mode) traced on `example_inputs`."""
    torch, fx = _require_torch()
    module = module.eval()
    with torch.no_grad():
        try:
            imported = fx.export_and_import(module, *example_inputs, output_type="linalg-on-tensors", func_name="main")
        except Exception as error:  # torch.export and torch-mlir raise many kinds; report them as one
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DfccError(f"torch-mlir could not import the model: {first_line}") from None
    return str(imported)


def import_module(module, *example_inputs) -> ModuleOp:
    """The model as an xDSL module of linalg-on-tensors ops (Python API)."""
    return parse_module(import_to_text(module, *example_inputs), "<torch-mlir>")


def load_model_factory(spec: str):
    """Call FN in FILE.py for a `FILE.py:FN` spec and return the nn.Module it builds."""
    path, _, function = spec.rpartition(":")
    if not path or not function:
        raise DfccError(f"model must be given as FILE.py:FUNCTION, got '{spec}'")
    file = Path(path)
    if not file.is_file():
        raise DfccError(f"no such model file '{path}'")
    module_spec = importlib.util.spec_from_file_location(file.stem, file)
    python_module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(file.parent.resolve()))
    try:
        module_spec.loader.exec_module(python_module)
    finally:
        sys.path.pop(0)
    factory = getattr(python_module, function, None)
    if not callable(factory):
        raise DfccError(f"'{path}' has no function '{function}'")
    return factory()
