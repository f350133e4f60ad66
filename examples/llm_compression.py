"""Weight compression of the tiny LLaMA (`tiny_llama`): perplexity in PyTorch, hardware through dfcc.

Two views of one compressed model, built from the same library calls so they agree:

- perplexity: the decoders' linear weights replaced in the PyTorch model (weight-only: activations
  stay float, the embedding/tied head stay float, as LLM quantization papers report it). Weights
  are put on the grid `quantize{weight-bits=b}` gives them (`lowrank_compensate.quantize_grid`), or
  compensated by `lowrank_compensate.compensate` (the ITERA loop the `lowrank-compensate` pass runs).
- hardware: the decoders' linear layers (`LinearPath`: every linear at its real shape on S
  tokens, attention left out, K/V streamed off chip) imported with torch-mlir and lowered to
  dataflow, then the `lowrank-compensate` pass itself on every linear node, `quantize` (main
  weights at b bits, factors at 8, activations A8) and `explore` for a board (the cost model the
  estimate uses); the estimate gives the latency of one S-token prefill (`HardwareFigures`).

Why not the whole decoder stack: lowered whole, a data-movement stage of the attention (rotary
concat, head transposes) sets the pipeline's II at any weight precision, so the linears' cost
would not show; ITERA-LLM's claim is about the linear layers' latency.

Equal weight memory: quantization alone at `reference_bits` spends F*C*b_ref bits on an F x C
layer; compensation at b bits with 8-bit rank-r factors spends F*C*b + r*(F+C)*8, so
r = floor(F*C*(b_ref - b) / (8*(F+C))) matches it (never above) layer by layer.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
from dataclasses import dataclass

import numpy as np

from dfcc.passes.lowrank_compensate import compensate, quantize_grid

FACTOR_BITS = 8
ACT_BITS = 8
ITERATIONS = 5


def decoder_linears(model) -> list[tuple[str, object]]:
    """(qualified name, nn.Linear) of every linear inside the decoders, in forward order."""
    from torch import nn

    return [(f"layers.{i}.{name}", module) for i, layer in enumerate(model.layers)
            for name, module in layer.named_modules() if isinstance(module, nn.Linear)]


def equal_memory_rank(shape: tuple[int, int], bits: int, reference_bits: int, factor_bits: int = FACTOR_BITS) -> int:
    """The largest rank whose b-bit weights plus factors fit in the memory of `reference_bits` weights."""
    f, c = shape
    return max(0, (f * c * (reference_bits - bits)) // (factor_bits * (f + c)))


def weight_bits_total(model, bits: int, reference_bits: int | None = None) -> int:
    """Decoder linear weight memory in bits: at `bits` alone, or with equal-memory compensation."""
    total = 0
    for _, linear in decoder_linears(model):
        f, c = linear.weight.shape
        rank = equal_memory_rank((f, c), bits, reference_bits) if reference_bits else 0
        total += f * c * bits + rank * (f + c) * FACTOR_BITS
    return total


def quantized(model, bits: int, reference_bits: int | None = None):
    """A copy of `model` with every decoder linear on the b-bit grid, plus (with `reference_bits`)
    the ITERA rank-r correction at the equal-memory rank; returns (model, per-layer stats)."""
    import torch

    result = copy.deepcopy(model)
    stats = []
    with torch.no_grad():
        for name, linear in decoder_linears(result):
            w = linear.weight.detach().double().numpy()
            rank = equal_memory_rank(w.shape, bits, reference_bits) if reference_bits else 0
            if rank:
                c = compensate(w, bits, rank, ITERATIONS, FACTOR_BITS)
                approx, error, plain = c.main + c.u @ c.v, c.error, c.plain_error
            else:
                approx = quantize_grid(w, bits)
                error = plain = float(np.linalg.norm(w - approx) / np.linalg.norm(w))
            linear.weight.copy_(torch.from_numpy(approx).float())
            stats.append((name, rank, plain, error))
    return result, stats


# ---- hardware -------------------------------------------------------------------------------------


def _linear_path(model):
    from torch import nn

    class LinearPath(nn.Module):
        """Every decoder linear with its real shape, in forward order, and nothing else of note.

        Per decoder: x feeds wq, wk and wv; K and V leave the chip (they are the KV cache);
        attention is left out (not a linear layer), so wq feeds wo directly; the MLP is
        down(silu(gate(h)) * up(h)) on wo's output h, and its output is the next decoder's x.
        """

        def __init__(self):
            super().__init__()
            self.layers = model.layers

        def forward(self, x):
            cache = []
            for layer in self.layers:
                attn, mlp = layer.attn, layer.mlp
                cache += [attn.wk(x), attn.wv(x)]
                h = attn.wo(attn.wq(x))
                x = mlp.down(nn.functional.silu(mlp.gate(h)) * mlp.up(h))
            return (x, *cache)

    return LinearPath().eval()


@dataclass
class HardwareGraph:
    """The lowered float linear path and a calibration file of embedded validation tokens."""

    module: object
    calibration: str


def hardware_graph(model, tokens: int, workdir: str) -> HardwareGraph:
    """Import and lower the decoders' linear path for `tokens` tokens (one prefill of that length)."""
    import torch

    from dfcc.examples.tiny_llama import split, windows
    from dfcc.frontends.mlir import make_context
    from dfcc.frontends.torch import import_module
    from dfcc.passes.lower_to_dataflow import LowerToDataflow

    path = _linear_path(model)
    with torch.no_grad():
        samples = model.embed(torch.from_numpy(windows(split()[1], tokens, 8)[:, :tokens])).numpy()
    calibration = os.path.join(workdir, f"path_calibration_{tokens}.npz")
    np.savez(calibration, arg0=samples[:, None])  # 8 inferences of shape (1, S, D)
    with contextlib.redirect_stderr(io.StringIO()):
        module = import_module(path, torch.from_numpy(samples[:1]))
        LowerToDataflow().apply(make_context(), module)
    return HardwareGraph(module, calibration)


