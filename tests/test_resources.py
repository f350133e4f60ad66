"""Weights blobs made by dfcc stay numpy arrays until their hex text is read (dialects/resources.py)."""

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from dfcc import kinds
from dfcc.backends.output import module_text
from dfcc.dialects.resources import make_resource, resource_array
from dfcc.frontends.mlir import parse_module


def test_a_made_blob_prints_as_its_hex_bytes_and_parses_back():
    values = np.array([[1.5, -2.0], [0.25, 3.0]], dtype=np.float32)
    attr = make_resource("lazy_blob", values)
    array = resource_array(attr)
    assert array.tolist() == values.tolist()
    text = module_text(ModuleOp([kinds.WeightsOp(attr, "w")]))
    # the MLIR blob: a 4-byte alignment header (4, little-endian), then the little-endian float32 bytes
    blob = "0x04000000" + "".join(f"{b:02X}" for b in values.astype("<f4").tobytes())
    assert f'{attr.resource_handle.data}: "{blob}"' in text
    assert resource_array(attr) is array  # printing leaves the decoded array as it was
    reparsed = next(op for op in parse_module(text).walk() if isinstance(op, kinds.WeightsOp))
    assert resource_array(reparsed.value).tolist() == values.tolist()
