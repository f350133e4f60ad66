"""Spatial parallelism (`pixels` adjacent pixels per beat on graph inputs, convs, maps, pools, forks, global means,
concats, resizes and depth_to_space): the folding the verifier accepts, its cost on hand-computed cases, explore's choice
with spatial=true, or with auto where the pixel rate binds, the cycle-level schedules against the estimate, and the C simulation (plain and
bounded FIFOs) at 2 and 4 pixels per beat, bit-exact against the CPU reference."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from xdsl.utils.exceptions import VerifyException

from dfcc.analyses.fifo_sizing import size_fifos, write_depths
from dfcc.analyses.network import Network
from dfcc.analyses.reference import run_reference
from dfcc.analyses.simulation import simulate
from dfcc.backends.estimate import Estimate, node_cost
from dfcc.backends.hls.bounded import bounded_csim
from dfcc.backends.hls.csim import csim
from dfcc.backends.hls.emit import emit_design
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context
from dfcc.hardware.platforms import load_platform
from dfcc.kinds import (
    ConcatOp, ConvOp, DepthToSpaceOp, ForkOp, MapOp, PoolOp, ReduceOp, ResizeOp, SinkOp, SourceOp, kind_of,
)
from dfcc.passes.explore import Explore, explore
from dfcc.passes.zero_skip import to_zero_skipping
from tests.test_estimate import _conv_module, _fold, _node


def _stem():
    """A 3 -> 8 channel 3x3 stride-2 conv on a 32x32 image: reading the padded image (34x34 pixels,
    one per cycle) binds it once its channels are unrolled."""
    return _conv_module(3, 8, 3, 32, 2, 1)


def test_pixels_must_divide_the_widths():
    module = _stem()
    assert _node(module, "conv").folding_extents()["pixels"] == 16  # gcd(32 in, 16 out)
    assert _node(module, "in").folding_extents() == {"pixels": 32}
    _fold(_node(module, "conv"), coarse_in=3, coarse_out=8, pixels=3)
    with pytest.raises(VerifyException, match="pixels=3 does not divide 16"):
        module.verify()


def test_pixels_need_whole_pixels_per_beat():
    module = _stem()
    _fold(_node(module, "conv"), coarse_in=3, coarse_out=4, pixels=2)
    with pytest.raises(VerifyException, match=r"pixels=2 per beat needs whole pixels .*3 channels.* 8 filters"):
        module.verify()
    _fold(_node(module, "conv"), coarse_out=8)
    module.verify()


def test_pixels_divide_cycles_and_multiply_multipliers():
    module = _stem()
    conv = _fold(_node(module, "conv"), coarse_in=3, coarse_out=8, fine=9)
    one = node_cost(conv)
    # fully unrolled channels and kernel: the read term (32+2)^2 = 1156 cycles, 3*8*9 multipliers
    assert one.cycles == 1156
    two = node_cost(_fold(conv, pixels=2))
    # two columns per step (Ma et al.): 34 rows x 17 steps; twice the multipliers, two pixels per beat out
    assert (two.cycles, two.out_lanes) == (578, 16)
    assert two.mult_lut == 2 * one.mult_lut
    four = node_cost(_fold(conv, pixels=4))
    # 34 rows x ceil(34/4) = 9 steps
    assert four.cycles == 34 * 9
    port = _fold(_node(module, "in"), pixels=4)
    assert node_cost(port).cycles == 32 * 32 // 4
    assert node_cost(port).out_lanes == 12


def _pixels(network, choices) -> dict[str, int]:
    return {m.name: folding[m.factors.index("pixels")] for m, (folding, *_) in zip(network.nodes, choices)
            if "pixels" in m.factors}


def test_explore_chooses_pixels_only_when_asked_and_only_whole_pixels():
    network = Network.from_module(_stem())
    platform = load_platform("u250")
    plain_choices, plain = explore(network, platform, progress=False)
    assert plain.ii == 1156  # the padded image at one pixel per cycle
    assert set(_pixels(network, plain_choices).values()) == {1}
    choices, spatial = explore(network, platform, progress=False, spatial=True)
    assert spatial.ii < plain.ii / 2
    pixels = _pixels(network, choices)
    assert pixels["conv"] > 1 and pixels["in"] > 1
    conv = next(m for m in network.nodes if m.name == "conv")
    assert all(f[4] == 1 or (f[0], f[1]) == (3, 8) for f in conv.folding_options())  # coarse_in, coarse_out


def test_explore_auto_takes_pixels_where_the_pixel_rate_binds_and_only_there():
    """The pass's default, spatial=auto: the stem on a U250 reaches its fastest folding at one pixel per beat (the
    padded image, 1,156 cycles), so a second search with more pixels per beat runs and its design is kept; on a
    ZedBoard at 10 % its DSPs bind first, so the design is the one-pixel search's, the same IR as spatial=false."""
    wide = _stem()
    Explore(platform="u250").apply(make_context(), wide)
    assert _node(wide, "conv").int_prop("pixels") > 1 and _node(wide, "in").int_prop("pixels") > 1
    assert Estimate.of_module(wide).totals.ii < 1156 / 2
    small = {}
    for spatial in ("auto", False):
        module = _stem()
        Explore(platform="zedboard", utilisation=0.1, spatial=spatial).apply(make_context(), module)
        small[spatial] = str(module)
        assert _node(module, "conv").int_prop("pixels") == 1
        assert Estimate.of_module(module).totals.ii > 1156
    assert small["auto"] == small[False]


