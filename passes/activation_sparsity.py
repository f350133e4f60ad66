"""`activation-sparsity`: measures, on calibration data, how many products of each conv/linear window
are zero, and writes the histogram into the IR (the statistic PASS/HASS cost zero skipping with).

    activation-sparsity{calibration=data/cal.npz}
    activation-sparsity{samples=8 seed=1}          (random inputs: says so; ReLU zeros are not typical)

Every conv and linear node gets `dataflow.zero_histogram = {counts, activation_zeros, data}`:
`counts` (C x (Kr*Kc+1), i64) counts, per input channel c, the (output pixel, filter) pairs whose
window over c holds z zero products (activation or weight zero; padding counts as zero activation),
so P_c(z) = counts[c, z] / sum_z counts[c, z]; `activation_zeros` is the fraction of the node's input
activations that are zero (after ReLU); `data` names the calibration file or `random`. A linear node is a 1x1 window.
Run it after sparsify (pruned weights count) and again after anything that changes weights or activations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr, DictionaryAttr, FloatAttr, ModuleOp, StringAttr, TensorType, f64, i64,
)
from xdsl.interpreter import Interpreter
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from dfcc import kinds
from dfcc.analyses.zero_products import zero_activation_windows, zero_product_counts
from dfcc.analyses.reference import run_reference
from dfcc.errors import DfccError, remark
from dfcc.kinds.cost import ZERO_HISTOGRAM_ATTR, zero_histogram
from dfcc.passes.calibration import calibration_inputs

MEASURED = (kinds.ConvOp, kinds.SparseConvOp, kinds.LinearOp, kinds.SparseLinearOp)


def window_of(op, x: np.ndarray) -> tuple[np.ndarray, tuple]:
    """The node's input as N x H x W x C and its window (kernel, stride, dilation, pad)."""
    if isinstance(op, (kinds.LinearOp, kinds.SparseLinearOp)):
        return x.reshape(-1, 1, 1, x.shape[-1]), ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0))
    return x, op.window_geometry()


class ZeroProductRecorder(Interpreter.Listener):
    """Accumulates each conv/linear node's zero-product counts and zero activations over runs."""

    def __init__(self):
        self.counts: dict[str, np.ndarray] = {}
        self.zeros: dict[str, list[int]] = {}

    def will_interpret_op(self, op: Operation, args) -> None:
        if not isinstance(op, MEASURED):
            return
        name = op.node_name.data
        x, geometry = window_of(op, np.asarray(args[0]))
        groups = op.groups.value.data if isinstance(op, (kinds.ConvOp, kinds.SparseConvOp)) else 1
        counts = zero_product_counts(zero_activation_windows(x, *geometry), np.asarray(args[1]), groups)
        self.counts[name] = self.counts.get(name, 0) + counts
        seen = self.zeros.setdefault(name, [0, 0])
        seen[0] += int(np.count_nonzero(x == 0))
        seen[1] += x.size


def histogram_attr(counts: np.ndarray, zeros: int, total: int, data: str) -> DictionaryAttr:
    return DictionaryAttr({
        "counts": DenseIntOrFPElementsAttr.from_list(TensorType(i64, counts.shape), counts.reshape(-1).tolist()),
        "activation_zeros": FloatAttr(zeros / total, f64),
        "data": StringAttr(data),
    })


@dataclass(frozen=True)
class ActivationSparsity(ModulePass):
    """Zero-product histograms of every conv and linear node on calibration data (module doc)."""

    name = "activation-sparsity"

    calibration: str | None = None
    samples: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.calibration is not None and not os.path.isfile(str(self.calibration)):
            raise DfccError(f"activation-sparsity: calibration file '{self.calibration}' does not exist "
                            "(an .npz with arrays arg0, arg1, ...)")
        if self.samples < 1:
            raise DfccError(f"activation-sparsity: samples={self.samples} must be at least 1")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        functions = [f for f in op.walk() if isinstance(f, func.FuncOp) and any(isinstance(o, kinds.SourceOp) for o in f.walk())]
        if not functions:
            raise DfccError("activation-sparsity works on dataflow graphs; run lower-to-dataflow first", self.name)
        data = os.path.basename(str(self.calibration)) if self.calibration is not None else "random"
        for function in functions:
            recorder = ZeroProductRecorder()
            for sample in calibration_inputs(function, self.calibration, self.samples, self.seed, self.name):
                run_reference(op, sample, function.sym_name.data, observers=(recorder,))
            for node in function.walk():
                if isinstance(node, MEASURED) and node.node_name.data in recorder.counts:
                    name = node.node_name.data
                    zeros, total = recorder.zeros[name]
                    node.attributes[ZERO_HISTOGRAM_ATTR] = histogram_attr(recorder.counts[name], zeros, total, data)
                    p = zero_histogram(node)
                    k = p.shape[1] - 1
                    remark(f"{name}: {zeros / total:.1%} zero activations, "
                           f"{float((p * np.arange(k + 1)).sum(axis=1).mean()) / k:.1%} zero products per window", self.name)
