"""Stream FIFOs out of BRAM: the cost of a FIFO in each memory (hand-computed from the primitives' data sheets),
the storage rule (analyses/fifo_memory.py) and the network totals that apply it."""

import json

import pytest

from dfcc.analyses.fifo_memory import place_fifos
from dfcc.analyses.network import Network
from dfcc.dialects.dataflow import StreamType
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.platforms import PLATFORM_DIR
from dfcc.hardware.memory import fifo_blocks
from dfcc.passes.explore import Explore
from dfcc.passes.fifo_memory import place_ir_fifos

RESIDUAL = """
builtin.module {
  func.func @main(%arg0: tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x16x16xf32>) -> !dataflow.stream<1x16x16x8xf32>
    %w = dataflow.weights {value = dense<0.25> : tensor<8x8x3x3xf32>, name = "w"} : tensor<8x8x3x3xf32>
    %1, %2 = dataflow.fork %0 {name = "fork0"} : (!dataflow.stream<1x16x16x8xf32>) -> (!dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32>)
    %3 = dataflow.conv %1, %w {name = "conv0", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x16x16x8xf32>, tensor<8x8x3x3xf32>) -> !dataflow.stream<1x16x16x8xf32>
    %4 = dataflow.map %3, %2 {name = "add0"} : !dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32> -> !dataflow.stream<1x16x16x8xf32> {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      dataflow.yield %s : f32
    }
    %5 = dataflow.sink %4 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x16x16x8xf32>) -> tensor<1x8x16x16xf32>
    func.return %5 : tensor<1x8x16x16xf32>
  }
}
"""


def test_fifo_cost_in_each_memory():
    """ResNet-50's skip FIFO at 16 bits: 2,048-bit beats (128 lanes), 200 deep."""
    # BRAM18 at 36 x 512 (UG573): ceil(2048/36) = 57 blocks side by side, one deep
    assert fifo_blocks(2048, 200) == (57, 0, 0)
    # URAM288 is 72 x 4096 only (UG573): ceil(2048/72) = 29 side by side; 8,192 deep cascades two
    assert fifo_blocks(2048, 200, "uram") == (0, 29, 0)
    assert fifo_blocks(72, 8192, "uram") == (0, 2, 0)
    # RAM64M8 is 64 x 7 simple dual-port in 8 LUTs (UG574): ceil(2048/7) = 293 wide, ceil(200/64) = 4 deep
    assert fifo_blocks(2048, 200, "lutram") == (0, 0, 293 * 4 * 8)
    # auto, small: Vitis HLS keeps a FIFO of at most 32 words in shift registers (64 bits a LUT, as costed)
    assert fifo_blocks(2048, 32) == (0, 0, 1024)


LIMITS = {"bram18": 100, "uram": 100, "lut": 100_000}


def test_rule_moves_the_most_bram_per_uram_until_bram_fits():
    # (width, depth): 57 BRAM18 for 29 URAM; 29 BRAM18 (ceil(1024/36)) for 15 URAM; 2 BRAM18 for 1 URAM
    fifos = [(2048, 200), (1024, 200), (72, 300)]
    used = {"bram18": 120, "uram": 0, "lut": 0}
    # 57/29 = 1.97, 29/15 = 1.93, 2/1: the 72-bit one first (-2: 118), then the widest (-57: 61), done
    assert place_fifos(fifos, used, LIMITS) == ["uram", "auto", "uram"]
    assert place_fifos(fifos, {**used, "bram18": 100}, LIMITS) == ["auto"] * 3  # BRAM fits: nothing moves
    # URAM with room for 20 blocks: only the FIFOs that fit it move, and BRAM stays over
    assert place_fifos(fifos, used, {**LIMITS, "uram": 20}) == ["auto", "uram", "uram"]


def test_rule_moves_the_first_of_equal_fifos():
    # two 57-BRAM18 FIFOs, 20 over: one move is enough, the first in the list takes it
    fifos = [(1024, 200), (2048, 200), (2048, 200)]
    assert place_fifos(fifos, {"bram18": 120, "uram": 0, "lut": 0}, LIMITS) == ["auto", "uram", "auto"]


def test_rule_moves_shallow_fifos_to_lutram_when_uram_is_full():
    # 64 deep: ceil(2048/36) = 57 BRAM18, or 293 x 1 x 8 = 2,344 LUTs; 65 deep would need LUT RAMs two deep
    fifos = [(2048, 64), (2048, 65)]
    chosen = place_fifos(fifos, {"bram18": 200, "uram": 100, "lut": 0}, LIMITS)
    assert chosen == ["lutram", "auto"]


