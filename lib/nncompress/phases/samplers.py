r"""Vectorised samplers for the tempered posteriors of ``nncompress.phases.model``: Hamiltonian Monte Carlo over many
chains at once, and sequential Monte Carlo (SMC) with adaptive tempering, which carries posterior mass between phases.

A *target* is any object with ``dim`` and two methods returning values (P,) and gradients (P, D) for a batch of
parameters (P, D): ``log_prior`` and ``log_lik``. The tempered density at inverse temperature :math:`\lambda` is
:math:`\log \pi_\lambda = \log\varphi + \lambda \log L`.

* :func:`hmc` runs C chains of HMC (Duane et al. 1987; Neal 2011) with a per-chain step size tuned by dual averaging
  (Hoffman and Gelman 2014, Algorithm 5) to a target acceptance rate, and a jittered number of leapfrog steps.
* :func:`smc` moves a population from the prior (:math:`\lambda = 0`) to the target temperature through a sequence
  chosen adaptively so that each reweighting keeps the effective sample size at ``ess_target`` of the population
  (Del Moral, Doucet and Jasra 2006; the same scheme as pymc's ``sample_smc``), resampling systematically and
  rejuvenating with HMC moves. Because the weights move mass *between* modes, phase fractions of the final population
  are estimates of posterior mass, unlike the fractions of chains stuck in one mode. Several independent populations
  (``n_runs``) are carried side by side so that the spread between them is an honest error bar.
  The running product of the mean incremental weights estimates the marginal likelihood :math:`Z_\lambda`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy.special import logsumexp

from .._validation import as_float_array, as_rng, check_size
from .model import check_positive

__all__ = ["Target", "HMCResult", "hmc", "hmc_step", "SMCResult", "smc", "systematic_resample"]


class Target(Protocol):
    dim: int

    def log_prior(self, theta: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray]: ...

    def log_lik(self, theta: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray]: ...


def _check_target(target: Any) -> None:
    if not all(hasattr(target, name) for name in ("dim", "log_prior", "log_lik")):
        raise TypeError("target must have dim, log_prior(theta) and log_lik(theta)")


def _tempered(target: Target, theta: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lp, glp = target.log_prior(theta, check=False)
    ll, gll = target.log_lik(theta, check=False)
    return lp + lam * ll, glp + lam * gll, ll


def hmc_step(target: Target, theta: np.ndarray, logp: np.ndarray, grad: np.ndarray, ll: np.ndarray, lam: float,
              eps: np.ndarray, n_leapfrog: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    r"""One HMC transition (Neal 2011: leapfrog with identity mass, then a Metropolis test) for every row of ``theta``
    on :math:`\log\varphi + \lambda \log L`, each row with its own step size ``eps`` (P,). ``logp``, ``grad`` and
    ``ll`` are the tempered log density, its gradient and the untempered :math:`\log L` at ``theta``. Returns the new
    (theta, logp, grad, ll), the acceptance probabilities and a divergence flag (energy error above 1000) per row.
    The building block of :func:`hmc`, :func:`smc` and the tempered ladder of
    ``nncompress.phases.learning_coefficient``; it does no input checks."""
    p0 = rng.normal(size=theta.shape)
    th, g, p = theta, grad, p0 + 0.5 * eps[:, None] * grad
    with np.errstate(over="ignore", invalid="ignore"):  # divergent trajectories overflow; they are rejected below
        for k in range(n_leapfrog):
            th = th + eps[:, None] * p
            lp_new, g, ll_new = _tempered(target, th, lam)
            if k < n_leapfrog - 1:
                p = p + eps[:, None] * g
        p = p + 0.5 * eps[:, None] * g
        log_ratio = (lp_new - 0.5 * np.sum(p * p, axis=1)) - (logp - 0.5 * np.sum(p0 * p0, axis=1))
    log_ratio = np.where(np.isfinite(log_ratio), log_ratio, -np.inf)
    accept_prob = np.exp(np.minimum(log_ratio, 0.0))
    accept = rng.uniform(size=len(theta)) < accept_prob
    divergent = ~(log_ratio > -1000.0)
    new = [np.where(accept[:, None], th, theta), np.where(accept, lp_new, logp),
           np.where(accept[:, None], g, grad), np.where(accept, ll_new, ll)]
    return (*new, accept_prob, divergent)


@dataclass
class HMCResult:
    """Draws of :func:`hmc`.

    Attributes
    ----------
    draws : ndarray, shape (C, S, D)
    log_lik : ndarray, shape (C, S)
        :math:`\\log L(w)` (untempered) at each draw.
    accept : ndarray, shape (C,)
        Mean acceptance probability after tuning.
    divergences : ndarray of int, shape (C,)
        Transitions with an energy error above 1000 after tuning.
    step_size : ndarray, shape (C,)
    n_grad : int
        Gradient evaluations per chain.
    """

    draws: np.ndarray
    log_lik: np.ndarray
    accept: np.ndarray
    divergences: np.ndarray
    step_size: np.ndarray
    n_grad: int


def hmc(target: Target, init: Any, n_draws: int, rng: np.random.Generator | int | None = None, lam: float = 1.0,
        n_tune: int = 300, n_leapfrog: int = 10, target_accept: float = 0.8, step_size: float = 0.1) -> HMCResult:
    r"""C chains of HMC on :math:`\pi_\lambda`, vectorised over the chains.

    Parameters
    ----------
    target : Target
    init : array_like, shape (C, D)
        Starting points (one chain each).
    n_draws, n_tune : int
        Kept draws and tuning transitions per chain (step sizes adapted by dual averaging during tuning, then fixed).
    rng : Generator, int or None
    lam : float, default 1
        Inverse temperature :math:`\lambda > 0` of the likelihood.
    n_leapfrog : int, default 10
        Leapfrog steps per transition, jittered uniformly in [n_leapfrog / 2, 3 n_leapfrog / 2].
    target_accept : float, default 0.8
    step_size : float, default 0.1
        Initial step size.

    Returns
    -------
    HMCResult
    """
    _check_target(target)
    theta = as_float_array(init, "init", ndim=2)
    if theta.shape[1] != target.dim:
        raise ValueError(f"init must have shape (C, {target.dim}), got {theta.shape}")
    n_draws, n_tune = check_size(n_draws, "n_draws", minimum=1), check_size(n_tune, "n_tune")
    n_leapfrog = check_size(n_leapfrog, "n_leapfrog", minimum=1)
    lam, step_size = check_positive(lam, "lam"), check_positive(step_size, "step_size")
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must lie in (0, 1), got {target_accept}")
    rng = as_rng(rng)
    C = len(theta)
    logp, grad, ll = _tempered(target, theta, lam)
    # dual averaging (Hoffman and Gelman 2014, Algorithm 5) per chain
    log_eps = np.full(C, math.log(step_size))
    mu, h_bar, log_eps_bar = np.log(10 * np.exp(log_eps)), np.zeros(C), np.zeros(C)
    draws, lls = np.empty((C, n_draws, target.dim)), np.empty((C, n_draws))
    acc_sum, div = np.zeros(C), np.zeros(C, dtype=np.int64)
    n_grad = 0
    for t in range(n_tune + n_draws):
        eps = np.exp(log_eps if t < n_tune else log_eps_bar)
        L = int(rng.integers(max(1, n_leapfrog // 2), n_leapfrog + n_leapfrog // 2 + 1))
        theta, logp, grad, ll, a, d = hmc_step(target, theta, logp, grad, ll, lam, eps, L, rng)
        n_grad += L
        if t < n_tune:
            m = t + 1
            h_bar = (1 - 1 / (m + 10)) * h_bar + (target_accept - a) / (m + 10)
            log_eps = mu - math.sqrt(m) / 0.05 * h_bar
            eta = m**-0.75
            log_eps_bar = eta * log_eps + (1 - eta) * log_eps_bar
        else:
            s = t - n_tune
            draws[:, s], lls[:, s] = theta, ll
            acc_sum += a
            div += d
    return HMCResult(draws, lls, acc_sum / n_draws, div, np.exp(log_eps_bar), n_grad)


def systematic_resample(log_w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a systematic resample of the particles with log-weights ``log_w`` (P,)."""
    w = np.exp(log_w - logsumexp(log_w))
    P = len(w)
    positions = (rng.uniform() + np.arange(P)) / P
    return np.minimum(np.searchsorted(np.cumsum(w), positions), P - 1)


