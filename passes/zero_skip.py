"""`zero-skip`: conv nodes become zero-skipping ones (`dataflow.sparse_conv`, kinds/sparse_conv.py).

    zero-skip                      every conv
    zero-skip{nodes=conv1,conv2*}  the convs whose names match

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


def to_sparse_conv(conv: kinds.ConvOp) -> kinds.SparseConvOp:
    """Replace `conv` by a sparse_conv with the same operands, properties and attributes (a
    zero-skipping conv has no spatial parallelism: `pixels` must be 1)."""
    if conv.int_prop("pixels") > 1:
        raise DfccError(f"zero-skip: conv '{conv.node_name.data}' takes pixels={conv.int_prop('pixels')} per beat; "
                        "a zero-skipping conv takes one (run explore without spatial=true)")
    properties = {k: v for k, v in conv.properties.items() if k != "pixels"}
    sparse = kinds.SparseConvOp.create(operands=list(conv.operands), result_types=[conv.output.type],
                                       properties=properties, attributes=dict(conv.attributes))
    Rewriter.replace_op(conv, sparse)
    return sparse


@dataclass(frozen=True)
class ZeroSkip(ModulePass):
    """Turn conv nodes into zero-skipping sparse_conv nodes (module doc)."""

    name = "zero-skip"

    nodes: tuple[str, ...] = ("*",)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        convs = [o for o in op.walk() if type(o) is kinds.ConvOp]
        names = [c.node_name.data for c in convs]
        for pattern in self.nodes:
            if not any(fnmatch.fnmatchcase(n, str(pattern)) for n in names):
                raise DfccError(f"zero-skip: nodes pattern '{pattern}' matches no conv node"
                                f"{' (they are: ' + ', '.join(names) + ')' if names else ''}")
        for conv in convs:
            if any(fnmatch.fnmatchcase(conv.node_name.data, str(p)) for p in self.nodes):
                to_sparse_conv(conv)