def test_explore_names_a_bad_spatial_value():
    with pytest.raises(DfccError, match="spatial must be auto, true or false, got 'maybe'"):
        Explore(platform="u250", spatial="maybe").apply(make_context(), _stem())


def test_explored_spatial_design_builds_and_simulates_as_estimated():
    module = _stem()
    Explore(platform="u250", spatial=True).apply(make_context(), module)
    assert _node(module, "conv").int_prop("pixels") > 1
    top = emit_design(module).files["top.cpp"]
    assert "dfcc::conv_px<" in top
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    est = Estimate.of_module(module).totals
    assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, (est.ii, sim.ii)


def test_zero_skip_keeps_one_pixel_per_beat():
    module = _stem()
    conv = _fold(_node(module, "conv"), pixels=1)
    assert "pixels" not in to_zero_skipping(conv).properties  # an explored conv (pixels = 1 written) converts
    module = _stem()
    with pytest.raises(DfccError, match="pixels=2 per beat; a zero-skipping conv takes one"):
        to_zero_skipping(_fold(_node(module, "conv"), coarse_in=3, coarse_out=8, pixels=2))


# ---- C simulation

torch = pytest.importorskip("torch")


class _Block(torch.nn.Module):
    """Stride-2 stem, ReLU, a depthwise 3x3 (stride 1) and a 1x1 conv with a residual add: maps, a
    fork and a join between P-pixel streams, and the lane converters to and from them."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = torch.nn.Conv2d(8, 8, 1)

    def forward(self, x):
        y = torch.relu(self.stem(x))
        return self.pw(torch.relu(self.dw(y))) + y


def _imported(model: torch.nn.Module, pipeline: str = "lower-to-dataflow,quantize{weight-bits=8 act-bits=8}"):
    """`model` on a 1x3x16x16 image, imported and run through `pipeline` (8-bit by default)."""
    pytest.importorskip("torch_mlir.fx")
    from dfcc.driver.pipeline import parse_pipeline
    from dfcc.frontends.mlir import parse_module
    from dfcc.frontends.torch import import_to_text
    from dfcc.passes.registry import get_pass

    module = parse_module(import_to_text(model.eval(), torch.zeros(1, 3, 16, 16)))
    ctx = make_context()
    for spec in parse_pipeline(pipeline):
        spec.instantiate(get_pass(spec.name)).apply(ctx, module)
    return module


def _block(pixels: int, pw_pixels: int):
    """The block at 8 bits, every conv taking whole pixels: `pixels` per beat on the input, stem and
    depthwise conv, `pw_pixels` on the 1x1 conv."""
    module = _imported(_Block())
    convs = [op for op in module.walk() if isinstance(op, ConvOp)]
    assert [op.groups.value.data for op in convs] == [1, 8, 1]
    for op, px in zip(convs, (pixels, pixels, pw_pixels)):
        extents = op.folding_extents()
        _fold(op, coarse_in=extents["coarse_in"], coarse_out=extents["coarse_out"],
              coarse_group=extents["coarse_group"], fine=math.gcd(3, extents["fine"]), pixels=px)
    _fold(next(op for op in module.walk() if isinstance(op, SourceOp)), pixels=pixels)
    for op in module.walk():
        if isinstance(op, (MapOp, ForkOp)):  # the ReLUs, the fork and the residual add, whole pixels per beat
            _fold(op, coarse=op.results[0].type.get_shape()[-1], pixels=pixels)
    module.verify()
    return module


def _exact(module, run) -> None:
    x = np.random.default_rng(1).uniform(-2, 2, (1, 3, 16, 16)).astype(np.float32)
    expected = run_reference(module, [x])
    result = run(module, [x])
    assert np.array_equal(result.outputs[0], expected[0]), f"{np.sum(result.outputs[0] != expected[0])} values differ"


@pytest.mark.parametrize("pixels,pw_pixels", [(2, 1), (4, 4)])
def test_csim_spatial_block_bit_exact(pixels, pw_pixels):
    module = _block(pixels, pw_pixels)
    top = emit_design(module).files["top.cpp"]
    assert top.count("dfcc::conv_px<") == 2 + (pw_pixels > 1)
    assert len(re.findall(rf"dfcc::vec<.*, {8 * pixels}> y;", top)) == 3  # the ReLUs and the add: P pixels per beat
    assert ("dfcc::lanes<" in top) == (pw_pixels != pixels)  # the 1x1 conv and the add meet other lanes
    assert f"dfcc::fork_each<{8 * 8 // pixels}, {8 * pixels}>" in top
    _exact(module, csim)


def test_spatial_block_deadlock_free_once_sized_and_bounded_csim_bit_exact():
    module = _block(2, 2)
    assert simulate(module).deadlock  # the skip FIFO is 2 deep: the fork waits on it (a pixel-rate schedule)
    write_depths(size_fifos(module).depths)
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    _exact(module, bounded_csim)  # the C++ agrees: it runs with those depths


# ---- element-wise maps at P pixels per beat

class _Gate(torch.nn.Module):
    """Stride-2 stem, ReLU, then a squeeze-excitation style gate with a per-channel scale: a map
    joining a full stream with a broadcast [1,1,1,C] one and a parameter."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.scale = torch.nn.Parameter(torch.rand(1, 8, 1, 1) + 0.5)

    def forward(self, x):
        y = torch.relu(self.stem(x))
        return y * torch.sigmoid(y.mean((2, 3), keepdim=True)) * self.scale


