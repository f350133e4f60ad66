"""The explore pass: legal folding, resources within the cap, FIFO sizing, no-fit errors, determinism."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, f64, i64

from dfcc.backends.estimate import Estimate
from dfcc.analyses.fifo_sizing import size_fifos
from dfcc.analyses.network import RESOURCES, Network
from dfcc.analyses.simulation import simulate
from dfcc.dialects.dataflow import PLATFORM_ATTR, StreamType
from dfcc.kinds import ConvOp, LinearOp, MatmulOp, ReshapeOp, kind_of
from dfcc.driver.cli import main
from dfcc.backends.output import module_text, without_weights
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.hardware.platforms import load_platform
from dfcc.bench.model_cache import emulate_bits
from dfcc.kinds.cost import SQNR_ATTR, cost_key, describe, is_node, node_cost, node_label
from dfcc.passes.explore import (
    BISECTION_ROUNDS, POLISH_ROUNDS, POLISH_TARGETS, Explore, _Search, _bisect, _node_spaces, apply_design, explore,
    foldings,
)
from dfcc.passes.registry import get_pass
from dfcc.driver.pipeline import parse_pipeline

from tests.test_estimate import LANES, NET, _conv_module


@pytest.fixture(scope="module")
def resnet_small_text() -> str:
    pytest.importorskip("torch")
    import warnings

    from dfcc.examples.models import MODELS
    from dfcc.frontends.torch import import_to_text
    from dfcc.passes.lower_to_dataflow import LowerToDataflow

    warnings.filterwarnings("ignore")
    spec = MODELS["resnet18_small"]
    module = parse_module(import_to_text(spec.build(), *spec.inputs()))
    LowerToDataflow().apply(make_context(), module)
    return module_text(module)


def _explore(text: str, **options) -> ModuleOp:
    module = parse_module(text)
    Explore(**options).apply(make_context(), module)
    module.verify()
    return module


def _check_design(module: ModuleOp, platform: str, utilisation: float = 0.9) -> Estimate:
    est = Estimate.of_module(module)
    board = load_platform(platform)
    for key in RESOURCES:
        assert est.totals.resource(key) <= utilisation * getattr(board, key), key
    for model in est.network.nodes:
        for factor, extent in zip(model.factors, model.extents):
            value = model.op.properties[factor].value.data  # every factor is written
            assert extent % value == 0 or (factor in model.op.partial_factors() and 1 <= value <= extent)
    return est


@pytest.mark.parametrize("platform", ["zedboard", "zcu102", "u250"])
def test_explore_small_net_legal_and_within_cap(platform):
    module = _explore(NET, platform=platform)
    assert module.attributes[PLATFORM_ATTR].data == platform
    est = _check_design(module, platform)
    # the skip FIFO into the add is sized in the IR (fork -> add, depth > default 2)
    add = next(op for op in module.walk() if op.properties.get("name") and op.properties["name"].data == "add")
    depths = [v.type.depth.data for v in add.operands]
    assert max(depths) > 2 and est.totals.fifo_depths


def test_explore_resnet_small(resnet_small_text):
    module = _explore(resnet_small_text, platform="zcu102", spatial=False)  # test_spatial.py: with more pixels a beat
    est = _check_design(module, "zcu102")
    folded = Estimate.of_module(parse_module(resnet_small_text), "zcu102")
    assert est.totals.ii * 10 < folded.totals.ii  # much faster than all-ones folding
    # no stage can beat reading its padded input once, and a conv's MAC waits for its window generator
    # between rows and inferences (conv.h's depth-2 window stream, which the multiplier roofline does
    # not count; on these small layers the wraps are a large share of the MAC time); explore gets
    # within 2x of the roofline (0.56 of it when this bar was set)
    assert est.throughput_fps() > 0.5 * est.roofline_fps()
    joins = [op for op in module.walk() if op.name == "dataflow.map" and len(op.operands) == 2]
    assert joins and all(max(v.type.depth.data for v in op.operands) > 2 for op in joins)


def test_explore_writes_the_sized_fifo_depths_not_the_costed_ones_above_them(resnet_small_text):
    # ResNet-18 (small) on a ZCU102: the search costs its skip FIFOs deeper than the cycle-level sizing finds they
    # must be (into map78: 575 costed, 456 sized); the IR gets the sized depths and the estimate counts them
    module = _explore(resnet_small_text, platform="zcu102")
    network = Network.from_module(module)
    costed = network.evaluate(network.ir_choices()).fifo_depths
    sized = size_fifos(module).depths
    deeper = [e for e, depth in costed.items() if depth > sized.get(network.edges[e].value, depth) > 2]
    assert deeper
    assert all(network.edges[e].value.type.depth.data == sized[network.edges[e].value] for e in deeper)
    estimated = Estimate.of_module(module).totals.fifo_depths
    assert all(estimated[e] == sized[network.edges[e].value] for e in deeper)


def _design(module: ModuleOp) -> str:
    """The IR without weight blobs (whose resource keys change from one parse to the next)."""
    return without_weights(module_text(module))


def test_explore_deterministic(resnet_small_text):
    first = _design(_explore(resnet_small_text, platform="zc706", seed=3))
    second = _design(_explore(resnet_small_text, platform="zc706", seed=3))
    assert first == second and "coarse_out" in first


def test_utilisation_cap_respected(resnet_small_text, capsys):
    module = _explore(resnet_small_text, platform="zcu102", utilisation=0.3)
    est = _check_design(module, "zcu102", 0.3)
    # the FIFO depths the simulation sizes for the first design found do not fit 30 % (it was written at
    # costed depths that simulated at twice its estimated II): the search runs again with their memory
    # reserved, and the design written runs at the II it reports
    sim = simulate(module)
    assert not sim.deadlock and abs(sim.ii - est.totals.ii) <= 0.05 * sim.ii
    assert "remark" not in capsys.readouterr().err


def test_fifo_rounds_reserve_the_overshoot_summed(resnet_small_text, monkeypatch):
    # each FIFO round's search keeps out of its budget what the sized depths of the rounds before went over it,
    # summed: not all those depths take beyond the costed FIFOs (a design searched in less memory has fewer)
    import dfcc.passes.explore as explore_pass

    reserves, overshoots = [], []
    search, size = explore_pass.explore_module, explore_pass._write_fifo_depths

    def searched(*args, reserve, **kwargs):
        reserves.append(dict(reserve))
        return search(*args, reserve=reserve, **kwargs)

    def sized(module, limits, jobs):
        totals = size(module, limits, jobs)
        overshoots.append({k: used - limit for k, used, limit in totals.overshoot(limits)})
        return totals

    monkeypatch.setattr(explore_pass, "explore_module", searched)
    monkeypatch.setattr(explore_pass, "_write_fifo_depths", sized)
    # at 27 % the first two designs' sized FIFOs go over their budgets (at 28 % they fit: rounds are not monotone in it)
    _explore(resnet_small_text, platform="zcu102", utilisation=0.27, spatial=False)
    assert len(reserves) >= 2 and overshoots[0]  # the first design's depths went over: a second round ran
    for later, reserve in enumerate(reserves[1:], start=1):
        summed = {k: sum(over.get(k, 0) for over in overshoots[:later]) for k in RESOURCES}
        assert reserve == pytest.approx(summed)


def test_the_last_fifo_round_reserves_the_largest_gap_a_design_showed(resnet_small_text, monkeypatch):
    # the overshoot summed may trail what the designs' sized depths take beyond their costed FIFOs (a search moves
    # with its budget): the last round keeps out at least the largest such gap, by resource
    import dfcc.passes.explore as explore_pass

    reserves, gaps, overshoots = [], [], []
    search, size = explore_pass.explore_module, explore_pass._write_fifo_depths

    def searched(*args, reserve, **kwargs):
        reserves.append(dict(reserve))
        design = search(*args, reserve=reserve, **kwargs)
        gaps.append(design[2])
        return design

    def sized(module, limits, jobs):
        totals = size(module, limits, jobs)
        gaps[-1] = {k: totals.resource(k) - gaps[-1].resource(k) for k in RESOURCES}
        overshoots.append({k: used - limit for k, used, limit in totals.overshoot(limits)})
        return totals

    monkeypatch.setattr(explore_pass, "explore_module", searched)
    monkeypatch.setattr(explore_pass, "_write_fifo_depths", sized)
    monkeypatch.setattr(explore_pass, "FIFO_ROUNDS", 3)
    # at 27 % the first two designs go over in BRAM18 by 4.5 and 1.5, and their sized FIFOs took 6 and 7 beyond
    # those costed: the third, last, search reserves 7, not 6.04
    _explore(resnet_small_text, platform="zcu102", utilisation=0.27, spatial=False)
    assert len(reserves) == 3 and not overshoots[-1]
    summed = sum(over["bram18"] for over in overshoots[:2])
    assert reserves[1]["bram18"] == pytest.approx(overshoots[0]["bram18"])
    assert reserves[2]["bram18"] == max(gaps[0]["bram18"], gaps[1]["bram18"]) > summed


def test_fifo_depths_that_cannot_fit_are_named(resnet_small_text, tmp_path):
    # plenty of LUT (weights and shallow window buffers in LUTRAM) and 10 BRAM18: the search's first design
    # fits, but with the FIFO depths that keep its simulated II it does not, and no design fits beside that
    # FIFO memory (at 20 BRAM18 one does: 18 used)
    board = tmp_path / "tight.json"
    board.write_text(json.dumps({"name": "tight", "part": "xczu9eg", "dsp": 2520, "bram18": 10, "uram": 0,
                                 "lut": 3_000_000, "ff": 3_000_000, "clock_mhz": 200, "bandwidth_gbps": 19.2}))
    with pytest.raises(DfccError) as error:
        _explore(resnet_small_text, platform=str(board), utilisation=1.0)
    message = str(error.value)
    assert "does not fit on tight" in message and "reserved for FIFOs" in message
    assert "raise utilisation or use evict-skips=true" in message


def test_no_fit_names_resource_and_overshoot(tmp_path):
    board = tmp_path / "tiny.json"
    board.write_text(json.dumps({"name": "tiny", "part": "xc7z007s", "dsp": 2, "bram18": 100, "uram": 0,
                                 "lut": 100000, "ff": 100000, "clock_mhz": 100, "bandwidth_gbps": 1}))
    # conv and linear need one DSP each at least (budget 0.5 x 2 = 1), but with 100k LUT their
    # multipliers fit in fabric (16x16 = 256 LUT each, hardware/logic.py)
    module = _explore(NET, platform=str(board), utilisation=0.5)
    impls = {op.properties["name"].data: op.attributes["dataflow.mult_impl"].data
             for op in module.walk() if "dataflow.mult_impl" in op.attributes}
    assert "lut" in impls.values()
    assert Estimate.of_module(module).totals.dsp <= 1
    # with 3,000 LUT neither fits: the balanced design's LUTs are named
    board.write_text(json.dumps({"name": "tiny", "part": "xc7z007s", "dsp": 2, "bram18": 100, "uram": 0,
                                 "lut": 3000, "ff": 100000, "clock_mhz": 100, "bandwidth_gbps": 1}))
    with pytest.raises(DfccError) as error:
        _explore(NET, platform=str(board), utilisation=0.5)
    message = str(error.value)
    assert "does not fit on tiny" in message and "LUT" in message
    assert "budget is 1,500 (0.5 x 3,000)" in message
    # where the LUTs go: each kind's nodes at their cheapest, the conv's multiplier the most
    assert re.search(r"\nLUT at the nodes' cheapest points: 1 dataflow\.conv node\(s\) hold [\d,]+ \('conv' [\d,]+\); ", message)
    # ... and the balanced design's own: its nodes, FIFOs and lane converters, adding up to what it needs
    needs = re.search(r"needs ([\d,]+) LUT", message).group(1)
    split = re.search(r"\nLUT in that design: nodes ([\d,]+), FIFOs ([\d,]+), lane converters ([\d,]+)", message)
    assert sum(int(part.replace(",", "")) for part in split.groups()) == int(needs.replace(",", ""))


def test_no_fit_via_cli(resnet_small_text, tmp_path, capsys):
    path = tmp_path / "m.mlir"
    path.write_text(resnet_small_text)
    assert main([str(path), "-p", "explore{platform=zedboard utilisation=0.2}"]) == 1
    err = capsys.readouterr().err
    assert "does not fit on ZedBoard" in err
    # the resource named is the one over its budget, with the amount needed, the budget and the overshoot
    assert re.search(r"needs [\d,]+ (\w+), the budget is [\d,]+ .*over by [\d,]+ \1 ", err), err


def test_pipeline_options_and_cli_json(tmp_path, capsys):
    spec, = parse_pipeline("explore{platform=zc706 utilisation=0.5 seed=7}")
    p = spec.instantiate(get_pass("explore"))
    assert (p.platform, p.utilisation, p.seed) == ("zc706", 0.5, 7)
    path = tmp_path / "n.mlir"
    path.write_text(NET)
    assert main([str(path), "-p", "explore{platform=zc706 utilisation=0.5}", "-t", "estimate", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["platform"]["name"] == "ZC706" and "remark" not in err
    assert data["resources"]["DSP"] <= 0.5 * 900
    conv = next(n for n in data["nodes"] if n["name"] == "conv")
    assert conv["cycles"] == data["ii_cycles"] or conv["cycles"] < data["ii_cycles"]
    assert any(f["to"] == "add" and f["depth"] > 2 for f in data["fifos"])  # the skip FIFO, among the sized ones


def test_unknown_platform_lists_known():
    with pytest.raises(DfccError, match="known platforms: .*zcu102"):
        _explore(NET, platform="nosuchboard")


def test_explore_rerun_keeps_ir_consistent():
    module = _explore(NET, platform="zcu102")
    again = parse_module(module_text(module))
    Explore(platform="zedboard").apply(make_context(), again)
    again.verify()
    assert again.attributes[PLATFORM_ATTR].data == "zedboard"
    convs = [op for op in again.walk() if isinstance(op, ConvOp)]
    assert all(isinstance(op.output.type, StreamType) for op in convs)
    _check_design(again, "zedboard")


def test_off_chip_weights_within_bandwidth():
    module = _explore(NET, platform="zedboard", off_chip_weights=True)
    est = _check_design(module, "zedboard")
    assert est.offchip_gbps() <= 0.9 * est.platform.bandwidth_gbps
    assert not any("storage" in op.properties for op in module.walk())  # one placement attribute: the node's
    memories = {op.attributes["dataflow.weights_memory"].data for op in module.walk()
                if "dataflow.weights_memory" in op.attributes}
    assert memories <= {"uram", "lutram", "off_chip"}


def test_explore_prefers_dsps_where_free():
    from dfcc.analyses.network import Network
    from dfcc.passes.explore import _Search, explore

    module = _conv_module(32, 32, 3, 16, 1, 1, elem="!dataflow.fixed<8, 3>", wfmt=", format = !dataflow.fixed<8, 1>")
    network = Network.from_module(module)
    u250 = load_platform("u250")
    # an 8x8 fabric multiplier scores 64 / (0.9 x 1,728,000) LUT, half a DSP 0.5 / (0.9 x 12,288): the
    # fabric looks cheaper, yet the DSPs are idle, so the conv's multipliers must end on DSPs
    choices, totals = explore(network, u250, progress=False)
    conv = next(i for i, m in enumerate(network.nodes) if m.name == "conv")
    assert choices[conv][2] == "dsp" and totals.dsp > 0 and totals.costs[conv].mult_lut > 0
    # by hand: with the conv on fabric at ci=32 co=32 fine=9 (9,216 multipliers, 4,608 DSPs packed
    # two per DSP), a DSP budget of 4,608 takes them all; one DSP less three quarters of them (6,912
    # multipliers, 3,456 DSPs), 3,455 half (2,304), 2,303 a quarter (1,152), 1,151 none
    search = _Search(network, u250, 0.9, 0)
    picks = [((32, 32, 1, 9), "bram", "lut", 100, c[4], None) if i == conv else c for i, c in enumerate(choices)]
    for budget, expected, dsp in ((4608, "dsp", 4608), (4607, 75, 3456), (3455, 50, 2304), (2303, 25, 1152),
                                  (1151, "lut", 0)):
        search.limits["dsp"] = budget
        moved, moved_totals = search.prefer_dsps(picks, network.evaluate(picks))
        assert moved[conv][2] == expected and moved_totals.dsp == dsp


def test_explore_splits_multipliers_where_dsps_bind(tmp_path, monkeypatch):
    """A conv (8 -> 8 channels, 3x3, 16 bits) on a board with 100 DSPs and 40,000 LUTs: at ci=8 co=8 fine=3
    (192 multipliers) neither all of them on DSPs (192) nor all in fabric (192 x 256 = 49,152 LUT) fits, half
    of each does (96 DSPs, 24,576 LUT); the design written runs at the II its estimate reports."""
    board = tmp_path / "tight.json"
    board.write_text(json.dumps({"name": "tight", "part": "x", "dsp": 100, "bram18": 1000, "uram": 0,
                                 "lut": 40_000, "ff": 10**7, "clock_mhz": 200, "bandwidth_gbps": 19.2}))
    text = module_text(_conv_module(8, 8, 3, 8, 1, 1))
    module = _explore(text, platform=str(board), utilisation=1.0)
    conv = next(op for op in module.walk() if isinstance(op, ConvOp))
    assert 0 < conv.dsp_share() < 100
    est = _check_design(module, str(board), utilisation=1.0)
    assert est.totals.dsp <= 100 < node_cost(conv).multipliers  # its multipliers would not fit on DSPs alone
    sim = simulate(module)
    assert not sim.deadlock and abs(sim.ii - est.totals.ii) <= 0.05 * sim.ii
    # without splits the same search is slower
    monkeypatch.setattr("dfcc.passes.explore.DSP_SHARES", ())
    whole = Estimate.of_module(_explore(text, platform=str(board), utilisation=1.0))
    assert est.totals.ii < whole.totals.ii


def test_explore_refits_lanes_around_a_slow_converter():
    network = Network.from_module(parse_module(LANES))
    search = _Search(network, load_platform("zcu102"), 0.9, 0)
    # the maps at 4 and 3 lanes (192 and 256 cycles) need a 4 -> 1 -> 3 converter of 768 cycles
    picks = [space.choices.index(c) for space, c in zip(search.spaces, network.ir_choices())]
    rows = search.starts + np.array(picks)
    assert network.evaluate(search.choices_of(rows)).ii == 768
    rows = search.fit_lanes(300, search.jitter, rows)
    # either end can take the other's lanes within 300 cycles ("three" at 4: 192; "four" at 3: 256; 6 would
    # need a 4 -> 2 -> 6 converter of 384 cycles); the cheaper refit is "four" at one lane fewer, not
    # "three" at one more, and the II is the maps' 256
    assert [search.choices_of(rows)[i][0] for i in (1, 2)] == [(3, 1), (3, 1)]  # (coarse, pixels)
    assert network.evaluate(search.choices_of(rows)).ii == 256


def test_match_lanes_gives_maps_their_producers_lanes():
    """Step 4 on maps, whose folding is (coarse, pixels): "four" at 4 lanes then "three" at 6 need a
    4 -> 2 -> 6 converter of 768 / 2 = 384 cycles. The source writes one whole pixel (12 lanes) a
    beat, so both maps take 12 lanes, 768 / 12 = 64 cycles each, and no converter is left."""
    network = Network.from_module(parse_module(LANES))
    search = _Search(network, load_platform("zcu102"), 0.9, 0)
    picks = [((6, 1), "bram", "dsp", 100, None, None) if m.name == "three" else c
             for m, c in zip(network.nodes, network.ir_choices())]
    totals = network.evaluate(picks)
    assert totals.ii == 384
    matched, matched_totals = search.match_lanes(picks, totals)
    assert [matched[i][0] for i in (1, 2)] == [(12, 1), (12, 1)]
    assert matched_totals.ii == 64 and not matched_totals.converters


def test_explore_infeasibility_proof_is_sound():
    """A target the Lagrangian weights prove infeasible has no design within budget: checked by
    trying every combination of the nodes' points (node resources only, as the proof counts)."""
    network = Network.from_module(parse_module(NET))
    search = _Search(network, load_platform("zedboard"), 0.15, 0)
    rng = np.random.default_rng(0)
    proved = fits = 0
    for target in search.targets():
        search.set_target(target)
        sums = np.zeros((1, search.all_usage.shape[1]))  # every combination's total, node by node
        for n, space in enumerate(search.spaces):
            within = space.usage[space.cycles <= target]
            sums = (sums[:, None, :] + within[None, :, :]).reshape(-1, sums.shape[1])
        feasible = bool(np.any(np.all(sums <= search.limit_vec, axis=1)))
        fits += feasible
        for weights in [search.jitter] + [np.exp(rng.normal(size=search.jitter.shape)) for _ in range(20)]:
            if search.select_rows(target, weights)[1]:
                proved += 1
                assert not feasible, target
    assert proved and fits  # both kinds of target occur


