"""Accumulator formats: the fixed-point type that holds a node's sums exactly.

The quantize pass writes it as the node's `acc_format`; the estimate (its accumulator width) and
the HLS kernels (their accumulator type) read that attribute and derive nothing of their own.
"""

from __future__ import annotations

import math

from dfcc.dialects.dataflow import FixedType


def _signed(fmt: FixedType) -> tuple[int, int]:
    """(width, integer bits) of the smallest signed type holding every value of fmt."""
    extra = 0 if fmt.is_signed else 1
    return fmt.width.data + extra, fmt.int_bits.data + extra


def sum_format(x: FixedType, count: int) -> FixedType:
    """A sum of `count` values of x: x's fraction, ceil(log2 count) + 1 more integer bits (one
    more than the worst case needs, the width the pooling/reduction kernels have always used)."""
    width, ints = _signed(x)
    grow = math.ceil(math.log2(count)) + 1
    return FixedType(width + grow, ints + grow, True, "trn", "wrap")


def product_sum_format(a: FixedType, b: FixedType, count: int) -> FixedType:
    """A sum of `count` products a*b (matmul's inner dim): exact products, then as sum_format."""
    wa, ia = _signed(a)
    wb, ib = _signed(b)
    grow = math.ceil(math.log2(count)) + 1 if count > 1 else 0
    return FixedType(wa + wb + grow, ia + ib + grow, True, "trn", "wrap")