def _gate(pixels: int):
    """The gate at 8 bits with the input, stem, every full-size map and the mean at `pixels` per beat."""
    module = _imported(_Gate())
    _fold(next(op for op in module.walk() if isinstance(op, ConvOp)), coarse_in=3, coarse_out=8, fine=3, pixels=pixels)
    _fold(next(op for op in module.walk() if isinstance(op, SourceOp)), pixels=pixels)
    maps = [op for op in module.walk() if isinstance(op, MapOp) and op.folding_extents()["pixels"] > 1]
    assert [len(op.inputs) + len(op.params) for op in maps] == [1, 3]  # the ReLU; the gate (x, scale, parameter)
    for op in maps:
        _fold(op, coarse=8, pixels=pixels)
    _fold(next(op for op in module.walk() if isinstance(op, ReduceOp)), coarse=8, pixels=pixels)
    module.verify()
    return module


def test_map_pixels_need_whole_pixels_and_divide_cycles():
    module = _gate(1)
    relu, gate = [op for op in module.walk() if isinstance(op, MapOp) and op.folding_extents()["pixels"] > 1]
    assert gate.folding_extents() == {"coarse": 8, "pixels": 8}
    one = node_cost(gate)
    # 8x8 pixels of 8 channels, 8 lanes: 64 cycles; at 4 pixels per beat 16, with 4x the multipliers
    four = node_cost(_fold(gate, pixels=4))
    assert (one.cycles, four.cycles, four.out_lanes) == (64, 16, 32)
    assert four.mult_lut == 4 * one.mult_lut
    kind = kind_of(gate)
    assert [kind.read_lanes(gate, v) for v in gate.inputs] == [32, 8]  # the broadcast gate: one pixel's channels
    module.verify()
    _fold(relu, coarse=4, pixels=2)
    with pytest.raises(VerifyException, match=r"pixels=2 per beat needs every channel in a beat \(coarse = 8\)"):
        module.verify()


