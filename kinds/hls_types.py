"""C++ text the kinds' HLS emitters share: number types, literals, ROM initializers, loop nests.

Pure formatting: no IR walking and no backend state (that is the backend's `Emitter`, handed to
each kind's `emit_hls`). Fixed-point types spell `ap_fixed` exactly as the CPU reference's
contract names them (dialects/fixed_point.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import Float32Type, Float64Type, IntegerType

from dfcc.dialects.dataflow import FixedType
from dfcc.dialects.fixed_point import scale2
from dfcc.errors import DfccError

HLS = "DFCC_HLS"  # `#pragma HLS x` under Vitis HLS, nothing in g++ C simulation (dfcc/vec.h)

_Q = {"trn": "AP_TRN", "rnd": "AP_RND", "rnd_conv": "AP_RND_CONV"}
_O = {"wrap": "AP_WRAP", "sat": "AP_SAT"}


@dataclass(frozen=True)
class Fx:
    """An exact (trn/wrap) signed-or-unsigned fixed-point type used for intermediates."""

    width: int
    int_bits: int
    signed: bool = True

    @property
    def frac(self) -> int:
        return self.width - self.int_bits

    @property
    def cpp(self) -> str:
        if self.width > 1024:
            raise DfccError(f"an exact intermediate needs {self.width} bits (ap_fixed holds at most 1024)")
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width}, {self.int_bits}>"

    def as_signed(self) -> Fx:
        return self if self.signed else Fx(self.width + 1, self.int_bits + 1, True)


def fx_of(t: FixedType) -> Fx:
    return Fx(t.width.data, t.int_bits.data, t.is_signed)


def join_fx(a: Fx, b: Fx) -> Fx:
    """The smallest signed type holding every value of a and of b."""
    a, b = a.as_signed(), b.as_signed()
    frac, ints = max(a.frac, b.frac), max(a.int_bits, b.int_bits)
    return Fx(frac + ints, ints)


def cpp_type(t) -> str:
    """C++ spelling of a stream element / scalar type."""
    if isinstance(t, FixedType):
        kind = "ap_fixed" if t.is_signed else "ap_ufixed"
        return f"{kind}<{t.width.data}, {t.int_bits.data}, {_Q[t.rounding.data]}, {_O[t.overflow.data]}>"
    if isinstance(t, Float32Type):
        return "float"
    if isinstance(t, Float64Type):
        return "double"
    if isinstance(t, IntegerType) and t.width.data == 1:
        return "bool"
    if isinstance(t, IntegerType) and t.width.data in (32, 64):  # token ids
        return f"ap_int<{t.width.data}>"
    raise DfccError(f"the HLS backend has no C++ type for {t}")


def format_fx(fmt) -> Fx | None:
    """The type of a weights op's `format` (per-channel formats joined into one type holding every channel
    exactly), None without one."""
    formats = [fmt] if isinstance(fmt, FixedType) else \
        [f for f in fmt.data if isinstance(f, FixedType)] if fmt is not None and hasattr(fmt, "data") else []
    if not formats:
        return None
    result = fx_of(formats[0])
    for f in formats[1:]:
        result = join_fx(result, fx_of(f))
    return result


def weights_fx(fmt, values: np.ndarray) -> Fx:
    """The exact type of weights of format `fmt` (a weights op's `format`, `format_fx`), or, without one (or
    values it does not hold exactly), the smallest type holding the values."""
    result = format_fx(fmt)
    # the values must be exact in it (they are by the quantize contract; check anyway)
    if result is not None and np.all(scale2(values, result.frac) == np.floor(scale2(values, result.frac))):
        return result
    return exact_fx_for(values)


def exact_fx_for(values: np.ndarray) -> Fx:
    """The smallest signed fixed type holding all `values` exactly (they must be finite dyadics)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)):
        raise DfccError("constants must be finite for a fixed-point design")
    frac = 0
    while frac < 200 and not np.all(scale2(v, frac) == np.floor(scale2(v, frac))):
        frac += 1
    codes = scale2(v, frac)
    top = int(max(np.max(np.abs(codes)), 1.0)) if v.size else 1
    width = max(top.bit_length() + 1, 2)
    return Fx(width, width - frac)


