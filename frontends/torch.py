"""Importing PyTorch modules through torch-mlir's FX importer (linalg-on-tensors, weights inline).

torch and torch-mlir are an optional extra (`pip install dfcc[torch]`); everything else in dfcc
reads the MLIR they produce.
"""

import importlib.util
import sys
import traceback
from contextlib import contextmanager
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


def _fast_literal_hooks():
    """torch-mlir importer hooks that copy weight tensors into dense_resource blobs as raw buffers.

    torch-mlir's default literal conversion goes through `tensor.tolist()` (it must also handle
    fake tensors), about 0.4 s per million weights: most of the import time of a ResNet-50. Real
    tensors are copied with `.numpy()` instead and then imported by torch-mlir's own code path.
    """
    import numpy as np
    import torch
    from torch_mlir.extras import fx_importer
    from torch_mlir.ir import DenseResourceElementsAttr

    class FastLiterals(fx_importer.FxImporterHooks):
        def resolve_literal(self, gni, literal, info):
            if (not isinstance(literal, torch.Tensor) or literal.dtype not in fx_importer.TORCH_DTYPE_TO_NPY_TYPE
                    or literal.numel() <= 1 or isinstance(literal, torch._subclasses.FakeTensor)):
                return None
            cc = gni._cc
            mapping = cc._py_attr_tracker.track(literal)
            if mapping.is_empty:
                try:
                    array = np.ascontiguousarray(literal.detach().cpu().numpy())
                except (RuntimeError, TypeError):
                    return None
                shape = "_".join(str(d) for d in literal.shape)
                mapping.value = DenseResourceElementsAttr.get_from_buffer(
                    array, f"torch_tensor_{shape}_{literal.dtype}", fx_importer.create_mlir_tensor_type(literal))
            return fx_importer._make_vtensor_literal_op(literal, cc.tensor_to_vtensor_type(literal), cc._py_attr_tracker).result

    return FastLiterals()


@contextmanager
def _buffers_persistent(module):
    """All buffers in the state dict while exporting: torch-mlir looks non-persistent ones (rotary
    tables, position ids of Hugging Face models) up there and fails with "Could not find state
    mapping for buffer"."""
    saved = [(m, set(m._non_persistent_buffers_set)) for m in module.modules()]
    for m, _ in saved:
        m._non_persistent_buffers_set.clear()
    try:
        yield
    finally:
        for m, names in saved:
            m._non_persistent_buffers_set.update(names)


def _copy(graph, before, value):
    """A clone node of `value` inserted before `before`, with the metadata (type, shape) torch-mlir reads."""
    import torch

    with graph.inserting_before(before):
        copy = graph.call_function(torch.ops.aten.clone.default, (value,))
    copy.meta.update({key: value.meta[key] for key in ("val", "tensor_meta") if key in value.meta})
    return copy


def _constants_in_lists_as_values(program) -> None:
    """Give each weight or buffer that an op reads inside a list argument (`x[:, index_buffer]`) a copy node.

    torch-mlir's frozen import replaces every use of a weight by the tensor itself, and then refuses
    a list holding a tensor next to values ("Heterogeneous lists are not supported"); a copy is a
    value, imported like any other, and folds away at lowering.
    """
    import torch

    signature = program.graph_signature
    constants = {*signature.inputs_to_parameters, *signature.inputs_to_buffers,
                 *signature.inputs_to_lifted_tensor_constants}
    graph = program.graph_module.graph
    changed = False
    for node in list(graph.nodes):
        if node.op != "call_function":
            continue
        args = list(node.args)
        for i, arg in enumerate(args):
            if isinstance(arg, (list, tuple)) and any(isinstance(a, torch.fx.Node) and a.name in constants for a in arg):
                args[i] = type(arg)(_copy(graph, node, a) if isinstance(a, torch.fx.Node) and a.name in constants else a
                                    for a in arg)
                changed = True
        node.args = tuple(args)
    if changed:  # the Python code of the graph, which torch-mlir does not read, only when it changed
        program.graph_module.recompile()


def import_to_text(module, *example_inputs) -> str:
    """linalg-on-tensors MLIR text of `module` (put in eval mode) traced on `example_inputs`."""
    torch, fx = _require_torch()
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table

    module = module.eval()
    with torch.no_grad(), _buffers_persistent(module):
        try:
            program = torch.export.export(module, example_inputs).run_decompositions(get_decomposition_table())
            _constants_in_lists_as_values(program)
            imported = fx.export_and_import(program, output_type="linalg-on-tensors", func_name="main",
                                            hooks=_fast_literal_hooks(), decomposition_table={})
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
    except Exception as error:  # the user's code failed: their error, with their traceback
        raise DfccError(_user_error(f"loading '{path}' failed", error)) from None
    finally:
        sys.path.pop(0)
    factory = getattr(python_module, function, None)
    if not callable(factory):
        raise DfccError(f"'{path}' has no function '{function}'")
    try:
        return factory()
    except Exception as error:
        raise DfccError(_user_error(f"{function}() in '{path}' raised an exception", error)) from None


def _user_error(what: str, error: Exception, frames: int = 4) -> str:
    """What failed in the user's code, the exception and the innermost traceback frames (dfcc's own left out)."""
    stack = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() != Path(__file__).resolve()]
    lines = [f"  {f.filename}:{f.lineno}, in {f.name}" + (f": {f.line}" if f.line else "") for f in stack[-frames:]]
    message = "".join(traceback.format_exception_only(error)).strip()
    return f"{what}: {message}\n" + "\n".join(lines)
