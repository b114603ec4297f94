r"""The local learning coefficient (LLC) of a parameter, and the models with a known one that validate it.

The estimator of Lau, Murfet and Wei (2023), built on Watanabe's WBIC (2013): sample the localised tempered posterior

.. math::  p(w) \propto \exp\big(-n\beta L_n(w) - \tfrac{\gamma}{2}\|w - w^*\|^2\big), \qquad \beta = 1/\log n,

where :math:`n L_n(w) = -\sum_k \log p(y_k \mid x_k, w)`, and return

.. math::  \hat\lambda(w^*) = n\beta \big(E_w[L_n(w)] - L_n(w^*)\big).

For a regular model and :math:`\gamma \to 0` its expectation is :math:`d/2` (the posterior is Gaussian and
:math:`n\beta (L_n - L_n^*)` is half a :math:`\chi^2_d`); with :math:`\gamma > 0` it is
:math:`\tfrac12 \operatorname{tr}[\beta H (\beta H + \gamma I)^{-1}]` (:func:`regular_llc_exact`). For reduced-rank
regression the learning coefficient is Aoyagi and Watanabe's (2005) formula (:func:`rrr_learning_coefficient`).
Sampling is the vectorised HMC of ``nncompress.phases.samplers``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size, check_tolerance
from .model import check_positive
from .samplers import hmc

__all__ = ["LinearRegression", "ReducedRankRegression", "Localized", "LLCResult", "local_learning_coefficient",
           "rrr_learning_coefficient", "regular_llc_exact", "rrr_data", "linear_data"]


def _gauss_const(n: int, s2: float) -> float:
    return -0.5 * n * math.log(2 * math.pi * s2)


class LinearRegression:
    r"""The regular model :math:`y = x \cdot w + N(0, \sigma^2)`, :math:`w \in \mathbb{R}^d`; learning coefficient
    :math:`d/2`. ``log_lik``/``log_prior`` follow the target protocol of ``nncompress.phases.samplers`` (prior :math:`N(0, s^2)`)."""

    def __init__(self, x: Any, y: Any, noise_sd: float = 1.0, prior_sd: float = 10.0) -> None:
        self.x = as_float_array(x, "x", ndim=2)
        self.y = as_float_array(y, "y", shape=(len(self.x),))
        self.noise_sd, self.prior_sd = check_positive(noise_sd, "noise_sd"), check_positive(prior_sd, "prior_sd")
        self.dim, self.n = self.x.shape[1], len(self.y)

    def log_lik(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        s2 = self.noise_sd**2
        r = (self.y[None, :] - theta @ self.x.T) / s2
        return -0.5 * s2 * np.sum(r * r, axis=1) + _gauss_const(self.n, s2), r @ self.x

    def log_prior(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        s2 = self.prior_sd**2
        return -0.5 * np.sum(theta**2, axis=1) / s2 + _gauss_const(self.dim, s2), -theta / s2

    def sample_prior(self, size: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        return self.prior_sd * as_rng(rng).normal(size=(check_size(size, "size", minimum=1), self.dim))

    def mle(self) -> np.ndarray:
        """The least-squares estimate (the minimum of :math:`L_n`)."""
        return np.linalg.lstsq(self.x, self.y, rcond=None)[0]

    def hessian(self) -> np.ndarray:
        """:math:`H = X^T X / \\sigma^2`, the Hessian of :math:`n L_n`."""
        return self.x.T @ self.x / self.noise_sd**2


class _FactorLayout:
    """The parameter layout shared by the reduced-rank regression targets: theta = (vec A, vec B) with A of shape
    (H, M) and B of shape (N, H)."""

    H: int
    M: int
    N: int

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(A (P, H, M), B (P, N, H)) from parameters (P, D)."""
        a = theta[:, : self.H * self.M].reshape(-1, self.H, self.M)
        return a, theta[:, self.H * self.M:].reshape(-1, self.N, self.H)


