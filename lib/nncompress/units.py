r"""Unit keys, their partition into equal groups, and group sums: the kernels shared by the tanh and ReLU chapters.

Both lossless compressions group hidden units by a *key* that two units share exactly when they can be merged:
for a tanh unit the sign-normalised incoming weight and bias :math:`\operatorname{sign}(b_i)(b_i, c_i)`
(Farrugia-Roberts, 2024, Algorithm 4.1, Appendix A), for a ReLU node the sign-normalised unit key
:math:`s_i (w_i, b_i) / \|w_i\|_2` of its activation boundary (Carroll, 2023, DSLT3; see
:mod:`nncompress.relu_symmetry.canonical`). This module holds the one implementation of each step:

* :func:`generalised_sign`: the sign of the first nonzero component (Appendix A, change 1);
* :func:`unit_keys`: the ReLU unit keys, orientations and norms;
* :func:`partition_keys`: the partition of keys into groups of equal (or, with a tolerance, close) keys, by one
  lexicographic sort (Appendix A, change 2);
* :func:`number_groups_by_first`: group labels renumbered in the order of each group's first member;
* :func:`group_sums`: per-group sums that are zero exactly when the real sum is zero;
* :func:`within_tolerance`: what "equal to zero" means when a tolerance follows the scale of the terms.

**Tolerances.** Where a quantity is a sum of terms (a merged outgoing weight, a kink, a linear part), rounding moves
it by a few units in the last place *of the terms*, not of the result. So "zero" is decided relative to the
magnitude of the terms: :math:`|x| \le \max(\text{atol}, \text{rtol}\cdot m)` with m the sum of the terms' absolute
values (:func:`within_tolerance`). A relative tolerance keeps its meaning when every weight is multiplied by the
same factor; the absolute floor ``atol`` is for quantities whose terms are themselves zero.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DEFAULT_RTOL", "generalised_sign", "unit_keys", "partition_keys", "number_groups_by_first", "group_sums",
           "within_tolerance", "key_tolerances"]

#: The default relative tolerance of the ReLU equivalence tests: about 4500 units in the last place of the terms,
#: room for the rounding of thousands of operations on the weights, and a million times below a perturbation of
#: relative size 1e-6.
DEFAULT_RTOL = 1e-12


def generalised_sign(b: np.ndarray, atol: float = 0.0) -> np.ndarray:
    """The sign of each row's first component with absolute value above ``atol``, or 0 (Farrugia-Roberts, 2024,
    Appendix A, change 1).

    Parameters
    ----------
    b : ndarray, shape (h, n)
        Incoming weight vectors.
    atol : float, default 0
        With ``atol = 0`` this is the paper's sign of the first nonzero component.

    Returns
    -------
    ndarray of float, shape (h,), entries in {-1, 0, +1}
    """
    big = np.abs(b) > atol
    first = np.argmax(big, axis=1)
    sign = np.sign(b[np.arange(b.shape[0]), first])
    sign[~big.any(axis=1)] = 0.0
    return sign


def unit_keys(w: np.ndarray, b: np.ndarray, atol: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The unit keys :math:`u_i = s_i (w_i, b_i) / \|w_i\|_2` of ReLU nodes with :math:`w_i \ne 0`.

    The orientation :math:`s_i = \pm 1` is the :func:`generalised_sign` of :math:`w_i / \|w_i\|_2` with threshold
    ``atol`` (falling back to the first nonzero component where no component exceeds it), so two nodes on the same
    activation boundary get the same key whatever their scale and orientation.

    Parameters
    ----------
    w : ndarray, shape (k, n)
        Incoming weights, every row nonzero.
    b : ndarray, shape (k,)
        Biases.
    atol : float, default 0

    Returns
    -------
    keys : ndarray, shape (k, n + 1)
        :math:`(\hat u_i, \beta_i)` with :math:`\|\hat u_i\|_2 = 1` and first nonzero component of
        :math:`\hat u_i` positive; ``-0.0`` is turned into ``0.0``.
    orientation : ndarray of float, shape (k,)
        :math:`s_i`.
    norm : ndarray, shape (k,)
        :math:`\nu_i = \|w_i\|_2`.
    """
    n = w.shape[1]
    norm = np.sqrt(np.einsum("ij,ij->i", w, w))
    keys = np.column_stack([w, b]) / norm[:, None]
    s = generalised_sign(keys[:, :n], atol)
    if np.any(s == 0):
        s[s == 0] = generalised_sign(keys[s == 0, :n], 0.0)
    return keys * s[:, None] + 0.0, s, norm  # + 0.0 turns -0.0 into 0.0


def key_tolerances(keys: np.ndarray, atol: float, rtol: float) -> np.ndarray | float:
    r"""Per-key tolerances :math:`\max(\text{atol}, \text{rtol} \|u_i\|_\infty)` for :func:`partition_keys`.

    Returns the scalar ``atol`` when ``rtol = 0`` (the same partition as an absolute tolerance)."""
    if rtol == 0 or len(keys) == 0:
        return atol
    return np.maximum(atol, rtol * np.max(np.abs(keys), axis=1))


