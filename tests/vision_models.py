"""Real vision architectures from torchvision and timm (random init, batch 1), as dfcc-import factories.

`dfcc-import tests/vision_models.py:resnet18 --shape 1,3,32,32`; `VISION_MODELS` gives each one's input
shape (the smallest its architecture allows, to keep the zoo fast). Needs the `zoo` extra.

Each factory's batch norms take their statistics from a random batch: with the builders' initial
statistics (mean 0, variance 1) the features of deep networks vanish or explode, and Inception-v3,
GoogLeNet, RepVGG and ShuffleNet gave the same logits (within 1e-4) for any input, so matching
PyTorch proved nothing.

torchvision is imported through `tests/torchvision_cpu.py` (its C extension does not load beside the
CPU torch pinned here); timm imports torchvision, so it comes after.
"""

try:
    from tests.torchvision_cpu import load_torchvision
except ImportError:  # loaded by dfcc-import as a file, beside it
    from torchvision_cpu import load_torchvision

torchvision = load_torchvision()
import timm  # noqa: E402  (after torchvision, which it imports)
import torch  # noqa: E402

tv = torchvision.models


def _timm(name: str, **kwargs):
    return lambda: timm.create_model(name, pretrained=False, **kwargs)


def with_batch_statistics(model: torch.nn.Module, shape: tuple[int, ...], batch: int = 4) -> torch.nn.Module:
    """`model` in eval mode, each batch norm's running statistics those of `batch` random inputs."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over the batches seen
    model.eval()
    if norms:
        for norm in norms:
            norm.train()
        with torch.no_grad():
            model(torch.randn((batch, *shape[1:]), generator=torch.Generator().manual_seed(1)))
        model.eval()
    return model


def _calibrated(factory, shape):
    return lambda: with_batch_statistics(factory(), shape)


# name: (factory, input shape)
_BUILDERS = {
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
VISION_MODELS = {name: (_calibrated(factory, shape), shape) for name, (factory, shape) in _BUILDERS.items()}


def __getattr__(name: str):
    """`dfcc-import tests/vision_models.py:NAME` finds each zoo model's factory by its name."""
    if name in VISION_MODELS:
        return VISION_MODELS[name][0]
    raise AttributeError(name)