@dataclass
class SMCResult:
    r"""Output of :func:`smc`.

    Attributes
    ----------
    betas : list of float
        The checkpoints, in increasing order, at which the population was recorded.
    particles : dict of float to ndarray, shape (R, P, D)
        The equally weighted population of each run at each checkpoint.
    log_lik : dict of float to ndarray, shape (R, P)
        :math:`\log L(w)` of each particle.
    log_evidence : dict of float to ndarray, shape (R,)
        :math:`\log Z_\beta = \log \int \varphi(w) L(w)^\beta dw` estimated by each run.
    schedule : ndarray
        All inverse temperatures visited.
    accept : ndarray
        Mean HMC acceptance probability at each stage.
    n_grad : int
        Gradient evaluations per particle.
    divergences : int
        HMC transitions (over all particles) with an energy error above 1000.
    extra : dict
        ``stage_divergence_rate`` (per tempering stage) and ``final_divergence_rate`` (checkpoint -> rate over the
        final moves), fractions of transitions that diverged.
    """

    betas: list[float]
    particles: dict[float, np.ndarray]
    log_lik: dict[float, np.ndarray]
    log_evidence: dict[float, np.ndarray]
    schedule: np.ndarray
    accept: np.ndarray
    n_grad: int
    divergences: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return next(iter(self.particles.values())).shape[0]