def float_literal(x: float, single: bool = True) -> str:
    if not math.isfinite(x):
        if math.isnan(x):
            return "std::numeric_limits<float>::quiet_NaN()" if single else "std::numeric_limits<double>::quiet_NaN()"
        kind = "float" if single else "double"
        return f"{'-' if x < 0 else ''}std::numeric_limits<{kind}>::infinity()"
    text = f"{x:.9g}" if single else repr(float(x))
    if not any(ch in text for ch in ".e"):
        text += ".0"
    return text + ("f" if single else "")


def array_text(values: np.ndarray, elem_fmt, per_line: int = 16) -> str:
    """A C brace initializer for `values` (nested by dims, innermost rows of `per_line` values).
    Each distinct value is formatted once and each gap after a value is one of a few separators
    (', ', a line break, or k braces closing and reopening): the text is one join over table look-ups
    (of each (value, separator) pair when there are few distinct values: a ResNet-50's weights are
    ~10^7 values of a few hundred distinct codes)."""
    shape = values.shape or (1,)
    if 0 in shape:
        return "{" + ",\n".join([array_text(values[0], elem_fmt, per_line)] * shape[0]) + "}" if shape[0] else "{}"
    flat = values.ravel()
    keys = flat.view(f"i{flat.dtype.itemsize}") if flat.dtype.kind == "f" else flat.astype(np.int64)
    low, high = int(keys.min()), int(keys.max())
    if high - low < keys.size:  # codes in a narrow range: index by offset, no sort
        distinct, inverse = np.arange(low, high + 1, dtype=keys.dtype), keys - low
    else:  # floats by bit pattern: -0.0 and 0.0 stay apart
        distinct, inverse = np.unique(keys, return_inverse=True)
    distinct = distinct.view(flat.dtype) if flat.dtype.kind == "f" else distinct
    literals = np.array([elem_fmt(v) for v in distinct.tolist()], dtype=object)
    n, rows = shape[-1], flat.size // shape[-1]
    # separator 0: ", "; 1: a line break inside a row; 1 + k: k dims end (k braces close, then reopen)
    separators = np.array([", ", ",\n"] + ["}" * k + ",\n" + "{" * k for k in range(1, len(shape) + 1)], dtype=object)
    gaps = np.zeros((rows, n), dtype=np.int8)
    gaps[:, per_line - 1::per_line] = 1
    ends = np.ones(rows, dtype=np.int8)
    for d in range(len(shape) - 1):
        ends += np.arange(1, rows + 1) % math.prod(shape[d:-1]) == 0
    gaps[:, -1] = 1 + ends
    gaps[-1, -1] = len(separators)  # the last value: the outer braces close
    separators = np.append(separators, "}" * len(shape))
    if len(literals) * len(separators) <= flat.size:  # few distinct values: one token a value
        pairs = np.array([lit + sep for lit in literals.tolist() for sep in separators.tolist()], dtype=object)
        tokens = pairs[inverse.astype(np.int64) * len(separators) + gaps.ravel()]
    else:  # about as many distinct values as values (floats): value and separator tokens in turn
        tokens = np.empty(2 * flat.size, dtype=object)
        tokens[0::2] = literals[inverse]
        tokens[1::2] = separators[gaps.ravel()]
    return "{" * len(shape) + "".join(tokens.tolist())


def code_storage(fx: Fx) -> str:
    """The plain C integer type that stores codes of fx."""
    bits = fx.width + (0 if fx.signed else 1)
    for n, name in ((8, "signed char"), (16, "short"), (32, "int"), (64, "long long")):
        if bits <= n:
            return name
    raise DfccError(f"a ROM of {fx.width}-bit numbers is not supported (at most 63 bits)")


def codes_of(values: np.ndarray, frac: int) -> np.ndarray:
    return scale2(values, frac).astype(np.int64)


