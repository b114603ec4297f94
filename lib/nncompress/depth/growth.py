r"""Exponential or polynomial? Model comparison for a cost measured against n over several seeds.

Two two-parameter models for a positive cost y(n), fitted by least squares on :math:`\log_2 y`:

* exponential, :math:`\log_2 y = a + b\,n` (:math:`y = 2^{a + bn}`);
* polynomial, :math:`\log_2 y = a + k \log_2 n` (:math:`y = 2^a n^k`).

Both have two parameters, so Akaike's criterion reduces to the residual sums of squares:
:math:`\Delta\mathrm{AIC} = N \ln(\mathrm{RSS}_{poly} / \mathrm{RSS}_{exp})` (positive favours the exponential), and
the Akaike weight of the exponential is :math:`1 / (1 + e^{-\Delta/2})`. Held-out comparison: fit on all but the
largest n values and score the prediction of the held-out ones (extrapolation is what tells the two apart).
Uncertainty: a bootstrap that resamples the seeds within each n.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size

__all__ = ["MODELS", "compare_growth", "fit_model"]

#: The two models, by name: the regressor as a function of n.
MODELS = {"exponential": lambda n: n, "polynomial": lambda n: np.log2(n)}


def _check(n: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    n = as_float_array(n, "n", ndim=1)
    y = as_float_array(y, "y", shape=n.shape)
    if np.any(n <= 0) or np.any(y <= 0):
        raise ValueError("n and y must be > 0 (the fits are on log scales)")
    if len(np.unique(n)) < 3:
        raise ValueError(f"n must take at least 3 distinct values, got {len(np.unique(n))}")
    return n, y


def fit_model(n: Any, y: Any, model: str) -> tuple[float, float, float]:
    """Least-squares fit of ``model`` (``"exponential"`` or ``"polynomial"``) to ``log2 y``: ``(a, slope, rss)``,
    the slope being b (per unit of n) or k (the degree)."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    n, y = _check(n, y)
    z = MODELS[model](n)
    slope, a = np.polyfit(z, np.log2(y), 1)
    rss = float(np.sum((np.log2(y) - (a + slope * z)) ** 2))
    return float(a), float(slope), rss


def _delta_aic(n: np.ndarray, y: np.ndarray) -> float:
    rss_e, rss_p = fit_model(n, y, "exponential")[2], fit_model(n, y, "polynomial")[2]
    tiny = 1e-300
    return float(len(n) * np.log((rss_p + tiny) / (rss_e + tiny)))


def _holdout(n: np.ndarray, y: np.ndarray, held: int) -> tuple[float, float]:
    """Mean squared log2-error on the ``held`` largest n values of fits made on the rest."""
    levels = np.unique(n)
    test = n >= levels[-held]
    out = []
    for model, f in MODELS.items():
        a, s, _ = fit_model(n[~test], y[~test], model)
        out.append(float(np.mean((np.log2(y[test]) - (a + s * f(n[test]))) ** 2)))
    return out[0], out[1]


def compare_growth(n: Any, y: Any, *, held: int = 2, boot: int = 2000,
                   rng: np.random.Generator | int | None = None) -> dict[str, Any]:
    r"""Compare the exponential and polynomial models on the points ``(n, y)`` (several seeds per n allowed).

    Returns a dict with, for each model, the fitted ``a``, slope and RSS on all points, its bootstrap 95% interval
    for the slope; ``delta_aic`` (positive favours the exponential) and ``weight_exponential``; ``holdout_mse``
    for each model (fitted on all but the ``held`` largest n, scored on those); and the bootstrap shares
    ``boot_exponential_aic`` (replicates whose AIC favours the exponential) and ``boot_exponential_holdout``
    (replicates where it extrapolates better). The bootstrap resamples the points within each n value with
    replacement, ``boot`` times."""
    n, y = _check(n, y)
    held = check_size(held, "held", minimum=1)
    boot = check_size(boot, "boot", minimum=1)
    levels = np.unique(n)
    if len(levels) - held < 3:
        raise ValueError(f"held must leave at least 3 n values to fit on, got held={held} of {len(levels)}")
    rng = as_rng(rng)
    out: dict[str, Any] = {"points": len(n), "n_values": len(levels)}
    for model in MODELS:
        a, s, rss = fit_model(n, y, model)
        out[model] = {"a": a, "slope": s, "rss": rss}
    out["delta_aic"] = _delta_aic(n, y)
    out["weight_exponential"] = float(1.0 / (1.0 + np.exp(-out["delta_aic"] / 2)))
    he, hp = _holdout(n, y, held)
    out["holdout_mse"] = {"exponential": he, "polynomial": hp}
    groups = [np.flatnonzero(n == v) for v in levels]
    slopes = {m: [] for m in MODELS}
    aic_wins = hold_wins = 0
    for _ in range(boot):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
        nb, yb = n[idx], y[idx]
        for model in MODELS:
            slopes[model].append(fit_model(nb, yb, model)[1])
        aic_wins += _delta_aic(nb, yb) > 0
        he_b, hp_b = _holdout(nb, yb, held)
        hold_wins += he_b < hp_b
    for model in MODELS:
        out[model]["slope_ci"] = tuple(float(q) for q in np.quantile(slopes[model], [0.025, 0.975]))
    out["boot_exponential_aic"] = aic_wins / boot
    out["boot_exponential_holdout"] = hold_wins / boot
    return out
