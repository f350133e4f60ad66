"""Example PyTorch models, from a tiny MLP to ResNet-50, and the registry that names them.

`entry` is "path/to/file.py:function" relative to the dfcc package root; the function returns
the model in eval mode with seeded random weights and randomized batch-norm statistics.
"""

import importlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ModelSpec:
    entry: str
    input_shapes: list[tuple[int, ...]]
    description: str
    slow: bool = False

    def build(self) -> torch.nn.Module:
        path, function = self.entry.split(":")
        module = importlib.import_module("dfcc." + path.removesuffix(".py").replace("/", "."))
        return getattr(module, function)()

    def inputs(self, seed: int = 0) -> tuple[torch.Tensor, ...]:
        generator = torch.Generator().manual_seed(seed)
        return tuple(torch.randn(shape, generator=generator) for shape in self.input_shapes)


def _spec(entry: str, *shapes: tuple[int, ...], description: str, slow: bool = False) -> ModelSpec:
    return ModelSpec("examples/models/" + entry, list(shapes), description, slow)


_CONV_IN = (1, 8, 12, 12)
MODELS: dict[str, ModelSpec] = {
    "mlp": _spec("mlp.py:mlp", (1, 1, 8, 8), description="flatten, linear, relu, linear"),
    "cnn": _spec("cnn.py:cnn", (1, 3, 16, 16), description="conv-bn-relu, maxpool, conv, avgpool, linear"),
    "basic_block": _spec("residual.py:basic_block", (1, 16, 8, 8), description="ResNet basic block, identity shortcut"),
    "basic_block_strided": _spec(
        "residual.py:basic_block_strided", (1, 16, 8, 8), description="ResNet basic block, stride-2 1x1 shortcut"
    ),
    "dwsep": _spec("dwsep.py:dwsep", (1, 16, 16, 16), description="depthwise 3x3-bn-relu6, pointwise 1x1-bn-relu6"),
    "resnet18_small": _spec(
        "resnet.py:resnet18_small", (1, 3, 32, 32), description="ResNet-18 topology, width 16, 32x32, 10 classes"
    ),
    "resnet18": _spec("resnet.py:resnet18", (1, 3, 224, 224), description="ResNet-18, ImageNet size", slow=True),
    "resnet50": _spec("resnet.py:resnet50", (1, 3, 224, 224), description="ResNet-50, ImageNet size", slow=True),
    "densenet_small": _spec(
        "densenet.py:densenet_small", (1, 3, 32, 32), description="DenseNet topology, growth 8, blocks (3, 3), 32x32"
    ),
    "densenet121": _spec("densenet.py:densenet121", (1, 3, 224, 224), description="DenseNet-121, ImageNet size",
                         slow=True),
    "mobilenet_v2_small": _spec(
        "mobilenet.py:mobilenet_v2_small", (1, 3, 32, 32), description="MobileNetV2 width 0.25, 32x32, 10 classes"
    ),
    "mobilenet_v2": _spec(
        "mobilenet.py:mobilenet_v2", (1, 3, 224, 224), description="MobileNetV2 1.0, ImageNet size", slow=True
    ),
    "mobilenet_v3_small_tiny": _spec(
        "mobilenet.py:mobilenet_v3_small_tiny",
        (1, 3, 32, 32),
        description="MobileNetV3-small width 0.25 (hardswish, squeeze-excitation), 32x32, 10 classes",
    ),
    "mobilenet_v3_small": _spec(
        "mobilenet.py:mobilenet_v3_small", (1, 3, 224, 224), description="MobileNetV3-small 1.0, ImageNet size", slow=True
    ),
    "mobilenet_v3_large": _spec(
        "mobilenet.py:mobilenet_v3_large", (1, 3, 224, 224), description="MobileNetV3-large 1.0, ImageNet size", slow=True
    ),
    "yolo_tiny": _spec(
        "yolo.py:yolo_tiny",
        (1, 3, 64, 64),
        description="YOLO-style detector: leaky/SiLU, maxpool, nearest upsample, concat, two heads",
    ),
    "unet": _spec("unet.py:unet", (1, 1, 32, 32), description="3-level UNet, ConvTranspose2d up, concat skips"),
    **{
        name: _spec(f"conv_zoo.py:{name}", _CONV_IN, description=description)
        for name, description in [
            ("conv_dilated", "3x3 conv, dilation 2"),
            ("conv_groups2", "3x3 conv, groups 2"),
            ("conv_groups4", "3x3 conv, groups 4, 8->16"),
            ("conv_depthwise", "3x3 depthwise conv"),
            ("conv_depthwise_multiplier", "3x3 depthwise conv, channel multiplier 2"),
            ("conv_1x3", "1x3 conv"),
            ("conv_3x1", "3x1 conv"),
            ("conv_5x3", "5x3 conv, unpadded"),
            ("conv_stride_1x2", "3x3 conv, stride (1, 2)"),
            ("conv_no_bias", "3x3 conv without bias"),
            ("conv_pad_reflect", "3x3 conv, reflect padding"),
            ("conv_pad_replicate", "3x3 conv, replicate padding"),
            ("conv_pad_circular", "3x3 conv, circular padding"),
            ("conv_same_asym", "asymmetric zero pad + 3x3 stride-2 conv"),
            ("conv_stack", "5x5 s2 conv-bn-relu, 1x1 no bias, 3x3 dilation 3 groups 2"),
        ]
    },
    "vit_block": _spec(
        "transformer.py:vit_block", (1, 16, 64), description="ViT encoder block: LayerNorm, 4-head attention, GELU MLP"
    ),
    "llama_block": _spec(
        "transformer.py:llama_block",
        (1, 16, 64),
        description="LLaMA decoder block: RMSNorm, causal 4-head attention, SiLU-gated MLP",
    ),
    "multi_io": _spec("multi_io.py:multi_io", (1, 3, 16, 16), (1, 4), description="two inputs, two outputs"),
}
