"""The quantize pass and the bit-accurate fixed-point CPU reference (dialects/fixed_point.py, the kinds' run_fixed)."""

import itertools
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from xdsl.dialects.builtin import StringAttr

from dfcc import kinds
from dfcc.backends.output import without_weights
from dfcc.dialects import fixed_point as fx
from dfcc.dialects.resources import elements_array
from dfcc.analyses.reference import run_reference
from dfcc.dialects.dataflow import FixedType
from dfcc.kinds.map import map_kind, map_table
from dfcc.kinds.reduce import mean_reciprocal
from dfcc.driver.cli import main as dfcc_main
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, read_module
from dfcc.passes.quantize import Quantize

LINEAR_RELU = Path(__file__).parent.parent / "lit_tests" / "quantize" / "linear_relu.mlir"


# ---- cast semantics on hand-computed values --------------------------------------------------------

@pytest.mark.parametrize("rounding, expected", [
    # x = 0.3125, 0.375, -0.375, -0.3125, 0.625 with 2 fractional bits (LSB 0.25)
    ("trn", [0.25, 0.25, -0.5, -0.5, 0.5]),        # floor
    ("rnd", [0.25, 0.5, -0.25, -0.25, 0.75]),      # half toward +inf (0.375 -> 0.5, -0.375 -> -0.25)
    ("rnd_conv", [0.25, 0.5, -0.5, -0.25, 0.5]),   # half to even (0.375 -> 0.5, -0.375 -> -0.5, 0.625 -> 0.5)
])
def test_rounding_modes(rounding, expected):
    fmt = FixedType(8, 6, True, rounding, "sat")
    assert fx.cast(np.array([0.3125, 0.375, -0.375, -0.3125, 0.625]), fmt).tolist() == expected


def test_overflow_modes():
    # fixed<4, 2>: codes -8..7, LSB 0.25, range [-2, 1.75]
    sat, wrap = FixedType(4, 2, True, "trn", "sat"), FixedType(4, 2, True, "trn", "wrap")
    x = np.array([2.0, 1.75, -2.25, 5.5, -2.0])
    assert fx.cast(x, sat).tolist() == [1.75, 1.75, -2.0, 1.75, -2.0]
    # 2.0 = code 8 -> -8 (-2.0); -2.25 = code -9 -> 7 (1.75); 5.5 = code 22 -> 6 (1.5)
    assert fx.cast(x, wrap).tolist() == [-2.0, 1.75, 1.75, 1.5, -2.0]
    # unsigned fixed<4, 2>: codes 0..15, range [0, 3.75]
    usat, uwrap = FixedType(4, 2, False, "trn", "sat"), FixedType(4, 2, False, "trn", "wrap")
    assert fx.cast(np.array([-0.5, 4.0, 3.75]), usat).tolist() == [0.0, 3.75, 3.75]
    assert fx.cast(np.array([-0.5, 4.0, 3.75]), uwrap).tolist() == [3.5, 0.0, 3.75]


def test_negative_and_large_integer_bits():
    # fixed<4, -2>: LSB 2^-6, codes -8..7 -> [-0.125, 0.109375]
    fmt = FixedType(4, -2, True, "rnd", "sat")
    assert fx.cast(np.array([0.05, 0.5, -1.0]), fmt).tolist() == [3 / 64, 7 / 64, -0.125]
    # fixed<4, 6>: LSB 4, codes -8..7 -> [-32, 28]
    big = FixedType(4, 6, True, "rnd", "sat")
    assert fx.cast(np.array([5.9, 6.0, 100.0]), big).tolist() == [4.0, 8.0, 28.0]


