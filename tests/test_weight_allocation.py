"""passes/weight_allocation.py: each weighted node's tile and weight place at its compute folding for the least DRAM
traffic within the memory budget, checked against a brute force over every allocation, and explore's use of it."""

import itertools
import json

import numpy as np
import pytest

from dfcc.analyses.network import Network, budget
from dfcc.hardware.platforms import load_platform
from dfcc.passes.weight_allocation import allocate_weights, least_traffic_within, node_options, tile_variants
from tests.test_explore_offchip import _conv, _quantized

TWO_CONVS = """func.func @main(%a: tensor<1x16x8x8xf32>) -> tensor<1x8x8x32xf32> {
  %s = dataflow.source %a {name = "in", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x16x8x8xf32>) -> !dataflow.stream<1x8x8x16xf32>
  %w1 = dataflow.weights {name = "w1", value = dense<0.25> : tensor<32x16x3x3xf32>} : tensor<32x16x3x3xf32>
  %c1 = dataflow.conv %s, %w1 {name = "c1", kernel = array<i64: 3, 3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>} : (!dataflow.stream<1x8x8x16xf32>, tensor<32x16x3x3xf32>) -> !dataflow.stream<1x8x8x32xf32>
  %w2 = dataflow.weights {name = "w2", value = dense<0.125> : tensor<32x32x1x1xf32>} : tensor<32x32x1x1xf32>
  %c2 = dataflow.conv %c1, %w2 {name = "c2", kernel = array<i64: 1, 1>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 0, 0, 0, 0>} : (!dataflow.stream<1x8x8x32xf32>, tensor<32x32x1x1xf32>) -> !dataflow.stream<1x8x8x32xf32>
  %t = dataflow.sink %c2 {name = "out", perm = array<i64: 0, 1, 2, 3>} : (!dataflow.stream<1x8x8x32xf32>) -> tensor<1x8x8x32xf32>
  func.return %t : tensor<1x8x8x32xf32>
}"""


def _board(tmp_path, bram18: int, lut: int = 6000):
    path = tmp_path / "board.json"
    path.write_text(json.dumps({"name": "b", "part": "x", "dsp": 200, "bram18": bram18, "uram": 0, "lut": lut,
                                "ff": 100_000, "clock_mhz": 100, "bandwidth_gbps": 20}))
    return load_platform(str(path))


def _start(network: Network, folding_of):
    """Every node at its IR folding but the convs, at `folding_of(model)` with weights in DRAM at one pixel a tile."""
    choices = []
    for model in network.nodes:
        if model.has_weights:
            choices.append((folding_of(model), "off_chip", "dsp", 100, None, None))
        else:
            choices.append((model.ir_folding(), "bram", "dsp", 100, None, None))
    return choices


def _brute_force(network, choices, limits, platform, target):
    """The least traffic of every combination of the weighted nodes' options whose whole design fits `limits`."""
    weighted = [i for i, m in enumerate(network.nodes) if m.has_weights]
    options = []
    for i in weighted:  # a node's options no other beats in memory and traffic (no skip FIFO here: no other cost)
        picks, rows = node_options(network.nodes[i], choices[i], target, platform, {})
        options.append([c for c, r in zip(picks, rows)
                        if not any((o <= r).all() and (o < r).any() for o in rows)])
    best = None
    for combo in itertools.product(*options):
        design = list(choices)
        for i, c in zip(weighted, combo):
            design[i] = c
        totals = network.evaluate(design, fifo_limits=limits)
        if not totals.overshoot(limits) and (best is None or totals.offchip_bits < best):
            best = totals.offchip_bits
    return best


def _folding(model, **factors):
    values = dict(zip(model.factors, model.ir_folding()))
    values.update({k: v for k, v in factors.items() if k in values})
    return tuple(values.values())


@pytest.mark.parametrize("bram18, memory, tile", [
    (6, "off_chip", 1), (8, "bram", 1), (12, "off_chip", 16), (20, "bram", 16), (40, "bram", 1)])
