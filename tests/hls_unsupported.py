"""Node kinds the HLS backend does not build yet; their emit_hls says so (tests/test_kinds.py), and
the csim models reach every other kind (tests/test_csim.py) but those the example models never hold,
whose C simulation is tested on purpose-built graphs (HLS_CSIM_ELSEWHERE)."""

from dfcc.kinds import DdrFifoOp, EmbeddingOp, ReindexOp, ResizeOp, SparseConvOp, SparseLinearOp, SparseWeightsOp

HLS_UNSUPPORTED = ()
# zero-skipping nodes and their encoded weights (passes sparsify and zero-skip): tests/test_sparse_hls.py
# evicted skip connections (passes spill, explore{evict-skips=true}): tests/test_spill.py
# token embeddings (integer inputs, which no example model takes): tests/test_embedding.py
# resizes (nearest upsampling, zero insertion), which only the slow YOLOs hold: tests/test_deconv.py
# dims read in another order (index buffers, bilinear interpolation): tests/test_reindex.py
HLS_CSIM_ELSEWHERE = (SparseConvOp, SparseLinearOp, SparseWeightsOp, DdrFifoOp, EmbeddingOp, ResizeOp, ReindexOp)
