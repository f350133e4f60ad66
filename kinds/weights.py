"""Constant tensors (weights, biases, per-channel parameters) held in a memory."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, DenseResourceAttr, StringAttr, TensorType
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp
from dfcc.dialects.fixed_point import formats_of, weights_on_grid
from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError
from dfcc.kinds.registry import NodeKind, register


@irdl_op_definition
class WeightsOp(NodeOp):
    """A constant tensor (weights, biases, per-channel parameters) held in a memory.

    `value` holds the numbers (exactly representable in `format` once quantized). Where the memory
    lives is the reading node's `dataflow.weights_memory` (bram by default, or uram, lutram, off_chip).
    """

    name = "dataflow.weights"
    value = prop_def(DenseResourceAttr | DenseIntOrFPElementsAttr)
    format = opt_prop_def(Attribute)
    output = result_def(TensorType)

    assembly_format = "attr-dict `:` type($output)"

    def __init__(self, value: DenseResourceAttr, name: str):
        super().__init__(result_types=[value.type], properties={"value": value, "name": StringAttr(name)})

    def verify_node(self) -> None:
        if self.value.type != self.output.type:
            raise VerifyException(f"weights type {self.output.type} does not match value type {self.value.type}")


class ConstantKind(NodeKind):
    """What dense and encoded weights share: a constant read by one node, which costs its memory and
    makes its ROMs; it is no stream."""

    def cost(self, op: NodeOp):
        raise DfccError(f"weights '{op.node_name.data}' have no cost of their own: the node reading them counts "
                        "their memory")

    def stream_lanes(self, op: NodeOp, folding=None) -> tuple[int, int]:
        raise DfccError(f"weights '{op.node_name.data}' are a constant, not a stream: they have no lanes")

    def emit_hls(self, em, op: NodeOp) -> None:
        """Nothing of its own: the nodes reading it make its ROMs (their layout and number type)."""


@register
class Weights(ConstantKind):
    op = WeightsOp

    def run_float(self, op: WeightsOp, args):
        return (elements_array(op.value),)

    def run_fixed(self, op: WeightsOp, args):
        """`value` holds real numbers exactly on the grid of `format` (quantize puts them there
        offline; checked here). `format` is one FixedType, or an array of FixedTypes, one per output
        channel (dim 0), for per-channel scales."""
        value = elements_array(op.value)
        fmt = formats_of(op.format)
        if fmt is None:
            return (value,)
        check_on_grid(op, value, fmt)
        return (value.astype(np.float64),)


# (values, format) pairs found on the grid, by id of the read-only values (kept here so the id stays theirs)
_ON_GRID: dict[int, tuple[np.ndarray, object]] = {}


def check_on_grid(op: NodeOp, value: np.ndarray, fmt) -> None:
    """Refuse weights whose values are off the grid of their format (consumers would round them).

    Read-only values (a blob's, decoded once) are checked once per format: a reference run per
    calibration batch would otherwise re-check every weight of the network."""
    if fmt is None:
        return
    key = tuple(fmt) if isinstance(fmt, list) else fmt
    known = _ON_GRID.get(id(value))
    if known is not None and known[0] is value and known[1] == key:
        return
    if not weights_on_grid(value, fmt):
        raise DfccError(f"weights '{op.node_name.data}' hold values that are not on the grid of their format")
    if _read_only(value):
        _ON_GRID[id(value)] = (value, key)


def _read_only(array: np.ndarray) -> bool:
    """Whether no one can change these numbers: read-only down to an immutable bytes buffer or a read-only owner."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    return array is None or isinstance(array, bytes)
