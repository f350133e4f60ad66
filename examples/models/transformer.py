"""Transformer blocks with attention written out as explicit (batched) matmuls and softmax.

Both take a sequence (1, 16, 64): 16 tokens of width 64, 4 heads of 16.
"""

import math

import torch
from torch import nn

from dfcc.examples.models.common import RMSNorm, finish

SEQ, DIM, HEADS = 16, 64, 4


def _split_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, S, D) -> (B, H, S, D/H)."""
    b, s, _ = x.shape
    return x.reshape(b, s, HEADS, DIM // HEADS).transpose(1, 2)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) [+ mask]) v, heads merged back to (B, S, D)."""
    scores = torch.matmul(_split_heads(q), _split_heads(k).transpose(-2, -1)) / math.sqrt(DIM // HEADS)
    if mask is not None:
        scores = scores + mask
    out = torch.matmul(torch.softmax(scores, dim=-1), _split_heads(v))
    b, h, s, d = out.shape
    return out.transpose(1, 2).reshape(b, s, h * d)


class ViTBlock(nn.Module):
    """Pre-norm ViT encoder block: x + MHSA(LN(x)), then x + MLP(LN(x)) with GELU."""

    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(DIM)
        self.qkv = nn.Linear(DIM, 3 * DIM)
        self.proj = nn.Linear(DIM, DIM)
        self.norm2 = nn.LayerNorm(DIM)
        self.mlp = nn.Sequential(nn.Linear(DIM, 4 * DIM), nn.GELU(), nn.Linear(4 * DIM, DIM))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        x = x + self.proj(_attend(q, k, v))
        return x + self.mlp(self.norm2(x))


class LlamaBlock(nn.Module):
    """LLaMA decoder block without rotary embeddings: RMSNorm, causal MHSA, SiLU-gated MLP."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.attn_norm = RMSNorm(DIM)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(DIM, DIM, bias=False) for _ in range(4))
        self.mlp_norm = RMSNorm(DIM)
        self.gate = nn.Linear(DIM, hidden, bias=False)
        self.up = nn.Linear(DIM, hidden, bias=False)
        self.down = nn.Linear(hidden, DIM, bias=False)
        # Additive causal mask; HF LLaMA uses the dtype's minimum rather than -inf.
        self.register_buffer("mask", torch.full((SEQ, SEQ), torch.finfo(torch.float32).min).triu(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.attn_norm(x)
        x = x + self.wo(_attend(self.wq(h), self.wk(h), self.wv(h), self.mask))
        h = self.mlp_norm(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


def vit_block() -> nn.Module:
    torch.manual_seed(0)
    return finish(ViTBlock())


def llama_block() -> nn.Module:
    torch.manual_seed(0)
    return finish(LlamaBlock())
