"""Low-rank factorisations of conv and linear weights into chains of smaller layers (pure numpy).

One function per scheme returns the `Factor`s (layers) whose composition replaces the original
layer; `reconstruct` multiplies them back into a dense weight so the error of any scheme can be
measured the same way. The schemes are those of Mixed-TD (arXiv 2306.05021) for convs and the
two-matrix SVD for linears:

- `separable`: 1xK conv C->R, then Kx1 conv R->F (SVD of W as a (C*Kc) x (F*Kr) matrix);
- `grouped`:  KxK conv C->g*R in g groups, then 1x1 g*R->F (per input group, SVD of F x (C/g*Kr*Kc));
- `reversed`: 1x1 C->g*R, then KxK g*R->F in g groups (per output group, SVD of (F/g*Kr*Kc) x C);
- `cpd`:      1x1 C->R, depthwise Kx1, depthwise 1xK, 1x1 R->F (CP decomposition, ALS by tensorly);
- `svd`:      a linear C->F becomes C->R->F.

SVD factors each take sqrt(S), so both layers of a pair see numbers of similar magnitude (what
fixed-point formats need). The first layers carry no bias, the last carries the original one:
then zero padding between the factors is exactly the original zero padding.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from dfcc.errors import DfccError

CONV_SCHEMES = ("separable", "grouped", "reversed", "cpd")
LINEAR_SCHEMES = ("svd",)
CPD_ITERATIONS = 100  # ALS sweeps at most (tensorly's default)
CPD_TOLERANCE = 1e-6  # stop when the relative reconstruction error changes less than this between sweeps


@dataclass(frozen=True)
class Geometry:
    """A conv's window (the linear case: 1x1, stride 1, no padding)."""

    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class Factor:
    """One layer of a decomposed chain: a conv (weights F x C/g x Kr x Kc) or a linear (F x C)."""

    weights: np.ndarray
    bias: np.ndarray | None
    geometry: Geometry = Geometry()
    groups: int = 1

    @property
    def is_linear(self) -> bool:
        return self.weights.ndim == 2


@dataclass(frozen=True)
class Scheme:
    """A decomposition choice for one layer: scheme name, rank per group and group count."""

    name: str
    rank: int
    groups: int = 1

    @property
    def spec(self) -> str:
        return f"{self.name}{self.rank}" + (f"g{self.groups}" if self.groups > 1 else "")


