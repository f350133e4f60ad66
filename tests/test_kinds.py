"""The node-kind registry is complete: every kind is in the dialect and has every facet (or says
plainly it has none), the cost model's folding is the one the kind states, and the lanes its HLS
stage realises are the ones the kind states and the cost model counts.

Sample nodes come from the lit tests' inputs, lowered where they are linalg, so every kind is
checked on real IR without building models. That each kind's HLS code computes what the CPU
reference does (csim == reference, bit for bit in fixed point) is tests/test_csim.py, whose models
reach every kind the HLS backend supports (`test_csim_models_reach_every_hls_kind` there)."""

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from dfcc.dialects.dataflow import TILE_LUTRAM_ATTR, NodeOp, StreamType, drop_stream_orders, int_array
from dfcc.dialects.fixed_point import cast, fixed_of
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from xdsl.dialects.builtin import IntegerAttr, IntegerType, i64

from dfcc.analyses.schedules import Pipeline
from dfcc.backends.hls.emit import Emitter
from dfcc.backends.hls.toolchain import INCLUDE_DIR
from dfcc.kinds import (
    KINDS, Dataflow, NodeKind, SinkOp, SourceOp, SparseWeightsOp, WeightsOp, YieldOp, kind_of,
)
from tests.hls_unsupported import HLS_UNSUPPORTED
from dfcc import kinds
from dfcc.kinds.cost import describe
from dfcc.kinds.window import WindowOp
from dfcc.passes.lower_to_dataflow import LowerToDataflow
from dfcc.passes.quantize import Quantize

LIT = Path(__file__).resolve().parent.parent / "lit_tests"
FACETS = ("cost", "run_float", "run_fixed", "stream_lanes", "emit_hls")


# A slice, which no lit input has yet.
SLICE = """
func.func @main(%a: tensor<1x8xf32>) -> tensor<1x3xf32> {
  %s = dataflow.source %a {name = "input0", perm = array<i64: 0, 1>} : (tensor<1x8xf32>) -> !dataflow.stream<1x8xf32>
  %c = dataflow.slice %s {name = "slice0", offsets = array<i64: 0, 1>, strides = array<i64: 1, 2>} : (!dataflow.stream<1x8xf32>) -> !dataflow.stream<1x3xf32>
  %t = dataflow.sink %c {name = "output0", perm = array<i64: 0, 1>} : (!dataflow.stream<1x3xf32>) -> tensor<1x3xf32>
  func.return %t : tensor<1x3xf32>
}
"""


def _modules(quantized: bool = False) -> list:
    modules = []
    texts = [(str(path), path.read_text()) for path in sorted(LIT.glob("*/*.mlir"))] + [("slice", SLICE)]
    for path, text in texts:
        try:
            module = parse_module(text, path)
            if any(op.name.startswith("linalg.") for op in module.walk()):
                LowerToDataflow().apply(make_context(), module)
            if quantized:
                with contextlib.redirect_stderr(io.StringIO()):  # its calibration remarks
                    Quantize(samples=1).apply(make_context(), module)
        except DfccError:
            continue  # the error tests' inputs (and graphs quantize refuses)
        modules.append(module)
    return modules


def _nodes(modules: list) -> dict[type, list[NodeOp]]:
    nodes: dict[type, list[NodeOp]] = {}
    for module in modules:
        for op in module.walk():
            if isinstance(op, NodeOp):
                nodes.setdefault(type(op), []).append(op)
    return nodes


MODULES = _modules()
SAMPLES = _nodes(MODULES)
QUANTIZED = _nodes(_modules(quantized=True))


def test_dialect_is_assembled_from_the_registry():
    assert set(Dataflow.operations) == set(KINDS) | {YieldOp}
    for op_class, nodes in SAMPLES.items():
        assert KINDS[op_class].op is op_class
        assert all(kind_of(node) is KINDS[op_class] for node in nodes)


def test_samples_reach_every_kind():
    assert set(SAMPLES) == set(KINDS), f"no sample of {sorted(k.name for k in set(KINDS) - set(SAMPLES))}"


def test_unknown_op_is_a_clear_error():
    (func_op,) = [op for op in parse_module("func.func @main() {\n func.return\n}").walk() if op.name == "func.func"]
    with pytest.raises(DfccError, match="'func.func' is not a dataflow node kind"):
        kind_of(func_op)


