"""Compression of a tiny LLaMA trained on Python's documentation: the language-model tables of issue 11.

    python -m dfcc.bench.bench_llm [--quick] [--platform zedboard] [--tokens 64]

The model (`examples/tiny_llama`, ~0.33 M parameters, byte-level) is trained once and cached;
perplexity is on the fixed validation split (256 windows of 64 bytes).

1. Quantization alone (W8/W4/W3/W2, per-tensor grid of `quantize`) against quantization plus
   ITERA compensation (`lowrank-compensate`: b-bit main weights plus 8-bit rank-r factors) at the
   weight memory of a higher precision: perplexity (weight-only) and the estimated latency of the
   decoders' linear layers for one prefill of `--tokens` tokens, from `explore` + the estimate on
   the board (A8 activations). ITERA-LLM reports up to 41.1 % lower linear-layer latency than
   quantization alone at similar accuracy.
2. FLAT-LLM (`frontends/flat_llm`) against plain SVD of the same layers and naive truncation at
   FLAT-LLM's widths, at equal decoder parameter count: perplexity.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time

# (main bits, memory of this many bits per weight; None: quantization alone)
QUANT = ((8, None), (4, None), (3, None), (2, None), (3, 4), (2, 4), (2, 3))
QUANT_QUICK = ((4, None), (3, None), (2, None), (3, 4), (2, 4))
CUTS = (0.1, 0.2, 0.3, 0.4, 0.5)
CUTS_QUICK = (0.2, 0.4)
CALIBRATION_WINDOWS = 128


def itera_table(model, configs, platform: str, tokens: int):
    from rich.table import Table

    from dfcc.examples import llm_compression as lc
    from dfcc.examples.tiny_llama import perplexity

    table = Table(title=f"quantization alone vs ITERA compensation: decoder linears, {tokens}-token prefill, A8, {platform}")
    for column in ("config", "weights kbit", "perplexity", "latency cycles", "latency us", "II", "DSP", "LUT", "BRAM18",
                   "vs alone at equal memory"):
        table.add_column(column, justify="left" if column == "config" else "right")
    with tempfile.TemporaryDirectory() as tmp:
        graph = lc.hardware_graph(model, tokens, tmp)
        rows = {}
        for bits, reference in configs:
            compressed, _ = lc.quantized(model, bits, reference)
            rows[bits, reference] = (perplexity(compressed), lc.hardware(graph, bits, reference, platform))
    for (bits, reference), (ppl, hw) in rows.items():
        name = f"W{bits}" + (f" + ITERA (W{reference} memory)" if reference else " alone")
        alone = rows.get((reference, None)) if reference else None
        versus = (f"ppl {ppl - alone[0]:+.3f}, latency {100 * (hw.latency_cycles / alone[1].latency_cycles - 1):+.1f} %"
                  if alone else "")
        table.add_row(name, f"{hw.weight_kbits:,.1f}", f"{ppl:.3f}", f"{hw.latency_cycles:,.0f}", f"{hw.latency_us:,.1f}",
                      f"{hw.ii_cycles:,}", str(hw.dsp), f"{hw.lut:,}", str(hw.bram18), versus)
    return table


def flat_table(model, cuts):
    import torch
    from rich.table import Table

    from dfcc.examples import llm_compression as lc
    from dfcc.examples.tiny_llama import perplexity, split, windows
    from dfcc.frontends.flat_llm import decoder_linear_parameters, flat_llm

    calibration = torch.from_numpy(windows(split()[0], model.cfg.context, CALIBRATION_WINDOWS)[:, :-1])
    full = decoder_linear_parameters(model)
    table = Table(title=f"FLAT-LLM vs SVD at equal parameters (decoder linears: {full:,} weights; float "
                        f"perplexity {perplexity(model):.3f})")
    for column in ("cut", "kept ratios", "FLAT params", "FLAT-LLM", "SVD params", "SVD", "truncation"):
        table.add_column(column, justify="right")
    for cut in cuts:
        flat = copy.deepcopy(model)
        result = flat_llm(flat, calibration, cut)
        params = decoder_linear_parameters(flat)
        svd = lc.svd_compressed(model, params)
        naive = lc.truncated(model, result.value_widths, result.hidden_widths)
        table.add_row(f"{cut:.0%}", " ".join(f"{r:.2f}" for r in result.ratios), f"{params:,}", f"{perplexity(flat):.3f}",
                      f"{decoder_linear_parameters(svd):,}", f"{perplexity(svd):.3f}", f"{perplexity(naive):.3f}")
    return table


def main(argv: list[str] | None = None) -> None:
    from rich.console import Console

    from dfcc.examples.tiny_llama import parameters, perplexity, train

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default="zedboard", help="board for explore (default: a small one, so the "
                        "linears compete for resources)")
    parser.add_argument("--tokens", type=int, default=64, help="prefill length of the hardware graph")
    parser.add_argument("--quick", action="store_true", help="fewer quantization configurations and cuts")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = train(verbose=True)
    console = Console(width=160)
    console.print(f"tiny LLaMA: {parameters(model):,} parameters, validation perplexity {perplexity(model):.3f} "
                  f"({time.perf_counter() - started:.0f} s to train or load)")
    console.print(itera_table(model, QUANT_QUICK if args.quick else QUANT, args.platform, args.tokens))
    console.print(flat_table(model, CUTS_QUICK if args.quick else CUTS))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
