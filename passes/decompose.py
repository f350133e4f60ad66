"""`decompose`: conv and linear nodes become chains of smaller nodes (low-rank tensor decomposition).

    decompose{method=svd scheme=separable rank=8}
    decompose{method=cpd macs=0.4}
    decompose{method=svd scheme=grouped groups=2 energy=0.95 override=conv3:keep,conv5:cpd12}
    decompose{method=auto macs=0.5}

Schemes (`passes/lowrank.py`): SVD `separable` (1xK then Kx1), `grouped` (KxK in g groups then 1x1),
`reversed` (1x1 then KxK in g groups), `cpd` (1x1, depthwise Kx1, depthwise 1xK, 1x1); a linear
becomes two linears (SVD). `method=svd` uses `scheme` (and `groups`) for convs, `method=cpd` uses CPD
for convs; linears always use SVD.

Rank of each layer, first that applies: `rank=R` (per group; SVD ranks are capped at the rank that
is exact); `energy=E`, the smallest rank keeping that fraction of the squared singular values (SVD
only); otherwise the rank whose chain keeps `macs` (default 0.5) of the layer's MACs. `method=auto`
tries, per layer, SVD separable, grouped and reversed (g = 1, 2, 4 where they divide) and CPD, each
at the rank keeping `macs` of the MACs, and keeps the one with the smallest weight error.

Scope (Mixed-TD, arXiv 2306.05021): convs with a KxK window (K > 1 both ways) that are not the stem
(the first conv) and not grouped, and every linear. `override=NODE_GLOB:SPEC,...` names nodes
explicitly (any conv or linear, the stem and 1x1s included); SPEC is `keep` or a scheme with its
rank and groups: `separable8`, `grouped4g2`, `reversed6g2`, `cpd12`, `svd16` (linears).

Every new node carries `dataflow.decomposition = {method, rank, groups, source, factor}`: which
scheme made it, at which rank, from which node, and its position in the chain. Run it on a float
graph, before `quantize` and `explore`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.dialects.resources import elements_array, make_resource
from dfcc.errors import DfccError, remark
from dfcc.passes.lowrank import (
    CONV_SCHEMES, Factor, Geometry, Scheme, chain_macs, factorise, full_rank, rank_for_energy, relative_error,
)

DECOMPOSITION_ATTR = "dataflow.decomposition"
METHODS = ("svd", "cpd", "auto")
SVD_SCHEMES = ("separable", "grouped", "reversed")
AUTO_GROUPS = (1, 2, 4)
_SPEC = re.compile(r"(?P<name>[a-z]+)(?P<rank>\d+)(?:g(?P<groups>\d+))?")


def parse_spec(text: str) -> Scheme | None:
    """`keep` -> None; `grouped4g2` -> Scheme('grouped', 4, 2)."""
    if text == "keep":
        return None
    match = _SPEC.fullmatch(text)
    if match is None or match["name"] not in (*CONV_SCHEMES, "svd"):
        raise DfccError(f"decompose: override spec '{text}' must be keep or SCHEME RANK [gGROUPS] with SCHEME one of "
                        f"{', '.join((*CONV_SCHEMES, 'svd'))} (e.g. separable8, grouped4g2, cpd12, svd16)")
    return Scheme(match["name"], int(match["rank"]), int(match["groups"] or 1))


@dataclass
class Layer:
    """A conv or linear node as the factorisations see it."""

    op: kinds.ConvOp | kinds.LinearOp
    weights: np.ndarray
    bias: np.ndarray | None
    geometry: Geometry
    in_spatial: tuple[int, int]

    @staticmethod
    def of(op: kinds.ConvOp | kinds.LinearOp) -> Layer:
        weights = elements_array(op.weights.owner.value).astype(np.float64)
        bias = None if op.bias is None else elements_array(op.bias.owner.value).astype(np.float32)
        if isinstance(op, kinds.LinearOp):
            return Layer(op, weights, bias, Geometry(), (1, 1))
        _, stride, dilation, pad = op.window_geometry()
        return Layer(op, weights, bias, Geometry(stride, dilation, pad), op.input.type.get_shape()[1:3])

    @property
    def name(self) -> str:
        return self.op.node_name.data

    @property
    def macs(self) -> int:
        return self.op.output.type.num_elements // self.op.output.type.get_shape()[-1] * self.weights.size

    def chain_macs(self, factors: list[Factor]) -> int:
        batch_pixels = self.op.output.type.num_elements // self.op.output.type.get_shape()[-1]
        if isinstance(self.op, kinds.LinearOp):
            return batch_pixels * chain_macs(factors, (1, 1), df.window_output_size)
        batch = self.op.input.type.get_shape()[0]
        return batch * chain_macs(factors, self.in_spatial, df.window_output_size)

    def factorise(self, scheme: Scheme) -> list[Factor]:
        return factorise(self.weights, self.bias, self.geometry, scheme)

    def rank_for_macs(self, name: str, groups: int, fraction: float) -> int:
        """The rank whose chain keeps `fraction` of the MACs (chain MACs grow linearly with rank)."""
        per_rank = self.chain_macs(self.factorise(Scheme(name, 1, groups)))
        return max(1, int(round(fraction * self.macs / per_rank)))


def is_decomposable(op) -> bool:
    return isinstance(op, kinds.LinearOp) or (isinstance(op, kinds.ConvOp) and op.groups.value.data == 1)


def default_scope(op, stem: kinds.ConvOp | None) -> bool:
    """Mixed-TD's scope: KxK convs (K > 1), not the stem; and every linear."""
    if isinstance(op, kinds.LinearOp):
        return True
    kr, kc = op.ints_prop("kernel")
    return op is not stem and kr > 1 and kc > 1


