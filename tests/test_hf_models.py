"""Hugging Face transformers (small configs, random init) through import -> lower -> CPU reference vs PyTorch.

Token-id models (GPT-2, LLaMA with rotary tables and grouped-query attention, BERT) start with an
embedding node; their `*_embeds` twins take the embedded tokens; ViT covers the class-token
concatenation. The token models also quantize, explore for the U250 and emit HLS, and the C
simulation of quantized GPT-2 is bit-exact against the CPU reference.
"""

import contextlib
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")
pytest.importorskip("transformers")

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.backends.hls.emit import emit_design  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.kinds import EmbeddingOp, MapOp, MatmulOp, ReduceOp, TransposeOp  # noqa: E402
from dfcc.passes.lower_to_dataflow import LowerToDataflow  # noqa: E402
from dfcc.passes.registry import get_pass  # noqa: E402
from tests.hf_models import HEADS, HF_MODELS, HIDDEN, LAYERS, VOCAB  # noqa: E402
from tests.torch_differential import assert_matches_torch  # noqa: E402

TOKEN_MODELS = [name for name, (_, _, dtype) in HF_MODELS.items() if dtype == torch.int64]
PIPELINE = "lower-to-dataflow,quantize{weight-bits=8 act-bits=8},explore{platform=u250}"


def _example(name: str) -> tuple[torch.nn.Module, torch.Tensor]:
    factory, shape, dtype = HF_MODELS[name]
    torch.manual_seed(0)
    x = torch.randint(0, VOCAB, shape) if dtype == torch.int64 else torch.randn(shape)
    return factory(), x


@pytest.mark.parametrize("name", list(HF_MODELS))
def test_matches_pytorch(name):
    assert_matches_torch(*_example(name))


def test_vit_tokens_stream_without_layout_round_trips():
    """The patch embedding's NHWC output is already the token stream: no transpose reads the conv,
    layer norms reduce the innermost (channel) dim, and attention reads its heads token-major: the
    head splits are index mappings inside the matmuls (Kᵀ and V buffered there, Kᵀ read
    column-wise), the head merge a relabelling, so no whole-tensor transpose is left."""
    model, x = _example("vit")
    module = import_module(model.eval(), x)
    LowerToDataflow().apply(make_context(), module)
    assert not [op for op in module.walk() if isinstance(op, TransposeOp)]
    matmuls = [op for op in module.walk() if isinstance(op, MatmulOp)]
    assert [op.rhs_order() for op in matmuls] == [(2, 0, 1), (1, 0, 2)] * LAYERS  # (tokens, heads, dim): Kᵀ, V
    assert all(op.stage_dims()[2] == HEADS for op in matmuls)
    reduces = [op for op in module.walk() if isinstance(op, ReduceOp)]
    assert reduces and all(op.ints_prop("dims") == (len(op.input.type.get_shape()) - 1,) for op in reduces)


def test_llama_repeated_kv_heads_stream_token_major():
    """Grouped-query attention repeats each of LLaMA's 2 K/V heads for 2 query heads (an expand). The
    repeat streams token-major, each head's row repeated beside it, so K and V are not transposed
    and the matmuls read all 4 heads token-major, as for the other models."""
    model, x = _example("llama_embeds")
    module = import_module(model.eval(), x)
    LowerToDataflow().apply(make_context(), module)
    assert not [op for op in module.walk() if isinstance(op, TransposeOp)]
    matmuls = [op for op in module.walk() if isinstance(op, MatmulOp)]
    assert [op.rhs_order() for op in matmuls] == [(2, 0, 1), (1, 0, 2)] * LAYERS
    assert all(op.stage_dims()[2] == HEADS for op in matmuls)
    repeats = [op.output.type.get_shape() for op in module.walk() if isinstance(op, MapOp)
               and all(v.type.get_shape() != op.output.type.get_shape() for v in op.inputs)]
    # (batch, tokens, K/V heads, repeats, head dim): a row of 8 words repeated, not a head's 16 tokens
    assert repeats == [(1, 16, 2, 2, HIDDEN // HEADS)] * 2 * LAYERS


def _compiled(name: str):
    model, x = _example(name)
    module = import_module(model.eval(), x)
    ctx = make_context()
    with contextlib.redirect_stderr(io.StringIO()):  # calibration remarks
        for spec in parse_pipeline(PIPELINE):
            spec.instantiate(get_pass(spec.name)).apply(ctx, module)
    module.verify()
    return module, x


@pytest.mark.parametrize("name", TOKEN_MODELS)
def test_token_models_quantize_explore_and_emit_hls(name):
    module, x = _compiled(name)
    (embedding,) = [op for op in module.walk() if isinstance(op, EmbeddingOp)]
    assert embedding.table.owner.format is not None  # quantized like weights
    design = emit_design(module)
    assert f"stage_{embedding.node_name.data}(" in design.files["top.cpp"]
    assert design.inputs[0].elem == "ap_int<64>"
    (output,) = run_reference(module, [x.numpy()])
    assert output.shape == (1, 16, VOCAB if name != "bert" else 32) and np.isfinite(output).all()


@pytest.mark.slow
def test_quantized_gpt2_csim_is_bit_exact():
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.csim import csim

    module, x = _compiled("gpt2")
    expected = run_reference(module, [x.numpy()])
    result = csim(module, [x.numpy()])
    assert result.warnings == []
    assert np.array_equal(result.outputs[0], expected[0])
