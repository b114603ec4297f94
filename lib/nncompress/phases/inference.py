r"""Posterior draws as arviz ``InferenceData``, with diagnostics on quantities that do not depend on node order.

Under label switching (the permutation symmetry of Carroll 2023, DSLT3) and the other symmetries, the raw parameters
of a two-layer ReLU network are multimodal by construction, so their R-hat says nothing about convergence. We add to
every posterior three label-invariant quantities (the first are DSLT4's effective gradients) and compute R-hat, ESS
and the divergence count on them:

* ``r_sorted`` (..., d): the effective gradients :math:`r_i = \| |q_i| w_i \|` in decreasing order;
* ``f_test`` (..., T): the network's output at fixed test points of the box;
* ``mse``: the training mean squared error :math:`\frac1n \sum_k (y_k - f(x_k, w))^2`.

:func:`sample_nuts` runs pymc's default NUTS (Hoffman and Gelman 2014) on :func:`~nncompress.phases.build_pymc_model`;
:func:`hmc_to_inference_data` and :func:`smc_to_inference_data` put the vectorised samplers of
``nncompress.phases.samplers`` into the same form (for SMC, each independent run is a "chain", as pymc's
``sample_smc`` does).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from .labelling import effective_gradients
from .model import RegressionData, ReluRegression, build_pymc_model, check_positive, predict, pymc_to_theta

__all__ = ["INVARIANTS", "invariant_draws", "to_inference_data", "hmc_to_inference_data", "smc_to_inference_data",
           "sample_nuts", "invariant_summary", "run_ess", "test_points"]

#: The label-invariant variables added to every posterior.
INVARIANTS = ("r_sorted", "f_test", "mse")


def test_points(low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Five fixed test points of the box :math:`[\\text{low}, \\text{high}]^2`: the centre and the centres of the four
    quadrants (shape (5, 2))."""
    m, h = 0.5 * (low + high), 0.25 * (high - low)
    return np.array([[m, m], [m - h, m - h], [m + h, m - h], [m - h, m + h], [m + h, m + h]])


def invariant_draws(theta: Any, model: ReluRegression, x_test: Any | None = None, chunk: int = 2000
                    ) -> dict[str, np.ndarray]:
    r"""Quantities that do not change when the nodes are permuted, for parameter vectors (P, D): a dict of arrays
    ``r_sorted`` (P, d), the effective gradients :math:`r_i = \| |q_i| w_i \|` in increasing order; ``f_test``
    (P, T), the function at the test inputs; and ``mse`` (P,), the training mean squared error."""
    if not isinstance(model, ReluRegression):
        raise TypeError(f"model must be a ReluRegression, got {type(model).__name__}")
    theta = as_float_array(theta, "theta", ndim=2)
    x_test = test_points() if x_test is None else as_float_array(x_test, "x_test", ndim=2)
    chunk = check_size(chunk, "chunk", minimum=1)
    ll = np.concatenate([model.log_lik(theta[i:i + chunk])[0] for i in range(0, len(theta), chunk)])
    s2 = model.noise_sd**2
    mse = -2 * s2 * (ll + 0.5 * model.n * math.log(2 * math.pi * s2)) / model.n
    return {"r_sorted": effective_gradients(theta, model.width, model.n_in),
            "f_test": predict(theta, x_test, model.width), "mse": mse}


def to_inference_data(draws: Any, model: ReluRegression, sample_stats: dict[str, Any] | None = None,
                      x_test: Any | None = None, attrs: dict[str, Any] | None = None) -> Any:
    """An ``arviz.InferenceData`` from draws (C, S, D): raw ``w``, ``b``, ``q``, ``c`` plus the invariants.

    Parameters
    ----------
    draws : array_like, shape (C, S, D)
        C chains (or runs) of S draws.
    model : ReluRegression
    sample_stats : dict of str to array (C, S), optional
        E.g. ``diverging``.
    x_test : array_like, shape (T, n_in), optional
        Default :func:`test_points`.
    attrs : dict, optional
        Stored on the posterior group (sampler name, time, ...).
    """
    import arviz as az

    draws = as_float_array(draws, "draws", ndim=3)
    C, S, D = draws.shape
    if D != model.dim:
        raise ValueError(f"draws must have shape (C, S, {model.dim}), got {draws.shape}")
    flat = draws.reshape(C * S, D)
    nodes = flat[:, :-1].reshape(C, S, model.width, model.n_in + 2)
    inv = invariant_draws(flat, model, x_test)
    post = {"w": nodes[..., :model.n_in], "b": nodes[..., model.n_in], "q": nodes[..., model.n_in + 1],
            "c": draws[..., -1]}
    post.update({k: v.reshape(C, S, *v.shape[1:]) for k, v in inv.items()})
    idata = az.from_dict(posterior=post, sample_stats=sample_stats or None,
                         dims={"w": ["node", "input"], "b": ["node"], "q": ["node"], "r_sorted": ["rank"],
                               "f_test": ["test_point"]})
    if attrs:
        idata.posterior.attrs.update(attrs)
    return idata