def test_one_conv_gets_the_least_traffic_that_fits(tmp_path, bram18, memory, tile):
    """One conv (its 295 Kbit of weights too many for 3,500 LUTs as LUTRAM): the allocation is the brute force's
    best over its tiles and places, from streamed at one pixel a tile (6 BRAM18) through part on chip (8), the one
    tile of all 16 pixels (12), that tile with part on chip (20) to every weight on chip (40)."""
    network = Network.from_module(_quantized(_conv(64, 4)))
    platform = _board(tmp_path, bram18, lut=3500)
    limits = budget(platform, 0.9)
    choices = _start(network, lambda m: _folding(m, coarse_in=2, coarse_out=2, fine=3))
    totals = network.evaluate(choices)
    target = max(c.cycles for c in totals.costs) * 1.5
    best = _brute_force(network, choices, limits, platform, target)
    design, placed = allocate_weights(network, choices, totals, limits, platform, target)
    assert placed.offchip_bits == best
    assert not placed.overshoot(limits)
    assert placed == network.evaluate(design, max_bits_per_cycle=platform.bandwidth_bits_per_cycle, fifo_limits=limits)
    (conv,) = [i for i, m in enumerate(network.nodes) if m.has_weights]
    folding, placed_in, *_ = design[conv]
    assert folding[:5] + folding[6:] == choices[conv][0][:5] + choices[conv][0][6:]  # its compute folding kept
    assert (placed_in, folding[5]) == (memory, tile)


def test_two_convs_match_the_brute_force_and_the_target(tmp_path):
    """Two convs sharing 8 BRAM18: the hull greedy and its exact moves reach the brute force's least traffic; a
    target below some tiles' cycles keeps them out."""
    network = Network.from_module(_quantized(TWO_CONVS))
    platform = _board(tmp_path, 8)
    limits = budget(platform, 0.9)
    choices = _start(network, lambda m: _folding(m, coarse_in=4, coarse_out=2, fine=3))
    totals = network.evaluate(choices)
    slowest = max(c.cycles for c in totals.costs)
    for target in (slowest * 2, slowest):
        best = _brute_force(network, choices, limits, platform, target)
        design, placed = allocate_weights(network, choices, totals, limits, platform, target)
        assert placed.offchip_bits == best
        assert best < totals.offchip_bits
        assert max(c.cycles for m, c in zip(network.nodes, placed.costs) if m.has_weights) <= target


def test_nodes_outside_the_set_keep_their_tiles_and_tiles_are_buildable(tmp_path):
    """c1, outside the set, streamed at one pixel a tile: it stays there or moves whole on chip, its folding kept."""
    network = Network.from_module(_quantized(TWO_CONVS))
    platform = _board(tmp_path, 8)
    choices = _start(network, lambda m: _folding(m, coarse_in=4, coarse_out=2, fine=3))
    totals = network.evaluate(choices)
    first, second = [i for i, m in enumerate(network.nodes) if m.has_weights]
    design, _ = allocate_weights(network, choices, totals, budget(platform, 0.9), platform, float("inf"),
                                 frozenset({second}))
    assert design[first][0] == choices[first][0]
    assert design[first][1:4:2] in (("off_chip", 100), ("bram", 100), ("lutram", 100))
    model = network.nodes[second]
    variants = tile_variants(model, choices[second][0], {})
    assert len(variants) > 1 and all(model.buildable(v) for v in variants)
    assert design[second][0] in variants


def test_one_item_frees_memory_for_another_that_saves_more():
    """Two items (tile-major chains, passes/tile_order.py `order_chains`), each as it is (no memory added) or at one
    other option: A frees 5 BRAM18 for 50 bits more traffic (100 -> 150), B takes 5 for 400 less (500 -> 100). With
    no room, each alone stays (A's option adds traffic, B's memory); together they take both: 250 bits, not 600."""
    a = np.array([(0.0, 0.0, 100.0), (-5.0, 0.0, 150.0)])
    b = np.array([(0.0, 0.0, 500.0), (5.0, 0.0, 100.0)])
    scale = np.array([1 / 100, 1 / 1000])
    assert least_traffic_within([a, b], np.array([0.0, 0.0]), scale) == [1, 1]
    assert least_traffic_within([b], np.array([0.0, 0.0]), scale) == [0]
    assert least_traffic_within([a, b], np.array([-5.0, 0.0]), scale) == [1, 0]


