"""C simulation of the HLS kernel library (backends/hls/include/dfcc) against numpy.

Each kernel family gets one generated C++ driver holding several template instantiations
(cases); all drivers are compiled once, in parallel, per session. A case feeds random inputs
through stdin and compares the streamed outputs with an independent numpy computation of the
documented arithmetic contract: bit-exact for ap_fixed (the `V` class below models exact
fixed-point values and ap_fixed conversions), within 1e-5 for float.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from dfcc.backends.hls import toolchain
from dfcc.errors import DfccError
from dfcc.kinds.hls_offchip import mac_words

HARNESS = "hls_kernels/harness.h"

# one worker builds the drivers (`make test` runs xdist with --dist loadgroup): a session fixture is per worker
pytestmark = pytest.mark.xdist_group("hls_kernels")


# ---------------------------------------------------------------------------------------------
# Number types and an exact model of their arithmetic


@dataclass(frozen=True)
class Fx:
    """ap_fixed<w, i, q, o> (ap_ufixed when not signed)."""

    w: int
    i: int
    q: str = "AP_TRN"
    o: str = "AP_WRAP"
    signed: bool = True

    @property
    def f(self) -> int:
        return self.w - self.i

    @property
    def cpp(self) -> str:
        return f"ap_{'' if self.signed else 'u'}fixed<{self.w},{self.i},{self.q},{self.o}>"


class Float:
    cpp = "float"


FLOAT = Float()


def quantize(raw: np.ndarray, frac: int, t: Fx) -> np.ndarray:
    """Integers `raw` scaled by 2**-frac converted to t's raw integers, as ap_fixed does."""
    raw = np.asarray(raw, dtype=np.int64)
    shift = frac - t.f
    if shift <= 0:
        q = raw << -shift
    else:
        q = raw >> shift  # floor
        rem, half = raw - (q << shift), 1 << (shift - 1)
        if t.q == "AP_RND_CONV":
            q = q + ((rem > half) | ((rem == half) & (q % 2 == 1)))
        elif t.q == "AP_RND":
            q = q + (rem >= half)
        else:
            assert t.q == "AP_TRN", t.q
    lo, hi = (-(1 << (t.w - 1)), (1 << (t.w - 1)) - 1) if t.signed else (0, (1 << t.w) - 1)
    if t.o == "AP_SAT":
        return np.clip(q, lo, hi)
    assert t.o == "AP_WRAP", t.o
    return ((q - lo) & ((1 << t.w) - 1)) + lo


class V:
    """An array of exact values: integers scaled by 2**-frac, or floats (frac None)."""

    def __init__(self, a, frac):
        self.a, self.frac = np.asarray(a), frac

    def _align(self, other):
        if self.frac is None:
            return self.a, other.a, None
        f = max(self.frac, other.frac)
        return self.a << (f - self.frac), other.a << (f - other.frac), f

    def __add__(self, other):
        a, b, f = self._align(other)
        return V(a + b, f)

    def __sub__(self, other):
        a, b, f = self._align(other)
        return V(a - b, f)

    def __mul__(self, other):
        return V(self.a * other.a, None if self.frac is None else self.frac + other.frac)

    def __getitem__(self, idx):
        return V(self.a[idx], self.frac)

    def cast(self, t) -> "V":
        if t is FLOAT:
            return V(self.a.astype(np.float32).astype(np.float64), None)
        return V(quantize(self.a, self.frac, t), t.f)

    def map(self, fn) -> "V":
        """Apply a numpy function that only rearranges elements."""
        return V(fn(self.a), self.frac)

    def to_float(self) -> np.ndarray:
        return self.a.astype(np.float64) if self.frac is None else self.a / 2.0**self.frac


def rand(rng, t, shape, scale=1.0) -> V:
    """Random values of type t; for ap_fixed a spread over `scale` of the type's full range."""
    if t is FLOAT:
        return V(rng.uniform(-4, 4, shape).astype(np.float32).astype(np.float64), None)
    hi = int((1 << (t.w - 1 if t.signed else t.w)) * scale)
    return V(rng.integers(-hi if t.signed else 0, hi, shape), t.f)


