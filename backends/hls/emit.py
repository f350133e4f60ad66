"""Dataflow IR -> Vitis HLS C++: one stage per node inside a DATAFLOW top function.

`emit_design(module)` returns the generated files (top.h, top.cpp, weights/*.h) as text. Every
stream SSA value becomes an `hls::stream<dfcc::vec<T, P> >` with the FIFO depth of its type; every
node becomes one call of a kernel from include/dfcc (conv, linear, pools, fork) or of a stage
function generated here (maps, reductions), with map bodies as functor structs. Sources and sinks
are the AXI-stream ports of `top`.

The numbers follow the CPU reference (the oracle), not the other way round:
- float designs compute in float32 as numpy does (same operations; sums may be ordered
  differently, so results agree to ~1e-6 relative, not bit for bit);
- fixed-point designs follow backends/cpu/fixed_point.py bit for bit: exact products and sums in
  wide-enough ap_fixed types, then the casts the contract names (acc_format, then the output
  type); one-input maps of <= 16 bits are ROMs of `map_table(op)`; piecewise-linear map bodies
  are computed exactly in ap_fixed; other map bodies in double then cast.
Nodes the emitter cannot realise raise DfccError naming the node; it never emits wrong code.

Lanes: a node's folding gives the lanes of its streams (conv: coarse_in*coarse_group in,
coarse_out*coarse_group out; linear: coarse_in/coarse_out; others: coarse). Where a producer's
lanes differ from what its consumer reads, a `dfcc::lanes` re-chunking stage is inserted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, Float64Type, IntegerType, ModuleOp
from xdsl.ir import BlockArgument, Operation, SSAValue

from dfcc.analyses.schedules import conv_lanes
from dfcc.dialects import dataflow as df
from dfcc import kinds
from dfcc.dialects.resources import elements_array
from dfcc.errors import DfccError

TOP = "top"
_HLS = "DFCC_HLS"

_STORAGE_IMPL = {"uram": "uram", "lutram": "lutram"}

_Q = {"trn": "AP_TRN", "rnd": "AP_RND", "rnd_conv": "AP_RND_CONV"}
_O = {"wrap": "AP_WRAP", "sat": "AP_SAT"}


# ---- number types ---------------------------------------------------------------------------------


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


def fx_of(t: df.FixedType) -> Fx:
    return Fx(t.width.data, t.int_bits.data, t.is_signed)


def join_fx(a: Fx, b: Fx) -> Fx:
    """The smallest signed type holding every value of a and of b."""
    a, b = a.as_signed(), b.as_signed()
    frac, ints = max(a.frac, b.frac), max(a.int_bits, b.int_bits)
    return Fx(frac + ints, ints)


def cpp_type(t) -> str:
    """C++ spelling of a stream element / scalar type."""
    if isinstance(t, df.FixedType):
        kind = "ap_fixed" if t.is_signed else "ap_ufixed"
        return f"{kind}<{t.width.data}, {t.int_bits.data}, {_Q[t.rounding.data]}, {_O[t.overflow.data]}>"
    if isinstance(t, Float32Type):
        return "float"
    if isinstance(t, Float64Type):
        return "double"
    if isinstance(t, IntegerType) and t.width.data == 1:
        return "bool"
    raise DfccError(f"the HLS backend has no C++ type for {t}")


def exact_fx_for(values: np.ndarray) -> Fx:
    """The smallest signed fixed type holding all `values` exactly (they must be finite dyadics)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)):
        raise DfccError("constants must be finite for a fixed-point design")
    frac = 0
    while frac < 200 and not np.all(np.ldexp(v, frac) == np.floor(np.ldexp(v, frac))):
        frac += 1
    codes = np.ldexp(v, frac)
    top = int(max(np.max(np.abs(codes)), 1.0)) if v.size else 1
    width = max(top.bit_length() + 1, 2)
    return Fx(width, width - frac)


# ---- literals and ROM text --------------------------------------------------------------------------


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


def _join_values(flat: np.ndarray, fmt) -> str:
    return ", ".join(map(fmt, flat.tolist()))


def array_text(values: np.ndarray, elem_fmt, per_line: int = 16) -> str:
    """A C brace initializer for `values` (nested by dims, innermost rows of `per_line` values)."""
    shape = values.shape
    if not shape:
        values, shape = values.reshape(1), (1,)

    def render(a: np.ndarray, depth: int) -> str:
        if a.ndim == 1:
            flat = a.ravel()
            lines = [_join_values(flat[i:i + per_line], elem_fmt) for i in range(0, flat.size, per_line)]
            return "{" + (",\n".join(lines)) + "}"
        return "{" + ",\n".join(render(sub, depth + 1) for sub in a) + "}"

    return render(values, 0)


