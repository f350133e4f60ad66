"""Layout buffers of vision transformers (issue 10, item 7): transposes and their BRAM after lowering.

    python -m dfcc.bench.bench_transformer_layout

For the Hugging Face ViT of tests/hf_models (16 px images, 4 px patches) and a DeiT-tiny-shaped one
(224 px, 16 px patches, 192 wide, 3 heads, 2 layers): dataflow nodes, transposes (whole-tensor
buffers), their BRAM18 and the design's, each at the folding lower-to-dataflow leaves (all 1).
Before the stream-order reshape (issue 10) ViT had 11 transposes (11 BRAM18 of 43) and DeiT-tiny
11 (417 BRAM18 of 1,833); after it 8 (8 of 40; 304 of 1,720): attention's head splits (Q, Kᵀ, V) and
head merge. With matmuls reading heads token-major none are left (ViT 36 BRAM18, DeiT-tiny 1,616, the
matmuls' ping-pong Kᵀ and V buffers included). LLaMA (tests/hf_models, 2 layers, grouped-query
attention) kept 2 transposes a layer around its repeated K/V heads until the repeat streamed
token-major: none now. Needs the `zoo` extra (transformers).
"""

from __future__ import annotations


def main() -> None:
    import torch

    from dfcc import kinds
    from dfcc.frontends.mlir import make_context
    from dfcc.frontends.torch import import_module
    from dfcc.kinds.cost import is_node, node_cost
    from dfcc.passes.lower_to_dataflow import LowerToDataflow
    from tests.hf_models import HIDDEN, deit_tiny, llama_embeds, vit

    print(f"{'model':10} {'nodes':>6} {'transposes':>10} {'their BRAM18':>12} {'BRAM18':>7}")
    for name, factory, shape in (("vit", vit, (1, 3, 16, 16)), ("llama", llama_embeds, (1, 16, HIDDEN)),
                                 ("deit_tiny", deit_tiny, (1, 3, 224, 224))):
        torch.manual_seed(0)
        module = import_module(factory().eval(), torch.randn(shape))
        LowerToDataflow().apply(make_context(), module)
        nodes = [op for op in module.walk() if is_node(op)]
        transposes = [op for op in nodes if isinstance(op, kinds.TransposeOp)]
        print(f"{name:10} {len(nodes):>6} {len(transposes):>10} {sum(node_cost(op).bram18 for op in transposes):>12} "
              f"{sum(node_cost(op).bram18 for op in nodes):>7}")


if __name__ == "__main__":
    main()
