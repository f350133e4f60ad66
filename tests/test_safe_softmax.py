"""scaled_dot_product_attention's safe softmax (PyTorch's _safe_softmax) guards fully masked rows with an
i1 flag stream (`sum < 0.5`) that a second map selects by. Quantized, the flag is neither fixed point nor
float: the HLS maps take it as bool, compare in double (no ambiguous ap_fixed/float overload), and the
C simulation is bit-exact with no compiler warning. MobileViT's attention (timm) is built this way."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")
pytest.importorskip("hls4ml")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from dfcc.analyses.reference import run_reference  # noqa: E402
from dfcc.backends.hls.csim import csim  # noqa: E402
from dfcc.driver.pipeline import parse_pipeline  # noqa: E402
from dfcc.frontends.mlir import make_context  # noqa: E402
from dfcc.frontends.torch import import_module  # noqa: E402
from dfcc.passes.registry import get_pass  # noqa: E402


class Attention(nn.Module):
    def forward(self, x):
        return F.scaled_dot_product_attention(x, x * 0.5, x)


def test_quantized_attention_with_a_flag_stream_csim_is_bit_exact():
    x = torch.randn(1, 2, 4, 8)
    module = import_module(Attention().eval(), x)
    for step in parse_pipeline("lower-to-dataflow,quantize{weight-bits=8 act-bits=8},explore{platform=zcu102}"):
        step.instantiate(get_pass(step.name)).apply(make_context(), module)
    flags = [op for op in module.walk() if op.name == "dataflow.map" and op.output.type.element_type.name == "integer_type"]
    assert flags, "no i1 flag stream: the model no longer exercises the case"
    result = csim(module, [x.numpy()])
    assert result.warnings == []
    (expected,) = run_reference(module, [x.numpy()])
    assert np.array_equal(result.outputs[0], expected)