def test_ints_prop_reads_a_property_set_again():
    """ints_prop keeps an array's values on the attribute: a pass setting a new array is read, the same text prints."""
    (op,) = [op for op in parse_module(SLICE).walk() if op.name == "dataflow.slice"]
    assert op.ints_prop("strides") == (1, 2) and op.ints_prop("strides") == (1, 2)
    op.properties["strides"] = int_array([1, 3])
    assert op.ints_prop("strides") == (1, 3)
    assert "strides = array<i64: 1, 3>" in str(op) and op.properties["strides"] == int_array([1, 3])


@pytest.mark.parametrize("op_class", list(KINDS), ids=lambda c: c.name)
@pytest.mark.parametrize("facet", FACETS)
def test_every_kind_has_every_facet(op_class, facet):
    kind = KINDS[op_class]
    if getattr(type(kind), facet) is not getattr(NodeKind, facet):
        return
    pytest.fail(f"{op_class.name} has no '{facet}' facet")


@pytest.mark.parametrize("op_class", [WeightsOp, SparseWeightsOp], ids=lambda c: c.name)
def test_weights_say_they_have_no_cost_of_their_own(op_class):
    with pytest.raises(DfccError, match="have no cost of their own"):
        describe(SAMPLES[op_class][0])


@pytest.mark.parametrize("op_class", [c for c in KINDS if c not in (WeightsOp, SparseWeightsOp)], ids=lambda c: c.name)
def test_cost_model_folds_as_the_kind_states(op_class):
    for op in SAMPLES[op_class]:
        model = describe(op)
        extents = op.folding_extents()
        assert (model.factors, model.extents) == (tuple(extents), tuple(extents.values()))
        partial = op.partial_factors()
        for folding in model.folding_options()[:8]:
            assert all(extent % factor == 0 or (name in partial and factor <= extent)
                       for name, factor, extent in zip(model.factors, folding, model.extents))
            assert model.cost(folding).cycles >= 0


@pytest.mark.parametrize("op_class", [c for c in KINDS if c not in (WeightsOp, SparseWeightsOp)], ids=lambda c: c.name)
def test_the_foldings_explore_weighs_verify(op_class):
    """A folding the cost model offers (the fastest ones: most lanes and pixels) is one the verifier accepts, so a
    design explore picks is one every backend can trust."""
    for op in SAMPLES[op_class]:
        # the folding alone: the sample's other choices (multipliers split, tile memories placed) go with its own
        written, chosen = dict(op.properties), dict(op.attributes)
        op.attributes.clear()
        for folding in describe(op).folding_options()[-8:]:
            for name, factor in zip(op.folding_extents(), folding):
                op.properties[name] = IntegerAttr(factor, i64)
            op.verify()
        op.properties.clear()
        op.properties.update(written)
        op.attributes.update(chosen)


