r"""Models whose learning coefficient :math:`\lambda` and multiplicity :math:`m` are known, and the table that checks
the estimators of ``nncompress.phases.learning_coefficient`` against them.

* Normal crossings (Watanabe 2009, the standard form after resolution of singularities): the regression
  :math:`y = g(w)\,x + N(0, 1)`, :math:`g(w) = \prod_j w_j^{k_j}`, :math:`x \sim N(0, 2)`, true parameter
  :math:`w^* = 0`, so that :math:`K(w) = \prod_j w_j^{2k_j}`; :math:`\lambda = \min_j 1/(2k_j)` and m is the number
  of j attaining the minimum (:class:`NormalCrossing`, :func:`normal_crossing_coefficient`).
* Regular models: linear regression at its least-squares estimate, :math:`\lambda = d/2`, m = 1.
* Reduced-rank regression through its population loss (:class:`~nncompress.phases.PopulationRRR`): Aoyagi and
  Watanabe's (2005) :math:`\lambda`; m where :func:`~nncompress.phases.rrr_multiplicity` gives it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from .learning_coefficient import (linear_data, local_learning_coefficient, rrr_learning_coefficient, rrr_multiplicity,
                                   rrr_population, wbic_llc)
from .model import check_positive

__all__ = ["NormalCrossing", "normal_crossing_coefficient", "NORMAL_CROSSINGS", "RRR_CASES", "llc_validation_table"]

#: Exponent vectors of the validation family: lambda from 1/2 down to 1/6, multiplicities 1, 2 and 3.
NORMAL_CROSSINGS: tuple[tuple[int, ...], ...] = ((1,), (1, 1), (1, 2), (2, 2), (1, 3), (3, 3), (1, 1, 1), (2, 2, 2))
#: Reduced-rank regression cases (M, N, H, r) of the validation table.
RRR_CASES: tuple[tuple[int, int, int, int], ...] = ((2, 2, 1, 0), (3, 2, 1, 0), (3, 3, 1, 0), (2, 2, 2, 2),
                                                    (2, 2, 2, 0), (3, 3, 3, 1), (4, 3, 3, 1))


def _check_exponents(exponents: Any) -> tuple[int, ...]:
    if isinstance(exponents, (int, np.integer)):
        exponents = (exponents,)
    ks = tuple(int(check_size(k, "exponents", minimum=1)) for k in exponents)
    if not ks:
        raise ValueError("exponents must be a non-empty sequence of integers >= 1")
    return ks


def normal_crossing_coefficient(exponents: Any) -> tuple[float, int]:
    r"""(:math:`\lambda`, m) of :math:`K(w) = \prod_j w_j^{2k_j}` at 0 with a prior positive there:
    :math:`\lambda = \min_j 1/(2k_j)` and m the number of j attaining it (Watanabe 2009, the poles of
    :math:`\int K^z \varphi\,dw = \prod_j \int w_j^{2k_j z} \varphi\,dw_j`)."""
    ks = _check_exponents(exponents)
    k_max = max(ks)
    return 1.0 / (2 * k_max), sum(k == k_max for k in ks)


class NormalCrossing:
    r"""The population loss of the normal-crossing regression :math:`y = x \prod_j w_j^{k_j} + N(0, 1)`,
    :math:`x \sim N(0, \sigma_x^2)`, at the true parameter :math:`w^* = 0`: ``log_lik`` returns :math:`-nK(w)` with
    :math:`K(w) = \tfrac{\sigma_x^2}{2} \prod_j w_j^{2k_j}` (:math:`\sigma_x^2 = 2` gives the monomial itself) and its
    gradient, the target protocol of ``nncompress.phases.samplers`` (flat ``log_prior``).

    Parameters
    ----------
    exponents : sequence of int
        :math:`k_1, \dots, k_d \ge 1`.
    n : int
        Sample size the loss is scaled to.
    input_var : float, default 2
        :math:`\sigma_x^2`.
    """

    def __init__(self, exponents: Any, n: int, input_var: float = 2.0) -> None:
        self.exponents = _check_exponents(exponents)
        self.k = np.array(self.exponents, dtype=float)
        self.dim, self.n = len(self.exponents), check_size(n, "n", minimum=2)
        self.input_var = check_positive(input_var, "input_var")
        self.learning_coefficient, self.multiplicity = normal_crossing_coefficient(self.exponents)

    def population_loss(self, theta: Any) -> np.ndarray:
        """K at each row of ``theta`` (P, d) -> (P,)."""
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2)))
        return 0.5 * self.input_var * np.prod(theta ** (2 * self.k), axis=1)

    def log_lik(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(as_float_array(theta, "theta", ndim=(1, 2), finite=check))
        if theta.shape[1] != self.dim:
            raise ValueError(f"theta must have {self.dim} columns, got shape {theta.shape}")
        powers = theta ** (2 * self.k)  # (P, d)
        # products of all factors but the j-th, by prefix and suffix products (no division by a zero coordinate)
        ones = np.ones((len(theta), 1))
        prefix = np.cumprod(np.concatenate([ones, powers[:, :-1]], axis=1), axis=1)
        suffix = np.cumprod(np.concatenate([ones, powers[:, :0:-1]], axis=1), axis=1)[:, ::-1]
        others = prefix * suffix
        scale = 0.5 * self.input_var * self.n
        K_n = scale * powers[:, 0] * others[:, 0]
        grad = scale * 2 * self.k * theta ** (2 * self.k - 1) * others
        return -K_n, -grad

    def log_prior(self, theta: Any, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
        theta = np.atleast_2d(np.asarray(theta, float))
        return np.zeros(len(theta)), np.zeros_like(theta)


def _row(model: str, kind: str, dim: int, lam: float, m: float, res: Any, wb: Any, seconds: float,
         wbic_seconds: float) -> dict[str, Any]:
    weights = res.multiplicity_weights
    boot = res.multiplicity_bootstrap
    m_hat = res.multiplicity
    return {"model": model, "kind": kind, "dim": dim, "true_lambda": lam, "true_m": m, "estimate": res.estimate,
            "std_error": res.std_error, "m_hat": m_hat,
            "m_weight": float(weights[m_hat - 1]) if weights is not None and m_hat else math.nan,
            "m_bootstrap": float(boot[m_hat - 1]) if boot is not None and m_hat else math.nan,
            "log_scale": res.log_scale, "fit_chi2": res.fit_chi2, "rhat": res.rhat, "valid": res.valid,
            "wbic_estimate": wb.estimate, "wbic_std_error": wb.std_error, "seconds": seconds,
            "wbic_seconds": wbic_seconds}


def llc_validation_table(rng: np.random.Generator | int | None = None, n: int = 1000,
                         crossings: Any = NORMAL_CROSSINGS, linear_dims: Any = (2, 6), rrr_cases: Any = RRR_CASES,
                         estimator_kw: dict[str, Any] | None = None, wbic_kw: dict[str, Any] | None = None,
                         progress: bool = False) -> Any:
    r"""Both estimators on the models with known :math:`(\lambda, m)` at sample size ``n``.

    Rows: each normal crossing of ``crossings`` (:class:`NormalCrossing`, population loss at :math:`w^* = 0`), linear
    regression of each dimension in ``linear_dims`` on ``n`` data points at its least-squares estimate, and
    reduced-rank regression (M, N, H, r) of ``rrr_cases`` through its population loss at a random true parameter
    (:func:`~nncompress.phases.rrr_population`; m only where
    :func:`~nncompress.phases.rrr_multiplicity` knows it). The same target is given to
    :func:`~nncompress.phases.local_learning_coefficient` (with ``estimator_kw``, default its recommended settings)
    and to the single-temperature :func:`~nncompress.phases.wbic_llc` (Lau et al. 2023; with
    ``wbic_kw``, default :math:`\beta = 1/\log n`, 8 chains of 400 draws).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``kind``, ``dim``, ``true_lambda``, ``true_m`` (NaN where not known), ``estimate``, ``std_error``,
        ``m_hat``, ``m_weight`` and ``m_bootstrap`` (criterion weight and bootstrap frequency of the chosen m),
        ``relative_error``, ``abs_error``, ``within_tolerance`` (10 %, or 0.03 where :math:`\lambda < 0.3`),
        ``m_correct``, ``wbic_estimate``, ``wbic_std_error``, ``wbic_relative_error``, ``log_scale``, ``fit_chi2``,
        ``rhat``, ``valid`` and the seconds each estimator took.
    """
    import pandas as pd

    rng = as_rng(rng)
    n = check_size(n, "n", minimum=2)
    est_kw = dict(estimator_kw or {})
    wb_kw = dict(wbic_kw or {})
    jobs: list[tuple[str, str, Any, np.ndarray, float, float]] = []
    for ks in crossings:
        nc = NormalCrossing(ks, n)
        jobs.append((f"normal crossing k = {tuple(nc.exponents)}", "normal crossing", nc, np.zeros(nc.dim),
                     nc.learning_coefficient, float(nc.multiplicity)))
    for d in linear_dims:
        lin = linear_data(int(d), n, rng)
        jobs.append((f"linear regression, d = {int(d)}", "regular", lin, lin.mle(), int(d) / 2, 1.0))
    for M, N, H, r in rrr_cases:
        model, w0 = rrr_population(M, N, H, r, n, rng)
        m_true = rrr_multiplicity(M, N, H, r)
        jobs.append((f"reduced rank (M, N, H, r) = ({M}, {N}, {H}, {r})", "reduced rank", model, w0,
                     rrr_learning_coefficient(M, N, H, r), math.nan if m_true is None else float(m_true)))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc="LLC validation")
    rows = []
    for name, kind, model, w0, lam, m in jobs:
        t0 = time.perf_counter()
        res = local_learning_coefficient(model, w0, rng, **est_kw)
        t1 = time.perf_counter()
        wb = wbic_llc(model, w0, rng, **wb_kw)
        t2 = time.perf_counter()
        rows.append(_row(name, kind, model.dim, lam, m, res, wb, t1 - t0, t2 - t1))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    df = pd.DataFrame(rows)
    df["relative_error"] = (df["estimate"] - df["true_lambda"]) / df["true_lambda"]
    df["abs_error"] = (df["estimate"] - df["true_lambda"]).abs()
    tol = np.where(df["true_lambda"] < 0.3, 0.03, 0.1 * df["true_lambda"])
    df["within_tolerance"] = df["abs_error"] <= tol
    df["m_correct"] = np.where(df["true_m"].isna(), np.nan, (df["m_hat"] == df["true_m"]).astype(float))
    df["wbic_relative_error"] = (df["wbic_estimate"] - df["true_lambda"]) / df["true_lambda"]
    cols = ["model", "kind", "dim", "true_lambda", "true_m", "estimate", "std_error", "m_hat", "m_weight",
            "m_bootstrap", "relative_error", "abs_error", "within_tolerance", "m_correct", "wbic_estimate",
            "wbic_std_error", "wbic_relative_error", "log_scale", "fit_chi2", "rhat", "valid", "seconds",
            "wbic_seconds"]
    return df[cols]
