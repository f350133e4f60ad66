"""The HLS emitter and project writer: files, structure, lanes, ROMs, CLI targets and error paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dfcc.backends.hls.emit import emit_design
from dfcc.kinds.hls_types import Fx, array_text, exact_fx_for, float_literal
from dfcc.kinds.hls_body import ERF_HELPER
from dfcc.driver.cli import main as dfcc_main
from dfcc.errors import DfccError
from dfcc.frontends.mlir import read_module

SMALL = Path(__file__).parent.parent / "lit_tests" / "hls" / "conv_relu_residual.mlir"

UNSUPPORTED = """
builtin.module {
  func.func @main(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x4x8x8xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x4x4xf32>) -> !dataflow.stream<1x4x4x2xf32>
    %1 = dataflow.resize %0 {name = "up0", scale = array<i64: 1, 2, 2, 2>, mode = "nearest"} : (!dataflow.stream<1x4x4x2xf32>) -> !dataflow.stream<1x8x8x4xf32>
    %2 = dataflow.sink %1 {name = "output0", perm = array<i64: 0, 2, 3, 1>} : (!dataflow.stream<1x8x8x4xf32>) -> tensor<1x4x8x8xf32>
    func.return %2 : tensor<1x4x8x8xf32>
  }
}
"""

ERF_MAP = """
builtin.module {
  func.func @main(%arg0: tensor<1x8xf32>) -> tensor<1x1xf32> {
    %0 = dataflow.source %arg0 {name = "input0", perm = array<i64: 0, 1>} : (tensor<1x8xf32>) -> !dataflow.stream<1x8xf32>
    %p = dataflow.weights {value = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>, name = "scale"} : tensor<8xf32>
    %1 = dataflow.map %0 params(%p : tensor<8xf32>) {name = "gelu0"} : !dataflow.stream<1x8xf32> -> !dataflow.stream<1x8xf32> {
    ^bb0(%x: f32, %s: f32):
      %e = math.erf %x : f32
      %m = arith.mulf %e, %s : f32
      dataflow.yield %m : f32
    }
    %2 = dataflow.reduce %1 {name = "mean0", kind = "mean", dims = array<i64: 1>} : (!dataflow.stream<1x8xf32>) -> !dataflow.stream<1x1xf32>
    %3 = dataflow.sink %2 {name = "output0", perm = array<i64: 0, 1>} : (!dataflow.stream<1x1xf32>) -> tensor<1x1xf32>
    func.return %3 : tensor<1x1xf32>
  }
}
"""


def test_project_files(tmp_path):
    out = tmp_path / "prj"
    assert dfcc_main([str(SMALL), "-t", "hls", "-o", str(out)]) == 0
    for name in ("top.cpp", "top.h", "tb.cpp", "run_hls.tcl", "README.md", "include/dfcc/conv.h", "include/dfcc/rom.h",
                 "weights/w_conv0_w_conv0.h", "tb_data/input0.bin", "tb_data/output0.expected.bin"):
        assert (out / name).is_file(), name
    tcl = (out / "run_hls.tcl").read_text()
    assert "set_part {xczu7ev-ffvc1156-2-e}" in tcl  # the platform recorded on the module (zcu104)
    weights = (out / "weights" / "w_conv0_w_conv0.h").read_text()
    # the packed ROM of conv0's words (CO = 2 filters a word): 2 channels x 9 positions x 1 filter step
    assert "static const float w_conv0_w_conv0[18][2] = " in weights
    assert np.fromfile(out / "tb_data" / "input0.bin", dtype="<f4").size == 32


def test_csim_cli_matches_cpu(tmp_path):
    x = tmp_path / "x.npz"
    np.savez(x, arg0=np.random.default_rng(3).standard_normal((1, 2, 4, 4)).astype(np.float32))
    assert dfcc_main([str(SMALL), "-t", "csim", "--input", str(x), "-o", str(tmp_path / "y.npz")]) == 0
    assert dfcc_main([str(SMALL), "-t", "cpu", "--input", str(x), "-o", str(tmp_path / "r.npz")]) == 0
    y, r = np.load(tmp_path / "y.npz")["out0"], np.load(tmp_path / "r.npz")["out0"]
    assert y.shape == r.shape == (1, 2, 4, 4)
    assert np.abs(y - r).max() <= 1e-5 * max(1.0, np.abs(r).max())


def test_erf_params_reduce_csim(tmp_path):
    from dfcc.analyses.reference import run_reference
    from dfcc.backends.hls.csim import csim

    path = tmp_path / "erf.mlir"
    path.write_text(ERF_MAP)
    module = read_module(str(path))
    design = emit_design(module)
    assert ERF_HELPER in design.files["top.cpp"]
    x = [np.linspace(-3, 3, 8, dtype=np.float32).reshape(1, 8)]
    result = csim(module, x)
    assert result.warnings == []
    ref = run_reference(module, x)[0]
    assert np.abs(result.outputs[0] - ref).max() <= 1e-5 * max(1.0, np.abs(ref).max())


def test_unsupported_node_is_named(tmp_path):
    path = tmp_path / "resize.mlir"
    path.write_text(UNSUPPORTED)
    with pytest.raises(DfccError, match=r"dataflow.resize 'up0'.*not supported"):
        emit_design(read_module(str(path)))


def test_cli_errors(tmp_path, capsys):
    assert dfcc_main([str(SMALL), "-t", "hls"]) == 1
    assert "-o DIR" in capsys.readouterr().err
    assert dfcc_main([str(SMALL), "-t", "csim", "-o", str(tmp_path / "y.npz")]) == 1
    assert "--input" in capsys.readouterr().err


def test_build_errors_name_the_generated_file(tmp_path):
    from dfcc.backends.hls.csim import build
    from dfcc.backends.hls.project import write_project

    design = emit_design(read_module(str(SMALL)))
    design.files["top.cpp"] = design.files["top.cpp"].replace("stage_add0(s_conv1", "stage_add0(undeclared_stream")
    root = write_project(design, tmp_path / "broken", tcl=False)
    with pytest.raises(DfccError, match=r"top\.cpp:\d+:\d+: error: .*undeclared_stream"):
        build(root)


def test_literals_and_types():
    assert float_literal(1.0) == "1.0f"
    assert float_literal(np.float32(0.1)) == "0.100000001f"
    assert float(float_literal(np.float32(1e-5))[:-1]) == pytest.approx(1e-5)
    assert exact_fx_for(np.array([0.25, -1.5])) == Fx(4, 2)  # codes 1, -6 at 2 fraction bits
    assert exact_fx_for(np.array([3.0])) == Fx(3, 3)
    assert array_text(np.arange(4).reshape(2, 2), str) == "{{0, 1},\n{2, 3}}"
    # rows longer than per_line break inside; -0.0 keeps its sign; codes far apart (a sorted look-up table)
    signed_zeros = np.array([[[-0.0, 0.0, 1.5]], [[2.0, 0.0, -0.0]]])
    assert array_text(signed_zeros, repr, per_line=2) == "{{{-0.0, 0.0,\n1.5}},\n{{2.0, 0.0,\n-0.0}}}"
    assert array_text(np.array([10**6, 5, -10**6]), "{%d}".__mod__) == "{{1000000}, {5}, {-1000000}}"


def test_weights_memory_becomes_bind_storage(tmp_path):
    """Each conv's weights are one packed ROM of its MAC's words (conv0: 18 words of 2 weights, conv1: 36 of 1),
    bound to the memory its cost model counts: explore's dataflow.weights_memory, or BRAM, LUTRAM under a
    BRAM18's worth (conv1: 36 16-bit weights, 576 bits); a node's own copy of weights two nodes share; the biases
    stay in LUTs, as costed, unbound."""
    for memory in ("lutram", "uram"):
        path = tmp_path / f"{memory}.mlir"
        path.write_text(SMALL.read_text().replace('{name = "conv0",', f'{{dataflow.weights_memory = "{memory}", name = "conv0",'))
        top = emit_design(read_module(str(path))).files["top.cpp"]
        assert f"DFCC_HLS(BIND_STORAGE variable=w_conv0_w_conv0 type=rom_1p impl={memory})" in top
        assert "DFCC_HLS(BIND_STORAGE variable=w_conv0_w_conv1 type=rom_1p impl=lutram)" in top
        assert "dfcc::weight_rom<16, 18, 1>(w_conv0_w_conv0, conv0_words);" in top  # 16 output pixels, a sweep each
        assert "dfcc::weight_rom<16, 36, 1>(w_conv0_w_conv1, conv1_words);" in top
        assert top.count("BIND_STORAGE") == 2


@pytest.mark.parametrize("memory", ["uram", "lutram"])
def test_fifo_memory_becomes_bind_storage(tmp_path, memory):
    """A stream whose type names a memory is bound there (UG1399: BIND_STORAGE type=fifo on an hls::stream);
    the others are left to Vitis HLS."""
    path = tmp_path / f"{memory}.mlir"
    path.write_text(SMALL.read_text().replace("depth 40>", f"depth 40, {memory}>"))
    top = emit_design(read_module(str(path))).files["top.cpp"]
    assert (f"DFCC_HLS(STREAM variable=s_fork0_1 depth=40)\n"
            f"    DFCC_HLS(BIND_STORAGE variable=s_fork0_1 type=fifo impl={memory})") in top
    assert top.count("type=fifo") == 1


@pytest.mark.parametrize("model, node, why", [
    (SMALL, "conv0", "need fixed-point weights"),
    (SMALL.parent.parent / "sparsity" / "linear.mlir", "linear0", "dense conv and linear nodes only"),
])
def test_off_chip_weights_not_built_are_refused(tmp_path, model, node, why):
    """Streamed weights are built for dense conv and linear in fixed point (tests/test_spill.py); a float
    design or a zero-skipping kind with weights off chip is refused, never silently built on chip."""
    path = tmp_path / "offchip.mlir"
    path.write_text(model.read_text().replace(f'name = "{node}"', f'name = "{node}", "dataflow.weights_memory" = "off_chip"', 1))
    with pytest.raises(DfccError, match=rf"'{node}'.*{why}"):
        emit_design(read_module(str(path)))


def test_fabric_multipliers_are_pinned_and_compute_the_same(tmp_path):
    """explore's `dataflow.mult_impl = "lut"` selects fabric_mul (BIND_OP impl=fabric); values are unchanged."""
    path = tmp_path / "lut.mlir"
    path.write_text(SMALL.read_text().replace('{name = "conv0",', '{dataflow.mult_impl = "lut", name = "conv0",'))
    top = emit_design(read_module(str(path))).files["top.cpp"]
    assert top.count("dfcc::fabric_mul") == 1  # conv0 only; conv1 keeps DSPs
    x = tmp_path / "x.npz"
    np.savez(x, arg0=np.random.default_rng(4).standard_normal((1, 2, 4, 4)).astype(np.float32))
    assert dfcc_main([str(path), "-t", "csim", "--input", str(x), "-o", str(tmp_path / "y.npz")]) == 0
    assert dfcc_main([str(SMALL), "-t", "csim", "--input", str(x), "-o", str(tmp_path / "d.npz")]) == 0
    assert np.array_equal(np.load(tmp_path / "y.npz")["out0"], np.load(tmp_path / "d.npz")["out0"])


