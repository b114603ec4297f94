r"""The canonical form of a two-layer ReLU network, functional equivalence on :math:`\mathbb{R}^n` and on a box.

Every non-degenerate node :math:`q_i \operatorname{ReLU}(w_i \cdot x + b_i)` lives on the hyperplane
:math:`\{w_i \cdot x + b_i = 0\}`. Write :math:`\nu_i = \|w_i\|_2` and the *unit key*
:math:`u_i = s_i (w_i, b_i) / \nu_i = (\hat u_i, \beta_i)`, where the orientation :math:`s_i = \pm 1` is the sign of
the first nonzero component of :math:`w_i` (``nncompress.units.generalised_sign``, the convention of the tanh
chapter), so that two nodes have the same key exactly when they have the same activation boundary. With
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

**What "equal" means (tolerances).** Every decision is of the form "this quantity of the difference network is
zero": two keys (their difference), a kink :math:`k_j`, a coordinate of the linear part :math:`a`, the constant
:math:`C`. Rounding moves each of them by a few units in the last place *of the terms it is made of*, so a quantity
x counts as zero when :math:`|x| \le \max(\text{atol}, \text{rtol}\cdot m)` (``nncompress.units.within_tolerance``),
with m the sum of the absolute values of its terms: :math:`\sum_{i \in G_j} |\kappa_i|` for a kink,
:math:`\sum |q_i w_{ik}|` for a coordinate of the linear part, :math:`|c_1| + |c_2| + \sum |q_i b_i|` (with
:math:`|q_i \operatorname{ReLU}(b_i)|` for :math:`w_i = 0` nodes) for the constant, and
:math:`\|u_i\|_\infty` for the coordinates of a unit key (keys are unit normals and signed distances, which do not
change when a node is rescaled). Every m scales with the weights, so the default ``rtol`` =
``nncompress.units.DEFAULT_RTOL`` (1e-12) means the same at every scale: multiplying all weights by
:math:`10^k` changes no verdict, a symmetric copy built in floating point (rescaled, permuted, reversed, split) is
accepted, and a perturbation of relative size 1e-6 is detected. ``atol`` (default 0) is an absolute floor for
quantities whose terms are exactly zero; :math:`\|w_i\|_\infty \le` atol counts as :math:`w_i = 0`. With
``atol = rtol = 0`` the floating-point canonical forms are compared exactly (keys equal, sums decided with correct
rounding); normalising :math:`(w_i, b_i)` rounds, so a node rescaled by a factor that is not a power of two may then
get a key one ulp away. Keys are grouped by ``nncompress.units.partition_keys`` (single linkage per coordinate,
runs wider than the tolerance re-cut greedily).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .._validation import as_float_array, check_tolerances
from ..stability.bounds import ROUNDING_MARGIN, affine_bounds
from ..stability.network import check_box
from ..units import DEFAULT_RTOL, group_sums, key_tolerances, partition_keys, unit_keys, within_tolerance
from .network import ReluNetwork, relu

__all__ = [
    "CanonicalForm",
    "NodeDecomposition",
    "canonical_form",
    "decompose",
    "difference_decomposition",
    "regions",
    "equivalent",
    "equivalent_on_box",
    "box_regions",
    "OFF",
    "CROSSING",
    "ON",
]

#: Region codes of a node on a box (see :func:`box_regions`).
OFF, CROSSING, ON = 0, 1, 2


@dataclass(frozen=True)
class NodeDecomposition:
    r"""What each node of a network contributes to the canonical form (:ref:`proof-canonical-form`).

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
    atol, rtol : float
        The tolerances (:ref:`the tolerance rule <tolerances>`).
    kink_scale : ndarray, shape (n_groups,)
        :math:`\sum_{i \in G_j} |\kappa_i|`, the magnitude the kink :math:`k_j` is compared with.
    linear_scale : ndarray, shape (n,)
        :math:`\sum |q_i w_{ik}|` over the terms of the linear part.
    constant_scale : float
        The sum of the absolute values of the terms of :math:`C`.
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
    rtol: float = 0.0
    kink_scale: np.ndarray | None = None
    linear_scale: np.ndarray | None = None
    constant_scale: float = 0.0

    @property
    def kinked(self) -> np.ndarray:
        """Mask of the groups whose kink :math:`k_j` is not zero within the tolerances."""
        return ~within_tolerance(self.group_kinks, _or_zeros(self.kink_scale, self.group_kinks), self.atol, self.rtol)

    @property
    def n_groups(self) -> int:
        return len(self.group_kinks)

    def is_zero(self) -> bool:
        """Whether the decomposed function is zero within the tolerances: no kinked group, a = 0, C = 0."""
        return not np.any(self.kinked) and _affine_is_zero(self)


