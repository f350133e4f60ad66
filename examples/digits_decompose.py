"""Accuracy against estimated throughput per DSP of low-rank decompositions, on two trained CNNs.

The digits CNN of `digits_quantization` and a small ResNet (three basic blocks) are trained on
scikit-learn's digits (seconds on a CPU; the ResNet's weights are cached). Each configuration
decomposes the in-scope convs (Mixed-TD: KxK, not the stem), quantizes to W8A8 (calibrated on
training images), and is measured twice with the same IR: test accuracy through the bit-accurate
CPU reference, and throughput and DSPs from `explore` + the estimate for a board:

    python -m dfcc.examples.digits_decompose [--platform zcu102] [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from dfcc.examples.digits_quantization import load_digits_split, train_cnn

CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "dfcc")
FRACTIONS = (0.7, 0.5, 0.3)  # share of each layer's MACs kept (Mixed-TD's grid spans 30-70 %)
VALIDATION = 128
METHODS = {"svd": dict(method="svd", scheme="separable"), "cpd": dict(method="cpd"), "mix": dict(method="auto")}


def digits_resnet():
    from torch import nn

    from dfcc.examples.models.resnet import BasicBlock

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),  # stem, 8 x 8
        BasicBlock(32, 32), BasicBlock(32, 64, stride=2), BasicBlock(64, 64),  # 4 x 4
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )


def train_resnet(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0, epochs: int = 12):
    """The digits ResNet, trained once and cached (state dict, ~0.5 MB) under ~/.cache/dfcc."""
    import torch

    from dfcc.examples.digits_quantization import _train

    path = os.path.join(CACHE, f"digits_resnet_s{seed}_e{epochs}.pt")
    torch.manual_seed(seed)
    model = digits_resnet()
    if os.path.exists(path):
        model.load_state_dict(torch.load(path))
        return model.eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    _train(model, optimizer, torch.from_numpy(x_train), torch.from_numpy(y_train).long(), generator, epochs)
    os.makedirs(CACHE, exist_ok=True)
    staged = f"{path}.{os.getpid()}.tmp"
    torch.save(model.state_dict(), staged)
    os.replace(staged, path)
    return model.eval()


@dataclass
class Setup:
    """One trained model lowered twice: for accuracy (the whole test set as one batch) and for
    hardware (batch 1), with calibration files of both shapes."""

    name: str
    accuracy_module: object
    hardware_module: object
    x_test: np.ndarray
    y_test: np.ndarray
    calibration: str  # batch-N stack of training images
    calibration_one: str  # 32 single images for the batch-1 graph
    validation_module: object  # batch of VALIDATION training images: what a search may look at (Mixed-TD: 128)
    x_val: np.ndarray
    y_val: np.ndarray
    calibration_val: str
    model: object = None  # the trained PyTorch model the modules were lowered from


def lowered(model, batch: np.ndarray):
    """`model` imported at the batch shape of `batch` and lowered to a dataflow graph."""
    import torch

    from dfcc.frontends.mlir import make_context
    from dfcc.frontends.torch import import_module
    from dfcc.passes.lower_to_dataflow import LowerToDataflow

    module = import_module(model, torch.from_numpy(batch))
    LowerToDataflow().apply(make_context(), module)
    return module


def setups(seed: int, workdir: str) -> list[Setup]:
    x_train, x_test, y_train, y_test = load_digits_split(seed)
    calibration = os.path.join(workdir, "calibration.npz")
    np.savez(calibration, arg0=x_train[: len(x_test)])
    calibration_one = os.path.join(workdir, "calibration_one.npz")
    np.savez(calibration_one, arg0=x_train[:32, None])
    x_val, y_val = x_train[-VALIDATION:], y_train[-VALIDATION:]
    calibration_val = os.path.join(workdir, "calibration_val.npz")
    np.savez(calibration_val, arg0=x_train[:VALIDATION])
    result = []
    for name, model in (("digits CNN", train_cnn(x_train, y_train, seed)), ("digits ResNet", train_resnet(x_train, y_train, seed))):
        modules = [lowered(model, batch) for batch in (x_test, x_test[:1], x_val)]
        result.append(Setup(name, modules[0], modules[1], x_test, y_test, calibration, calibration_one, modules[2],
                            x_val, y_val, calibration_val, model))
    return result


@dataclass
class Measurement:
    model: str
    config: str
    accuracy: float  # % on the test set, quantized, through the CPU reference
    macs: int  # per inference
    fps: float
    dsp: int
    weight_kbits: float  # conv/linear weight memory

    @property
    def fps_per_dsp(self) -> float:
        return self.fps / max(self.dsp, 1)


def decomposer(options: dict | None = None, schemes=None):
    """A transform applying `decompose{options}` (linears kept) or an explicit node -> Scheme map."""
    from dfcc.passes.decompose import Decompose, apply_schemes

    def transform(module, ctx):
        if schemes is not None:
            apply_schemes(module, schemes, verbose=False)
        elif options is not None:
            Decompose(**options, override=("linear*:keep",)).apply(ctx, module)
    return transform


def measure(setup: Setup, config: str, transform=None, platform: str = "zcu102", weight_bits: int = 8,
            act_bits: int = 8, override: tuple[str, ...] = (), validation: bool = False) -> Measurement:
    """Transform both graphs, quantize them, then measure accuracy (batch N) and hardware (batch 1).

    Accuracy is on the test set, or with `validation` on 128 training images (what a search may
    look at; Mixed-TD's objective is one 128-image batch of training images)."""
    import contextlib
    import io

    from dfcc.analyses.reference import run_reference
    from dfcc.backends.estimate.report import Estimate
    from dfcc.frontends.mlir import make_context
    from dfcc.passes.explore import Explore
    from dfcc.passes.quantize import Quantize

    ctx = make_context()
    accuracy_module = (setup.validation_module if validation else setup.accuracy_module).clone()
    hardware_module = setup.hardware_module.clone()
    accuracy_calibration = setup.calibration_val if validation else setup.calibration
    with contextlib.redirect_stderr(io.StringIO()):  # the passes' remarks, once per configuration
        for module, calibration in ((accuracy_module, accuracy_calibration), (hardware_module, setup.calibration_one)):
            if transform is not None:
                transform(module, ctx)
            Quantize(weight_bits=weight_bits, act_bits=act_bits, calibration=calibration, override=override).apply(ctx, module)
    images, labels = (setup.x_val, setup.y_val) if validation else (setup.x_test, setup.y_test)
    (logits,) = run_reference(accuracy_module, [images])
    Explore(platform=platform).apply(ctx, hardware_module)
    estimate = Estimate.of_module(hardware_module)
    return Measurement(setup.name, config, float((logits.argmax(1) == labels).mean() * 100), estimate.macs,
                       estimate.throughput_fps(), estimate.totals.dsp, weight_kbits(hardware_module))


def weight_kbits(module) -> float:
    """Bits of every conv/linear weight tensor at its fixed-point width, in kbit."""
    from xdsl.dialects.builtin import ArrayAttr

    from dfcc.kinds import ConvOp, LinearOp

    total = 0
    for op in module.walk():
        if isinstance(op, (ConvOp, LinearOp)):
            fmt = op.weights.owner.format
            widths = [f.width.data for f in fmt.data] if isinstance(fmt, ArrayAttr) else [fmt.width.data]
            total += op.weights.type.element_count() * sum(widths) / len(widths)
    return total / 1000


def measure_all(seed: int = 0, platform: str = "zcu102", fractions=FRACTIONS, workdir: str | None = None) -> list[Measurement]:
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for setup in setups(seed, workdir or tmp):
            rows.append(measure(setup, "baseline", None, platform))
            for method, options in METHODS.items():
                for fraction in fractions:
                    rows.append(measure(setup, f"{method} {fraction:.0%} MACs", decomposer({**options, "macs": fraction}), platform))
        return rows


def print_table(rows: list[Measurement], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("model", "config", "acc %", "MACs", "fps", "DSP", "fps/DSP", "vs baseline", "weights kbit"):
        table.add_column(column, justify="left" if column in ("model", "config") else "right")
    baseline = {r.model: r for r in rows if r.config == "baseline"}
    for r in rows:
        base = baseline.get(r.model)
        gain = f"{r.fps_per_dsp / base.fps_per_dsp:.2f}x" if base else ""
        table.add_row(r.model, r.config, f"{r.accuracy:.2f}", f"{r.macs:,}", f"{r.fps:,.0f}", str(r.dsp),
                      f"{r.fps_per_dsp:,.1f}", gain, f"{r.weight_kbits:,.1f}")
    Console(width=150).print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default="zcu102")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one rank fraction (50 %%) per method")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = measure_all(args.seed, args.platform, (0.5,) if args.quick else FRACTIONS)
    print_table(rows, f"decomposition on trained digits CNNs, W8A8, {args.platform} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
