"""Small memory pages for numpy's arrays while dfcc computes with whole tensors of a network.

numpy asks Linux for transparent huge pages (madvise) for every array of 4 MB or more. Where the kernel
then compacts memory on the first touch of each such page (THP defrag "madvise", as on the 2-core build
machine), every short-lived multi-MB temporary pays it again, in system time: ResNet-50's quantize spent
3.2 of its 12 CPU s in the kernel, 0.8 s with small pages (user time +0.5 s, a few more TLB misses);
its lowering 2.8 -> 1.1 CPU s. `small_pages()` turns the advice off for a block and restores it after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

# numpy's switch (numpy >= 1.20; its documented environment knob is NUMPY_MADVISE_HUGEPAGE, read at import)
_SET_HUGEPAGE = getattr(getattr(np, "_core", None), "multiarray", None)
_SET_HUGEPAGE = getattr(_SET_HUGEPAGE, "_set_madvise_hugepage", None)


@contextmanager
def small_pages() -> Iterator[None]:
    """Within the block, numpy allocates without asking for huge pages (no-op where it cannot say)."""
    if _SET_HUGEPAGE is None:
        yield
        return
    previous = _SET_HUGEPAGE(False)
    try:
        yield
    finally:
        _SET_HUGEPAGE(previous)
