"""Pruned weights stored encoded: the kept values plus where they sit, never the dense zeros.

Two encodings, one per pattern (the `sparsify` pass chooses them):

- `unstructured`: `mask`, an i8 tensor of ceil(N/8) bytes, bit i (least significant first) of the
  row-major flattened weights set where a value is kept;
- `n:m`: each row (dim 0: a filter or an output feature) is cut into groups of `m` consecutive
  weights (the last may be shorter); `indices`, an i8 tensor, holds for each group the ascending
  in-group positions of its min(n, group size) kept weights.

`values` holds the kept weights in row-major order; `density` is their fraction of the tensor.
Consumers read the dense tensor the encoding stands for (`decode`), so a conv or linear node is the
same whether its weights are sparse or not; the cost and HLS facets read the encoding itself.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import DenseResourceAttr, FloatAttr, IntegerAttr, StringAttr, TensorType, f32, f64, i8
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, opt_prop_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.dataflow import NodeOp, int_attr
from dfcc.dialects.fixed_point import formats_of
from dfcc.dialects.resources import elements_array, make_resource
from dfcc.errors import DfccError
from dfcc.kinds.registry import register
from dfcc.kinds.weights import ConstantKind, WeightsOp, check_on_grid

PATTERNS = ("unstructured", "n:m")


def group_sizes(row_length: int, m: int) -> np.ndarray:
    """Sizes of the groups of `m` consecutive weights a row of `row_length` is cut into."""
    sizes = np.full(-(-row_length // m), m)
    sizes[-1] = row_length - m * (len(sizes) - 1)
    return sizes


def nm_kept_per_group(row_length: int, n: int, m: int) -> np.ndarray:
    return np.minimum(group_sizes(row_length, m), n)


def encode_bitmask(keep: np.ndarray) -> np.ndarray:
    """The `mask` bytes (as i8) of a boolean keep-mask of any shape."""
    return np.packbits(keep.reshape(-1), bitorder="little").view(np.int8)


def encode_nm(keep: np.ndarray, n: int, m: int) -> np.ndarray:
    """The `indices` (as i8) of a keep-mask with exactly min(n, size) kept weights in every group."""
    rows = keep.reshape(keep.shape[0], -1)
    length = rows.shape[1]
    kept = nm_kept_per_group(length, n, m)
    starts = np.repeat(np.arange(len(kept)) * m, kept)
    positions = [np.flatnonzero(row) for row in rows]
    if any(p.size != starts.size for p in positions):
        raise DfccError(f"the keep-mask is not {n}:{m}: every group of {m} must keep min({n}, its size) weights")
    indices = np.stack(positions) - starts
    if indices.size and (indices.min() < 0 or np.any(indices >= m)):
        raise DfccError(f"the keep-mask is not {n}:{m}")
    return indices.reshape(-1).astype(np.int8)


def nm_positions(shape: tuple[int, ...], indices: np.ndarray, n: int, m: int) -> np.ndarray:
    """Flat row-major positions of the kept weights an `n:m` encoding names."""
    rows = shape[0]
    length = math.prod(shape[1:])
    sizes = group_sizes(length, m)
    kept = np.minimum(sizes, n)
    starts = np.repeat(np.arange(len(kept)) * m, kept)
    offsets = indices.astype(np.int64).reshape(rows, starts.size)
    if offsets.size and (offsets.min() < 0 or np.any(offsets >= np.repeat(sizes, kept))):
        raise DfccError(f"an index of the {n}:{m} encoding is outside its group")
    group_of = np.repeat(np.arange(len(kept)), kept)
    if np.any((np.diff(offsets, axis=1) <= 0) & (np.diff(group_of) == 0)):
        raise DfccError(f"the indices of a {n}:{m} group must be ascending")
    return (np.arange(rows)[:, None] * length + starts + offsets).reshape(-1)


@irdl_op_definition
class SparseWeightsOp(NodeOp):
    """Pruned weights: kept `values` plus their `mask` (unstructured) or `indices` (n:m); see module doc."""

    name = "dataflow.sparse_weights"
    values = prop_def(DenseResourceAttr)
    pattern = prop_def(StringAttr)
    density = prop_def(FloatAttr)
    mask = opt_prop_def(DenseResourceAttr)
    indices = opt_prop_def(DenseResourceAttr)
    n = opt_prop_def(IntegerAttr)
    m = opt_prop_def(IntegerAttr)
    format = opt_prop_def(Attribute)
    output = result_def(TensorType)

    assembly_format = "attr-dict `:` type($output)"

    def __init__(self, name: str, dense: np.ndarray, keep: np.ndarray, pattern: str, n: int = 0, m: int = 0,
                 fmt: Attribute | None = None):
        values = make_resource(f"{name}_values", dense[keep])
        properties = {"name": StringAttr(name), "values": values, "pattern": StringAttr(pattern),
                      "density": FloatAttr(float(keep.sum()) / keep.size, f64)}
        if pattern == "n:m":
            properties |= {"n": int_attr(n), "m": int_attr(m),
                           "indices": make_resource(f"{name}_indices", encode_nm(keep, n, m), i8)}
        else:
            properties["mask"] = make_resource(f"{name}_mask", encode_bitmask(keep), i8)
        if fmt is not None:
            properties["format"] = fmt
        super().__init__(result_types=[TensorType(f32, dense.shape)], properties=properties)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.output.type.get_shape())

    def kept_positions(self) -> np.ndarray:
        """Flat row-major positions of the kept weights."""
        if self.pattern.data == "n:m":
            return nm_positions(self.shape, elements_array(self.indices), self.n.value.data, self.m.value.data)
        bits = np.unpackbits(elements_array(self.mask).view(np.uint8), count=math.prod(self.shape), bitorder="little")
        return np.flatnonzero(bits)

    def keep_mask(self) -> np.ndarray:
        keep = np.zeros(math.prod(self.shape), dtype=bool)
        keep[self.kept_positions()] = True
        return keep.reshape(self.shape)

    def decode(self) -> np.ndarray:
        """The dense tensor the encoding stands for (zeros where pruned)."""
        dense = np.zeros(math.prod(self.shape), dtype=np.float32)
        dense[self.kept_positions()] = elements_array(self.values)
        return dense.reshape(self.shape)

    def verify_node(self) -> None:
        where = f"sparse weights '{self.node_name.data}'"
        pattern = self.pattern.data
        if pattern not in PATTERNS:
            raise VerifyException(f"{where}: pattern '{pattern}' is not one of {', '.join(PATTERNS)}")
        if len(self.shape) < 1 or len(self.values.type.get_shape()) != 1:
            raise VerifyException(f"{where}: values must be 1-D and the weights at least 1-D")
        encoding, absent = ("indices", "mask") if pattern == "n:m" else ("mask", "indices")
        if self.properties.get(encoding) is None or self.properties.get(absent) is not None:
            raise VerifyException(f"{where}: pattern {pattern} is encoded by '{encoding}' alone")
        if pattern == "n:m":
            if self.n is None or self.m is None or not 1 <= self.n.value.data <= self.m.value.data <= 127:
                raise VerifyException(f"{where}: n:m needs 1 <= n <= m <= 127")
        try:
            kept = self.kept_positions()
        except (DfccError, ValueError) as error:
            raise VerifyException(f"{where}: bad encoding: {error}") from None
        if kept.size != self.values.type.get_shape()[0]:
            raise VerifyException(f"{where}: the encoding keeps {kept.size} weights but values holds "
                                  f"{self.values.type.get_shape()[0]}")
        if abs(self.density.value.data - kept.size / math.prod(self.shape)) > 1e-9:
            raise VerifyException(f"{where}: density {self.density.value.data} is not {kept.size}/{math.prod(self.shape)}")


@register
class SparseWeights(ConstantKind):
    op = SparseWeightsOp

    def run_float(self, op: SparseWeightsOp, args):
        return (op.decode(),)

    def run_fixed(self, op: SparseWeightsOp, args):
        """The decoded weights, exactly on the grid of `format` (as `dataflow.weights`)."""
        value = op.decode().astype(np.float64)
        check_on_grid(op, value, formats_of(op.format))
        return (value,)

    def emit_hls(self, em, op: SparseWeightsOp) -> None:
        """Nothing of its own: the zero-skipping node reading it stores its non-zero weights (kinds/hls_sparse.py)."""


def weights_format(value: SSAValue):
    """The format (one FixedType, a per-channel list, or None) of the weights a node reads, dense or sparse."""
    owner = value.owner
    return formats_of(owner.format) if isinstance(owner, (WeightsOp, SparseWeightsOp)) else None