def _split_sqrt(u: np.ndarray, s: np.ndarray, vt: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    root = np.sqrt(s[:rank])
    return u[:, :rank] * root, root[:, None] * vt[:rank]


def _svd(matrix: np.ndarray):
    return np.linalg.svd(matrix.astype(np.float64), full_matrices=False)


def full_rank(shape: tuple[int, ...], scheme: str, groups: int = 1) -> int | None:
    """The rank at which an SVD scheme is exact (None for CPD, which has no such bound)."""
    if scheme == "svd":
        return min(shape)
    f, c, kr, kc = shape
    return {"separable": min(c * kc, f * kr), "grouped": min(f, c // groups * kr * kc),
            "reversed": min(c, f // groups * kr * kc), "cpd": None}[scheme]


def singular_values(weights: np.ndarray, scheme: str, groups: int = 1) -> list[np.ndarray]:
    """Singular values of each matrix the SVD scheme factors (one per group)."""
    return [_svd(m)[1] for m in _matrices(weights, scheme, groups)]


def _matrices(weights: np.ndarray, scheme: str, groups: int) -> list[np.ndarray]:
    if scheme == "svd":
        return [weights]
    f, c, kr, kc = weights.shape
    if scheme == "separable":  # rows (c, q), columns (f, p)
        return [weights.transpose(1, 3, 0, 2).reshape(c * kc, f * kr)]
    if scheme == "grouped":  # per input group: F x (C/g * Kr * Kc)
        return [w.reshape(f, -1) for w in np.split(weights, groups, axis=1)]
    if scheme == "reversed":  # per output group: (F/g * Kr * Kc) x C
        return [w.transpose(0, 2, 3, 1).reshape(-1, c) for w in np.split(weights, groups, axis=0)]
    raise DfccError(f"'{scheme}' is not an SVD scheme")


_CACHE: dict[tuple, list[Factor]] = {}  # searches and sweeps factorise the same layer many times
_CACHE_LIMIT = 512


def factorise(weights: np.ndarray, bias: np.ndarray | None, geometry: Geometry, scheme: Scheme) -> list[Factor]:
    """The chain of layers computing `weights` (F x C x Kr x Kc, or F x C) at `scheme`'s rank."""
    _check(weights.shape, scheme)
    key = (weights.shape, weights.tobytes(), None if bias is None else bias.tobytes(), geometry, scheme)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = _factorise(weights, bias, geometry, scheme)
    return [Factor(f.weights.copy(), None if f.bias is None else f.bias.copy(), f.geometry, f.groups) for f in _CACHE[key]]


def _factorise(weights: np.ndarray, bias: np.ndarray | None, geometry: Geometry, scheme: Scheme) -> list[Factor]:
    name, r, g = scheme.name, scheme.rank, scheme.groups
    if name == "cpd":
        return _cpd(weights, bias, geometry, r)
    mats = [_svd(m) for m in _matrices(weights, name, g)]
    pairs = [_split_sqrt(u, s, vt, min(r, len(s))) for u, s, vt in mats]
    pairs = [(np.pad(a, ((0, 0), (0, r - a.shape[1]))), np.pad(b, ((0, r - b.shape[0]), (0, 0)))) for a, b in pairs]
    if name == "svd":
        (a, b), = pairs  # W (F x C) = a (F x r) @ b (r x C)
        return [Factor(b.astype(np.float32), None), Factor(a.astype(np.float32), bias)]
    f, c, kr, kc = weights.shape
    (sr, sc), (dr, dc), (pt, pb, pl, pr) = geometry.stride, geometry.dilation, geometry.pad
    if name == "separable":
        (a, b), = pairs  # a: (c, q) x r, b: r x (f, p)
        first = a.reshape(c, kc, r).transpose(2, 0, 1)[:, :, None, :]  # r x c x 1 x kc
        second = b.reshape(r, f, kr).transpose(1, 0, 2)[:, :, :, None]  # f x r x kr x 1
        return [Factor(first, None, Geometry((1, sc), (1, dc), (0, 0, pl, pr))),
                Factor(second, bias, Geometry((sr, 1), (dr, 1), (pt, pb, 0, 0)))]
    if name == "grouped":
        # group i: W_i (F x C/g*K*K) = a_i (F x r) @ b_i (r x C/g*K*K)
        first = np.concatenate([b.reshape(r, c // g, kr, kc) for _, b in pairs])  # g*r x c/g x kr x kc
        second = np.concatenate([a for a, _ in pairs], axis=1)[:, :, None, None]  # f x g*r x 1 x 1
        return [Factor(first, None, geometry, g), Factor(second, bias)]
    # reversed, group j: W_j ((F/g)*K*K x C) = a_j (F/g*K*K x r) @ b_j (r x C)
    first = np.concatenate([b for _, b in pairs])[:, :, None, None]  # g*r x c x 1 x 1
    second = np.concatenate([a.reshape(f // g, kr, kc, r).transpose(0, 3, 1, 2) for a, _ in pairs])  # f x r x kr x kc
    return [Factor(first, None), Factor(second, bias, geometry, g)]


def _cpd(weights: np.ndarray, bias: np.ndarray | None, geometry: Geometry, rank: int) -> list[Factor]:
    import tensorly
    from tensorly.decomposition import parafac

    tensorly.set_backend("numpy")
    with warnings.catch_warnings():  # rank above a mode's size: tensorly's SVD init fills the rest randomly
        warnings.filterwarnings("ignore", message="Trying to compute SVD", category=UserWarning)
        cp = parafac(weights.astype(np.float64), rank=rank, n_iter_max=CPD_ITERATIONS, init="svd", tol=CPD_TOLERANCE,
                     random_state=0, normalize_factors=True)
    scale = np.abs(cp.weights) ** 0.25  # spread each component's norm evenly over the four layers
    sign = np.sign(cp.weights)
    f_fac, c_fac, p_fac, q_fac = (m * scale for m in cp.factors)
    f_fac = f_fac * sign
    (sr, sc), (dr, dc), (pt, pb, pl, pr) = geometry.stride, geometry.dilation, geometry.pad
    return [Factor(c_fac.T[:, :, None, None].astype(np.float32), None),
            Factor(p_fac.T[:, None, :, None].astype(np.float32), None, Geometry((sr, 1), (dr, 1), (pt, pb, 0, 0)), rank),
            Factor(q_fac.T[:, None, None, :].astype(np.float32), None, Geometry((1, sc), (1, dc), (0, 0, pl, pr)), rank),
            Factor(f_fac[:, :, None, None].astype(np.float32), bias)]


def _check(shape: tuple[int, ...], scheme: Scheme) -> None:
    allowed = LINEAR_SCHEMES if len(shape) == 2 else CONV_SCHEMES
    if scheme.name not in allowed:
        kind = "linear" if len(shape) == 2 else "conv"
        raise DfccError(f"scheme '{scheme.name}' does not apply to a {kind} layer (use one of {', '.join(allowed)})")
    if scheme.rank < 1:
        raise DfccError(f"rank must be at least 1, got {scheme.rank}")
    if scheme.name in ("grouped", "reversed"):
        split = shape[1] if scheme.name == "grouped" else shape[0]
        if scheme.groups < 1 or split % scheme.groups:
            what = "input channels" if scheme.name == "grouped" else "filters"
            raise DfccError(f"{scheme.name}: groups={scheme.groups} must divide the {split} {what}")
    elif scheme.groups != 1:
        raise DfccError(f"scheme '{scheme.name}' takes no groups")


def reconstruct(factors: list[Factor]) -> np.ndarray:
    """The dense weight the chain computes (ignoring padding, stride and dilation placement)."""
    if factors[0].is_linear:
        return factors[1].weights.astype(np.float64) @ factors[0].weights
    total = None  # F x C x Kr x Kc built up layer by layer
    for factor in factors:
        w = _dense_groups(factor.weights.astype(np.float64), factor.groups)
        total = w if total is None else _compose(w, total)
    return total


def _dense_groups(w: np.ndarray, groups: int) -> np.ndarray:
    if groups == 1:
        return w
    f, cg, kr, kc = w.shape
    dense = np.zeros((f, cg * groups, kr, kc))
    per = f // groups
    for g in range(groups):
        dense[g * per:(g + 1) * per, g * cg:(g + 1) * cg] = w[g * per:(g + 1) * per]
    return dense


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Kernel of conv(outer) after conv(inner), both stride 1: kernels convolve, channels contract."""
    f, r, kr2, kc2 = outer.shape
    _, c, kr1, kc1 = inner.shape
    total = np.zeros((f, c, kr1 + kr2 - 1, kc1 + kc2 - 1))
    for p in range(kr2):
        for q in range(kc2):
            total[:, :, p:p + kr1, q:q + kc1] += np.einsum("fr,rcij->fcij", outer[:, :, p, q], inner)
    return total


def chain_macs(factors: list[Factor], in_spatial: tuple[int, int], window_out) -> int:
    """MACs per inference of the chain; `window_out(size, k, stride, dilation, lo, hi)` sizes windows."""
    if factors[0].is_linear:
        return sum(f.weights.size for f in factors)
    h, w = in_spatial
    macs = 0
    for factor in factors:
        _, _, kr, kc = factor.weights.shape
        (sr, sc), (dr, dc), (pt, pb, pl, pr) = factor.geometry.stride, factor.geometry.dilation, factor.geometry.pad
        h, w = window_out(h, kr, sr, dr, pt, pb), window_out(w, kc, sc, dc, pl, pr)
        macs += h * w * factor.weights.size
    return macs


def rank_for_energy(weights: np.ndarray, scheme: str, groups: int, energy: float) -> int:
    """Smallest rank keeping `energy` of the squared singular values (summed over the groups)."""
    cumulative = [np.cumsum(s ** 2) for s in singular_values(weights, scheme, groups)]
    longest = max(len(c) for c in cumulative)
    kept = sum(np.pad(c, (0, longest - len(c)), mode="edge") for c in cumulative)
    return int(np.searchsorted(kept, energy * kept[-1] * (1 - 1e-12)) + 1)


def most_divisors_near(value: float, spread: float = 0.125) -> int:
    """The integer within +-spread*value (at least +-1) of `value` with the most divisors, nearest first.

    Mixed-TD moves each grid rank to the nearby integer with the most divisors (more folding
    choices); how near is not stated: +-12.5% is our choice.
    """
    width = max(1, int(round(value * spread)))
    centre = max(1, int(round(value)))
    candidates = range(max(1, centre - width), centre + width + 1)
    return max(candidates, key=lambda n: (sum(1 for d in range(1, n + 1) if n % d == 0), -abs(n - value)))


def rank_grid(macs_per_rank: float, original_macs: int, fractions=tuple(np.arange(0.30, 0.701, 0.05))) -> list[int]:
    """Mixed-TD's rank grid: ranks keeping 30-70 % of the layer's MACs in 5 % steps, moved to
    the nearby integer with the most divisors; duplicates removed, ascending."""
    ranks = {most_divisors_near(f * original_macs / macs_per_rank) for f in fractions}
    return sorted(r for r in ranks if r >= 1)


def relative_error(weights: np.ndarray, factors: list[Factor]) -> float:
    """||W - W_hat||_F / ||W||_F: how far the chain is from the layer it replaces."""
    approx = reconstruct(factors)
    return float(np.linalg.norm(weights - approx) / max(np.linalg.norm(weights), 1e-30))