class ReducedRankRegression(_FactorLayout):
    r"""Reduced-rank regression :math:`y = B A x + N(0, \sigma^2 I_N)`, :math:`A \in \mathbb{R}^{H \times M}`,
    :math:`B \in \mathbb{R}^{N \times H}`; parameters flattened as (A row-major, B row-major), dimension
    :math:`H(M + N)`. Singular whenever the true :math:`B_0 A_0` has rank :math:`r < H`."""

    def __init__(self, x: Any, y: Any, hidden: int, noise_sd: float = 1.0, prior_sd: float = 10.0) -> None:
        self.x = as_float_array(x, "x", ndim=2)
        self.y = as_float_array(y, "y", ndim=2)
        if len(self.y) != len(self.x):
            raise ValueError(f"y must have {len(self.x)} rows like x, got {self.y.shape}")
        self.H = check_size(hidden, "hidden", minimum=1)
        self.M, self.N = self.x.shape[1], self.y.shape[1]
        self.noise_sd, self.prior_sd = check_positive(noise_sd, "noise_sd"), check_positive(prior_sd, "prior_sd")
        self.dim, self.n = self.H * (self.M + self.N), len(self.y)

    def log_lik(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        A, B = self.split(theta)
        s2 = self.noise_sd**2
        h = self.x @ A.transpose(0, 2, 1)  # (P, n, H)
        r = (self.y[None] - h @ B.transpose(0, 2, 1)) / s2  # (P, n, N)
        ll = -0.5 * s2 * np.sum(r * r, axis=(1, 2)) + _gauss_const(self.n * self.N, s2)
        g_b = r.transpose(0, 2, 1) @ h  # (P, N, H)
        g_a = (r @ B).transpose(0, 2, 1) @ self.x  # (P, H, M)
        return ll, np.concatenate([g_a.reshape(len(theta), -1), g_b.reshape(len(theta), -1)], axis=1)

    def log_prior(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        s2 = self.prior_sd**2
        return -0.5 * np.sum(theta**2, axis=1) / s2 + _gauss_const(self.dim, s2), -theta / s2


class PopulationRRR(_FactorLayout):
    r"""Reduced-rank regression through its population loss: with :math:`x \sim N(0, I_M)` and unit noise,
    :math:`K(A, B) = \tfrac12 \|BA - C_0\|_F^2` and ``log_lik`` returns :math:`-nK` (the expected log-likelihood
    ratio of n data points, without the sampling fluctuation of one data set). Same parameter layout as
    :class:`ReducedRankRegression`."""

    def __init__(self, C0: Any, hidden: int, n: int) -> None:
        self.C0 = as_float_array(C0, "C0", ndim=2)
        self.N, self.M = self.C0.shape
        self.H = check_size(hidden, "hidden", minimum=1)
        self.n = check_size(n, "n", minimum=2)
        self.dim = self.H * (self.M + self.N)

    def log_lik(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        A, B = self.split(theta)
        E = B @ A - self.C0  # (P, N, M)
        g_a = -self.n * (B.transpose(0, 2, 1) @ E)
        g_b = -self.n * (E @ A.transpose(0, 2, 1))
        return -0.5 * self.n * np.sum(E * E, axis=(1, 2)), np.concatenate(
            [g_a.reshape(len(theta), -1), g_b.reshape(len(theta), -1)], axis=1)

    def log_prior(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        return np.zeros(len(theta)), np.zeros_like(theta)


class PopulationTarget:
    r"""A model's log-likelihood rescaled to n data points: ``log_lik`` = (n / model.n) * model.log_lik. With a
    :class:`~nncompress.phases.model.ReluRegression` fitted to noise-free truth values on a midpoint grid of the box
    (:func:`relu_population`) this is :math:`-nK(w)` up to a constant, the population version of :math:`n L_n`."""

    def __init__(self, model: Any, n: int) -> None:
        if not all(hasattr(model, a) for a in ("dim", "n", "log_lik")):
            raise TypeError("model must have dim, n and log_lik(theta)")
        self.model, self.n, self.dim = model, check_size(n, "n", minimum=2), model.dim
        self._scale = self.n / model.n

    def log_lik(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        ll, g = self.model.log_lik(theta, check=check)
        return self._scale * ll, self._scale * g

    def log_prior(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(np.asarray(theta, float))
        return np.zeros(len(theta)), np.zeros_like(theta)


def relu_population(truth: Any, width: int, n: int, n_grid: int = 41, low: float = -1.0, high: float = 1.0
                    ) -> PopulationTarget:
    r""":math:`-nK(w)` (plus a constant) of a width-``width`` ReLU model against ``truth`` with unit noise and
    inputs uniform on the box (seed 004, Example 3.2), by the midpoint rule on an ``n_grid`` x ``n_grid`` grid."""
    from ..relu_symmetry import ReluNetwork
    from .labelling import box_grid
    from .model import ReluRegression

    if not isinstance(truth, ReluNetwork):
        raise TypeError(f"truth must be a ReluNetwork, got {type(truth).__name__}")
    x = box_grid(n_grid, low, high)
    return PopulationTarget(ReluRegression(x, truth(x), width), n)


def _true_factors(M: int, N: int, H: int, r: int, n: int, rng: Any
                  ) -> tuple[int, int, int, int, np.ndarray, np.ndarray, np.random.Generator]:
    """Validated sizes and a random true rank-``r`` factorisation (A0 (H, M), B0 (N, H); entries N(0, 1), the last
    H - r hidden units zero) for the reduced-rank regression builders."""
    M, N, H, n = (check_size(v, k, minimum=1) for v, k in ((M, "M"), (N, "N"), (H, "H"), (n, "n")))
    r = check_size(r, "r")
    if r > min(M, N, H):
        raise ValueError(f"r must be at most min(M, N, H) = {min(M, N, H)}, got {r}")
    rng = as_rng(rng)
    A0, B0 = np.zeros((H, M)), np.zeros((N, H))
    A0[:r], B0[:, :r] = rng.normal(size=(r, M)), rng.normal(size=(N, r))
    return M, N, H, n, A0, B0, rng


def rrr_population(M: int, N: int, H: int, r: int, n: int, rng: np.random.Generator | int | None = None
                   ) -> tuple[PopulationRRR, np.ndarray]:
    """A :class:`PopulationRRR` with a random true rank-``r`` map (as :func:`rrr_data`) and its true parameter."""
    M, N, H, n, A0, B0, rng = _true_factors(M, N, H, r, n, rng)
    return PopulationRRR(B0 @ A0, H, n), np.concatenate([A0.ravel(), B0.ravel()])


def linear_data(d: int, n: int, rng: np.random.Generator | int | None = None) -> LinearRegression:
    """A regular model: x ~ N(0, I_d), true w ~ N(0, I_d), unit noise."""
    rng = as_rng(rng)
    d, n = check_size(d, "d", minimum=1), check_size(n, "n", minimum=1)
    x = rng.normal(size=(n, d))
    return LinearRegression(x, x @ rng.normal(size=d) + rng.normal(size=n))


def rrr_data(M: int, N: int, H: int, r: int, n: int, rng: np.random.Generator | int | None = None
             ) -> tuple[ReducedRankRegression, np.ndarray]:
    """Reduced-rank regression data from a true rank-``r`` map :math:`B_0 A_0` (entries N(0, 1), the last H - r
    hidden units zero), x ~ N(0, I_M), unit noise; returns (model, true parameter)."""
    M, N, H, n, A0, B0, rng = _true_factors(M, N, H, r, n, rng)
    x = rng.normal(size=(n, M))
    y = x @ (B0 @ A0).T + rng.normal(size=(n, N))
    return ReducedRankRegression(x, y, H), np.concatenate([A0.ravel(), B0.ravel()])


def rrr_learning_coefficient(M: int, N: int, H: int, r: int) -> float:
    r"""Aoyagi and Watanabe's (2005, Theorem 1) learning coefficient of reduced-rank regression with M inputs,
    N outputs, H hidden units and true rank r:

    * if :math:`N + r \le M + H`, :math:`M + r \le N + H` and :math:`H + r \le M + N`:
      :math:`\lambda = [2(H + r)(M + N) - (M - N)^2 - (H + r)^2] / 8`, plus :math:`1/8` when
      :math:`M + H + N + r` is odd;
    * if :math:`M + H < N + r`: :math:`\lambda = (HM - Hr + Nr)/2`;
    * if :math:`N + H < M + r`: :math:`\lambda = (HN - Hr + Mr)/2`;
    * if :math:`M + N < H + r`: :math:`\lambda = MN/2`.
    """
    M, N, H = check_size(M, "M", minimum=1), check_size(N, "N", minimum=1), check_size(H, "H", minimum=1)
    r = check_size(r, "r")
    if r > min(M, N, H):
        raise ValueError(f"r must be at most min(M, N, H) = {min(M, N, H)}, got {r}")
    if M + H < N + r:
        return (H * M - H * r + N * r) / 2
    if N + H < M + r:
        return (H * N - H * r + M * r) / 2
    if M + N < H + r:
        return M * N / 2
    lam = (2 * (H + r) * (M + N) - (M - N) ** 2 - (H + r) ** 2) / 8
    return lam + (1 / 8 if (M + H + N + r) % 2 else 0.0)


def regular_llc_exact(model: LinearRegression, beta: float, gamma: float) -> float:
    r""":math:`E[\hat\lambda] = \tfrac12 \operatorname{tr}[\beta H (\beta H + \gamma I)^{-1}]` for the linear model
    localised at its least-squares estimate (Gaussian integral; the estimator's exact target at finite n)."""
    H = beta * model.hessian()
    return 0.5 * float(np.trace(np.linalg.solve(H + gamma * np.eye(len(H)), H)))


class Localized:
    """The target :math:`-\\tfrac{\\gamma}{2}\\|w - w^*\\|^2 + \\lambda \\log L(w)` for :func:`~nncompress.phases.hmc`."""

    def __init__(self, model: Any, w_star: np.ndarray, gamma: float) -> None:
        self.model, self.w_star, self.gamma, self.dim = model, w_star, gamma, model.dim

    def log_prior(self, theta: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        d = theta - self.w_star
        return -0.5 * self.gamma * np.sum(d * d, axis=1), -self.gamma * d

    def log_lik(self, theta: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        return self.model.log_lik(theta, check=check)


@dataclass(frozen=True)
class LLCResult:
    """An LLC estimate with its per-chain values and sampler diagnostics."""

    estimate: float
    per_chain: np.ndarray
    std_error: float
    beta: float
    gamma: float
    accept: float
    divergences: int
    log_lik_trace: np.ndarray
    rhat: float = float("nan")


def local_learning_coefficient(model: Any, w_star: Any, rng: np.random.Generator | int | None = None,
                               beta: float | None = None, gamma: float = 1.0, n_chains: int = 8,
                               n_draws: int = 400, n_tune: int = 300, n_leapfrog: int = 10) -> LLCResult:
    r"""The LLC estimate :math:`\hat\lambda(w^*)` of the module docstring.

    Parameters
    ----------
    model
        A target with ``dim``, ``n`` and ``log_lik(theta)`` (e.g. :class:`LinearRegression`,
        :class:`ReducedRankRegression`, :class:`~nncompress.phases.model.ReluRegression`).
    w_star : array_like, shape (D,)
        The parameter (a local minimum of :math:`L_n`, or a true parameter).
    beta : float, optional
        Inverse temperature; default :math:`1/\log n` (WBIC).
    gamma : float, default 1
        Strength of the localising Gaussian; 0 means none.
    n_chains, n_draws, n_tune, n_leapfrog
        HMC settings (chains start at ``w_star``).

    Returns
    -------
    LLCResult
        ``estimate`` is the mean over all draws; ``std_error`` the standard deviation of the per-chain estimates
        divided by :math:`\sqrt{C}`; ``rhat`` the rank-normalised R-hat of :math:`\log L` over the chains (the
        localised posterior is unimodal, so this is a meaningful convergence check).
    """
    w_star = as_float_array(w_star, "w_star", ndim=1)
    if w_star.shape[0] != model.dim:
        raise ValueError(f"w_star must have shape ({model.dim},), got {w_star.shape}")
    beta = 1.0 / math.log(model.n) if beta is None else check_positive(beta, "beta")
    gamma = check_tolerance(gamma, "gamma")
    n_chains = check_size(n_chains, "n_chains", minimum=1)
    target = Localized(model, w_star, gamma)
    res = hmc(target, np.repeat(w_star[None], n_chains, axis=0), n_draws, rng, lam=beta, n_tune=n_tune,
              n_leapfrog=n_leapfrog, step_size=0.01)
    ll_star = float(model.log_lik(w_star[None])[0][0])
    per_chain = beta * (ll_star - res.log_lik.mean(axis=1))
    rhat = math.nan
    if n_chains > 1:
        import arviz as az

        rhat = float(az.rhat(res.log_lik))
    return LLCResult(float(per_chain.mean()), per_chain, float(per_chain.std(ddof=1) / math.sqrt(n_chains))
                     if n_chains > 1 else math.nan, beta, gamma, float(res.accept.mean()), int(res.divergences.sum()),
                     res.log_lik, rhat)
