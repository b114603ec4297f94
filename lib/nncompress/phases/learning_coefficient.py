r"""The local learning coefficient (LLC) :math:`\lambda` of a parameter and its multiplicity :math:`m`, and the models
with known values that validate the estimators.

Both estimators sample the localised tempered posterior

.. math::  p_t(w) \propto \exp\big(-n\beta L_n(w) - \tfrac{\gamma}{2}\|w - w^*\|^2\big), \qquad t = n\beta,

where :math:`n L_n(w) = -\sum_k \log p(y_k \mid x_k, w)` (or :math:`nK(w)` for a population target), and look at
:math:`s = t\,(L_n(w) - L_n(w^*))`.

* :func:`wbic_llc`, the single-temperature estimator of Lau et al. (2023), built on Watanabe's (2013) WBIC:
  :math:`\hat\lambda = E_t[s]` at :math:`\beta = 1/\log n`. Its expectation is
  :math:`\lambda - (m-1)/\log t + O(1/\log^2 t)` plus power-law terms of the next poles of the zeta function, so it
  is biased low for singular models, the more so the larger m.
* :func:`local_learning_coefficient` (default): a ladder of temperatures up to :math:`t = 10^{12}`, sampled by
  replica-exchange HMC, and a fit of the means of :math:`s` and :math:`\log s` by the law that the density of
  states :math:`v(u) \propto u^{\lambda - 1}(\log(1/u) + c)^{m-1}` implies (Watanabe 2009); returns :math:`\lambda`,
  m, and their uncertainty.

For a regular model and :math:`\gamma \to 0`, :math:`s` is half a :math:`\chi^2_d` at every temperature; with
:math:`\gamma > 0` its mean is :math:`\tfrac12 \operatorname{tr}[\beta H (\beta H + \gamma I)^{-1}]`
(:func:`regular_llc_exact`). For reduced-rank regression :math:`\lambda` is Aoyagi and Watanabe's (2005) formula
(:func:`rrr_learning_coefficient`); :func:`rrr_multiplicity` gives m where an elementary argument does. More models with
known :math:`(\lambda, m)`, and the validation table, are in ``nncompress.phases.known_models``. Sampling uses the
HMC transition of ``nncompress.phases.samplers``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size, check_tolerance
from .model import check_positive
from .samplers import hmc, hmc_step

__all__ = ["LinearRegression", "ReducedRankRegression", "PopulationRRR", "PopulationTarget", "Localized", "LLCResult",
           "local_learning_coefficient", "wbic_llc", "rrr_learning_coefficient", "rrr_multiplicity",
           "regular_llc_exact", "rrr_data", "rrr_population", "relu_population", "linear_data"]


def _gauss_const(n: int, s2: float) -> float:
    return -0.5 * n * math.log(2 * math.pi * s2)


class LinearRegression:
    r"""The regular model :math:`y = x \cdot w + N(0, \sigma^2)`, :math:`w \in \mathbb{R}^d`; learning coefficient
    :math:`d/2`. ``log_lik``/``log_prior`` follow the target protocol of ``nncompress.phases.samplers`` (prior
    :math:`N(0, s^2)`)."""

    def __init__(self, x: Any, y: Any, noise_sd: float = 1.0, prior_sd: float = 10.0) -> None:
        self.x = as_float_array(x, "x", ndim=2)
        self.y = as_float_array(y, "y", shape=(len(self.x),))
        self.noise_sd, self.prior_sd = check_positive(noise_sd, "noise_sd"), check_positive(prior_sd, "prior_sd")
        self.dim, self.n = self.x.shape[1], len(self.y)
        # sufficient statistics: |y - X w|^2 = RSS + (w - w_hat)^T X^T X (w - w_hat) exactly, so each evaluation costs
        # O(d^2) instead of O(n d), and the loss difference to the least-squares estimate w_hat carries no rounding
        # of the n-term sum
        self._w_hat = np.linalg.lstsq(self.x, self.y, rcond=None)[0]
        self._xtx = self.x.T @ self.x
        resid = self.y - self.x @ self._w_hat
        self._rss = float(resid @ resid)

    def log_lik(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        s2 = self.noise_sd**2
        dw = theta - self._w_hat
        hd = dw @ self._xtx
        return -0.5 * (self._rss + np.sum(hd * dw, axis=1)) / s2 + _gauss_const(self.n, s2), -hd / s2

    def log_prior(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        s2 = self.prior_sd**2
        return -0.5 * np.sum(theta**2, axis=1) / s2 + _gauss_const(self.dim, s2), -theta / s2

    def sample_prior(self, size: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        return self.prior_sd * as_rng(rng).normal(size=(check_size(size, "size", minimum=1), self.dim))

    def mle(self) -> np.ndarray:
        """The least-squares estimate (the minimum of :math:`L_n`)."""
        return self._w_hat.copy()

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

    @property
    def scaling_symmetries(self) -> np.ndarray:
        """The rescalings that leave :math:`BA` unchanged, one per hidden unit h: row h of A times :math:`e^u`,
        column h of B times :math:`e^{-u}`; as exponent vectors (H, D) (+1 on row h of A, -1 on column h of B).
        The tempered estimator moves along them (:func:`local_learning_coefficient`)."""
        a = np.zeros((self.H, self.H, self.M))
        b = np.zeros((self.H, self.N, self.H))
        for h in range(self.H):
            a[h, h, :], b[h, :, h] = 1.0, -1.0
        return np.concatenate([a.reshape(self.H, -1), b.reshape(self.H, -1)], axis=1)


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
    inputs uniform on the box (Carroll 2023, Example 3.2), by the midpoint rule on an ``n_grid`` x ``n_grid`` grid."""
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


def rrr_multiplicity(M: int, N: int, H: int, r: int) -> int | None:
    r"""The order m of the learning coefficient's pole for reduced-rank regression, where an elementary argument
    gives it; None otherwise.

    * :math:`r = H` (every hidden unit used by the truth): at a true parameter :math:`(A_0, B_0)` of rank H the map
      :math:`(A, B) \mapsto BA` is a submersion onto the rank-H matrices, so K is locally a regular quadratic form in
      :math:`H(M + N - H)` directions: m = 1 (and :math:`\lambda = H(M + N - H)/2`, the value of
      :func:`rrr_learning_coefficient`).
    * :math:`H = 1, r = 0`: :math:`K = \tfrac12 |a|^2 |b|^2` (:math:`a \in \mathbb{R}^M`, :math:`b \in
      \mathbb{R}^N`), in polar coordinates :math:`\rho_a^2 \rho_b^2` with volume element
      :math:`\rho_a^{M-1}\rho_b^{N-1}`: :math:`\lambda = \min(M, N)/2`, with m = 2 if M = N and 1 otherwise.

    Aoyagi and Watanabe (2005) treat the general case; it is not restated here.
    """
    M, N, H = check_size(M, "M", minimum=1), check_size(N, "N", minimum=1), check_size(H, "H", minimum=1)
    r = check_size(r, "r")
    if r > min(M, N, H):
        raise ValueError(f"r must be at most min(M, N, H) = {min(M, N, H)}, got {r}")
    if r == H:
        return 1
    if H == 1 and r == 0:
        return 2 if M == N else 1
    return None


