"""Real vision architectures from torchvision and timm (random init, batch 1), as dfcc-import factories.

`dfcc-import tests/vision_models.py:resnet18 --shape 1,3,32,32`; `VISION_MODELS` gives each one's input
shape (the smallest its architecture allows, to keep the zoo fast). Needs the `zoo` extra.

torchvision is imported through `tests/torchvision_cpu.py` (its C extension does not load beside the
CPU torch pinned here); timm imports torchvision, so it comes after.
"""

try:
    from tests.torchvision_cpu import load_torchvision
except ImportError:  # loaded by dfcc-import as a file, beside it
    from torchvision_cpu import load_torchvision

torchvision = load_torchvision()
import timm  # noqa: E402  (after torchvision, which it imports)

tv = torchvision.models


def _timm(name: str, **kwargs):
    return lambda: timm.create_model(name, pretrained=False, **kwargs)


# name: (factory, input shape)
VISION_MODELS = {
    "resnet18": (tv.resnet18, (1, 3, 32, 32)),
    "mobilenet_v2": (tv.mobilenet_v2, (1, 3, 32, 32)),
    "mobilenet_v3_small": (tv.mobilenet_v3_small, (1, 3, 32, 32)),
    "efficientnet_b0": (tv.efficientnet_b0, (1, 3, 32, 32)),
    "regnet_x_400mf": (tv.regnet_x_400mf, (1, 3, 32, 32)),
    "shufflenet_v2_x0_5": (tv.shufflenet_v2_x0_5, (1, 3, 32, 32)),
    "squeezenet1_0": (tv.squeezenet1_0, (1, 3, 47, 47)),
    "squeezenet1_1": (tv.squeezenet1_1, (1, 3, 47, 47)),
    # PyTorch's default init: theirs (truncated normal, std 0.01) lets the features vanish, leaving logits = bias
    "googlenet": (lambda: tv.googlenet(aux_logits=False, init_weights=False), (1, 3, 47, 47)),
    "inception_v3": (lambda: tv.inception_v3(aux_logits=False, init_weights=False), (1, 3, 75, 75)),
    "densenet121": (tv.densenet121, (1, 3, 32, 32)),
    "convnext_tiny": (tv.convnext_tiny, (1, 3, 32, 32)),
    "mnasnet0_5": (tv.mnasnet0_5, (1, 3, 32, 32)),
    "resnet18d": (_timm("resnet18d"), (1, 3, 32, 32)),
    "mobilevit_xxs": (_timm("mobilevit_xxs"), (1, 3, 64, 64)),
    "deit_tiny": (_timm("deit_tiny_patch16_224", img_size=32), (1, 3, 32, 32)),
    "vit_tiny": (_timm("vit_tiny_patch16_224", img_size=32), (1, 3, 32, 32)),
    "swin_tiny": (_timm("swin_tiny_patch4_window7_224", img_size=64, window_size=2), (1, 3, 64, 64)),
    # beyond the families above: deeper/wider variants and re-parameterisable (train-time multi-branch) blocks
    "efficientnet_b1": (tv.efficientnet_b1, (1, 3, 32, 32)),
    "resnext50_32x4d": (tv.resnext50_32x4d, (1, 3, 32, 32)),
    "wide_resnet50_2": (tv.wide_resnet50_2, (1, 3, 32, 32)),
    "vgg11": (tv.vgg11, (1, 3, 32, 32)),
    "repvgg_a0": (_timm("repvgg_a0"), (1, 3, 32, 32)),
    "mobileone_s0": (_timm("mobileone_s0"), (1, 3, 32, 32)),
}


def __getattr__(name: str):
    """`dfcc-import tests/vision_models.py:NAME` finds each zoo model's factory by its name."""
    if name in VISION_MODELS:
        return VISION_MODELS[name][0]
    raise AttributeError(name)