def running_sum(terms, t_acc) -> V:
    """acc = T_acc(0); acc = T_acc(acc + term) for each term in order (the library's sums)."""
    acc = terms[0].cast(t_acc).map(np.zeros_like)
    for term in terms:
        acc = (acc + term.cast(t_acc)).cast(t_acc)
    return acc


# ---------------------------------------------------------------------------------------------
# Driver generation


@dataclass
class Case:
    """One kernel call: typedefs, input streams/arrays, expected output streams (flat order)."""

    id: str
    call: str
    types: dict  # typedef name -> Fx | FLOAT
    ins: list  # (type name, lanes, V) for each input stream s_in0, s_in1, ...
    outs: list  # (type name, lanes, expected V) for each output stream s_out0, ...
    arrays: list = field(default_factory=list)  # (type name, V) for arrays a0, a1, ...

    def cpp(self, index: int) -> str:
        lines = [f"static void case_{index}() {{  // {self.id}"]
        used = " ".join([self.call] + [t for t, *_ in self.ins + self.outs + self.arrays])
        lines += [f"    typedef {t.cpp} {name};" for name, t in self.types.items() if name in used]
        for k, (t, p, v) in enumerate(self.ins):
            lines.append(f"    hls::stream<dfcc::vec<{t}, {p}> > s_in{k};")
            lines.append(f"    feed(s_in{k}, {v.a.size // p});")
        for k, (t, v) in enumerate(self.arrays):
            dims = "".join(f"[{d}]" for d in v.a.shape)
            lines.append(f"    static {t} a{k}{dims};")
            lines.append(f"    fill(&a{k}{'[0]' * v.a.ndim}, {v.a.size});")
        for k, (t, p, _) in enumerate(self.outs):
            lines.append(f"    hls::stream<dfcc::vec<{t}, {p}> > s_out{k};")
        lines.append(f"    {self.call};")
        for k in range(len(self.ins)):
            lines.append(f'    if (!s_in{k}.empty()) {{ std::printf("input {k} not consumed\\n"); return; }}')
        lines += [f"    drain(s_out{k});" for k in range(len(self.outs))]
        lines.append("}")
        return "\n".join(lines)

    def stdin(self) -> str:
        values = [v.to_float().ravel() for _, _, v in self.ins] + [v.to_float().ravel() for _, v in self.arrays]
        return "\n".join(repr(float(x)) for x in np.concatenate(values)) + "\n"


def driver_source(headers: list[str], cases: list[Case]) -> str:
    parts = [f"#include <dfcc/{h}>" for h in headers] + [f'#include "{HARNESS}"']
    parts += [c.cpp(i) for i, c in enumerate(cases)]
    parts.append("int main(int argc, char** argv) {\n    switch (argc > 1 ? std::atoi(argv[1]) : -1) {")
    parts += [f"    case {i}: case_{i}(); break;" for i in range(len(cases))]
    parts.append("    default: return 2;\n    }\n    return 0;\n}\n")
    return "\n".join(parts)


def check(binary, index: int, case: Case):
    out = toolchain.run(binary, [str(index)], case.stdin()).split()
    got = np.array([float(x) for x in out])  # a stray message fails here, loudly
    start = 0
    for k, (tname, _, want) in enumerate(case.outs):
        n = want.a.size
        assert got.size >= start + n, f"output {k}: {got.size - start} values, want {n}"
        g = got[start:start + n]
        start += n
        t = case.types[tname]
        if t is FLOAT:
            np.testing.assert_allclose(g, want.a.ravel(), rtol=1e-5, atol=1e-5, err_msg=f"output {k}")
        else:
            np.testing.assert_array_equal(np.round(g * 2.0**t.f).astype(np.int64), want.a.ravel(),
                                          err_msg=f"output {k} (raw integers)")
    assert got.size == start, f"{got.size - start} extra output values"


# ---------------------------------------------------------------------------------------------
# Kernel families: each builds its cases (inputs, expected outputs) from a fixed seed