def test_scale2_is_ldexp_bit_for_bit():
    # the power-of-two product the casts use instead of np.ldexp: the same bits, signed zeros, inf and
    # nan, subnormal results (rounded once), overflow, and exponents beyond a normal 2^k
    tiny, big = np.finfo(np.float64).tiny, np.finfo(np.float64).max
    x = np.array([0.0, -0.0, 1.5, -3.0, np.inf, -np.inf, np.nan, tiny, 3 * tiny, 5e-324, big, -big / 3,
                  0.49999999999999994, 1 + 2.0 ** -52, 2.0 ** 53 - 1, 12345.678])
    x = np.concatenate([x, np.random.default_rng(0).standard_normal(1000) * 10.0 ** np.arange(-300, 300, 0.6)])
    with np.errstate(over="ignore"):
        for k in (-1100, -1074, -1023, -1022, -60, -9, -1, 0, 1, 9, 60, 1023, 1024, 1100):
            assert np.array_equal(fx.scale2(x, k).view(np.int64), np.ldexp(x, k).view(np.int64)), k


def test_mean_reciprocal_and_map_table():
    assert mean_reciprocal(4) == 0.25 and mean_reciprocal(64) == 1 / 64
    assert abs(mean_reciprocal(49) - 1 / 49) < 2 ** -22
    module = _quantized(LINEAR_RELU, weight_bits=8, act_bits=8)
    relu = next(op for op in module.walk() if op.name == "dataflow.map")
    table = map_table(relu)
    x_fmt, y_fmt = fx.fixed_of(relu.inputs[0]), fx.fixed_of(relu.output)
    codes = fx.input_codes(x_fmt)
    assert table.shape == (256,) and map_kind(relu) == "exact"  # HLS compares (a table would do the same)
    np.testing.assert_array_equal(table, fx.cast(np.maximum(codes * 2.0 ** -x_fmt.frac_bits, 0), y_fmt))


# ---- agreement with ap_fixed (g++ against the hls4ml ap_types headers) ------------------------------

_FORMATS = [(6, 3), (8, -2), (5, 7), (8, 0), (12, 4)]


def _ap_type(width, int_bits, signed, rounding, overflow):
    q = {"trn": "AP_TRN", "rnd": "AP_RND", "rnd_conv": "AP_RND_CONV"}[rounding]
    o = {"wrap": "AP_WRAP", "sat": "AP_SAT"}[overflow]
    return f"ap_{'' if signed else 'u'}fixed<{width}, {int_bits}, {q}, {o}>"


