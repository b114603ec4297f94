r"""Two-layer ReLU regression as a Bayesian model: data, vectorised log-densities, and the same model in pymc.

The model of DSLT4 (Carroll, *Phase Transitions in Neural Networks*, 2021): inputs
:math:`X \sim U([\text{low}, \text{high}]^2)`, outputs :math:`Y \mid X \sim N(f(X, w), \sigma^2)` with the network

.. math::  f(x, w) = c + \sum_{i=1}^{d} q_i \operatorname{ReLU}(w_i \cdot x + b_i)

(Carroll 2023, DSLT3, "Defining the Networks"), independent :math:`N(0, s^2)` priors on every parameter, and the
tempered posterior

.. math::  p_\beta(w \mid D_n) \propto \varphi(w) \prod_{k=1}^n p(y_k \mid x_k, w)^\beta

(:math:`\beta = 1` is the Bayesian posterior, :math:`\beta = 1 / \log n` the WBIC temperature of Watanabe 2013).

Parameters are flat vectors in :class:`~nncompress.relu_symmetry.ReluNetwork`'s order
:math:`(w_1, b_1, q_1, \dots, w_d, b_d, q_d, c)`, dimension :math:`(n_{in} + 2) d + 1`; every function here takes a
batch ``theta`` of shape (P, D) so that many chains or particles are evaluated with a few matrix products.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from ..relu_symmetry import ReluNetwork
from ._kernels import HAVE_NUMBA, relu_loglik_grad

__all__ = ["RegressionData", "ReluRegression", "make_data", "unpack", "pack", "to_network", "from_network",
           "predict", "check_positive", "check_box", "wbic_beta", "build_pymc_model", "pymc_to_theta"]


def check_positive(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def check_box(low: Any, high: Any) -> tuple[float, float]:
    """Return the input box's ends as floats after checking they are finite numbers with ``low < high``."""
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"low and high must be finite with low < high, got low = {low}, high = {high}")
    return low, high


def wbic_beta(n: int) -> float:
    r"""The WBIC inverse temperature :math:`\beta = 1 / \log n` (Watanabe 2013; the temperature of the DSLT4
    experiments). Needs :math:`n \ge 2`."""
    n = check_size(n, "n", minimum=2)
    return 1.0 / math.log(n)


def _dim(width: int, n_in: int) -> int:
    return (n_in + 2) * width + 1


def _as_theta(theta: Any, width: int, n_in: int, finite: bool = True) -> np.ndarray:
    theta = as_float_array(theta, "theta", ndim=(1, 2), finite=finite)
    theta = theta[None, :] if theta.ndim == 1 else theta
    if theta.shape[1] != _dim(width, n_in):
        raise ValueError(f"theta must have shape (P, {_dim(width, n_in)}) = (P, (n_in + 2) * width + 1) for "
                         f"width {width} and n_in {n_in}, got {theta.shape}")
    return theta