def hmc_to_inference_data(result: Any, model: ReluRegression, x_test: Any | None = None, **attrs: Any) -> Any:
    """:func:`to_inference_data` for a :class:`~nncompress.phases.HMCResult` (divergences are stored per chain as a
    count in the posterior attributes; the vectorised HMC does not record which draw diverged)."""
    attrs = dict(attrs, divergences=int(np.sum(result.divergences)), step_size=result.step_size.tolist())
    return to_inference_data(result.draws, model, x_test=x_test, attrs=attrs)


def smc_to_inference_data(result: Any, model: ReluRegression, beta: float | None = None, x_test: Any | None = None,
                          **attrs: Any) -> Any:
    """:func:`to_inference_data` for the population of a :class:`~nncompress.phases.SMCResult` at checkpoint ``beta``
    (the largest by default): run r is chain r."""
    beta = max(result.betas) if beta is None else float(beta)
    if beta not in result.particles:
        raise ValueError(f"beta must be one of the checkpoints {result.betas}, got {beta}")
    attrs = dict(attrs, divergences=int(result.divergences), beta=beta, n_stages=len(result.schedule) - 1)
    return to_inference_data(result.particles[beta], model, x_test=x_test, attrs=attrs)


def sample_nuts(data: RegressionData, width: int, rng: np.random.Generator | int | None = None, beta: float = 1.0,
                draws: int = 1000, tune: int = 1000, chains: int = 4, cores: int = 2, prior_sd: float = 1.0,
                target_accept: float = 0.8, x_test: Any | None = None, progressbar: bool = False) -> Any:
    """Sample the tempered posterior with pymc's default NUTS (``pm.sample``) and return ``InferenceData`` with the
    invariants added to the posterior group and the wall time in its attributes.

    Parameters
    ----------
    data : RegressionData
    width : int
    rng : Generator, int or None
        Seeds pymc (``random_seed`` is drawn from it).
    beta : float, default 1
        Inverse temperature on the likelihood (1: the posterior; :func:`~nncompress.phases.wbic_beta`: WBIC).
    draws, tune, chains, cores : int
    prior_sd, target_accept : float

    Raises
    ------
    TypeError
        If ``data`` is not a RegressionData.
    ValueError
        On non-positive sizes or temperatures.
    """
    import arviz as az
    import pymc as pm

    if not isinstance(data, RegressionData):
        raise TypeError(f"data must be a RegressionData, got {type(data).__name__}")
    draws, tune = check_size(draws, "draws", minimum=1), check_size(tune, "tune")
    chains, cores = check_size(chains, "chains", minimum=1), check_size(cores, "cores", minimum=1)
    beta = check_positive(beta, "beta")
    seed = int(as_rng(rng).integers(2**31 - 1))
    model = build_pymc_model(data, width, beta=beta, prior_sd=prior_sd)
    t0 = time.perf_counter()
    with model:
        idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed,
                          target_accept=target_accept, progressbar=progressbar, compute_convergence_checks=False)
    seconds = time.perf_counter() - t0
    post = idata.posterior
    theta = pymc_to_theta(post["w"].values, post["b"].values, post["q"].values, post["c"].values)
    reg = ReluRegression.from_data(data, width, prior_sd=prior_sd)
    inv = invariant_draws(theta, reg, x_test)
    C, S = post.sizes["chain"], post.sizes["draw"]
    extra = az.from_dict(posterior={k: v.reshape(C, S, *v.shape[1:]) for k, v in inv.items()},
                         dims={"r_sorted": ["rank"], "f_test": ["test_point"]})
    for k in INVARIANTS:
        post[k] = extra.posterior[k].assign_coords(chain=post.chain, draw=post.draw)
    post.attrs.update(sampler="pymc NUTS", seconds=seconds, beta=beta,
                      divergences=int(idata.sample_stats["diverging"].values.sum()))
    return idata


def invariant_summary(idata: Any, var_names: tuple[str, ...] = INVARIANTS) -> Any:
    """``arviz.summary`` (mean, sd, R-hat, bulk and tail ESS) of the label-invariant variables."""
    import arviz as az

    return az.summary(idata, var_names=list(var_names), kind="all", round_to="none")


def run_ess(values: Any) -> float:
    r"""Effective sample size from independent runs: for per-run estimates :math:`\bar g_r` (means over runs of
    P particles each, ``values`` of shape (R, P)), :math:`\text{ESS} = R \, \widehat{\operatorname{Var}}(g) /
    \widehat{\operatorname{Var}}_r(\bar g_r)`, the number of independent draws that would give the same Monte Carlo
    variance (capped at R P). Needs R >= 2."""
    values = as_float_array(values, "values", ndim=2)
    R, P = values.shape
    if R < 2:
        raise ValueError(f"values must have at least 2 runs (rows), got {R}")
    var_g = float(np.var(values, ddof=1))
    var_mean = float(np.var(values.mean(axis=1), ddof=1))
    if var_mean <= 0:
        return float(R * P)
    return float(min(R * var_g / var_mean, R * P))
