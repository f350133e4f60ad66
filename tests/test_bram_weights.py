"""Weights in BRAM (the default memory) as one packed ROM of the MAC's words (kinds/hls_offchip.py, weights.h
weight_rom), as wide as a word: the memory the cost model counts, not a bank per lane and kernel position.
C simulation of these ROMs is bit-exact in tests/test_csim.py (every conv and linear there reads them)."""

import re
from pathlib import Path

from dfcc.backends.hls.emit import emit_design
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.memory import bram18, conv_weight_memory
from dfcc.kinds.cost import describe
from dfcc.passes.quantize import Quantize

LIT = Path(__file__).resolve().parent.parent / "lit_tests" / "spill" / "weights_offchip.mlir"


def _bram_module():
    """The streamed-weights lit model (3 convs, one grouped, two with fine = 3, and a linear) with every weight
    memory at its default, BRAM; 4-bit weights."""
    text = "\n".join(line for line in LIT.read_text().splitlines() if not line.startswith("//"))
    text = re.sub(r'dataflow.weights_memory = "off_chip", |dataflow.weights_on_chip = 50 : i64, ', "", text)
    module = parse_module(text)
    Quantize(weight_bits=4, act_bits=6).apply(make_context(), module)
    return module


def test_bram_rom_is_the_costed_memory():
    """Each node's ROM holds its cost model's words, one a row (conv2: 3 words of 96 4-bit weights, 384 bits
    wide: ceil(384/36) = 11 BRAM18, bound to BRAM); a ROM under a BRAM18's worth (1024 bits) is bound to
    LUTRAM, as the cost model counts it (conv0: 12 words of 4 weights, 192 bits)."""
    module = _bram_module()
    design = emit_design(module)
    top = design.files["top.cpp"]
    nodes = {op.node_name.data: op for op in module.walk() if hasattr(op, "node_name")}
    impls = {}
    for name in ("conv0", "conv1", "conv2", "fc"):
        cost = describe(nodes[name]).cost(describe(nodes[name]).ir_folding())
        depth, lanes = cost.weight_depth, cost.weight_width // cost.weight_bits
        call = re.search(rf"dfcc::weight_rom<\d+, {depth}, 1>\((\w+), {name}_words\w*\);", top)
        assert call, name
        rom = call.group(1)
        assert re.search(rf"static const .+ {rom}\[{depth}\]\[{lanes}\] = ", design.files[f"weights/{rom}.h"]), name
        impls[name] = re.search(rf"BIND_STORAGE variable={rom} type=rom_1p impl=(\w+)\)", top).group(1)
        assert impls[name] == ("bram" if bram18(cost.weight_width, depth) else "lutram"), name
    assert impls == {"conv0": "lutram", "conv1": "lutram", "conv2": "bram", "fc": "lutram"}
    assert bram18(*conv_weight_memory(4, 8, 3, 3, 4, 4, 8, 3)) == 11
    assert top.count("impl=bram") == 1

