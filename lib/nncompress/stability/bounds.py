"""Interval bounds on pre-activations over an input box (the big-M constants of MILP (1)-(4) of Serra et al. 2021).

Interval arithmetic is exact for the first hidden layer over a box (each coordinate is chosen independently) and an
over-approximation beyond. Bounds are rounded outwards by a relative margin so that floating-point rounding can never
make a bound tighter than the truth: a neuron with ``upper <= 0`` is provably stably inactive, one with
``lower >= 0`` provably stably active.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .network import check_box, check_mlp

__all__ = ["ROUNDING_MARGIN", "interval_bounds", "affine_bounds"]

#: Relative outward rounding applied to every computed bound (far above float64 dot-product error for n < 10^6).
ROUNDING_MARGIN = 1e-9
_BLOCK_ELEMENTS = 1 << 21


def affine_bounds(w: np.ndarray, b: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sound bounds of ``w @ x + b`` over the box ``lower <= x <= upper`` (exact up to outward rounding).

    Parameters
    ----------
    w : ndarray, shape (k, n)
    b : ndarray, shape (k,)
    lower, upper : ndarray, shape (n,)

    Returns
    -------
    (ndarray, ndarray)
        Lower and upper bounds, shape (k,), widened by ``ROUNDING_MARGIN`` times the magnitude of the terms.
    """
    lo, hi, slack = np.empty(len(b)), np.empty(len(b)), np.empty(len(b))
    scale = np.maximum(np.abs(lower), np.abs(upper))
    rows = max(1, _BLOCK_ELEMENTS // max(1, w.shape[1]))  # temporaries of at most a block, not three copies of w
    for begin in range(0, len(b), rows):
        part = slice(begin, begin + rows)
        pos, neg = np.maximum(w[part], 0.0), np.minimum(w[part], 0.0)
        lo[part] = pos @ lower + neg @ upper + b[part]
        hi[part] = pos @ upper + neg @ lower + b[part]
        slack[part] = ROUNDING_MARGIN * ((pos - neg) @ scale + np.abs(b[part])) + 1e-300
    return lo - slack, hi + slack


def interval_bounds(
    weights: Sequence[Any], biases: Sequence[Any], lower: Any, upper: Any
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Interval bounds on the pre-activations of every hidden layer over the box ``[lower, upper]``.

    Parameters
    ----------
    weights, biases : lists of arrays
        The MLP (``weights[l]`` of shape ``(n_{l+1}, n_l)``), hidden layers then the output layer.
    lower, upper : array_like of shape (n_0,) or scalars
        The input box.

    Returns
    -------
    (list of ndarray, list of ndarray)
        Lower and upper bounds on :math:`y^l` for each hidden layer l (0-based), each of shape (n_l,).
    """
    weights, biases = check_mlp(weights, biases)
    lo, hi = check_box(lower, upper, weights[0].shape[1])
    lows, highs = [], []
    for w, b in zip(weights[:-1], biases[:-1]):
        y_lo, y_hi = affine_bounds(w, b, lo, hi)
        lows.append(y_lo)
        highs.append(y_hi)
        lo, hi = np.maximum(y_lo, 0.0), np.maximum(y_hi, 0.0)
    return lows, highs
