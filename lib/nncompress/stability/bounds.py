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

__all__ = ["ROUNDING_MARGIN", "interval_bounds", "affine_bounds", "backsubstitution_bounds", "safe_lp_lower_bound"]

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


def _relu_relaxation(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Linear bounds :math:`\alpha y \le \mathrm{relu}(y) \le s y + t` on :math:`[L, U]`, valid in real arithmetic.

    Stably inactive (:math:`U \le 0`): :math:`\alpha = s = t = 0`; stably active (:math:`L \ge 0`):
    :math:`\alpha = s = 1, t = 0`; otherwise the upper chord :math:`s = U/(U-L)` and the lower slope
    :math:`\alpha \in \{0, 1\}` of smaller area (CROWN's adaptive choice). Any float :math:`\alpha \in [0, 1]` gives
    a valid lower line; the chord's intercept is computed as :math:`t = \max(-sL, U - sU)` (the line lies above
    relu at both ends, hence on the interval, whatever the rounding of s) and rounded up by a relative
    ``ROUNDING_MARGIN``.
    """
    inactive, active = hi <= 0, lo >= 0
    free = ~(inactive | active)
    s = np.where(active, 1.0, 0.0)
    t = np.zeros_like(lo)
    alpha = s.copy()
    if free.any():
        L, U = lo[free], hi[free]
        s[free] = U / (U - L)
        chord = np.maximum(-s[free] * L, U - s[free] * U)
        t[free] = chord + ROUNDING_MARGIN * (np.abs(s[free] * L) + np.abs(U)) + 1e-300
        alpha[free] = (U >= -L).astype(float)
    return alpha, s, t


def backsubstitution_bounds(
    weights: Sequence[Any], biases: Sequence[Any], lower: Any, upper: Any,
    y_lower: Sequence[np.ndarray] | None = None, y_upper: Sequence[np.ndarray] | None = None, start: int = 0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Bounds on the pre-activations of every hidden layer by back-substitution of linear relaxations.

    The symbolic bounds of DeepPoly (Singh et al. 2019) and CROWN (Zhang et al. 2018): to bound
    :math:`y^l = W^l h^{l-1} + b^l`, each :math:`h^k = \mathrm{relu}(y^k)` is replaced by a linear lower or upper
    bound in :math:`y^k`, chosen by the sign of its coefficient (above: the chord :math:`s y + t` through
    :math:`(L, 0)` and :math:`(U, U)`; below: :math:`\alpha y` with :math:`\alpha \in \{0, 1\}`, the choice of
    smaller area), and :math:`y^k` by :math:`W^k h^{k-1} + b^k`, down to the input, where the linear function is
    bounded exactly over the box. The correlations between neurons that interval arithmetic loses are kept; each
    bound is also intersected with interval arithmetic on the layer before, so it is never looser. Each layer's
    relaxation uses the best bounds known for the layers before it (those given in ``y_lower``/``y_upper``, e.g.
    from LPs, intersected with the ones computed here).

    **Soundness in floating point.** The relaxations are valid in real arithmetic for the float slopes used. The
    rest is a chain of matrix products and sums, whose float64 error is at most :math:`\gamma_N` times the same
    chain computed on absolute values (Higham, Section 3.5), with :math:`N` the total inner dimension
    (:math:`\gamma_N < 10^{-11}` for any network below a million neurons); every bound is widened by
    ``ROUNDING_MARGIN`` (1e-9) times that magnitude, which is computed alongside.

    Parameters
    ----------
    weights, biases : lists of arrays
        The MLP, hidden layers then the output layer.
    lower, upper : array_like (n_0,) or scalars
        The input box.
    y_lower, y_upper : lists of ndarray, optional
        Sound bounds already known for each hidden layer; the result is never looser than them.
    start : int, default 0
        Layers before ``start`` keep the given bounds as they are (which must then be finite there); only layers
        ``start, start + 1, ...`` are recomputed.

    Returns
    -------
    (list of ndarray, list of ndarray)
        Lower and upper bounds on :math:`y^l` for each hidden layer l.
    """
    weights, biases = check_mlp(weights, biases)
    lo_in, hi_in = check_box(lower, upper, weights[0].shape[1])
    depth = len(weights) - 1
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start <= depth:
        raise ValueError(f"start must be an integer in [0, {depth}], got {start!r}")
    known = []
    for name, given, fill in (("y_lower", y_lower, -np.inf), ("y_upper", y_upper, np.inf)):
        if given is None:
            known.append([np.full(len(b), fill) for b in biases[:-1]])
            continue
        if len(given) != depth:
            raise ValueError(f"{name} must hold one array per hidden layer ({depth}), got {len(given)}")
        arrays = [np.asarray(v, dtype=np.float64) for v in given]
        for l, (v, b) in enumerate(zip(arrays, biases[:-1])):
            if v.shape != b.shape or np.isnan(v).any():
                raise ValueError(f"{name}[{l}] must have shape {b.shape} and no NaN")
        known.append(arrays)
    known_lo, known_hi = known
    mid, rad = (hi_in + lo_in) / 2, (hi_in - lo_in) / 2
    scale_in = np.maximum(np.abs(lo_in), np.abs(hi_in))
    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []
    relax: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for l in range(depth):
        w, b = weights[l], biases[l]
        if l < start:
            if not (np.all(np.isfinite(known_lo[l])) and np.all(np.isfinite(known_hi[l]))):
                raise ValueError(f"y_lower and y_upper must be finite in layer {l} < start")
            lows.append(known_lo[l])
            highs.append(known_hi[l])
            relax.append(_relu_relaxation(known_lo[l], known_hi[l]))
            continue
        # rows: upper bounds of y (first n) and of -y (last n)
        lam = np.vstack([w, -w])
        const = np.concatenate([b, -b])
        mag = np.abs(lam)
        mag_const = np.abs(const)
        for k in range(l - 1, -1, -1):
            alpha, s, t = relax[k]
            pos, neg = np.maximum(lam, 0.0), np.minimum(lam, 0.0)
            const = const + pos @ t  # upper bound: positive coefficients take the upper line
            mag_const = mag_const + mag @ t
            lam = pos * s + neg * alpha
            mag = mag * np.maximum(s, alpha)
            const = const + lam @ biases[k]
            mag_const = mag_const + mag @ np.abs(biases[k])
            lam = lam @ weights[k]
            mag = mag @ np.abs(weights[k])
        top = lam @ mid + np.abs(lam) @ rad + const
        slack = ROUNDING_MARGIN * (mag @ scale_in + mag_const) + 1e-300
        n = len(b)
        hi_l = np.minimum(top[:n] + slack[:n], known_hi[l])
        lo_l = np.maximum(-(top[n:] + slack[n:]), known_lo[l])
        # intersected with interval arithmetic on the bounds just found (exact in layer 0, and sometimes tighter
        # than the symbolic bound further on, where the lower slopes 0/1 lose to it)
        h_lo, h_hi = (lo_in, hi_in) if l == 0 else (np.maximum(lows[-1], 0.0), np.maximum(highs[-1], 0.0))
        a_lo, a_hi = affine_bounds(w, b, h_lo, h_hi)
        lo_l, hi_l = np.maximum(lo_l, a_lo), np.minimum(hi_l, a_hi)
        lows.append(lo_l)
        highs.append(hi_l)
        relax.append(_relu_relaxation(lo_l, hi_l))
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
