r"""Parities on the hypercube and the exact shallow networks computing them (Burstein and Wilmes, 2020, Lemma 2).

A parity :math:`\chi_S(x) = \prod_{i \in S} x_i` on :math:`\{\pm 1\}^n` depends only on the number
:math:`s = \sum_{i \in S} (1 - x_i)/2` of coordinates of ``S`` equal to -1, through :math:`(-1)^s`. Lemma 2 of the
paper: a parity is computed exactly by a depth-3 network with :math:`O(n)` gates. :func:`parity_network` builds one
with only :math:`O(\sqrt{n})` gates by *folding* (as in Telgarsky's sawtooth): the first hidden layer folds
:math:`s \in [0, |S|]` onto :math:`[0, 2q]` with a triangle wave of period :math:`4q`, which keeps the parity of
integers; the second hidden layer evaluates the alternating wave :math:`T(y) = (-1)^y` on :math:`[0, 2q]`.
:func:`parity_network_depth2` is the direct one-hidden-layer construction (:math:`|S|` gates), for comparison.
All weights are multiples of 1/2, so on the hypercube both networks are exact in floating point.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from .network import LayeredNetwork

__all__ = [
    "MAX_CUBE_BITS",
    "check_subset",
    "fold_period",
    "hypercube",
    "parity",
    "parity_network",
    "parity_network_depth2",
    "random_subset",
]

#: Largest n for which :func:`hypercube` enumerates all 2^n points (2^22 x 22 doubles = 738 MB would be too much).
MAX_CUBE_BITS = 20


def check_subset(subset: Iterable[int] | None, n: int, name: str = "subset") -> tuple[int, ...]:
    """Return ``subset`` as a sorted tuple of distinct indices in ``range(n)``; ``None`` means all of ``range(n)``."""
    if subset is None:
        return tuple(range(n))
    if isinstance(subset, (str, bytes)) or not isinstance(subset, Iterable):
        raise TypeError(f"{name} must be an iterable of integer indices, got {type(subset).__name__}")
    items = list(subset)
    for i in items:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must hold integer indices, got {i!r}")
        if not 0 <= int(i) < n:
            raise ValueError(f"{name} indices must lie in range({n}), got {int(i)}")
    out = tuple(sorted(int(i) for i in items))
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat an index, got {out}")
    return out


def hypercube(n: int) -> np.ndarray:
    """All :math:`2^n` points of :math:`\\{\\pm 1\\}^n`, shape (2^n, n), float64.

    Row ``r`` is the binary expansion of ``r`` (most significant bit first) with 0 -> +1 and 1 -> -1, so row ``r``
    has :math:`x_i = -1` exactly where bit ``n - 1 - i`` of ``r`` is set."""
    n = check_size(n, "n", minimum=0)
    if n > MAX_CUBE_BITS:
        raise ValueError(f"n must be <= {MAX_CUBE_BITS} to enumerate the hypercube, got {n}")
    r = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (r >> np.arange(n - 1, -1, -1, dtype=np.int64)) & 1
    return 1.0 - 2.0 * bits


def _check_cube_points(x: Any, name: str = "x") -> np.ndarray:
    x = as_float_array(x, name, ndim=2)
    if not np.all(np.abs(x) == 1.0):
        raise ValueError(f"{name} must have entries in {{-1, +1}}")
    return x


def parity(x: Any, subset: Iterable[int] | None = None) -> np.ndarray:
    """:math:`\\chi_S(x) = \\prod_{i \\in S} x_i` for each row of ``x`` in :math:`\\{\\pm 1\\}^n`; shape (N,).

    ``subset=None`` is the full parity, ``S = {0, ..., n - 1}``; the empty set gives the constant 1."""
    x = _check_cube_points(x)
    s = check_subset(subset, x.shape[1])
    return np.prod(x[:, list(s)], axis=1) if s else np.ones(x.shape[0])


def random_subset(n: int, k: int | None = None, rng: np.random.Generator | int | None = None) -> tuple[int, ...]:
    """A uniformly random subset of ``range(n)``: of size ``k``, or (``k=None``) uniform over all 2^n subsets."""
    n = check_size(n, "n", minimum=1)
    rng = as_rng(rng)
    if k is None:
        return tuple(int(i) for i in np.flatnonzero(rng.random(n) < 0.5))
    k = check_size(k, "k", minimum=0)
    if k > n:
        raise ValueError(f"k must be <= n = {n}, got {k}")
    return tuple(sorted(int(i) for i in rng.choice(n, size=k, replace=False)))


def _count_layer(n: int, subset: tuple[int, ...], offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows computing ``s - offset`` with
    :math:`s = \\sum_{i \\in S} (1 - x_i) / 2 = |S|/2 - \\sum_{i \\in S} x_i / 2`."""
    w = np.zeros((len(offsets), n))
    w[:, list(subset)] = -0.5
    return w, len(subset) / 2.0 - offsets