def _or_zeros(scale: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.zeros(np.shape(like)) if scale is None else scale


def _fsum_columns(values: np.ndarray) -> np.ndarray:
    return np.array([math.fsum(col) for col in values.T], dtype=np.float64)


def decompose(
    w: np.ndarray, b: np.ndarray, q: np.ndarray, c: float, atol: float, affine: np.ndarray | None = None,
    off: np.ndarray | None = None, *, rtol: float = 0.0, c_scale: float | None = None,
) -> NodeDecomposition:
    """The canonical decomposition of the nodes ``(w, b, q)`` and output bias ``c`` (arrays already validated).

    ``affine`` / ``off`` (boolean masks) mark nodes known to be affine / zero on the domain (used on a box).
    ``atol`` and ``rtol`` are the tolerances of :ref:`the tolerance rule <tolerances>` (keys are grouped within
    :math:`\\max(\\text{atol}, \\text{rtol}\\,\\|u_i\\|_\\infty)`); ``c_scale`` is the magnitude of the output bias's
    terms (:math:`|c_1| + |c_2|` for a difference network; default :math:`|c|`).
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
    keys, s, _ = unit_keys(w[on], b[on], atol)
    orientation = np.zeros(h, dtype=np.int64)
    orientation[on] = s.astype(np.int64)
    part = partition_keys(keys, key_tolerances(keys, atol, rtol))
    n_groups = int(part.max(initial=-1)) + 1
    label = np.full(h, -1, dtype=np.int64)
    label[on] = part
    kappa = q[on] * norm[on]
    kinks = group_sums(kappa[:, None], part, n_groups)[:, 0]
    kink_scale = np.bincount(part, weights=np.abs(kappa), minlength=n_groups)
    first = np.full(n_groups, len(part), dtype=np.int64)
    np.minimum.at(first, part, np.arange(len(part)))
    group_keys = keys[first] if n_groups else np.zeros((0, n + 1))
    # affine part: reversed nodes on hyperplanes, affine nodes on a box, constants of w = 0 nodes, c
    rev = on[s < 0]
    aff = np.flatnonzero(kind == 3)
    lin_terms = np.vstack([q[rev, None] * w[rev], q[aff, None] * w[aff]])
    linear = _fsum_columns(lin_terms) if len(lin_terms) else np.zeros(n)
    linear_scale = np.abs(lin_terms).sum(axis=0) if len(lin_terms) else np.zeros(n)
    const_terms = np.concatenate([q[rev] * b[rev], q[aff] * b[aff], q[kind == 1] * relu(b[kind == 1])])
    constant = math.fsum([c, *const_terms])
    constant_scale = (abs(c) if c_scale is None else c_scale) + float(np.abs(const_terms).sum())
    return NodeDecomposition(kind, orientation, norm, label, group_keys, kinks, linear, constant, atol, rtol,
                             kink_scale, linear_scale, constant_scale)


@dataclass(frozen=True)
class CanonicalForm:
    r"""The canonical form :math:`f(x) = C + a \cdot x + \sum_j k_j \operatorname{ReLU}(\hat u_j \cdot x + \beta_j)`.

    Attributes
    ----------
    keys : ndarray, shape (J, n + 1)
        The kinked hyperplanes :math:`(\hat u_j, \beta_j)`, :math:`\|\hat u_j\|_2 = 1`, first nonzero component of
        :math:`\hat u_j` positive; sorted lexicographically.
    kinks : ndarray, shape (J,)
        :math:`k_j \ne 0` (beyond the tolerances).
    linear : ndarray, shape (n,)
        :math:`a`.
    constant : float
        :math:`C`.
    atol, rtol : float
        The tolerances it was computed with (as in :func:`~nncompress.relu_symmetry.equivalent`).
    linear_scale : ndarray, shape (n,) or None
        The magnitude of the terms of each coordinate of :math:`a` (None: zero).
    constant_scale : float
        The magnitude of the terms of :math:`C`.
    """

    keys: np.ndarray
    kinks: np.ndarray
    linear: np.ndarray
    constant: float
    atol: float = 0.0
    rtol: float = 0.0
    linear_scale: np.ndarray | None = None
    constant_scale: float = 0.0

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
        """Whether this is the zero function (within the tolerances): no kinked hyperplane, a = 0, C = 0."""
        return self.n_hyperplanes == 0 and _affine_is_zero(self)


def _affine_is_zero(form: CanonicalForm | NodeDecomposition) -> bool:
    """Whether the linear part and the constant are zero (:ref:`the tolerance rule <tolerances>`)."""
    linear_ok = within_tolerance(form.linear, _or_zeros(form.linear_scale, form.linear), form.atol, form.rtol)
    return bool(np.all(linear_ok) and within_tolerance(form.constant, form.constant_scale, form.atol, form.rtol))


def _form_from(dec: NodeDecomposition) -> CanonicalForm:
    keep = np.flatnonzero(dec.kinked)
    keys, kinks = dec.group_keys[keep], dec.group_kinks[keep]
    order = np.lexsort(keys.T[::-1]) if len(keys) else np.zeros(0, dtype=np.int64)
    return CanonicalForm(keys[order], kinks[order], dec.linear, float(dec.constant), dec.atol, dec.rtol,
                         dec.linear_scale, dec.constant_scale)


def _check_net(net: Any, name: str) -> ReluNetwork:
    if not isinstance(net, ReluNetwork):
        raise TypeError(f"{name} must be a ReluNetwork, got {type(net).__name__}")
    return net


def _check_pair(net1: Any, net2: Any, names: tuple[str, str] = ("net1", "net2")) -> None:
    _check_net(net1, names[0])
    _check_net(net2, names[1])
    if net1.n_in != net2.n_in:
        raise ValueError(f"{names[0]} and {names[1]} have different input dimensions: {net1.n_in} and {net2.n_in}")


def difference_decomposition(net1: ReluNetwork, net2: ReluNetwork, atol: float, rtol: float,
                             region: np.ndarray | None = None) -> NodeDecomposition:
    """The canonical decomposition of the difference network :math:`f_1 - f_2` (nodes of ``net1`` first).

    ``region`` (codes of :func:`box_regions` for the difference network's nodes) marks nodes that are affine (ON)
    or zero (OFF) on a box."""
    diff = net1.concat(net2, sign=-1.0)
    affine, off = (None, None) if region is None else (region == ON, region == OFF)
    return decompose(diff.w, diff.b, diff.q, diff.c, atol, affine, off, rtol=rtol,
                     c_scale=abs(net1.c) + abs(net2.c))


def canonical_form(net: ReluNetwork, atol: float = 0.0, rtol: float = DEFAULT_RTOL) -> CanonicalForm:
    """The canonical form of ``net`` (:ref:`proof-canonical-form`); :math:`O(h \\log h)`.

    Parameters
    ----------
    net : ReluNetwork
    atol : float, default 0
        Absolute floor of the tolerances (as in :func:`equivalent`).
    rtol : float, default ``nncompress.units.DEFAULT_RTOL``
        Relative tolerance (as in :func:`equivalent`); ``atol = rtol = 0`` is exact on the floating-point keys.

    Returns
    -------
    CanonicalForm
    """
    _check_net(net, "net")
    atol, rtol = check_tolerances(atol, rtol)
    return _form_from(decompose(net.w, net.b, net.q, net.c, atol, rtol=rtol))


def equivalent(net1: ReluNetwork, net2: ReluNetwork, atol: float = 0.0, rtol: float = DEFAULT_RTOL) -> bool:
    r"""Whether two two-layer ReLU networks compute the same function on all of :math:`\mathbb{R}^n`.

    Decides the classification of Carroll (2023, DSLT3), Appendix 2 (Carroll, 2021, Theorem 4.7), by the uniqueness
    lemma of this module: the canonical form of :math:`f_1 - f_2` must be zero. One sort of the :math:`h_1 + h_2` keys:
    :math:`O(h \log h)` time.

    Parameters
    ----------
    net1, net2 : ReluNetwork
        Same input dimension n; widths may differ.
    atol : float, default 0
        Absolute floor of the tolerances on keys, kinks, linear part and constant (see rtol); with it,
        :math:`\|w_i\|_\infty \le` atol counts as :math:`w_i = 0`.
    rtol : float, default ``nncompress.units.DEFAULT_RTOL`` (1e-12)
        Relative tolerance. *What "equal" means*: each quantity of the difference network that must vanish (a
        difference of unit keys, a kink :math:`k_j`, a coordinate of the linear part, the constant) counts as zero
        when its absolute value is at most :math:`\max(\text{atol}, \text{rtol}\,m)`, m the sum of the absolute
        values of its terms (:math:`\|u_i\|_\infty` for a key, :math:`\sum_{i \in G_j} |q_i| \|w_i\|` for a
        kink, :math:`\sum |q_i w_{ik}|` for the linear part, :math:`|c_1| + |c_2| + \sum |q_i b_i|` for the
        constant). Every m scales with the weights, so the verdict does not depend on their scale: a symmetric copy
        built in floating point is accepted and a perturbation of relative size 1e-6 is rejected at every scale.
        ``atol = rtol = 0`` compares the floating-point canonical forms exactly.

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        If an argument is not a ReluNetwork or a tolerance is not a number.
    ValueError
        If the input dimensions differ or a tolerance is negative or not finite.

    Examples
    --------
    A permuted and rescaled copy computes the same function:

    >>> from nncompress.relu_symmetry import ReluNetwork, equivalent
    >>> f = ReluNetwork(w=[[1.0, 0.0], [0.0, 1.0]], b=[0.0, 0.5], q=[1.0, -2.0], c=0.0)
    >>> g = ReluNetwork(w=[[0.0, 2.0], [3.0, 0.0]], b=[1.0, 0.0], q=[-1.0, 1 / 3], c=0.0)
    >>> equivalent(f, g)
    True
    """
    _check_pair(net1, net2)
    atol, rtol = check_tolerances(atol, rtol)
    return difference_decomposition(net1, net2, atol, rtol).is_zero()


def _check_full_box(lower: Any, upper: Any, n_in: int) -> tuple[np.ndarray, np.ndarray]:
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


def box_regions(net: ReluNetwork, lower: Any, upper: Any, atol: float = 0.0, rtol: float = DEFAULT_RTOL) -> np.ndarray:
    r"""Where each node's hyperplane lies relative to the box :math:`[\text{lower}, \text{upper}]`.

    Uses the stability engine's sound interval bounds (:func:`nncompress.stability.affine_bounds`) of
    :math:`z_i = w_i \cdot x + b_i` over the box, with the threshold
    :math:`t_i = \max(\text{atol}\,\|w_i\|_2, \text{rtol}\,m_i)`, :math:`m_i = |w_i| \cdot \max(|\text{lower}|,
    |\text{upper}|) + |b_i|` the magnitude of the terms of :math:`z_i` (so atol is a distance and rtol is relative,
    as in :ref:`the tolerance rule <tolerances>`):

    * ``OFF`` (0): :math:`\max z_i \le t_i`: the node is zero on the box (up to a sliver of that depth);
    * ``ON`` (2): :math:`\min z_i \ge -t_i`: the node is affine on the box;
    * ``CROSSING`` (1): otherwise; the hyperplane enters the box's interior by more than the threshold on both
      sides, so its kink is visible there. A hyperplane that only touches the box's boundary is *not* crossing.

    The interval bounds are rounded outwards; a node whose bound lies within that rounding margin of a threshold is
    decided again with exact rational arithmetic, so with ``atol = rtol = 0`` the regions are exact (touching counts
    as OFF or ON). Nodes with :math:`w_i = 0` get ``ON`` (they are constant).

    Returns
    -------
    ndarray of int, shape (h,)
    """
    _check_net(net, "net")
    atol, rtol = check_tolerances(atol, rtol)
    lower, upper = _check_full_box(lower, upper, net.n_in)
    return regions(net.w, net.b, lower, upper, atol, rtol)


def regions(w: np.ndarray, b: np.ndarray, lower: np.ndarray, upper: np.ndarray, atol: float,
            rtol: float = 0.0) -> np.ndarray:
    """:func:`box_regions` on validated arrays (nodes ``(w, b)``, a checked full-dimensional box)."""
    lo, hi = affine_bounds(w, b, lower, upper)
    norm = np.sqrt(np.einsum("ij,ij->i", w, w))
    magnitude = np.abs(w) @ np.maximum(np.abs(lower), np.abs(upper)) + np.abs(b)
    slack = ROUNDING_MARGIN * magnitude + 1e-300
    thr = np.maximum(atol * norm, rtol * magnitude)
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
    net1: ReluNetwork, net2: ReluNetwork, lower: Any, upper: Any, atol: float = 0.0, rtol: float = DEFAULT_RTOL
) -> bool:
    r"""Whether two networks compute the same function on the box :math:`[\text{lower}, \text{upper}]`.

    The closing remark of Carroll (2023, DSLT3), section "There are More True Parameters if the Input Domain is
    Bounded": on a
    bounded domain a node whose activation boundary misses the domain is affine (always active) or zero (always
    inactive) there, which creates symmetries that do not exist on :math:`\mathbb{R}^n`. We classify each node of the
    difference network :math:`f_1 - f_2` by :func:`box_regions` (the stability engine's interval bounds), replace
    ON nodes by their affine functions and drop OFF nodes; the CROSSING nodes are grouped by hyperplane as on
    :math:`\mathbb{R}^n`. By the uniqueness lemma (:ref:`proof-canonical-form`) applied to the box's interior,
    which every crossing hyperplane meets, the two functions agree on the box iff no crossing hyperplane keeps a
    kink and the total affine part vanishes.

    Parameters
    ----------
    net1, net2 : ReluNetwork
    lower, upper : array_like, shape (n,), or scalars
        A full-dimensional box (lower < upper in every coordinate).
    atol, rtol : float
        As in :func:`equivalent`; in addition a hyperplane must enter the box by more than the threshold of
        :func:`box_regions` on both sides to count as crossing.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        On different input dimensions, a box of the wrong shape, NaN/inf, or lower >= upper in some coordinate.
    """
    _check_pair(net1, net2)
    atol, rtol = check_tolerances(atol, rtol)
    lower, upper = _check_full_box(lower, upper, net1.n_in)
    diff = net1.concat(net2, sign=-1.0)
    region = regions(diff.w, diff.b, lower, upper, atol, rtol)
    return difference_decomposition(net1, net2, atol, rtol, region).is_zero()
