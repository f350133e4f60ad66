"""`zero-skip`: conv and linear nodes become zero-skipping ones (`dataflow.sparse_conv`,
kinds/sparse_conv.py; `dataflow.sparse_linear`, kinds/sparse_linear.py).

    zero-skip                      every conv and linear
    zero-skip{nodes=conv1,conv2*}  the convs and linears whose names match

The node computes the same numbers; what changes is its cost: cycles are the expectation over the
`dataflow.zero_histogram` the activation-sparsity pass measured (run it first for activation zeros;
without it only zero weights are skipped in the estimate). Every attribute of the conv is kept.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from dfcc import kinds
from dfcc.errors import DfccError


SKIPPING = {kinds.ConvOp: kinds.SparseConvOp, kinds.LinearOp: kinds.SparseLinearOp}


def to_zero_skipping(node: kinds.ConvOp | kinds.LinearOp) -> kinds.SparseConvOp | kinds.SparseLinearOp:
    """Replace `node` by its zero-skipping kind with the same operands, properties and attributes (a
    zero-skipping conv has no spatial parallelism and no weight-stationary tiles: `pixels` and `tile` must be 1)."""
    if node.int_prop("pixels") > 1:
        raise DfccError(f"zero-skip: conv '{node.node_name.data}' takes pixels={node.int_prop('pixels')} per beat; "
                        "a zero-skipping conv takes one (run explore without spatial=true)")
    if node.int_prop("tile") > 1:
        raise DfccError(f"zero-skip: conv '{node.node_name.data}' sweeps its weights once per tile of "
                        f"{node.int_prop('tile')} pixels; a zero-skipping conv once per pixel (set tile=1)")
    properties = {k: v for k, v in node.properties.items() if k not in ("pixels", "tile")}
    sparse = SKIPPING[type(node)].create(operands=list(node.operands), result_types=[node.output.type],
                                         properties=properties, attributes=dict(node.attributes))
    Rewriter.replace_op(node, sparse)
    return sparse


@dataclass(frozen=True)
class ZeroSkip(ModulePass):
    """Turn conv and linear nodes into zero-skipping ones (module doc)."""

    name = "zero-skip"

    nodes: tuple[str, ...] = ("*",)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        nodes = [o for o in op.walk() if type(o) in SKIPPING]
        names = [n.node_name.data for n in nodes]
        for pattern in self.nodes:
            if not any(fnmatch.fnmatchcase(n, str(pattern)) for n in names):
                raise DfccError(f"zero-skip: nodes pattern '{pattern}' matches no conv or linear node"
                                f"{' (they are: ' + ', '.join(names) + ')' if names else ''}")
        for node in nodes:
            if any(fnmatch.fnmatchcase(node.node_name.data, str(p)) for p in self.nodes):
                to_zero_skipping(node)
