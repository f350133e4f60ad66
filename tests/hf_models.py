"""Hugging Face `transformers` models from small configs (random init), as dfcc-import factories.

`dfcc-import tests/hf_models.py:vit --shape 1,3,16,16`; token models take ids (`--shape 1,16:i64`),
their `*_embeds` twins take the embedded tokens (`--shape 1,16,32`) and so skip the embedding lookup.
`python -m tests.hf_models` prints what each one does today (needs the `zoo` extra).
"""

import torch
from torch import nn

try:
    from tests.torchvision_cpu import load_torchvision
except ImportError:  # loaded by dfcc-import as a file, beside it
    from torchvision_cpu import load_torchvision

load_torchvision()  # before transformers, whose vision models import it
transformers = __import__("transformers")

HIDDEN, HEADS, LAYERS, VOCAB, POSITIONS = 32, 4, 2, 64, 32


class Output(nn.Module):
    """The model with one tensor out (logits or last hidden state), fed ids, embeddings or pixels."""

    def __init__(self, model: nn.Module, output: str, embeds: bool = False):
        super().__init__()
        self.model, self.output, self.embeds = model, output, embeds

    def forward(self, x):
        out = self.model(inputs_embeds=x) if self.embeds else self.model(x)
        return getattr(out, self.output)


def _eager(config):
    config._attn_implementation = "eager"
    return config


def _gpt2_config():
    return _eager(transformers.GPT2Config(n_layer=LAYERS, n_head=HEADS, n_embd=HIDDEN, vocab_size=VOCAB, n_positions=POSITIONS,
                                          bos_token_id=0, eos_token_id=0))


def _llama_config():
    return _eager(transformers.LlamaConfig(num_hidden_layers=LAYERS, num_attention_heads=HEADS, num_key_value_heads=2,
                                           hidden_size=HIDDEN, intermediate_size=64, vocab_size=VOCAB,
                                           max_position_embeddings=POSITIONS, bos_token_id=0, eos_token_id=0))


def _bert_config():
    return _eager(transformers.BertConfig(num_hidden_layers=LAYERS, num_attention_heads=HEADS, hidden_size=HIDDEN,
                                          intermediate_size=64, vocab_size=VOCAB, max_position_embeddings=POSITIONS))


def gpt2():
    return Output(transformers.GPT2LMHeadModel(_gpt2_config()), "logits")


def gpt2_embeds():
    return Output(transformers.GPT2Model(_gpt2_config()), "last_hidden_state", embeds=True)


def llama():
    return Output(transformers.LlamaForCausalLM(_llama_config()), "logits")


def llama_embeds():
    return Output(transformers.LlamaModel(_llama_config()), "last_hidden_state", embeds=True)


def bert():
    return Output(transformers.BertModel(_bert_config(), add_pooling_layer=False), "last_hidden_state")


def bert_embeds():
    return Output(transformers.BertModel(_bert_config(), add_pooling_layer=False), "last_hidden_state", embeds=True)


def vit():
    config = _eager(transformers.ViTConfig(num_hidden_layers=LAYERS, num_attention_heads=HEADS, hidden_size=HIDDEN,
                                           intermediate_size=64, image_size=16, patch_size=4, num_channels=3))
    return Output(transformers.ViTModel(config, add_pooling_layer=False), "last_hidden_state")


def deit_tiny():
    """DeiT-tiny's shapes (192 wide, 3 heads, 16 px patches of 224 px: 196 tokens + class and distillation
    tokens), two of its twelve layers."""
    config = _eager(transformers.DeiTConfig(num_hidden_layers=LAYERS, num_attention_heads=3, hidden_size=192,
                                            intermediate_size=768, image_size=224, patch_size=16, num_channels=3))
    return Output(transformers.DeiTModel(config, add_pooling_layer=False), "last_hidden_state")


# name: (factory, input shape, input dtype)
HF_MODELS = {
    "gpt2": (gpt2, (1, 16), torch.int64), "gpt2_embeds": (gpt2_embeds, (1, 16, HIDDEN), torch.float32),
    "llama": (llama, (1, 16), torch.int64), "llama_embeds": (llama_embeds, (1, 16, HIDDEN), torch.float32),
    "bert": (bert, (1, 16), torch.int64), "bert_embeds": (bert_embeds, (1, 16, HIDDEN), torch.float32),
    "vit": (vit, (1, 3, 16, 16), torch.float32),
}


def main() -> None:
    """`python -m tests.hf_models`: each model through import -> lower -> CPU reference, as a table."""
    import numpy as np

    from dfcc.errors import DfccError
    from tests.torch_differential import lowered_vs_torch

    print(f"{'model':14} {'result':60}")
    for name, (factory, shape, dtype) in HF_MODELS.items():
        torch.manual_seed(0)
        x = torch.randint(0, VOCAB, shape) if dtype == torch.int64 else torch.randn(shape)
        try:
            outputs, expected = lowered_vs_torch(factory(), x)
            error = max(float(np.abs(o - e).max() / max(np.abs(e).max(), 1e-30)) for o, e in zip(outputs, expected))
            result = f"matches PyTorch, rel. err {error:.1e}"
        except DfccError as failure:
            result = "blocked: " + str(failure).splitlines()[-1].strip()[:200]
        print(f"{name:14} {result}")


if __name__ == "__main__":
    main()
