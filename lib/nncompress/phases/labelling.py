r"""Phase labels of posterior samples, read from Chapter 4's canonical form on the input box.

Every sample :math:`w` is a two-layer ReLU network (Carroll 2023, DSLT3, "Defining the Networks"). Its phase is a
property of the *function* it computes on the box, so we read it from the canonical form of
:mod:`nncompress.relu_symmetry.canonical` restricted to the box (Carroll 2023, DSLT3, "There are More True
Parameters if the Input Domain is Bounded"), with explicit tolerances in natural units:

1. each node is rescaled to :math:`\|w_i\| = 1` (the scaling symmetry, :math:`\kappa_i = q_i \|w_i\|` kept), so
   small incoming weights are not mistaken for degenerate ones;
2. a node whose activation boundary misses the box by more than ``margin`` (or enters it by less) is affine or
   zero there (:data:`~nncompress.relu_symmetry.canonical.ON` / ``OFF``) and goes to the affine part;
3. nodes whose unit keys :math:`(\hat u_i, \beta_i)` lie within ``key_tol`` (:math:`L^\infty`) share a hyperplane;
   their kinks :math:`\kappa_i` add up (:func:`~nncompress.relu_symmetry.canonical.decompose`);
4. a hyperplane is *effective* when its total kink exceeds ``kink_tol`` in absolute value.

The number of effective hyperplanes is the number of effective nodes of the phase (the ReLU rank up to the affine
part, Chapter 4). By the uniqueness lemma of the canonical form this count depends on the function only, so the
label is blind to label switching, to the scaling symmetry, to orientation reversal, to degenerate nodes and to nodes
that are affine on the box, including the configurations with a negative outgoing weight that threshold rules on
:math:`q_i` or :math:`r_i` do not name. DSLT4 sorted samples by the effective gradients
:math:`r_i = \| |q_i| w_i \| = |\kappa_i|` instead (:func:`effective_gradients`); :func:`nearest_prototype` is a third
labelling, by :math:`L^2` distance to prototype functions.

*Orientation* is a property of the parameter, not of the function: relative to a truth, a node on the hyperplane of
truth node t is *reversed* when its orientation differs from t's (Carroll 2023, DSLT3, "Orientation Reversal").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, check_size, check_tolerance
from ..relu_symmetry import ReluNetwork
from ..relu_symmetry.canonical import OFF, ON, decompose
from .model import check_box, predict, unpack

__all__ = ["effective_gradients", "effective_weights", "PhaseLabels", "label_phases", "orientation_phases",
           "nearest_prototype", "box_grid", "node_regions"]


def effective_gradients(theta: Any, width: int, n_in: int = 2) -> np.ndarray:
    r"""The effective gradients :math:`r_i = \| |q_i| w_i \|` of each sample, by which Carroll (2023, DSLT4) sorts
    samples into phases, sorted in decreasing order so that they do not depend on the order of the nodes.

    Parameters
    ----------
    theta : array_like, shape (P, D) or (D,)
        Parameter vectors in :class:`~nncompress.relu_symmetry.ReluNetwork` order.
    width : int

    Returns
    -------
    ndarray, shape (P, width)
    """
    w, _, q, _ = unpack(theta, width, n_in)
    return -np.sort(-np.abs(q) * np.linalg.norm(w, axis=2), axis=1)


def effective_weights(theta: Any, width: int, n_in: int = 2) -> np.ndarray:
    r"""Each node's total gradient :math:`q_i w_i` (the gradient it adds where it is active; the vectors that
    annihilate in Carroll 2023, DSLT3, "Orientation Reversal"): shape (P, width, n_in)."""
    w, _, q, _ = unpack(theta, width, n_in)
    return q[:, :, None] * w


def box_grid(n_per_axis: int = 41, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Midpoints of an ``n_per_axis`` x ``n_per_axis`` grid of equal cells of the square
    :math:`[\\text{low}, \\text{high}]^2`: shape (n_per_axis**2, 2). The midpoint rule on it integrates over the
    uniform input distribution of the DSLT4 setup."""
    n_per_axis = check_size(n_per_axis, "n_per_axis", minimum=1)
    low, high = check_box(low, high)
    g = low + (np.arange(n_per_axis) + 0.5) * (high - low) / n_per_axis
    g1, g2 = np.meshgrid(g, g)
    return np.column_stack([g1.ravel(), g2.ravel()])