def test_fork_pixels_need_whole_pixels_and_divide_cycles():
    module = _gate(1)
    fork = next(op for op in module.walk() if isinstance(op, ForkOp))
    assert fork.folding_extents() == {"coarse": 8, "pixels": 8}
    # 8x8 pixels of 8 channels in 8 lanes: 64 cycles; 4 pixels per beat: 16 cycles, 32 lanes
    assert node_cost(_fold(fork, coarse=8)).cycles == 64
    assert (node_cost(_fold(fork, pixels=4)).cycles, node_cost(fork).out_lanes) == (16, 32)
    _fold(fork, coarse=4)
    with pytest.raises(VerifyException, match=r"pixels=4 per beat needs whole pixels \(coarse = 8 channels, got 4\)"):
        module.verify()


def test_reduce_pixels_need_whole_pixels_and_divide_cycles():
    module = _gate(1)
    mean = next(op for op in module.walk() if isinstance(op, ReduceOp))
    assert mean.folding_extents() == {"coarse": 8, "pixels": 8}
    # 8x8 pixels of 8 channels in 8 lanes: 64 cycles; 4 pixels per beat: 16 cycles, 32 lanes in, one pixel's 8 out
    assert node_cost(mean).cycles == 64
    four = node_cost(_fold(mean, pixels=4))
    assert (four.cycles, kind_of(mean).stream_lanes(mean), four.out_lanes) == (16, (32, 8), 8)
    assert four.lut > node_cost(_fold(mean, pixels=1)).lut  # P adders a channel
    _fold(mean, coarse=4, pixels=4)
    with pytest.raises(VerifyException, match=r"pixels=4 per beat needs whole pixels \(coarse = 8 channels, got 4\)"):
        module.verify()
    _fold(mean, coarse=8, pixels=3)
    with pytest.raises(VerifyException, match=r"pixels=3 does not divide 8"):
        module.verify()


def test_reduce_over_channels_takes_one_pixel_a_beat():
    module = _gate(1)
    mean = next(op for op in module.walk() if isinstance(op, ReduceOp))
    for dims in ([3], [1, 2, 3], [1]):  # the channels, or not the width
        other = ReduceOp(mean.input, name="other", kind="mean", dims=dims)
        assert other.folding_extents() == {"coarse": 8, "pixels": 1}
        other.erase()


def test_csim_spatial_maps_and_mean_bit_exact():  # one P: a map's code is the same at every P
    pixels = 4
    module = _gate(pixels)
    top = emit_design(module).files["top.cpp"]
    assert len(re.findall(rf"dfcc::vec<.*, {8 * pixels}> y;", top)) == 2  # the ReLU and the gate
    assert "over dims [1, 2] of 1x8x8x8, 4 pixels a beat" in top  # the mean
    _exact(module, csim)