def _alternating_coefficients(k: int) -> np.ndarray:
    """Coefficients e with :math:`1 + \\sum_t e_t \\operatorname{ReLU}(y - t) = (-1)^y` for integers 0 <= y <= k."""
    t = np.arange(k)
    return np.where(t == 0, -2.0, 4.0 * (-1.0) ** (t + 1))


def _constant_network(n: int, depth: int) -> LayeredNetwork:
    ws = [np.zeros((1, n))] + [np.zeros((1, 1))] * (depth - 1)
    bs = [np.zeros(1)] * (depth - 1) + [np.ones(1)]
    return LayeredNetwork(ws, bs)


def fold_period(k: int) -> int:
    """The half-period q minimising the gate count (1 + floor((k - 1) / 2q)) + min(2q, k) of :func:`parity_network`."""
    k = check_size(k, "k", minimum=1)
    return min(range(1, k + 1), key=lambda q: (1 + (k - 1) // (2 * q)) + min(2 * q, k))


def parity_network(n: int, subset: Iterable[int] | None = None) -> LayeredNetwork:
    r"""An exact depth-3 ReLU network for the parity :math:`\chi_S` on :math:`\{\pm 1\}^n` (Burstein and Wilmes, 2020,
    Lemma 2).

    Layer 1 computes :math:`a_j = \operatorname{ReLU}(s - 2qj)`, :math:`j = 0, \dots, \lfloor (|S|-1)/2q \rfloor`;
    the fold :math:`F(s) = a_0 + \sum_{j \ge 1} 2(-1)^j a_j` is the triangle wave of slope :math:`\pm 1` and range
    :math:`[0, 2q]`, and :math:`F(s) \equiv s \pmod 2` for integers. Layer 2 computes
    :math:`b_t = \operatorname{ReLU}(F - t)`, :math:`t = 0, \dots, \min(2q, |S|) - 1`, and the linear output
    :math:`1 + \sum_t e_t b_t` with :math:`e_0 = -2`, :math:`e_t = 4(-1)^{t+1}` equals :math:`(-1)^F = (-1)^s`.
    With q from :func:`fold_period` (about :math:`\sqrt{|S|}/2`) there are about :math:`2\sqrt{|S|}` gates, well
    within Lemma 2's :math:`O(n)`.

    Parameters
    ----------
    n : int
        Number of input bits, >= 1.
    subset : iterable of int, optional
        The parity's support S (indices in ``range(n)``); default all bits.

    Returns
    -------
    LayeredNetwork
        Depth 3 (two hidden ReLU layers, linear output), ``net(x)`` of shape (N,) for x of shape (N, n); the
        weights are multiples of 1/2, so the output on the hypercube is exactly :math:`\pm 1`.

    Examples
    --------
    The network computes the parity of its inputs on the whole hypercube:

    >>> import numpy as np
    >>> from nncompress.depth import hypercube, parity, parity_network
    >>> X = hypercube(3)
    >>> bool(np.array_equal(parity_network(3)(X).ravel(), parity(X)))
    True
    """
    n = check_size(n, "n", minimum=1)
    s = check_subset(subset, n)
    k = len(s)
    if k == 0:
        return _constant_network(n, 3)
    q = fold_period(k)
    w1, b1 = _count_layer(n, s, 2.0 * q * np.arange(1 + (k - 1) // (2 * q)))
    fold = np.where(np.arange(len(b1)) == 0, 1.0, 2.0 * (-1.0) ** np.arange(len(b1)))
    k2 = min(2 * q, k)
    w2 = np.tile(fold, (k2, 1))
    b2 = -np.arange(k2, dtype=float)
    w3 = _alternating_coefficients(k2)[None, :]
    return LayeredNetwork([w1, w2, w3], [b1, b2, np.ones(1)])


def parity_network_depth2(n: int, subset: Iterable[int] | None = None) -> LayeredNetwork:
    r"""The one-hidden-layer network :math:`1 + \sum_{t < |S|} e_t \operatorname{ReLU}(s - t) = (-1)^s`
    (:math:`|S|` gates).

    The direct construction that :func:`parity_network` folds; exact on the hypercube. Same parameters and return
    convention as :func:`parity_network`, with depth 2."""
    n = check_size(n, "n", minimum=1)
    s = check_subset(subset, n)
    if not s:
        return _constant_network(n, 2)
    w1, b1 = _count_layer(n, s, np.arange(len(s), dtype=float))
    return LayeredNetwork([w1, _alternating_coefficients(len(s))[None, :]], [b1, np.ones(1)])
