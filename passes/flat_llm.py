"""`flat-llm`: named in pipelines so that asking for it on dataflow IR gets a clear answer.

FLAT-LLM (`dfcc.frontends.flat_llm`) compresses the PyTorch model before import: it needs the
decoder boundaries, which linear projects values or outputs, the head partition and a float
calibration run decoder by decoder, none of which the dataflow IR keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from dfcc.errors import DfccError


@dataclass(frozen=True)
class FlatLlm(ModulePass):
    """Refuses IR with directions to the PyTorch-level implementation (module doc)."""

    name = "flat-llm"

    cut: float = 0.3

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        raise DfccError("runs on the PyTorch model before import (the IR has no decoders, heads or value projections): "
                        f"use dfcc.frontends.flat_llm.flat_llm(model, tokens, cut={self.cut}), as bench/bench_llm.py does",
                        self.name)
