r"""Lemma 1 of Burstein and Wilmes (2020) as an algorithm: a compression of a separator reveals the input distribution.

Given a family of :math:`\eta`-perturbations of :math:`D_0` (direction :math:`v`), a :math:`\Delta`-separator
:math:`f` and a candidate compression :math:`g`, the map

.. math:: z(x_0) = x_0 + \eta v \text{ if } \|g(x_0) - f(x_0 + \eta v)\| < \|g(x_0) - f(x_0 - \eta v)\|,
          \text{ else } x_0 - \eta v

pushes :math:`D_0` forward to :math:`\tilde D`; if :math:`g` is an :math:`(\varepsilon, \mathrm{NN}_{\Lambda,d})`
compression over :math:`D` and :math:`\eta\Lambda^d \le \Delta/4`, then
:math:`D_{TV}(\tilde D, D) \le 16\varepsilon/\Delta^2`.
(The text prints "x = x_0 otherwise"; the proof only makes sense with :math:`x_0 - \eta v`, which we use.)
Sampling :math:`\tilde D` costs one query of g and two of f per sample; its density is
:math:`\tilde p(x) = p(x - \eta v)\,\mathbf 1(z(x - \eta v) = x) + p(x + \eta v)\,\mathbf 1(z(x + \eta v) = x)`.

For the parity family of Theorem 1 the recovered signs :math:`\tilde h(x_0) = \pm 1` are a hypothesis for the hidden
parity; :func:`recover_parity` decodes its support S (exactly by GF(2) elimination, robustly by a Walsh-Hadamard
transform, or by brute force over all :math:`2^n` parities as the reference).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size, check_tolerance
from .parity import _check_cube_points

__all__ = [
    "ParityRecovery",
    "lemma1_tv_bound",
    "recover_parity",
    "recovered_signs",
    "sample_tilde",
    "tilde_pmf",
    "walsh_hadamard",
    "z_map",
]

Net = Callable[[np.ndarray], np.ndarray]


def _rows(y: Any, n: int) -> np.ndarray:
    return np.asarray(y, dtype=float).reshape(n, -1)


def recovered_signs(f: Net, g: Net, x0: Any, eta: float, v: Any) -> np.ndarray:
    r"""The sign :math:`\tilde s(x_0) \in \{\pm 1\}` chosen by :math:`z`: +1 iff g is strictly closer to
    :math:`f(x_0 + \eta v)` than to :math:`f(x_0 - \eta v)` (ties give -1, as in Lemma 1's proof). Shape (N,)."""
    x0 = as_float_array(x0, "x0", ndim=2)
    v = as_float_array(v, "v", shape=(x0.shape[1],))
    eta = check_tolerance(eta, "eta")
    n = len(x0)
    gx = _rows(g(x0), n)
    up = np.linalg.norm(gx - _rows(f(x0 + eta * v), n), axis=1)
    down = np.linalg.norm(gx - _rows(f(x0 - eta * v), n), axis=1)
    return np.where(up < down, 1.0, -1.0)


def z_map(f: Net, g: Net, x0: Any, eta: float, v: Any) -> np.ndarray:
    """The map z of Lemma 1's proof, row by row: :math:`x_0 + \\eta\\, \\tilde s(x_0)\\, v`; shape like ``x0``."""
    s = recovered_signs(f, g, x0, eta, v)
    return np.asarray(x0, dtype=float) + check_tolerance(eta, "eta") * s[:, None] * np.asarray(v, dtype=float)


def sample_tilde(f: Net, g: Net, sample_d0: Callable[[int, np.random.Generator], np.ndarray], size: int,
                 eta: float, v: Any, rng: np.random.Generator | int | None = None) -> np.ndarray:
    r"""``size`` samples of :math:`\tilde D`: draw :math:`x_0` with ``sample_d0(size, rng)`` and apply :func:`z_map`
    (Lemma 1, claim 1)."""
    size = check_size(size, "size", minimum=0)
    return z_map(f, g, sample_d0(size, as_rng(rng)), eta, v)


def tilde_pmf(f: Net, g: Net, x: Any, eta: float, v: Any, p0: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    r"""The density (here: probability mass) of each row of ``x`` under :math:`\tilde D` (Lemma 1, claim 2).

    :math:`\tilde p(x) = p_0(x - \eta v)\,\mathbf 1(z(x - \eta v) = x) + p_0(x + \eta v)\,\mathbf 1(z(x + \eta v) = x)`,
    with ``p0`` the density of :math:`D_0`; z is only evaluated where ``p0`` is positive."""
    x = as_float_array(x, "x", ndim=2)
    v = as_float_array(v, "v", shape=(x.shape[1],))
    eta = check_tolerance(eta, "eta")
    out = np.zeros(len(x))
    for sign in (1.0, -1.0):
        x0 = x - sign * eta * v
        p = np.asarray(p0(x0), dtype=float)
        hit = p > 0
        if np.any(hit):
            out[hit] += p[hit] * (recovered_signs(f, g, x0[hit], eta, v) == sign)
    return out


def lemma1_tv_bound(eps: float, delta: float, eta: float = 0.0, lipschitz: float = 0.0) -> float:
    r"""The bound :math:`\varepsilon / \theta^2` of Lemma 1's proof, :math:`\theta = \Delta/2 - \eta L`, where L is a
    Lipschitz constant of g (:math:`\Lambda^d`); it is :math:`\le 16\varepsilon/\Delta^2` when
    :math:`\eta L \le \Delta/4`. Returns ``inf`` when :math:`\theta \le 0` (the lemma says nothing)."""
    eps, delta, eta, lipschitz = (check_tolerance(a, name) for a, name in
                                  ((eps, "eps"), (delta, "delta"), (eta, "eta"), (lipschitz, "lipschitz")))
    theta = delta / 2 - eta * lipschitz
    return float(eps / theta**2) if theta > 0 else float("inf")


# -- decoding the parity -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParityRecovery:
    """Result of :func:`recover_parity`.

    Attributes
    ----------
    subset : tuple of int or None
        The decoded support S; ``None`` when ``method="gf2"`` finds the labels inconsistent with every parity.
    agreement : float
        Fraction of the given points on which :math:`\\chi_S` agrees with the labels (``nan`` if ``subset`` is None).
    unique : bool
        GF(2): whether the points determine S (full rank); Walsh-Hadamard and brute force: whether the best
        agreement is attained by one parity only.
    """

    subset: tuple[int, ...] | None
    agreement: float
    unique: bool


def _bits(x: np.ndarray) -> np.ndarray:
    return (x < 0).astype(np.uint8)  # x_i = -1 <-> bit 1


def _agreement(bits: np.ndarray, labels: np.ndarray, subset: tuple[int, ...]) -> float:
    chi = 1.0 - 2.0 * (bits[:, list(subset)].sum(axis=1) % 2) if subset else np.ones(len(bits))
    return float(np.mean(chi == labels))


def _gf2(bits: np.ndarray, labels: np.ndarray) -> ParityRecovery:
    """Solve :math:`\\sum_{i \\in S} b_i \\equiv \\ell \\pmod 2` by Gauss-Jordan elimination over GF(2)."""
    n = bits.shape[1]
    a = np.hstack([bits, ((1 - labels) / 2).astype(np.uint8)[:, None]])
    pivots, row = [], 0
    for col in range(n):
        hits = np.flatnonzero(a[row:, col]) + row
        if len(hits) == 0:
            continue
        a[[row, hits[0]]] = a[[hits[0], row]]
        others = np.flatnonzero(a[:, col])
        others = others[others != row]
        a[others] ^= a[row]
        pivots.append(col)
        row += 1
        if row == len(a):
            break
    if np.any(a[row:, n]):  # a row 0 = 1: no parity fits
        return ParityRecovery(None, float("nan"), False)
    subset = tuple(sorted(col for r, col in enumerate(pivots) if a[r, n]))  # free variables set to 0
    return ParityRecovery(subset, _agreement(bits, labels, subset), len(pivots) == n)


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """The unnormalised fast Walsh-Hadamard transform of a length-2^n vector, :math:`O(n 2^n)`."""
    a = np.array(values, dtype=float)
    h = 1
    while h < len(a):
        a = a.reshape(-1, 2, h)
        a = np.stack([a[:, 0] + a[:, 1], a[:, 0] - a[:, 1]], axis=1).reshape(-1)
        h *= 2
    return a


def _index_subset(index: int, n: int) -> tuple[int, ...]:
    return tuple(i for i in range(n) if (index >> (n - 1 - i)) & 1)


def _fwht(bits: np.ndarray, labels: np.ndarray) -> ParityRecovery:
    """Correlation of the labels with every parity at once: sum the labels per cube vertex, then transform."""
    n = bits.shape[1]
    weights = 1 << np.arange(n - 1, -1, -1, dtype=np.int64)
    table = np.bincount(bits.astype(np.int64) @ weights, weights=labels, minlength=2**n)
    corr = walsh_hadamard(table)
    best = int(np.argmax(corr))
    subset = _index_subset(best, n)
    return ParityRecovery(subset, _agreement(bits, labels, subset), int(np.sum(corr == corr[best])) == 1)


def _brute(bits: np.ndarray, labels: np.ndarray) -> ParityRecovery:
    """Reference: try all 2^n parities one by one."""
    n = bits.shape[1]
    scores = [_agreement(bits, labels, _index_subset(i, n)) for i in range(2**n)]
    best = int(np.argmax(scores))
    return ParityRecovery(_index_subset(best, n), scores[best], scores.count(scores[best]) == 1)


def recover_parity(x: Any, labels: Any, method: str = "fwht") -> ParityRecovery:
    r"""Decode the parity :math:`\chi_S` that best explains ``labels`` on the hypercube points ``x``.

    The last step of the proof of Theorem 1: Lemma 1 turns a compression g into a hypothesis
    :math:`\tilde h`; a parity is determined by its values, and one that agrees with :math:`\tilde h` on more than
    3/4 of the cube is the hidden one (distinct parities disagree on exactly half the cube).

    Parameters
    ----------
    x : array_like, shape (N, n)
        Points of :math:`\{\pm 1\}^n` (repeats allowed).
    labels : array_like, shape (N,)
        Values in {-1, +1}.
    method : {"fwht", "gf2", "brute"}, default "fwht"
        ``"fwht"``: the parity of largest correlation, via a fast Walsh-Hadamard transform (:math:`O(N + n 2^n)`,
        robust to label errors). ``"gf2"``: Gaussian elimination over GF(2) (:math:`O(N n^2)`, exact labels only;
        ``subset=None`` if inconsistent). ``"brute"``: the reference, every parity in turn (:math:`O(N n 2^n)`).

    Returns
    -------
    ParityRecovery
    """
    x = _check_cube_points(x)
    labels = as_float_array(labels, "labels", shape=(len(x),))
    if not np.all(np.abs(labels) == 1.0):
        raise ValueError("labels must have entries in {-1, +1}")
    if x.shape[1] == 0 or len(x) == 0:
        raise ValueError(f"x must have at least one row and one column, got shape {x.shape}")
    bits = _bits(x)
    if method == "gf2":
        return _gf2(bits, labels)
    if method in ("fwht", "brute") and x.shape[1] > 24:
        raise ValueError(f"method={method!r} enumerates 2^n parities; n must be <= 24, got {x.shape[1]}")
    if method == "fwht":
        return _fwht(bits, labels)
    if method == "brute":
        return _brute(bits, labels)
    raise ValueError(f"method must be 'fwht', 'gf2' or 'brute', got {method!r}")
