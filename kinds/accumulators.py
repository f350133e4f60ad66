"""Accumulator formats: the fixed-point type that holds a node's sums exactly.

The quantize pass writes it as the node's `acc_format`; the estimate (its accumulator width) and
the HLS kernels (their accumulator type) read that attribute and derive nothing of their own.
"""

from __future__ import annotations

import math

from dfcc.dialects.dataflow import MAX_FIXED_WIDTH, MAX_INT_BITS, FixedType


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


def product_sum_bits(a: FixedType, b: FixedType, count: int) -> tuple[int, int]:
    """(width, integer bits) of the exact sum of `count` products a*b (matmul's inner dim): exact
    products, then as sum_format. Unbounded: the HLS kernel's exact type."""
    wa, ia = _signed(a)
    wb, ib = _signed(b)
    grow = math.ceil(math.log2(count)) + 1 if count > 1 else 0
    return wa + wb + grow, ia + ib + grow


def product_sum_format(a: FixedType, b: FixedType, count: int) -> FixedType:
    """The accumulator format of such a sum: the exact one, except that a sum of products too small
    for any format (integer bits below -MAX_INT_BITS: two near-zero streams) gets the lowest integer
    bits allowed, keeping as many fraction bits as MAX_FIXED_WIDTH allows (the rest truncated once)."""
    width, ints = product_sum_bits(a, b, count)
    if ints < -MAX_INT_BITS:
        width, ints = min(width + (-MAX_INT_BITS - ints), MAX_FIXED_WIDTH), -MAX_INT_BITS
    return FixedType(width, ints, True, "trn", "wrap")