def test_hls_project_is_written_whole_or_not_at_all(tmp_path):
    out = tmp_path / "prj"
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((1, 2, 3, 3), np.float32))  # the model takes 1x2x4x4
    assert dfcc_main([str(SMALL), "-t", "hls", "-o", str(out), "--input", str(bad)]) == 1
    assert not out.exists() and not list(tmp_path.glob(".prj*"))
    assert dfcc_main([str(SMALL), "-t", "hls", "-o", str(out)]) == 0
    (out / "stale.txt").write_text("from an earlier run")
    assert dfcc_main([str(SMALL), "-t", "hls", "-o", str(out)]) == 0
    assert (out / "top.cpp").is_file() and not (out / "stale.txt").exists()
    assert not list(tmp_path.glob(".prj*"))


def test_port_names_cannot_shadow_testbench_locals(tmp_path):
    """Ports named like the testbench's own variables (`out`, `buf`, `dir`) still compile and match."""
    path = tmp_path / "names.mlir"
    path.write_text(SMALL.read_text().replace('name = "output0"', 'name = "out"').replace('name = "input0"', 'name = "buf"'))
    x = tmp_path / "x.npz"
    np.savez(x, arg0=np.random.default_rng(5).standard_normal((1, 2, 4, 4)).astype(np.float32))
    assert dfcc_main([str(path), "-t", "csim", "--input", str(x), "-o", str(tmp_path / "y.npz")]) == 0
    assert dfcc_main([str(SMALL), "-t", "csim", "--input", str(x), "-o", str(tmp_path / "d.npz")]) == 0
    assert np.array_equal(np.load(tmp_path / "y.npz")["out0"], np.load(tmp_path / "d.npz")["out0"])


def test_top_h_includes_the_headers_of_the_designs_kinds(tmp_path):
    """ERF_MAP (a map with a parameter ROM and a reduction): streams and ROMs only, no kernel headers."""
    (tmp_path / "erf.mlir").write_text(ERF_MAP)
    top_h = emit_design(read_module(str(tmp_path / "erf.mlir"))).files["top.h"]
    assert [line for line in top_h.splitlines() if line.startswith('#include "')] == [
        '#include "dfcc/rom.h"', '#include "dfcc/vec.h"']
    top_h = emit_design(read_module(str(SMALL))).files["top.h"]  # conv, map, fork
    assert [line for line in top_h.splitlines() if line.startswith('#include "')] == [
        '#include "dfcc/conv.h"', '#include "dfcc/fork.h"', '#include "dfcc/rom.h"', '#include "dfcc/vec.h"']
