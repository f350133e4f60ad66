"""Node kinds the HLS backend does not build yet; their emit_hls says so (tests/test_kinds.py), and
the csim models reach every other kind (tests/test_csim.py)."""

from dfcc.kinds import SparseConvOp, SparseWeightsOp

HLS_UNSUPPORTED = (SparseConvOp, SparseWeightsOp)
