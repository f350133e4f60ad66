"""`sparsify`: magnitude pruning of conv and linear weights, stored encoded (kinds/sparse_weights.py).

    sparsify{weight-density=0.3}                          unstructured, one threshold over all layers
    sparsify{weight-density=0.5 scope=layer}              every layer keeps its largest half
    sparsify{pattern=n:m n=2 m=4}                         2:4 along each filter's weights
    sparsify{weight-density=0.3 override=conv0:keep,fc*:0.6}

Unstructured pruning keeps the weights of largest magnitude: with `scope=global` (the default) the
`weight-density` fraction of all pruned layers' weights together (one magnitude threshold, as in
global magnitude pruning), with `scope=layer` that fraction of each layer. `pattern=n:m` keeps the `n`
largest of every `m` consecutive weights of a filter (row-major over channels and kernel positions;
a filter's last group may be shorter and keeps min(n, its size)). `override=NODE_GLOB:D` gives the
matching nodes their own density D (unstructured, layer-wise) or `keep` (left dense).

Each pruned node's weights become a `dataflow.sparse_weights` op: kept values plus a bitmask or n:m
indices, with the pattern and density. Runs on float or quantized graphs (the weights' `format` is
kept: zero is on every grid).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dfcc import kinds
from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError, remark
from dfcc.kinds.sparse_weights import PATTERNS, group_sizes

SCOPES = ("global", "layer")


def magnitude_keep(weights: np.ndarray, count: int) -> np.ndarray:
    """Keep-mask of the `count` weights of largest magnitude (ties broken by position)."""
    order = np.argsort(-np.abs(weights.reshape(-1)), kind="stable")
    keep = np.zeros(weights.size, dtype=bool)
    keep[order[:count]] = True
    return keep.reshape(weights.shape)


def global_keep(layers: dict[str, np.ndarray], density: float) -> dict[str, np.ndarray]:
    """Keep-masks of the largest `density` fraction of all layers' weights taken together."""
    flat = np.concatenate([np.abs(w.reshape(-1)) for w in layers.values()])
    order = np.argsort(-flat, kind="stable")
    keep = np.zeros(flat.size, dtype=bool)
    keep[order[:round(density * flat.size)]] = True
    masks, start = {}, 0
    for name, w in layers.items():
        masks[name] = keep[start:start + w.size].reshape(w.shape)
        start += w.size
    return masks


def nm_keep(weights: np.ndarray, n: int, m: int) -> np.ndarray:
    """Keep-mask of the `n` largest of every `m` consecutive weights of each row (dim 0)."""
    rows = np.abs(weights.reshape(weights.shape[0], -1)).astype(np.float64)
    length = rows.shape[1]
    groups = len(group_sizes(length, m))
    padded = np.full((rows.shape[0], groups * m), -1.0)
    padded[:, :length] = rows
    order = np.argsort(-padded.reshape(rows.shape[0], groups, m), axis=2, kind="stable")[:, :, :n]
    keep = np.zeros(padded.shape, dtype=bool).reshape(rows.shape[0], groups, m)
    np.put_along_axis(keep, order, True, axis=2)
    return keep.reshape(rows.shape[0], -1)[:, :length].reshape(weights.shape)


def parse_override(item: str, names: list[str]) -> tuple[str, float | None]:
    """`NODE_GLOB:D` -> (glob, D); `NODE_GLOB:keep` -> (glob, None)."""
    pattern, sep, spec = str(item).rpartition(":")
    if not sep or not pattern:
        raise DfccError(f"sparsify: override '{item}' must be NODE_GLOB:DENSITY or NODE_GLOB:keep")
    if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
        raise DfccError(f"sparsify: override pattern '{pattern}' matches no conv or linear node "
                        f"(they are: {', '.join(sorted(names))})")
    if spec == "keep":
        return pattern, None
    try:
        density = float(spec)
    except ValueError:
        raise DfccError(f"sparsify: override '{item}': '{spec}' is neither a density in (0, 1] nor keep") from None
    if not 0 < density <= 1:
        raise DfccError(f"sparsify: override '{item}': density {density} is not in (0, 1]")
    return pattern, density