def test_spatial_mean_simulates_as_estimated():
    module = _gate(4)
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    est = Estimate.of_module(module).totals
    mean = next(op for op in module.walk() if isinstance(op, ReduceOp))
    assert node_cost(mean).cycles == 16
    assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, (est.ii, sim.ii)


class _Rows(torch.nn.Module):
    """A conv, then each row's max over the width (its rows kept) plus the image's sum: reductions over the width."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y.amax(3, keepdim=True) + y.sum((2, 3), keepdim=True)


def test_csim_spatial_row_max_and_sum_bit_exact():
    module = _imported(_Rows())
    _unrolled(module, 4, (ConvOp, SourceOp, ForkOp, ReduceOp))
    top = emit_design(module).files["top.cpp"]
    assert "max over dims [2] of 1x16x16x4, 4 pixels a beat" in top
    assert "sum over dims [1, 2] of 1x16x16x4, 4 pixels a beat" in top
    _exact(module, csim)


def test_explore_auto_gives_the_mean_pixels_where_it_binds():
    """On a U250 the input port (16x16 pixels) binds at one pixel a beat; with more, the mean (8x8) would next."""
    module = _gate(1)
    Explore(platform="u250").apply(make_context(), module)
    mean = next(op for op in module.walk() if isinstance(op, ReduceOp))
    assert mean.int_prop("pixels") > 1
    assert Estimate.of_module(module).totals.ii < 64


class _Act(torch.nn.Module):
    """An activation on the image, then a stride-2 conv: at 2 pixels per beat the map (16x16/2 = 128
    cycles) binds the conv at 8 (18 padded rows x 3 steps = 54) and the output port (8x8 = 64)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(torch.nn.functional.hardswish(x))


def test_spatial_map_binding_the_ii_simulates_as_estimated():
    module = _imported(_Act(), "lower-to-dataflow")
    (act,) = [op for op in module.walk() if isinstance(op, MapOp)]
    _fold(act, coarse=3, pixels=2)
    _fold(next(op for op in module.walk() if isinstance(op, ConvOp)), coarse_in=3, coarse_out=4, fine=9, pixels=8)
    _fold(next(op for op in module.walk() if isinstance(op, SourceOp)), pixels=2)
    module.verify()
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    est = Estimate.of_module(module).totals
    assert est.ii == 128
    assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, (est.ii, sim.ii)


# ---- pools at P pixels per beat

