"""C simulation of a single-output module checked bit for bit against the CPU reference."""

import numpy as np
import pytest

from dfcc.analyses.reference import run_reference


def csim_equals_reference(module, inputs: list[np.ndarray], bounded: bool) -> np.ndarray:
    """Run the generated C++ (`bounded`: every stream at its FIFO depth, stages as threads), assert it
    warns of nothing and equals the reference exactly; the reference output, for further checks."""
    pytest.importorskip("hls4ml")
    from dfcc.backends.hls.bounded import bounded_csim
    from dfcc.backends.hls.csim import csim

    (expected,) = run_reference(module, inputs)
    result = (bounded_csim if bounded else csim)(module, inputs)
    assert result.warnings == []
    np.testing.assert_array_equal(result.outputs[0], expected)
    return expected