def unpack(theta: Any, width: int, n_in: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split parameter vectors (P, D) into ``w`` (P, d, n_in), ``b`` (P, d), ``q`` (P, d), ``c`` (P,)."""
    width, n_in = check_size(width, "width"), check_size(n_in, "n_in", minimum=1)
    theta = _as_theta(theta, width, n_in)
    nodes = theta[:, :-1].reshape(len(theta), width, n_in + 2)
    return nodes[:, :, :n_in], nodes[:, :, n_in], nodes[:, :, n_in + 1], theta[:, -1]


def pack(w: Any, b: Any, q: Any, c: Any) -> np.ndarray:
    """Inverse of :func:`unpack`: (P, d, n_in), (P, d), (P, d), (P,) -> (P, (n_in + 2) d + 1)."""
    w, b, q = np.asarray(w, float), np.asarray(b, float), np.asarray(q, float)
    c = np.asarray(c, float).reshape(-1)
    nodes = np.concatenate([w, b[..., None], q[..., None]], axis=-1)
    return np.concatenate([nodes.reshape(len(nodes), -1), c[:, None]], axis=1)


def to_network(theta: Any, width: int, n_in: int = 2) -> ReluNetwork:
    """The :class:`~nncompress.relu_symmetry.ReluNetwork` of one parameter vector."""
    w, b, q, c = unpack(theta, width, n_in)
    if len(c) != 1:
        raise ValueError(f"theta must be a single parameter vector, got {len(c)}")
    return ReluNetwork(w[0], b[0], q[0], c[0])


def from_network(net: ReluNetwork) -> np.ndarray:
    """The parameter vector (D,) of a network (``net.to_vector()``)."""
    if not isinstance(net, ReluNetwork):
        raise TypeError(f"net must be a ReluNetwork, got {type(net).__name__}")
    return net.to_vector()


def predict(theta: Any, x: Any, width: int) -> np.ndarray:
    """:math:`f(x, w)` for a batch of parameters (P, D) on inputs x (N, n_in): shape (P, N)."""
    x = as_float_array(x, "x", ndim=2)
    w, b, q, c = unpack(theta, width, x.shape[1])
    z = np.einsum("pdk,nk->pdn", w, x) + b[:, :, None]
    return c[:, None] + np.einsum("pd,pdn->pn", q, np.maximum(z, 0.0))


@dataclass(frozen=True)
class RegressionData:
    """A data set :math:`D_n = \\{(x_k, y_k)\\}` drawn from a truth, with how it was drawn.

    Attributes
    ----------
    x : ndarray, shape (n, n_in)
    y : ndarray, shape (n,)
    truth : ReluNetwork
    noise_sd : float
    low, high : float
        The input box :math:`[\\text{low}, \\text{high}]^{n_{in}}`.
    """

    x: np.ndarray
    y: np.ndarray
    truth: ReluNetwork
    noise_sd: float = 1.0
    low: float = -1.0
    high: float = 1.0

    @property
    def n(self) -> int:
        return len(self.y)


def make_data(truth: ReluNetwork, n: int, rng: np.random.Generator | int | None = None, noise_sd: float = 1.0,
              low: float = -1.0, high: float = 1.0) -> RegressionData:
    """Draw :math:`X \\sim U([\\text{low}, \\text{high}]^{n_{in}})` and :math:`Y = f_0(X) + N(0, \\sigma^2)`
    (the DSLT4 setup: box :math:`[-1, 1]^2`, :math:`\\sigma = 1`).

    Raises
    ------
    TypeError
        If ``truth`` is not a ReluNetwork.
    ValueError
        If ``n < 1``, ``noise_sd <= 0`` or ``low >= high``.
    """
    if not isinstance(truth, ReluNetwork):
        raise TypeError(f"truth must be a ReluNetwork, got {type(truth).__name__}")
    n = check_size(n, "n", minimum=1)
    noise_sd = check_positive(noise_sd, "noise_sd")
    low, high = check_box(low, high)
    rng = as_rng(rng)
    x = rng.uniform(low, high, size=(n, truth.n_in))
    y = truth(x) + noise_sd * rng.normal(size=n)
    return RegressionData(x, y, truth, noise_sd, low, high)


@dataclass
class ReluRegression:
    r"""Log-likelihood and log-prior of two-layer ReLU regression, with gradients, for batches of parameters.

    Parameters
    ----------
    x : array_like, shape (n, n_in)
    y : array_like, shape (n,)
    width : int
        d, the number of hidden nodes of the model.
    prior_sd : float, default 1.0
        s in the :math:`N(0, s^2)` prior of every parameter (DSLT4: 1).
    noise_sd : float, default 1.0
        :math:`\sigma` of the Gaussian noise (DSLT4: 1).
    chunk : int, default 4_000_000
        Largest number of (particle, node, data point) entries held in memory at once by the numpy path.
    backend : {"auto", "numba", "numpy"}, default "auto"
        The fused numba kernel of ``nncompress.phases._kernels`` (several times faster) when numba is installed,
        else numpy.

    Notes
    -----
    ``log_lik(theta)`` returns :math:`\sum_k \log N(y_k; f(x_k, w), \sigma^2)` and its gradient (analytic:
    :math:`\partial f/\partial q_i = \operatorname{ReLU}(z_i)`, :math:`\partial f/\partial (w_i, b_i) =
    q_i 1[z_i > 0] (x, 1)`, :math:`\partial f / \partial c = 1`); the kink of ReLU at 0 gets derivative 0.
    """

    x: Any
    y: Any
    width: int
    prior_sd: float = 1.0
    noise_sd: float = 1.0
    chunk: int = 4_000_000
    backend: str = "auto"
    n_in: int = field(init=False)

    def __post_init__(self) -> None:
        self.x = as_float_array(self.x, "x", ndim=2)
        self.y = as_float_array(self.y, "y", shape=(len(self.x),))
        self.width = check_size(self.width, "width", minimum=1)
        self.prior_sd = check_positive(self.prior_sd, "prior_sd")
        self.noise_sd = check_positive(self.noise_sd, "noise_sd")
        self.chunk = check_size(self.chunk, "chunk", minimum=1)
        self.n_in = self.x.shape[1]
        if self.backend not in ("auto", "numba", "numpy"):
            raise ValueError(f"backend must be 'auto', 'numba' or 'numpy', got {self.backend!r}")
        if self.backend == "numba" and not HAVE_NUMBA:
            raise ValueError("backend='numba' needs numba installed")
        self._fused = self.backend == "numba" or (self.backend == "auto" and HAVE_NUMBA)
        self._xT = np.ascontiguousarray(self.x.T)

    @classmethod
    def from_data(cls, data: RegressionData, width: int, prior_sd: float = 1.0) -> "ReluRegression":
        """The model of ``data`` (its noise level) with ``width`` nodes."""
        return cls(data.x, data.y, width, prior_sd=prior_sd, noise_sd=data.noise_sd)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def dim(self) -> int:
        """D = (n_in + 2) d + 1."""
        return _dim(self.width, self.n_in)

    def log_prior(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """:math:`\\log \\varphi(w)` (P,) and its gradient (P, D) for the :math:`N(0, s^2)` prior.

        ``check=False`` (used by the samplers) lets non-finite parameters through, giving non-finite densities."""
        theta = _as_theta(theta, self.width, self.n_in, finite=check)
        s2 = self.prior_sd**2
        lp = -0.5 * np.sum(theta**2, axis=1) / s2 - 0.5 * self.dim * math.log(2 * math.pi * s2)
        return lp, -theta / s2

    def log_lik(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """:math:`\\sum_k \\log p(y_k \\mid x_k, w)` (P,) and its gradient (P, D); ``check`` as in
        :meth:`log_prior`."""
        theta = _as_theta(theta, self.width, self.n_in, finite=check)
        if self._fused:
            ll, g = relu_loglik_grad(theta, self._xT, self.y, self.width, self.noise_sd)
            return ll - 0.5 * self.n * math.log(2 * math.pi * self.noise_sd**2), g
        step = max(1, self.chunk // (self.width * self.n))
        parts = [self._log_lik(theta[i:i + step]) for i in range(0, len(theta), step)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _log_lik(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w, b, q, c = unpack(theta, self.width, self.n_in)
        P, d, k = w.shape
        z = (w.reshape(P * d, k) @ self.x.T).reshape(P, d, self.n) + b[:, :, None]
        a = np.maximum(z, 0.0)
        f = c[:, None] + np.einsum("pd,pdn->pn", q, a)
        s2 = self.noise_sd**2
        r = (self.y - f) / s2  # d loglik / d f
        ll = -0.5 * s2 * np.sum(r * r, axis=1) - 0.5 * self.n * math.log(2 * math.pi * s2)
        g_q = np.einsum("pn,pdn->pd", r, a)
        m = (z > 0) * r[:, None, :] * q[:, :, None]  # (P, d, n)
        g_b = m.sum(axis=2)
        g_w = (m.reshape(P * d, self.n) @ self.x).reshape(P, d, k)
        return ll, pack(g_w, g_b, g_q, r.sum(axis=1))

    def sample_prior(self, size: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``size`` draws from the prior, shape (size, D)."""
        return self.prior_sd * as_rng(rng).normal(size=(check_size(size, "size", minimum=1), self.dim))


def build_pymc_model(data: RegressionData, width: int, beta: float = 1.0, prior_sd: float = 1.0) -> Any:
    """The same tempered posterior as a ``pymc.Model`` (inputs and outputs in ``pm.Data`` containers ``x``, ``y``).

    Free variables ``w`` (d, n_in), ``b`` (d,), ``q`` (d,), ``c`` (); the likelihood is an observed ``Normal``
    for ``beta = 1`` and a ``Potential`` :math:`\\beta \\sum_k \\log N(y_k; f, \\sigma^2)` otherwise. Its log-density
    equals :meth:`ReluRegression.log_prior` + ``beta`` * :meth:`ReluRegression.log_lik` (checked in the tests).
    """
    import pymc as pm

    if not isinstance(data, RegressionData):
        raise TypeError(f"data must be a RegressionData, got {type(data).__name__}")
    width = check_size(width, "width", minimum=1)
    beta, prior_sd = check_positive(beta, "beta"), check_positive(prior_sd, "prior_sd")
    n_in = data.x.shape[1]
    with pm.Model() as model:
        x = pm.Data("x", data.x)
        y = pm.Data("y", data.y)
        w = pm.Normal("w", 0.0, prior_sd, shape=(width, n_in))
        b = pm.Normal("b", 0.0, prior_sd, shape=(width,))
        q = pm.Normal("q", 0.0, prior_sd, shape=(width,))
        c = pm.Normal("c", 0.0, prior_sd)
        f = c + pm.math.dot(pm.math.maximum(pm.math.dot(x, w.T) + b, 0.0), q)
        if beta == 1.0:
            pm.Normal("y_obs", mu=f, sigma=data.noise_sd, observed=y)
        else:
            pm.Potential("tempered_lik", beta * pm.logp(pm.Normal.dist(mu=f, sigma=data.noise_sd), y).sum())
    return model


def pymc_to_theta(w: Any, b: Any, q: Any, c: Any) -> np.ndarray:
    """Stack pymc draws (w (..., d, n_in), b (..., d), q (..., d), c (...)) into parameter vectors (-1, D)."""
    w = np.asarray(w, float)
    d, k = w.shape[-2:]
    return pack(w.reshape(-1, d, k), np.reshape(b, (-1, d)), np.reshape(q, (-1, d)), np.reshape(c, -1))
