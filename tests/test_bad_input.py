"""Bad input of every kind: exit 1 with one clear message (never a traceback, never a hang);
usage errors exit 1 like every user error, dfcc's own bugs exit 3 (README, "Exit codes")."""

import json
import signal
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dfcc.driver import cli
from dfcc.driver.cli import main as dfcc_main
from dfcc.frontends.prescan import check_text
from dfcc.passes.lower_to_dataflow import LowerToDataflow
from tests.bad_input_models import BLOB, DATAFLOW, LINALG

ROOT = Path(__file__).resolve().parent.parent
LOWER = ["-p", "lower-to-dataflow"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.mlir").write_text(LINALG)
    (tmp_path / "df.mlir").write_text(DATAFLOW)
    return tmp_path


@pytest.fixture
def deadline():
    """Fail (instead of hanging) when a case takes more than 10 s."""
    def expired(*_):
        raise TimeoutError("dfcc did not return within 10 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def fails(capsys, argv, message: str, code: int = 1) -> str:
    assert dfcc_main(argv) == code
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err, captured.err
    return captured.err


def test_truncated_string_is_reported_with_its_position(work, capsys, deadline):
    (work / "cut.mlir").write_text('module attributes {a = "' + "A" * 40)
    fails(capsys, ["cut.mlir"], "cut.mlir:1:24: the file ends inside this string literal")
    blob_cut = DATAFLOW[: DATAFLOW.index(BLOB) + 15]  # cut inside the weights blob
    (work / "blob.mlir").write_text(blob_cut)
    line, column = blob_cut.count("\n") + 1, blob_cut.splitlines()[-1].index('"0x') + 1
    fails(capsys, ["blob.mlir"], f"blob.mlir:{line}:{column}: the file ends inside this string")
    (work / "escape.mlir").write_text('module attributes {a = "' + "A" * 40 + '\\q"} {}\n')
    fails(capsys, ["escape.mlir"], "invalid escape '\\q\"'")


def test_prescan_is_linear(deadline):
    """10 M characters in one string: a scan that went back over the string at each character (quadratic, ~1e14
    steps) would run into the deadline; a linear one takes well under a second."""
    with pytest.raises(Exception, match="ends inside this string"):
        check_text('"' + "A" * 10_000_000, "big")
    check_text(DATAFLOW + "// a comment with \" and ( in it\n", "ok")


@pytest.mark.parametrize("text, message", [
    ("module {\n  \xff }", "m2.mlir:2:3: the file is not UTF-8 text (byte 0xff)"),
    ("module attributes {a = " + "[" * 1000 + "]" * 1000 + "} {}", "brackets nested deeper than 64 levels"),
    ("module attributes {a = [1, 2} {}", "unbalanced '}'"),
    ("module {\n", "m2.mlir:1:8: '{' is never closed"),
    ("module attributes {a = 1000000000000000000000000000000 : i64} {}", "m2.mlir:1:"),
    ("module attributes {a = 1.0e39 : f32} {}", "cannot parse: OverflowError"),
])
def test_malformed_mlir(work, capsys, text, message):
    (work / "m2.mlir").write_bytes(text.encode("latin-1"))
    fails(capsys, ["m2.mlir"], message)


def test_one_huge_line_is_not_echoed_whole(work, capsys, deadline):
    (work / "wide.mlir").write_text("module {\n  " + "x" * 5_000_000 + "\n}\n")
    err = fails(capsys, ["wide.mlir"], "wide.mlir:")
    assert len(err) < 2000


@pytest.mark.parametrize("old, new, message", [
    ("0x040000000000003F00000040", "0x040000000000003F0000004", "its blob is not whole hexadecimal bytes"),  # odd length
    ("0x040000000000003F00000040", "0x0400", "its blob holds 0 bytes (0 values), its type tensor<2xf32> needs 2"),  # short
    ('blob: "0x040000000000003F00000040"', "", "has no blob"),  # missing
    ('name = "w"', 'name = "scale"', "two nodes are named 'scale'"),
    ("%t = dataflow.sink %m", "%t = dataflow.sink %s", "stream 0 of dataflow.source 'input0' is read 2 times"),
])
def test_invalid_dataflow_ir(work, capsys, old, new, message):
    (work / "bad.mlir").write_text(DATAFLOW.replace(old, new))
    for target in ("mlir", "estimate"):
        fails(capsys, ["bad.mlir", "-t", target], message)


def test_unread_stream(work, capsys):
    unread = DATAFLOW.replace("  %t = dataflow.sink %m", '  %f = dataflow.source %a {name = "input1", perm = '
                              'array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>\n'
                              "  %t = dataflow.sink %m")
    (work / "bad.mlir").write_text(unread)
    fails(capsys, ["bad.mlir"], "stream 0 of dataflow.source 'input1' is never read")


LINALG_CONV = (ROOT / "lit_tests/foundation/lower_conv_bn_relu.mlir").read_text()
MATMUL = (ROOT / "lit_tests/lower/stream_matmul_softmax.mlir").read_text()
DEPTHWISE = (ROOT / "lit_tests/foundation/lower_depthwise.mlir").read_text()
RESIZE = (ROOT / "lit_tests/lower/resize.mlir").read_text()


@pytest.mark.parametrize("text, old, new, message", [
    (LINALG_CONV, "strides = dense<2>", "strides = dense<0>", "strides (0, 0); they must be positive"),
    (LINALG_CONV, "dilations = dense<1>", "dilations = dense<-1>", "dilations (-1, -1)"),
    (LINALG_CONV, "strides = dense<2>", "strides = dense<9223372036854775807>", "invalid IR"),
    (MATMUL, "permutation = [0, 2, 1]", "permutation = [0, 5, 1]", "invalid IR: IndexError"),
    (MATMUL, "permutation = [0, 2, 1]", "permutation = [0, 1, 1]", "invalid IR"),
    (MATMUL, "permutation = [0, 2, 1]", "permutation = [0, 2, 99999999999999999999]", "out of range for type i64"),
    (DEPTHWISE, "high[0, 0, 2, 2]", "high[0, 0, 0, 2]", "gives (1, 4, 7, 9), but its result type says (1, 4, 9, 9)"),
    (RESIZE, "arith.constant 0 : index", f"arith.constant {10**30} : index", "beyond 64 bits"),
    (LINALG, "  return %1", "  cf.br ^bb1\n^bb1:\n  return %1", "func.func has a region of several blocks"),
])
def test_bad_linalg_attributes(work, capsys, text, old, new, message):
    assert old in text
    (work / "bad.mlir").write_text(text.replace(old, new))
    fails(capsys, ["bad.mlir", *LOWER, "-t", "estimate"], message)


def _inputs(work: Path) -> dict[str, str]:
    """One broken --input file per kind, each with the message it must produce."""
    good = np.ones((1, 2, 2, 2), np.float32)
    np.savez(work / "good.npz", arg0=good)
    data = (work / "good.npz").read_bytes()
    (work / "empty.npz").write_bytes(b"")
    (work / "truncated.npz").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[data.index(b"\x93NUMPY") + 100] ^= 0xFF
    (work / "crc.npz").write_bytes(bytes(corrupt))
    np.save(work / "good.npy", good)
    header = (work / "good.npy").read_bytes()
    (work / "header.npy").write_bytes(header[:10] + b"garbage" + header[17:])
    np.savez(work / "object.npz", arg0=np.array([None] * 8, object).reshape(1, 2, 2, 2))
    np.save(work / "string.npy", np.full((1, 2, 2, 2), "1.5"))
    np.save(work / "structured.npy", np.zeros((1, 2, 2, 2), [("a", "f4")]))
    np.save(work / "complex.npy", good.astype(np.complex64) * 1j)
    np.save(work / "datetime.npy", np.zeros((1, 2, 2, 2), "datetime64[s]"))
    nan = good.copy()
    nan[0, 1, 0, 1] = np.nan
    np.save(work / "nan.npy", nan)
    np.save(work / "inf.npy", -np.inf * good)
    with zipfile.ZipFile(work / "keys.npz", "w") as archive:
        archive.writestr("x.npy", (work / "good.npy").read_bytes())
    return {"empty.npz": "cannot read inputs", "truncated.npz": "File is not a zip file", "crc.npz": "Bad CRC-32",
            "header.npy": "not a readable .npy", "object.npz": "Object arrays cannot be loaded",
            "string.npy": "dtype <U3", "structured.npy": "dtype [('a', '<f4')]", "complex.npy": "dtype complex64",
            "datetime.npy": "dtype datetime64[s]", "nan.npy": "1 NaN or infinite values (the first at index (0, 1, 0, 1))",
            "inf.npy": "8 NaN or infinite", "keys.npz": "must hold arrays arg0"}


@pytest.mark.parametrize("target", ["cpu", "csim"])
def test_broken_inputs(work, capsys, target):
    for name, message in _inputs(work).items():
        err = fails(capsys, ["m.mlir", *LOWER, "-t", target, "--input", name, "-o", "y.npz"], message)
        assert f"error: {name}: " in err
    assert not (work / "y.npz").exists()


def test_pass_options(work, capsys):
    fails(capsys, ["m.mlir", "-p", "lower-to-dataflow,quantize{seed=-1}"], "seed=-1 must be a non-negative integer")
    assert dfcc_main(["m.mlir", "-p", "lower-to-dataflow,explore{utilisation=1}", "-t", "estimate"]) == 0


def test_platform_files(work, capsys):
    platform = json.loads((ROOT / "platforms/zcu102.json").read_text())
    (work / "nan.json").write_text(json.dumps({**platform, "clock_mhz": float("nan")}))
    (work / "inf.json").write_text(json.dumps({**platform, "bandwidth_gbps": float("inf")}))
    (work / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    for name, message in (("nan.json", "NaN is not a number"), ("inf.json", "Infinity is not a number"),
                          ("deep.json", "nested too deeply")):
        fails(capsys, ["m.mlir", "-p", f"lower-to-dataflow,explore{{platform={name}}}"], f"{name}: bad platform file: {message}")


def test_plot_names(work, capsys):
    fails(capsys, ["m.mlir", *LOWER, "-t", "estimate", "--plot", "cost.jpg"], "name it FILE.png")
    fails(capsys, ["m.mlir", *LOWER, "-t", "estimate", "--plot", "missing/cost.png"], "No such file or directory")
    assert dfcc_main(["m.mlir", *LOWER, "-t", "estimate", "--plot", "cost.png"]) == 0
    assert (work / "cost.png").read_bytes().startswith(b"\x89PNG")


PLUGIN_PASS = """from dataclasses import dataclass
from xdsl.passes import ModulePass
from dfcc.passes.registry import register_pass

@register_pass
@dataclass(frozen=True)
class Broken(ModulePass):
    name = "broken"

    def apply(self, ctx, module):
        BODY
"""


@pytest.mark.parametrize("source, message", [
    ("def f(:\n", "SyntaxError: invalid syntax (plugin.py:1)"),
    ("import no_such_module_anywhere\n", "ModuleNotFoundError: No module named 'no_such_module_anywhere'"),
    ("x = 1\nraise RuntimeError('plugin setup failed')\n", "RuntimeError: plugin setup failed (plugin.py:2)"),
    (PLUGIN_PASS.replace("BODY", "raise KeyError('oops')"), "plugin pass 'broken' failed: KeyError: 'oops' ("),
    (PLUGIN_PASS.replace("BODY", "next(iter(module.walk())).attributes['sym_name'] = module"),
     "pass 'broken' produced invalid IR"),
])
def test_plugin_errors_are_the_users(work, capsys, source, message):
    (work / "plugin.py").write_text(source)
    fails(capsys, ["df.mlir", "--load-pass-plugin", "plugin.py", "-p", "broken"], message)


def test_usage_errors_exit_1_and_internal_errors_3(work, capsys, monkeypatch):
    assert dfcc_main(["m.mlir", "--no-such-option"]) == cli.EXIT_USER_ERROR == 1
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
    assert dfcc_main(["--help"]) == 0
    assert "exit codes: 0 done, 1 error" in cli._parser({}, {}).format_help()

    original = LowerToDataflow.apply

    def corrupting(self, ctx, module):
        original(self, ctx, module)
        nodes = [op for op in module.walk() if op.name == "dataflow.map"]
        nodes[0].properties["name"] = next(op for op in module.walk() if op.name == "dataflow.source").node_name

    monkeypatch.setattr(LowerToDataflow, "apply", corrupting)
    err = fails(capsys, ["m.mlir", *LOWER], "internal error: pass 'lower-to-dataflow' produced invalid IR: "
                "invalid IR: two nodes are named 'input0'", code=cli.EXIT_INTERNAL_ERROR)
    assert "please report" in err


def test_off_grid_weights_are_refused_by_every_target(work, capsys):
    """fixed<8, 1> holds [-1, 1): the weight 2.0 is off its grid; cpu refused it, csim rounded it."""
    off_grid = DATAFLOW.replace('name = "w", value', 'name = "w", format = !dataflow.fixed<8, 1, rnd, sat>, value')
    (work / "q.mlir").write_text(off_grid)
    np.save(work / "x.npy", np.ones((1, 2, 4, 4), np.float32))
    for target in ("mlir", "estimate", "cpu", "csim", "hls"):
        fails(capsys, ["q.mlir", "-t", target, "--input", "x.npy", "-o", f"out_{target}"],
              "weights 'w' hold values that are not on the grid of their format")
    assert sorted(p.name for p in work.iterdir()) == ["df.mlir", "m.mlir", "q.mlir", "x.npy"]