def candidate_layers(function: func.FuncOp) -> tuple[list, kinds.ConvOp | None]:
    """The function's conv/linear nodes and its stem (first conv)."""
    ops = [op for op in function.walk() if isinstance(op, (kinds.ConvOp, kinds.LinearOp))]
    stem = next((op for op in ops if isinstance(op, kinds.ConvOp)), None)
    return ops, stem


def replace_with_chain(layer: Layer, factors: list[Factor], scheme: Scheme, method: str, taken: set[str]) -> SSAValue:
    """Insert the chain's nodes before `layer.op` reading its input; returns the chain's output."""
    value = layer.op.input
    for index, factor in enumerate(factors):
        value = build_node(layer.op, value, factor, f"{layer.name}_{scheme.name}{index}", taken,
                           {"method": StringAttr(method), "rank": IntegerAttr(scheme.rank, i64),
                            "groups": IntegerAttr(scheme.groups, i64), "source": StringAttr(layer.name),
                            "factor": IntegerAttr(index, i64)})
    return value


def build_node(before, value: SSAValue, factor: Factor, name: str, taken: set[str], provenance: dict) -> SSAValue:
    """One conv/linear node (and its weights) computing `factor` on `value`, inserted before `before`."""
    name = unique_name(name, taken)
    weights = kinds.WeightsOp(make_resource(f"{name}_w", factor.weights), f"{name}_w")
    new_ops = [weights]
    bias = None
    if factor.bias is not None:
        bias = kinds.WeightsOp(make_resource(f"{name}_b", factor.bias), f"{name}_b")
        new_ops.append(bias)
    if factor.is_linear:
        node = kinds.LinearOp(value, weights.output, bias and bias.output, name=name)
    else:
        g = factor.geometry
        node = kinds.ConvOp(value, weights.output, bias and bias.output, name=name, stride=g.stride,
                         dilation=g.dilation, pad=g.pad, groups=factor.groups)
    node.attributes[DECOMPOSITION_ATTR] = DictionaryAttr(provenance)
    Rewriter.insert_op([*new_ops, node], InsertPoint.before(before))
    return node.output


def unique_name(name: str, taken: set[str]) -> str:
    candidate, counter = name, 0
    while candidate in taken:
        counter += 1
        candidate = f"{name}_{counter}"
    taken.add(candidate)
    return candidate


def erase_node(op: kinds.ConvOp | kinds.LinearOp) -> None:
    """Erase a conv/linear node and its weights (when nothing else reads them)."""
    owners = [v.owner for v in op.operands[1:]]
    Rewriter.erase_op(op)
    for owner in owners:
        if isinstance(owner, kinds.WeightsOp) and not owner.output.uses:
            Rewriter.erase_op(owner)


def check_float(function: func.FuncOp, pass_name: str) -> None:
    for op in function.walk():
        if isinstance(op, df.NodeOp) and any(isinstance(r.type, df.StreamType) and isinstance(r.type.element_type, df.FixedType)
                                               for r in op.results):
            raise DfccError(f"@{function.sym_name.data} is already quantized; run {pass_name} before quantize", pass_name)


def dataflow_functions(module: ModuleOp, pass_name: str) -> list[func.FuncOp]:
    functions = [f for f in module.walk() if isinstance(f, func.FuncOp) and any(isinstance(o, kinds.SourceOp) for o in f.walk())]
    if not functions:
        raise DfccError(f"{pass_name} works on dataflow graphs; run lower-to-dataflow first", pass_name)
    for function in functions:
        check_float(function, pass_name)
    return functions


def node_names(module: ModuleOp) -> set[str]:
    return {op.node_name.data for op in module.walk() if isinstance(op, df.NodeOp)}


def layer_names(module: ModuleOp) -> set[str]:
    """Names of the conv and linear nodes (what decompositions can rewrite)."""
    return {op.node_name.data for op in module.walk() if isinstance(op, (kinds.ConvOp, kinds.LinearOp))}


def parse_overrides(items, names: set[str], pass_name: str) -> list[tuple[str, str]]:
    parsed = []
    for item in items:
        pattern, sep, spec = str(item).rpartition(":")
        if not sep or not pattern or not spec:
            raise DfccError(f"{pass_name}: override '{item}' must be NODE:SPEC (NODE may use * and ?)")
        if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
            raise DfccError(f"override pattern '{pattern}' matches no conv or linear node (they are: {', '.join(sorted(names))})",
                            pass_name)
        parsed.append((pattern, spec))
    return parsed


