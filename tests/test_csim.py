"""C simulation of the generated HLS project against the CPU reference (the oracle), per example model.

Float designs must agree within 1e-5 (relative to max(1, |reference|)); fixed-point designs
(quantize) must be identical. Each case generates, compiles (once) and runs the project; the
generated files must compile without warnings. Models are imported from PyTorch once per session.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")
pytest.importorskip("hls4ml")

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.backends.hls.csim import csim  # noqa: E402
from dfcc.backends.output import module_text  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.examples.models import MODELS  # noqa: E402
from dfcc.frontends.mlir import make_context, parse_module  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.dialects.dataflow import DSP_SHARE_ATTR, MULT_IMPL_ATTR, NodeOp, StreamType  # noqa: E402
from dfcc.backends.hls.emit import emit_design  # noqa: E402
from dfcc.kinds.cost import node_cost  # noqa: E402
from xdsl.dialects.builtin import IntegerAttr, StringAttr, i64  # noqa: E402
from xdsl.rewriter import Rewriter  # noqa: E402
from dfcc.kinds import KINDS  # noqa: E402
from dfcc.kinds.map import MapOp  # noqa: E402
from tests.hls_unsupported import HLS_CSIM_ELSEWHERE, HLS_UNSUPPORTED  # noqa: E402
from dfcc.passes.registry import get_pass  # noqa: E402

FLOAT = "lower-to-dataflow,explore{platform=zcu102}"
FIXED = "lower-to-dataflow,quantize{weight-bits=8 act-bits=8},explore{platform=zcu102}"

# every example model the HLS backend supports (the others name their unsupported node: test_hls_emit)
FLOAT_MODELS = ["mlp", "cnn", "basic_block", "basic_block_strided", "dwsep", "resnet18_small", "mobilenet_v2_small",
                "mobilenet_v3_small_tiny", "conv_dilated", "conv_groups2", "conv_groups4", "conv_depthwise",
                "conv_depthwise_multiplier", "conv_1x3", "conv_3x1", "conv_5x3", "conv_stride_1x2", "conv_no_bias",
                "conv_same_asym", "conv_stack", "multi_io",
                # depth_to_space (transposed convs by phases), concat, pad, slice, matmul
                "yolo_tiny", "unet", "conv_pad_reflect", "conv_pad_replicate", "conv_pad_circular", "vit_block",
                "llama_block"]
FIXED_MODELS = ["mlp", "cnn", "basic_block_strided", "dwsep", "resnet18_small", "conv_groups4",
                "conv_depthwise_multiplier", "conv_stack", "multi_io",
                "yolo_tiny", "unet", "conv_pad_reflect", "conv_pad_replicate", "conv_pad_circular", "vit_block",
                "llama_block"]  # + mobilenet_v3_small_tiny below

_TEXT: dict[str, str] = {}


def imported(name: str) -> str:
    if name not in _TEXT:
        spec = MODELS[name]
        _TEXT[name] = module_text(import_module(spec.build(), *spec.inputs()))
    return _TEXT[name]


def compiled(name: str, pipeline: str):
    module = parse_module(imported(name))
    ctx = make_context()
    for spec in parse_pipeline(pipeline):
        spec.instantiate(get_pass(spec.name)).apply(ctx, module)
        module.verify()
    return module


def check(name: str, pipeline: str, exact: bool) -> None:
    module = compiled(name, pipeline)
    inputs = [x.numpy() for x in MODELS[name].inputs(seed=1)]
    expected = run_reference(module, inputs)
    result = csim(module, inputs)
    assert result.warnings == [], result.warnings
    assert len(result.outputs) == len(expected)
    for out, ref in zip(result.outputs, expected):
        assert out.shape == ref.shape
        if exact:
            assert np.array_equal(out, ref), f"{np.sum(out != ref)} of {out.size} values differ"
        else:
            error = np.abs(out.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))
            assert error.max() <= 1e-5, error.max()


# the biggest designs (about a minute of g++ each) run only without -m "not slow" (CI runs everything)
SLOW = {"mobilenet_v2_small", "mobilenet_v3_small_tiny", "yolo_tiny"}


def _params(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


@pytest.mark.parametrize("name", _params(FLOAT_MODELS))
def test_float_csim_matches_reference(name):
    check(name, FLOAT, exact=False)


@pytest.mark.parametrize("name", _params(FIXED_MODELS))
def test_fixed_csim_is_bit_exact(name):
    check(name, FIXED, exact=True)


def test_split_multipliers_bit_exact():
    """Convs and the linear layer with a share of their multipliers on DSPs and the rest in fabric
    (`dataflow.dsp_share`, multiply.h split_mul): the same products in the same order, bit-exact."""
    module = compiled("cnn", FIXED)
    split = [op for op in module.walk() if isinstance(op, NodeOp) and op.splits_multipliers()]
    assert {op.name for op in split} == {"dataflow.conv", "dataflow.linear"}
    for op in split:
        op.attributes[MULT_IMPL_ATTR] = StringAttr("lut")
        op.attributes[DSP_SHARE_ATTR] = IntegerAttr(50, i64)
    module.verify()
    top = emit_design(module).files["top.cpp"]
    # half of each node's multipliers (as the estimate counts them) on DSPs
    assert top.count("dfcc::split_mul<") == len(split)
    for op in split:
        assert f"dfcc::split_mul<{node_cost(op).multipliers // 2}>" in top
    inputs = [x.numpy() for x in MODELS["cnn"].inputs(seed=1)]
    result = csim(module, inputs)
    assert result.warnings == [], result.warnings
    for out, ref in zip(result.outputs, run_reference(module, inputs)):
        assert np.array_equal(out, ref), f"{np.sum(out != ref)} of {out.size} values differ"


def test_fabric_map_multipliers_bit_exact():
    """Maps whose exact bodies multiply, with `mult_impl = lut`: every product pinned to fabric (BIND_OP
    impl=fabric, as the estimate costs it: no DSP), the same numbers."""
    module = compiled("vit_block", FIXED)
    maps = [op for op in module.walk() if isinstance(op, MapOp) and node_cost(op).mult_lut]
    assert maps
    for op in maps:
        op.attributes[MULT_IMPL_ATTR] = StringAttr("lut")
    module.verify()
    assert all(node_cost(op).dsp == 0 for op in maps)
    top = emit_design(module).files["top.cpp"]
    products = sum(o.name == "arith.mulf" for op in maps for o in op.body.block.ops)
    assert top.count("op=mul impl=fabric") == products
    inputs = [x.numpy() for x in MODELS["vit_block"].inputs(seed=1)]
    result = csim(module, inputs)
    assert result.warnings == [], result.warnings
    for out, ref in zip(result.outputs, run_reference(module, inputs)):
        assert np.array_equal(out, ref), f"{np.sum(out != ref)} of {out.size} values differ"


def test_uram_fifos_bit_exact():
    """Skip FIFOs bound to URAM (`dataflow.stream` memory, BIND_STORAGE type=fifo): C simulation does not model
    storage, but the bound design must compile and compute the same."""
    module = compiled("basic_block_strided", FIXED)
    deep = [v for op in module.walk() for v in op.results if isinstance(v.type, StreamType) and v.type.depth.data > 2]
    assert deep
    for value in deep:
        Rewriter.replace_value_with_new_type(value, value.type.with_memory("uram"))
    module.verify()
    assert emit_design(module).files["top.cpp"].count("type=fifo impl=uram") == len(deep)
    inputs = [x.numpy() for x in MODELS["basic_block_strided"].inputs(seed=1)]
    result = csim(module, inputs)
    assert result.warnings == [], result.warnings
    for out, ref in zip(result.outputs, run_reference(module, inputs)):
        assert np.array_equal(out, ref), f"{np.sum(out != ref)} of {out.size} values differ"


@pytest.mark.parametrize("name,options", [
    # hardswish/hardsigmoid tables of 12-bit inputs, squeeze-excitation broadcast multiply, per-channel weights
    ("mobilenet_v3_small_tiny", "weight-bits=4 act-bits=12 per-channel=true"),
    ("cnn", "weight-bits=6 act-bits=10 rounding=rnd overflow=sat"),
    ("cnn", "weight-bits=8 act-bits=8 rounding=rnd_conv override=conv1:acc18"),  # a narrowed, wrapping accumulator
    ("cnn", "weight-bits=16 act-bits=16"),  # 16-bit ReLUs compared in ap_fixed (map_kind exact), not 64 Ki-word tables
])
def test_fixed_number_options_bit_exact(name, options):
    check(name, f"lower-to-dataflow,quantize{{{options}}}", exact=True)


def test_csim_models_reach_every_hls_kind():
    """Every node kind the HLS backend builds is in a model above, float and fixed point, so csim ==
    reference holds per kind (tests/test_kinds.py checks the others say they are not built)."""
    def reached(names):
        return {type(op) for name in names if name not in SLOW
                for op in compiled(name, "lower-to-dataflow").walk() if isinstance(op, NodeOp)}

    expected = set(KINDS) - set(HLS_UNSUPPORTED) - set(HLS_CSIM_ELSEWHERE)
    assert reached(FLOAT_MODELS) >= expected, sorted(c.name for c in expected - reached(FLOAT_MODELS))
    assert reached(FIXED_MODELS) >= expected, sorted(c.name for c in expected - reached(FIXED_MODELS))
