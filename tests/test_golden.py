"""Golden outputs (tests/golden): cpu results, estimates and HLS projects are byte-identical to the
recorded ones. A deliberate change regenerates them: `python -m tests.golden.regenerate MODEL ...`."""

import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from tests.golden import CI_MODELS, compute, load  # noqa: E402

GOLDEN = load()
MODELS = sorted(GOLDEN) if os.environ.get("DFCC_GOLDEN") == "all" else CI_MODELS


def _differences(expected, actual, path=""):
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            yield from _differences(expected.get(key), actual.get(key), f"{path}/{key}")
    elif expected != actual:
        yield f"{path}: expected {expected!r}, got {actual!r}"


@pytest.mark.parametrize("name", MODELS)
def test_golden_outputs(name):
    differences = list(_differences(GOLDEN[name], compute(name)))
    assert not differences, "\n".join(differences[:20])
