"""A tiny LLaMA-style byte-level language model trained on Python's own documentation.

The text is `pydoc_data.topics` (ships with every CPython; the interpreter pinned by the project
fixes its content), as UTF-8 bytes: vocabulary 256, no tokenizer to ship. The topics are taken in
sorted order; the first 90 % of the bytes train, the last 10 % validate (a fixed split).

The model is LLaMA's decoder: RMSNorm, rotary position embeddings on queries and keys, grouped-query
attention (fewer key/value heads than query heads), a SwiGLU MLP, tied input/output embeddings.
About 0.33 M parameters at the defaults; training takes a few minutes on two CPU cores:

    python -m dfcc.examples.tiny_llama [--steps 600]

The trained state dict (~1.3 MB in float32; kept out of git: binary blobs churn with every retraining) is cached under
~/.cache/dfcc, keyed by the configuration, seed and step count; training is deterministic (seeded
torch generator, single-threaded kernels) so a cache miss rebuilds the same weights.

Value heads have their own width (`Attention.v_dim`): FLAT-LLM narrows them without touching the
query/key heads, which keep their rotary width.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "dfcc")
VALIDATION_SHARE = 0.1


@dataclass(frozen=True)
class Config:
    vocab: int = 256  # bytes
    dim: int = 96
    layers: int = 3
    heads: int = 4
    kv_heads: int = 2
    hidden: int = 256  # SwiGLU width
    context: int = 64
    rope_base: float = 10000.0

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def key(self) -> str:
        return "_".join(f"{k}{v}" for k, v in asdict(self).items())


def corpus() -> np.ndarray:
    """Every pydoc topic (sorted by name) as UTF-8 bytes, one uint8 array."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[name] for name in sorted(topics))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def split() -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) bytes: the first 90 % and the last 10 %."""
    data = corpus()
    cut = int(len(data) * (1 - VALIDATION_SHARE))
    return data[:cut], data[cut:]


def windows(data: np.ndarray, context: int, count: int | None = None) -> np.ndarray:
    """Consecutive non-overlapping (context + 1)-byte windows (inputs and next-byte targets)."""
    n = (len(data) - 1) // context
    if count is not None:
        n = min(n, count)
    idx = np.arange(n)[:, None] * context + np.arange(context + 1)[None, :]
    return data[idx].astype(np.int64)


def _modules():
    import torch
    from torch import nn

    from dfcc.examples.models.common import RMSNorm

    def rotate(x, cos, sin):
        """Rotary embedding (LLaMA/NeoX half-split form) on (B, H, S, D)."""
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin

    class Attention(nn.Module):
        def __init__(self, cfg: Config):
            super().__init__()
            self.heads, self.kv_heads, self.head_dim = cfg.heads, cfg.kv_heads, cfg.head_dim
            self.v_dim = cfg.head_dim  # per value head; FLAT-LLM narrows it
            self.wq = nn.Linear(cfg.dim, cfg.heads * cfg.head_dim, bias=False)
            self.wk = nn.Linear(cfg.dim, cfg.kv_heads * cfg.head_dim, bias=False)
            self.wv = nn.Linear(cfg.dim, cfg.kv_heads * self.v_dim, bias=False)
            self.wo = nn.Linear(cfg.heads * self.v_dim, cfg.dim, bias=False)

        def forward(self, x, cos, sin, mask):
            b, s, _ = x.shape
            group = self.heads // self.kv_heads
            q = rotate(self.wq(x).reshape(b, s, self.heads, self.head_dim).transpose(1, 2), cos, sin)
            k = rotate(self.wk(x).reshape(b, s, self.kv_heads, self.head_dim).transpose(1, 2), cos, sin)
            v = self.wv(x).reshape(b, s, self.kv_heads, self.v_dim).transpose(1, 2)
            k = k[:, :, None].expand(b, self.kv_heads, group, s, self.head_dim).reshape(b, self.heads, s, self.head_dim)
            v = v[:, :, None].expand(b, self.kv_heads, group, s, self.v_dim).reshape(b, self.heads, s, self.v_dim)
            scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim) + mask
            out = torch.matmul(torch.softmax(scores, dim=-1), v)
            return self.wo(out.transpose(1, 2).reshape(b, s, self.heads * self.v_dim))

    class MLP(nn.Module):
        def __init__(self, cfg: Config):
            super().__init__()
            self.gate = nn.Linear(cfg.dim, cfg.hidden, bias=False)
            self.up = nn.Linear(cfg.dim, cfg.hidden, bias=False)
            self.down = nn.Linear(cfg.hidden, cfg.dim, bias=False)

        def forward(self, x):
            return self.down(nn.functional.silu(self.gate(x)) * self.up(x))

    class Decoder(nn.Module):
        def __init__(self, cfg: Config):
            super().__init__()
            self.attn_norm, self.attn = RMSNorm(cfg.dim), Attention(cfg)
            self.mlp_norm, self.mlp = RMSNorm(cfg.dim), MLP(cfg)

        def forward(self, x, cos, sin, mask):
            x = x + self.attn(self.attn_norm(x), cos, sin, mask)
            return x + self.mlp(self.mlp_norm(x))

    class TinyLlama(nn.Module):
        """Embedding, decoders, final RMSNorm, tied output head; `hidden_states` for FLAT-LLM."""

        def __init__(self, cfg: Config):
            super().__init__()
            self.cfg = cfg
            self.embed = nn.Embedding(cfg.vocab, cfg.dim)
            nn.init.normal_(self.embed.weight, std=0.02)  # tied head: unit-variance rows would start at huge logits
            self.layers = nn.ModuleList(Decoder(cfg) for _ in range(cfg.layers))
            self.norm = RMSNorm(cfg.dim)
            inv = 1.0 / cfg.rope_base ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float64) / cfg.head_dim)
            angles = torch.arange(cfg.context, dtype=torch.float64)[:, None] * inv[None, :]
            angles = torch.cat((angles, angles), dim=-1)
            self.register_buffer("cos", angles.cos().float(), persistent=False)
            self.register_buffer("sin", angles.sin().float(), persistent=False)
            self.register_buffer("mask", torch.full((cfg.context, cfg.context), torch.finfo(torch.float32).min).triu(1),
                                 persistent=False)

        def decoder_inputs(self, tokens):
            """The embedded tokens and the rotary/mask tensors every decoder takes."""
            s = tokens.shape[1]
            return self.embed(tokens), self.cos[:s], self.sin[:s], self.mask[:s, :s]

        def forward(self, tokens):
            x, cos, sin, mask = self.decoder_inputs(tokens)
            for layer in self.layers:
                x = layer(x, cos, sin, mask)
            return nn.functional.linear(self.norm(x), self.embed.weight)

    return TinyLlama


