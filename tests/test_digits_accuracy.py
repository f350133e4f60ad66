"""A real accuracy check: a small CNN trained on scikit-learn's 8x8 digits, quantized by dfcc and
run through the bit-accurate CPU reference (examples/digits_quantization.py)."""

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")
pytest.importorskip("torch_mlir")

from dfcc.examples.digits_quantization import evaluate  # noqa: E402


# its trained model is a module fixture: one worker trains it (`make test` runs xdist with --dist loadgroup)
pytestmark = pytest.mark.xdist_group("digits_accuracy")


@pytest.fixture(scope="module")
def accuracy():
    return evaluate(seed=0)


def test_float_reference_is_a_trained_model(accuracy):
    assert accuracy["float"] > 94


def test_w8a8_within_one_point_of_float(accuracy):
    assert accuracy["W8A8"] >= accuracy["float"] - 1


def test_w4a8_within_five_points_of_float(accuracy):
    assert accuracy["W4A8"] >= accuracy["float"] - 5


def test_w6a6_reported(accuracy):
    assert 0 <= accuracy["W6A6"] <= 100