@pytest.mark.parametrize("utilisation", [0.3, 0.6])
def test_bisect_faster_than_skips_slow_targets_and_keeps_a_faster_design(resnet_small_text, utilisation):
    """`_bisect` with `faster_than` (passes/tile_order.py's tries keep only a design faster than the best so far)
    tries no target more than POLISH_TARGETS above it, fewer tries in all, and finds the design the search without
    it finds when that one is faster. At 30 % the design (5,310 cycles) is found at a target above it (5,376): the
    targets just above are tried."""
    network = Network.from_module(parse_module(resnet_small_text))
    targets = _Search(network, load_platform("zcu102"), utilisation, 0).targets()

    def bisected(faster_than: float) -> tuple[object, list[int]]:
        search, tried = _Search(network, load_platform("zcu102"), utilisation, 0), []
        try_target = search.try_target

        def recorded(target, rounds):
            tried.append(target)
            return try_target(target, rounds)

        search.try_target = recorded
        best = None if faster_than < float("inf") else try_target(float("inf"), BISECTION_ROUNDS * 2)
        return _bisect(search, best, lambda: None, faster_than=faster_than), tried

    (choices, totals), everything = bisected(float("inf"))
    assert targets[0] < totals.ii  # the bisection had targets to rule out
    for faster_than in (totals.ii + 1, targets[len(targets) // 2]):
        design, tried = bisected(faster_than)
        below = sum(t < faster_than for t in targets)
        assert design == (choices, totals) and len(tried) < len(everything)
        assert all(targets.index(t) < below + POLISH_TARGETS for t in tried)
    assert max(bisected(targets[0])[1]) < targets[POLISH_TARGETS]


def test_explore_repair_keeps_converters_within_target():
    network = Network.from_module(parse_module(LANES))
    search = _Search(network, load_platform("zcu102"), 0.9, 0)
    search.set_target(300)
    picks = [((4, 1), "bram", "dsp", 100, None, None) if m.name in ("four", "three") else c
             for m, c in zip(network.nodes, network.ir_choices())]
    totals = network.evaluate(picks)
    assert totals.ii == 192 and not totals.converters
    # one LUT too few: "three" at 3 lanes (256 cycles) is cheaper, but a 4 -> 3 lane converter takes
    # 4 -> 1 -> 3, 768 cycles, over the target; the repair must not make that move
    search.limit_vec[RESOURCES.index("lut")] = totals.lut - 1
    repaired = search.repair(300, picks)
    assert repaired is None or repaired[1].ii <= 300


def test_a_repair_failing_from_the_round_least_over_starts_again_from_the_next(resnet_small_text):
    # the split search's rounds at this target end over budget; the repair from the round least over fails, the one
    # from the next round's design finds a design within the target and the budget
    module = parse_module(resnet_small_text)
    emulate_bits(module, 16)
    network, zcu102 = Network.from_module(module), load_platform("zcu102")
    spaces = _node_spaces(network, zcu102, False, False, splits=True)
    starts = []

    def search(repair_starts: int) -> _Search:
        found = _Search(network, zcu102, 0.3, 0, spaces=spaces, repair_starts=repair_starts)
        repair = found.repair
        found.repair = lambda target, picks: starts.append(picks) or repair(target, picks)
        return found

    assert search(1).try_target(4762, POLISH_ROUNDS) is None and len(starts) == 1
    starts.clear()
    found = search(3)
    design = found.try_target(4762, POLISH_ROUNDS)
    assert len(starts) == 2 and starts[0] != starts[1]
    assert design is not None and design[1].ii <= 4762 and np.all(found.over(design[1]) <= 1.0 + 1e-12)


def test_repeated_layers_share_costs_without_changing_the_design(resnet_small_text):
    """Nodes of equal cost key cost the same at every point explore considers. Each is compared as a model of its
    own (`describe` without the module's shared models: a network's nodes of equal key share one model, relabelled,
    analyses/network.py, so comparing those would compare a model with itself); the search finds the same design
    with repeated layers costed once as with every node costed alone."""
    network = Network.from_module(parse_module(resnet_small_text))
    groups: dict = {}
    for model in network.nodes:
        key = cost_key(model.op)
        if key is not None:
            groups.setdefault(key, []).append(describe(model.op))
    shared = [g for g in groups.values() if len(g) > 1]
    assert any(g[0].op.name == "dataflow.conv" for g in shared)  # the repeated basic blocks' convs
    for first, *others in shared:
        assert all(m._cache is not first._cache for m in others)
        for folding in foldings(first):
            for memory in ("bram", "uram", "lutram", "off_chip"):
                for mult in ("dsp", "lut"):
                    assert all(m.cost(folding, memory, mult) == first.cost(folding, memory, mult) for m in others)
    zcu102 = load_platform("zcu102")
    assert explore(network, zcu102, progress=False) == explore(network, zcu102, progress=False, share_repeated=False)


def test_nodes_of_equal_key_share_a_model_made_their_own(resnet_small_text, monkeypatch):
    """A network's nodes of equal cost key are described once (a kind's cost facet may read a node's whole body):
    each later one gets that model with its own op and name (an estimate's or a diagnostic's node is the right one)
    and its costs found; a node changed since it was described (its facet reads the node) is described again."""
    module = parse_module(resnet_small_text)
    ops = [op for op in module.walk() if is_node(op)]
    convs = [op for op in ops if op.name == "dataflow.conv"]
    conv_kind = type(kind_of(convs[0]))
    described = []
    facet = conv_kind.cost
    monkeypatch.setattr(conv_kind, "cost", lambda kind, op: described.append(op) or facet(kind, op))
    network = Network.from_module(module)
    assert len(described) == len({cost_key(op) for op in convs}) < len(convs)
    assert [model.op for model in network.nodes] == ops
    assert [model.name for model in network.nodes] == [node_label(op) for op in ops]
    by_key: dict = {}
    for model in network.nodes:
        by_key.setdefault(cost_key(model.op), []).append(model)
    repeated = [models for key, models in by_key.items() if key is not None and len(models) > 1]
    assert repeated and all(m._cache is first._cache and m is not first for first, *others in repeated for m in others)
    described.clear()
    Network.from_module(module)
    assert not described  # the module's models, described once
    conv = next(models[0] for models in repeated if models[0].op in convs)
    conv.op.properties["coarse_out"] = IntegerAttr(2, i64)  # a design written (passes/explore.py apply_design)
    again = Network.from_module(module)
    assert described == [conv.op]  # the changed node described again, its costs kept
    assert again.nodes[ops.index(conv.op)]._cache is conv._cache


def test_shared_spaces_are_the_spaces_of_nodes_costed_alone_at_fixed_point(resnet_small_text):
    """At 16-bit fixed point, with weights in DRAM, weight-stationary tiles, tile memories in LUTRAM and both inner
    products among the points, the spaces explore shares between nodes of equal cost key (and their cost caches,
    `describe`) are those of each node costed on its own model: the premise both memos rest on."""
    module = parse_module(resnet_small_text)
    emulate_bits(module, 16)
    network = Network.from_module(module)
    alone = Network([describe(model.op) for model in network.nodes], network.edges)
    zcu102 = load_platform("zcu102")
    shared = _node_spaces(network, zcu102, True, False, ffip=True, lutram=True)
    costed = _node_spaces(alone, zcu102, True, False, share=False, ffip=True, lutram=True)
    assert len({id(space) for space in shared}) < len(shared)  # some spaces are shared
    points = [c for space in shared for c in space.choices]  # (folding, memory, mult, on chip, product, LUTRAM)
    assert {"off_chip", "ffip"} <= {c[1] for c in points} | {c[4] for c in points}
    assert any(c[5] is not None for c in points)
    for mine, own in zip(shared, costed):
        assert mine.choices == own.choices
        assert np.array_equal(mine.cycles, own.cycles) and np.array_equal(mine.usage, own.usage)


def test_quantize_sqnr_leaves_repeated_layers_sharing_costs(resnet_small_text):
    """quantize's measured SQNR, each node's own, is a report no cost reads: nodes that share a cost key still
    share it with it (before, no two quantized nodes did: a quantized ResNet-50's 124 nodes took 124 spaces, now 75)."""
    network = Network.from_module(parse_module(resnet_small_text))
    keys = [cost_key(model.op) for model in network.nodes]
    assert len({k for k in keys if k is not None}) < sum(k is not None for k in keys)  # some layers repeat
    for n, model in enumerate(network.nodes):
        model.op.attributes[SQNR_ATTR] = DictionaryAttr({"output": FloatAttr(30.0 + n, f64)})
    assert [cost_key(model.op) for model in network.nodes] == keys


def test_known_spaces_are_reused_only_for_the_same_platform_and_options(resnet_small_text):
    """A space `known` holds is one costed for the same platform, spatial and splits: the ZCU102's (no URAM) is not
    a U250's (weights in URAM among its points), a space without spatial parallelism not one with it."""
    network = Network.from_module(parse_module(resnet_small_text))
    zcu102, u250 = load_platform("zcu102"), load_platform("u250")

    def points(spaces):
        return [space.choices for space in spaces]

    known: dict = {}
    first = _node_spaces(network, zcu102, False, False, known=known)
    assert points(_node_spaces(network, zcu102, False, False, known=known)) == points(first)
    for platform, spatial, splits in ((u250, False, False), (zcu102, True, False), (zcu102, False, True)):
        fresh = _node_spaces(network, platform, False, spatial, splits=splits)
        assert points(_node_spaces(network, platform, False, spatial, splits=splits, known=known)) == points(fresh)
        assert points(fresh) != points(first)
    assert any(c[1] == "uram" for space in _node_spaces(network, u250, False, False, known=known) for c in space.choices)


def _attention_layers(layers: int = 2, tokens: int = 8, width: int = 16, heads: int = 2):
    """Self-attention layers with heads split off token-major projections (the matmuls read Q rows
    head by head in one block, after all of Kᵀ is buffered)."""
    torch = pytest.importorskip("torch")
    from torch import nn

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = (nn.Linear(width, width) for _ in range(3))

        def forward(self, x):
            def split(y):
                return y.view(1, tokens, heads, width // heads).transpose(1, 2)

            a = torch.softmax(split(self.q(x)) @ split(self.k(x)).transpose(-1, -2), dim=-1) @ split(self.v(x))
            return x + a.transpose(1, 2).reshape(1, tokens, width)

    torch.manual_seed(0)
    return nn.Sequential(*(Layer() for _ in range(layers))), torch.randn(1, tokens, width)


def test_search_costs_q_held_while_k_loads_and_its_depths_do_not_hang():
    """Q and Kᵀ leave the same fork at the same pace, and the matmul reads no Q row before all of Kᵀ is
    buffered: Q's FIFO must hold all of Q (8 tokens x 16 = 128 words) or the fork stalls on it and Kᵀ
    never arrives. The search costs that FIFO and writes it on Q's stream (behind the head-split
    reshape), so its own depths, before any simulated sizing, run at its II (they hanged before)."""
    pytest.importorskip("torch_mlir.fx")
    from tests.torch_differential import lower

    module = lower(*_attention_layers())
    network = Network.from_module(module)
    choices, totals = explore(network, load_platform("u250"), progress=False)
    apply_design(module, network, choices, totals, "u250")
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    assert sim.ii == totals.ii
    held = []
    for matmul in (op for op in module.walk() if isinstance(op, MatmulOp)):
        q = matmul.lhs
        while isinstance(q.owner, ReshapeOp):
            q = q.owner.input
        if isinstance(q.owner, LinearOp):  # Q Kᵀ (P V reads the softmax's output)
            held.append(q.type.depth.data * kind_of(q.owner).stream_lanes(q.owner)[1])
    assert len(held) == 2 and min(held) >= 8 * 16, held


def test_pareto_keeps_the_undominated_rows_and_the_first_of_equals():
    """explore's Pareto filter of a node's points: by hand, then against its definition on random rows with ties
    and a constant column (which the filter skips), over several of its chunks."""
    from dfcc.passes.explore import pareto_rows

    rows = np.array([[2, 1, 0], [1, 2, 0], [2, 1, 0], [3, 3, 0], [1, 3, 0], [0, 5, 0]], dtype=float)
    # row 2 equals row 0 (the first stays), 3 is beaten by rows 0 and 1, 4 by row 1
    assert pareto_rows(rows).tolist() == [0, 1, 5]
    assert pareto_rows(np.ones((4, 3))).tolist() == [0]
    rng = np.random.default_rng(0)
    for _ in range(40):
        data = rng.integers(0, 4, size=(int(rng.integers(1, 200)), 5)).astype(float)
        data[:, 2] = 7
        undominated = [i for i, row in enumerate(data)
                       if not any(np.all(other <= row) and (np.any(other < row) or j < i) for j, other in enumerate(data))]
        assert pareto_rows(data).tolist() == undominated


@given(st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0, 3.5, float("nan")]) | st.floats(-4, 4), max_size=120),
       st.integers(1, 60))
