"""The registry of node kinds, keyed by op class: the one way passes and backends reach a kind.

A kind is a `NodeKind` subclass beside its op class, registered with `@register`; its facets
(cost, semantics, HLS code) are methods, so a forgotten facet is a missing method the completeness
test (tests/test_kinds.py) finds, not a silent fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from xdsl.ir import Operation

from dfcc.dialects.dataflow import NodeOp
from dfcc.errors import DfccError


class NodeKind:
    """One node kind: its op class (op, verifier, folding) and the facets every layer needs."""

    op: ClassVar[type[NodeOp]]
    # the kernel headers (backends/hls/include/dfcc) its HLS code calls; top.h includes exactly these
    hls_headers: ClassVar[tuple[str, ...]] = ()
    # whether its cost reads the weight values (zero skipping), not only their shape and format (kinds/cost.py cost_key)
    cost_reads_weights: ClassVar[bool] = False

    def cost(self, op: NodeOp):
        """The node's `NodeModel` (kinds/cost.py): cycles and resources as a function of its folding."""
        raise NotImplementedError(f"{op.name} has no cost facet")

    def run_float(self, op: NodeOp, args: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """The node's float semantics: its results for `args`, numpy arrays in stream order."""
        raise NotImplementedError(f"{op.name} has no float semantics")

    def run_fixed(self, op: NodeOp, args: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """The node's bit-exact fixed-point semantics (dialects/fixed_point.py), in a graph with
        fixed-point streams; its docstring states the kind's rule of the number contract."""
        raise NotImplementedError(f"{op.name} has no fixed-point semantics")

    def stream_lanes(self, op: NodeOp, folding: Mapping[str, int] | None = None) -> tuple[int, int]:
        """Lanes (elements per stream beat) of its main input and of its outputs under `folding`
        (factor -> value; default the op's own), as its HLS code realises them. The cost model, the
        cycle-level schedules and the HLS emitter all read this, so they agree."""
        raise NotImplementedError(f"{op.name} has no stream_lanes facet")

    def read_lanes(self, op: NodeOp, value, folding: Mapping[str, int] | None = None,
                   producer_lanes: int = 1) -> int:
        """Lanes it reads its stream operand `value` in (a producer writing other lanes gets a lane
        converter in front of it): its main input's, unless its kind reads some operand otherwise."""
        return self.stream_lanes(op, folding)[0]

    def paced_cycles(self, op: NodeOp, folding: Mapping[str, int], interval: int) -> int:
        """Cycles per inference when its main input's beats come at most one per `interval` cycles (a
        lane converter widening them in front of it): more than its cost's where the pace opens gaps
        its own loop cannot fill (a window generator's); 0 where the cost's cycles still hold."""
        return 0

    def emit_hls(self, em, op: NodeOp) -> None:
        """Its stage in the HLS design: `em` is the backend's Emitter (streams, ports, ROMs, names)."""
        raise NotImplementedError(f"{op.name} has no emit_hls facet")


KINDS: dict[type[NodeOp], NodeKind] = {}


def register(kind: type[NodeKind]) -> type[NodeKind]:
    """Class decorator: make `kind` the definition of its op class."""
    if kind.op in KINDS:
        raise ValueError(f"{kind.op.name} is registered twice")
    KINDS[kind.op] = kind()
    return kind


def kind_of(op: Operation) -> NodeKind:
    """The kind of a dataflow node; anything else is a DfccError naming the op."""
    kind = KINDS.get(type(op))
    if kind is None:
        raise DfccError(f"'{op.name}' is not a dataflow node kind")
    return kind
