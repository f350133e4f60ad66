"""A Reference run many times (a pass's calibration runs): each run as run_reference alone, its
weights computed once and handed read-only to every run."""

from pathlib import Path

import numpy as np
import pytest
from xdsl.interpreter import Interpreter

from dfcc import kinds
from dfcc.analyses.reference import Reference, run_reference
from dfcc.frontends.mlir import make_context, read_module
from dfcc.passes.quantize import Quantize

LINEAR_RELU = Path(__file__).parent.parent / "lit_tests" / "quantize" / "linear_relu.mlir"


class _WeightsSeen(Interpreter.Listener):
    def __init__(self):
        self.values = []

    def did_interpret_op(self, op, results) -> None:
        if isinstance(op, kinds.WeightsOp):
            self.values.append(results[0])


@pytest.mark.parametrize("quantized", [False, True])
def test_runs_match_run_reference_and_compute_weights_once(quantized, monkeypatch):
    module = read_module(str(LINEAR_RELU))
    if quantized:
        Quantize(weight_bits=6, act_bits=7).apply(make_context(), module)
    xs = [np.random.default_rng(seed).standard_normal((1, 4)).astype(np.float32) for seed in range(3)]
    expected = [run_reference(module, [x])[0] for x in xs]
    weights_kind = kinds.KINDS[kinds.WeightsOp]
    semantics = "run_fixed" if quantized else "run_float"
    computed = []
    original = getattr(weights_kind, semantics)
    monkeypatch.setattr(weights_kind, semantics, lambda op, args: computed.append(op) or original(op, args))
    reference, seen = Reference(module), _WeightsSeen()
    outputs = [reference.run([x], observers=(seen,))[0] for x in xs]
    for output, want in zip(outputs, expected):
        assert output.dtype == want.dtype and np.array_equal(output, want)
    count = sum(isinstance(o, kinds.WeightsOp) for o in module.walk())
    assert count == 2 and len(computed) == count  # w and b, once for three runs
    assert len(seen.values) == 3 * count and not any(v.flags.writeable for v in seen.values)
    with pytest.raises(ValueError, match="read-only"):
        seen.values[0][...] = 0  # a consumer writing into a kept constant fails instead of changing later runs


def test_values_derived_from_weights_are_kept_only_while_no_one_can_change_them():
    from dfcc.dialects import fixed_point as fx

    calls = []
    kept = np.arange(4.0)
    kept.setflags(write=False)
    changing = np.arange(4.0)
    for weights in (kept, kept, changing, changing):
        assert fx.derived(weights, "sum", lambda w=weights: calls.append(w) or float(w.sum())) == 6.0
    assert [c is kept for c in calls] == [True, False, False]  # kept once, the writeable array every time
    key = id(kept)
    calls.clear()
    del kept
    assert key not in fx._DERIVED  # dropped with its array
