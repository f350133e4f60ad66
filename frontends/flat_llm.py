"""FLAT-LLM (arXiv 2505.23966): training-free structural compression of a LLaMA-style model before import.

Steps, as the authors' code (TTTTTTris/FLAT-LLM) does them:
1. importance t_l of decoder l: the mean over calibration tokens of arccos(cos(h_in, h_out))/pi
   (the cosine clamped to [0, 1]);
2. keep ratios phi_l proportional to t_l with mean r, any above 1 capped and the surplus spread
   over the others (`allocate`); r is chosen so the decoders' linear weights shrink by `cut`
   (Q and K are not touched, so r = 1 - cut * all / compressible);
3. attention, per key/value head: the top floor(phi*d_h) eigenvectors Q_h of sum v v^T over the
   value projection's outputs (uncentred, float64) narrow the head: W_v,h <- Q_h^T W_v,h and, for
   every query head reading it, W_o,h <- W_o,h Q_h;
4. MLP: keep the floor(phi*d_ff) neurons with the largest ridge leverage diag(C (C + I)^-1),
   C = sum z z^T over the down projection's inputs; their gate/up rows stay, and
   W_down <- W_down C[:, S] C[S, S]^-1 (the least-squares map from the kept neurons to all);
5. decoders are compressed in order, each calibrated on the outputs of those already compressed
   (both statistics of a decoder come from one pass over its uncompressed self, as in the code).

Why on the PyTorch model and not a dfcc pass over the dataflow IR: every step needs the model's
structure, which lowering dissolves. Decoder boundaries (for t_l), which linear is the value or
output projection, the head partition and which query heads share a key/value head are gone once
attention is linears, reshapes, transposes and matmuls; and the calibration runs the float model on
hundreds of sequences, decoder by decoder. The compressed model is an ordinary PyTorch model with
narrower linears, which `dfcc-import` then lowers like any other.

The model protocol (that of `examples/tiny_llama`): `model.decoder_inputs(tokens) -> (x, *extra)`,
`model.layers[i](x, *extra)`; each decoder has `attn_norm`, `attn` (`wq wk wv wo` linears, `heads`,
`kv_heads`, `head_dim`, `v_dim`), `mlp_norm` and `mlp` (`gate up down` linears).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dfcc.errors import DfccError


def angular_importance(h_in: np.ndarray, h_out: np.ndarray) -> float:
    """Mean over tokens (rows) of arccos(cos(h_in, h_out)) / pi, the cosine clamped to [0, 1]."""
    a, b = h_in.reshape(-1, h_in.shape[-1]).astype(np.float64), h_out.reshape(-1, h_out.shape[-1]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    cos = np.clip(np.nan_to_num(cos, nan=0.5), 0.0, 1.0)
    return float(np.mean(np.arccos(cos) / math.pi))


def allocate(importance: np.ndarray, mean_ratio: float) -> np.ndarray:
    """Keep ratios proportional to `importance` with mean `mean_ratio`, capped at 1 (the surplus of
    a capped layer is spread over the others in proportion to their importance)."""
    t = np.maximum(np.asarray(importance, dtype=np.float64), 1e-12)
    if not 0 < mean_ratio <= 1:
        raise DfccError(f"flat-llm: mean keep ratio {mean_ratio:.3g} must be in (0, 1]")
    budget = mean_ratio * len(t)
    ratios = np.zeros_like(t)
    free = np.ones(len(t), dtype=bool)
    while True:
        ratios[free] = t[free] / t[free].sum() * (budget - ratios[~free].sum())
        over = free & (ratios > 1)
        if not over.any():
            return ratios
        ratios[over] = 1.0
        free &= ~over


def value_basis(values: np.ndarray, keep: int) -> np.ndarray:
    """The top `keep` eigenvectors (columns, d_h x keep) of sum v v^T over the rows of `values`."""
    v = values.reshape(-1, values.shape[-1]).astype(np.float64)
    eigenvalues, vectors = np.linalg.eigh(v.T @ v)
    return vectors[:, np.argsort(eigenvalues)[::-1][:keep]]


def leverage_selection(z: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept neuron indices ascending, the d_ff x keep map C[:, S] C[S, S]^-1) for inputs z (rows)."""
    z = z.reshape(-1, z.shape[-1]).astype(np.float64)
    c = z.T @ z
    scores = np.diag(c @ np.linalg.inv(c + np.eye(len(c))))
    kept = np.sort(np.argsort(scores, kind="stable")[::-1][:keep])
    # C[S,S] may be singular (dead neurons): the least-squares solution is the pseudo-inverse's
    mapping = np.linalg.lstsq(c[np.ix_(kept, kept)], c[kept], rcond=None)[0].T
    return kept, mapping


@dataclass
class FlatResult:
    ratios: np.ndarray  # keep ratio per decoder
    importance: np.ndarray  # t_l per decoder
    value_widths: list[int]  # per decoder, the value head width kept
    hidden_widths: list[int]  # per decoder, the MLP neurons kept


