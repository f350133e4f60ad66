"""Generated stage functions: element-wise maps (functor struct + streaming loop) and reductions.

Both walk their output (map) or input (reduce) in stream order, one beat of P lanes per cycle
(`PIPELINE II=1` on the innermost loop). A map input smaller than the output (numpy broadcasting,
e.g. squeeze-excitation scales [1,1,1,C] against [1,H,W,C]) is read the first time an element is
needed and kept in a buffer covering the dims after its first broadcast dim; per-channel
parameters are ROMs indexed like numpy broadcasting does.

Map bodies become `struct <node>_body { static T apply(...) }` translating the arith/math ops:
- float designs: the same float32 (or f64) operations as backends/cpu/scalar_body.py evaluates with
  numpy (erf mirrors its `_erf` approximation);
- fixed-point designs (backends/cpu/fixed_point.py, `map_kind`): "table" -> a ROM of `map_table`
  indexed by the input's bit pattern; "exact" -> ap_fixed intermediates wide enough to be exact;
  "float" -> double evaluation, then the cast to the output type.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects import arith
from xdsl.ir import Block, SSAValue

from dfcc.backends.hls.emit import _HLS, Fx, Rom, code_storage, cpp_type, exact_fx_for, float_literal, fx_of, join_fx, sanitize
from dfcc import kinds
from dfcc.errors import DfccError

_CMP = {"oeq": "==", "ueq": "==", "one": "!=", "une": "!=", "ogt": ">", "ugt": ">", "oge": ">=", "uge": ">=",
        "olt": "<", "ult": "<", "ole": "<=", "ule": "<="}
_BIN = {"arith.addf": "+", "arith.subf": "-", "arith.mulf": "*", "arith.divf": "/"}
_FUN1 = {"math.exp": "std::exp", "math.log": "std::log", "math.tanh": "std::tanh", "math.sqrt": "std::sqrt",
         "math.absf": "std::fabs", "math.floor": "std::floor", "math.ceil": "std::ceil", "math.roundeven": "std::nearbyint"}
_FUN2 = {"arith.maxnumf": "std::fmax", "arith.minnumf": "std::fmin", "math.powf": "std::pow", "arith.remf": "std::fmod",
         "math.fpowi": "std::pow"}

ERF_HELPER = """// erf as backends/cpu/scalar_body.py's _erf computes it (Numerical Recipes' erfc fit, in double)
static inline double dfcc_erf(double x) {
    const double z = std::fabs(x);
    const double t = 1.0 / (1.0 + 0.5 * z);
    const double poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    const double r = 1.0 - t * std::exp(poly);
    return x > 0 ? r : (x < 0 ? -r : 0.0 * r);
}
"""


def _constant(op) -> float:
    from dfcc.backends.cpu.scalar_body import constant_value

    return float(constant_value(op))


def _ctype_of(t) -> str:
    from xdsl.dialects.builtin import Float64Type, IntegerType

    if isinstance(t, Float64Type):
        return "double"
    if isinstance(t, IntegerType):
        return "bool" if t.width.data == 1 else "int"
    return "float"


def translate_float(block: Block, args: list[str], all_double: bool) -> tuple[list[str], str, bool]:
    """C++ statements computing the body in float (per MLIR type) or, with all_double, in double.
    Returns (lines, result expression, uses erf)."""
    env: dict[SSAValue, str] = dict(zip(block.args, args))
    types: dict[SSAValue, str] = {a: ("double" if all_double else _ctype_of(a.type)) for a in block.args}
    lines: list[str] = []
    uses_erf = False
    for n, op in enumerate(block.ops):
        if op is block.last_op:
            return lines, env[op.operands[0]], uses_erf
        if op.name == "cf.assert":
            continue
        result = op.results[0]
        t = "bool" if _ctype_of(result.type) == "bool" else ("double" if all_double else _ctype_of(result.type))
        a = [env[v] for v in op.operands]
        name = op.name
        if name == "arith.constant":
            value = _constant(op)
            expr = float_literal(value, single=(t == "float"))
        elif name in _BIN:
            expr = f"{a[0]} {_BIN[name]} {a[1]}"
        elif name == "arith.negf":
            expr = f"-{a[0]}"
        elif name in ("arith.maximumf", "arith.minimumf"):
            cmp = ">" if name == "arith.maximumf" else "<"
            expr = f"({a[0]} {cmp} {a[1]} ? {a[0]} : {a[1]})"
        elif name in _FUN1:
            expr = f"{_FUN1[name]}({a[0]})"
        elif name in _FUN2:
            expr = f"{_FUN2[name]}({a[0]}, {t}({a[1]}))"
        elif name == "math.rsqrt":
            expr = f"{t}(1) / std::sqrt({a[0]})"
        elif name == "math.erf":
            uses_erf = True
            expr = f"{t}(dfcc_erf({a[0]}))"
        elif name == "arith.cmpf":
            predicate = arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
            if predicate not in _CMP:
                raise DfccError(f"comparison '{predicate}' in a map body is not supported by the HLS backend")
            expr = f"{a[0]} {_CMP[predicate]} {a[1]}"
        elif name == "arith.select":
            expr = f"({a[0]} ? {a[1]} : {a[2]})"
        elif name in ("arith.truncf", "arith.extf"):
            expr = f"{t}({a[0]})"
        else:
            raise DfccError(f"scalar operation '{name}' in a map body is not supported by the HLS backend")
        var = f"v{n}"
        lines.append(f"const {t} {var} = {expr};")
        env[result], types[result] = var, t
    raise DfccError("map body has no terminator")


def translate_exact(block: Block, args: list[str], arg_fx: list[Fx]) -> tuple[list[str], str]:
    """C++ statements computing a piecewise-linear body exactly in ap_fixed (types tracked here)."""
    env: dict[SSAValue, str] = dict(zip(block.args, args))
    fxs: dict[SSAValue, Fx | None] = dict(zip(block.args, arg_fx))
    lines: list[str] = []
    for n, op in enumerate(block.ops):
        if op is block.last_op:
            return lines, env[op.operands[0]]
        if op.name == "cf.assert":
            continue
        result = op.results[0]
        a = [env.get(v) for v in op.operands]
        f = [fxs.get(v) for v in op.operands]
        name, var = op.name, f"v{n}"
        if name == "arith.constant":
            value = _constant(op)
            t = exact_fx_for(np.array([value]))
            lines.append(f"const {t.cpp} {var} = {float_literal(value, single=False)};")
        elif name in ("arith.addf", "arith.subf"):
            j = join_fx(f[0], f[1])
            t = Fx(j.width + 1, j.int_bits + 1)
            lines.append(f"const {t.cpp} {var} = {a[0]} {_BIN[name]} {a[1]};")
        elif name == "arith.mulf":
            x, y = f[0].as_signed(), f[1].as_signed()
            t = Fx(x.width + y.width, x.int_bits + y.int_bits)
            lines.append(f"const {t.cpp} {var} = {a[0]} * {a[1]};")
        elif name == "arith.divf":  # by a power-of-two constant (map_kind checked)
            c = _constant(op.operands[1].owner)
            inv = exact_fx_for(np.array([1.0 / c]))
            x = f[0].as_signed()
            t = Fx(x.width + inv.width, x.int_bits + inv.int_bits)
            lines.append(f"const {t.cpp} {var} = {a[0]} * {inv.cpp}({float_literal(1.0 / c, single=False)});")
        elif name == "arith.negf":
            x = f[0].as_signed()
            t = Fx(x.width + 1, x.int_bits + 1)
            lines.append(f"const {t.cpp} {var} = -{a[0]};")
        elif name == "math.absf":
            x = f[0].as_signed()
            t = Fx(x.width + 1, x.int_bits + 1)
            lines.append(f"const {t.cpp} {var} = {a[0]} < 0 ? {t.cpp}(-{a[0]}) : {t.cpp}({a[0]});")
        elif name in ("arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf"):
            t = join_fx(f[0], f[1])
            cmp = ">" if "max" in name else "<"
            lines.append(f"const {t.cpp} {var} = {a[0]} {cmp} {a[1]} ? {t.cpp}({a[0]}) : {t.cpp}({a[1]});")
        elif name == "arith.cmpf":
            predicate = arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
            if predicate not in _CMP:
                raise DfccError(f"comparison '{predicate}' in a map body is not supported by the HLS backend")
            t = None
            lines.append(f"const bool {var} = {a[0]} {_CMP[predicate]} {a[1]};")
        elif name == "arith.select":
            t = join_fx(f[1], f[2])
            lines.append(f"const {t.cpp} {var} = {a[0]} ? {t.cpp}({a[1]}) : {t.cpp}({a[2]});")
        elif name in ("arith.truncf", "arith.extf"):
            t = f[0]
            lines.append(f"const {t.cpp} {var} = {a[0]};")
        else:
            raise DfccError(f"scalar operation '{name}' cannot be computed exactly in fixed point")
        env[result], fxs[result] = var, t
    raise DfccError("map body has no terminator")


def _loops(dims: list[int], inner: str) -> tuple[list[str], list[str], str]:
    """Loop headers over `dims` (outer dims i0.., innermost `inner`), closers, and the indent."""
    heads, indent = [], "    "
    names = [f"i{d}" for d in range(len(dims) - 1)] + [inner]
    for name, extent in zip(names, dims):
        heads.append(f"{indent}for (int {name} = 0; {name} < {extent}; {name}++) {{")
        indent += "    "
    closers = ["    " * (len(dims) - k) + "}" for k in range(len(dims))]
    return heads, closers, indent


def _small_exact(values: np.ndarray) -> bool:
    """Whether finite dyadic `values` fit an exact fixed type a ROM can store (<= 63 bits)."""
    try:
        return exact_fx_for(values).width <= 63
    except DfccError:
        return False


def map_stage(em, op: kinds.MapOp, name: str) -> None:
    from dfcc.backends.cpu import fixed_point as fxp

    fn = sanitize(name)
    out_shape = list(op.output.type.get_shape())
    rank = len(out_shape)
    c_out = out_shape[-1]
    lanes = em_int(op, "coarse")
    out_fixed = em.fixed_type(op.output)
    t_out = cpp_type(op.output.type.element_type)
    kind = "float" if out_fixed is None else fxp.map_kind(op)
    if out_fixed is not None and any(em.fixed_type(v) is None for v in op.inputs):
        raise em.error(op, "a fixed-point map needs fixed-point inputs")

    # inputs: full streams and broadcast ones (buffered)
    ports, reads, setup, value_exprs = [], [], [], []
    lane_lines: list[str] = []
    for k, value in enumerate(op.inputs):
        shape = [1] * (rank - len(value.type.get_shape())) + list(value.type.get_shape())
        t_in = cpp_type(value.type.element_type)
        p_in = lanes if shape[-1] == c_out else 1
        stream = em.read(value, p_in, name)
        ports.append(f"hls::stream<dfcc::vec<{t_in}, {p_in}> >& in{k}")
        reads.append(stream)
        if shape == out_shape:
            lane_lines.append(f"const dfcc::vec<{t_in}, {p_in}> x{k} = in{k}.read();")
            value_exprs.append(f"x{k}.data[p]")
            continue
        bdims = [d for d in range(rank) if shape[d] == 1 and out_shape[d] > 1]
        k0 = bdims[0]
        after = list(range(k0 + 1, rank))
        size = 1
        strides = {}
        for d in reversed(after):
            strides[d] = size
            size *= shape[d]
        base_terms = [f"i{d} * {strides[d]}" for d in after if d < rank - 1 and shape[d] > 1]
        base = " + ".join(base_terms) if base_terms else "0"
        cond_terms = [f"i{d} == 0" for d in bdims if d < rank - 1] + (["cb == 0"] if rank - 1 in bdims else [])
        cond = " && ".join(cond_terms) if cond_terms else "true"
        setup.append(f"    {t_in} buf{k}[{max(size, 1)}];")
        if p_in > 1:
            setup.append(f"    {_HLS}(ARRAY_PARTITION variable=buf{k} cyclic factor={p_in})")
        if shape[-1] == c_out and c_out > 1:
            lane_lines.append(f"if ({cond}) {{ const dfcc::vec<{t_in}, {p_in}> b = in{k}.read(); "
                              f"for (int q = 0; q < {p_in}; q++) buf{k}[{base} + cb * {p_in} + q] = b.data[q]; }}")
            value_exprs.append(f"buf{k}[{base} + cb * {lanes} + p]")
        else:
            lane_lines.append(f"if ({cond}) buf{k}[{base}] = in{k}.read().data[0];")
            value_exprs.append(f"buf{k}[{base}]")

    # parameters: ROMs broadcast like numpy
    param_fx: list[Fx | None] = []
    for k, param in enumerate(op.params):
        w_op = em.weights(param, op, f"parameter {k}")
        shape = [1] * (rank - len(param.type.get_shape())) + list(param.type.get_shape())
        values = np.asarray(em_elements(w_op))
        if out_fixed is None:
            rom = em.rom(w_op, name=f"p_{fn}_{k}", shape=tuple(shape))
            param_fx.append(None)
        elif w_op.format is None and not _small_exact(values):
            # unquantized constants (e.g. a -inf attention mask): a double ROM, the body in double
            rom = Rom(f"p_{fn}_{k}", "double", "double", tuple(shape), values.reshape(shape), None,
                      f"map '{name}': unquantized parameter {k}")
            em.roms[rom.name] = rom
            param_fx.append(None)
            kind = "float"
        else:
            fx = em.weights_fx(w_op, values.astype(np.float64))
            rom = em.rom(w_op, name=f"p_{fn}_{k}", shape=tuple(shape), fx=fx)
            param_fx.append(fx)
        index = "".join(f"[{('cb * %d + p' % lanes) if d == rank - 1 else f'i{d}'}]" if shape[d] > 1 else "[0]"
                        for d in range(rank))
        value_exprs.append(f"dfcc::val({rom.name}{index})")

    # the functor
    arg_types = [cpp_type(v.type.element_type) for v in op.inputs]
    arg_types += [("float" if out_fixed is None else "double") if fx is None else fx.cpp for fx in param_fx]
    params = ", ".join(f"const {t}& a{i}" for i, t in enumerate(arg_types))
    block = op.body.block
    body_lines: list[str]
    if kind == "table":
        x_fixed = em.fixed_type(op.inputs[0])
        width = x_fixed.width.data
        table = fxp.map_table(op)
        out_fx = fx_of(out_fixed)
        rom = Rom(f"t_{fn}", f"dfcc::code<{t_out}, {code_storage(out_fx)} >", t_out, (1 << width,), table,
                  out_fx.frac, f"map '{name}': output for every input bit pattern (fixed_point.map_table)")
        em.roms[rom.name] = rom
        body_lines = [f"return dfcc::val({rom.name}[a0.range({width - 1}, 0).to_uint()]);"]
        ret = t_out
    elif kind == "exact":
        arg_fx = [fx_of(em.fixed_type(v)) for v in op.inputs] + param_fx
        lines, result = translate_exact(block, [f"a{i}" for i in range(len(arg_types))], arg_fx)
        body_lines = lines + [f"return {t_out}({result});"]
        ret = t_out
    else:
        all_double = out_fixed is not None
        if all_double:
            args = [f"d{i}" for i in range(len(arg_types))]
            conv = [f"const double d{i} = {'a%d' % i if t in ('float', 'double') else 'a%d.to_double()' % i};"
                    for i, t in enumerate(arg_types)]
        else:
            args, conv = [f"a{i}" for i in range(len(arg_types))], []
        lines, result, uses_erf = translate_float(block, args, all_double)
        if uses_erf and ERF_HELPER not in em.defs:
            em.defs.insert(0, ERF_HELPER)
        if all_double:  # non-finite values cast as fixed_point.to_codes does: nan -> 0, +-inf -> code +-2^60
            big = float_literal(math.ldexp(1.0, 60 - fx_of(out_fixed).frac), single=False)
            body_lines = conv + lines + [
                f"const double r = {result};",
                f"return std::isnan(r) ? {t_out}(0) : (std::isinf(r) ? {t_out}(r > 0 ? {big} : -{big}) : {t_out}(r));"]
        else:
            body_lines = conv + lines + [f"return {t_out}({result});"]
        ret = t_out
    em.defs.append("\n".join([
        f"// map '{name}' ({kind}): the scalar body of the dataflow.map",
        f"struct {fn}_body {{",
        f"    static {ret} apply({params}) {{",
        *("        " + line for line in body_lines),
        "    }",
        "};",
        "",
    ]))

    # the stage
    out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
    em.define(op.output, out)
    dims = out_shape[:-1] + [c_out // lanes]
    heads, closers, ind = _loops(dims, "cb")
    call = f"{fn}_body::apply({', '.join(value_exprs)})"
    stage = [
        f"// map '{name}': {'x'.join(map(str, out_shape))} in {lanes} lane(s)",
        f"static void stage_{fn}({', '.join(ports + [f'hls::stream<dfcc::vec<{t_out}, {lanes}> >& out'])}) {{",
        *setup,
        *heads,
        f"{ind}{_HLS}(PIPELINE II=1)",
        *(ind + line for line in lane_lines),
        f"{ind}dfcc::vec<{t_out}, {lanes}> y;",
        f"{ind}for (int p = 0; p < {lanes}; p++) y.data[p] = {t_out}({call});",
        f"{ind}out.write(y);",
        *closers,
        "}",
        "",
    ]
    em.defs.append("\n".join(stage))
    em.calls.append(f"stage_{fn}({', '.join(reads)}, {out.name});  // {name}")


def reduce_stage(em, op: kinds.ReduceOp, name: str) -> None:
    from dfcc.backends.cpu.fixed_point import mean_reciprocal

    fn = sanitize(name)
    shape = list(op.input.type.get_shape())
    rank = len(shape)
    dims = sorted(set(op.ints_prop("dims")))
    dims = [d for d in dims if shape[d] > 1] or dims
    kind = op.kind.data
    count = int(np.prod([shape[d] for d in dims]))
    lanes = em_int(op, "coarse")
    last_reduced = rank - 1 in dims and shape[-1] > 1
    p_out = 1 if last_reduced else lanes
    t_in, t_out = cpp_type(op.input.type.element_type), cpp_type(op.output.type.element_type)
    x_fixed = em.fixed_type(op.input)
    if (x_fixed is None) != (em.fixed_type(op.output) is None):
        raise em.error(op, "reductions between float and fixed-point streams are not supported")
    if x_fixed is None:
        t_acc = "float"
        finish = {"sum": "acc[a]", "max": "acc[a]", "mean": f"acc[a] / {float_literal(float(count))}"}[kind]
        extra = []
    else:
        xf = fx_of(x_fixed).as_signed()
        if kind == "max":
            t_acc = t_in
        else:
            grow = math.ceil(math.log2(count)) + 1
            t_acc = Fx(xf.width + grow, xf.int_bits + grow).cpp
        r = mean_reciprocal(count)
        r_fx = exact_fx_for(np.array([r]))
        extra = [f"    const {r_fx.cpp} recip = {float_literal(r, single=False)};  // fixed_point.mean_reciprocal({count})"] if kind == "mean" else []
        finish = "acc[a] * recip" if kind == "mean" else "acc[a]"
    x = em.read(op.input, lanes, name)
    out = em.new_stream(f"s_{name}", op.output.type, p_out, value=op.output)
    em.define(op.output, out)
    k0 = dims[0]
    keep_after = [d for d in range(k0 + 1, rank) if d not in dims]
    size, strides = 1, {}
    for d in reversed(keep_after):
        strides[d] = size
        size *= shape[d]
    terms = [(f"i{d}" if d < rank - 1 else "c") + f" * {strides[d]}" for d in keep_after if shape[d] > 1]
    index = " + ".join(terms) if terms else "0"
    first = " && ".join([f"i{d} == 0" for d in dims if d < rank - 1] + (["c == 0"] if last_reduced else [])) or "true"
    last = " && ".join([f"i{d} == {shape[d] - 1}" for d in dims if d < rank - 1]) or "true"
    combine = "acc[a] + v" if kind in ("sum", "mean") else "(v > acc[a] ? v : acc[a])"
    loop_dims = shape[:-1] + [shape[-1] // lanes]
    heads, closers, ind = _loops(loop_dims, "cb")
    emit_when = last + (f" && cb == {shape[-1] // lanes - 1}" if last_reduced else "")
    store = (f"{ind}    if (c == {shape[-1] - 1}) y.data[0] = {t_out}({finish});" if last_reduced
             else f"{ind}    y.data[p] = {t_out}({finish});")
    stage = [
        f"// reduce '{name}': {kind} over dims {dims} of {'x'.join(map(str, shape))}, in stream order",
        f"static void stage_{fn}(hls::stream<dfcc::vec<{t_in}, {lanes}> >& in, hls::stream<dfcc::vec<{t_out}, {p_out}> >& out) {{",
        f"    {t_acc} acc[{size}];",
        *extra,
        *heads,
        f"{ind}{_HLS}(PIPELINE II=1)",
        f"{ind}const dfcc::vec<{t_in}, {lanes}> x = in.read();",
        f"{ind}dfcc::vec<{t_out}, {p_out}> y;",
        f"{ind}for (int p = 0; p < {lanes}; p++) {{",
        f"{ind}    const int c = cb * {lanes} + p;",
        f"{ind}    const int a = {index};",
        f"{ind}    const {t_acc} v = {t_acc}(x.data[p]);",
        f"{ind}    acc[a] = ({first}) ? v : {t_acc}({combine});",
        store,
        f"{ind}}}",
        f"{ind}if ({emit_when}) out.write(y);",
        *closers,
        "}",
        "",
    ]
    text = "\n".join(stage)
    if " c " not in text.replace("const int c =", "") and "c ==" not in text and "c *" not in text:
        text = text.replace(f"{ind}    const int c = cb * {lanes} + p;\n", "")
    em.defs.append(text)
    em.calls.append(f"stage_{fn}({x}, {out.name});  // {name}")


def em_int(op, key: str) -> int:
    attr = op.properties.get(key)
    return 1 if attr is None else attr.value.data


def em_elements(w_op):
    from dfcc.dialects.resources import elements_array

    return elements_array(w_op.value)


def _guarded_loops(dims: list[int], names: list[str], indent: str) -> tuple[list[str], list[str], str]:
    """Loop headers over `dims` named `names`, their closers, and the inner indent."""
    heads, closers = [], []
    for name, extent in zip(names, dims):
        heads.append(f"{indent}for (int {name} = 0; {name} < {extent}; {name}++) {{")
        closers.insert(0, f"{indent}}}")
        indent += "    "
    return heads, closers, indent


def _pad_source(mode: str) -> str:
    """C++ expression of the input index read for output index i (-1: the constant) of a dim of
    extent n padded by lo in front, as backends/cpu/kernels.pad (numpy's modes) defines it."""
    return {
        "constant": "(j >= 0 && j < n) ? j : -1",
        "reflect": "j < 0 ? -j : (j >= n ? 2 * (n - 1) - j : j)",
        "replicate": "j < 0 ? 0 : (j >= n ? n - 1 : j)",
        "circular": "((j % n) + n) % n",
    }[mode]


def pad_stage(em, op: kinds.PadOp, name: str) -> None:
    """Padding in any of PyTorch's modes: rows of the outermost padded dim are kept in a ring of R
    rows (R = max(lo, hi) + 1 for reflect/replicate/constant, the whole dim for circular: the
    node's `buffer_words()`), each output element is read from the ring at its source index."""
    fn = sanitize(name)
    shape, out_shape = list(op.input.type.get_shape()), list(op.output.type.get_shape())
    pads, mode = op.ints_prop("pad"), op.mode.data
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise em.error(op, f"pad mode '{mode}' is not supported")
    rank = len(shape)
    padded = [d for d in range(rank) if pads[2 * d] or pads[2 * d + 1]]
    o = padded[0] if padded else rank - 1
    lanes = 1 if (pads[2 * rank - 2] or pads[2 * rank - 1]) else math.gcd(em_int(op, "coarse"), shape[-1])
    row = int(np.prod(shape[o + 1:])) if o + 1 < rank else 1
    if o == rank - 1:
        lanes = 1
    lo_o, hi_o = pads[2 * o], pads[2 * o + 1]
    ring = shape[o] if mode == "circular" else min(shape[o], max(lo_o, hi_o) + 1)
    t_in, t_out = cpp_type(op.input.type.element_type), cpp_type(op.output.type.element_type)
    if (em.fixed_type(op.input) is None) != (em.fixed_type(op.output) is None):
        raise em.error(op, "padding between float and fixed-point streams is not supported")
    x = em.read(op.input, lanes, name)
    out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
    em.define(op.output, out)
    value = float_literal(float(op.value.value.data), single=False)
    inner = list(range(o + 1, rank))
    inner_names = [f"i{d}" for d in inner[:-1]] + (["cb"] if inner else [])
    inner_dims = [out_shape[d] for d in inner[:-1]] + ([out_shape[-1] // lanes] if inner else [])
    # flat index of the source element inside a ring row, and whether it is padding
    terms, checks, srcs = [], [], []
    stride = 1
    for d in reversed(inner):
        idx = f"i{d}" if d < rank - 1 else f"(cb * {lanes} + p)"
        srcs.append(f"const int s{d} = src_{fn}({idx}, {shape[d]}, {pads[2 * d]});")
        terms.append(f"s{d} * {stride}" if stride > 1 else f"s{d}")
        checks.append(f"s{d} < 0")
        stride *= shape[d]
    flat = " + ".join(reversed(terms)) or "0"
    pad_check = " || ".join(["r < 0"] + checks)
    outer_heads, outer_closers, ind = _guarded_loops(shape[:o], [f"i{d}" for d in range(o)], "    ")
    i_o = f"i{o}" if o < rank - 1 else "cb"
    heads, closers, ind2 = _guarded_loops(inner_dims, inner_names, ind + "    ")

    def fill(ind: str) -> list[str]:
        return [
            f"{ind}for (; have < need; have++) {{",
            f"{ind}    for (int b = 0; b < {row // lanes}; b++) {{",
            f"{ind}        {_HLS}(PIPELINE II=1)",
            f"{ind}        const dfcc::vec<{t_in}, {lanes}> x = in.read();",
            f"{ind}        for (int p = 0; p < {lanes}; p++) ring[have % {ring}][b * {lanes} + p] = x.data[p];",
            f"{ind}    }}",
            f"{ind}}}",
        ]

    stage = [
        f"// pad '{name}': {mode} {list(pads)} of {'x'.join(map(str, shape))}, a ring of {ring} row(s) of {row}",
        f"static int src_{fn}(int i, int n, int lo) {{",
        "    const int j = i - lo;",
        f"    return {_pad_source(mode)};",
        "}",
        f"static void stage_{fn}(hls::stream<dfcc::vec<{t_in}, {lanes}> >& in, hls::stream<dfcc::vec<{t_out}, {lanes}> >& out) {{",
        f"    static {t_in} ring[{ring}][{row}];",
        *outer_heads,
        f"{ind}int have = 0;",
        f"{ind}for (int {i_o} = 0; {i_o} < {out_shape[o]}; {i_o}++) {{",
        f"{ind}    const int r = src_{fn}({i_o}, {shape[o]}, {lo_o});",
        f"{ind}    const int need = r < 0 ? have : r + 1;",
        *fill(ind + "    "),
        *heads,
        f"{ind2}{_HLS}(PIPELINE II=1)",
        f"{ind2}dfcc::vec<{t_out}, {lanes}> y;",
        f"{ind2}for (int p = 0; p < {lanes}; p++) {{",
        *(f"{ind2}    {s}" for s in reversed(srcs)),
        f"{ind2}    y.data[p] = ({pad_check}) ? {t_out}({value}) : {t_out}(ring[r % {ring}][{flat}]);",
        f"{ind2}}}",
        f"{ind2}out.write(y);",
        *closers,
        f"{ind}}}",
        f"{ind}const int need = {shape[o]};",
        *fill(ind),
        *outer_closers,
        "}",
        "",
    ]
    if o == rank - 1:  # padding the last dim only: rows are single elements, no inner loops
        stage = [line.replace("(cb * 1 + p)", "cb") for line in stage]
    em.defs.append("\n".join(stage))
    em.calls.append(f"stage_{fn}({x}, {out.name});  // {name}")


def slice_stage(em, op: kinds.SliceOp, name: str) -> None:
    """A filter: reads the input in stream order and forwards the elements inside the window."""
    fn = sanitize(name)
    shape, out_shape = list(op.input.type.get_shape()), list(op.output.type.get_shape())
    offsets, strides = op.ints_prop("offsets"), op.ints_prop("strides")
    rank = len(shape)
    lanes = em_int(op, "coarse")  # whole beats in or out of the window (SliceOp.folding_extents)
    t_in, t_out = cpp_type(op.input.type.element_type), cpp_type(op.output.type.element_type)
    if (em.fixed_type(op.input) is None) != (em.fixed_type(op.output) is None):
        raise em.error(op, "slicing between float and fixed-point streams is not supported")
    x = em.read(op.input, lanes, name)
    out = em.new_stream(f"s_{name}", op.output.type, lanes, value=op.output)
    em.define(op.output, out)
    names = [f"i{d}" for d in range(rank - 1)] + ["cb"]
    conds = []
    beats = shape[:-1] + [shape[-1] // lanes]
    for d in range(rank):
        # the last dim in beats: a window of lanes-aligned channels is a window of beats
        o, n = (offsets[d] // lanes, out_shape[d] // lanes) if d == rank - 1 else (offsets[d], out_shape[d])
        i, s = names[d], strides[d]
        if o == 0 and s == 1 and n == beats[d]:
            continue
        conds.append(f"{i} >= {o}" + (f" && ({i} - {o}) % {s} == 0" if s > 1 else "") + f" && {i} <= {o + s * (n - 1)}")
    keep = " && ".join(f"({c})" for c in conds) or "true"
    heads, closers, ind = _guarded_loops(beats, names, "    ")
    stage = [
        f"// slice '{name}': offsets {list(offsets)}, strides {list(strides)} of {'x'.join(map(str, shape))} -> "
        f"{'x'.join(map(str, out_shape))}",
        f"static void stage_{fn}(hls::stream<dfcc::vec<{t_in}, {lanes}> >& in, hls::stream<dfcc::vec<{t_out}, {lanes}> >& out) {{",
        *heads,
        f"{ind}{_HLS}(PIPELINE II=1)",
        f"{ind}const dfcc::vec<{t_in}, {lanes}> x = in.read();",
        f"{ind}if ({keep}) {{",
        f"{ind}    dfcc::vec<{t_out}, {lanes}> y;",
        f"{ind}    for (int p = 0; p < {lanes}; p++) y.data[p] = {t_out}(x.data[p]);",
        f"{ind}    out.write(y);",
        f"{ind}}}",
        *closers,
        "}",
        "",
    ]
    em.defs.append("\n".join(stage))
    em.calls.append(f"stage_{fn}({x}, {out.name});  // {name}")
