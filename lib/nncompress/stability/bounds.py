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

__all__ = ["ROUNDING_MARGIN", "interval_bounds", "affine_bounds", "safe_lp_lower_bound"]

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


#: Unit roundoff of float64.
_U = 2.0 ** -53


def _gamma(n: int) -> float:
    """Higham's :math:`\\gamma_n = n u / (1 - n u)`: a floating-point sum or dot product of n terms is within
    :math:`\\gamma_n \\sum |t_k|` of its exact value (round to nearest, no overflow)."""
    return n * _U / (1.0 - n * _U)


def safe_lp_lower_bound(c: np.ndarray, A: Any, row_lower: np.ndarray, row_upper: np.ndarray, col_lower: np.ndarray,
                        col_upper: np.ndarray, row_dual: np.ndarray) -> float:
    r"""A lower bound on :math:`\min\{c^\top v : r_l \le A v \le r_u,\ v_l \le v \le v_u\}` valid in real arithmetic.

    Neumaier and Shcherbina's safe bound: for *any* multipliers :math:`\lambda` (here an approximate dual solution
    from the LP solver), :math:`c^\top v = \lambda^\top A v + d^\top v` with :math:`d = c - A^\top \lambda`, so

    .. math:: c^\top v \ge \sum_r \min(\lambda_r r_{l,r}, \lambda_r r_{u,r}) + \sum_j \min(d_j v_{l,j}, d_j v_{u,j}).

    A multiplier whose row side is infinite in the direction that would make the bound :math:`-\infty` is set to 0
    (still any :math:`\lambda`: the bound stays valid). The floating-point evaluation is made rigorous by a priori
    error bounds instead of directed rounding: :math:`d` is enclosed in :math:`[\hat d - e, \hat d + e]` with
    :math:`e = \gamma_{k+1} (|c| + |A|^\top |\lambda|)` (k the most nonzeros in a column), each product is taken at
    the worst end of that interval, and the final sum of m terms is lowered by :math:`\gamma_{m} \sum |t|` plus a
    margin for underflow. Every variable must have finite bounds (otherwise ``-inf`` is returned).

    Parameters
    ----------
    c : ndarray (n,)
    A : scipy.sparse matrix (m, n)
    row_lower, row_upper : ndarray (m,), may hold +-inf
    col_lower, col_upper : ndarray (n,), finite
    row_dual : ndarray (m,)

    Returns
    -------
    float
        The bound (``-inf`` if none can be given).
    """
    import scipy.sparse

    A = scipy.sparse.csc_matrix(A)
    lam = np.array(row_dual, dtype=np.float64)
    lam[(lam > 0) & ~np.isfinite(row_lower)] = 0.0  # lam_r * r_l would be -inf
    lam[(lam < 0) & ~np.isfinite(row_upper)] = 0.0
    if not (np.all(np.isfinite(col_lower)) and np.all(np.isfinite(col_upper)) and np.all(np.isfinite(lam))):
        return -np.inf
    k = int(np.diff(A.indptr).max(initial=0))
    d = c - A.T @ lam
    err = 2 * _gamma(k + 2) * (np.abs(c) + abs(A).T @ np.abs(lam)) + 1e-300
    d_lo, d_hi = d - err, d + err
    # min over d in [d_lo, d_hi] and v in [v_l, v_u] of d * v: the smallest of the four corner products
    col_terms = np.minimum(np.minimum(d_lo * col_lower, d_lo * col_upper),
                           np.minimum(d_hi * col_lower, d_hi * col_upper))
    with np.errstate(invalid="ignore"):  # 0 * inf where a multiplier is 0 and its side infinite
        row_terms = np.minimum(np.where(lam != 0, lam * row_lower, 0.0), np.where(lam != 0, lam * row_upper, 0.0))
    terms = np.concatenate([col_terms, row_terms])
    if not np.all(np.isfinite(terms)):
        return -np.inf
    total = float(np.sum(terms))
    # each product rounded once (relative u), then the sum: gamma_{m+1} covers both
    return total - _gamma(len(terms) + 1) * float(np.sum(np.abs(terms))) - len(terms) * 1e-300
