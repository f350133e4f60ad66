"""Pass pipeline strings: both spellings, option values, xDSL interop, and caret-style errors."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from dfcc.analyses.reference import run_reference
from dfcc.driver.pipeline import PassSpec, parse_pipeline
from dfcc.errors import DfccError
from dfcc.frontends.mlir import make_context, parse_module
from dfcc.passes.registry import get_pass


def test_xdsl_spelling():
    assert parse_pipeline("a,b{opt=1 other=x},c") == [
        PassSpec("a"),
        PassSpec("b", {"opt": 1, "other": "x"}),
        PassSpec("c"),
    ]


def test_mlir_spelling():
    assert parse_pipeline("builtin.module(a,b{opt=1},c)") == parse_pipeline("a,b{opt=1},c")


@pytest.mark.parametrize("text", ["", "  ", "builtin.module()"])
def test_empty(text):
    assert parse_pipeline(text) == []


def test_whitespace_between_passes():
    assert parse_pipeline(" builtin.module( a , b{x=1} ) ") == [PassSpec("a"), PassSpec("b", {"x": 1})]


@pytest.mark.parametrize(
    "written, value",
    [
        ("4", 4),
        ("-3", -3),
        ("0.5", 0.5),
        ("1e-3", 1e-3),
        ("true", True),
        ("false", False),
        ("int8", "int8"),
        ("2d-slice", "2d-slice"),
        ("data/cal.npz", "data/cal.npz"),
        ("./boards/zcu104.json", "./boards/zcu104.json"),
        ("/abs/path.npz", "/abs/path.npz"),
        ('"./my board.json"', "./my board.json"),
        ("'single quoted'", "single quoted"),
        ('"4"', "4"),
        (r'"say \"hi\" \\ bye"', r'say "hi" \ bye'),
        ("1,2,3", (1, 2, 3)),
        ("[1,2]", (1, 2)),
        ("[4]", (4,)),
        ("[]", ()),
        ("[1, 2.5, x]", (1, 2.5, "x")),
    ],
)
def test_option_values(written, value):
    (spec,) = parse_pipeline(f"p{{v={written}}}")
    assert spec.options == {"v": value}
    assert type(spec.options["v"]) is type(value)


def test_kebab_case_options_and_dotted_names():
    (spec,) = parse_pipeline("quantize{weight-bits=4 act-bits=8 calibration=data/cal.npz}")
    assert spec == PassSpec("quantize", {"weight-bits": 4, "act-bits": 8, "calibration": "data/cal.npz"})


@dataclass(frozen=True)
class Quantize(ModulePass):
    name = "quantize"
    weight_bits: int = 8
    calibration: str | None = None
    layers: tuple[int, ...] = ()

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pass


def test_instantiate_xdsl_pass():
    (spec,) = parse_pipeline("builtin.module(quantize{weight-bits=4 calibration='a b.npz' layers=[1,3]})")
    assert spec.instantiate(Quantize) == Quantize(weight_bits=4, calibration="a b.npz", layers=(1, 3))
    assert Quantize.from_pass_spec(spec.to_arg_spec()) == spec.instantiate(Quantize)


def test_instantiate_rejects_bad_options():
    with pytest.raises(DfccError, match="pass 'quantize': unknown option 'bits'; its options are: weight-bits, calibration, layers$"):
        parse_pipeline("quantize{bits=4}")[0].instantiate(Quantize)
    with pytest.raises(DfccError, match="pass 'quantize': option 'weight-bits' takes an integer, got 'four'"):
        parse_pipeline("quantize{weight-bits=four}")[0].instantiate(Quantize)
    with pytest.raises(DfccError, match="option 'weight-bits' takes an integer, got '4,5'"):
        parse_pipeline("quantize{weight-bits=4,5}")[0].instantiate(Quantize)
    with pytest.raises(DfccError, match="option 'layers' takes an integer, got '1,x'"):
        parse_pipeline("quantize{layers=[1,x]}")[0].instantiate(Quantize)


def test_option_types_of_the_real_passes_are_named():
    with pytest.raises(DfccError, match="pass 'quantize': option 'per-channel' takes true/false, got 'maybe'"):
        parse_pipeline("quantize{per-channel=maybe}")[0].instantiate(get_pass("quantize"))
    with pytest.raises(DfccError, match="option 'percentile' takes a number or an integer, got 'high'"):
        parse_pipeline("quantize{percentile=high}")[0].instantiate(get_pass("quantize"))
    assert parse_pipeline("explore{utilisation=1}")[0].instantiate(get_pass("explore")).utilisation == 1.0


@pytest.mark.parametrize(
    "text, column, message",
    [
        ("a,,b", 3, "unexpected ',', expected a name"),
        ("a,", 3, "unexpected end of pipeline"),
        ("a{x=1", 6, "unexpected end of pipeline"),
        ("a{x=}", 5, "unexpected '}'"),
        ("a{x=1}b", 7, "unexpected 'b'"),
        ("a{flag}", 7, "expected '='"),
        ("a{x=my file}", 12, "quote values that contain spaces"),
        ('a{x="open}', 5, "unterminated quoted string"),
        ("a{x=[1,2}", 9, "expected ']'"),
        ("a{x=1 x=2}", 7, "option 'x' given twice"),
        ("builtin.module(a", 17, "expected ')'"),
        ("builtin.module(a,func.func(c))", 18, "op anchor 'func.func(...)' is not supported"),
        ("func.func(a)", 1, "op anchor 'func.func(...)' is not supported"),
        ("builtin.module(builtin.module(a))", 16, "op anchor 'builtin.module(...)' is not supported"),
        ("builtin.module(a),b", 1, "builtin.module(...) must wrap the whole pipeline"),
    ],
)
def test_errors_point_at_column(text, column, message):
    with pytest.raises(DfccError) as info:
        parse_pipeline(text)
    error = info.value
    assert message in error.message
    assert error.location == f"pass pipeline, column {column}"
    shown, caret = error.message.splitlines()[-2:]
    assert shown == "  " + text
    assert caret == "  " + " " * (column - 1) + "^"


def test_dataflow_cleanup_pass_keeps_results():
    """`-p dataflow-cleanup` (fusing maps, erasing unread weights) computes what the graph did."""
    text = (Path(__file__).resolve().parent.parent / "lit_tests" / "cleanup" / "fuse_and_erase.mlir").read_text()
    x = np.array([[-1.5, 0.0, 2.0, 3.25]], dtype=np.float32)
    module = parse_module(text)
    get_pass("dataflow-cleanup")().apply(make_context(), module)
    module.verify()
    assert sum(op.name == "dataflow.map" for op in module.walk()) == 1
    (fused,) = run_reference(module, [x])
    np.testing.assert_array_equal(fused, np.maximum(x, 0) * 2)
