"""The fixed-point semantics shared by the kinds that only move data (or copy it)."""

from __future__ import annotations

import numpy as np

from dfcc.dialects.dataflow import NodeOp
from dfcc.dialects.fixed_point import cast, fixed_of


class FixedIsFloatThenCast:
    """Mixin for a `NodeKind` whose fixed-point semantics is its float semantics on the exact input
    values, then each fixed-point result cast to its type (the identity when the output type is the
    input type, as quantize sets for data movement)."""

    def run_fixed(self, op: NodeOp, args: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """Exact data movement, then T_out for each fixed-point result."""
        return tuple(cast(np.asarray(v, dtype=np.float64), fixed_of(r)) if fixed_of(r) is not None else v
                     for v, r in zip(self.run_float(op, args), op.results))