def test_least_memory_options_over_one_resource_moved_into_the_room():
    """Two items, each 400 LUTs (LUTRAM) or 5 BRAM18 for the same traffic; weighed as shares of 10 BRAM18 and 1,000
    LUTs the LUTs are the least memory of each, 800 together, over the 500 of the room, which has 5 BRAM18: one moves
    to BRAM (the other item's traffic 50 more, 200 in all, than its own 150, so the cheaper move is the other's)."""
    a = np.array([(0.0, 400.0, 100.0), (5.0, 0.0, 100.0)])
    b = np.array([(0.0, 400.0, 50.0), (5.0, 0.0, 100.0)])
    scale = np.array([1 / 10, 1 / 1000])
    room = np.array([5.0, 500.0])
    assert least_traffic_within([a, b], room, scale) == [1, 0]
    assert least_traffic_within([a, b], np.array([4.0, 500.0]), scale) is None  # no option of either fits


def test_each_round_s_room_is_what_the_rest_of_the_design_leaves(tmp_path, monkeypatch):
    """The rounds after the first give the weighted nodes the budget less what the rest of the last round's design
    took (its FIFOs as the tiles left them): the room the knapsack left unused is not counted twice (it was, as the
    last room plus the design's slack: ResNet-50 ZCU102's second round then took 261 k LUTs of 247 k)."""
    import dfcc.passes.weight_allocation as allocation

    network = Network.from_module(_quantized(TWO_CONVS))
    platform = _board(tmp_path, 8)
    limits = budget(platform, 0.9)
    choices = _start(network, lambda m: _folding(m, coarse_in=4, coarse_out=2, fine=3))
    rounds = []
    knapsack = allocation.least_traffic_within

    def recorded(rows, room, scale):
        picked = knapsack(rows, room, scale)
        rounds.append((rows, room.copy(), picked))
        return picked

    monkeypatch.setattr(allocation, "least_traffic_within", recorded)
    evaluated = []
    evaluate = network.evaluate
    monkeypatch.setattr(network, "evaluate", lambda *a, **k: evaluated.append(evaluate(*a, **k)) or evaluated[-1])
    allocate_weights(network, choices, network.evaluate(choices), limits, platform, float("inf"))
    assert len(rounds) >= 2
    for (rows, _, picked), placed, (_, room, _) in zip(rounds, evaluated[1:], rounds[1:]):
        used = sum(r[j, :-1] for r, j in zip(rows, picked))
        rest = np.array([placed.resource(k) for k in ("bram18", "uram", "lut")]) - used
        assert np.allclose(room, [limits[k] for k in ("bram18", "uram", "lut")] - rest)


def test_a_node_outside_the_set_moves_its_lutram_weights_to_bram_for_another_node(tmp_path):
    """c1 (outside the set) holds its weights in LUTRAM: 1,698 LUTs, or 6 BRAM18 and 1,122 LUTs in BRAM; c2 (in it)
    streams them: 6 BRAM18 and 1,574 LUTs, 1.57 Mbit a frame, or on chip 6 BRAM18 and 728 LUTs, or 1,112 LUTs in
    LUTRAM; the rest of the design 200 LUTs. Within 6.3 BRAM18 and 2,502 LUTs only c1 in BRAM and c2 in LUTRAM fit
    (2,434 LUTs, no traffic): c1 at its place, no allocation of c2 fits (c2 in BRAM would need 2,626 LUTs)."""
    network = Network.from_module(_quantized(TWO_CONVS))
    platform = _board(tmp_path, 7, lut=2780)
    limits = budget(platform, 0.9)
    choices = _start(network, lambda m: _folding(m, coarse_in=4, coarse_out=2, fine=3))
    first, second = [i for i, m in enumerate(network.nodes) if m.has_weights]
    choices[first] = (choices[first][0], "lutram") + choices[first][2:]
    totals = network.evaluate(choices)
    design, placed = allocate_weights(network, choices, totals, limits, platform, float("inf"), frozenset({second}))
    assert design[first] == (choices[first][0], "bram") + choices[first][2:]
    assert design[second] == (choices[second][0], "lutram") + choices[second][2:]
    assert placed.costs[second].offchip_bits == 0 and not placed.overshoot(limits)