@dataclass
class Rom:
    """A constant array in a header of weights/: its C++ element type and initializer."""

    name: str
    elem: str  # C++ element type of the array (float, or dfcc::code<T, C>)
    value_type: str  # C++ type of val(element)
    shape: tuple[int, ...]
    values: np.ndarray
    frac: int | None  # None: float literals; else integer codes of values * 2^frac
    comment: str = ""
    plain: bool = False  # a plain C integer array (indices): values written as they are
    fx: Fx | None = None  # the codes' number type (of_codes)

    @staticmethod
    def of_codes(name: str, fx: Fx, shape: tuple[int, ...], values: np.ndarray, comment: str = "") -> Rom:
        """A ROM holding `values` exactly as codes of fx."""
        return Rom(name, f"dfcc::code<{fx.cpp}, {code_storage(fx)} >", fx.cpp, shape, values, fx.frac, comment, fx=fx)

    def text(self) -> str:
        dims = "".join(f"[{d}]" for d in self.shape) or "[1]"
        if self.frac is None:
            single = self.value_type == "float"
            body = array_text(np.asarray(self.values, dtype=np.float32 if single else np.float64),
                              lambda v: float_literal(v, single))
        else:
            body = array_text(codes_of(self.values, self.frac), (lambda v: "%d" % v) if self.plain else (lambda v: "{%d}" % v))
        comment = f"// {self.comment}\n" if self.comment else ""
        return f"{comment}static const {self.elem} {self.name}{dims} = {body};\n"


def sanitize(name: str) -> str:
    """A C++ identifier for an IR name."""
    text = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return text if text and not text[0].isdigit() else "n_" + text


def prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def dims_text(shape) -> str:
    return "x".join(map(str, shape))


def loops(dims: list[int], inner: str) -> tuple[list[str], list[str], str]:
    """Loop headers over `dims` (outer dims i0.., innermost `inner`), closers, and the indent."""
    heads, indent = [], "    "
    names = [f"i{d}" for d in range(len(dims) - 1)] + [inner]
    for name, extent in zip(names, dims):
        heads.append(f"{indent}for (int {name} = 0; {name} < {extent}; {name}++) {{")
        indent += "    "
    closers = ["    " * (len(dims) - k) + "}" for k in range(len(dims))]
    return heads, closers, indent


def guarded_loops(dims: list[int], names: list[str], indent: str) -> tuple[list[str], list[str], str]:
    """Loop headers over `dims` named `names`, their closers, and the inner indent."""
    heads, closers = [], []
    for name, extent in zip(names, dims):
        heads.append(f"{indent}for (int {name} = 0; {name} < {extent}; {name}++) {{")
        closers.insert(0, f"{indent}}}")
        indent += "    "
    return heads, closers, indent


def tile_major_loop(shape: Sequence[int], order: tuple[int, int], lanes: int) -> tuple[list[str], list[str], str]:
    """Loop over the beats of a tile-major N x H x W x C stream (tile R block B, `lanes` dividing B) as `loops`
    gives one (headers, closers, indent): one flat loop, counters for the tile t, the pixel j in it (the last tile
    the pixels left), the block b and the beat q in the block, advanced after each beat (a lane's channel is
    b * B + q * lanes + p)."""
    n, h, w, c = shape
    tile, block = order
    pixels = n * h * w
    tiles = -(-pixels // tile)
    last = pixels - (tiles - 1) * tile
    heads = ["    int t = 0, j = 0, b = 0, q = 0;  // tile, pixel in the tile, block, beat in the block",
             f"    for (int i = 0; i < {pixels * c // lanes}; i++) {{"]
    closers = [f"        if (++q == {block // lanes}) {{",
               "            q = 0;",
               f"            if (++j == (t == {tiles - 1} ? {last} : {tile})) {{",
               "                j = 0;",
               f"                if (++b == {c // block}) {{",
               "                    b = 0;",
               "                    t++;",
               "                }",
               "            }",
               "        }",
               "    }"]
    return heads, closers, "        "
