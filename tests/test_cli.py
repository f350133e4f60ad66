"""The dfcc and dfcc-import command lines, end to end, as a user runs them."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dfcc.driver.cli import main as dfcc_main
from dfcc.examples.models import MODELS

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], input=stdin, capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def cnn_mlir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cnn") / "cnn.mlir"
    result = run("dfcc.driver.import_cli", "examples/models/cnn.py:cnn", "--shape", "1,3,16,16", "-o", str(path))
    assert result.returncode == 0, result.stderr
    return path


def test_import_then_cpu_reference_matches_pytorch(cnn_mlir, tmp_path):
    x = np.random.default_rng(1).standard_normal((1, 3, 16, 16)).astype(np.float32)
    np.savez(tmp_path / "x.npz", arg0=x)
    result = run("dfcc.driver.cli", str(cnn_mlir), "-p", "lower-to-dataflow", "-t", "cpu",
                 "--input", str(tmp_path / "x.npz"), "-o", str(tmp_path / "y.npz"))
    assert result.returncode == 0, result.stderr
    out = np.load(tmp_path / "y.npz")["out0"]
    with torch.no_grad():
        expected = MODELS["cnn"].build()(torch.from_numpy(x)).numpy()
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() / np.abs(expected).max() < 1e-4


def test_single_npy_input_and_both_pipeline_spellings_agree(cnn_mlir, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((1, 3, 16, 16), np.float32))
    outputs = []
    for spelling in (["-p", "lower-to-dataflow"], ["-pass-pipeline=builtin.module(lower-to-dataflow)"]):
        target = tmp_path / f"y{len(outputs)}.npz"
        result = run("dfcc.driver.cli", str(cnn_mlir), *spelling, "-t", "cpu", "--input", str(tmp_path / "x.npy"), "-o", str(target))
        assert result.returncode == 0, result.stderr
        outputs.append(np.load(target)["out0"])
    assert np.array_equal(outputs[0], outputs[1])


def test_reads_stdin_and_prints_ir_that_parses_back(cnn_mlir):
    lowered = run("dfcc.driver.cli", "-", "-p", "lower-to-dataflow", stdin=cnn_mlir.read_text())
    assert lowered.returncode == 0, lowered.stderr
    assert "dataflow.conv" in lowered.stdout and "dialect_resources" in lowered.stdout
    again = run("dfcc.driver.cli", "-", stdin=lowered.stdout)
    assert again.returncode == 0, again.stderr
    assert again.stdout == lowered.stdout


@pytest.mark.parametrize("args, message", [
    (["missing.mlir"], "missing.mlir: cannot read input file"),
    (["{input}", "-p", "lower-to-dataflow{"], "pass pipeline, column"),
    (["{input}", "-p", "nope"], "unknown pass 'nope'"),
    (["{input}", "-t", "cpu", "-p", "lower-to-dataflow", "--input", "missing.npz", "-o", "y.npz"], "cannot read inputs"),
    (["{malformed}"], "malformed.mlir:2:"),
])
def test_errors_are_one_clear_line_and_exit_1(cnn_mlir, tmp_path, args, message):
    malformed = tmp_path / "malformed.mlir"
    malformed.write_text("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n  %b = arith.addf %a, : tensor<4xf32>\n}\n")
    args = [a.replace("{input}", str(cnn_mlir)).replace("{malformed}", str(malformed)) for a in args]
    result = run("dfcc.driver.cli", *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_failed_run_leaves_no_partial_output(cnn_mlir, tmp_path):
    target = tmp_path / "y.npz"
    np.save(tmp_path / "x.npy", np.ones((1, 3, 8, 8), np.float32))
    result = run("dfcc.driver.cli", str(cnn_mlir), "-p", "lower-to-dataflow", "-t", "cpu", "--input", str(tmp_path / "x.npy"), "-o", str(target))
    assert result.returncode == 1 and "expects (1, 3, 16, 16)" in result.stderr
    assert not target.exists() and not list(tmp_path.glob(".dfcc-*"))


def test_import_errors(tmp_path):
    result = run("dfcc.driver.import_cli", "examples/models/cnn.py:no_such_fn", "--shape", "1,3,16,16")
    assert result.returncode == 1 and "has no function 'no_such_fn'" in result.stderr
    result = run("dfcc.driver.import_cli", "examples/models/cnn.py:cnn", "--shape", "1,x")
    assert result.returncode == 1 and "comma-separated integers" in result.stderr


def test_python_api_plugin_pass_runs_in_pipelines(cnn_mlir, capsys):
    plugin = str(ROOT / "examples/plugins/set_folding.py")
    code = dfcc_main([str(cnn_mlir), "--load-pass-plugin", plugin, "-p", "lower-to-dataflow,set-folding{node=conv0 fine=3}"])
    assert code == 0
    assert "fine = 3 : i64" in capsys.readouterr().out
