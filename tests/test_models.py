"""Every example model: PyTorch -> torch-mlir -> lower-to-dataflow -> CPU reference == PyTorch.

The error measure is max |reference - torch| / max |torch| per output, which must stay below 1e-4.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.dialects import dataflow as df  # noqa: E402
from dfcc import kinds  # noqa: E402
from dfcc.examples.models import MODELS  # noqa: E402
from dfcc.frontends.mlir import parse_module  # noqa: E402
from dfcc.backends.output import module_text  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.passes.lower_to_dataflow import LowerToDataflow  # noqa: E402

PARAMS = [pytest.param(name, marks=[pytest.mark.slow] if spec.slow else [], id=name) for name, spec in MODELS.items()]

# Node kinds each family must lower to (the pattern the lowering is meant to find, not an accident).
EXPECTED_NODES = {
    "yolo_tiny": {kinds.ResizeOp, kinds.ConcatOp, kinds.PoolOp},
    "unet": {kinds.DepthToSpaceOp, kinds.ConcatOp},
    "conv_pad_reflect": {kinds.PadOp},
    "conv_pad_replicate": {kinds.PadOp},
    "conv_pad_circular": {kinds.PadOp},
    "vit_block": {kinds.MatmulOp, kinds.ReduceOp, kinds.SliceOp, kinds.LinearOp},
    "llama_block": {kinds.MatmulOp, kinds.ReduceOp, kinds.LinearOp},
    "mobilenet_v3_small_tiny": {kinds.ReduceOp},
}


def relative_errors(outputs, expected) -> list[float]:
    return [float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-30)) for out, ref in zip(outputs, expected)]


@pytest.mark.parametrize("name", PARAMS)
def test_model_matches_pytorch(name):
    spec = MODELS[name]
    model, inputs = spec.build(), spec.inputs()
    module = import_module(model, *inputs)
    LowerToDataflow().apply(None, module)
    module.verify()
    nodes = {type(op) for op in module.walk() if isinstance(op, df.NodeOp)}
    assert EXPECTED_NODES.get(name, set()) <= nodes, f"missing {EXPECTED_NODES[name] - nodes}"
    outputs = run_reference(module, [x.numpy() for x in inputs])
    with torch.no_grad():
        expected = model(*inputs)
    expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
    assert len(outputs) == len(expected)
    for out, ref in zip(outputs, expected):
        assert out.shape == ref.shape
    errors = relative_errors(outputs, expected)
    assert max(errors) < 1e-4, errors
    if not spec.slow:  # the printed graph reads back and computes the same (IR is the only state)
        again = parse_module(module_text(module))
        assert all(np.array_equal(a, b) for a, b in zip(run_reference(again, [x.numpy() for x in inputs]), outputs))