def node_regions(w: np.ndarray, b: np.ndarray, low: float, high: float, margin: float) -> np.ndarray:
    r"""Where each node's boundary lies relative to the box :math:`[\text{low}, \text{high}]^n`, vectorised over
    samples: ``OFF`` (0), crossing (1) or ``ON`` (2), as in :func:`~nncompress.relu_symmetry.box_regions` but with
    float bounds (exact up to rounding) and the margin in units of distance. ``w`` (..., n), ``b`` (...)."""
    norm = np.linalg.norm(w, axis=-1)
    lo = b + np.sum(np.minimum(w * low, w * high), axis=-1)
    hi = b + np.sum(np.maximum(w * low, w * high), axis=-1)
    region = np.ones(b.shape, dtype=np.int64)
    region[hi <= margin * norm] = OFF
    region[(lo >= -margin * norm) & (hi > margin * norm)] = ON
    region[norm == 0] = ON
    return region


@dataclass(frozen=True)
class PhaseLabels:
    """Per-sample structure read from the canonical form on the box (:func:`label_phases`).

    Attributes
    ----------
    n_effective : ndarray of int, shape (P,)
        Effective hyperplanes: crossing the box, total kink above ``kink_tol``.
    n_negative : ndarray of int, shape (P,)
        Effective hyperplanes whose kink is negative.
    n_reversed : ndarray of int, shape (P,)
        Nodes on effective hyperplanes matched to a truth hyperplane whose orientation is opposite to the truth
        node's (-1 when no truth was given).
    n_matched : ndarray of int, shape (P,)
        Effective hyperplanes within ``match_tol`` of a truth hyperplane (-1 when no truth was given).
    n_negative_q : ndarray of int, shape (P,)
        Nodes with :math:`q_i < 0` (what a threshold rule on the raw parameters sees).
    """

    n_effective: np.ndarray
    n_negative: np.ndarray
    n_reversed: np.ndarray
    n_matched: np.ndarray
    n_negative_q: np.ndarray

    def __len__(self) -> int:
        return len(self.n_effective)

    def names(self) -> np.ndarray:
        """Readable labels: '1 node', '2 nodes', '2 nodes (1 negative)', ... shape (P,) of str."""
        out = []
        for k, neg in zip(self.n_effective, self.n_negative):
            base = f"{k} node" + ("s" if k != 1 else "")
            out.append(base + (f" ({neg} negative)" if neg else ""))
        return np.array(out)

    def fraction(self, n_effective: int) -> float:
        """Fraction of samples with exactly ``n_effective`` effective nodes."""
        return float(np.mean(self.n_effective == n_effective)) if len(self) else float("nan")


def _truth_keys(truth: ReluNetwork) -> tuple[np.ndarray, np.ndarray]:
    dec = decompose(truth.w, truth.b, truth.q, truth.c, 0.0)
    on = np.flatnonzero(dec.label >= 0)
    return dec.group_keys[dec.label[on]], dec.orientation[on]


