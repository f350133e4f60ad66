"""Real torchvision and timm architectures (random init) through import -> lower -> CPU reference vs PyTorch.

The fast subset of the zoo (`make zoo` runs the full models, `bench/bench_zoo.py`): the same model code,
shallower or narrower through the builders' own arguments, so CI covers each family's structure
(ceil_mode pools, the `-d` stems' average-pool shortcut, squeeze-excite, class token + attention, Swin's
shifted windows with relative position bias).
"""

import importlib.util

import pytest

if not (importlib.util.find_spec("torchvision") and importlib.util.find_spec("timm")):
    pytest.skip("needs the zoo extra (torchvision, timm)", allow_module_level=True)
pytest.importorskip("torch_mlir.fx")

import torch  # noqa: E402

from tests.torch_differential import assert_matches_torch  # noqa: E402
from tests.vision_models import timm, tv, with_batch_statistics  # noqa: E402

SMALL = {
    "squeezenet1_1": (lambda: tv.squeezenet1_1(num_classes=8), (1, 3, 47, 47)),
    "mobilenet_v3_small": (lambda: tv.mobilenet_v3_small(width_mult=0.25, num_classes=8), (1, 3, 32, 32)),
    "resnet18d": (lambda: timm.create_model("resnet18d", layers=(1, 1, 1, 1), num_classes=8), (1, 3, 32, 32)),
    "deit_tiny": (lambda: timm.create_model("deit_tiny_patch16_224", img_size=32, depth=1, num_classes=8),
                  (1, 3, 32, 32)),
    "swin": (lambda: timm.create_model("swin_tiny_patch4_window7_224", img_size=16, window_size=2, depths=(2,),
                                       num_heads=(2,), embed_dim=8, num_classes=8), (1, 3, 16, 16)),
}


@pytest.mark.parametrize("name", SMALL)
def test_matches_pytorch(name):
    factory, shape = SMALL[name]
    torch.manual_seed(0)
    assert_matches_torch(with_batch_statistics(factory(), shape), torch.randn(shape))
