"""func.return -> one `dataflow.sink` per result."""

from __future__ import annotations

from xdsl.dialects import func

from dfcc import kinds
from dfcc.passes.lowering.core import Lowering, lowers


@lowers(func.ReturnOp)
def on_return(lw: Lowering, op: func.ReturnOp) -> None:
    outputs = []
    for index, value in enumerate(op.arguments):
        act = lw.act(value, op)
        outputs.append(lw.emit(kinds.SinkOp(act.stream, act.perm, f"output{index}")).tensor)
    lw.emit(func.ReturnOp(*outputs))
