"""The benches' models: imported once and cached on disk (importing ResNet-50 or a 640x640 YOLOv5n takes about
a minute), lowered on each use, then given fixed-point formats directly ("emulated", no calibration).

A model is named as in dfcc.examples.models.MODELS, or is one of the bench-only sizes below, or is
`zoo_NAME` for the zoo's NAME (tests/vision_models.py: torchvision and timm at their small zoo inputs).
"""

from __future__ import annotations

import os
import warnings

from xdsl.dialects.builtin import ModuleOp
from xdsl.rewriter import Rewriter

from dfcc.dialects.dataflow import FixedType, StreamType
from dfcc.examples.models import MODELS, ModelSpec
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.kinds import WeightsOp

ZOO_PREFIX = "zoo_"
BENCH_MODELS = {  # too big for the examples registry (tests walk it)
    "yolov5n": ModelSpec("examples/models/yolov5.py:yolov5n", [(1, 3, 640, 640)], "YOLOv5n, 640x640", slow=True),
    "unet4": ModelSpec("examples/models/unet.py:unet4", [(1, 3, 256, 256)], "4-level UNet, 256x256", slow=True),
}


def lowered(name: str, cache: str) -> ModuleOp:
    """Model `name` after lower-to-dataflow. The import (torch-mlir, the slow part) is cached in `cache` (written
    there on first use); the lowering runs on every call, so a change to the lowering or its clean-ups shows in
    every bench row."""
    from dfcc.passes.lower_to_dataflow import LowerToDataflow

    path = os.path.join(cache, f"{name}.linalg.mlir")
    if not os.path.exists(path):
        from dfcc.backends.output import write_atomic
        from dfcc.frontends.torch import import_to_text

        warnings.filterwarnings("ignore")
        os.makedirs(cache, exist_ok=True)
        write_atomic(path, import_to_text(*_model_and_inputs(name)))  # benches run side by side share the cache
    with open(path) as f:
        module = parse_module(f.read(), path)
    LowerToDataflow().apply(make_context(), module)
    return module


def _model_and_inputs(name: str) -> tuple:
    """The PyTorch model `name` names (seeded) and its example inputs."""
    if name.startswith(ZOO_PREFIX):
        import torch

        from dfcc.tests.vision_models import VISION_MODELS

        factory, shape = VISION_MODELS[name.removeprefix(ZOO_PREFIX)]
        torch.manual_seed(0)
        return factory(), torch.randn(shape, generator=torch.Generator().manual_seed(0))
    spec = BENCH_MODELS.get(name) or MODELS[name]
    return spec.build(), *spec.inputs()


def emulate(module: ModuleOp, weight_bits: int, act_bits: int) -> None:
    """Every weight becomes `weight_bits` wide and every stream element `act_bits` wide."""
    w_fmt, a_fmt = FixedType(weight_bits, weight_bits // 2), FixedType(act_bits, act_bits // 2)
    for op in list(module.walk()):
        if isinstance(op, WeightsOp):
            op.properties["format"] = w_fmt
        for result in list(op.results):
            if isinstance(result.type, StreamType):
                Rewriter.replace_value_with_new_type(result, result.type.with_element_type(a_fmt))


def emulate_bits(module: ModuleOp, bits: int) -> None:
    """Weights and stream elements all `bits` wide."""
    emulate(module, bits, bits)