def _greedy_runs(values: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Labels of sorted ``values`` cut greedily into runs: a run starts at a value and takes every later value v
    within max(tol[start], tol[v]) of that start (and every value equal to the one before it)."""
    labels = np.empty(len(values), dtype=np.int64)
    current, start = -1, 0
    for i in range(len(values)):
        if i == 0 or (values[i] != values[i - 1] and values[i] - values[start] > max(tol[start], tol[i])):
            current, start = current + 1, i
        labels[i] = current
    return labels


def partition_keys(keys: np.ndarray, tol: float | np.ndarray = 0.0) -> np.ndarray:
    r"""Labels of a partition of the rows of ``keys`` into groups of equal, or close, rows.

    ``tol = 0`` groups equal rows by one ``np.lexsort`` (Farrugia-Roberts, 2024, Appendix A, change 2). Otherwise
    ``tol`` is a tolerance per row (or one for all rows), and two rows i, j count as close in a coordinate when
    they differ by at most :math:`\max(t_i, t_j)` there. Coordinate by coordinate, each current group is sorted and
    cut wherever two consecutive values are not close (vectorised single linkage); a run wider than the tolerance
    of its members (a chain of close keys) is re-cut greedily into runs that start at a key and take every later
    key close to that start. Every group thus has, in every coordinate, a range at most the largest tolerance of
    its members; equal rows always share a group. :math:`O(k \log k)` for k keys unless many keys chain.

    Returns
    -------
    ndarray of int, shape (k,)
        Labels 0..J-1 (with ``tol = 0``, in the lexicographic order of the groups' keys).
    """
    keys = np.asarray(keys, dtype=np.float64)
    k_rows = len(keys)
    if k_rows == 0:
        return np.zeros(0, dtype=np.int64)
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), (k_rows,))
    if not np.any(tol > 0):
        order = np.lexsort(keys.T[::-1])
        sorted_keys = keys[order]
        new_group = np.concatenate([[True], np.any(sorted_keys[1:] != sorted_keys[:-1], axis=1)])
        labels = np.empty(k_rows, dtype=np.int64)
        labels[order] = np.cumsum(new_group) - 1
        return labels
    labels = np.zeros(k_rows, dtype=np.int64)
    for k in range(keys.shape[1]):
        order = np.lexsort((keys[:, k], labels))
        v, lab, t = keys[order, k], labels[order], tol[order]
        new = np.empty(len(v), dtype=bool)
        new[0] = True
        new[1:] = (lab[1:] != lab[:-1]) | (np.diff(v) > np.maximum(t[1:], t[:-1]))
        grp = np.cumsum(new) - 1
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], len(v)) - 1
        widest = np.maximum.reduceat(t, starts)
        bad = np.flatnonzero(v[ends] - v[starts] > widest)
        next_label = int(grp[-1]) + 1
        for g in bad:  # rare: a chain of keys each close to the next but wider than the tolerance in all
            sl = slice(starts[g], ends[g] + 1)
            sub = _greedy_runs(v[sl], t[sl])
            grp[sl] = np.where(sub == 0, g, next_label + sub - 1)
            next_label += int(sub.max())
        labels = np.empty_like(labels)
        labels[order] = grp
    return labels


def number_groups_by_first(labels: np.ndarray) -> np.ndarray:
    """Renumber group labels 0..J-1 in the order of each group's lowest index (so an ungrouped set keeps its order)."""
    if len(labels) == 0:
        return labels
    n_groups = labels.max() + 1
    first = np.full(n_groups, len(labels), dtype=np.int64)
    np.minimum.at(first, labels, np.arange(len(labels)))
    rank_of = np.empty(n_groups, dtype=np.int64)
    rank_of[np.argsort(first)] = np.arange(n_groups)
    return rank_of[labels]


def group_sums(values: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    r"""Sums of the rows of ``values`` over each group, zero exactly when the real sum is zero.

    Stage 3 of Algorithm 4.1 (Farrugia-Roberts, 2024) must decide :math:`\alpha_j = 0` without rounding error,
    whatever the order of the units. Sums are first accumulated by ``np.bincount``; that is exact for groups of one
    or two units (one IEEE addition is correctly rounded), and for larger groups it is within
    :math:`k\,2^{-52} \sum_i |v_i|` of the real sum (recursive summation of k terms). Only the groups whose sum lies
    within that bound of zero are summed again, by ``math.fsum`` (correctly rounded, hence zero iff the real sum is
    zero), so the cost stays :math:`O(h)` unless many groups nearly cancel.

    Parameters
    ----------
    values : ndarray, shape (k, m)
    labels : ndarray of int, shape (k,), entries in 0..n_groups-1

    Returns
    -------
    ndarray, shape (n_groups, m)
    """
    m = values.shape[1]
    sums = np.zeros((n_groups, m))
    magnitudes = np.zeros((n_groups, m))
    for col in range(m):
        sums[:, col] = np.bincount(labels, weights=values[:, col], minlength=n_groups)
        magnitudes[:, col] = np.bincount(labels, weights=np.abs(values[:, col]), minlength=n_groups)
    sizes = np.bincount(labels, minlength=n_groups)
    bound = 2.0 * sizes[:, None] * (np.finfo(float).eps * magnitudes + np.finfo(float).smallest_subnormal)
    suspects = np.flatnonzero((sizes > 2) & np.any(np.abs(sums) <= bound, axis=1))
    if len(suspects):
        order = np.argsort(labels, kind="stable")
        cuts = np.searchsorted(labels[order], np.stack([suspects, suspects + 1]))
        for j, lo, hi in zip(suspects, *cuts):
            members = values[order[lo:hi]]
            sums[j] = [math.fsum(members[:, col]) for col in range(m)]
    return sums


def within_tolerance(value: np.ndarray | float, magnitude: np.ndarray | float, atol: float,
                     rtol: float) -> np.ndarray | bool:
    r"""Whether :math:`|x| \le \max(\text{atol}, \text{rtol}\cdot m)`, elementwise: x is zero up to rounding of
    terms whose absolute values sum to m (:ref:`the tolerance rule <tolerances>`)."""
    return np.abs(value) <= np.maximum(atol, rtol * np.asarray(magnitude))