def code_storage(fx: Fx) -> str:
    """The plain C integer type that stores codes of fx."""
    bits = fx.width + (0 if fx.signed else 1)
    for n, name in ((8, "signed char"), (16, "short"), (32, "int"), (64, "long long")):
        if bits <= n:
            return name
    raise DfccError(f"a ROM of {fx.width}-bit numbers is not supported (at most 63 bits)")


def codes_of(values: np.ndarray, frac: int) -> np.ndarray:
    return np.ldexp(np.asarray(values, dtype=np.float64), frac).astype(np.int64)


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

    def text(self) -> str:
        dims = "".join(f"[{d}]" for d in self.shape) or "[1]"
        if self.frac is None:
            single = self.value_type == "float"
            body = array_text(np.asarray(self.values, dtype=np.float32 if single else np.float64),
                              lambda v: float_literal(v, single))
        else:
            body = array_text(codes_of(self.values, self.frac), lambda v: "{%d}" % v)
        comment = f"// {self.comment}\n" if self.comment else ""
        return f"{comment}static const {self.elem} {self.name}{dims} = {body};\n"


# ---- the design -----------------------------------------------------------------------------------


def sanitize(name: str) -> str:
    text = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return text if text and not text[0].isdigit() else "n_" + text


@dataclass
class Stream:
    name: str
    elem: str  # C++ element type
    lanes: int
    depth: int
    shape: tuple[int, ...]

    @property
    def cpp(self) -> str:
        return f"hls::stream<dfcc::vec<{self.elem}, {self.lanes}> >"


@dataclass
class Port:
    name: str
    elem: str
    lanes: int
    shape: tuple[int, ...]
    perm: tuple[int, ...]
    fixed: df.FixedType | None
    index: int  # function argument / result index


@dataclass
class Design:
    """Everything the project writer needs."""

    files: dict[str, str]
    inputs: list[Port]
    outputs: list[Port]
    fixed: bool
    platform: str | None
    stages: list[str] = field(default_factory=list)


def _main_function(module: ModuleOp, function: str = "main") -> func.FuncOp:
    for op in module.walk():
        if isinstance(op, func.FuncOp) and op.sym_name.data == function:
            return op
    raise DfccError(f"no function @{function} in the module")


def _int_prop(op: Operation, key: str) -> int:
    attr = op.properties.get(key)
    return 1 if attr is None else attr.value.data


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