def regular_llc_exact(model: LinearRegression, beta: float, gamma: float) -> float:
    r""":math:`E[\hat\lambda] = \tfrac12 \operatorname{tr}[\beta H (\beta H + \gamma I)^{-1}]` for the linear model
    localised at its least-squares estimate (Gaussian integral; the estimator's exact target at finite n)."""
    H = beta * model.hessian()
    return 0.5 * float(np.trace(np.linalg.solve(H + gamma * np.eye(len(H)), H)))


class Localized:
    r"""The target :math:`-\tfrac{\gamma}{2}\|w - w^*\|^2 + \lambda \log L(w)` for
    :func:`~nncompress.phases.hmc`."""

    def __init__(self, model: Any, w_star: np.ndarray, gamma: float) -> None:
        self.model, self.w_star, self.gamma, self.dim = model, w_star, gamma, model.dim

    def log_prior(self, theta: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        d = theta - self.w_star
        return -0.5 * self.gamma * np.sum(d * d, axis=1), -self.gamma * d

    def log_lik(self, theta: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        return self.model.log_lik(theta, check=check)


@dataclass(frozen=True)
class LLCResult:
    r"""A local learning coefficient estimate with its uncertainty and sampler diagnostics.

    Attributes
    ----------
    estimate : float
        :math:`\hat\lambda`; NaN when the estimate failed the sanity check (see ``valid``).
    per_chain : ndarray, shape (C,)
        The estimate from each chain (``"wbic"``) or from each independent temperature ladder (``"tempered"``, with
        the multiplicity and the constant of the log factor held at the pooled fit's).
    std_error : float
        ``"wbic"``: the standard deviation of ``per_chain`` over :math:`\sqrt{C}`. ``"tempered"``: the standard
        deviation of the estimate over a bootstrap of the ladders, the multiplicity chosen afresh each time, so the
        uncertainty of the multiplicity is included.
    beta : float
        The inverse temperature (``"wbic"``) or the largest one used by the fit (``"tempered"``).
    gamma : float
        Strength of the localising Gaussian.
    accept : float
        Mean HMC acceptance probability (after tuning; ``"tempered"``: over the fitted temperatures).
    divergences : int
        Transitions with an energy error above 1000 after tuning (``"tempered"``: among those at or below the tuned
        step size; the larger random steps that overshoot are rejected by design and not counted).
    log_lik_trace : ndarray
        :math:`\log L(w)` at each draw: shape (C, S), or (C, S, T) for T temperatures.
    rhat : float
        Rank-normalised R-hat of :math:`\log L` over chains (``"tempered"``: the largest over the fitted temperatures).
    multiplicity : int or None
        The order :math:`m` of the pole (``"tempered"``; None for ``"wbic"``, which cannot tell it).
    multiplicity_weights : ndarray, shape (4,), or None
        Relative weights :math:`\propto e^{-\mathrm{crit}_m / 2}` of :math:`m = 1, \dots, 4` (see
        :func:`local_learning_coefficient`).
    multiplicity_bootstrap : ndarray, shape (4,), or None
        How often each :math:`m` was chosen in the bootstrap over ladders.
    method : str
        ``"tempered"`` or ``"wbic"``.
    valid : bool
        False when :math:`\hat\lambda` lies outside :math:`[0, d/2]` (where every learning coefficient lies) by more
        than three standard errors or by more than 5 % of d/2; ``estimate`` is then NaN and ``raw_estimate`` holds
        the number. Outside by less (a regular model's :math:`\lambda` is d/2 itself), the estimate stays valid and
        ``flag`` says so.
    flag : str
        Why the estimate is not valid, or a warning about the fit; empty when there is nothing to say.
    raw_estimate : float
        The number before the sanity check.
    log_scale : float
        :math:`\hat c`, the constant of the log factor of the fitted density of states (``"tempered"``, m > 1).
    fit_chi2 : float
        :math:`\chi^2` per degree of freedom of the chosen fit (``"tempered"``).
    betas : ndarray or None
        All inverse temperatures of the ladder (``"tempered"``).
    curve : dict or None
        Per temperature (``"tempered"``): ``nbeta`` (:math:`t = n\beta`), ``mean`` and ``se`` of
        :math:`t\,(L_n(w) - L_n(w^*))` (the single-temperature estimates), ``log_mean``/``log_se`` of its log,
        ``fitted`` (the chosen model's prediction of ``mean``) and ``in_fit`` (the temperatures fitted).
    dim : int or None
        The model's dimension d.
    """

    estimate: float
    per_chain: np.ndarray
    std_error: float
    beta: float
    gamma: float
    accept: float
    divergences: int
    log_lik_trace: np.ndarray
    rhat: float = float("nan")
    multiplicity: int | None = None
    multiplicity_weights: np.ndarray | None = None
    multiplicity_bootstrap: np.ndarray | None = None
    method: str = "wbic"
    valid: bool = True
    flag: str = ""
    raw_estimate: float = float("nan")
    log_scale: float = float("nan")
    fit_chi2: float = float("nan")
    betas: np.ndarray | None = None
    curve: dict[str, np.ndarray] | None = None
    dim: int | None = None


def _sanity(estimate: float, std_error: float, dim: int) -> tuple[bool, str]:
    """(valid, reason): a learning coefficient lies in [0, d/2]. An estimate outside by more than the slack, three
    standard errors but at most 5 % of d/2, is invalid; one outside by less (a regular model's lambda is d/2 itself)
    is valid but flagged."""
    slack = min(3 * std_error, 0.05 * dim / 2) if math.isfinite(std_error) else 0.0
    if not math.isfinite(estimate):
        return False, "the estimate is not finite"
    if estimate > dim / 2 + slack:
        return False, f"estimate {estimate:.4g} exceeds d/2 = {dim / 2:g} (a learning coefficient is at most d/2)"
    if estimate < -slack:
        return False, f"estimate {estimate:.4g} is negative (w_star is not a minimum of the loss being sampled?)"
    if estimate > dim / 2:
        return True, f"estimate {estimate:.4g} exceeds d/2 = {dim / 2:g} by less than three standard errors"
    if estimate < 0:
        return True, f"estimate {estimate:.4g} is below 0 by less than three standard errors"
    return True, ""


def _check_model(model: Any, w_star: Any) -> np.ndarray:
    if not all(hasattr(model, a) for a in ("dim", "n", "log_lik")):
        raise TypeError("model must have dim, n and log_lik(theta, check)")
    w_star = as_float_array(w_star, "w_star", ndim=1)
    if w_star.shape[0] != model.dim:
        raise ValueError(f"w_star must have shape ({model.dim},), got {w_star.shape}")
    return w_star


def _rhat(x: np.ndarray) -> float:
    import arviz as az

    return float(az.rhat(x))


def wbic_llc(model: Any, w_star: Any, rng: np.random.Generator | int | None = None, beta: float | None = None,
             gamma: float = 1.0, n_chains: int = 8, n_draws: int = 400, n_tune: int = 300,
             n_leapfrog: int = 10) -> LLCResult:
    r"""The single-temperature estimator of Lau et al. (2023), built on Watanabe's (2013) WBIC.

    Sample the localised tempered posterior
    :math:`p(w) \propto \exp(-n\beta L_n(w) - \tfrac{\gamma}{2}\|w - w^*\|^2)` at :math:`\beta = 1/\log n` and return
    :math:`\hat\lambda = n\beta\,(E_w[L_n(w)] - L_n(w^*))`. Its expectation is :math:`\lambda - (m - 1)/\log(n\beta)
    + O(1/\log^2(n\beta))` plus the localiser's and the data's finite-n terms, so it is biased low for singular
    models, the more so the larger the multiplicity m (:func:`local_learning_coefficient` removes those terms).

    Parameters
    ----------
    model
        A target with ``dim``, ``n`` and ``log_lik(theta, check)`` returning values (P,) and gradients (P, D).
    w_star : array_like, shape (D,)
        The parameter (a local minimum of :math:`L_n`, or a true parameter).
    rng : Generator, int or None
    beta : float, optional
        Inverse temperature; default :math:`1/\log n`.
    gamma : float, default 1
        Strength of the localising Gaussian; 0 means none.
    n_chains, n_draws, n_tune, n_leapfrog : int
        HMC settings (chains start at ``w_star``).

    Returns
    -------
    LLCResult
        ``estimate`` is the mean over all draws; ``std_error`` the standard deviation of the per-chain estimates
        divided by :math:`\sqrt{C}`; ``rhat`` the rank-normalised R-hat of :math:`\log L` over the chains;
        ``multiplicity`` None.
    """
    w_star = _check_model(model, w_star)
    beta = 1.0 / math.log(model.n) if beta is None else check_positive(beta, "beta")
    gamma = check_tolerance(gamma, "gamma")
    n_chains = check_size(n_chains, "n_chains", minimum=1)
    target = Localized(model, w_star, gamma)
    res = hmc(target, np.repeat(w_star[None], n_chains, axis=0), n_draws, rng, lam=beta, n_tune=n_tune,
              n_leapfrog=n_leapfrog, step_size=0.01)
    ll_star = float(model.log_lik(w_star[None])[0][0])
    per_chain = beta * (ll_star - res.log_lik.mean(axis=1))
    se = float(per_chain.std(ddof=1) / math.sqrt(n_chains)) if n_chains > 1 else math.nan
    raw = float(per_chain.mean())
    valid, flag = _sanity(raw, se, model.dim)
    return LLCResult(raw if valid else math.nan, per_chain, se, beta, gamma, float(res.accept.mean()),
                     int(res.divergences.sum()), res.log_lik, _rhat(res.log_lik) if n_chains > 1 else math.nan,
                     method="wbic", valid=valid, flag=flag, raw_estimate=raw, dim=model.dim)


# -- the tempered estimator ---------------------------------------------------------------------------------------

#: Every transition's step size is the tuned one times exp(U), U uniform on this interval and drawn independently of
#: the state (so the kernel stays reversible; the tuning targets the mean acceptance over U): the small steps let
#: chains enter the narrow necks of singular posteriors (the arms of a crossing), the large ones move along them.
#: Proposals that overshoot are rejected, and some of them count as divergences.
_JITTER = (-3.0, 0.7)




def _step_jitter(rng: np.random.Generator, size: int, interval: tuple[float, float] = _JITTER) -> np.ndarray:
    """exp(U), U uniform on ``interval``, drawn independently of the state: step-size factors, scale-move widths."""
    return np.exp(rng.uniform(*interval, size=size))


#: Prior on the constant of the log factor of the density of states (mean, sd) and its hard bounds; see
#: :func:`local_learning_coefficient`.
_LOG_SCALE_PRIOR = (0.5, 1.5)
_LOG_SCALE_BOUNDS = (-5.0, 5.0)
#: Extra criterion charged to m > 1 for its extra parameter (Akaike).
_EXTRA_PARAMETER_PENALTY = 2.0
_MAX_M = 4
#: Below this weight of the chosen multiplicity the result's flag says it is uncertain.
_MULTIPLICITY_CONFIDENT = 0.8


class _Ladder:
    """The localised target at one inverse temperature per row: row ``r`` (chain ``r // T``, temperature ``r % T``)
    has ``log_lik`` = beta[r] * model.log_lik (the sampler then runs at inverse temperature 1)."""

    def __init__(self, model: Any, w_star: np.ndarray, gamma: float, beta_rows: np.ndarray) -> None:
        self.model, self.w_star, self.gamma, self.beta, self.dim = model, w_star, gamma, beta_rows, model.dim

    def log_prior(self, theta: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        d = theta - self.w_star
        return -0.5 * self.gamma * np.sum(d * d, axis=1), -self.gamma * d

    def log_lik(self, theta: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        ll, g = self.model.log_lik(theta, check=False)
        return self.beta * ll, self.beta[:, None] * g


#: Standard deviation of the log-scale u of a scale move (:func:`_scale_moves`), drawn per move as
#: :math:`e^V` with V uniform on this interval (independently of the state), so that both small moves and moves
#: across orders of magnitude are tried.
_SCALE_JITTER = (-2.0, 1.5)


def _scale_moves(target: Any, directions: np.ndarray, theta: np.ndarray, logp: np.ndarray, grad: np.ndarray,
                 llt: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    r"""Metropolis-Hastings moves along the model's scaling symmetries, one after another: for an exponent vector e,
    :math:`\theta' = \theta \odot e^{u e}` with :math:`u \sim N(0, \sigma^2)` (symmetric in u), accepted with
    probability :math:`\min(1, p(\theta') / p(\theta) \cdot e^{u \sum_j e_j})`, the last factor being the
    Jacobian of the map. The likelihood is unchanged along a symmetry, so only the localiser decides, and a chain
    moves at once between the arms of the singular set at every scale (where :math:`|a|` is 1e-6 and :math:`|b|`
    of order one, and back), which HMC with one step size per temperature cannot: its steps must be as small as the
    narrowest direction. Returns the new (theta, logp, grad, llt)."""
    for e in directions:
        u = _step_jitter(rng, len(theta), _SCALE_JITTER) * rng.normal(size=len(theta))
        with np.errstate(over="ignore", invalid="ignore"):
            proposal = theta * np.exp(u[:, None] * e[None])
            lp, glp = target.log_prior(proposal)
            ll, gll = target.log_lik(proposal)
            log_a = lp + ll - logp + u * float(e.sum())
        log_a = np.where(np.isfinite(log_a), log_a, -np.inf)
        ok = np.log(rng.uniform(size=len(theta))) < log_a
        theta = np.where(ok[:, None], proposal, theta)
        logp, llt = np.where(ok, lp + ll, logp), np.where(ok, ll, llt)
        grad = np.where(ok[:, None], glp + gll, grad)
    return theta, logp, grad, llt


def _annealed_start(model: Any, w_star: np.ndarray, betas: np.ndarray, n_chains: int, n_anneal: int,
                    n_leapfrog: int, gamma: float, rng: np.random.Generator, target_accept: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Starting points and log step sizes for every row of the ladder: C chains start at ``w_star`` at the hottest
    temperature and are cooled through the ladder, ``n_anneal`` tuned HMC transitions at each temperature; the state
    and step size reached at temperature j start the rows of temperature j. (Chains started at ``w_star`` at a
    cold temperature would need very many transitions to spread into the flat and weakly curved directions of a
    singular posterior; cooling only has to contract them.)"""
    T, C = len(betas), n_chains
    theta = np.repeat(w_star[None], C, axis=0)
    ll_star = float(model.log_lik(w_star[None], check=False)[0][0])
    log_eps = np.full(C, math.log(0.1 / math.sqrt(1.0 + betas[0] * model.n / 100.0)))
    starts, steps = np.empty((C, T, model.dim)), np.empty((C, T))
    for j in range(T):
        target = _Ladder(model, w_star, gamma, np.full(C, betas[j]))
        lp, glp = target.log_prior(theta)
        llt, gllt = target.log_lik(theta)
        logp, grad = lp + llt, glp + gllt
        mu, h_bar, log_eps_bar = log_eps + math.log(10.0), np.zeros(C), log_eps.copy()
        for it in range(n_anneal):
            eps = np.exp(log_eps)
            L = int(rng.integers(max(1, n_leapfrog // 2), n_leapfrog + n_leapfrog // 2 + 1))
            theta, logp, grad, llt, a, _ = hmc_step(target, theta, logp, grad, llt, 1.0, eps, L, rng)
            m = it + 1
            h_bar = (1 - 1 / (m + 10)) * h_bar + (target_accept - a) / (m + 10)
            log_eps = mu - math.sqrt(m) / 0.05 * h_bar
            eta = m ** -0.75
            log_eps_bar = eta * log_eps + (1 - eta) * log_eps_bar
        # a chain left far out (where the loss is much steeper than at the typical set, so that HMC rejects every
        # step) restarts from another chain's state: this only chooses starting points
        excess = betas[j] * (ll_star - llt / betas[j])
        med = float(np.median(excess))
        bad = ~(excess <= 11 * max(med, 0.0) + 50)
        if bad.any() and (~bad).any():
            pick = rng.choice(np.flatnonzero(~bad), size=int(bad.sum()))
            theta[bad], log_eps_bar[bad] = theta[pick], log_eps_bar[pick]
        starts[:, j], steps[:, j] = theta, log_eps_bar
        if j + 1 < T:  # the next step size: stiff directions shrink like t^(-1/2)
            log_eps = log_eps_bar - 0.5 * math.log(betas[j + 1] / betas[j])
    return starts.reshape(C * T, model.dim), steps.reshape(C * T)


def _symmetries(model: Any) -> np.ndarray | None:
    """The model's ``scaling_symmetries`` (exponent vectors, (k, dim)), if it declares any and they are valid."""
    directions = getattr(model, "scaling_symmetries", None)
    if directions is None:
        return None
    directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    if directions.ndim != 2 or directions.shape[1] != model.dim or not np.all(np.isfinite(directions)):
        raise ValueError(f"model.scaling_symmetries must be finite exponent vectors of shape (k, {model.dim}), "
                         f"got shape {directions.shape}")
    return directions if len(directions) else None


def _ladder_hmc(model: Any, w_star: np.ndarray, betas: np.ndarray, n_chains: int, n_draws: int, n_tune: int,
                n_leapfrog: int, gamma: float, rng: np.random.Generator, target_accept: float = 0.8,
                n_anneal: int = 100, progress: bool = False) -> dict[str, np.ndarray]:
    """Replica-exchange (parallel-tempering) HMC on the localised posterior at every inverse temperature of
    ``betas``, C independent ladders, all rows vectorised, started by :func:`_annealed_start`; returns the
    untempered log-likelihood of the draws (C, S, T), mean acceptance (T,), divergences (T,), swap acceptance
    (T - 1,) and step sizes (T,)."""
    T, C = len(betas), n_chains
    P = C * T
    directions = _symmetries(model)
    beta_rows = np.tile(betas, C)
    target = _Ladder(model, w_star, gamma, beta_rows)
    theta, log_eps = _annealed_start(model, w_star, betas, n_chains, n_anneal, n_leapfrog, gamma, rng,
                                     target_accept)
    lp, glp = target.log_prior(theta)
    llt, gllt = target.log_lik(theta)
    logp, grad = lp + llt, glp + gllt
    ll = llt / beta_rows
    # dual averaging (Hoffman and Gelman 2014, Algorithm 5) per row during tuning, then one step size per temperature
    mu, h_bar, log_eps_bar = log_eps + math.log(10.0), np.zeros(P), log_eps.copy()
    eps_fixed = np.exp(log_eps)
    lls = np.empty((C, n_draws, T))
    acc_sum, div = np.zeros(P), np.zeros(P, dtype=np.int64)
    swap_acc, swap_n = np.zeros(max(T - 1, 1)), np.zeros(max(T - 1, 1))
    chains = np.arange(C)[:, None] * T
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_tune + n_draws, desc="tempered HMC", leave=False)
    for it in range(n_tune + n_draws):
        tuning = it < n_tune
        factor = _step_jitter(rng, P)
        eps = np.exp(log_eps) if tuning else eps_fixed * factor
        L = int(rng.integers(max(1, n_leapfrog // 2), n_leapfrog + n_leapfrog // 2 + 1))
        theta, logp, grad, llt, a, d = hmc_step(target, theta, logp, grad, llt, 1.0, eps, L, rng)
        if directions is not None:
            theta, logp, grad, llt = _scale_moves(target, directions, theta, logp, grad, llt, rng)
        ll = llt / beta_rows
        if tuning:
            m = it + 1
            h_bar = (1 - 1 / (m + 10)) * h_bar + (target_accept - a) / (m + 10)
            log_eps = mu - math.sqrt(m) / 0.05 * h_bar
            eta = m ** -0.75
            log_eps_bar = eta * log_eps + (1 - eta) * log_eps_bar
            if it == n_tune - 1:
                eps_fixed = np.tile(np.exp(log_eps_bar.reshape(C, T).mean(axis=0)), C)
        else:
            acc_sum += a
            div += d & (factor <= 1.0)  # larger steps overshoot by design: rejected, not counted
        if T > 1:  # swap neighbours (even pairs, then odd pairs, alternately)
            j = np.arange(it % 2, T - 1, 2)
            if len(j):
                rows_i = (chains + j[None, :]).ravel()
                rows_j = rows_i + 1
                log_a = (beta_rows[rows_j] - beta_rows[rows_i]) * (ll[rows_i] - ll[rows_j])
                with np.errstate(over="ignore", invalid="ignore"):
                    a_swap = np.exp(np.minimum(log_a, 0.0))
                a_swap = np.where(np.isfinite(a_swap), a_swap, 0.0)
                if not tuning:
                    np.add.at(swap_acc, np.tile(j, C), a_swap)
                    np.add.at(swap_n, np.tile(j, C), 1)
                ok = rng.uniform(size=len(rows_i)) < a_swap
                ri, rj = rows_i[ok], rows_j[ok]
                if len(ri):
                    both = np.concatenate([ri, rj])
                    lp_b, glp_b = target.log_prior(theta[both])
                    g_ll = (grad[both] - glp_b) / beta_rows[both, None]  # untempered gradient of log L
                    ll_b = ll[both].copy()
                    new = np.concatenate([rj, ri])  # the row each state moves to
                    theta[new], ll[new] = theta[both], ll_b
                    grad[new] = glp_b + beta_rows[new, None] * g_ll
                    logp[new] = lp_b + beta_rows[new] * ll_b
                    llt = ll * beta_rows
        if not tuning:
            lls[:, it - n_tune] = ll.reshape(C, T)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return {"log_lik": lls, "accept": (acc_sum / max(n_draws, 1)).reshape(C, T).mean(axis=0),
            "divergences": div.reshape(C, T).sum(axis=0), "swap": swap_acc / np.maximum(swap_n, 1),
            "step_size": eps_fixed[:T]}


def _log_factor_moments(m: int, lam: Any, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Mean of :math:`s` and of :math:`\log s` under :math:`p(s) \propto s^{\lambda-1} e^{-s} (x - \log s)^{m-1}`,
    and :math:`Q_m = E_{\Gamma(\lambda)}[(x - \log s)^{m-1}]` (which must be > 0), in closed form through the
    cumulants :math:`\psi^{(k)}(\lambda)` of :math:`\log s` under the Gamma law; ``lam`` and ``x`` broadcast.

    With :math:`D = x - \psi(\lambda)`: :math:`Q_1 = 1`, :math:`Q_2 = D`, :math:`Q_3 = D^2 + \psi'`,
    :math:`Q_4 = D^3 + 3D\psi' - \psi''`; then :math:`E[s] = \lambda Q_m(\lambda + 1)/Q_m(\lambda)` and
    :math:`E[\log s] = \psi(\lambda) + \partial_\lambda Q_m / Q_m`."""
    from scipy.special import polygamma, psi

    lam = np.asarray(lam, dtype=float)
    x = np.asarray(x, dtype=float)

    def q(lmb: np.ndarray, derivative: bool) -> tuple[np.ndarray, np.ndarray | None]:
        D = x - psi(lmb)
        if m == 1:
            return np.ones_like(D), (np.zeros_like(D) if derivative else None)
        k2 = polygamma(1, lmb)
        if m == 2:
            return D, (-k2 * np.ones_like(D) if derivative else None)
        k3 = polygamma(2, lmb)
        if m == 3:
            return D * D + k2, (-2 * D * k2 + k3 if derivative else None)
        k4 = polygamma(3, lmb) if derivative else None
        return D ** 3 + 3 * D * k2 - k3, (-3 * D * D * k2 - 3 * k2 * k2 + 3 * D * k3 - k4 if derivative else None)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q0, dq0 = q(lam, True)
        q1, _ = q(lam + 1.0, False)
        return lam * q1 / q0, psi(lam) + dq0 / q0, q0


def _log_scale_penalty(m: int, chat: Any) -> Any:
    """The criterion's charge for m > 1: the prior on the log factor's constant and the extra parameter."""
    if m == 1:
        return 0.0 * np.asarray(chat)
    mu, sd = _LOG_SCALE_PRIOR
    return ((np.asarray(chat) - mu) / sd) ** 2 + _EXTRA_PARAMETER_PENALTY


def _chi2_point(m: int, lam: float, chat: float, logt: np.ndarray, ybar: np.ndarray, gbar: np.ndarray,
                W: np.ndarray) -> float:
    """chi2 of one (lam, chat) for one data set (inf where the model is not defined); W is the (2T, 2T) inverse
    covariance of the stacked means (s at each temperature, then log s; zero rows where log s is not used)."""
    from scipy.special import psi

    x = logt + chat
    ey, eg, q0 = _log_factor_moments(m, lam, x)
    if not (np.all(np.isfinite(ey)) and np.all(np.isfinite(eg))):
        return math.inf
    if m > 1 and (np.any(q0 <= 0) or np.any(x - psi(lam) <= 1.0)):
        return math.inf
    T = len(logt)
    used_g = np.diag(W)[T:] > 0
    r = np.concatenate([ybar - ey, np.where(used_g, gbar - eg, 0.0)])
    return float(r @ W @ r)


class _LogFactorFit:
    r"""Least-squares fits of the per-temperature means of s and log s by the moments of the density of states
    :math:`v(u) \propto u^{\lambda - 1} (\log(1/u) + c)^{m-1}`, m = 1..4, for many data sets at once: the model's
    moments are tabulated on a grid of (lambda, c) once, and chi2 is a quadratic form in the data, so each data set
    costs one matrix product; the grid minimum is refined by a parabola in log lambda."""

    def __init__(self, logt: np.ndarray, W: np.ndarray, lam_grid: np.ndarray) -> None:
        from scipy.special import psi

        lo, hi = _LOG_SCALE_BOUNDS
        self.logt, self.W, self.lam_grid = logt, W, lam_grid
        self.c_grid = np.linspace(lo, hi, 51)
        self.tables = []
        for m in range(1, _MAX_M + 1):
            cg = np.zeros(1) if m == 1 else self.c_grid
            x = logt[None, None, :] + cg[None, :, None]
            lam = lam_grid[:, None, None]
            ey, eg, q0 = _log_factor_moments(m, lam, x)
            ey, eg = np.broadcast_to(ey, (len(lam_grid), len(cg), len(logt))), np.broadcast_to(
                eg, (len(lam_grid), len(cg), len(logt)))
            bad = ~np.isfinite(ey) | ~np.isfinite(eg)
            if m > 1:
                bad = bad | (q0 <= 0) | (x - psi(lam) <= 1.0)
            bad = np.any(bad, axis=-1)
            ey, eg = np.where(bad[..., None], 0.0, ey), np.where(bad[..., None], 0.0, eg)
            e = np.concatenate([ey, eg], axis=-1).reshape(-1, 2 * len(logt))  # (cells, 2T)
            lin = e @ W
            quad = np.where(bad.reshape(-1), np.inf, np.sum(e * lin, axis=1))
            pen = np.broadcast_to(_log_scale_penalty(m, cg)[None, :], bad.shape).reshape(-1)
            self.tables.append((cg, lin, quad, pen))

    def fit(self, Y: np.ndarray, G: np.ndarray) -> np.ndarray:
        """Best (criterion, chi2, lambda, c) for every m and data set: Y, G (B, T) -> (B, 4, 4)."""
        W = self.W
        T = len(self.logt)
        G = np.where(np.diag(W)[T:] > 0, G, 0.0)
        D = np.concatenate([Y, G], axis=1)  # (B, 2T)
        dwd = np.einsum("bi,ij,bj->b", D, W, D)
        out = np.empty((len(Y), _MAX_M, 4))
        nl = len(self.lam_grid)
        log_lam = np.log(self.lam_grid)
        for k, (cg, lin, quad, pen) in enumerate(self.tables):
            chi2 = dwd[:, None] - 2 * D @ lin.T + quad[None, :]  # (B, cells)
            crit = chi2 + pen[None, :]
            best = np.argmin(crit, axis=1)
            i, j = np.unravel_index(best, (nl, len(cg)))
            lam = self.lam_grid[i].copy()
            ok = (i > 0) & (i < nl - 1)
            rows = np.arange(len(Y))
            # a parabola through the criterion at the neighbouring grid values of log lambda
            cm = crit[rows, np.ravel_multi_index((np.clip(i - 1, 0, nl - 1), j), (nl, len(cg)))]
            c0 = crit[rows, best]
            cp = crit[rows, np.ravel_multi_index((np.clip(i + 1, 0, nl - 1), j), (nl, len(cg)))]
            denom = cm - 2 * c0 + cp
            good = ok & np.isfinite(denom) & (denom > 0)
            h = log_lam[1] - log_lam[0]
            shift = np.clip(np.where(good, 0.5 * (cm - cp) / np.where(good, denom, 1.0), 0.0), -1, 1)
            lam = np.where(good, np.exp(log_lam[i] + h * shift), lam)
            cbest = np.where(good, c0 - 0.5 * denom * shift * shift, c0)
            out[:, k, 0], out[:, k, 2], out[:, k, 3] = cbest, lam, cg[j]
            out[:, k, 1] = cbest - pen[best]
        return out

    def refine(self, m: int, start: tuple[float, float], ybar: np.ndarray, gbar: np.ndarray
               ) -> tuple[float, float, float, float]:
        """(criterion, chi2, lambda, c) refined by Nelder-Mead from a grid fit, for one data set."""
        from scipy.optimize import minimize

        lo, hi = _LOG_SCALE_BOUNDS

        def f(p: np.ndarray) -> float:
            ch = float(p[1]) if m > 1 else 0.0
            if not lo <= ch <= hi:
                return math.inf
            return _chi2_point(m, math.exp(p[0]), ch, self.logt, ybar, gbar, self.W) + float(
                _log_scale_penalty(m, ch))

        x0 = [math.log(start[0]), start[1]]
        r = minimize(f, x0, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 600})
        p = r.x if r.fun <= f(np.array(x0)) else np.array(x0)
        ch = float(p[1]) if m > 1 else 0.0
        lam = math.exp(p[0])
        chi2 = _chi2_point(m, lam, ch, self.logt, ybar, gbar, self.W)
        return chi2 + float(_log_scale_penalty(m, ch)), chi2, lam, ch


def _fit_lambda(m: int, chat: float, logt: np.ndarray, ybar: np.ndarray, gbar: np.ndarray, W: np.ndarray,
                start: float) -> float:
    """lambda minimising chi2 for one data set with m and c held fixed."""
    from scipy.optimize import minimize_scalar

    r = minimize_scalar(lambda v: _chi2_point(m, math.exp(v), chat, logt, ybar, gbar, W),
                        bounds=(math.log(start) - 3, math.log(start) + 3), method="bounded", options={"xatol": 1e-7})
    return math.exp(r.x)


def _curve_statistics(s: np.ndarray, log_ok: np.ndarray, n_batches: int = 10, shrink: float = 0.5
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Means of s and log s at each temperature (over all draws), their standard errors, and the inverse covariance
    W (2T, 2T) of the stacked means (s, then log s; zero rows and columns where log s is not used).

    The covariance comes from batch means (``n_batches`` per chain; they carry the correlation between temperatures
    that the swaps create), its correlations shrunk by ``shrink`` toward zero; each variance is the larger of the
    batch-means one and the spread of the chain means (which sees slow modes the batches miss), the latter smoothed
    over temperatures by a straight line in log t."""
    C, S, T = s.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(log_ok[None, None, :], np.log(np.where(s > 0, s, 1.0)), 0.0)
    ybar, gbar = s.mean(axis=(0, 1)), logs.mean(axis=(0, 1))
    B = max(2, min(n_batches, S // 5))
    size = S // B
    stacked = np.concatenate([s, logs], axis=2)[:, : B * size]  # (C, B*size, 2T)
    batch = stacked.reshape(C, B, size, 2 * T).mean(axis=2).reshape(C * B, 2 * T)
    cov = np.atleast_2d(np.cov(batch, rowvar=False)) / (C * B)
    var_chain = stacked.mean(axis=1).var(axis=0, ddof=1) / C if C > 1 else np.zeros(2 * T)
    idx = np.concatenate([np.arange(T), T + np.flatnonzero(log_ok)])
    var = np.diag(cov).copy()
    ratio = np.full(2 * T, np.nan)
    ok = var > 0
    ratio[ok] = var_chain[ok] / var[ok]
    logt_proxy = np.concatenate([np.arange(T), np.arange(T)]).astype(float)
    sel = np.isin(np.arange(2 * T), idx) & np.isfinite(ratio) & (ratio > 0)
    if sel.sum() >= 3:
        a, b = np.polyfit(logt_proxy[sel], np.log(ratio[sel]), 1)
        factor = np.maximum(np.exp(a * logt_proxy + b), 1.0)
    else:
        factor = np.ones(2 * T)
    var = var * factor
    sd = np.sqrt(np.maximum(var, 1e-300))
    corr = cov / np.outer(np.sqrt(np.maximum(np.diag(cov), 1e-300)), np.sqrt(np.maximum(np.diag(cov), 1e-300)))
    corr = (1 - shrink) * corr + shrink * np.eye(2 * T)
    sub = (corr * np.outer(sd, sd))[np.ix_(idx, idx)]
    W = np.zeros((2 * T, 2 * T))
    W[np.ix_(idx, idx)] = np.linalg.pinv(sub, hermitian=True)
    return ybar, gbar, sd, W


def local_learning_coefficient(model: Any, w_star: Any, rng: np.random.Generator | int | None = None,
                               beta: Any = None, gamma: float = 1.0, n_chains: int | None = None,
                               n_draws: int | None = None, n_tune: int | None = None, n_leapfrog: int = 10,
                               method: str | None = None, t_range: tuple[float, float] = (1.0, 1e12),
                               t_fit: float = 2.0e4, log_t_step: float = 1.0, n_bootstrap: int = 200,
                               progress: bool = False) -> LLCResult:
    r"""The local learning coefficient :math:`\lambda(w^*)` and its multiplicity :math:`m`, from the localised
    posterior at a ladder of temperatures.

    With :math:`t = n\beta`, :math:`s = t\,(L_n(w) - L_n(w^*))` and the localised tempered posterior
    :math:`p_t(w) \propto \exp(-n\beta L_n(w) - \tfrac{\gamma}{2}\|w - w^*\|^2)`, the law of :math:`s` at large
    :math:`t` follows from the density of states :math:`v(u) \propto u^{\lambda-1}(\log(1/u) + c)^{m-1}` of the loss
    near :math:`w^*` (Watanabe 2009: :math:`-\lambda` is the largest pole of the zeta function
    :math:`\int K(w)^z \varphi(w)\,dw` and m its order):

    .. math::  p_t(s) \propto s^{\lambda-1} e^{-s} (\log t + c - \log s)^{m-1},
               \qquad E_t[s] = \lambda - \frac{m-1}{\log t + c - \psi(\lambda)} + \dots

    The single-temperature estimator (:func:`wbic_llc`; Lau et al. 2023, after Watanabe 2013) reads off
    :math:`E_t[s]` at :math:`t = n/\log n` and so carries the :math:`-(m-1)/\log t` term and the power-law terms of
    the next poles. Here the posterior is sampled at inverse temperatures with :math:`t` from ``t_range[0]`` to
    ``t_range[1]``, ``log_t_step`` apart in :math:`\log t` (:math:`\beta > 1` is allowed and needed), by
    replica-exchange HMC: ``n_chains`` independent ladders, each started by cooling chains from :math:`w^*` through
    the ladder, neighbouring temperatures swapping states, step sizes tuned per temperature and then multiplied at
    each transition by a random factor :math:`e^U`, :math:`U \sim U(-3, 0.7)`, so that chains also enter the narrow
    necks of singular posteriors. A model that declares ``scaling_symmetries`` (exponent vectors e such that
    ``log_lik`` is unchanged by :math:`w \mapsto w \odot e^{u e}`, as :class:`PopulationRRR` and
    :class:`ReducedRankRegression` do for the rescaling of each hidden unit) also gets one Metropolis-Hastings move
    along each of them after every transition (the Jacobian :math:`e^{u \sum_j e_j}` in its acceptance), which
    carries chains between the arms of the singular set at every scale. The means of :math:`s` and of
    :math:`\log s` at the temperatures with
    :math:`t \ge` ``t_fit`` are fitted, for each :math:`m = 1, \dots, 4`, by the exact moments of the law above
    (closed forms in polygamma functions) with :math:`\lambda` and :math:`c` free, by generalised least squares
    (covariance of the means from batch means, correlations between temperatures included). The mean of
    :math:`\log s` carries most of the information when :math:`\lambda` is small: its Fisher information for the
    Gamma shape is :math:`\psi'(\lambda) \approx \lambda^{-2}`, against :math:`\lambda^{-1}` for the mean of s.

    The multiplicity is the m with the smallest criterion :math:`\chi^2_m + ((c - 0.5)/1.5)^2 + 2` (m > 1;
    :math:`\chi^2_1` for m = 1): 2 for the extra parameter (Akaike) and a prior on :math:`c \in [-5, 5]`. The prior
    is what makes m identifiable at all: over a finite range of :math:`\log t`, :math:`(m - 1)/(\log t + c)` with a
    large c mimics a smaller m. On the validation family (normal crossings and reduced-rank regression with
    :math:`\gamma = 1`, :func:`~nncompress.phases.llc_validation_table`) the constant is
    :math:`c = \log a + O(1)` with :math:`a` the scale of the loss in normal-crossing coordinates, and the fitted
    values lie in [-2, 2.5]; rescaling the loss by :math:`a` shifts c by :math:`\log a`, and a wider localiser
    raises it, so keep the loss per unit parameter change and :math:`\gamma` of order one, as in those models.

    Parameters
    ----------
    model
        A target with ``dim``, ``n`` and ``log_lik(theta, check)`` returning values (P,) and gradients (P, D) of
        :math:`-nL_n` up to a constant, e.g. :class:`LinearRegression`, :class:`PopulationRRR`,
        :class:`PopulationTarget`, :class:`~nncompress.phases.known_models.NormalCrossing`.
    w_star : array_like, shape (D,)
        The parameter: a true parameter (population loss) or a minimum of :math:`L_n`.
    rng : Generator, int or None
    beta : float or array_like, optional
        A float selects the single-temperature estimator at that :math:`\beta` (``method="wbic"``) unless
        ``method="tempered"`` is given; an array is the ladder of inverse temperatures for ``"tempered"`` (default:
        :math:`t = n\beta` from ``t_range``).
    gamma : float, default 1
        Strength of the localising Gaussian.
    n_chains, n_draws, n_tune : int, optional
        Independent ladders (chains), draws and tuning transitions per chain and temperature; defaults 8, 4000, 3000
        (``"tempered"``) or 8, 400, 300 (``"wbic"``).
    n_leapfrog : int, default 10
        Mean number of leapfrog steps per HMC transition.
    method : {"tempered", "wbic"}, optional
        Default ``"tempered"``, or ``"wbic"`` when a float ``beta`` is given.
    t_range : (float, float), default (1, 1e12)
        Smallest and largest :math:`t = n\beta` of the ladder. The hot end only helps the cold chains mix.
    t_fit : float, default 2e4
        Temperatures with :math:`t \ge` ``t_fit`` are fitted (at smaller t the next poles of the zeta function, terms
        :math:`t^{-\delta}` with :math:`\delta` as small as 1/4 in the validation family, still matter).
    log_t_step : float, default 1
        Spacing of the ladder in :math:`\log t`.
    n_bootstrap : int, default 200
        Bootstrap resamples of the ladders for ``std_error`` and ``multiplicity_bootstrap``.
    progress : bool, default False
        Show a tqdm bar.

    Returns
    -------
    LLCResult
        ``estimate`` (:math:`\hat\lambda` at the chosen m), ``multiplicity``, ``multiplicity_weights`` (criterion
        weights of m = 1..4), ``multiplicity_bootstrap``, ``std_error`` (bootstrap over ladders, m chosen afresh),
        ``per_chain``, ``rhat``, ``valid`` and ``flag``, and the per-temperature ``curve``. ``flag`` also warns when
        the chosen m has weight below 0.8, the fit is poor or R-hat exceeds 1.05.

    Notes
    -----
    Validated (:func:`~nncompress.phases.llc_validation_table`) on population losses with the true
    parameter as ``w_star`` (normal crossings :math:`\prod_j w_j^{2k_j}`, reduced-rank regression through
    :class:`PopulationRRR` against Aoyagi and Watanabe's (2005) :math:`\lambda`) and on linear regression at its
    least-squares estimate (an empirical loss, exactly quadratic). With the empirical loss :math:`L_n` of a singular
    model the temperatures with :math:`t \gtrsim n` see the model fit its noise: around a minimiser of :math:`L_n`
    the loss is regular in the directions the noise breaks, and the fit returns that geometry rather than the
    singularity of K; use the population loss (as :class:`PopulationRRR` and :class:`PopulationTarget` do). Where
    ``log_lik`` carries a large constant, the mean of :math:`\log s` is dropped at the temperatures where rounding
    (:math:`4\epsilon\beta|\log L(w^*)|`) could reach the smallest draws of s.

    The cost is ``n_chains`` x (number of temperatures, 28 by default) x (``n_tune`` + ``n_draws`` + 100) x
    ``n_leapfrog`` evaluations of ``log_lik`` for one parameter (vectorised over all rows at once). With the
    defaults :math:`\lambda` is within a few per cent on the validation family, and m was right on every normal
    crossing we ran. Over the default ladder the data separate neighbouring multiplicities by little (for
    reduced-rank regression (M, N, H, r) = (3, 3, 1, 0), where :math:`K = \tfrac12 |a|^2 |b|^2` and m = 2, a fit of
    the exact means, computed by quadrature, separates m = 2 from m = 3 by a :math:`\chi^2` of about 3; the rest of
    the margin comes from the prior on c), so a small excess of s at the coldest temperatures tips the choice. Without
    the scale moves the chains under-visit the deepest part of that model's singular set (:math:`|a|` near 1e-6 with
    :math:`|b|` of order one) and m = 3 was chosen in 4 of 12 runs (seeds 0-11); with them, in 1 of 36 runs
    (seeds 0-35; 1 of 24 also with twice the draws, and with the ladder extended to :math:`t = 10^{16}`), always
    with :math:`\hat\lambda` near 1.54. So even with declared symmetries treat m as a measurement to check (its
    weight, its bootstrap frequency), not as a certainty. Each scale move costs one evaluation of ``log_lik``. For
    :math:`\lambda` alone far fewer draws suffice (e.g. ``n_draws=1000, n_tune=500,
    log_t_step=2``).

    Examples
    --------
    The normal crossing :math:`f(x; w) = w_1 w_2^2 x` has :math:`\lambda = 1/4` with m = 1 (shorter ladders than the
    defaults, for speed):

    >>> import numpy as np
    >>> from nncompress.phases import NormalCrossing, local_learning_coefficient
    >>> model = NormalCrossing((1, 2), n=1000)
    >>> result = local_learning_coefficient(model, np.zeros(model.dim), rng=1, n_draws=1000, n_tune=500,
    ...                                     log_t_step=2.0, n_bootstrap=20)
    >>> round(result.estimate, 2), result.multiplicity
    (0.25, 1)
    """
    w_star = _check_model(model, w_star)
    scalar_beta = beta is not None and np.ndim(beta) == 0
    if method is None:
        method = "wbic" if scalar_beta else "tempered"
    if method not in ("tempered", "wbic"):
        raise ValueError(f"method must be 'tempered' or 'wbic', got {method!r}")
    if method == "wbic":
        if beta is not None and not scalar_beta:
            raise ValueError("method='wbic' takes a single beta (a float)")
        return wbic_llc(model, w_star, rng, beta=beta, gamma=gamma, n_chains=8 if n_chains is None else n_chains,
                        n_draws=400 if n_draws is None else n_draws, n_tune=300 if n_tune is None else n_tune,
                        n_leapfrog=n_leapfrog)
    gamma = check_tolerance(gamma, "gamma")
    n_chains = check_size(8 if n_chains is None else n_chains, "n_chains", minimum=2)
    n_draws = check_size(4000 if n_draws is None else n_draws, "n_draws", minimum=10)
    n_tune = check_size(3000 if n_tune is None else n_tune, "n_tune", minimum=1)
    n_leapfrog = check_size(n_leapfrog, "n_leapfrog", minimum=1)
    n_bootstrap = check_size(n_bootstrap, "n_bootstrap")
    t_fit = check_positive(t_fit, "t_fit")
    if beta is not None:
        betas = np.sort(as_float_array(beta, "beta", ndim=1))
        if len(betas) < 3 or np.any(betas <= 0):
            raise ValueError("beta must be at least three inverse temperatures > 0 for method='tempered'")
    else:
        t_lo, t_hi = (check_positive(v, "t_range") for v in t_range)
        if not t_lo < t_fit < t_hi:
            raise ValueError(f"need t_range[0] < t_fit < t_range[1], got {t_range} and t_fit = {t_fit}")
        step = check_positive(log_t_step, "log_t_step")
        logt = np.arange(math.log(t_hi), math.log(t_lo) - 1e-9, -step)[::-1]
        betas = np.exp(logt) / model.n
    rng = as_rng(rng)
    logt = np.log(betas * model.n)
    T = len(betas)
    in_fit = logt >= math.log(t_fit) - 1e-9
    if in_fit.sum() < 3:
        raise ValueError("fewer than three temperatures with t >= t_fit: widen t_range or lower t_fit")
    run = _ladder_hmc(model, w_star, betas, n_chains, n_draws, n_tune, n_leapfrog, gamma, rng, progress=progress)
    ll_star = float(model.log_lik(w_star[None], check=False)[0][0])
    lls = run["log_lik"]  # (C, S, T)
    s = betas * (ll_star - lls)
    floor = betas * 4 * np.finfo(float).eps * abs(ll_star)
    log_ok = (s.min(axis=(0, 1)) > 10 * floor) & np.all(s > 0, axis=(0, 1))
    ybar, gbar, sd, _ = _curve_statistics(s, log_ok)
    _, _, _, W = _curve_statistics(s[:, :, in_fit], log_ok[in_fit])
    lt, yf, gf = logt[in_fit], ybar[in_fit], gbar[in_fit]
    y_top = float(np.max(yf))
    curve = {"nbeta": betas * model.n, "mean": ybar, "se": sd[:T], "log_mean": np.where(log_ok, gbar, np.nan),
             "log_se": np.where(log_ok, sd[T:], np.nan), "in_fit": in_fit}
    accept = float(run["accept"][in_fit].mean())
    divergences = int(run["divergences"].sum())
    rhat = max(_rhat(lls[:, :, j]) for j in np.flatnonzero(in_fit))
    common = dict(beta=float(betas[in_fit].max()), gamma=gamma, accept=accept, divergences=divergences,
                  log_lik_trace=lls, rhat=rhat, method="tempered", betas=betas, dim=model.dim)
    if not (y_top > 0 and np.all(np.isfinite(yf))):
        curve["fitted"] = np.full(T, np.nan)
        return LLCResult(math.nan, np.full(n_chains, np.nan), math.nan, valid=False,
                         flag="the loss at the draws is not above the loss at w_star: w_star is not a minimum",
                         raw_estimate=float(np.mean(yf)), curve=curve, **common)
    lam_grid = np.geomspace(max(0.3 * float(np.min(yf[yf > 0])), 1e-3), 3.0 * y_top + 0.1, 301)
    fitter = _LogFactorFit(lt, W, lam_grid)
    grid = fitter.fit(yf[None], gf[None])[0]
    fits = [fitter.refine(m, (grid[m - 1, 2], grid[m - 1, 3]), yf, gf) if np.isfinite(grid[m - 1, 0])
            else tuple(grid[m - 1]) for m in range(1, _MAX_M + 1)]
    crit = np.array([f[0] for f in fits])
    weights = np.exp(-0.5 * (crit - crit.min()))
    weights /= weights.sum()
    m_hat = int(np.argmin(crit)) + 1
    _, chi2, lam_hat, c_hat = fits[m_hat - 1]
    n_stats = int(in_fit.sum() + log_ok[in_fit].sum())
    fit_chi2 = chi2 / max(n_stats - (1 if m_hat == 1 else 2), 1)
    # per ladder, and a bootstrap over ladders (the multiplicity chosen afresh each time)
    s_fit = s[:, :, in_fit]
    mean_s = s_fit.mean(axis=1)
    with np.errstate(divide="ignore"):
        mean_g = np.where(log_ok[None, in_fit], np.log(np.where(s_fit > 0, s_fit, 1.0)).mean(axis=1), 0.0)
    boot_freq, se = None, math.nan
    if n_bootstrap:
        idx = rng.integers(n_chains, size=(n_bootstrap, n_chains))
        boot = fitter.fit(mean_s[idx].mean(axis=1), mean_g[idx].mean(axis=1))  # (B, 4, 4)
        k = np.argmin(boot[:, :, 0], axis=1)
        boot_freq = np.bincount(k, minlength=_MAX_M)[:_MAX_M] / n_bootstrap
        if n_bootstrap > 1:
            se = float(np.std(boot[np.arange(n_bootstrap), k, 2], ddof=1))
    per_chain = np.array([_fit_lambda(m_hat, c_hat, lt, mean_s[c], mean_g[c], W, lam_hat) for c in range(n_chains)])
    curve["fitted"] = _log_factor_moments(m_hat, np.float64(lam_hat), logt + c_hat)[0]
    valid, flag = _sanity(lam_hat, se, model.dim)
    if valid:
        notes = [flag] if flag else []
        if weights[m_hat - 1] < _MULTIPLICITY_CONFIDENT:
            notes.append(f"multiplicity uncertain (weight {weights[m_hat - 1]:.2f} for m = {m_hat})")
        if fit_chi2 > 3:
            notes.append(f"poor fit (chi2 per degree of freedom {fit_chi2:.1f})")
        if rhat > 1.05:
            notes.append(f"chains disagree (R-hat {rhat:.3f})")
        flag = "; ".join(notes)
    return LLCResult(lam_hat if valid else math.nan, per_chain, se, multiplicity=m_hat, multiplicity_weights=weights,
                     multiplicity_bootstrap=boot_freq, valid=valid, flag=flag, raw_estimate=lam_hat,
                     log_scale=c_hat if m_hat > 1 else math.nan, fit_chi2=float(fit_chi2), curve=curve, **common)