def _next_lambda(ll: np.ndarray, lam: float, stop: float, ess_target: float) -> float:
    """The largest lambda' <= stop such that every run keeps ESS >= ess_target * P (bisection); ll is (R, P)."""

    def min_ess(lam_new: float) -> float:
        lw = (lam_new - lam) * ll
        lw = lw - lw.max(axis=1, keepdims=True)
        w = np.exp(lw)
        return float(np.min(w.sum(axis=1) ** 2 / (w * w).sum(axis=1)) / ll.shape[1])

    if min_ess(stop) >= ess_target:
        return stop
    lo, hi = lam, stop
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if min_ess(mid) >= ess_target else (lo, mid)
    return max(lo, lam + 1e-12 * max(1.0, stop))


def smc(target: Target, n_particles: int, betas: Any = (1.0,), rng: np.random.Generator | int | None = None,
        n_runs: int = 4, ess_target: float = 0.5, n_moves: int = 4, n_leapfrog: int = 10,
        target_accept: float = 0.75, init_step: float = 0.2, final_moves: int = 10,
        progress: bool = False) -> SMCResult:
    r"""Sequential Monte Carlo from the prior to :math:`\pi_\beta` for every checkpoint :math:`\beta` in ``betas``.

    Parameters
    ----------
    target : Target
        Must also have ``sample_prior(size, rng)``.
    n_particles : int
        P, particles per run.
    betas : sequence of float, default (1,)
        Inverse temperatures at which to record the population (e.g. ``(1 / log n, 1)``); each > 0.
    rng : Generator, int or None
    n_runs : int, default 4
        R independent populations, carried side by side (vectorised); the tempering schedule is common (chosen so
        that every run keeps its effective sample size), resampling and moves are per run.
    ess_target : float, default 0.5
        Effective sample size, as a fraction of P, kept by each reweighting.
    n_moves : int, default 4
        HMC transitions per stage.
    n_leapfrog : int, default 10
        Leapfrog steps per transition (jittered as in :func:`hmc`).
    target_accept : float, default 0.75
        Each particle's step size is multiplied by :math:`\exp(a - \text{target\_accept})` after each move, with
        ``a`` its acceptance probability; children inherit their parent's step size.
    init_step : float, default 0.2
    final_moves : int, default 10
        Extra HMC transitions at each checkpoint before the population is recorded (decorrelates the duplicates
        left by the last resampling).
    progress : bool, default False
        Show a tqdm bar of the inverse temperature.

    Returns
    -------
    SMCResult
    """
    _check_target(target)
    if not hasattr(target, "sample_prior"):
        raise TypeError("target must have sample_prior(size, rng) for smc")
    P, R = check_size(n_particles, "n_particles", minimum=2), check_size(n_runs, "n_runs", minimum=1)
    betas_arr = as_float_array(betas, "betas", ndim=1)
    if len(betas_arr) == 0 or np.any(betas_arr <= 0):
        raise ValueError(f"betas must be a non-empty list of inverse temperatures > 0, got {betas_arr}")
    if not 0 < ess_target < 1:
        raise ValueError(f"ess_target must lie in (0, 1), got {ess_target}")
    n_moves, n_leapfrog = check_size(n_moves, "n_moves", minimum=1), check_size(n_leapfrog, "n_leapfrog", minimum=1)
    final_moves = check_size(final_moves, "final_moves")
    target_accept = float(target_accept)
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must lie in (0, 1), got {target_accept}")
    init_step = check_positive(init_step, "init_step")
    rng = as_rng(rng)
    stops = sorted(set(float(b) for b in betas_arr))
    theta = target.sample_prior(R * P, rng)
    logp, grad, ll = _tempered(target, theta, 0.0)
    eps = np.full(R * P, float(init_step))
    lam, log_z = 0.0, np.zeros(R)
    schedule, accepts = [0.0], []
    out_p, out_ll, out_z = {}, {}, {}
    n_grad, n_div = 0, 0
    stage_div: list[float] = []
    final_div: dict[float, float] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=stops[-1], desc="SMC beta", leave=False)
    for stop in stops:
        while lam < stop:
            ll_r = ll.reshape(R, P)
            new = _next_lambda(ll_r, lam, stop, ess_target)
            log_w = (new - lam) * ll_r
            log_z += logsumexp(log_w, axis=1) - math.log(P)
            idx = np.concatenate([r * P + systematic_resample(log_w[r], rng) for r in range(R)])
            theta, ll, eps = theta[idx], ll[idx], eps[idx]
            if bar is not None:
                bar.update(new - lam)
            lam = new
            logp, grad, _ = _tempered(target, theta, lam)
            acc, div0 = [], n_div
            for _ in range(n_moves):
                L = int(rng.integers(max(1, n_leapfrog // 2), n_leapfrog + n_leapfrog // 2 + 1))
                jitter = rng.uniform(0.8, 1.2, size=len(eps))
                theta, logp, grad, ll, a, d = hmc_step(target, theta, logp, grad, ll, lam, eps * jitter, L, rng)
                eps = eps * np.exp(a - target_accept)
                acc.append(a.mean())
                n_grad += L
                n_div += int(d.sum())
            schedule.append(lam)
            accepts.append(float(np.mean(acc)))
            stage_div.append((n_div - div0) / (n_moves * len(theta)))
        div0 = n_div
        for _ in range(final_moves):
            L = int(rng.integers(max(1, n_leapfrog // 2), n_leapfrog + n_leapfrog // 2 + 1))
            jitter = rng.uniform(0.8, 1.2, size=len(eps))
            theta, logp, grad, ll, a, d = hmc_step(target, theta, logp, grad, ll, lam, eps * jitter, L, rng)
            eps = eps * np.exp(a - target_accept)
            n_grad += L
            n_div += int(d.sum())
        final_div[stop] = (n_div - div0) / max(1, final_moves * len(theta))
        out_p[stop] = theta.reshape(R, P, -1).copy()
        out_ll[stop] = ll.reshape(R, P).copy()
        out_z[stop] = log_z.copy()
    if bar is not None:
        bar.close()
    return SMCResult(stops, out_p, out_ll, out_z, np.array(schedule), np.array(accepts), n_grad, n_div,
                     {"stage_divergence_rate": np.array(stage_div), "final_divergence_rate": final_div})
