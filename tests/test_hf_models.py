"""Hugging Face transformers (small configs, random init) through import -> lower -> CPU reference vs PyTorch.

Token-id models stop at the embedding lookup (no embedding node kind yet) with a clear diagnostic;
their `*_embeds` twins (embedded tokens in) run the rest of the model: causal masks, rotary tables,
grouped-query attention. ViT covers the class-token concatenation.
"""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")
pytest.importorskip("transformers")

from dfcc.errors import DfccError  # noqa: E402
from tests.hf_models import HF_MODELS, VOCAB  # noqa: E402
from tests.torch_differential import assert_matches_torch, lowered_vs_torch  # noqa: E402

TOKEN_MODELS = [name for name, (_, _, dtype) in HF_MODELS.items() if dtype == torch.int64]


def _example(name: str) -> tuple[torch.nn.Module, torch.Tensor]:
    factory, shape, dtype = HF_MODELS[name]
    torch.manual_seed(0)
    x = torch.randint(0, VOCAB, shape) if dtype == torch.int64 else torch.randn(shape)
    return factory(), x


@pytest.mark.parametrize("name", [n for n in HF_MODELS if n not in TOKEN_MODELS])
def test_matches_pytorch(name):
    assert_matches_torch(*_example(name))


@pytest.mark.parametrize("name", TOKEN_MODELS)
def test_token_ids_stop_at_the_embedding_lookup_with_a_clear_message(name):
    with pytest.raises(DfccError, match="needs an embedding node kind"):
        lowered_vs_torch(*_example(name))
