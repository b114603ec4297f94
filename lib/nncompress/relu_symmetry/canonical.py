r"""The canonical form of a two-layer ReLU network, functional equivalence on :math:`\mathbb{R}^n` and on a box.

Every non-degenerate node :math:`q_i \operatorname{ReLU}(w_i \cdot x + b_i)` lives on the hyperplane
:math:`\{w_i \cdot x + b_i = 0\}`. Write :math:`\nu_i = \|w_i\|_2` and the *unit key*
:math:`u_i = s_i (w_i, b_i) / \nu_i = (\hat u_i, \beta_i)`, where the orientation :math:`s_i = \pm 1` is the sign of
the first nonzero component of :math:`w_i` (the same convention as the tanh chapter's ``generalised_sign``), so
that two nodes have the same key exactly when they have the same activation boundary. With
:math:`\ell_i(x) = \hat u_i \cdot x + \beta_i` and the identity
:math:`\operatorname{ReLU}(-z) = \operatorname{ReLU}(z) - z`,

.. math::
    q_i \operatorname{ReLU}(w_i \cdot x + b_i) = \kappa_i \operatorname{ReLU}(\ell_i(x))
    + [s_i = -1]\, q_i (w_i \cdot x + b_i), \qquad \kappa_i = q_i \nu_i .

Summing over the nodes of each hyperplane gives the **canonical form**

.. math::  f(x) = C + a \cdot x + \sum_{j=1}^J k_j \operatorname{ReLU}(\hat u_j \cdot x + \beta_j),

with the *kink* :math:`k_j = \sum_{i \in G_j} \kappa_i` of hyperplane j (the jump of the gradient's normal component
across it), the linear part :math:`a = \sum_{s_i = -1} q_i w_i`, and the constant
:math:`C = c + \sum_{s_i = -1} q_i b_i + \sum_{w_i = 0} q_i \operatorname{ReLU}(b_i)` (degenerate nodes with
:math:`w_i = 0` are the constants :math:`q_i \operatorname{ReLU}(b_i)`; nodes with :math:`q_i = 0` vanish).
Hyperplanes with :math:`k_j = 0` are dropped.

**Lemma (uniqueness).** The functions :math:`\operatorname{ReLU}(\ell_j)` for distinct hyperplanes, together with
:math:`1, x_1, \dots, x_n`, are linearly independent on any open set that every :math:`H_j` meets. *Proof.* If
:math:`\sum_j k_j \operatorname{ReLU}(\ell_j) + a \cdot x + C = 0`, pick a point :math:`x_0 \in H_j` in the open set and
on no other :math:`H_m` (the :math:`H_j \cap H_m` are lower-dimensional, so they cannot cover the open piece of
:math:`H_j`). Near :math:`x_0` every other term is affine, and the gradient of the sum jumps by :math:`k_j \hat u_j`
across :math:`H_j`; so :math:`k_j = 0`. With all kinks zero, the affine function vanishes: :math:`a = 0, C = 0`.
:math:`\square`

Hence two networks compute the same function on :math:`\mathbb{R}^n` **iff their canonical forms are equal**:
the same kinked hyperplanes with the same kinks and the same affine part. This is the classification of Carroll
(2023, DSLT3), Appendix 2, in a form a computer can check: the symmetries listed there are exactly the ways to write
one canonical form as a sum of nodes. We decide it for a pair by forming the *difference network*
:math:`f_1 - f_2` (the nodes of both, the second with negated :math:`q`) and checking that its canonical form is
zero; sorting the keys makes this :math:`O(h \log h)`.

**Tolerance.** ``atol = 0`` compares the floating-point canonical forms exactly (keys equal, sums decided with
correct rounding). Note that normalising :math:`(w_i, b_i)` rounds, so a node rescaled by a factor that is not a
power of two may get a key one ulp away; use a small ``atol`` (the default 1e-9) for such comparisons. With
``atol > 0``: :math:`\|w_i\|_\infty \le` atol counts as :math:`w_i = 0`; keys are grouped into groups of
:math:`L^\infty` diameter at most atol (single-linkage per coordinate, groups wider than atol re-cut greedily); a
hyperplane counts as kinked when :math:`|k_j| >` atol; linear part and constant are compared within atol in
:math:`L^\infty`. All quantities are in natural units: keys are unit normals and signed distances, kinks are jumps of
the gradient, so atol means the same thing for every rescaling of the nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .._validation import as_float_array, check_tolerance
from ..tanh.compress import _exact_partition, _interval_partition, generalised_sign, group_sums
from .network import ReluNetwork, relu

__all__ = [
    "CanonicalForm",
    "NodeDecomposition",
    "canonical_form",
    "decompose",
    "partition_keys",
    "equivalent",
    "equivalent_on_box",
    "box_regions",
    "OFF",
    "CROSSING",
    "ON",
]

#: Region codes of a node on a box (see :func:`box_regions`).
OFF, CROSSING, ON = 0, 1, 2


def partition_keys(keys: np.ndarray, atol: float) -> np.ndarray:
    """Labels 0..J-1 of a partition of the rows of ``keys`` into groups of L-infinity diameter at most ``atol``.

    ``atol = 0`` groups equal rows (one ``np.lexsort``, as the tanh compression does). Otherwise,
    coordinate by coordinate, each current group is sorted and cut wherever two consecutive values differ by more
    than atol (vectorised single linkage); a run wider than atol (a chain of close keys) is re-cut greedily as in
    the tanh compression (:func:`~nncompress.tanh.compression_trace`). Runs in :math:`O(k \\log k)` for k keys
    unless many keys chain.
    """
    keys = np.asarray(keys, dtype=np.float64)
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    if atol == 0:
        return _exact_partition(keys)
    labels = np.zeros(len(keys), dtype=np.int64)
    for k in range(keys.shape[1]):
        order = np.lexsort((keys[:, k], labels))
        v, lab = keys[order, k], labels[order]
        new = np.empty(len(v), dtype=bool)
        new[0] = True
        new[1:] = (lab[1:] != lab[:-1]) | (np.diff(v) > atol)
        grp = np.cumsum(new) - 1
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], len(v)) - 1
        bad = np.flatnonzero(v[ends] - v[starts] > atol)
        next_label = int(grp[-1]) + 1
        for g in bad:  # rare: a chain of keys each within atol of the next but wider than atol in all
            sl = slice(starts[g], ends[g] + 1)
            sub = _interval_partition(v[sl, None], atol)
            grp[sl] = np.where(sub == 0, g, next_label + sub - 1)
            next_label += int(sub.max())
        labels = np.empty_like(labels)
        labels[order] = grp
    return labels


@dataclass(frozen=True)
class NodeDecomposition:
    r"""What each node of a network contributes to the canonical form (see the module docstring).

    Attributes
    ----------
    kind : ndarray of int, shape (h,)
        ``0`` a node with :math:`q_i = 0` (contributes nothing), ``1`` a node with :math:`w_i = 0` (a constant),
        ``2`` a node on a hyperplane, ``3`` a node on the box that is affine there (always active), ``4`` a node
        off on the box (always inactive). Kinds 3 and 4 only occur in :func:`equivalent_on_box`.
    orientation : ndarray of int, shape (h,)
        :math:`s_i \in \{-1, +1\}` for nodes on a hyperplane, 0 otherwise.
    norm : ndarray, shape (h,)
        :math:`\nu_i = \|w_i\|_2`.
    label : ndarray of int, shape (h,)
        The hyperplane group of each kind-2 node (0..n_groups-1), -1 otherwise.
    group_keys : ndarray, shape (n_groups, n + 1)
        Each group's unit key :math:`(\hat u_j, \beta_j)` (that of its lowest-index member).
    group_kinks : ndarray, shape (n_groups,)
        :math:`k_j`, the sum of :math:`\kappa_i = q_i \nu_i` over the group (zero exactly when the real sum is).
    linear, constant
        The affine part :math:`a` and :math:`C`, each summed with correct rounding (``math.fsum``).
    atol : float
    """

    kind: np.ndarray
    orientation: np.ndarray
    norm: np.ndarray
    label: np.ndarray
    group_keys: np.ndarray
    group_kinks: np.ndarray
    linear: np.ndarray
    constant: float
    atol: float

    @property
    def kinked(self) -> np.ndarray:
        """Mask of the groups with :math:`|k_j| >` atol."""
        return np.abs(self.group_kinks) > self.atol

    @property
    def n_groups(self) -> int:
        return len(self.group_kinks)


def _fsum_columns(values: np.ndarray) -> np.ndarray:
    return np.array([math.fsum(col) for col in values.T], dtype=np.float64)


def decompose(
    w: np.ndarray, b: np.ndarray, q: np.ndarray, c: float, atol: float, affine: np.ndarray | None = None,
    off: np.ndarray | None = None,
) -> NodeDecomposition:
    """The canonical decomposition of the nodes ``(w, b, q)`` and output bias ``c`` (arrays already validated).

    ``affine`` / ``off`` (boolean masks) mark nodes known to be affine / zero on the domain (used on a box).
    """
    h, n = w.shape
    affine = np.zeros(h, dtype=bool) if affine is None else affine
    off = np.zeros(h, dtype=bool) if off is None else off
    norm = np.sqrt(np.einsum("ij,ij->i", w, w))
    wdeg = np.max(np.abs(w), axis=1, initial=0.0) <= atol
    kind = np.full(h, 2, dtype=np.int64)
    kind[wdeg] = 1
    kind[(q == 0)] = 0
    kind[(kind == 2) & off] = 4
    kind[(kind == 2) & affine] = 3
    on = np.flatnonzero(kind == 2)
    keys = np.column_stack([w[on], b[on]]) / norm[on, None]
    s = generalised_sign(keys[:, :n], atol)
    if np.any(s == 0):
        s[s == 0] = generalised_sign(keys[s == 0, :n], 0.0)
    keys = keys * s[:, None] + 0.0  # + 0.0 turns -0.0 into 0.0
    orientation = np.zeros(h, dtype=np.int64)
    orientation[on] = s.astype(np.int64)
    part = partition_keys(keys, atol)
    n_groups = int(part.max(initial=-1)) + 1
    label = np.full(h, -1, dtype=np.int64)
    label[on] = part
    kinks = group_sums((q[on] * norm[on])[:, None], part, n_groups)[:, 0]
    first = np.full(n_groups, len(part), dtype=np.int64)
    np.minimum.at(first, part, np.arange(len(part)))
    group_keys = keys[first] if n_groups else np.zeros((0, n + 1))
    # affine part: reversed nodes on hyperplanes, affine nodes on a box, constants of w = 0 nodes, c
    rev = on[s < 0]
    aff = np.flatnonzero(kind == 3)
    lin_terms = np.vstack([q[rev, None] * w[rev], q[aff, None] * w[aff]])
    linear = _fsum_columns(lin_terms) if len(lin_terms) else np.zeros(n)
    const_terms = np.concatenate([[c], q[rev] * b[rev], q[aff] * b[aff], q[kind == 1] * relu(b[kind == 1])])
    constant = math.fsum(const_terms)
    return NodeDecomposition(kind, orientation, norm, label, group_keys, kinks, linear, constant, atol)


@dataclass(frozen=True)
class CanonicalForm:
    r"""The canonical form :math:`f(x) = C + a \cdot x + \sum_j k_j \operatorname{ReLU}(\hat u_j \cdot x + \beta_j)`.

    Attributes
    ----------
    keys : ndarray, shape (J, n + 1)
        The kinked hyperplanes :math:`(\hat u_j, \beta_j)`, :math:`\|\hat u_j\|_2 = 1`, first nonzero component of
        :math:`\hat u_j` positive; sorted lexicographically.
    kinks : ndarray, shape (J,)
        :math:`k_j \ne 0` (beyond atol).
    linear : ndarray, shape (n,)
        :math:`a`.
    constant : float
        :math:`C`.
    atol : float
        The tolerance it was computed with.
    """

    keys: np.ndarray
    kinks: np.ndarray
    linear: np.ndarray
    constant: float
    atol: float = 0.0

    @property
    def n_hyperplanes(self) -> int:
        """J, the number of kinked hyperplanes (a lower bound on the width of any equivalent network)."""
        return len(self.kinks)

    @property
    def n_in(self) -> int:
        return self.keys.shape[1] - 1

    def __call__(self, x: Any) -> np.ndarray:
        """Evaluate the canonical form on x (N, n); equal to the network it came from."""
        x = as_float_array(x, "x", ndim=(1, 2))
        x = x[:, None] if x.ndim == 1 else x
        n = self.n_in
        return self.constant + x @ self.linear + relu(x @ self.keys[:, :n].T + self.keys[:, n]) @ self.kinks

    def is_zero(self) -> bool:
        """Whether this is the zero function (within atol): no kinked hyperplane, a = 0, C = 0."""
        return bool(self.n_hyperplanes == 0 and np.all(np.abs(self.linear) <= self.atol)
                    and abs(self.constant) <= self.atol)


def _form_from(dec: NodeDecomposition) -> CanonicalForm:
    keep = np.flatnonzero(dec.kinked)
    keys, kinks = dec.group_keys[keep], dec.group_kinks[keep]
    order = np.lexsort(keys.T[::-1]) if len(keys) else np.zeros(0, dtype=np.int64)
    return CanonicalForm(keys[order], kinks[order], dec.linear, float(dec.constant), dec.atol)


def _check_net(net: Any, name: str) -> ReluNetwork:
    if not isinstance(net, ReluNetwork):
        raise TypeError(f"{name} must be a ReluNetwork, got {type(net).__name__}")
    return net


def _check_pair(net1: Any, net2: Any, names: tuple[str, str] = ("net1", "net2")) -> None:
    _check_net(net1, names[0])
    _check_net(net2, names[1])
    if net1.n_in != net2.n_in:
        raise ValueError(f"{names[0]} and {names[1]} have different input dimensions: {net1.n_in} and {net2.n_in}")


def canonical_form(net: ReluNetwork, atol: float = 1e-9) -> CanonicalForm:
    """The canonical form of ``net`` (see the module docstring); :math:`O(h \\log h)`.

    Parameters
    ----------
    net : ReluNetwork
    atol : float, default 1e-9
        Tolerance, as in the module docstring; 0 is exact on the floating-point keys.

    Returns
    -------
    CanonicalForm
    """
    _check_net(net, "net")
    atol = check_tolerance(atol)
    return _form_from(decompose(net.w, net.b, net.q, net.c, atol))


def equivalent(net1: ReluNetwork, net2: ReluNetwork, atol: float = 1e-9) -> bool:
    r"""Whether two two-layer ReLU networks compute the same function on all of :math:`\mathbb{R}^n`.

    Decides the classification of Carroll (2023, DSLT3), Appendix 2 (Carroll, 2021, Theorem 4.7), by the uniqueness
    lemma of this module: the canonical form of :math:`f_1 - f_2` must be zero. One sort of the :math:`h_1 + h_2` keys:
    :math:`O(h \log h)` time.

    Parameters
    ----------
    net1, net2 : ReluNetwork
        Same input dimension n; widths may differ.
    atol : float, default 1e-9
        Tolerance on keys, kinks, linear part and constant (module docstring); 0 compares floating-point canonical
        forms exactly.

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        If an argument is not a ReluNetwork or atol is not a number.
    ValueError
        If the input dimensions differ or atol is negative or not finite.
    """
    _check_pair(net1, net2)
    atol = check_tolerance(atol)
    diff = net1.concat(net2, sign=-1.0)
    return _form_from(decompose(diff.w, diff.b, diff.q, diff.c, atol)).is_zero()


def _check_full_box(lower: Any, upper: Any, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    from ..stability.network import check_box

    lower, upper = check_box(lower, upper, n_in)
    if np.any(lower >= upper):
        raise ValueError(f"the box must be full-dimensional: lower < upper in every coordinate; violated at "
                         f"{np.flatnonzero(lower >= upper)[:5]}")
    return lower, upper


def _exact_bounds(w: np.ndarray, b: float, lower: np.ndarray, upper: np.ndarray) -> tuple[Fraction, Fraction]:
    lo, hi = Fraction(b), Fraction(b)
    for wk, lk, uk in zip(w, lower, upper):
        a1, a2 = Fraction(wk) * Fraction(lk), Fraction(wk) * Fraction(uk)
        lo += min(a1, a2)
        hi += max(a1, a2)
    return lo, hi


def box_regions(net: ReluNetwork, lower: Any, upper: Any, atol: float = 1e-9) -> np.ndarray:
    r"""Where each node's hyperplane lies relative to the box :math:`[\text{lower}, \text{upper}]`.

    Uses the stability engine's sound interval bounds (:func:`nncompress.stability.affine_bounds`) of
    :math:`z_i = w_i \cdot x + b_i` over the box, in units of distance (divided by :math:`\|w_i\|_2`):

    * ``OFF`` (0): :math:`\max z_i \le` atol :math:`\|w_i\|`: the node is zero on the box (up to a sliver of depth
      atol);
    * ``ON`` (2): :math:`\min z_i \ge -`atol :math:`\|w_i\|`: the node is affine on the box;
    * ``CROSSING`` (1): otherwise; the hyperplane enters the box's interior by more than atol on both sides, so its
      kink is visible there. A hyperplane that only touches the box's boundary is *not* crossing.

    The interval bounds are rounded outwards; a node whose bound lies within that rounding margin of a threshold is
    decided again with exact rational arithmetic, so with ``atol = 0`` the regions are exact (touching counts as
    OFF or ON). Nodes with :math:`w_i = 0` get ``ON`` (they are constant).

    Returns
    -------
    ndarray of int, shape (h,)
    """
    from ..stability.bounds import ROUNDING_MARGIN, affine_bounds

    _check_net(net, "net")
    atol = check_tolerance(atol)
    lower, upper = _check_full_box(lower, upper, net.n_in)
    return _regions(net.w, net.b, lower, upper, atol, ROUNDING_MARGIN, affine_bounds)


def _regions(w, b, lower, upper, atol, margin, affine_bounds) -> np.ndarray:
    lo, hi = affine_bounds(w, b, lower, upper)
    norm = np.sqrt(np.einsum("ij,ij->i", w, w))
    slack = margin * (np.abs(w) @ np.maximum(np.abs(lower), np.abs(upper)) + np.abs(b)) + 1e-300
    thr = atol * norm
    region = np.full(len(b), CROSSING, dtype=np.int64)
    off = hi <= thr
    on = ~off & (lo >= -thr)
    region[off], region[on] = OFF, ON
    # hi and lo were widened by slack: the true hi lies in [hi - 2 slack, hi]; decide near-threshold cases exactly
    ambiguous = np.flatnonzero(((hi - 2.5 * slack <= thr) & ~off) | ((lo + 2.5 * slack >= -thr) & ~off & ~on))
    for i in ambiguous:
        elo, ehi = _exact_bounds(w[i], b[i], lower, upper)
        t = Fraction(float(thr[i]))
        region[i] = OFF if ehi <= t else ON if elo >= -t else CROSSING
    region[norm == 0] = ON
    return region


def equivalent_on_box(
    net1: ReluNetwork, net2: ReluNetwork, lower: Any, upper: Any, atol: float = 1e-9
) -> bool:
    r"""Whether two networks compute the same function on the box :math:`[\text{lower}, \text{upper}]`.

    The closing remark of Carroll (2023, DSLT3), section "There are More True Parameters if the Input Domain is
    Bounded": on a
    bounded domain a node whose activation boundary misses the domain is affine (always active) or zero (always
    inactive) there, which creates symmetries that do not exist on :math:`\mathbb{R}^n`. We classify each node of the
    difference network :math:`f_1 - f_2` by :func:`box_regions` (the stability engine's interval bounds), replace
    ON nodes by their affine functions and drop OFF nodes; the CROSSING nodes are grouped by hyperplane as on
    :math:`\mathbb{R}^n`. By the uniqueness lemma (module docstring) applied to the box's interior, which every
    crossing hyperplane meets, the two functions agree on the box iff no crossing hyperplane keeps a kink and the
    total affine part vanishes.

    Parameters
    ----------
    net1, net2 : ReluNetwork
    lower, upper : array_like, shape (n,), or scalars
        A full-dimensional box (lower < upper in every coordinate).
    atol : float, default 1e-9
        As in :func:`equivalent`; in addition a hyperplane must enter the box by more than atol (in distance) on both
        sides to count as crossing (:func:`box_regions`).

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        On different input dimensions, a box of the wrong shape, NaN/inf, or lower >= upper in some coordinate.
    """
    from ..stability.bounds import ROUNDING_MARGIN, affine_bounds

    _check_pair(net1, net2)
    atol = check_tolerance(atol)
    lower, upper = _check_full_box(lower, upper, net1.n_in)
    diff = net1.concat(net2, sign=-1.0)
    region = _regions(diff.w, diff.b, lower, upper, atol, ROUNDING_MARGIN, affine_bounds)
    dec = decompose(diff.w, diff.b, diff.q, diff.c, atol, affine=region == ON, off=region == OFF)
    return _form_from(dec).is_zero()
