"""Every example model is deterministic and its batch-norms are randomized (so BN-folding bugs show).

That each one imports, lowers and matches PyTorch is tests/test_models.py."""

import pytest

torch = pytest.importorskip("torch")

from dfcc.examples.models import MODELS  # noqa: E402

PARAMS = [pytest.param(name, marks=[pytest.mark.slow] if spec.slow else [], id=name) for name, spec in MODELS.items()]


@pytest.mark.parametrize("name", PARAMS)
def test_seeded_eval_with_randomized_batch_norm(name):
    model, again = MODELS[name].build(), MODELS[name].build()
    assert not model.training
    for (key, value), other in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(value, other), key
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        assert not torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
        assert not torch.equal(bn.running_var, torch.ones_like(bn.running_var))
        assert not torch.equal(bn.weight, torch.ones_like(bn.weight))
        assert not torch.equal(bn.bias, torch.zeros_like(bn.bias))