def compressible_share(model) -> float:
    """Share of the decoders' linear weights FLAT-LLM narrows (all but Q and K)."""
    total = narrowable = 0
    for layer in model.layers:
        for name, linear in (("wq", layer.attn.wq), ("wk", layer.attn.wk), ("wv", layer.attn.wv), ("wo", layer.attn.wo),
                             ("gate", layer.mlp.gate), ("up", layer.mlp.up), ("down", layer.mlp.down)):
            total += linear.weight.numel()
            narrowable += 0 if name in ("wq", "wk") else linear.weight.numel()
    return narrowable / total


def decoder_linear_parameters(model) -> int:
    """Weights of every linear inside the decoders (factor pairs count both)."""
    from torch import nn

    return sum(m.weight.numel() for layer in model.layers for m in layer.modules() if isinstance(m, nn.Linear))


def _stack_forward(layer, x, extra, chunk: int = 16):
    """The decoder on every calibration sequence, `chunk` sequences at a time (bounded memory)."""
    import torch

    with torch.no_grad():
        return torch.cat([layer(x[i:i + chunk], *extra) for i in range(0, len(x), chunk)])


def importances(model, tokens) -> np.ndarray:
    """t_l of every decoder on the uncompressed model (the authors compute them once, beforehand)."""
    import torch

    with torch.no_grad():
        x, *extra = model.decoder_inputs(tokens)
        result = []
        for layer in model.layers:
            out = _stack_forward(layer, x, extra)
            result.append(angular_importance(x.numpy(), out.numpy()))
            x = out
    return np.array(result)


def _capture(layer, x, extra):
    """The value projection's outputs and the down projection's inputs on `x`."""
    seen = {"v": [], "z": []}
    hooks = [layer.attn.wv.register_forward_hook(lambda m, i, o: seen["v"].append(o.detach().numpy())),
             layer.mlp.down.register_forward_hook(lambda m, i, o: seen["z"].append(i[0].detach().numpy()))]
    try:
        _stack_forward(layer, x, extra)
    finally:
        for hook in hooks:
            hook.remove()
    return np.concatenate(seen["v"]), np.concatenate(seen["z"])


def _replace(linear, weight: np.ndarray):
    import torch
    from torch import nn

    new = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        new.weight.copy_(torch.from_numpy(weight).float())
    return new


def _narrow_attention(attn, values: np.ndarray, keep: int) -> None:
    d_h, kv, group = attn.v_dim, attn.kv_heads, attn.heads // attn.kv_heads
    wv = attn.wv.weight.detach().double().numpy().reshape(kv, d_h, -1)
    wo = attn.wo.weight.detach().double().numpy().reshape(-1, attn.heads, d_h)
    heads = values.reshape(-1, kv, d_h)
    new_v, new_o = [], np.zeros((wo.shape[0], attn.heads, keep))
    for g in range(kv):
        basis = value_basis(heads[:, g], keep)  # d_h x keep
        new_v.append(basis.T @ wv[g])
        for h in range(g * group, (g + 1) * group):  # the query heads reading key/value head g
            new_o[:, h] = wo[:, h] @ basis
    attn.wv = _replace(attn.wv, np.concatenate(new_v))
    attn.wo = _replace(attn.wo, new_o.reshape(wo.shape[0], -1))
    attn.v_dim = keep


def _narrow_mlp(mlp, z: np.ndarray, keep: int) -> None:
    kept, mapping = leverage_selection(z, keep)
    mlp.gate = _replace(mlp.gate, mlp.gate.weight.detach().double().numpy()[kept])
    mlp.up = _replace(mlp.up, mlp.up.weight.detach().double().numpy()[kept])
    mlp.down = _replace(mlp.down, mlp.down.weight.detach().double().numpy() @ mapping)


def flat_llm(model, tokens, cut: float) -> FlatResult:
    """Compress `model` in place so its decoders' linear weights shrink by about `cut` (0..1),
    calibrated on `tokens` (N x S token ids); returns the ratios and widths chosen."""
    import torch

    share = compressible_share(model)
    if not 0 <= cut < share:
        raise DfccError(f"flat-llm: cut={cut} must be in [0, {share:.3f}) (Q and K are kept: at most "
                        f"{share:.1%} of the decoder weights can go)")
    importance = importances(model, tokens)
    ratios = allocate(importance, 1 - cut / share)
    value_widths, hidden_widths = [], []
    with torch.no_grad():
        x, *extra = model.decoder_inputs(tokens)
        for layer, ratio in zip(model.layers, ratios):
            values, z = _capture(layer, x, extra)
            v_keep = max(1, int(ratio * layer.attn.v_dim))
            f_keep = max(1, int(ratio * layer.mlp.down.weight.shape[1]))
            _narrow_attention(layer.attn, values, v_keep)
            _narrow_mlp(layer.mlp, z, f_keep)
            value_widths.append(v_keep)
            hidden_widths.append(f_keep)
            x = _stack_forward(layer, x, extra)
    return FlatResult(ratios, importance, value_widths, hidden_widths)