@settings(max_examples=200, deadline=None)
def test_top_rows_is_the_head_of_a_stable_descending_sort(values, k):
    """The repair's ranking of its moves: the first k of a stable sort, ties (many in a repair's values) in index
    order, NaNs last, whether k is below, at or above the number of values."""
    from dfcc.passes.explore import top_rows

    values = np.array(values, dtype=float)
    assert top_rows(values, k).tolist() == np.argsort(-values, kind="stable")[:k].tolist()


def test_explore_same_design_whatever_simd_numpy_dispatches(tmp_path):
    """One input, one design on every CPU: numpy's exp and unstable sorts differ between its SIMD kernels (the unet's
    8-bit design came out II 1,280 with AVX-512, 1,156 with AVX2), so the search must not depend on them."""
    pytest.importorskip("torch")
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    dispatched = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]  # lowest level first
    if not dispatched:
        pytest.skip("numpy dispatches no SIMD kernel beyond its baseline on this CPU: nothing to compare")
    # the kernels one level down (AVX2 where this CPU has AVX-512), else numpy's baseline ones
    disabled = dispatched[1:] or dispatched
    from dfcc.examples.models import MODELS
    from dfcc.frontends.torch import import_to_text

    spec = MODELS["unet"]
    source = tmp_path / "unet.mlir"
    source.write_text(import_to_text(spec.build(), *spec.inputs()))
    quantized = tmp_path / "q8.mlir"
    assert main([str(source), "-p", "lower-to-dataflow,quantize{weight-bits=8 act-bits=8}", "-o", str(quantized)]) == 0
    explore_here = _design(_explore(quantized.read_text(), platform="zcu102"))
    script = ("import sys; from tests.test_explore import _design, _explore; "
              "sys.stdout.write(_design(_explore(open(sys.argv[1]).read(), platform='zcu102')))")
    baseline = subprocess.run([sys.executable, "-c", script, str(quantized)], capture_output=True, text=True,
                              check=True, env={**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(disabled)})
    assert baseline.stdout == explore_here
