"""Compare dfcc's CPU-reference outputs (y.npz) with PyTorch on the same inputs (x.npz).

Usage: python examples/compare_with_pytorch.py MODEL.py:FN x.npz y.npz
"""

import sys

import numpy as np
import torch

from dfcc.frontends.torch import load_model_factory


def main(spec: str, inputs_path: str, outputs_path: str) -> int:
    model = load_model_factory(spec).eval()
    inputs = np.load(inputs_path)
    args = [torch.from_numpy(inputs[f"arg{i}"]) for i in range(len(inputs.files))]
    with torch.no_grad():
        expected = model(*args)
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    outputs = np.load(outputs_path)
    worst = 0.0
    for index, reference in enumerate(expected):
        reference = reference.numpy()
        error = float(np.abs(outputs[f"out{index}"] - reference).max() / np.abs(reference).max())
        worst = max(worst, error)
        print(f"out{index}: shape {reference.shape}, max abs error / max abs output = {error:.2e}")
    print("dfcc's CPU reference matches PyTorch" if worst < 1e-4 else "MISMATCH")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
