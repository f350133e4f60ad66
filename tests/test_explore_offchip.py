"""explore{off-chip-weights=auto} (the default): weights stream from DRAM only where that wins and the HLS
backend builds it, and the design it picks is emitted and C-simulated bit-exact."""

import json

import numpy as np
import pytest

from dfcc.analyses.network import Network
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.kinds import ConvOp
from dfcc.passes import explore as explore_pass
from dfcc.passes.explore import Explore, explore
from dfcc.passes.quantize import Quantize
from tests.csim_check import csim_equals_reference


def _conv(channels: int = 64, size: int = 4) -> str:
    """A 3x3 conv, `channels` -> `channels` on size x size pixels (64: 36,864 weights), weights in eighths."""
    c, h = channels, size
    w = np.random.default_rng(0).integers(-6, 7, size=(c, c, 3, 3)) / 8.0
    values = np.array2string(w, separator=", ", threshold=10**9, max_line_width=10**9)
    stream = f"!dataflow.stream<1x{h}x{h}x{c}xf32>"
    return f"""func.func @main(%a: tensor<1x{c}x{h}x{h}xf32>) -> tensor<1x{h}x{h}x{c}xf32> {{
  %s = dataflow.source %a {{name = "in", perm = array<i64: 0, 2, 3, 1>}} : (tensor<1x{c}x{h}x{h}xf32>) -> {stream}
  %w = dataflow.weights {{name = "w", value = dense<{values}> : tensor<{c}x{c}x3x3xf32>}} : tensor<{c}x{c}x3x3xf32>
  %c = dataflow.conv %s, %w {{name = "conv", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>}} : ({stream}, tensor<{c}x{c}x3x3xf32>) -> {stream}
  %t = dataflow.sink %c {{name = "out", perm = array<i64: 0, 1, 2, 3>}} : ({stream}) -> tensor<1x{h}x{h}x{c}xf32>
  func.return %t : tensor<1x{h}x{h}x{c}xf32>
}}"""


def _board(tmp_path, lut: int) -> str:
    """12 BRAM18 (216 Kbit), `lut` LUTs and 20 Gbps of DRAM."""
    board = tmp_path / "small.json"
    board.write_text(json.dumps({"name": "small", "part": "xc7z020", "dsp": 50, "bram18": 12, "uram": 0,
                                 "lut": lut, "ff": 100_000, "clock_mhz": 100, "bandwidth_gbps": 20}))
    return str(board)


@pytest.fixture
def small_board(tmp_path) -> str:
    """The conv's 36,864 8-bit weights (295 Kbit) fit neither in 12 BRAM18 nor in 4,000 LUTs, beside its window
    buffer and logic."""
    return _board(tmp_path, 4000)


def _quantized(text: str):
    module = parse_module(text)
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), module)
    return module


def test_auto_streams_what_does_not_fit_and_csim_is_bit_exact(small_board):
    """With every weight on chip nothing fits; auto streams the conv's weights as true does, and the design
    it writes builds: C simulation with every FIFO at its depth equals the CPU reference."""
    network = Network.from_module(_quantized(_conv()))
    board = load_platform(small_board)
    with pytest.raises(DfccError, match="does not fit on small"):
        explore(network, board, progress=False, off_chip_weights=False)
    streamed = explore(network, board, progress=False, off_chip_weights=True)
    assert explore(network, board, progress=False) == streamed
    module = _quantized(_conv())
    Explore(platform=small_board).apply(make_context(), module)
    (conv,) = [op for op in module.walk() if isinstance(op, ConvOp)]
    assert conv.on_chip_percent() < 100
    x = np.random.default_rng(3).standard_normal((1, 64, 4, 4)).astype(np.float32)
    assert np.abs(csim_equals_reference(module, [x], bounded=True)).max() > 0


def test_auto_keeps_float_weights_on_chip(tmp_path):
    """The HLS backend streams fixed-point weights only: a float design's stay on chip under auto (with 6,000
    LUTs its 16-bit weights do not fit: the on-chip search's error), though true would stream them."""
    network = Network.from_module(parse_module(_conv()))
    board = load_platform(_board(tmp_path, 6000))
    with pytest.raises(DfccError, match="does not fit on small"):
        explore(network, board, progress=False)
    choices, _ = explore(network, board, progress=False, off_chip_weights=True)
    assert any(memory == "off_chip" or on_chip < 100 for _, memory, _, on_chip in choices)


def test_auto_skips_the_off_chip_search_where_weights_do_not_bind(monkeypatch):
    """A design whose fullest resource holds few weights (a 4 -> 4 conv's 144 on a ZCU102) is the on-chip
    search's, and that search alone ran (the same design as false)."""
    network = Network.from_module(_quantized(_conv(channels=4)))
    zcu102 = load_platform("zcu102")
    searched = []

    def spy(*args):
        searched.append(args[5])  # off_chip
        return search(*args)

    search = explore_pass._search
    monkeypatch.setattr(explore_pass, "_search", spy)
    auto = explore(network, zcu102, progress=False)
    assert searched == [False]
    assert auto == explore(network, zcu102, progress=False, off_chip_weights=False)


def test_off_chip_weights_option_is_checked():
    with pytest.raises(DfccError, match="off-chip-weights must be auto, true or false, got 'sometimes'"):
        explore(Network.from_module(parse_module(_conv(channels=4))), load_platform("zcu102"), progress=False,
                off_chip_weights="sometimes")