Q16 = Fx(16, 6)  # default AP_TRN / AP_WRAP
ACC = Fx(24, 10)  # fewer fraction bits than a 16x16 product: T_acc(x*w) truncates
FIXED = dict(T_in=Q16, T_w=Q16, T_b=Q16, T_acc=ACC, T_out=Q16)
ROUND_SAT = dict(T_in=Q16, T_w=Q16, T_b=Q16, T_acc=Fx(20, 8, "AP_RND_CONV", "AP_SAT"),
                 T_out=Fx(12, 4, "AP_RND_CONV", "AP_SAT"))
# a saturating accumulator that saturates mid-sum: only the documented order gives these bits
ACC_SAT = dict(T_in=Q16, T_w=Q16, T_b=Q16, T_acc=Fx(16, 6, "AP_RND_CONV", "AP_SAT"), T_out=Q16)
FLOATS = dict(T_in=FLOAT, T_w=FLOAT, T_b=FLOAT, T_acc=FLOAT, T_out=FLOAT)


def out_size(n, k, s, d, p0, p1):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def pad_hw(x: V, pads, value=0) -> V:
    pt, pb, pl, pr = pads
    return x.map(lambda a: np.pad(a, ((pt, pb), (pl, pr), (0, 0)), constant_values=value))


def window_taps(xp: V, ho, wo, kr, kc, stride, dil) -> V:
    """xp[ho*SR + kr*DR, wo*SC + kc*DC, :] for all output pixels: [HO][WO][C]."""
    rows = np.arange(ho) * stride[0] + kr * dil[0]
    cols = np.arange(wo) * stride[1] + kc * dil[1]
    return xp[np.ix_(rows, cols)]


def ref_conv(x: V, w: V, b: V, t, stride, dil, pads, groups) -> V:
    (h, wd, _), (f, cg, kr_, kc_) = x.a.shape, w.a.shape
    ho = out_size(h, kr_, stride[0], dil[0], pads[0], pads[1])
    wo = out_size(wd, kc_, stride[1], dil[1], pads[2], pads[3])
    xp = pad_hw(x, pads)
    first = np.arange(f) // (f // groups) * cg  # first input channel of each filter's group
    acc = b.cast(t["T_acc"]).map(lambda a: np.broadcast_to(a, (ho, wo, f)))
    for ch in range(cg):
        for kr in range(kr_):
            for kc in range(kc_):
                xs = window_taps(xp, ho, wo, kr, kc, stride, dil)[:, :, first + ch]
                acc = (acc + (xs * w[:, ch, kr, kc]).cast(t["T_acc"])).cast(t["T_acc"])
    return acc.cast(t["T_out"])


def weight_words(w: V, sweeps: int, kernel: str, **order) -> tuple[str, V]:
    """The MAC's weights as the compiler emits them (kinds/hls_offchip.py): its words in the order the MAC
    reads them (`mac_words`, `order` its arguments), in a packed ROM a0 (a word a row) read SWEEPS times by
    dfcc::weight_rom (weights.h) into the stream the kernel call `kernel` takes as s_w. -> (the C++ of the
    ROM read, the kernel call and a check that the kernel read every word; the ROM's values)."""
    words = mac_words(w.a, **order)
    depth, lanes = words.shape
    code = (f"hls::stream<dfcc::vec<T_w, {lanes}> > s_w; dfcc::weight_rom<{sweeps}, {depth}, 1>(a0, s_w); {kernel}; "
            'if (!s_w.empty()) std::printf("weights not consumed\\n")')
    return code, V(words, w.frac)