class Emitter:
    """Walks the dataflow graph of @main once, in order, producing the C++ text."""

    def __init__(self, module: ModuleOp):
        self.module = module
        self.function = _main_function(module)
        self.streams: dict[SSAValue, Stream] = {}
        self.pending_source: dict[SSAValue, Port] = {}
        self.decls: list[Stream] = []
        self.calls: list[str] = []  # statements in the DATAFLOW region
        self.defs: list[str] = []  # functors and stage functions, before top
        self.roms: dict[str, Rom] = {}
        self.weight_of: dict[SSAValue, kinds.WeightsOp] = {}
        self.inputs: list[Port] = []
        self.outputs: list[Port] = []
        self.names: set[str] = set()
        self.stage_names: list[str] = []
        self.sink_ports: dict[kinds.SinkOp, Port] = {}
        self.fixed = False
        self.storage: list[str] = []  # BIND_STORAGE pragmas of ROMs explore moved out of BRAM

    # -- helpers ------------------------------------------------------------------------------

    def unique(self, base: str) -> str:
        name, n = sanitize(base), 1
        while name in self.names:
            n += 1
            name = f"{sanitize(base)}_{n}"
        self.names.add(name)
        return name

    def error(self, op: Operation, why: str) -> DfccError:
        name = op.node_name.data if isinstance(op, df.NodeOp) else "?"
        return DfccError(f"HLS backend: {op.name} '{name}': {why}")

    def elem(self, value: SSAValue) -> str:
        return cpp_type(value.type.element_type)

    def fixed_type(self, value: SSAValue) -> df.FixedType | None:
        t = value.type.element_type
        return t if isinstance(t, df.FixedType) else None

    def new_stream(self, base: str, value_type: df.StreamType, lanes: int, depth: int | None = None,
                   value: SSAValue | None = None) -> Stream:
        port = self.sink_port(value) if value is not None else None
        if port is not None:  # the producer writes the output port itself
            port.lanes = lanes
            return Stream(port.name, port.elem, lanes, 0, port.shape)
        s = Stream(self.unique(base), cpp_type(value_type.element_type), lanes,
                   value_type.depth.data if depth is None else depth, value_type.get_shape())
        self.decls.append(s)
        return s

    def define(self, value: SSAValue, stream: Stream) -> None:
        self.streams[value] = stream

    def read(self, value: SSAValue, lanes: int, consumer: str) -> str:
        """The name of a stream carrying `value` in `lanes` lanes (inserting a lanes stage if needed)."""
        return self.read_stream(value, lanes, consumer).name

    def producer_lanes(self, value: SSAValue) -> int | None:
        stream = self.streams.get(value)
        return None if stream is None else stream.lanes

    def read_stream(self, value: SSAValue, lanes: int, consumer: str) -> Stream:
        if value in self.pending_source:  # a port: its lanes are what its consumer reads
            port = self.pending_source.pop(value)
            port.lanes = lanes
            stream = Stream(port.name, port.elem, lanes, 0, port.shape)
            self.streams[value] = stream
            return stream
        stream = self.streams.get(value)
        if stream is None:
            raise DfccError(f"HLS backend: stream read by '{consumer}' has no producer the backend knows")
        if stream.lanes == lanes:
            return stream
        return self.convert_lanes(stream, lanes, consumer)

    def convert_lanes(self, stream: Stream, lanes: int, consumer: str) -> Stream:
        n = _prod(stream.shape)
        src = stream
        steps = [lanes]
        if stream.lanes % lanes and lanes % stream.lanes:
            steps = [math.gcd(stream.lanes, lanes), lanes]
        for p in steps:
            out = Stream(self.unique(f"{consumer}_in{p}"), src.elem, p, 2, src.shape)
            self.decls.append(out)
            self.calls.append(f"dfcc::lanes<{n}, {src.lanes}, {p}>({src.name}, {out.name});")
            src = out
        return src

    def weights(self, value: SSAValue, op: Operation, what: str) -> kinds.WeightsOp:
        owner = value.owner
        if not isinstance(owner, kinds.WeightsOp):
            raise self.error(op, f"{what} is not a dataflow.weights constant")
        return owner

    def rom(self, w_op: kinds.WeightsOp, *, name: str | None = None, shape: tuple[int, ...] | None = None,
            fx: Fx | None = None, comment: str = "") -> Rom:
        """A ROM for a weights op: float array for float designs, codes of an exact type otherwise."""
        values = np.asarray(elements_array(w_op.value))
        name = name or f"w_{sanitize(w_op.node_name.data)}"
        if name in self.roms:
            return self.roms[name]
        shape = tuple(shape if shape is not None else values.shape)
        values = values.reshape(shape) if shape else values.reshape(())
        if fx is None and w_op.format is None and not self.fixed:
            rom = Rom(name, "float", "float", shape, values, None, comment)
        else:
            if fx is None:
                fx = self.weights_fx(w_op, values)
            elem = fx.cpp
            rom = Rom(name, f"dfcc::code<{elem}, {code_storage(fx)} >", elem, shape, values, fx.frac, comment)
        self.roms[name] = rom
        return rom

    def weights_fx(self, w_op: kinds.WeightsOp, values: np.ndarray) -> Fx:
        """The exact type of a weights op: its `format` (per-channel formats joined into one type
        holding every channel exactly), or the smallest type holding the values."""
        fmt = w_op.format
        formats = None
        if isinstance(fmt, df.FixedType):
            formats = [fmt]
        elif fmt is not None and hasattr(fmt, "data"):
            formats = [f for f in fmt.data if isinstance(f, df.FixedType)]
        if formats:
            result = fx_of(formats[0])
            for f in formats[1:]:
                result = join_fx(result, fx_of(f))
            # the values must be exact in it (they are by the quantize contract; check anyway)
            scaled = np.ldexp(values.astype(np.float64), result.frac)
            if np.all(scaled == np.floor(scaled)):
                return result
        return exact_fx_for(values)

    # -- the walk -----------------------------------------------------------------------------

    def run(self) -> Design:
        body = self.function.body.block
        self.fixed = any(isinstance(r.type, df.StreamType) and isinstance(r.type.element_type, df.FixedType)
                         for op in body.ops for r in op.results)
        for op in body.ops:
            if isinstance(op, func.ReturnOp):
                continue
            if not isinstance(op, df.NodeOp):
                raise DfccError(f"HLS backend: '{op.name}' is not a dataflow node (run -p lower-to-dataflow first)")
            memory = op.attributes.get(df.WEIGHTS_MEMORY_ATTR)
            if memory is not None and memory.data == "off_chip":
                raise self.error(op, "weights streamed from off-chip memory (dataflow.weights_memory = off_chip) are "
                                     "not built by the HLS backend yet; run explore without off-chip-weights=true")
            if op.int_prop("pixels") > 1:
                raise self.error(op, f"spatial parallelism (pixels={op.int_prop('pixels')} per beat) is not built by "
                                     f"the HLS backend yet; run explore without spatial=true")
            method = getattr(self, "emit_" + op.name.split(".", 1)[1], None)
            if method is None:
                raise self.error(op, "this node kind is not supported by the HLS backend yet")
            before = set(self.roms)
            method(op)
            if memory is not None and memory.data != "bram":
                if memory.data not in _STORAGE_IMPL:
                    raise self.error(op, f"weights memory '{memory.data}' is not supported")
                for rom in (r for r in self.roms if r not in before):
                    self.storage.append(f"{_HLS}(BIND_STORAGE variable={rom} type=rom_2p impl={_STORAGE_IMPL[memory.data]})"
                                        f"  // {op.node_name.data}: {memory.data}")
        if self.pending_source:
            raise DfccError("HLS backend: a graph input is not read by any node")
        self.inputs.sort(key=lambda p: p.index)
        self.outputs.sort(key=lambda p: p.index)
        return self.finish()

    # -- nodes --------------------------------------------------------------------------------

    def emit_weights(self, op: kinds.WeightsOp) -> None:
        pass  # emitted as ROMs by the nodes that use them

    def emit_source(self, op: kinds.SourceOp) -> None:
        arg = op.tensor
        if not isinstance(arg, BlockArgument):
            raise self.error(op, "the source must stream a function argument")
        port = Port(self.unique(op.node_name.data), self.elem(op.output), 1, op.output.type.get_shape(),
                    op.ints_prop("perm"), self.fixed_type(op.output), arg.index)
        self.inputs.append(port)
        self.pending_source[op.output] = port

    def sink_port(self, value: SSAValue) -> Port | None:
        """The output port of `value` when its only consumer is a sink (created on first ask)."""
        uses = list(value.uses)
        if len(uses) != 1 or not isinstance(uses[0].operation, kinds.SinkOp):
            return None
        sink = uses[0].operation
        if sink in self.sink_ports:
            return self.sink_ports[sink]
        returns = [u for u in sink.tensor.uses if isinstance(u.operation, func.ReturnOp)]
        if not returns:
            raise self.error(sink, "the sink's tensor must be returned by the function")
        port = Port(self.unique(sink.node_name.data), self.elem(value), 1, value.type.get_shape(),
                    sink.ints_prop("perm"), self.fixed_type(value), returns[0].index)
        self.sink_ports[sink] = port
        self.outputs.append(port)
        return port

    def emit_sink(self, op: kinds.SinkOp) -> None:
        if op in self.sink_ports:
            return  # its producer writes the port
        if op.input in self.pending_source or op.input in self.streams:
            port = self.sink_port(op.input)
            src = self.read_stream(op.input, self.producer_lanes(op.input) or 1, op.node_name.data)
            port.lanes = src.lanes
            self.calls.append(f"dfcc::lanes<{_prod(port.shape)}, {src.lanes}, {src.lanes}>({src.name}, {port.name});"
                              f"  // {op.node_name.data}")
            return
        raise self.error(op, "the sink's stream has no producer")

    def stage(self, op: df.NodeOp) -> str:
        name = op.node_name.data
        self.stage_names.append(name)
        return name

    def emit_conv(self, op: kinds.ConvOp) -> None:
        name = self.stage(op)
        n, h, w, c = op.input.type.get_shape()
        _, ho, wo, f = op.output.type.get_shape()
        if n != 1:
            raise self.error(op, f"batch {n} streams are not supported (batch 1 only)")
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
        groups = op.groups.value.data
        cg, fg = c // groups, f // groups
        ci, co, cgp, fine = (_int_prop(op, k) for k in ("coarse_in", "coarse_out", "coarse_group", "fine"))
        lanes_in, lanes_out = conv_lanes(c, cg, fg, ci, co, cgp)
        x = self.read(op.input, lanes_in, name)
        out = self.new_stream(f"s_{name}", op.output.type, lanes_out, value=op.output)
        self.define(op.output, out)
        w_rom, b_rom, t_acc, t_mid = self._mac_types(op, (f, cg, kr, kc))
        geom = f"dfcc::geom<{h}, {w}, {c}, {kr}, {kc}, {sr}, {sc}, {dr}, {dc}, {pt}, {pb}, {pl}, {pr}>"
        types = f"{self.elem(op.input)}, {w_rom.elem}, {b_rom.elem}, {t_acc}, {out.elem}" + self._mid_and_mul(op, t_acc, t_mid)
        self.calls.append(f"dfcc::conv<{geom}, {f}, {groups}, {lanes_in}, {lanes_out}, {fine}, {types}>"
                          f"({x}, {out.name}, {w_rom.name}, {b_rom.name});  // {name}")

    @staticmethod
    def _mid_and_mul(op, t_acc: str, t_mid: str | None) -> str:
        """The MAC kernels' trailing template arguments: T_mid, and fabric_mul for `mult_impl = "lut"`."""
        mult = op.attributes.get(df.MULT_IMPL_ATTR)
        if mult is not None and mult.data == "lut":
            return f", {t_mid or t_acc}, dfcc::fabric_mul"
        return f", {t_mid}" if t_mid else ""

    def _mac_types(self, op, w_shape: tuple[int, ...]):
        """ROMs of weights and bias, the accumulator type and the optional intermediate cast."""
        name = op.node_name.data
        w_op = self.weights(op.weights, op, "weights")
        f = w_shape[0]
        if op.bias is not None:
            b_op = self.weights(op.bias, op, "bias")
        out_fixed = self.fixed_type(op.output)
        if out_fixed is None:
            w_rom = self.rom(w_op, shape=w_shape)
            if op.bias is not None:
                b_rom = self.rom(b_op)
            else:
                b_rom = self._zero_rom(f"b_{sanitize(name)}_zero", f, None)
            return w_rom, b_rom, "float", None
        x_fixed = self.fixed_type(op.input)
        if x_fixed is None:
            raise self.error(op, "a fixed-point output needs a fixed-point input")
        w_values = np.asarray(elements_array(w_op.value), dtype=np.float64)
        w_fx = self.weights_fx(w_op, w_values)
        w_rom = self.rom(w_op, shape=w_shape, fx=w_fx)
        if op.bias is not None:
            b_values = np.asarray(elements_array(b_op.value), dtype=np.float64)
            b_fx = self.weights_fx(b_op, b_values)
            b_rom = self.rom(b_op, fx=b_fx)
        else:
            b_values, b_fx = None, Fx(2, 2)
            b_rom = self._zero_rom(f"b_{sanitize(name)}_zero", f, b_fx)
        # exact accumulator: every product and the bias on its grid, the worst case in range
        from dfcc.backends.cpu.fixed_point import accumulator_bound

        x_fx = fx_of(x_fixed)
        frac = max(x_fx.frac + w_fx.frac, b_fx.frac)
        lo, hi = accumulator_bound(x_fixed, w_values, b_values)
        magnitude = max(-lo, hi, 1.0)
        ints = math.ceil(math.log2(magnitude + 2.0 ** -frac)) + 2
        exact = Fx(ints + frac, ints)
        acc_fmt = op.properties.get("acc_format")
        if isinstance(acc_fmt, df.FixedType):
            a = fx_of(acc_fmt)
            # acc_format itself can accumulate when it keeps every fraction bit and either wraps
            # (order-independent) or holds the worst case: then T_acc(each partial sum) is the
            # same as one cast of the exact sum (fixed_point.py's contract)
            if a.frac >= frac and (acc_fmt.overflow.data == "wrap" or (a.int_bits >= ints and a.signed)):
                return w_rom, b_rom, cpp_type(acc_fmt), None
            return w_rom, b_rom, exact.cpp, cpp_type(acc_fmt)
        return w_rom, b_rom, exact.cpp, None

    def _zero_rom(self, name: str, count: int, fx: Fx | None) -> Rom:
        if name not in self.roms:
            if fx is None:
                self.roms[name] = Rom(name, "float", "float", (count,), np.zeros(count), None, "no bias")
            else:
                self.roms[name] = Rom(name, f"dfcc::code<{fx.cpp}, {code_storage(fx)} >", fx.cpp, (count,),
                                      np.zeros(count), fx.frac, "no bias")
        return self.roms[name]

    def emit_linear(self, op: kinds.LinearOp) -> None:
        name = self.stage(op)
        in_shape, out_shape = op.input.type.get_shape(), op.output.type.get_shape()
        c, f = in_shape[-1], out_shape[-1]
        rows = _prod(in_shape[:-1])
        ci, co = _int_prop(op, "coarse_in"), _int_prop(op, "coarse_out")
        x = self.read(op.input, ci, name)
        out = self.new_stream(f"s_{name}", op.output.type, co, value=op.output)
        self.define(op.output, out)
        w_rom, b_rom, t_acc, t_mid = self._mac_types(op, (f, c))
        types = f"{self.elem(op.input)}, {w_rom.elem}, {b_rom.elem}, {t_acc}, {out.elem}" + self._mid_and_mul(op, t_acc, t_mid)
        self.calls.append(f"dfcc::linear<{rows}, {c}, {f}, {ci}, {co}, {types}>"
                          f"({x}, {out.name}, {w_rom.name}, {b_rom.name});  // {name}")

    def emit_pool(self, op: kinds.PoolOp) -> None:
        name = self.stage(op)
        n, h, w, c = op.input.type.get_shape()
        if n != 1:
            raise self.error(op, f"batch {n} streams are not supported (batch 1 only)")
        (kr, kc), (sr, sc), (dr, dc), (pt, pb, pl, pr) = op.window_geometry()
        p = _int_prop(op, "coarse")
        x = self.read(op.input, p, name)
        out = self.new_stream(f"s_{name}", op.output.type, p, value=op.output)
        self.define(op.output, out)
        geom = f"dfcc::geom<{h}, {w}, {c}, {kr}, {kc}, {sr}, {sc}, {dr}, {dc}, {pt}, {pb}, {pl}, {pr}>"
        t_in = self.elem(op.input)
        if op.kind.data == "max":
            if t_in != out.elem:
                raise self.error(op, f"max pooling from {t_in} to {out.elem} (a format change) is not supported")
            self.calls.append(f"dfcc::max_pool<{geom}, {p}>({x}, {out.name});  // {name}")
            return
        x_fixed = self.fixed_type(op.input)
        if x_fixed is None:
            t_acc = "float"
        else:
            a = fx_of(x_fixed).as_signed()
            grow = math.ceil(math.log2(kr * kc)) + 1
            t_acc = Fx(a.width + grow, a.int_bits + grow).cpp
        self.calls.append(f"dfcc::sum_pool<{geom}, {p}, {t_in}, {t_acc}, {out.elem}>({x}, {out.name});  // {name}")

    def emit_fork(self, op: kinds.ForkOp) -> None:
        name = self.stage(op)
        p = _int_prop(op, "coarse")
        x = self.read(op.input, p, name)
        outs = []
        for i, result in enumerate(op.outputs):
            if result.type.element_type != op.input.type.element_type:
                raise self.error(op, "fork outputs with a number format other than the input's are not supported")
            s = self.new_stream(f"s_{name}_{i}", result.type, p, value=result)
            self.define(result, s)
            outs.append(s.name)
        beats = _prod(op.input.type.get_shape()) // p
        self.calls.append(f"dfcc::fork_each<{beats}, {p}>({x}, {', '.join(outs)});  // {name}")

    def emit_reshape(self, op: kinds.ReshapeOp) -> None:
        """No hardware: the same words in the same order, in its folding's lanes (fitting both last dims)."""
        self.stage(op)
        if op.input.type.element_type != op.output.type.element_type:
            raise self.error(op, "a reshape that changes the number format is not supported")
        src = self.read_stream(op.input, _int_prop(op, "coarse"), op.node_name.data)
        self.define(op.output, Stream(src.name, src.elem, src.lanes, src.depth, op.output.type.get_shape()))
        self.calls.append(f"// {op.node_name.data}: reshape {'x'.join(map(str, op.input.type.get_shape()))} -> "
                          f"{'x'.join(map(str, op.output.type.get_shape()))} reuses stream {src.name}")

    def emit_transpose(self, op: kinds.TransposeOp) -> None:
        name = self.stage(op)
        if op.input.type.element_type != op.output.type.element_type:
            raise self.error(op, "a transpose that changes the number format is not supported")
        shape, perm = op.input.type.get_shape(), list(op.ints_prop("perm"))
        groups = op.moved_dim_groups()
        lanes = _int_prop(op, "coarse")  # divides both last dims (TransposeOp.folding_extents)
        if len(groups) <= 1:  # the element order does not change: a relabelling, like a reshape
            src = self.read_stream(op.input, lanes, name)
            self.define(op.output, Stream(src.name, src.elem, src.lanes, src.depth, op.output.type.get_shape()))
            self.calls.append(f"// {name}: transpose that keeps the element order reuses stream {src.name}")
            return
        if len(groups) > 3:
            raise self.error(op, f"transposes that permute more than 3 dims ({shape} by {perm}) are not supported")
        in_groups = sorted(groups, key=lambda g: g[0])
        dims = [1] * (3 - len(groups)) + [_prod(shape[d] for d in g) for g in in_groups]
        pad = 3 - len(groups)
        order = list(range(pad)) + [pad + in_groups.index(g) for g in groups]
        a, b, c = order
        x = self.read(op.input, lanes, name)
        out = self.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
        self.define(op.output, out)
        self.calls.append(f"dfcc::transpose<{dims[0]}, {dims[1]}, {dims[2]}, {a}, {b}, {c}, {lanes}, {lanes}>"
                          f"({x}, {out.name});  // {name}")

    def emit_concat_pixels(self, op: kinds.ConcatOp, name: str) -> None:
        """Channel concat: pairwise concat_pixels stages, inputs side by side in C_i/K lanes (K =
        `pixel_beats()`), whole pixels out; a chain for more than two inputs."""
        k = op.pixel_beats()
        pixels = op.output.type.num_elements // op.output.type.get_shape()[-1]
        t_out = self.elem(op.output)
        left, ka = self.read_stream(op.inputs[0], op.inputs[0].type.get_shape()[-1] // k, name), k
        for i, value in enumerate(op.inputs[1:], start=1):
            right = self.read_stream(value, value.type.get_shape()[-1] // k, name)
            lanes = ka * left.lanes + right.lanes * k
            if i == len(op.inputs) - 1:
                out = self.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
            else:
                out = Stream(self.unique(f"s_{name}_part{i}"), t_out, lanes, 2, ())
                self.decls.append(out)
            self.calls.append(f"dfcc::concat_pixels<{pixels}, {ka}, {k}, {left.lanes}, {right.lanes}, {left.elem}, "
                              f"{right.elem}, {t_out}>({left.name}, {right.name}, {out.name});  // {name}")
            left, ka = out, 1
        self.define(op.output, left)

    def emit_concat(self, op: kinds.ConcatOp) -> None:
        """Inputs in turn: pairwise concat_blocks stages (a chain for more than two inputs)."""
        name = self.stage(op)
        if op.side_by_side():
            self.emit_concat_pixels(op, name)
            return
        axis = op.axis.value.data
        out_shape = op.output.type.get_shape()
        p = _int_prop(op, "coarse")  # divides the last dim of every input (ConcatOp.folding_extents)
        outer = _prod(out_shape[:axis])
        t_out = self.elem(op.output)
        left = self.read_stream(op.inputs[0], p, name)
        left_words = _prod(op.inputs[0].type.get_shape()[axis:])
        for k, value in enumerate(op.inputs[1:], start=1):
            right = self.read_stream(value, p, name)
            words = _prod(value.type.get_shape()[axis:])
            last = k == len(op.inputs) - 1
            if last:
                out = self.new_stream(f"s_{name}", op.output.type, p, value=op.output)
            else:
                out = Stream(self.unique(f"s_{name}_part{k}"), t_out, p, 2, ())
                self.decls.append(out)
            self.calls.append(f"dfcc::concat_blocks<{outer}, {left_words // p}, {words // p}, {p}, {left.elem}, "
                              f"{right.elem}, {t_out}>({left.name}, {right.name}, {out.name});  // {name}")
            left, left_words = out, left_words + words
        self.define(op.output, left)

    def emit_resize(self, op: kinds.ResizeOp) -> None:
        name = self.stage(op)
        shape, scale = op.input.type.get_shape(), op.ints_prop("scale")
        if len(shape) != 4 or shape[0] != 1 or scale[0] != 1 or scale[3] != 1:
            raise self.error(op, f"resizing {shape} by {scale} is not supported (only H and W of a 1xHxWxC stream)")
        _, h, w, c = shape
        p = math.gcd(_int_prop(op, "coarse"), c)
        x = self.read_stream(op.input, p, name)
        out = self.new_stream(f"s_{name}", op.output.type, p, value=op.output)
        self.define(op.output, out)
        kernel = {"nearest": "upsample_nearest", "zeros": "insert_zeros"}.get(op.mode.data)
        if kernel is None:
            raise self.error(op, f"resize mode '{op.mode.data}' is not supported")
        self.calls.append(f"dfcc::{kernel}<{h}, {w}, {c}, {scale[1]}, {scale[2]}, {p}, {x.elem}, {out.elem}>"
                          f"({x.name}, {out.name});  // {name}")

    def emit_matmul(self, op: kinds.MatmulOp) -> None:
        name = self.stage(op)
        a_shape, b_shape = op.lhs.type.get_shape(), op.rhs.type.get_shape()
        m, k = a_shape[-2:]
        n = b_shape[-1]
        batch = _prod(a_shape[:-2])
        ci, co = _int_prop(op, "coarse_in"), _int_prop(op, "coarse_out")
        a = self.read_stream(op.lhs, ci, name)
        b = self.read_stream(op.rhs, co, name)
        out = self.new_stream(f"s_{name}", op.output.type, co, value=op.output)
        self.define(op.output, out)
        out_fixed = self.fixed_type(op.output)
        t_mid = None
        if out_fixed is None:
            if self.fixed_type(op.lhs) is not None or self.fixed_type(op.rhs) is not None:
                raise self.error(op, "a float matmul of fixed-point streams is not supported")
            t_acc = "float"
        else:
            a_fixed, b_fixed = self.fixed_type(op.lhs), self.fixed_type(op.rhs)
            if a_fixed is None or b_fixed is None:
                raise self.error(op, "a fixed-point output needs fixed-point inputs")
            fa, fb = fx_of(a_fixed).as_signed(), fx_of(b_fixed).as_signed()
            grow = math.ceil(math.log2(k)) + 1 if k > 1 else 0
            exact = Fx(fa.width + fb.width + grow, fa.int_bits + fb.int_bits + grow)
            t_acc = exact.cpp
            acc_fmt = op.properties.get("acc_format")
            if isinstance(acc_fmt, df.FixedType):
                acc = fx_of(acc_fmt)
                if acc.frac >= exact.frac and (acc_fmt.overflow.data == "wrap" or (acc.int_bits >= exact.int_bits and acc.signed)):
                    t_acc = cpp_type(acc_fmt)
                else:
                    t_mid = cpp_type(acc_fmt)
        types = f"{a.elem}, {b.elem}, {t_acc}, {out.elem}" + self._mid_and_mul(op, t_acc, t_mid)
        self.calls.append(f"dfcc::matmul<{batch}, {m}, {k}, {n}, {ci}, {co}, {types}>({a.name}, {b.name}, {out.name});"
                          f"  // {name}")

    def emit_pad(self, op: kinds.PadOp) -> None:
        from dfcc.backends.hls.stages import pad_stage

        pad_stage(self, op, self.stage(op))

    def emit_slice(self, op: kinds.SliceOp) -> None:
        from dfcc.backends.hls.stages import slice_stage

        slice_stage(self, op, self.stage(op))

    def emit_reduce(self, op: kinds.ReduceOp) -> None:
        from dfcc.backends.hls.stages import reduce_stage

        name = self.stage(op)
        reduce_stage(self, op, name)

    def emit_map(self, op: kinds.MapOp) -> None:
        from dfcc.backends.hls.stages import map_stage

        name = self.stage(op)
        map_stage(self, op, name)

    # -- output ---------------------------------------------------------------------------------

    def port_decl(self, port: Port) -> str:
        return f"hls::stream<dfcc::vec<{port.elem}, {port.lanes}> >& {port.name}"

    def finish(self) -> Design:
        ports = [self.port_decl(p) for p in self.inputs + self.outputs]
        signature = f"void {TOP}({', '.join(ports)})"
        weights = {}
        rom_includes = []
        for rom in self.roms.values():
            path = f"weights/{rom.name}.h"
            guard = f"DFCC_WEIGHTS_{rom.name.upper()}_H"
            weights[path] = (f"// {rom.name}: generated by dfcc (values exact in {rom.value_type}).\n"
                             f"#ifndef {guard}\n#define {guard}\n\n#include \"../top.h\"\n\n{rom.text()}\n#endif\n")
            rom_includes.append(f'#include "{path}"')
        top_h = "\n".join([
            "// Generated by dfcc: the accelerator's top function (one inference per call).",
            "#ifndef DFCC_TOP_H",
            "#define DFCC_TOP_H",
            "",
            "#include <ap_fixed.h>",
            "#include <hls_stream.h>",
            "",
            "#include \"dfcc/concat.h\"",
            "#include \"dfcc/conv.h\"",
            "#include \"dfcc/fork.h\"",
            "#include \"dfcc/linear.h\"",
            "#include \"dfcc/pool.h\"",
            "#include \"dfcc/resize.h\"",
            "#include \"dfcc/rom.h\"",
            "#include \"dfcc/transpose.h\"",
            "#include \"dfcc/vec.h\"",
            "",
            *[f"// input {p.name}: {'x'.join(map(str, p.shape))} (stream order), {p.lanes} lane(s) of {p.elem}" for p in self.inputs],
            *[f"// output {p.name}: {'x'.join(map(str, p.shape))} (stream order), {p.lanes} lane(s) of {p.elem}" for p in self.outputs],
            f"{signature};",
            "",
            "#endif",
            "",
        ])
        body = []
        for p in self.inputs + self.outputs:
            body.append(f"    {_HLS}(INTERFACE axis port={p.name})")
        body.append(f"    {_HLS}(DATAFLOW)")
        body.extend("    " + line for line in self.storage)
        body.append("")
        for s in self.decls:
            body.append(f"    {s.cpp} {s.name}(\"{s.name}\");")
            body.append(f"    {_HLS}(STREAM variable={s.name} depth={s.depth})")
        body.append("")
        body.extend("    " + call for call in self.calls)
        top_cpp = "\n".join([
            "// Generated by dfcc: one stage per dataflow node, streams between them, DATAFLOW at the top.",
            "// DFCC_HLS(x) is `#pragma HLS x` under Vitis HLS and nothing in g++ C simulation (dfcc/vec.h).",
            "#include <cmath>",
            "#include <limits>",
            "",
            "#include \"top.h\"",
            *rom_includes,
            "",
            *self.defs,
            f"{signature} {{",
            *body,
            "}",
            "",
        ])
        platform = self.module.attributes.get(df.PLATFORM_ATTR)
        files = {"top.h": top_h, "top.cpp": top_cpp, **weights}
        return Design(files, self.inputs, self.outputs, self.fixed,
                      platform.data if platform is not None else None, self.stage_names)


def emit_design(module: ModuleOp) -> Design:
    return Emitter(module).run()