@dataclass(frozen=True)
class Sparsify(ModulePass):
    """Magnitude pruning of conv and linear weights into encoded sparse weights (module doc)."""

    name = "sparsify"

    weight_density: int | float | None = None
    pattern: str = "unstructured"
    n: int = 2
    m: int = 4
    scope: str = "global"
    override: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise DfccError(f"sparsify: pattern={self.pattern} is not one of {', '.join(PATTERNS)}")
        if self.scope not in SCOPES:
            raise DfccError(f"sparsify: scope={self.scope} is not one of {', '.join(SCOPES)}")
        if self.pattern == "n:m":
            if not 1 <= self.n <= self.m <= 127:
                raise DfccError(f"sparsify: n={self.n} m={self.m} must satisfy 1 <= n <= m <= 127")
            if self.weight_density is not None:
                raise DfccError(f"sparsify: pattern=n:m fixes the density at n/m; drop weight-density={self.weight_density}")
        elif self.weight_density is None or not 0 < self.weight_density <= 1:
            raise DfccError(f"sparsify: pattern=unstructured needs weight-density=D with D in (0, 1], "
                            f"got {self.weight_density}")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        nodes = [o for o in op.walk() if isinstance(o, (kinds.ConvOp, kinds.LinearOp))]
        if not nodes:
            raise DfccError("sparsify works on dataflow graphs with conv or linear nodes; run lower-to-dataflow first")
        names = [n.node_name.data for n in nodes]
        overrides = [parse_override(item, names) for item in self.override]
        chosen: dict[str, float | None | str] = {}
        for node in nodes:
            name = node.node_name.data
            matches = [d for glob, d in overrides if fnmatch.fnmatchcase(name, glob)]
            if matches:
                chosen[name] = matches[-1]
            else:
                chosen[name] = "n:m" if self.pattern == "n:m" else self.scope
        dense = {n.node_name.data: self._dense_weights(n) for n in nodes if chosen[n.node_name.data] is not None}
        pool = {name: w for name, w in dense.items() if chosen[name] == "global"}
        plans = {name: (keep, "unstructured") for name, keep in
                 (global_keep(pool, self.weight_density) if pool else {}).items()}
        for name, w in dense.items():
            how = chosen[name]
            if how == "n:m":
                plans[name] = nm_keep(w, self.n, self.m), "n:m"
            elif how == "layer":
                plans[name] = magnitude_keep(w, round(self.weight_density * w.size)), "unstructured"
            elif isinstance(how, float):
                plans[name] = magnitude_keep(w, round(how * w.size)), "unstructured"
        for node in nodes:
            name = node.node_name.data
            if name in plans:
                self._encode(node, dense[name], *plans[name])

    def _dense_weights(self, node: kinds.ConvOp | kinds.LinearOp) -> np.ndarray:
        owner = node.weights.owner
        if isinstance(owner, kinds.SparseWeightsOp):
            raise DfccError(f"{node.name} '{node.node_name.data}' is already sparse; sparsify once", self.name)
        if not isinstance(owner, kinds.WeightsOp):
            raise DfccError(f"{node.name} '{node.node_name.data}': weights must come from dataflow.weights", self.name)
        return elements_array(owner.value)

    def _encode(self, node: kinds.ConvOp | kinds.LinearOp, weights: np.ndarray, keep: np.ndarray, pattern: str) -> None:
        owner = node.weights.owner
        sparse = kinds.SparseWeightsOp(f"{owner.node_name.data}_sparse", weights, keep, pattern, self.n, self.m,
                                       owner.format)
        Rewriter.insert_op(sparse, InsertPoint.before(node))
        node.operands[1] = sparse.output
        if not owner.output.uses:
            Rewriter.erase_op(owner)
        label = f"{self.n}:{self.m}" if pattern == "n:m" else "unstructured"
        remark(f"{node.node_name.data}: {label}, density {sparse.density.value.data:.3f} "
               f"({int(keep.sum())} of {keep.size} weights kept)", "sparsify")
