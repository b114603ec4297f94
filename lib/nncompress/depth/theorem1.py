r"""The construction in the proof of Theorem 1 of Burstein and Wilmes (2020), and its noisy variant (Theorem 2).

* The deep network :math:`f \in \mathrm{NN}_{\Lambda,d}` on :math:`\mathbb{R}^{n+1}`: first layer
  :math:`f_1(x) = \Lambda x_{n+1}`, then :math:`f_i(x) = \Lambda x` for :math:`1 < i \le d` (identity activations),
  so :math:`f(x) = \Lambda^d x_{n+1}`.
* The family :math:`\mathcal{D} = \{D_h\}` of :math:`\eta`-perturbations of :math:`D_0`, the uniform distribution on
  the embedded hypercube :math:`X = \{(x, 0) : x \in \{\pm 1\}^n\}`: :math:`D_h` is the law of
  :math:`x + \eta h(\pi(x)) v` with :math:`v = e_{n+1}`, :math:`\eta = \Lambda^{-d}` and :math:`h` a parity.
  Theorem 2 flips the sign independently with probability ``noise`` (learning parities with noise).
* :math:`f` is a :math:`\Delta`-separator with :math:`\Delta = 2`: :math:`f(x + \eta v) - f(x - \eta v) = 2`.
* On :math:`\operatorname{supp}(D_h)`, :math:`f(x) = h(\pi(x))`, so the Lemma 2 parity network applied to
  :math:`\pi(x)` is a lossless depth-3 compression of :math:`f` over :math:`D_h` (Theorem 1, claim 1).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._validation import as_float_array, as_rng, check_size, check_tolerance
from .network import LayeredNetwork
from .parity import MAX_CUBE_BITS, check_subset, hypercube, parity, parity_network

__all__ = [
    "ParityPerturbation",
    "embed_first_layer",
    "exact_compression",
    "max_parity_bits",
    "separator_gaps",
    "theorem1_network",
]


def _check_lam(lam: Any, name: str = "lam") -> float:
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(lam).__name__}")
    lam = float(lam)
    if not np.isfinite(lam) or lam <= 1:
        raise ValueError(f"{name} must be finite and > 1 (Theorem 1 takes Lambda > 2), got {lam}")
    return lam


def theorem1_network(n: int, lam: float, depth: int) -> LayeredNetwork:
    r"""The deep network of the proof of Theorem 1: :math:`f(x) = \Lambda^d x_{n+1}` on :math:`\mathbb{R}^{n+1}`.

    Layer 1 is :math:`x \mapsto \Lambda x_{n+1}` (weight :math:`\Lambda e_{n+1}^\top`), layers 2..d are
    :math:`y \mapsto \Lambda y`; all activations are the identity (1-Lipschitz), every Frobenius norm is
    :math:`\Lambda`, so :math:`f \in \mathrm{NN}_{\Lambda,d}`.

    Parameters
    ----------
    n : int
        Number of hypercube bits (the input has n + 1 coordinates), >= 1.
    lam : float
        :math:`\Lambda > 1`.
    depth : int
        d >= 1.
    """
    n = check_size(n, "n", minimum=1)
    lam = _check_lam(lam)
    depth = check_size(depth, "depth", minimum=1)
    w1 = np.zeros((1, n + 1))
    w1[0, n] = lam
    ws = [w1] + [np.array([[lam]])] * (depth - 1)
    return LayeredNetwork(ws, [np.zeros(1)] * depth, "identity")


def embed_first_layer(net: LayeredNetwork, n_extra: int = 1) -> LayeredNetwork:
    """``net`` composed with the projection :math:`\\pi`: zero weight columns for ``n_extra`` appended inputs."""
    n_extra = check_size(n_extra, "n_extra", minimum=0)
    w1 = np.hstack([net.weights[0], np.zeros((net.weights[0].shape[0], n_extra))])
    return LayeredNetwork([w1, *net.weights[1:]], list(net.biases), net.activations)


def exact_compression(n: int, subset: Iterable[int] | None = None) -> LayeredNetwork:
    """The lossless depth-3 compression of :func:`theorem1_network` over :math:`D_h` (Theorem 1, claim 1).

    The Lemma 2 network (:func:`~nncompress.depth.parity_network`) for :math:`h = \\chi_S`, reading only the
    first n coordinates: :math:`g(x) = h(\\pi(x))`, which equals :math:`f(x)` on :math:`\\operatorname{supp}(D_h)`."""
    return embed_first_layer(parity_network(n, subset))


def max_parity_bits(lam: float, n_max: int = 4096) -> int:
    r"""The largest n <= ``n_max`` whose full-parity network (:func:`parity_network`) lies in
    :math:`\mathrm{NN}_{\Lambda,3}`: Theorem 1's "appropriate choice of :math:`n = \Omega(\Lambda)`" (0 if none).

    The first layer's Frobenius norm is at least :math:`\sqrt{n}/2` (one row of n entries -1/2), so only
    :math:`n \le 4\Lambda^2` need checking."""
    lam = _check_lam(lam)
    n_max = check_size(n_max, "n_max", minimum=1)
    best = 0
    for n in range(1, min(n_max, int(4 * lam * lam)) + 1):
        if parity_network(n).lam <= lam:
            best = n
    return best


def separator_gaps(f: Callable[[np.ndarray], np.ndarray], x0: Any, eta: float, v: Any) -> np.ndarray:
    r""":math:`\|f(x_0 + \eta v) - f(x_0 - \eta v)\|` for each row of ``x0``; f is a :math:`\Delta`-separator for the
    family when all are :math:`\ge \Delta` on :math:`\operatorname{supp}(D_0)` (Burstein and Wilmes, 2020,
    Section 3)."""
    x0 = as_float_array(x0, "x0", ndim=2)
    v = as_float_array(v, "v", shape=(x0.shape[1],))
    eta = check_tolerance(eta, "eta")
    up = np.asarray(f(x0 + eta * v), dtype=float).reshape(len(x0), -1)
    down = np.asarray(f(x0 - eta * v), dtype=float).reshape(len(x0), -1)
    return np.linalg.norm(up - down, axis=1)


@dataclass(frozen=True)
class ParityPerturbation:
    r"""The distribution :math:`D_h` of the proof of Theorem 1 (``noise=0``) or of Theorem 2 (``noise>0``).

    :math:`x_0 \sim D_0` uniform on :math:`X = \{\pm 1\}^n \times \{0\}`, then :math:`x = x_0 + \eta\, \xi\,
    h(\pi(x_0))\, v` with :math:`h = \chi_S`, :math:`v = e_{n+1}` and :math:`\xi = -1` with probability ``noise``
    (independently per sample), else +1.

    Parameters
    ----------
    n : int
        Number of bits, >= 1.
    subset : tuple of int
        The hidden parity's support S.
    eta : float
        Perturbation size :math:`\eta > 0` (:math:`\Lambda^{-d}` in Theorem 1; see :meth:`for_network`).
    noise : float, default 0
        Flip probability in [0, 1/2).
    """

    n: int
    subset: tuple[int, ...]
    eta: float
    noise: float = 0.0
    v: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = check_size(self.n, "n", minimum=1)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "subset", check_subset(self.subset, n))
        eta = check_tolerance(self.eta, "eta")
        if eta == 0:
            raise ValueError("eta must be > 0")
        object.__setattr__(self, "eta", eta)
        noise = check_tolerance(self.noise, "noise")
        if noise >= 0.5:
            raise ValueError(f"noise must be in [0, 1/2), got {noise}")
        object.__setattr__(self, "noise", noise)
        v = np.zeros(n + 1)
        v[n] = 1.0
        v.setflags(write=False)
        object.__setattr__(self, "v", v)

    @classmethod
    def for_network(cls, n: int, subset: Iterable[int] | None, lam: float, depth: int,
                    noise: float = 0.0) -> "ParityPerturbation":
        """The family member of Theorem 1 for :func:`theorem1_network` (n, lam, depth):
        :math:`\\eta = \\Lambda^{-d}`."""
        lam = _check_lam(lam)
        depth = check_size(depth, "depth", minimum=1)
        return cls(n, check_subset(subset, check_size(n, "n", minimum=1)), lam ** (-depth), noise)

    @property
    def dim(self) -> int:
        """Ambient dimension n + 1."""
        return self.n + 1

    def h(self, x: Any) -> np.ndarray:
        """The hidden parity :math:`h(\\pi(x))` of points whose first n coordinates are in {-1, +1}."""
        x = as_float_array(x, "x", ndim=2)
        return parity(x[:, : self.n], self.subset)

    # -- sampling --------------------------------------------------------------------------------------------------
    def sample_d0(self, size: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``size`` points of :math:`D_0`, shape (size, n + 1), last coordinate 0."""
        size = check_size(size, "size", minimum=0)
        rng = as_rng(rng)
        x = np.zeros((size, self.n + 1))
        x[:, : self.n] = rng.choice([-1.0, 1.0], size=(size, self.n))
        return x

    def signs(self, x0: Any, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """:math:`s(x_0) = \\xi\\, h(\\pi(x_0))`, with fresh label noise when ``noise > 0``."""
        s = self.h(x0)
        if self.noise > 0:
            s = s * np.where(as_rng(rng).random(len(s)) < self.noise, -1.0, 1.0)
        return s

    def perturb(self, x0: Any, signs: Any) -> np.ndarray:
        """:math:`x_0 + \\eta\\, s\\, v` row by row."""
        x0 = as_float_array(x0, "x0", shape=(None, self.dim))
        signs = as_float_array(signs, "signs", shape=(len(x0),))
        return x0 + self.eta * signs[:, None] * self.v

    def sample(self, size: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``size`` points of :math:`D_h`, shape (size, n + 1)."""
        rng = as_rng(rng)
        x0 = self.sample_d0(size, rng)
        return self.perturb(x0, self.signs(x0, rng))

    # -- the finite support --------------------------------------------------------------------------------------
    def cube(self) -> np.ndarray:
        """:math:`\\operatorname{supp}(D_0)`: all 2^n points of X, shape (2^n, n + 1)."""
        if self.n > MAX_CUBE_BITS:
            raise ValueError(f"n must be <= {MAX_CUBE_BITS} to enumerate the support, got {self.n}")
        return np.hstack([hypercube(self.n), np.zeros((2**self.n, 1))])

    def support(self) -> tuple[np.ndarray, np.ndarray]:
        """All atoms of :math:`D_h` and their probabilities: ``(points (K, n + 1), probs (K,))``.

        Without noise, K = 2^n (one atom per cube point); with noise, both :math:`x_0 \\pm \\eta v` carry mass."""
        x0 = self.cube()
        h = self.h(x0)
        base = 2.0 ** (-self.n)
        if self.noise == 0:
            return self.perturb(x0, h), np.full(len(x0), base)
        pts = np.vstack([self.perturb(x0, h), self.perturb(x0, -h)])
        probs = np.concatenate([np.full(len(x0), base * (1 - self.noise)), np.full(len(x0), base * self.noise)])
        return pts, probs

    def d0_pmf(self, x: Any) -> np.ndarray:
        """Probability of each row under :math:`D_0` (2^-n on X, else 0); exact comparison of coordinates."""
        x = as_float_array(x, "x", shape=(None, self.dim))
        on_x = np.all(np.abs(x[:, : self.n]) == 1.0, axis=1) & (x[:, self.n] == 0.0)
        return np.where(on_x, 2.0 ** (-self.n), 0.0)

    def pmf(self, x: Any) -> np.ndarray:
        """Probability of each row under :math:`D_h` (the 'density' of Lemma 1 for this discrete family)."""
        x = as_float_array(x, "x", shape=(None, self.dim))
        out = np.zeros(len(x))
        for sign in (1.0, -1.0):
            x0 = x - sign * self.eta * self.v
            p0 = self.d0_pmf(x0)
            hit = p0 > 0
            if np.any(hit):
                agree = self.h(x0[hit]) == sign
                out[hit] += p0[hit] * np.where(agree, 1 - self.noise, self.noise)
        return out
