"""`lower-to-dataflow`: linalg-on-tensors (as torch-mlir writes it) to a graph of streaming nodes.

The pass walks each function once, in order (`passes/lowering/`): named linalg ops become
conv/linear/pool nodes; element-wise `linalg.generic`s become map nodes (their scalar body kept as
the node's region); reductions become reduce nodes; constants fold with numpy; padding folds into
the window node that reads it. Its last step is the `dataflow-cleanup` pass (passes/cleanup.py):
the raw lowering may read a stream twice, which only the cleanup's fork insertion makes valid IR,
and its folds (batch-norm into convolutions, element-wise chains into one map) are what every
user of the lowering wants.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from dfcc.analyses.small_pages import small_pages
from dfcc.dialects import dataflow as df
from dfcc.passes.cleanup import DataflowCleanup
from dfcc.passes.lowering import Lowering


@dataclass(frozen=True)
class LowerToDataflow(ModulePass):
    """Convert every function of a linalg-on-tensors module into a dataflow graph."""

    name = "lower-to-dataflow"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        with small_pages():  # the weights' folds make many multi-MB temporaries (analyses/small_pages.py)
            for func_op in [o for o in op.walk() if isinstance(o, func.FuncOp)]:
                if func_op.body.blocks and not any(isinstance(o, df.NodeOp) for o in func_op.body.block.ops):
                    Lowering(func_op).run()
            DataflowCleanup().apply(ctx, op)
