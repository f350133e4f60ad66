"""Weights in hand-written test IR as `dense_resource` blobs, as torch-mlir writes them: xDSL parses a textual
`dense<[...]>` literal at ~60 us a value (a 256 -> 256 3x3 conv's 590k weights: 35 s), a blob's hex in no time."""

import numpy as np

from dfcc.dialects.resources import blob_text


def blob_section(blobs: dict[str, np.ndarray]) -> str:
    """The `{-# dialect_resources #-}` section holding each array as float32."""
    entries = ", ".join(f'{name}: "{blob_text(np.ascontiguousarray(a, "<f4"))}"' for name, a in blobs.items())
    return f"\n{{-# dialect_resources: {{ builtin: {{ {entries} }} }} #-}}\n"
