"""Pruning with masked fine-tuning for the trained digits models (bench/bench_sparsity.py).

One-shot magnitude pruning without retraining costs accuracy (2:4 on the digits CNN: 77 %). The usual
cure is to prune once and retrain with the pruned weights held at zero: Han et al., "Learning both
Weights and Connections for Efficient Neural Networks" (NeurIPS 2015) for unstructured pruning,
Mishra et al., "Accelerating Sparse Deep Neural Networks" (arXiv 2104.08378) for 2:4. Here the masks
are chosen as dfcc's `sparsify` chooses them (global magnitude over every conv and linear weight, or
the n largest of each m consecutive weights of a row in dfcc's layout), the model is fine-tuned with
them fixed, and `sparsify` with the same options then finds exactly those zeros and keeps the rest.
"""

from __future__ import annotations

import numpy as np

FINETUNE_EPOCHS = 8
FINETUNE_LR = 1e-3


def _nm_rows(rows: np.ndarray, n: int, m: int) -> np.ndarray:
    """Keep-mask of the n largest |w| in each group of m consecutive weights of a row (min(n, size) in a short last group)."""
    keep = np.zeros(rows.shape, dtype=bool)
    for start in range(0, rows.shape[1], m):
        block = np.abs(rows[:, start:start + m])
        top = np.argsort(-block, axis=1, kind="stable")[:, :min(n, block.shape[1])]
        np.put_along_axis(keep[:, start:start + m], top, True, axis=1)
    return keep


def prune_masks(model, pattern: str, density: float | None = None, n: int = 2, m: int = 4) -> dict:
    """{layer name: keep-mask of its weight}: global unstructured magnitude pruning to `density`, or n:m."""
    import torch
    from torch import nn

    weights = {name: layer.weight.detach().numpy() for name, layer in model.named_modules()
               if isinstance(layer, (nn.Conv2d, nn.Linear))}
    if pattern == "n:m":  # a row is a filter, as in dfcc (whose lowering keeps a flattened linear's NCHW columns)
        return {name: torch.from_numpy(_nm_rows(w.reshape(w.shape[0], -1), n, m).reshape(w.shape))
                for name, w in weights.items()}
    flat = np.concatenate([np.abs(w).ravel() for w in weights.values()])
    order = np.argsort(-flat, kind="stable")
    keep = np.zeros(flat.size, dtype=bool)
    keep[order[:round(density * flat.size)]] = True
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = torch.from_numpy(keep[start:start + w.size].reshape(w.shape))
        start += w.size
    return masks


def finetune_masked(model, masks: dict, x: np.ndarray, y: np.ndarray, seed: int = 0,
                    epochs: int = FINETUNE_EPOCHS, lr: float = FINETUNE_LR):
    """A copy of `model` with the masked weights zeroed, retrained with them held at zero."""
    import copy

    import torch
    from torch import nn

    model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    masks = {modules[name]: mask for name, mask in masks.items()}
    with torch.no_grad():
        for layer, mask in masks.items():
            layer.weight.mul_(mask)
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y).long()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny layers: threads only add overhead
    model.train()
    try:
        for _ in range(epochs):
            for batch in torch.randperm(len(xs), generator=generator).split(64):
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(xs[batch]), ys[batch]).backward()
                optimizer.step()
                with torch.no_grad():
                    for layer, mask in masks.items():
                        layer.weight.mul_(mask)
    finally:
        torch.set_num_threads(threads)
    return model.eval()