def build(cfg: Config = Config(), seed: int = 0):
    import torch

    torch.manual_seed(seed)
    return _modules()(cfg)


def train(cfg: Config = Config(), steps: int = 600, seed: int = 0, batch: int = 16, lr: float = 3e-3,
          cache: bool = True, verbose: bool = False):
    """The model trained for `steps` AdamW steps on random training windows (cosine schedule),
    loaded from the cache when there; deterministic given the arguments."""
    import torch

    path = os.path.join(CACHE, f"tiny_llama_{cfg.key()}_s{seed}_n{steps}_b{batch}.pt")
    model = build(cfg, seed)
    if cache and os.path.exists(path):
        model.load_state_dict(torch.load(path))
        return model.eval()
    data = torch.from_numpy(split()[0].astype(np.int64))
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.95))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: min(1.0, (i + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic and polite on a shared machine
    started = time.perf_counter()
    try:
        model.train()
        for step in range(steps):
            starts = torch.randint(0, len(data) - cfg.context - 1, (batch,), generator=generator)
            chunk = data[starts[:, None] + torch.arange(cfg.context + 1)]
            loss = torch.nn.functional.cross_entropy(model(chunk[:, :-1]).flatten(0, 1), chunk[:, 1:].flatten())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            if verbose and (step % 100 == 0 or step == steps - 1):
                print(f"step {step:5d}  loss {loss.item():.3f}  {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    if cache:
        os.makedirs(CACHE, exist_ok=True)
        staged = f"{path}.{os.getpid()}.tmp"
        torch.save(model.state_dict(), staged)
        os.replace(staged, path)
    return model


def perplexity(model, data: np.ndarray | None = None, windows_count: int = 256) -> float:
    """exp(mean next-byte cross entropy) over the first `windows_count` validation windows."""
    import torch

    if data is None:
        data = split()[1]
    chunks = torch.from_numpy(windows(data, model.cfg.context, windows_count))
    total, count = 0.0, 0
    with torch.no_grad():
        for part in chunks.split(64):
            logits = model(part[:, :-1])
            total += torch.nn.functional.cross_entropy(logits.flatten(0, 1), part[:, 1:].flatten(), reduction="sum").item()
            count += part[:, 1:].numel()
    return math.exp(total / count)


def parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = train(Config(), args.steps, args.seed, verbose=True)
    print(f"{parameters(model):,} parameters, validation perplexity {perplexity(model):.3f} "
          f"(bytes; uniform would be 256), {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
