"""Zero-skipping convolution: computes what `dataflow.conv` computes, but a window spends cycles only on
its non-zero activation x weight products (zero weights known at compile time, zero activations at
run time), as in PASS and HASS.

Its cycles are an expectation: the histogram P_c(z) of zero products per window and input channel,
measured on calibration data by the activation-sparsity pass (`dataflow.zero_histogram`), or, when
none was measured, counted from the weights alone (activations taken as dense).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from xdsl.irdl import irdl_op_definition
from xdsl.ir import SSAValue

from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError
from dfcc.hardware.cycles import sparse_conv_cycles
from dfcc.kinds.conv import Conv, ConvFields
from dfcc.kinds.cost import ZERO_HISTOGRAM_ATTR, Folding, zero_histogram
from dfcc.kinds.registry import register
from dfcc.kinds.sparse_weights import SparseWeightsOp
from dfcc.kinds.weights import WeightsOp


@irdl_op_definition
class SparseConvOp(ConvFields):
    """A `dataflow.conv` that skips zero products (module doc); same operands, properties and folding."""

    name = "dataflow.sparse_conv"


def weight_values(value: SSAValue) -> np.ndarray | None:
    """The dense weights a conv reads (decoded when sparse), None if not a constant."""
    owner = value.owner
    if isinstance(owner, SparseWeightsOp):
        return owner.decode()
    if isinstance(owner, WeightsOp):
        return elements_array(owner.value)
    return None


def weight_zero_histogram(weights: np.ndarray, groups: int) -> np.ndarray:
    """P_c(z) over the filters meeting input channel c, counting only zero weights (dense activations)."""
    filters, cg = weights.shape[:2]
    k = int(np.prod(weights.shape[2:]))
    zeros = (weights.reshape(filters, cg, k) == 0).sum(axis=2)  # F x Cg
    fg = filters // groups
    hist = np.zeros((cg * groups, k + 1))
    for g in range(groups):
        for c in range(cg):
            hist[g * cg + c] = np.bincount(zeros[g * fg:(g + 1) * fg, c], minlength=k + 1) / fg
    return hist


def expectation_basis(op: SparseConvOp) -> str:
    """What the node's expected cycles average over (the estimate says it)."""
    attr = op.attributes.get(ZERO_HISTOGRAM_ATTR)
    if attr is None:
        return "zero weights only (activations taken as dense)"
    data = attr.data["data"].data
    return "random inputs" if data == "random" else f"calibration data {data}"


def expected_histogram(op: SparseConvOp) -> np.ndarray:
    measured = zero_histogram(op)
    if measured is not None:
        return measured
    weights = weight_values(op.weights)
    if weights is None:
        raise DfccError(f"sparse_conv '{op.node_name.data}': weights are not a constant")
    return weight_zero_histogram(weights, op.groups.value.data)


@register
class SparseConv(Conv):
    op = SparseConvOp
    hls_headers = ()

    def emit_hls(self, em, op: SparseConvOp) -> None:
        raise em.error(op, "this node kind is not supported by the HLS backend yet")

    def cycles_function(self, op: SparseConvOp) -> Callable[[Folding], float]:
        _, h, w, c = op.input.type.get_shape()
        _, ho, wo, f = op.output.type.get_shape()
        (kr, kc), _, _, (pt, pb, pl, pr) = op.window_geometry()
        groups = op.groups.value.data
        hist = expected_histogram(op).tolist()
        # cycles are an expected value; the stage takes whole cycles
        return lambda folding: math.ceil(sparse_conv_cycles(
            h, w, c, f, kr, kc, ho, wo, folding[0], folding[1], folding[3], hist, groups=groups,
            coarse_group=folding[2], pad_top=pt, pad_bottom=pb, pad_left=pl, pad_right=pr))
