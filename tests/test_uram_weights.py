"""Weights in URAM as one packed ROM of the MAC's words (kinds/hls_offchip.py, weights.h weight_rom): the
HLS holds the memory the cost model counts, and C simulation stays bit-exact."""

import re
from pathlib import Path

import numpy as np
from dfcc.backends.hls.emit import emit_design
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.memory import uram_rom
from dfcc.kinds.cost import describe
from dfcc.passes.quantize import Quantize
from tests.csim_check import csim_equals_reference

LIT = Path(__file__).resolve().parent.parent / "lit_tests" / "spill" / "weights_offchip.mlir"


def _uram_module():
    """The streamed-weights lit model (3 convs, one grouped, two with fine = 3, and a linear) with every weight
    memory in URAM; 4-bit weights."""
    text = "\n".join(line for line in LIT.read_text().splitlines() if not line.startswith("//"))
    text = text.replace('"off_chip"', '"uram"').replace("dataflow.weights_on_chip = 50 : i64",
                                                          'dataflow.weights_memory = "uram"')
    module = parse_module(text)
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    return module


def test_uram_rom_is_the_costed_memory():
    """Each node's packed ROM has the words and width its cost model counts (conv2: 3 words of 96 4-bit
    weights, in 2 rows of 48 lanes: 3 URAM, not 6), is the only ROM bound to URAM (the bias stays in LUTs, as
    costed) and feeds the MAC through weight_rom."""
    module = _uram_module()
    top = emit_design(module).files["top.cpp"]
    nodes = {op.node_name.data: op for op in module.walk() if hasattr(op, "node_name")}
    expected_rows = {"conv0": 1, "conv1": 1, "conv2": 2, "fc": 1}
    for name, rows in expected_rows.items():
        cost = describe(nodes[name]).cost(describe(nodes[name]).ir_folding())
        depth = cost.weight_depth
        assert re.search(rf"dfcc::weight_rom<\d+, {depth}, {rows}>\(w_w\w*, {name}_words\w*\);", top), name
        assert describe(nodes[name]).cost(describe(nodes[name]).ir_folding(), "uram").uram == \
            uram_rom(cost.weight_width, depth, cost.weight_bits)
    assert top.count("impl=uram") == 4
    assert describe(nodes["conv2"]).cost(describe(nodes["conv2"]).ir_folding(), "uram").uram == 3


def test_uram_weights_csim_bit_exact():
    """Every weight read from its packed URAM ROM (two rows a word for conv2): C simulation with every FIFO at
    its depth (the reader ahead of the MAC by two words) equals the CPU reference (one g++ build, ~35 s)."""
    x = np.random.default_rng(5).standard_normal((1, 4, 6, 6)).astype(np.float32)
    assert np.abs(csim_equals_reference(_uram_module(), [x], bounded=True)).max() > 0