def _operand_values(op: NodeOp, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Values for a node's operands: the constants it reads, random inputs and streams (on their
    formats' grids)."""
    values = []
    for operand in op.operands:
        if isinstance(operand.type, StreamType) and isinstance(operand.type.element_type, IntegerType):
            values.append(rng.integers(0, 2, operand.type.get_shape()))  # token ids: rows of any table
        elif type(operand.owner) not in KINDS or isinstance(operand.type, StreamType):
            value = rng.standard_normal(operand.type.get_shape())
            fmt = fixed_of(operand)
            values.append(cast(value, fmt) if fmt is not None else value.astype(np.float32))
        else:
            (value,) = kind_of(operand.owner).run_float(operand.owner, ())
            values.append(value)
    return tuple(values)


@pytest.mark.parametrize("op_class", list(KINDS), ids=lambda c: c.name)
@pytest.mark.parametrize("semantics", ["run_float", "run_fixed"])
def test_semantics_give_every_result_its_shape_and_grid(op_class, semantics):
    rng = np.random.default_rng(0)
    for op in SAMPLES[op_class] + QUANTIZED.get(op_class, []):
        results = getattr(kind_of(op), semantics)(op, _operand_values(op, rng))
        assert [np.shape(r) for r in results] == [tuple(r.type.get_shape()) for r in op.results]
        for value, result in zip(results, op.results):
            fmt = fixed_of(result) if semantics == "run_fixed" else None
            assert fmt is None or np.array_equal(cast(value, fmt), value), "a fixed-point result off its grid"


def test_quantized_samples_reach_the_fixed_point_semantics():
    fixed = {c for c, ops in QUANTIZED.items() if any(fixed_of(r) for op in ops for r in op.results)}
    assert {c.name for c in fixed} >= {"dataflow.conv", "dataflow.linear", "dataflow.pool", "dataflow.map",
                                       "dataflow.reduce", "dataflow.matmul", "dataflow.source"}


@pytest.mark.parametrize("op_class", HLS_UNSUPPORTED, ids=lambda c: c.name)
def test_hls_says_which_kinds_it_does_not_build(op_class):
    op = SAMPLES[op_class][0]
    with pytest.raises(DfccError, match=f"{op_class.name} .*: this node kind is not supported by the HLS backend yet"):
        kind_of(op).emit_hls(Emitter(op.get_toplevel_object()), op)


@pytest.mark.parametrize("op_class", [WeightsOp, SparseWeightsOp, SourceOp, SinkOp], ids=lambda c: c.name)
def test_ports_and_constants_say_they_have_no_lanes_of_their_own(op_class):
    op = SAMPLES[op_class][0]
    with pytest.raises(DfccError, match="lanes"):
        kind_of(op).stream_lanes(op)


def _fold(module, choose, spatial: bool = True) -> None:
    """Set every folding factor of every node to `choose(extent)` (a divisor of it); `pixels` to 1
    unless `spatial` (more than one pixel per beat needs whole pixels: every channel in one beat), a
    conv's `tile` to 1 when `spatial`, grouped or splitting its multipliers (weight-stationary tiles:
    ungrouped, one pixel per beat, all multipliers of one kind); both to 1 when the node's line buffer
    lives in DRAM (ddr_rows.h reads one pixel per beat); `winograd` to 1 beside either or a `fine` not a whole
    number of kernel rows (conv_mac_wino's products). Every stream pixel-major: a tile-major one needs the tiles and
    lanes it was written for; no `dataflow.tile_lutram` on a conv left without tiles."""
    drop_stream_orders(module)
    for op in module.walk():
        if isinstance(op, NodeOp):
            dram_rows = isinstance(op, WindowOp) and op.line_buffer_off_chip()
            for factor, extent in op.folding_extents().items():
                off = (factor == "pixels" and (not spatial or dram_rows)
                       or factor == "tile" and (spatial or dram_rows or op.int_prop("groups") > 1
                                                or op.dsp_share() not in (0, 100))
                       or factor == "winograd" and (op.int_prop("pixels") > 1 or op.int_prop("tile") > 1
                                                    or op.int_prop("fine") % 3 != 0))
                op.properties[factor] = IntegerAttr(1 if off else choose(extent), i64)
            if op.folding().get("tile", 1) == 1:
                op.attributes.pop(TILE_LUTRAM_ATTR, None)  # a place of tile memories needs tiles (apply_design)
    module.verify()


def _hls_modules():
    """The (small) lit inputs the HLS backend builds, fully folded (at the most pixels per beat)
    and half folded (one pixel per beat)."""
    for module in MODULES:
        if any(isinstance(op, HLS_UNSUPPORTED) or (isinstance(op, WeightsOp) and op.output.type.element_count() > 4096)
               for op in module.walk()):
            continue  # not built, or ROM text too big for a quick test
        for choose, spatial in ((lambda e: e, True), (lambda e: e // 2 if e % 2 == 0 else 1, False)):
            folded = module.clone()
            _fold(folded, choose, spatial=spatial)
            emitter = Emitter(folded)
            try:
                emitter.run()
            except DfccError:
                break  # a node the backend rejects (and says so: test_hls_emit)
            yield folded, emitter


def test_hls_lanes_are_the_kinds_and_the_cost_models():
    """Each node's output streams in the HLS design have the lanes its kind states, and the cost
    model and the cycle-level schedules count the same."""
    checked = set()
    for module, emitter in _hls_modules():
        pipeline = Pipeline.of_module(module)
        for op in module.walk():
            if not isinstance(op, NodeOp) or isinstance(op, (WeightsOp, SparseWeightsOp, SourceOp, SinkOp)):
                continue
            _, lanes = kind_of(op).stream_lanes(op)
            for result in op.results:
                assert emitter.streams[result].lanes == pipeline.producer_lanes(result) == lanes, op
            assert describe(op).cost(tuple(op.folding().values())).out_lanes == lanes, op
            checked.add(type(op))
    assert checked >= {kinds.ConvOp, kinds.LinearOp, kinds.PoolOp, kinds.MapOp, kinds.ReduceOp, kinds.ForkOp,
                       kinds.MatmulOp, kinds.ConcatOp, kinds.PadOp, kinds.ResizeOp, kinds.DepthToSpaceOp}, sorted(c.name for c in checked)


@pytest.mark.parametrize("op_class", list(KINDS), ids=lambda c: c.name)
def test_kernel_headers_a_kind_names_ship_with_the_backend(op_class):
    for header in KINDS[op_class].hls_headers:
        assert (INCLUDE_DIR / "dfcc" / header).is_file(), header
