"""Golden outputs (tests/golden): cpu results, estimates and HLS projects are byte-identical to the
recorded ones (float results: equal up to the machine's rounding, tests/golden `float_sketch`). A deliberate
change regenerates them: `python -m tests.golden.regenerate MODEL ...`."""

import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

import numpy as np  # noqa: E402

from tests.golden import CI_MODELS, compute, float_sketch, load, same_float  # noqa: E402

GOLDEN = load()
MODELS = sorted(GOLDEN) if os.environ.get("DFCC_GOLDEN") == "all" else CI_MODELS


def _differences(expected, actual, path=""):
    if isinstance(expected, dict) and isinstance(actual, dict) and "sketch" in expected and "sketch" in actual:
        if not same_float(expected, actual):
            yield f"{path}: float result moved: expected {expected!r}, got {actual!r}"
    elif isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            yield from _differences(expected.get(key), actual.get(key), f"{path}/{key}")
    elif expected != actual:
        yield f"{path}: expected {expected!r}, got {actual!r}"


@pytest.mark.parametrize("name", MODELS)
def test_golden_outputs(name):
    differences = list(_differences(GOLDEN[name], compute(name)))
    assert not differences, "\n".join(differences[:20])


def test_float_sketch_ignores_rounding_and_sees_a_changed_value():
    values = np.random.default_rng(1).standard_normal((4, 250)).astype(np.float32)
    rounded = values * (1 + np.float32(2e-6) * np.random.default_rng(2).choice([-1, 1], values.shape))
    changed = values.copy()
    changed[3, 17] += 1.0
    golden = float_sketch(values)
    assert same_float(golden, float_sketch(rounded))
    assert not same_float(golden, float_sketch(changed))
    assert not same_float(golden, float_sketch(values.reshape(1000)))
