"""An example of a pass written outside dfcc: hand-set the folding of one node.

Load it with `dfcc --load-pass-plugin examples/plugins/set_folding.py -p 'lower-to-dataflow,
set-folding{node=conv0 coarse-out=4}'`, or import it from Python: `register_pass` makes it a
pipeline pass like any built-in one. Useful to study a folding by hand with `-t estimate`.
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, i64
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from dfcc.dialects.dataflow import NodeOp
from dfcc.passes.registry import register_pass

FOLDING_KEYS = ("coarse_in", "coarse_out", "coarse_group", "fine", "coarse")


@register_pass
@dataclass(frozen=True)
class SetFolding(ModulePass):
    """Set folding factors of the node called `node`; 0 leaves a factor unchanged."""

    name = "set-folding"

    node: str = ""
    coarse_in: int = 0
    coarse_out: int = 0
    coarse_group: int = 0
    fine: int = 0
    coarse: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        nodes = [n for n in op.walk() if isinstance(n, NodeOp) and n.node_name.data == self.node]
        if not nodes:
            raise PassFailedException(f"set-folding: no node named '{self.node}'")
        target = nodes[0]
        for key in FOLDING_KEYS:
            value = getattr(self, key)
            if value:
                if key not in type(target).get_irdl_definition().properties:
                    raise PassFailedException(f"set-folding: {target.name} '{self.node}' has no {key.replace('_', '-')} factor")
                target.properties[key] = IntegerAttr(value, i64)