def label_phases(theta: Any, width: int, kink_tol: float = 0.25, key_tol: float = 0.1, margin: float = 0.05,
                 truth: ReluNetwork | None = None, match_tol: float = 0.3, low: float = -1.0, high: float = 1.0,
                 n_in: int = 2) -> PhaseLabels:
    """Label every sample by its canonical form on the box: nodes rescaled to unit incoming norm; nodes whose
    boundary misses the box by more than ``margin`` moved to the affine part; nodes whose unit keys lie within
    ``key_tol`` grouped on one hyperplane, their kinks added; a hyperplane is effective when its total kink exceeds
    ``kink_tol``.

    Parameters
    ----------
    theta : array_like, shape (P, D) or (D,)
        Samples in :class:`~nncompress.relu_symmetry.ReluNetwork` order.
    width : int
        Nodes of the model.
    kink_tol : float, default 0.25
        A hyperplane is effective when its total kink :math:`|\\sum_{i \\in G} q_i \\|w_i\\||` exceeds this (the
        truths of this chapter have kinks 1 to 3).
    key_tol : float, default 0.1
        Unit keys (unit normal, signed offset) within this :math:`L^\\infty` distance share a hyperplane.
    margin : float, default 0.05
        A boundary must enter the box by more than this distance to count as crossing it.
    truth : ReluNetwork, optional
        Reference for orientation: each effective hyperplane is matched to the truth hyperplane whose key is
        nearest, if within ``match_tol``.
    match_tol : float, default 0.3
    low, high : float, default -1, 1
        The input box :math:`[\\text{low}, \\text{high}]^{n_{in}}`.
    n_in : int, default 2

    Returns
    -------
    PhaseLabels

    Raises
    ------
    TypeError
        If ``truth`` is not a ReluNetwork, or a tolerance is not a number.
    ValueError
        If a tolerance is negative, the box is empty, or ``theta`` has the wrong shape.
    """
    kink_tol, key_tol = check_tolerance(kink_tol, "kink_tol"), check_tolerance(key_tol, "key_tol")
    margin, match_tol = check_tolerance(margin, "margin"), check_tolerance(match_tol, "match_tol")
    low, high = check_box(low, high)
    if truth is not None and not isinstance(truth, ReluNetwork):
        raise TypeError(f"truth must be a ReluNetwork or None, got {type(truth).__name__}")
    if truth is not None and truth.n_in != n_in:
        raise ValueError(f"truth must have n_in = {n_in} inputs, got {truth.n_in}")
    w, b, q, c = unpack(theta, width, n_in)
    norm = np.linalg.norm(w, axis=2)
    safe = np.where(norm > 0, norm, 1.0)
    wn, bn, kn = w / safe[..., None], b / safe, q * norm  # step 1: the scaling symmetry, kinks kept
    region = node_regions(w, b, low, high, margin)
    tk = _truth_keys(truth) if truth is not None else None
    out = np.zeros((len(c), 5), dtype=np.int64)
    out[:, 4] = np.sum(q < 0, axis=1)
    for p in range(len(c)):
        dec = decompose(wn[p], bn[p], kn[p], c[p], key_tol, affine=region[p] == ON, off=region[p] == OFF)
        eff = np.flatnonzero(np.abs(dec.group_kinks) > kink_tol)
        out[p, 0], out[p, 1] = len(eff), int(np.sum(dec.group_kinks[eff] < 0))
        if tk is None:
            out[p, 2:4] = -1
            continue
        tkeys, torient = tk
        for g in eff:
            dist = np.max(np.abs(tkeys - dec.group_keys[g]), axis=1)
            t = int(np.argmin(dist))
            if dist[t] <= match_tol:
                out[p, 3] += 1
                members = np.flatnonzero(dec.label == g)
                out[p, 2] += int(np.sum(dec.orientation[members] != torient[t]))
    return PhaseLabels(*out.T)


def orientation_phases(labels: PhaseLabels, n_truth: int) -> np.ndarray:
    """Name each sample's orientation phase relative to a truth of ``n_truth`` nodes: 'non-annihilating' (every
    truth hyperplane matched once, no node reversed), 'annihilating' (matched, every node reversed: the whole
    truth's orientation reversed, which needs weight annihilation, Carroll 2023, DSLT3, "Orientation Reversal"),
    'partly reversed' or 'other' (not all truth hyperplanes matched). Shape (P,) of str."""
    if not isinstance(labels, PhaseLabels):
        raise TypeError(f"labels must be PhaseLabels, got {type(labels).__name__}")
    n_truth = check_size(n_truth, "n_truth", minimum=1)
    if np.any(labels.n_matched < 0):
        raise ValueError("labels must have been computed with a truth (label_phases(..., truth=...))")
    full = (labels.n_matched == n_truth) & (labels.n_effective == n_truth)
    out = np.full(len(labels), "other", dtype=object)
    out[full & (labels.n_reversed == 0)] = "non-annihilating"
    out[full & (labels.n_reversed == n_truth)] = "annihilating"
    out[full & (labels.n_reversed > 0) & (labels.n_reversed < n_truth)] = "partly reversed"
    return out.astype(str)


def nearest_prototype(theta: Any, width: int, prototypes: dict[str, Any], x: Any) -> np.ndarray:
    r"""The name of the prototype function nearest to each sample in :math:`L^2` over the points ``x``
    (e.g. :func:`box_grid`): a labelling in function space, blind to parametrisation.

    Parameters
    ----------
    theta : array_like, shape (P, D)
    width : int
    prototypes : dict of str to ReluNetwork or list of ReluNetwork
        A phase may have several prototypes (e.g. mirror images); the nearest counts.
    x : array_like, shape (N, n_in)

    Returns
    -------
    ndarray of str, shape (P,)
    """
    if not isinstance(prototypes, dict) or not prototypes:
        raise TypeError("prototypes must be a non-empty dict of name -> ReluNetwork (or list of them)")
    x = as_float_array(x, "x", ndim=2)
    f = predict(theta, x, width)
    names, dist = list(prototypes), []
    for k in names:
        group = prototypes[k] if isinstance(prototypes[k], (list, tuple)) else [prototypes[k]]
        if not group or not all(isinstance(v, ReluNetwork) for v in group):
            raise TypeError(f"prototypes[{k!r}] must be a ReluNetwork or a non-empty list of them")
        dist.append(np.min([np.mean((f - g(x)) ** 2, axis=1) for g in group], axis=0))
    return np.array(names)[np.argmin(np.stack(dist, axis=1), axis=1)]
