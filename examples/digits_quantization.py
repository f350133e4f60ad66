"""Accuracy of a quantized CNN, through dfcc's bit-accurate CPU reference.

Trains a small CNN on scikit-learn's handwritten digits (8x8 images, 1797 of them; a few seconds on
a CPU), imports it with torch-mlir, lowers it to dataflow, quantizes it at several precisions
(calibrated on training images) and prints the test accuracy of each, computed by the CPU reference
exactly as the fixed-point hardware computes it:

    python -m dfcc.examples.digits_quantization
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

CONFIGS = {"float": None, "W8A8": (8, 8), "W6A6": (6, 6), "W4A8": (4, 8)}


def load_digits_split(seed: int = 0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # N x 1 x 8 x 8 in [0, 1]
    return train_test_split(images, digits.target, test_size=0.3, random_state=seed, stratify=digits.target)


def train_cnn(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0, epochs: int = 15):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),  # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),  # 32 x 2 x 2
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train).long()
    generator = torch.Generator().manual_seed(seed)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: threads only add overhead
    try:
        _train(model, optimizer, x, y, generator, epochs)
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def _train(model, optimizer, x, y, generator, epochs: int) -> None:
    import torch
    from torch import nn

    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=generator).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()


def evaluate(seed: int = 0, configs: dict = CONFIGS, verbose: bool = False) -> dict[str, float]:
    """Test accuracy (%) of each configuration: float, and WxAy through the fixed-point reference."""
    import torch

    from dfcc.analyses.reference import run_reference
    from dfcc.frontends.torch import import_module
    from dfcc.passes.lower_to_dataflow import LowerToDataflow
    from dfcc.passes.quantize import Quantize
    from dfcc.frontends.mlir import make_context

    start = time.perf_counter()
    x_train, x_test, y_train, y_test = load_digits_split(seed)
    model = train_cnn(x_train, y_train, seed)
    with torch.no_grad():
        torch_accuracy = float((model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean() * 100)
    if verbose:
        print(f"trained in {time.perf_counter() - start:.1f} s; PyTorch test accuracy {torch_accuracy:.2f}%")
    # the whole test set is one inference of a batch-N model: one dataflow run per configuration
    ctx = make_context()
    results = {}
    lowered = import_module(model, torch.from_numpy(x_test))
    LowerToDataflow().apply(ctx, lowered)
    with tempfile.TemporaryDirectory() as tmp:
        calibration = os.path.join(tmp, "calibration.npz")
        np.savez(calibration, arg0=x_train[: len(x_test)])  # training images, same batch shape
        for name, bits in configs.items():
            module = lowered.clone()
            if bits is not None:
                Quantize(weight_bits=bits[0], act_bits=bits[1], calibration=calibration).apply(ctx, module)
            (logits,) = run_reference(module, [x_test])
            results[name] = float((logits.argmax(1) == y_test).mean() * 100)
    if verbose:
        print(f"{'config':8s} {'test accuracy':>14s}   (CPU reference, {len(y_test)} test images)")
        for name, accuracy in results.items():
            delta = "" if name == "float" else f"  ({accuracy - results['float']:+.2f} pt)"
            print(f"{name:8s} {accuracy:13.2f}%{delta}")
        print(f"total {time.perf_counter() - start:.1f} s")
    return results


if __name__ == "__main__":
    evaluate(verbose=True)
