"""dfcc never deletes or replaces what it did not create (README, "Output safety")."""

import json
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from dfcc.backends import output
from dfcc.driver.cli import main as dfcc_main
from dfcc.driver.import_cli import main as import_main
from tests.bad_input_models import LINALG as TINY

LOWER = ["-p", "lower-to-dataflow"]


def snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under root with its file type and (regular files) content."""
    return {str(p.relative_to(root)): (stat.S_IFMT(p.lstat().st_mode), p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working directory holding the model, with the cwd set to it."""
    (tmp_path / "m.mlir").write_text(TINY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(capsys, argv, message: str) -> None:
    assert dfcc_main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


@pytest.mark.parametrize("where, out", [(".", "."), (".", ""), ("sub", ".."), ("sub", "../.."), (".", "m.mlir"),
                                        (".", "ABSOLUTE_CWD"), ("sub", "../sub")])
def test_hls_refuses_the_cwd_its_parents_and_the_input(work, capsys, monkeypatch, where, out):
    (work / "sub").mkdir()
    (work / "sub" / "keep.txt").write_text("mine")
    before = snapshot(work)
    monkeypatch.chdir(work / where)
    model = str(work / "m.mlir")
    if out == "ABSOLUTE_CWD":
        out = str(work / where)
    assert dfcc_main([model, *LOWER, "-t", "hls", "-o", out]) == 1
    assert "refusing" in capsys.readouterr().err or out == ""
    assert snapshot(work) == before


def test_hls_refuses_a_directory_holding_the_input(tmp_path, capsys, monkeypatch):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.mlir").write_text(TINY)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    before = snapshot(tmp_path)
    refused(capsys, [str(tmp_path / "models" / "m.mlir"), *LOWER, "-t", "hls", "-o", str(tmp_path / "models")],
            "refusing to write over the input")
    assert snapshot(tmp_path) == before


def test_hls_replaces_only_empty_or_its_own_project(work, capsys):
    (work / "mine").mkdir()
    (work / "mine" / "notes.txt").write_text("precious")
    (work / "file").write_text("precious")
    before = snapshot(work)
    refused(capsys, ["m.mlir", *LOWER, "-t", "hls", "-o", "mine"], "did not write")
    refused(capsys, ["m.mlir", *LOWER, "-t", "hls", "-o", "file"], "not a directory")
    os.symlink("mine", work / "link")
    refused(capsys, ["m.mlir", *LOWER, "-t", "hls", "-o", "link"], "not a directory")
    os.unlink(work / "link")
    assert snapshot(work) == before
    (work / "empty").mkdir()
    for target in ("empty", "empty", "new/deeper"):  # the second run replaces the project the first wrote
        assert dfcc_main(["m.mlir", *LOWER, "-t", "hls", "-o", target]) == 0
        assert (work / target / output.PROJECT_MARKER).is_file() and (work / target / "top.cpp").is_file()
    assert not list(work.glob(".dfcc-*"))


def test_failed_renames_leave_no_temporaries(work, capsys, monkeypatch):
    def failing_replace(src, dst):
        raise OSError(18, "Invalid cross-device link")

    (work / "old").write_text("old")
    monkeypatch.setattr(os, "replace", failing_replace)
    refused(capsys, ["m.mlir", "-o", "old"], "Invalid cross-device link")
    refused(capsys, ["m.mlir", *LOWER, "-t", "hls", "-o", "a/b/proj"], "Invalid cross-device link")
    assert sorted(p.name for p in work.iterdir()) == ["m.mlir", "old"]
    assert (work / "old").read_text() == "old"


def test_overlong_names_are_a_clear_error(work, capsys):
    long = "x" * 300
    for argv in (["-o", long], [*LOWER, "-t", "hls", "-o", long], [*LOWER, "-t", "hls", "-o", f"{long}/p"]):
        refused(capsys, ["m.mlir", *argv], "300 bytes long")
    assert [p.name for p in work.iterdir()] == ["m.mlir"]


def test_file_outputs_refuse_the_input_and_directories_and_keep_symlinks(work, capsys):
    (work / "m.png").write_text(TINY)
    np.save(work / "x.npy", np.ones((1, 2, 2, 2), np.float32))
    refused(capsys, ["m.mlir", "-o", "m.mlir"], "refusing to write over the input")
    refused(capsys, ["m.mlir", *LOWER, "-t", "cpu", "--input", "x.npy", "-o", "x.npy"], "refusing")
    refused(capsys, ["m.png", *LOWER, "-t", "estimate", "--plot", "m.png"], "refusing")
    (work / "d").mkdir()
    refused(capsys, ["m.mlir", "-o", "d"], "existing directory")
    (work / "real.mlir").write_text("old")
    os.symlink("real.mlir", work / "link.mlir")
    assert dfcc_main(["m.mlir", "-o", "link.mlir"]) == 0
    assert (work / "link.mlir").is_symlink() and "linalg.generic" in (work / "real.mlir").read_text()
    assert (work / "m.mlir").read_text() == TINY


def test_dfcc_import_refuses_to_overwrite_its_model(tmp_path, capsys):
    model = tmp_path / "net.py"
    model.write_text("import torch\ndef net():\n    return torch.nn.ReLU()\n")
    assert import_main([f"{model}:net", "--shape", "1,2", "-o", str(model)]) == 1
    assert "refusing to write over the input" in capsys.readouterr().err
    assert "def net" in model.read_text()


def _every_file_target(work: Path, out: str) -> list[list[str]]:
    np.save(work / "x.npy", np.ones((1, 2, 2, 2), np.float32))
    return [["m.mlir", "-o", out], ["m.mlir", *LOWER, "-t", "cpu", "--input", "x.npy", "-o", out],
            ["m.mlir", *LOWER, "-t", "estimate", "--json", "-o", out]]


def test_dev_null_is_written_into_not_replaced(work, capsys):
    for argv in _every_file_target(work, "/dev/null"):
        assert dfcc_main(argv) == 0, capsys.readouterr().err
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    refused(capsys, ["m.mlir", *LOWER, "-t", "hls", "-o", "/dev/null"], "not a directory")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
def test_device_nodes_survive_as_root(work, capsys):
    os.mknod(work / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mknod(work / "full", stat.S_IFCHR | 0o666, os.makedev(1, 7))
    for argv in _every_file_target(work, "null"):
        assert dfcc_main(argv) == 0, capsys.readouterr().err
    refused(capsys, ["m.mlir", "-o", "full"], "No space left on device")
    refused(capsys, ["m.mlir", *LOWER, "-t", "hls", "-o", "full"], "not a directory")
    assert stat.S_ISCHR(os.stat(work / "null").st_mode) and stat.S_ISCHR(os.stat(work / "full").st_mode)
    assert not list(work.glob(".dfcc-*"))


def test_fifo_is_written_into(work):
    os.mkfifo(work / "pipe")
    received = []
    reader = threading.Thread(target=lambda: received.append((work / "pipe").read_text()))
    reader.start()
    assert dfcc_main(["m.mlir", *LOWER, "-t", "estimate", "--json", "-o", "pipe"]) == 0
    reader.join(10)
    assert json.loads(received[0]) and stat.S_ISFIFO(os.stat(work / "pipe").st_mode)


def test_csim_removes_its_temporary_directory_on_errors(work, capsys, monkeypatch):
    import tempfile

    scratch = work / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    np.save(work / "x.npy", np.ones((1, 2, 3, 3), np.float32))  # wrong shape: fails while writing the project
    refused(capsys, ["m.mlir", *LOWER, "-t", "csim", "--input", "x.npy", "-o", "y.npz"], "the design expects")
    assert list(scratch.iterdir()) == [] and not (work / "y.npz").exists()


def test_a_failed_swap_restores_the_old_project(work, capsys, monkeypatch):
    assert dfcc_main(["m.mlir", *LOWER, "-t", "hls", "-o", "proj"]) == 0
    before = snapshot(work)
    real_replace = os.replace

    def failing_second_rename(src, dst):
        if Path(src).name != "old" and Path(dst).name == "proj":  # the new project moving in
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_second_rename)
    refused(capsys, ["m.mlir", *LOWER, "-t", "hls", "-o", "proj"], "No space left on device")
    assert snapshot(work) == before