def conv_case(seed, H, W, C, F, K=(3, 3), S=(1, 1), D=(1, 1), P=(1, 1, 1, 1), G=1, ci=1, co=1, fine=1,
              t=FIXED, tag="", scale=1 / 16, px=1, lo=None, depth=2):
    """A dfcc::conv case (its window stream `depth` deep), or with `px` > 1 a dfcc::conv_px one (px whole pixels
    per beat in and out); `lo`: output lanes when they differ from the `co` filters a step (co not dividing F)."""
    rng = np.random.default_rng(seed)
    x = rand(rng, t["T_in"], (H, W, C), scale)
    w = rand(rng, t["T_w"], (F, C // G, *K), scale)
    b = rand(rng, t["T_b"], (F,), scale)
    y = ref_conv(x, w, b, t, S, D, P, G)
    geom = ",".join(map(str, (H, W, C, *K, *S, *D, *P)))
    ho, wo = out_size(H, K[0], S[0], D[0], P[0], P[1]), out_size(W, K[1], S[1], D[1], P[2], P[3])
    if px > 1:  # conv_px: conv_mac with CI = C, CO = F, its P copies sharing a word: a sweep a beat
        order = dict(channels=C, groups=G, lanes_in=C, lanes_out=F, fine=fine)
        ci, co, kernel = px * C, px * F, f"dfcc::conv_px<dfcc::geom<{geom}>, {F}, {G}, {px}, {fine}"
    else:  # a sweep of the weights per output pixel
        order = dict(channels=C, groups=G, lanes_in=ci, lanes_out=co, fine=fine)
        kernel = f"dfcc::conv<dfcc::geom<{geom}>, {F}, {G}, {ci}, {co}, {fine}, {depth}"
    call, rom = weight_words(w, ho * wo // px, f"{kernel}, T_in, T_w, T_b, T_acc, T_out>(s_in0, s_out0, s_w, a1)",
                             **order)
    cid = (f"conv{tag}-{H}x{W}x{C}-f{F}-k{K}-s{S}-d{D}-p{P}-g{G}-ci{ci}-co{co}-fine{fine}-px{px}" +
           (f"-lo{lo}" if lo else "") + (f"-wd{depth}" if depth != 2 else ""))
    return Case(cid, call, t, [("T_in", ci, x)], [("T_out", lo or co, y)], [("T_w", rom), ("T_b", b)])


def lanes_case(n, p1, p2):
    x = rand(np.random.default_rng(n), Q16, (n,))
    return Case(f"lanes-{n}-{p1}to{p2}", f"dfcc::lanes<{n}, {p1}, {p2}, T>(s_in0, s_out0)", dict(T=Q16),
                [("T", p1, x)], [("T", p2, x)])


def linear_case(seed, n, c, f, ci, co, t=FIXED, tag="", scale=1 / 16):
    rng = np.random.default_rng(seed)
    x, w, b = rand(rng, t["T_in"], (n, c), scale), rand(rng, t["T_w"], (f, c), scale), rand(rng, t["T_b"], (f,), scale)
    acc = b.cast(t["T_acc"]).map(lambda a: np.broadcast_to(a, (n, f)))
    for k in range(c):
        acc = (acc + (x[:, [k]] * w[:, k]).cast(t["T_acc"])).cast(t["T_acc"])
    y = acc.cast(t["T_out"])
    call, rom = weight_words(w, n, f"dfcc::linear<{n}, {c}, {f}, {ci}, {co}, T_in, T_w, T_b, T_acc, T_out>"
                             "(s_in0, s_out0, s_w, a1)", channels=c, groups=1, lanes_in=ci, lanes_out=co, fine=1)
    return Case(f"linear{tag}-{n}x{c}-f{f}-ci{ci}-co{co}", call, t, [("T_in", ci, x)], [("T_out", co, y)],
                [("T_w", rom), ("T_b", b)])


def matmul_case(seed, outer, m, inner, k, n, order, ci, co, t=FIXED, tag="", scale=1 / 16):
    """a [O][M][I][K] @ b, b streamed per o with its (I, K, N) dims in `order` (2, 0, 1: token-major K as Kᵀ)."""
    rng = np.random.default_rng(seed)
    a, b = rand(rng, t["T_in"], (outer, m, inner, k), scale), rand(rng, t["T_w"], (outer, inner, k, n), scale)
    y = running_sum([a[:, :, :, [j]] * b[:, None, :, j, :] for j in range(k)], t["T_acc"]).cast(t["T_out"])
    lanes = (1, ci, co)[order[2]]
    call = (f"dfcc::matmul<{outer}, {m}, {inner}, {k}, {n}, {', '.join(map(str, order))}, {ci}, {co}, "
            "T_in, T_w, T_acc, T_out>(s_in0, s_in1, s_out0)")
    return Case(f"matmul{tag}-o{outer}-{m}x{inner}x{k}x{n}-b{order}-ci{ci}-co{co}", call, t,
                [("T_in", ci, a), ("T_w", lanes, b.map(lambda v: np.transpose(v, (0, *(1 + g for g in order)))))],
                [("T_out", co, y)])


def pool_case(seed, kind, H, W, C, P, K, S=(1, 1), D=(1, 1), pads=(0, 0, 0, 0), t=FIXED, tag=""):
    rng = np.random.default_rng(seed)
    x = rand(rng, t["T_in"], (H, W, C), 0.25)
    ho = out_size(H, K[0], S[0], D[0], pads[0], pads[1])
    wo = out_size(W, K[1], S[1], D[1], pads[2], pads[3])
    geom = "dfcc::geom<" + ",".join(map(str, (H, W, C, *K, *S, *D, *pads))) + ">"
    if kind == "max":
        xp = pad_hw(x, pads, -np.inf if t["T_in"] is FLOAT else -(1 << 40))
        taps = [window_taps(xp, ho, wo, kr, kc, S, D) for kr in range(K[0]) for kc in range(K[1])]
        y = V(np.max(np.stack([v.a for v in taps]), axis=0), x.frac)
        return Case(f"maxpool{tag}-{H}x{W}x{C}-k{K}-s{S}-d{D}-p{pads}-P{P}", f"dfcc::max_pool<{geom}, {P}, T_in>"
                    "(s_in0, s_out0)", t, [("T_in", P, x)], [("T_in", P, y)])
    xp = pad_hw(x, pads)
    taps = [window_taps(xp, ho, wo, kr, kc, S, D) for kr in range(K[0]) for kc in range(K[1])]
    y = running_sum(taps, t["T_acc"]).cast(t["T_out"])
    return Case(f"sumpool{tag}-{H}x{W}x{C}-k{K}-s{S}-p{pads}-P{P}", f"dfcc::sum_pool<{geom}, {P}, T_in, T_acc, "
                "T_out>(s_in0, s_out0)", t, [("T_in", P, x)], [("T_out", P, y)])


def transpose_case(dims, perm, pi, po):
    x = rand(np.random.default_rng(sum(dims)), Q16, dims)
    call = f"dfcc::transpose<{', '.join(map(str, (*dims, *perm, pi, po)))}, T>(s_in0, s_out0)"
    return Case(f"transpose-{dims}-{perm}-PI{pi}-PO{po}", call, dict(T=Q16), [("T", pi, x)],
                [("T", po, x.map(lambda a: np.transpose(a, perm)))])


def data_case(seed, kind, p, **k):
    """fork / concat / resize / depth_to_space: pure data movement."""
    rng = np.random.default_rng(seed)
    t = dict(T=Q16)
    if kind == "fork":  # the 3 copies are drained one after the other: one output of 3x the data
        x = rand(rng, Q16, (k["n"], k["c"]))
        call = (f"hls::stream<dfcc::vec<T, {p}> > o0, o1, o2; "
                f"dfcc::fork_each<{k['n'] * k['c'] // p}, {p}, T>(s_in0, o0, o1, o2); drain(o0); drain(o1); drain(o2)")
        return Case(f"fork-{k['n']}x{k['c']}-P{p}", call, t, [("T", p, x)],
                    [("T", p, V(np.concatenate([x.a.ravel()] * 3), x.frac))])
    if kind == "concat":  # along the channels, and along the rows (the second input waits a whole block)
        n, c1, c2, axis = k["n"], k["c1"], k["c2"], k["axis"]
        a, b = rand(rng, Q16, (n, c1)), rand(rng, Q16, (n, c2) if axis == 1 else (c2, c1))
        outer, blocks = (n, (c1 // p, c2 // p)) if axis == 1 else (1, (n * c1 // p, c2 * c1 // p))
        call = f"dfcc::concat_blocks<{outer}, {blocks[0]}, {blocks[1]}, {p}, T, T, T>(s_in0, s_in1, s_out0)"
        return Case(f"concat-axis{axis}-{n}x{c1}+{c2}-P{p}", call, t, [("T", p, a), ("T", p, b)],
                    [("T", p, V(np.concatenate([a.a, b.a], axis=axis), a.frac))])
    h, w, c, sh, sw = k["h"], k["w"], k["c"], k["sh"], k["sw"]
    if kind == "depth_to_space":  # y[h*SH+i][w*SW+j][c] = x[h][w][(i*SW+j)*C + c]
        x = rand(rng, Q16, (h, w, sh * sw * c))
        y = V(np.array([[x.a[r // sh, q // sw, ((r % sh) * sw + q % sw) * c:((r % sh) * sw + q % sw + 1) * c]
                         for q in range(w * sw)] for r in range(h * sh)]), x.frac)
        call = f"dfcc::depth_to_space<{h}, {w}, {c}, {sh}, {sw}, {p}, T>(s_in0, s_out0)"
        return Case(f"depth_to_space-{h}x{w}x{c}-by{sh}x{sw}-P{p}", call, t, [("T", p, x)], [("T", p, y)])
    x = rand(rng, Q16, (h, w, c))
    call = f"dfcc::upsample_nearest<{h}, {w}, {c}, {sh}, {sw}, {p}, T>(s_in0, s_out0)"
    return Case(f"upsample-{h}x{w}x{c}-by{sh}x{sw}-P{p}", call, t, [("T", p, x)],
                [("T", p, x.map(lambda a: a.repeat(sh, axis=0).repeat(sw, axis=1)))])



FAMILIES = {
    "conv": (["conv.h"], [
        conv_case(1, 5, 6, 4, 4),
        conv_case(1, 5, 6, 4, 4, ci=2, co=2, fine=3),
        conv_case(1, 5, 6, 4, 4, ci=4, co=4, fine=9),
        conv_case(1, 5, 6, 4, 4, ci=2, co=4, fine=9, tag="-wrap", scale=1 / 4),  # T_acc and T_out wrap
        conv_case(2, 7, 6, 2, 4, K=(3, 2), S=(2, 1), D=(2, 1), P=(1, 0, 2, 1), ci=2, co=2, fine=2),
        conv_case(2, 7, 6, 2, 4, K=(3, 2), S=(2, 1), D=(2, 1), P=(1, 0, 2, 1), ci=2, co=2, fine=2, depth=9),
        conv_case(3, 4, 4, 4, 6, G=2, ci=2, co=3),
        conv_case(4, 6, 5, 4, 4, G=4, S=(2, 2), ci=4, co=4, fine=9),
        conv_case(4, 6, 5, 4, 4, G=4, S=(2, 2), ci=2, co=1, fine=3),
        conv_case(5, 4, 4, 2, 4, G=2, ci=2, co=2),
        conv_case(6, 4, 5, 4, 8, K=(1, 1), P=(0, 0, 0, 0), ci=2, co=4),
        conv_case(7, 5, 5, 4, 4, ci=2, co=2, fine=3, t=ROUND_SAT, tag="-rndsat", scale=1 / 32),
        conv_case(7, 5, 5, 4, 4, ci=2, co=2, fine=3, t=ACC_SAT, tag="-accsat", scale=1 / 4),
        conv_case(8, 5, 5, 4, 4, G=2, ci=2, co=2, fine=3, t=FLOATS, tag="-float"),
        # spatial parallelism: P pixels per beat, left pads not a multiple of P (beats straddle steps)
        conv_case(9, 5, 6, 4, 4, fine=3, px=2),
        conv_case(10, 7, 8, 2, 4, K=(3, 2), S=(2, 1), D=(2, 1), P=(1, 0, 2, 1), fine=2, px=2),
        conv_case(11, 6, 8, 4, 4, G=4, S=(2, 2), fine=9, px=4),
        conv_case(12, 5, 8, 2, 3, D=(1, 2), P=(1, 1, 2, 2), px=4),
        conv_case(13, 4, 6, 3, 2, S=(1, 3), P=(1, 1, 0, 0), fine=9, px=2),
        conv_case(14, 4, 4, 2, 4, px=2, t=FLOATS, tag="-float"),
        # FINE not dividing KR*KC: ceil(KR*KC/FINE) steps, the last one's slots past the run idle
        conv_case(15, 5, 6, 4, 4, ci=2, co=2, fine=2),
        conv_case(15, 5, 6, 4, 4, ci=4, co=1, fine=5),
        conv_case(16, 7, 6, 2, 4, K=(3, 2), S=(2, 1), D=(2, 1), P=(1, 0, 2, 1), co=2, fine=4),
        conv_case(17, 6, 5, 4, 4, G=4, S=(2, 2), ci=4, co=4, fine=2),
        conv_case(18, 5, 6, 4, 4, fine=4, px=2),
        conv_case(19, 5, 5, 4, 4, ci=2, co=2, fine=7, t=FLOATS, tag="-float"),
        # CO not dividing F (ungrouped): ceil(F/CO) filter steps, the last one's lanes past F idle, output
        # beats of LO lanes (a divisor of F, at least CO) written at the step computing their last filter
        conv_case(20, 4, 5, 4, 8, K=(1, 1), P=(0, 0, 0, 0), ci=2, co=3, lo=4),
        conv_case(21, 5, 5, 4, 8, ci=2, co=3, fine=4, lo=4),
        conv_case(22, 5, 5, 2, 6, ci=1, co=4, fine=9, lo=6),
        conv_case(23, 5, 5, 4, 8, ci=4, co=5, fine=2, t=ACC_SAT, tag="-accsat", scale=1 / 4, lo=8),
    ]),
    "linear": (["linear.h"], [
        linear_case(1, 3, 8, 6, 1, 1),
        linear_case(1, 3, 8, 6, 2, 3),
        linear_case(1, 3, 8, 6, 8, 6),
        linear_case(2, 4, 16, 4, 4, 2, t=ROUND_SAT, tag="-rndsat", scale=1 / 16),
        linear_case(3, 2, 6, 4, 2, 2, t=FLOATS, tag="-float"),
        matmul_case(4, 2, 3, 1, 4, 6, (0, 1, 2), 1, 1),
        matmul_case(4, 2, 3, 1, 4, 6, (0, 1, 2), 2, 3),
        matmul_case(5, 1, 4, 1, 6, 4, (0, 1, 2), 3, 2, t=ROUND_SAT, tag="-rndsat", scale=1 / 16),
        matmul_case(6, 2, 3, 1, 4, 4, (0, 1, 2), 4, 2, t=FLOATS, tag="-float"),
        matmul_case(7, 1, 5, 3, 4, 5, (2, 0, 1), 2, 1),  # attention's q kᵀ, heads token-major
        matmul_case(8, 1, 5, 3, 5, 4, (1, 0, 2), 1, 2),  # p v
        matmul_case(9, 2, 3, 2, 4, 2, (0, 2, 1), 2, 2),  # blocks of 2 entries, b transposed within
    ]),
    "pool": (["pool.h"], [
        pool_case(1, "max", 7, 6, 4, 2, (3, 3), (2, 2), pads=(1, 1, 1, 1)),
        pool_case(2, "max", 4, 6, 4, 4, (2, 2), (2, 2)),
        pool_case(3, "max", 6, 7, 2, 1, (2, 3), (1, 2), (2, 1), (0, 1, 1, 0)),
        pool_case(4, "max", 5, 5, 2, 2, (3, 3), (2, 2), pads=(1, 1, 1, 1), t=FLOATS, tag="-float"),
        pool_case(5, "sum", 5, 6, 4, 2, (3, 3), pads=(1, 1, 1, 1), t=dict(T_in=Q16, T_acc=Fx(20, 10), T_out=Q16)),
        pool_case(6, "sum", 4, 4, 4, 4, (2, 2), (2, 2), t=ROUND_SAT, tag="-rndsat"),
        pool_case(7, "sum", 5, 5, 2, 1, (3, 3), (2, 2), pads=(1, 1, 1, 1), t=FLOATS, tag="-float"),
    ]),
    "elementwise": (["vec.h", "fork.h", "concat.h", "resize.h", "transpose.h", "depth_to_space.h"], [
        lanes_case(24, 2, 6), lanes_case(24, 6, 3), lanes_case(24, 4, 4), lanes_case(12, 1, 4), lanes_case(24, 12, 1),
        lanes_case(36, 12, 4), lanes_case(36, 3, 12),
        data_case(1, "fork", 2, n=5, c=4),
        data_case(2, "concat", 2, n=5, c1=4, c2=6, axis=1),
        data_case(5, "concat", 2, n=3, c1=4, c2=2, axis=0),
        data_case(3, "resize", 2, h=3, w=2, c=4, sh=2, sw=3),
        data_case(4, "resize", 1, h=2, w=3, c=2, sh=1, sw=2),
        data_case(6, "depth_to_space", 2, h=3, w=2, c=4, sh=2, sw=3),
        data_case(7, "depth_to_space", 1, h=2, w=3, c=3, sh=3, sw=1),
        transpose_case((2, 3, 4), (0, 2, 1), 2, 3),
        transpose_case((2, 3, 4), (2, 0, 1), 4, 1),
        transpose_case((2, 3, 4), (1, 0, 2), 2, 2),
        transpose_case((1, 4, 6), (0, 2, 1), 3, 2),
        # more than 3 dim groups: Swin's window partition, and one moving the last dim
        transpose_case((1, 2, 2, 2, 2, 3), (0, 1, 3, 2, 4, 5), 3, 3),
        transpose_case((2, 3, 1, 2, 2, 4), (5, 3, 0, 1, 2, 4), 4, 2),
    ]),
}


@pytest.fixture(scope="session")
def binaries(tmp_path_factory):
    """Every family's driver, compiled once, in parallel; checks our headers stay warning-free."""
    root = tmp_path_factory.mktemp("hls_kernels")
    here = Path(__file__).parent

    def build(name):
        headers, cases = FAMILIES[name]
        src = root / f"{name}.cpp"
        src.write_text(driver_source(headers, cases))
        return toolchain.compile_cpp(src, extra_flags=["-I", str(here)])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(FAMILIES, pool.map(build, FAMILIES)))


def test_compile_error_is_a_dfcc_error_with_location(tmp_path):
    src = tmp_path / "broken.cpp"
    src.write_text("#include <dfcc/vec.h>\nint main() {\n    return undefined_name;\n}\n")
    with pytest.raises(DfccError, match=r"broken\.cpp:3:\d+: error: .undefined_name"):
        toolchain.compile_cpp(src)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_headers_compile_without_warnings(binaries, family):
    assert binaries[family].warnings_in(toolchain.INCLUDE_DIR) == []


@pytest.mark.parametrize("family,index", [(f, i) for f, (_, cs) in FAMILIES.items() for i in range(len(cs))],
                         ids=[c.id for _, cs in FAMILIES.values() for c in cs])
def test_kernel(binaries, family, index):
    check(binaries[family].binary, index, FAMILIES[family][1][index])


def test_precompiled_ap_types_header_is_used_and_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    flags = toolchain.precompiled_header()
    assert flags[0] == "-include" and Path(flags[1] + ".gch").is_file()
    src = tmp_path / "sum.cpp"
    src.write_text('#include <cstdio>\n#include <ap_fixed.h>\n'
                   'int main() { ap_fixed<8, 4> a = 1.75, b = -2.5; ap_fixed<9, 5> c = a + b; '
                   'std::printf("%g\\n", c.to_double()); return 0; }\n')
    compiled = toolchain.compile_cpp(src, extra_flags=["-H"])  # -H lists headers; "!" marks a used .gch
    assert f"! {flags[1]}.gch" in compiled.diagnostics
    assert toolchain.run(compiled.binary).split() == ["-0.75"]