def scheme_name(scheme: Scheme) -> str:
    """The provenance label: `svd-separable`, `svd-grouped`, `svd-reversed`, `cpd` or `svd`."""
    return scheme.name if scheme.name in ("cpd", "svd") else f"svd-{scheme.name}"


def apply_schemes(module: ModuleOp, schemes: dict[str, Scheme], verbose: bool = True) -> list[dict]:
    """Rewrite every node named in `schemes`; returns one row per rewrite (MACs, weight error)."""
    taken = node_names(module)
    rows = []
    for op in [o for o in module.walk() if isinstance(o, (kinds.ConvOp, kinds.LinearOp)) and o.node_name.data in schemes]:
        layer = Layer.of(op)
        scheme = schemes[layer.name]
        factors = layer.factorise(scheme)
        output = replace_with_chain(layer, factors, scheme, scheme_name(scheme), taken)
        op.output.replace_all_uses_with(output)
        erase_node(op)
        rows.append({"node": layer.name, "scheme": scheme.spec, "macs": layer.macs, "chain_macs": layer.chain_macs(factors),
                     "error": relative_error(layer.weights, factors)})
    if verbose:
        for row in rows:
            remark(f"{row['node']}: {row['scheme']}, MACs {row['macs']} -> {row['chain_macs']} "
                   f"({row['chain_macs'] / row['macs']:.0%}), weight error {row['error']:.3g}", "decompose")
    return rows


@dataclass(frozen=True)
class Decompose(ModulePass):
    """Low-rank decomposition of conv and linear nodes (module doc)."""

    name = "decompose"

    method: str = "svd"
    scheme: str = "separable"
    groups: int = 1
    rank: int | None = None
    energy: int | float | None = None
    macs: int | float = 0.5
    override: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise DfccError(f"decompose: method={self.method} is not one of {', '.join(METHODS)}")
        if self.scheme not in SVD_SCHEMES:
            raise DfccError(f"decompose: scheme={self.scheme} is not one of {', '.join(SVD_SCHEMES)}")
        if self.rank is not None and self.rank < 1:
            raise DfccError(f"decompose: rank={self.rank} must be at least 1")
        if self.energy is not None and not 0 < self.energy <= 1:
            raise DfccError(f"decompose: energy={self.energy} must be in (0, 1]")
        if not 0 < self.macs <= 1:
            raise DfccError(f"decompose: macs={self.macs} must be in (0, 1]")
        if self.groups < 1:
            raise DfccError(f"decompose: groups={self.groups} must be at least 1")
        if self.method == "auto" and (self.rank is not None or self.energy is not None):
            raise DfccError("decompose: method=auto compares schemes at equal MACs; give macs=F, not rank or energy")
        if self.method == "cpd" and self.energy is not None:
            raise DfccError("decompose: energy=E is defined for SVD; give method=cpd a rank=R or macs=F")
        for item in self.override:
            parse_spec(str(item).rpartition(":")[2])

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        overrides = parse_overrides(self.override, layer_names(op), self.name)
        schemes: dict[str, Scheme] = {}
        for function in dataflow_functions(op, self.name):
            layers, stem = candidate_layers(function)
            for node in layers:
                name = node.node_name.data
                specs = [spec for pattern, spec in overrides if fnmatch.fnmatchcase(name, pattern)]
                if specs:
                    scheme = parse_spec(specs[-1])
                    if scheme is not None and not is_decomposable(node):
                        raise DfccError(f"{node.name} '{name}' is grouped; decompose handles ungrouped convs and linears", self.name)
                elif is_decomposable(node) and default_scope(node, stem):
                    scheme = self._choose(Layer.of(node))
                else:
                    scheme = None
                if scheme is not None:
                    schemes[name] = scheme
        apply_schemes(op, schemes)

    def _choose(self, layer: Layer) -> Scheme:
        if isinstance(layer.op, kinds.LinearOp):
            return self._ranked(layer, "svd", 1)
        if self.method == "auto":
            candidates = [(name, g) for name in SVD_SCHEMES for g in AUTO_GROUPS
                          if g == 1 or (name != "separable" and layer.weights.shape[1 if name == "grouped" else 0] % g == 0)]
            schemes = [self._ranked(layer, name, g) for name, g in candidates + [("cpd", 1)]]
            return min(schemes, key=lambda s: relative_error(layer.weights, layer.factorise(s)))
        if self.method == "cpd":
            return self._ranked(layer, "cpd", 1)
        return self._ranked(layer, self.scheme, self.groups)

    def _ranked(self, layer: Layer, name: str, groups: int) -> Scheme:
        exact = full_rank(layer.weights.shape, name, groups) if name != "cpd" else None
        if self.rank is not None:
            rank = self.rank
        elif self.energy is not None:
            rank = rank_for_energy(layer.weights, name, groups, self.energy)
        else:
            rank = layer.rank_for_macs(name, groups, self.macs)
        return Scheme(name, rank if exact is None else min(rank, exact), groups)
