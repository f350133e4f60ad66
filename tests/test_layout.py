"""Reshapes done in a stream's own order (passes/lowering/core.py: stream_order_reshape), hand-worked cases."""

import pytest

from dfcc.passes.lowering.core import stream_order_reshape

NHWC = (0, 2, 3, 1)


@pytest.mark.parametrize("old,perm,new,expected", [
    # a conv's NHWC output flattened to N x C x (H*W): the stream is already N x (H*W) x C
    ((1, 32, 4, 4), NHWC, (1, 32, 16), (0, 2, 1)),
    # and split back: tokens to an image
    ((1, 32, 16), (0, 2, 1), (1, 32, 4, 4), NHWC),
    # heads split off the channels of a token stream held channels-last
    ((1, 8, 17), (0, 2, 1), (1, 2, 4, 17), (0, 3, 1, 2)),
    # size-1 dims go where they keep the order sorted
    ((1, 32, 4, 4), NHWC, (1, 1, 32, 16), (0, 1, 3, 2)),
    # merging C with H*W needs the logical order: C is not next to H in the stream
    ((1, 32, 4, 4), NHWC, (1, 512), None),
    ((1, 32, 4, 4), NHWC, (1, 8, 64), None),
])
def test_stream_order_reshape(old, perm, new, expected):
    assert stream_order_reshape(old, perm, new) == expected
