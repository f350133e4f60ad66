"""dfcc-import on what real models need: integer inputs, non-persistent buffers, errors in the user's
own code reported as theirs, and position ids computed by a cumulative sum (tm_tensor.scan)."""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_mlir.fx")

from dfcc.frontends.mlir import parse_module  # noqa: E402
from tests.torch_differential import assert_matches_torch  # noqa: E402

MODELS = '''
import torch
from torch import nn


class Positions(nn.Module):
    """Adds position ids counted with a cumulative sum (as Hugging Face models do) and a constant
    table of sines kept in a non-persistent buffer."""

    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.sin(torch.arange(32.0)).reshape(8, 4), persistent=False)

    def forward(self, x):
        positions = torch.ones(1, x.shape[1], dtype=torch.long).cumsum(-1) - 1
        return x * self.table + positions.unsqueeze(-1).float()


class Ids(nn.Module):
    def forward(self, ids):
        return (ids * 2).float()


def positions():
    return Positions()


def ids():
    return Ids()


def helper():
    return nn.Linear(4, missing_name)


def broken():
    return helper()
'''


def _import(tmp_path, function: str, shape: str):
    source = tmp_path / "models.py"
    source.write_text(MODELS)
    return subprocess.run([sys.executable, "-m", "dfcc.driver.import_cli", f"{source}:{function}", "--shape", shape],
                          capture_output=True, text=True)


def test_non_persistent_buffers_and_cumsum_positions(tmp_path):
    result = _import(tmp_path, "positions", "1,8,4")
    assert result.returncode == 0, result.stderr
    assert "tm_tensor.scan" in result.stdout
    assert "Could not find state mapping" not in result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        from models import Positions
    finally:
        sys.path.pop(0)
    assert_matches_torch(Positions(), torch.randn(1, 8, 4))


def test_integer_inputs(tmp_path):
    result = _import(tmp_path, "ids", "1,16:i64")
    assert result.returncode == 0, result.stderr
    (arg,) = parse_module(result.stdout).body.block.first_op.body.block.args
    assert str(arg.type) == "tensor<1x16xi64>"


def test_errors_in_the_factory_are_the_users_with_their_traceback(tmp_path):
    result = _import(tmp_path, "broken", "1,4")
    assert result.returncode == 1
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "broken() in" in result.stderr and "NameError: name 'missing_name' is not defined" in result.stderr
    line = MODELS.splitlines().index("    return nn.Linear(4, missing_name)") + 1
    assert f"models.py:{line}, in helper: return nn.Linear(4, missing_name)" in result.stderr


def test_scan_reads_and_prints_back():
    """(Its folding at lowering is checked numerically by the cumsum model above.)"""
    text = '''func.func @main() -> tensor<1x4xi64> {
  %c0 = arith.constant 0 : i64
  %ones = arith.constant dense<1> : tensor<1x4xi64>
  %e = tensor.empty() : tensor<1x4xi64>
  %a = tensor.empty() : tensor<1xi64>
  %s:2 = tm_tensor.scan dimension(1) inclusive(true) ins(%ones : tensor<1x4xi64>) outs(%e, %a : tensor<1x4xi64>, tensor<1xi64>) {
  ^bb0(%x: i64, %y: i64):
    %z = arith.addi %x, %y : i64
    tm_tensor.yield %z : i64
  } -> tensor<1x4xi64>, tensor<1xi64>
  return %s#0 : tensor<1x4xi64>
}'''
    printed = str(parse_module(text))
    assert "tm_tensor.scan dimension(1) inclusive(true) ins(%" in printed
    assert str(parse_module(printed)) == printed