def test_network_totals_apply_the_rule_within_limits():
    network = Network.from_module(parse_module(RESIDUAL))
    choices = network.ir_choices()
    plain = network.evaluate(choices)
    (edge, depth), = plain.fifo_depths.items()
    width = network.edges[edge].bits  # one lane a beat
    assert plain.costs[network.edges[edge].producer].out_lanes == 1
    blocks = fifo_blocks(width, depth)[0]
    assert blocks and plain.fifo_memories == {}
    tight = {"bram18": plain.bram18 - 1, "uram": 10, "lut": 1e9, "dsp": 1e9, "ff": 1e9}
    moved = network.evaluate(choices, fifo_limits=tight)
    assert moved.fifo_memories == {edge: "uram"}
    assert (moved.bram18, moved.uram) == (plain.bram18 - blocks, plain.uram + -(-depth // 4096))
    assert network.evaluate(choices, fifo_limits={**tight, "uram": 0}).fifo_memories == {}


@pytest.mark.parametrize("memory", ["uram", "lutram"])
def test_ir_memory_is_costed(memory):
    """A stream bound to a memory in the IR is costed there (the estimate reads the IR's FIFOs)."""
    text = RESIDUAL.replace("(!dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32>)",
                            f"(!dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32, depth 100, {memory}>)")
    text = text.replace(
        "!dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32> -> ",
        f"!dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32, depth 100, {memory}> -> ")
    network = Network.from_module(parse_module(text))
    totals = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    (edge, depth), = totals.fifo_depths.items()
    assert totals.fifo_memories == {edge: memory}
    bram, uram, lut = fifo_blocks(network.edges[edge].bits, depth, memory)  # one lane a beat
    assert (totals.fifo_bram18, totals.fifo_uram, totals.fifo_lut) == (bram, uram, lut)


def test_ir_fifos_placed_and_written():
    """place_ir_fifos moves the IR's FIFOs out of BRAM where it is over and records them in the stream types;
    the estimate of the written IR is the totals it returned."""
    module = parse_module(RESIDUAL.replace(", !dataflow.stream<1x16x16x8xf32>)", ", !dataflow.stream<1x16x16x8xf32, depth 300>)")
                          .replace("%2 {name = \"add0\"} : !dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32> ->",
                                   "%2 {name = \"add0\"} : !dataflow.stream<1x16x16x8xf32>, !dataflow.stream<1x16x16x8xf32, depth 300> ->"))
    network = Network.from_module(module)
    before = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    assert before.fifo_bram18 == 1  # 16 x 300 bits: one BRAM18 at 18 x 1024 (UG573)
    limits = {"bram18": before.bram18 - 1, "uram": 10, "lut": 1e9, "dsp": 1e9, "ff": 1e9}
    placed = place_ir_fifos(module, limits)
    assert list(placed.fifo_memories.values()) == ["uram"]
    assert (placed.bram18, placed.uram) == (before.bram18 - 1, before.uram + 1)
    fork = next(op for op in module.walk() if op.name == "dataflow.fork")
    assert fork.results[1].type.memory.data == "uram"
    network = Network.from_module(module)
    again = network.evaluate(network.ir_choices(), respect_ir_depths=True)
    assert (again.bram18, again.uram, again.fifo_memories) == (placed.bram18, placed.uram, placed.fifo_memories)


def test_explore_moves_a_skip_fifo_to_uram_where_bram_binds(tmp_path):
    """On a board of 3 BRAM18 (budget 2.7) the residual over a 64x64 image needs a 260-deep skip FIFO beside 2
    BRAM18 of buffers: explore puts the FIFO in URAM (the estimate of the IR agrees); the same board without URAM
    fits no design."""
    board = json.loads((PLATFORM_DIR / "u250.json").read_text()) | {"name": "tight", "bram18": 3}
    for uram in (1280, 0):
        path = tmp_path / f"tight{uram}.json"
        path.write_text(json.dumps(board | {"uram": uram}))
        module = parse_module(RESIDUAL.replace("16x16", "64x64"))
        if not uram:
            with pytest.raises(DfccError, match="does not fit on tight"):
                Explore(platform=str(path)).apply(make_context(), module)
            continue
        Explore(platform=str(path)).apply(make_context(), module)
        network = Network.from_module(module)
        totals = network.evaluate(network.ir_choices(), respect_ir_depths=True)
        assert not totals.overshoot({k: 0.9 * board[k] for k in ("dsp", "bram18", "uram", "lut", "ff")})
        memories = [r.type.memory.data for op in module.walk() for r in op.results if isinstance(r.type, StreamType)]
        assert sorted(m for m in memories if m != "auto") == ["uram"] and totals.fifo_uram > 0