def test_cast_matches_ap_fixed(tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("no g++")
    toolchain = pytest.importorskip("dfcc.backends.hls.toolchain")
    try:
        toolchain.ap_types_dir()
    except DfccError as error:
        pytest.skip(str(error))
    types = [(w, i, s, r, o) for (w, i), s, r, o in itertools.product(_FORMATS, (True, False), ("trn", "rnd", "rnd_conv"), ("wrap", "sat"))]
    rng = np.random.default_rng(0)
    values = []
    for w, i in _FORMATS:  # ties, near-ties and out-of-range values for each grid
        lsb = 2.0 ** (i - w)
        values += list((rng.integers(-3 * 2 ** w, 3 * 2 ** w, 40) + 0.5) * lsb)
        values += list(rng.uniform(-4, 4, 40) * 2.0 ** i)
    values = np.array(values)
    body = "\n".join(f"        {{ {_ap_type(*t)} v = x; std::printf(\"%.17g \", v.to_double()); }}" for t in types)
    source = tmp_path / "cast.cpp"
    source.write_text(f"""#include <ap_fixed.h>
#include <cstdio>
int main() {{
    double x;
    while (std::scanf("%lf", &x) == 1) {{
{body}
        std::printf("\\n");
    }}
    return 0;
}}
""")
    binary = toolchain.compile_cpp(source).binary
    output = toolchain.run(binary, stdin="\n".join(repr(float(v)) for v in values))
    got = np.array([[float(t) for t in line.split()] for line in output.strip().splitlines()])
    assert got.shape == (len(values), len(types))
    for column, t in enumerate(types):
        ours = fx.cast(values, FixedType(*t))
        mismatch = np.flatnonzero(ours != got[:, column])
        assert mismatch.size == 0, f"{_ap_type(*t)}: x={values[mismatch[:3]]} ours={ours[mismatch[:3]]} ap_fixed={got[mismatch[:3], column]}"


def _exact_code(value: float, fmt: FixedType) -> int:
    """cast's code of `value` from first principles: rational arithmetic, then overflow on Python integers."""
    from fractions import Fraction

    scaled = Fraction(value) * Fraction(2) ** fmt.frac_bits
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    mode = fmt.rounding.data
    code = floor + (mode == "rnd" and rest >= Fraction(1, 2)
                    or mode == "rnd_conv" and (rest > Fraction(1, 2) or rest == Fraction(1, 2) and floor % 2 == 1))
    lo, hi = fx.code_range(fmt)
    if fmt.overflow.data == "sat":
        return min(max(code, lo), hi)
    return (code - lo) % (hi - lo + 1) + lo


@pytest.mark.parametrize("rounding, overflow", itertools.product(("trn", "rnd", "rnd_conv"), ("sat", "wrap")))
def test_cast_equals_rational_arithmetic_below_and_past_2_52_codes(rounding, overflow):
    """to_codes rounds in one numpy operation while every scaled value is below 2^52 and takes the general
    path past it (and for inf/nan): both give the codes exact arithmetic gives, ties and overflow included."""
    rng = np.random.default_rng(11)
    for width, int_bits in ((8, 3), (16, -4), (53, 10), (24, 30)):
        fmt = FixedType(width, int_bits, True, rounding, overflow)
        lsb = 2.0 ** -fmt.frac_bits
        ties = (rng.integers(-2 ** 20, 2 ** 20, 50) + 0.5) * lsb
        spread = rng.standard_normal(50) * 2.0 ** rng.integers(-10, 60, 50) * lsb  # codes up to ~2^60
        for values in (ties, spread, np.append(ties, 2.0 ** 53 * lsb)):  # one value past 2^52 codes
            expected = [_exact_code(v, fmt) for v in values.tolist()]
            assert fx.to_codes(values, fmt).tolist() == expected, fmt


@pytest.mark.parametrize("filters, size", [(4, 6), (64, 2)])  # more output pixels than filters, then fewer
def test_an_exact_conv_takes_its_faster_product_with_the_same_numbers_and_layout(filters, size):
    """conv2d(exact=True) (run_fixed's integer codes) orders its GEMM by shape: the same exact sums, in the
    layout the float product writes (downstream nodes see the same arrays)."""
    from dfcc.kinds.window import conv2d

    rng = np.random.default_rng(6)
    x_codes = rng.integers(-128, 128, (1, size, size, 32))
    w_codes = rng.integers(-128, 128, (filters, 32, 3, 3))  # |sums| < 32 * 9 * 2^14 < 2^24: exact in float32
    args = (x_codes.astype(np.float32), w_codes.astype(np.float32), None, (1, 1), (1, 1), (1, 1, 1, 1), 1)
    fast, plain = conv2d(*args, exact=True), conv2d(*args)
    patches = np.pad(x_codes, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = sum(np.einsum("nhwc,fc->nhwf", patches[:, r:r + size, c:c + size], w_codes[:, :, r, c])
                   for r in range(3) for c in range(3))
    np.testing.assert_array_equal(fast, expected)
    assert fast.strides == plain.strides and fast.dtype == plain.dtype


# ---- the pass on IR ----------------------------------------------------------------------------------

def _quantized(path, **options):
    module = read_module(str(path))
    Quantize(**options).apply(make_context(), module)
    return module


def test_check_exact_refuses_accumulators_past_53_bits():
    # integers of 24 bits (|x| <= 2^23) times weights of 2^23: each product 2^46 units
    op = SimpleNamespace(name="dataflow.linear", node_name=StringAttr("fc"))
    fmt = FixedType(24, 24)
    full = np.full((1, 64), 2.0 ** 23)
    fx.check_exact(op, fmt, full, fmt, None)  # 64 products: 2^52, exact
    with pytest.raises(DfccError, match="more than 53 bits"):
        fx.check_exact(op, fmt, np.full((1, 128), 2.0 ** 23), fmt, None)  # 128 products: 2^53
    with pytest.raises(DfccError, match="more than 53 bits"):
        fx.check_exact(op, fmt, full, fmt, np.array([-2.0 ** 52]))  # -2^52 - 2^52
    one_large = np.ones((1, 128))
    one_large[0, 0] = 2.0 ** 23
    fx.check_exact(op, fmt, one_large, fmt, None)  # coarse bound 128 * 2^46 = 2^53; worst case ~2^46


def test_linear_is_bit_exact_against_integer_arithmetic():
    """The reference's linear layer equals the integer computation on codes (acc, then T_out)."""
    module = _quantized(LINEAR_RELU, weight_bits=6, act_bits=7, rounding="rnd_conv", overflow="wrap", acc_bits=12)
    from dfcc.dialects.resources import elements_array

    linear = next(op for op in module.walk() if op.name == "dataflow.linear")
    x_fmt, y_fmt, acc_fmt = fx.fixed_of(linear.input), fx.fixed_of(linear.output), linear.acc_format
    w = elements_array(linear.weights.owner.value).astype(np.float64)
    b = elements_array(linear.bias.owner.value).astype(np.float64)
    w_fmt = linear.weights.owner.format
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.standard_normal((1, 4)).astype(np.float32) * 3
        xq = fx.to_codes(x, x_fmt).astype(np.int64)
        acc_frac = acc_fmt.frac_bits
        wq = (w * 2.0 ** w_fmt.frac_bits).astype(np.int64)
        bq = (b * 2.0 ** acc_frac).astype(np.int64)
        acc = xq @ wq.T * 2 ** (acc_frac - x_fmt.frac_bits - w_fmt.frac_bits) + bq  # exact, in acc LSBs
        lo, hi = fx.code_range(acc_fmt)
        acc = (acc - lo) % (hi - lo + 1) + lo  # wrap to the accumulator's width
        expected = fx.cast(acc * 2.0 ** -acc_frac, y_fmt)
        # run only the source and linear: compare against the stream the observer sees
        from dfcc.passes.quantize import _Collector

        collector = _Collector()
        run_reference(module, [x], observers=(collector,))
        np.testing.assert_array_equal(collector.values[("linear0", 0)], expected)


@pytest.mark.parametrize("w_bits, x_bits", [(8, 8), (12, 16)])  # sums below 2^24 (float32), then above (float64)
def test_exact_products_equal_integer_arithmetic(w_bits, x_bits):
    from dfcc.kinds.window import conv2d

    rng = np.random.default_rng(5)
    x_fmt, w_fmt = FixedType(x_bits, 3, False), FixedType(w_bits, 1)
    x_codes = rng.integers(0, 2 ** x_bits, (1, 6, 6, 32))
    w_codes = rng.integers(-2 ** (w_bits - 1), 2 ** (w_bits - 1), (4, 32, 3, 3))
    x, w = x_codes * 2.0 ** -x_fmt.frac_bits, w_codes * 2.0 ** -w_fmt.frac_bits
    calls = []

    def products(v, weights, bias):
        calls.append(v.dtype)
        return conv2d(v, weights, bias, (1, 1), (1, 1), (1, 1, 1, 1), 1)

    exact = fx.exact_products(x, x_fmt, w, w_fmt, products)
    patches = np.pad(x_codes, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = sum(np.einsum("nhwc,fc->nhwf", patches[:, r:r + 6, c:c + 6], w_codes[:, :, r, c])
                   for r in range(3) for c in range(3))  # int64, exact
    assert calls == [np.float32 if w_bits == 8 else np.float64]
    np.testing.assert_array_equal(exact, expected * 2.0 ** -(x_fmt.frac_bits + w_fmt.frac_bits))


def test_weights_on_grid_and_formats_written():
    module = _quantized(LINEAR_RELU, weight_bits=5, act_bits=8, per_channel=True)
    from dfcc.dialects.resources import elements_array

    weights = next(op for op in module.walk() if op.name == "dataflow.weights" and op.node_name.data == "w")
    formats = fx.formats_of(weights.format)
    assert [f.width.data for f in formats] == [5, 5, 5]
    value = elements_array(weights.value).astype(np.float64)
    np.testing.assert_array_equal(fx.cast_weights(value, formats), value)
    assert "sqnr" in next(op for op in module.walk() if op.name == "dataflow.linear").attributes


def test_sixteen_bit_quantized_cnn_matches_float():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch_mlir")
    from dfcc.examples.models import MODELS
    from dfcc.frontends.torch import import_module
    from dfcc.passes.lower_to_dataflow import LowerToDataflow

    spec = MODELS["cnn"]
    module = import_module(spec.build(), *spec.inputs())
    LowerToDataflow().apply(make_context(), module)
    x = [t.numpy() for t in spec.inputs(seed=5)]
    reference = run_reference(module, x)[0]
    quantized = module.clone()
    Quantize(weight_bits=16, act_bits=16).apply(make_context(), quantized)
    got = run_reference(quantized, x)[0]
    assert np.max(np.abs(got - reference)) < 1e-3 * np.max(np.abs(reference))
    eight = module.clone()
    Quantize(weight_bits=8, act_bits=8).apply(make_context(), eight)
    err8 = np.max(np.abs(run_reference(eight, x)[0] - reference))
    assert 1e-3 * np.max(np.abs(reference)) < err8 < 0.1 * np.max(np.abs(reference))
    assert not np.array_equal(torch.tensor(got), torch.tensor(reference))  # it did quantize



def test_graph_with_sparse_weights_quantizes_its_streams():
    """A sparse conv's encoded weights are constants like dense ones: quantize measures the
    streams around them (it raised a KeyError on the weights' missing observation)."""
    path = LINEAR_RELU.parent.parent / "sparsity" / "encoded.mlir"
    float_module = read_module(str(path))
    module = _quantized(path, weight_bits=8, act_bits=8, samples=4)
    x = [np.random.default_rng(1).standard_normal((1, 2, 6, 6)).astype(np.float32)]
    reference, got = run_reference(float_module, x)[0], run_reference(module, x)[0]
    assert fx.fixed_of(next(op for op in module.walk() if op.name == "dataflow.sparse_conv").output) is not None
    assert np.max(np.abs(got - reference)) < 0.1 * np.max(np.abs(reference))


def test_pruned_weights_are_quantized_in_place():
    """Sparsify then quantize: the kept values are cast to the weight format (8 bits, rnd/sat, I from the
    weights' range), the mask is the float graph's, and the conv gets the exact accumulator."""
    path = LINEAR_RELU.parent.parent / "sparsity" / "encoded.mlir"
    float_module = read_module(str(path))
    module = _quantized(path, weight_bits=8, act_bits=8, samples=4)
    before, after = (next(op for op in m.walk() if isinstance(op, kinds.SparseWeightsOp)) for m in (float_module, module))
    fmt = after.format
    # the weights range over -1.1 .. 1.0: ceil(log2 1.1) + sign = 2 integer bits, 6 fractional bits
    assert (fmt.width.data, fmt.int_bits.data) == (8, 2)
    kept = elements_array(before.values).astype(np.float64)
    assert np.array_equal(elements_array(after.values), np.clip(np.floor(kept * 64 + 0.5), -128, 127) / 64)
    assert np.array_equal(after.keep_mask(), before.keep_mask())
    conv = next(op for op in module.walk() if isinstance(op, kinds.SparseConvOp))
    assert conv.properties.get("acc_format") is not None

# ---- options and errors through the CLI ---------------------------------------------------------------

def _cli(capsys, *argv):
    code = dfcc_main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("options, message", [
    ("weight-bits=0", "weight-bits=0 is out of range; it must be an integer from 2 to 24 bits"),
    ("act-bits=40", "act-bits=40 is out of range"),
    ("acc-bits=60", "acc-bits=60 is out of range; it must be an integer from 2 to 53 bits"),
    ("calibration=no/such/file.npz", "calibration file 'no/such/file.npz' does not exist"),
    ("rounding=up", "rounding=up is not one of trn, rnd, rnd_conv"),
    ("percentile=20", "percentile=20 must be in (50, 100]"),
    ("override=conv0", "override 'conv0' must be NODE:SPEC"),
    ("override=nosuchnode:w4", "override pattern 'nosuchnode' matches no node"),
    ("acc-bits=8", "acc-bits=8 cannot hold the 12 fractional bits"),
])
def test_bad_options(capsys, options, message):
    code, out, err = _cli(capsys, LINEAR_RELU, "-p", f"quantize{{{options}}}")
    assert code == 1 and "Traceback" not in err
    assert message in err, err


def test_calibration_file_both_spellings(tmp_path, capsys):
    data = tmp_path / "my cal.npz"
    np.savez(data, arg0=np.random.default_rng(0).uniform(0, 1, (16, 1, 4)).astype(np.float32))
    outputs = []
    for argv in (["-p", f"quantize{{calibration=\"{data}\"}}"],
                 ["-pass-pipeline", f"builtin.module(quantize{{calibration='{data}' weight-bits=8}})"]):
        code, out, err = _cli(capsys, LINEAR_RELU, *argv)
        assert code == 0, err
        assert "standard-normal" not in err and "on 16 calibration input(s)" in err
        outputs.append(without_weights(out))
    assert outputs[0] == outputs[1]
    # inputs in [0, 1): the source is unsigned with 0 integer bits
    assert "!dataflow.stream<1x4x!dataflow.fixed<8, 0, unsigned, rnd, sat>>" in outputs[0]
    unquoted = tmp_path / "cal.npz"
    np.savez(unquoted, arg0=np.ones((1, 4), np.float32))
    code, out, err = _cli(capsys, LINEAR_RELU, "-p", f"quantize{{calibration={unquoted} percentile=99.9}}")
    assert code == 0, err
    bad = tmp_path / "bad.npz"
    np.savez(bad, arg0=np.ones((3, 5), np.float32))
    code, out, err = _cli(capsys, LINEAR_RELU, "-p", f"quantize{{calibration={bad}}}")
    assert code == 1 and "calibration arg0 has shape (3, 5)" in err


def test_quant_report_target(tmp_path, capsys):
    quantized = tmp_path / "q.mlir"
    assert _cli(capsys, LINEAR_RELU, "-p", "quantize{weight-bits=6 act-bits=6}", "-o", quantized)[0] == 0
    code, out, err = _cli(capsys, quantized, "-t", "quant-report", "--json")
    assert code == 0, err
    import json

    rows = {r["node"]: r for r in json.loads(out)}
    assert set(rows) == {"input0", "linear0", "relu0"}
    assert rows["linear0"]["weights_format"] == "fixed<6, 1, rnd, sat>"
    assert 10 < rows["linear0"]["sqnr_weights_db"] < 60 and rows["linear0"]["sqnr_output_db"] > 5
    code, out, err = _cli(capsys, quantized, "-t", "quant-report")
    assert code == 0 and "SQNR output" in out and "linear0" in out
    code, out, err = _cli(capsys, LINEAR_RELU, "-t", "quant-report")
    assert code == 1 and "needs a quantized graph" in err


def test_cpu_target_runs_quantized_graph(tmp_path, capsys):
    quantized, x, y = tmp_path / "q.mlir", tmp_path / "x.npz", tmp_path / "y.npz"
    assert _cli(capsys, LINEAR_RELU, "-p", "quantize{weight-bits=4 act-bits=4}", "-o", quantized)[0] == 0
    np.savez(x, arg0=np.array([[1.0, -2.0, 0.5, 3.0]], np.float32))
    code, out, err = _cli(capsys, quantized, "-t", "cpu", "--input", x, "-o", y)
    assert code == 0, err
    result = np.load(y)["out0"]
    fmt = fx.fixed_of(next(op for op in read_module(str(quantized)).walk() if op.name == "dataflow.map").output)
    np.testing.assert_array_equal(fx.cast(result, fmt), result)  # outputs lie on the output grid
