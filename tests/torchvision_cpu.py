"""torchvision beside the CPU torch pinned here (the `zoo` extra), for the model zoos.

PyPI's torchvision wheels carry a C extension built against CUDA torch, which does not load beside the
CPU torch pinned here. torchvision then still works as pure Python (its model builders need no C op),
except that importing it registers fake kernels for two operators its extension would have defined
(`torchvision::nms`, `qnms`). `load_torchvision` declares those two schemas first, with no kernel, so
the import succeeds and calling them fails loudly. Whatever imports torchvision (timm, and transformers'
vision models) must come after it.
"""

import importlib.util

import torch


def load_torchvision():
    """Import torchvision when its C extension cannot load; None when it is not installed."""
    if importlib.util.find_spec("torchvision") is None:
        return None
    try:
        import torchvision
    except RuntimeError as failure:
        if "torchvision::nms" not in str(failure):
            raise
        library = torch.library.Library("torchvision", "DEF")
        for name in ("nms", "qnms"):
            library.define(f"{name}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        load_torchvision.library = library  # a Library drops its definitions when collected
        import torchvision
    return torchvision