@dataclass
class HardwareFigures:
    latency_cycles: float  # one prefill of S tokens through the empty linear pipeline
    latency_us: float
    ii_cycles: int  # between prefills
    dsp: int
    lut: int
    bram18: int
    weight_kbits: float  # every linear weight (main and factors) at its width


def hardware(graph: HardwareGraph, bits: int, reference_bits: int | None, platform: str) -> HardwareFigures:
    """Compensate (equal-memory rank per node) and quantize the graph, explore it for `platform`."""
    from dfcc import kinds
    from dfcc.backends.estimate.report import Estimate
    from dfcc.examples.digits_decompose import weight_kbits
    from dfcc.frontends.mlir import make_context
    from dfcc.passes.explore import Explore
    from dfcc.passes.lowrank_compensate import LowrankCompensate
    from dfcc.passes.quantize import Quantize

    ctx = make_context()
    module = graph.module.clone()
    with contextlib.redirect_stderr(io.StringIO()):  # the passes' remarks
        layers = [(op.node_name.data, tuple(op.weights.type.get_shape())) for op in module.walk()
                  if isinstance(op, kinds.LinearOp)]
        for name, shape in layers:
            rank = equal_memory_rank(shape, bits, reference_bits) if reference_bits else 0
            if rank:
                LowrankCompensate(weight_bits=bits, rank=rank, iterations=ITERATIONS, factor_bits=FACTOR_BITS,
                                  nodes=name).apply(ctx, module)
        Quantize(weight_bits=FACTOR_BITS, act_bits=ACT_BITS, calibration=graph.calibration,
                 override=tuple(f"{name}:w{bits}" for name, _ in layers)).apply(ctx, module)
        Explore(platform=platform).apply(ctx, module)
        estimate = Estimate.of_module(module)
    t = estimate.totals
    return HardwareFigures(t.latency_cycles, estimate.latency_s() * 1e6, t.ii, t.dsp, t.lut, t.bram18,
                           weight_kbits(module))


# ---- structural baselines for FLAT-LLM -------------------------------------------------------------

NARROWED = (("attn", "wv"), ("attn", "wo"), ("mlp", "gate"), ("mlp", "up"), ("mlp", "down"))  # FLAT-LLM's layers


def svd_compressed(model, parameters: int):
    """A copy with every linear FLAT-LLM narrows (V, O, gate, up, down) replaced by a rank-r pair
    (`passes.lowrank`'s SVD, sqrt(S) each side), one share of each layer's weights for all, the
    largest whose decoder linear weights stay within `parameters`."""
    import torch
    from torch import nn

    from dfcc.frontends.flat_llm import decoder_linear_parameters
    from dfcc.passes.lowrank import Geometry, Scheme, factorise

    def ranks(share: float) -> list[int]:
        return [max(1, int(share * f * c / (f + c))) for f, c in shapes]

    targets = [(getattr(layer, part), name) for layer in model.layers for part, name in NARROWED]
    shapes = [tuple(getattr(owner, name).weight.shape) for owner, name in targets]
    fixed = decoder_linear_parameters(model) - sum(f * c for f, c in shapes)
    lo, hi = 0.0, 1.0
    for _ in range(40):  # bisection on the share of each layer's weights kept
        mid = (lo + hi) / 2
        used = fixed + sum(r * (f + c) for r, (f, c) in zip(ranks(mid), shapes))
        lo, hi = (mid, hi) if used <= parameters else (lo, mid)
    result = copy.deepcopy(model)
    for layer_index, layer in enumerate(result.layers):
        for (part, name), rank in zip(NARROWED, ranks(lo)[layer_index * len(NARROWED):]):
            owner = getattr(layer, part)
            w = getattr(owner, name).weight.detach().numpy()
            first, second = factorise(w, None, Geometry(), Scheme("svd", rank))
            pair = nn.Sequential(nn.Linear(w.shape[1], rank, bias=False), nn.Linear(rank, w.shape[0], bias=False))
            with torch.no_grad():
                pair[0].weight.copy_(torch.from_numpy(first.weights))
                pair[1].weight.copy_(torch.from_numpy(second.weights))
            setattr(owner, name, pair)
    return result


def truncated(model, value_widths: list[int], hidden_widths: list[int]):
    """The naive structural baseline at FLAT-LLM's widths: keep the first value dims of every head
    and the first MLP neurons, no change of basis and no least-squares correction."""
    import torch
    from torch import nn

    result = copy.deepcopy(model)
    with torch.no_grad():
        for layer, v_keep, f_keep in zip(result.layers, value_widths, hidden_widths):
            attn, mlp = layer.attn, layer.mlp
            d_h = attn.v_dim
            v_rows = [g * d_h + i for g in range(attn.kv_heads) for i in range(v_keep)]
            o_cols = [h * d_h + i for h in range(attn.heads) for i in range(v_keep)]
            for owner, name, index, axis in ((attn, "wv", v_rows, 0), (attn, "wo", o_cols, 1),
                                             (mlp, "gate", range(f_keep), 0), (mlp, "up", range(f_keep), 0),
                                             (mlp, "down", range(f_keep), 1)):
                w = getattr(owner, name).weight.index_select(axis, torch.tensor(list(index)))
                new = nn.Linear(w.shape[1], w.shape[0], bias=False)
                new.weight.copy_(w)
                setattr(owner, name, new)
            attn.v_dim = v_keep
    return result