class _Pools(torch.nn.Module):
    """A conv, then a padded 3x3 stride-2 max pool and a 2x2 average pool (a sum pool and a map)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = torch.nn.functional.max_pool2d(self.conv(x), 3, stride=2, padding=1)
        return torch.nn.functional.avg_pool2d(y, 2)


def _unrolled(module, pixels: int, kinds) -> None:
    """Every node of `kinds` at each factor's extent (all channels, the whole kernel), `pixels` capped by
    its widths, weights on chip (no weight-stationary tiles, no Winograd)."""
    for op in module.walk():
        if isinstance(op, kinds):
            extents = op.folding_extents()
            _fold(op, **{k: math.gcd(pixels, e) if k == "pixels" else 1 if k in ("tile", "winograd") else e
                         for k, e in extents.items()})
    module.verify()


def _pools(pixels: int):
    """The pools at 8 bits with every node taking `pixels` whole pixels per beat (capped by its widths)."""
    module = _imported(_Pools())
    _unrolled(module, pixels, (ConvOp, PoolOp, MapOp, SourceOp))
    return module


def test_pool_pixels_divide_cycles():
    module = _pools(1)
    pool = next(op for op in module.walk() if isinstance(op, PoolOp) and op.kind.data == "max")
    assert pool.folding_extents() == {"coarse": 4, "pixels": 8}  # gcd(16 in, 8 out)
    # the padded 18x18 input at one pixel per cycle; at 4 pixels per beat 18 rows x ceil(18/4) = 5 steps
    assert node_cost(pool).cycles == 18 * 18
    assert (node_cost(_fold(pool, pixels=4)).cycles, node_cost(pool).out_lanes) == (18 * 5, 16)
    _fold(pool, coarse=2)
    with pytest.raises(VerifyException, match=r"pixels=4 per beat needs whole pixels \(coarse = 4 channels, got 2\)"):
        module.verify()


def test_csim_spatial_pools_bit_exact():  # P = 4: a beat straddles the left padding (PL % P != 0); P = 2 adds only g++ time
    pixels = 4
    module = _pools(pixels)
    top = emit_design(module).files["top.cpp"]
    assert "dfcc::max_pool_px<" in top and "dfcc::sum_pool_px<" in top
    _exact(module, csim)


def test_spatial_pools_simulate_as_estimated():
    module = _pools(4)
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    est = Estimate.of_module(module).totals
    assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, (est.ii, sim.ii)


# ---- concat, resize and depth_to_space at P pixels per beat

class _Joins(torch.nn.Module):
    """A UNet-style decoder joint: a stride-2 conv, its nearest 2x upsampling and its stride-2
    transposed conv (a 1x1 conv with 4 phases of filters, then depth_to_space), concatenated by
    channel with the full-size branch into the output port."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.down = torch.nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.deconv = torch.nn.ConvTranspose2d(4, 2, 2, stride=2)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        d = self.down(y)
        return torch.cat([y, self.up(d), self.deconv(d)], 1)


def _ops(module, cls):
    return [op for op in module.walk() if isinstance(op, cls)]


def test_joins_pixels_need_whole_pixels_and_divide_cycles():
    module = _imported(_Joins(), "lower-to-dataflow")
    (cat,), (up,), (d2s,) = _ops(module, ConcatOp), _ops(module, ResizeOp), _ops(module, DepthToSpaceOp)
    assert cat.folding_extents() == {"coarse": 2, "side": 2, "pixels": 16}  # gcd(4, 4, 2) channels
    assert up.folding_extents() == {"coarse": 4, "pixels": 8}  # the 8-pixel input width
    assert d2s.folding_extents() == {"coarse": 2, "pixels": 16}
    # 16x16 pixels of 4 + 4 + 2 channels, side by side at coarse = 2: one pixel a cycle, 256; at 4 pixels
    # a beat 64 cycles, 40 lanes out
    assert node_cost(_fold(cat, coarse=2, side=2)).cycles == 256
    assert (node_cost(_fold(cat, pixels=4)).cycles, node_cost(cat).out_lanes) == (64, 40)
    # nearest 8x8 -> 16x16 of 4 channels: 256 output beats of a pixel; at 4 pixels 64, 16 lanes
    assert node_cost(_fold(up, coarse=4)).cycles == 256
    assert (node_cost(_fold(up, pixels=4)).cycles, node_cost(up).out_lanes) == (64, 16)
    # depth_to_space 8x8x(2x2x2) -> 16x16x2: 9 rows (one draining) of 8*8/L beats: 9 * 64 / 2 at L = 2,
    # 9 * 64 / 8 at 4 pixels (L = 8)
    assert node_cost(_fold(d2s, coarse=2)).cycles == 9 * 32
    assert (node_cost(_fold(d2s, pixels=4)).cycles, node_cost(d2s).out_lanes) == (9 * 8, 8)
    # the output port: one 10-channel pixel a cycle, 256; 4 a beat, 64
    (sink,) = _ops(module, SinkOp)
    assert sink.folding_extents() == {"pixels": 16}
    assert (node_cost(sink).cycles, node_cost(_fold(sink, pixels=4)).cycles) == (256, 64)
    assert kind_of(sink).read_lanes(sink, cat.output, producer_lanes=8) == 40
    module.verify()
    for op, bad, message in ((cat, {"side": 1}, r"pixels=4 per beat needs whole pixels \(side = 2, coarse = 2\)"),
                             (up, {"coarse": 2}, r"pixels=4 per beat needs whole pixels \(coarse = 4 channels, got 2\)"),
                             (d2s, {"pixels": 2, "coarse": 1}, r"pixels=2 per beat needs whole pixels \(coarse = 2\) "
                                                               r"and a multiple of SW = 2")):
        good = {k: op.int_prop(k) for k in bad}
        _fold(op, **bad)
        with pytest.raises(VerifyException, match=message):
            module.verify()
        _fold(op, **good)


def _spatial_joins(pixels: int):
    """The joint at 8 bits with every node taking all its channels and `pixels` (capped by its widths)
    whole pixels per beat."""
    module = _imported(_Joins())
    _unrolled(module, pixels, (ConvOp, MapOp, ForkOp, SourceOp, ConcatOp, ResizeOp, DepthToSpaceOp, SinkOp))
    return module


def test_csim_spatial_joins_bit_exact():  # P = 4: depth_to_space takes 2 runs of SW = 2 pixels a beat
    module = _spatial_joins(4)
    (sink,) = _ops(module, SinkOp)
    _fold(sink, pixels=2)  # a port narrower than the concat's beats: a lane converter in front of it
    top = emit_design(module).files["top.cpp"]
    for kernel in ("concat_pixels_px<", "upsample_nearest_px<", "depth_to_space_px<", "lanes<2560, 40, 20>"):
        assert f"dfcc::{kernel}" in top, kernel
    _exact(module, csim)


def test_spatial_joins_simulate_as_estimated():
    module = _spatial_joins(4)
    write_depths(size_fifos(module).depths)
    sim = simulate(module)
    assert not sim.deadlock, sim.describe_deadlock()
    est = Estimate.of_module(module)
    assert abs(est.totals.ii - sim.ii) <= 0.05 * sim.ii, (est.totals.ii, sim.ii)
    # each new stage's schedule (analyses/schedules.py) takes the cycles its cost states
    iterations = {s.name: s.iterations for s in sim.stages}
    cycles = {m.name: c.cycles for m, c in zip(est.network.nodes, est.totals.costs)}
    assert [iterations[n] for n in ("concat0.part1", "concat0.part2", "resize0", "depth_to_space0")] == \
        [cycles["concat0"], cycles["concat0"], cycles["resize0"], cycles["depth_to_space0"]] == [64, 64, 64, 72]


def test_explore_gives_joins_pixels_only_with_spatial():
    """On U250 every channel is unrolled; at one pixel a cycle (spatial=false) the 16x16 full-size stages bind
    (256 cycles plus the padded conv walk, 18 x 18 = 324); with spatial=true, and with auto (the default: the pixel
    rate binds that design), concat, resize and depth_to_space take more than one pixel a beat and the design
    simulates as estimated."""
    module = _imported(_Joins(), "lower-to-dataflow,explore{platform=u250 spatial=false}")
    assert Estimate.of_module(module).totals.ii == 324
    assert {op.int_prop("pixels") for op in _ops(module, (ConcatOp, ResizeOp, DepthToSpaceOp))} == {1}
    for spatial in ("true", "auto"):
        module = _imported(_Joins(), f"lower-to-dataflow,explore{{platform=u250 spatial={spatial}}}")
        est = Estimate.of_module(module).totals
        assert est.ii < 324 / 2
        assert all(op.int_prop("pixels") > 1 for op in _ops(module, (ConcatOp, ResizeOp, DepthToSpaceOp)))
        sim = simulate(module)
        assert not sim.deadlock, sim.describe_deadlock()
        assert abs(est.ii - sim.ii) <= 0.05 * sim.ii, (est.ii, sim.ii)
