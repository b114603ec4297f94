r"""Which symmetry maps a model onto the truth: the classification of Carroll (2023, DSLT3), Appendix 2, as
a report.

Both networks are decomposed together (the *difference network* of :mod:`.canonical`): nodes of the model and of
the truth that share an activation boundary land in the same group. For an equivalent pair, each model node is then

* **degenerate** (:math:`q_i = 0` or :math:`w_i = 0`): it contributes a constant, absorbed by :math:`c`;
* **matched** to the truth node on its hyperplane: :math:`(w_i, b_i) = \sigma_i \alpha_i (w_t, b_t)` with a
  **scaling** :math:`\alpha_i > 0` and an orientation :math:`\sigma_i = \pm 1` (**orientation reversal** when
  :math:`-1`); the map :math:`i \mapsto t` is the **permutation**. When several model nodes share the truth node's
  boundary (**shared boundary**), their kink shares :math:`\kappa_i = q_i \|w_i\|` sum to the truth's kink
  :math:`q_t \|w_t\|`;
* on a hyperplane where the truth has no kink, in a group of model nodes whose kinks **cancel** (e.g.
  :math:`\operatorname{ReLU}(v \cdot x) - \operatorname{ReLU}(-v \cdot x) = v \cdot x`): the group is the linear
  function :math:`\sum q_i (w_i \cdot x + b_i)` over its nodes of the other orientation.

The affine parts must agree too: relative to the truth's orientation of each hyperplane, the reversed model nodes
contribute :math:`\sum_{i \in R} q_i (w_i \cdot x + b_i)`, so their total gradients must **annihilate** the truth's
(:math:`\sum_{i \in R} q_i w_i = \sum_{t \in R_0} q_t w_t`, zero when the truth's nodes have distinct boundaries; the
weight annihilation condition :math:`\sum_{t \in S} q_t w_t = 0` of Carroll (2023, DSLT3)), and the biases absorb
the constant.
The cancelling groups are not in that paper's list (its classification assumes every excess node is degenerate or
shares a boundary with a node of the truth); they arise as soon as the model has two nodes more than the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_tolerances
from ..units import DEFAULT_RTOL, within_tolerance
from .canonical import _check_pair, difference_decomposition
from .network import ReluNetwork

__all__ = ["SymmetryReport", "NodeMatch", "classify", "SYMMETRIES"]

#: The names of the symmetries a report can list, in the order of Carroll (2023, DSLT3) (plus the cancelling groups).
SYMMETRIES = ("permutation", "scaling", "orientation reversal", "degenerate nodes", "shared boundary",
              "cancelling nodes")


@dataclass(frozen=True)
class NodeMatch:
    """One model node's role: ``role`` is 'matched', 'degenerate (q = 0)', 'degenerate (w = 0)', 'cancelling' or
    'unmatched'; for matched nodes ``truth`` is the truth node on its hyperplane, ``scale`` is alpha_i,
    ``reversed`` the orientation flip and ``share`` the node's fraction of the truth's kink."""

    node: int
    role: str
    truth: int = -1
    scale: float = math.nan
    reversed: bool = False
    share: float = math.nan


@dataclass(frozen=True)
class SymmetryReport:
    r"""The outcome of :func:`classify`: whether model and truth are equivalent on :math:`\mathbb{R}^n`, and how.

    Attributes
    ----------
    equivalent : bool
    symmetries : tuple of str
        The symmetries (names in :data:`SYMMETRIES`) that occur in the map from the model onto the truth.
    nodes : tuple of NodeMatch
        One entry per model node.
    permutation : dict of int to int
        Matched model node -> truth node.
    scaling : dict of int to float
        Matched model node -> :math:`\alpha_i > 0` with :math:`(w_i, b_i) = \pm\alpha_i (w_t, b_t)`.
    reversed : tuple of int
        Matched model nodes whose orientation is reversed relative to their truth node.
    annihilation : ndarray, shape (n,)
        :math:`\sum q_i w_i` over all model nodes oriented against their hyperplane's reference (the truth's
        orientation, or the canonical one where the truth has no node); equals ``truth_annihilation`` iff the linear
        parts agree.
    truth_annihilation : ndarray, shape (n,)
        The same sum over the truth's nodes (zero when the truth has one node per boundary).
    reversed_sum : ndarray, shape (n,)
        :math:`\sum_{i \in R} q_i w_i` over the reversed *matched* nodes only; it differs from ``annihilation`` by
        the linear part of the cancelling groups.
    bias_shift : float
        :math:`c_{\text{truth}} - c_{\text{model}}`, the change of output bias the symmetry needs.
    degenerate : tuple of int
        Degenerate model nodes.
    shared : dict of int to tuple of int
        Truth node -> the model nodes (two or more) on its boundary.
    cancelling : tuple of tuple of int
        Groups of model nodes on a boundary where the truth has no kink.
    differences : tuple of str
        Where the two functions differ (empty when equivalent).
    witness : ndarray or None
        For a non-equivalent pair, an input x where the functions differ (the best of a few candidates).
    witness_gap : float
        :math:`|f_{\text{model}}(x) - f_{\text{truth}}(x)|` at the witness (0 when equivalent).
    atol, rtol : float
        The tolerances (as in :func:`~nncompress.relu_symmetry.equivalent`).
    """

    equivalent: bool
    symmetries: tuple[str, ...]
    nodes: tuple[NodeMatch, ...]
    permutation: dict[int, int]
    scaling: dict[int, float]
    reversed: tuple[int, ...]
    annihilation: np.ndarray
    truth_annihilation: np.ndarray
    reversed_sum: np.ndarray
    bias_shift: float
    degenerate: tuple[int, ...]
    shared: dict[int, tuple[int, ...]]
    cancelling: tuple[tuple[int, ...], ...]
    differences: tuple[str, ...]
    witness: np.ndarray | None
    witness_gap: float
    atol: float
    model_width: int = 0
    truth_width: int = 0
    rtol: float = 0.0

    def __bool__(self) -> bool:
        return self.equivalent

    def __str__(self) -> str:
        fmt = lambda v: "(" + ", ".join(f"{x:.4g}" for x in np.atleast_1d(v)) + ")"  # noqa: E731
        head = (f"model ({self.model_width} nodes) and truth ({self.truth_width} nodes) are "
                f"{'EQUIVALENT' if self.equivalent else 'NOT equivalent'} on R^n (atol = {self.atol:g}, "
                f"rtol = {self.rtol:g})")
        lines = [head]
        if not self.equivalent:
            lines += ["  differences:"] + [f"    - {d}" for d in self.differences]
            if self.witness is not None:
                lines.append(f"  witness: at x = {fmt(self.witness)} the functions differ by {self.witness_gap:.4g}")
            return "\n".join(lines)
        lines.append(f"  symmetries: {', '.join(self.symmetries) if self.symmetries else 'none (identical nodes)'}")
        for m in self.nodes:
            if m.role == "matched":
                extra = f", kink share {m.share:.4g}" if not math.isclose(m.share, 1.0, abs_tol=1e-12) else ""
                lines.append(f"    model node {m.node} -> truth node {m.truth}: scale {m.scale:.4g}"
                             f"{', REVERSED' if m.reversed else ''}{extra}")
            else:
                lines.append(f"    model node {m.node}: {m.role}")
        if self.reversed:
            lines.append(f"  orientation reversal of nodes {list(self.reversed)}: their total gradients sum to "
                         f"q_i w_i = {fmt(self.reversed_sum)}")
            if self.cancelling:
                lines.append(f"    with the cancelling groups' linear part: {fmt(self.annihilation)}")
            lines.append(f"    weight annihilation: this equals the truth's {fmt(self.truth_annihilation)}")
        for t, ms in self.shared.items():
            lines.append(f"  shared boundary: model nodes {list(ms)} split truth node {t}'s kink")
        for g in self.cancelling:
            lines.append(f"  cancelling kinks: model nodes {list(g)} (together an affine function)")
        lines.append(f"  output bias shift c_truth - c_model = {self.bias_shift:.4g}")
        return "\n".join(lines)


def _witness(model: ReluNetwork, truth: ReluNetwork, planes: list[np.ndarray], linear: np.ndarray) -> tuple[Any, float]:
    n = model.n_in
    rng = np.random.default_rng(0)
    cands = [np.zeros(n), linear / max(float(np.linalg.norm(linear)), 1e-300)]
    for key in planes[:8]:
        u, beta = key[:n], key[n]
        p = rng.normal(size=n)
        x0 = p - (u @ p + beta) * u
        cands += [x0, x0 + u, x0 - u]
    x = np.array(cands)
    gaps = np.abs(model(x) - truth(x))
    k = int(np.argmax(gaps))
    return x[k], float(gaps[k])


def classify(model: ReluNetwork, truth: ReluNetwork, atol: float = 0.0, rtol: float = DEFAULT_RTOL) -> SymmetryReport:
    r"""Decide whether ``model`` computes ``truth``'s function on :math:`\mathbb{R}^n`, and by which symmetry.

    Implements the classification of Carroll (2023, DSLT3), Appendix 2 (Carroll, 2021, Theorem 4.7 and its
    over-parameterised sequel), for any pair of widths, without assuming the truth minimal. Each model node is
    degenerate (a constant, absorbed by the output bias), matched to the truth node on its activation boundary (by a
    scaling, an orientation and the permutation; several model nodes may share one boundary), or in a group whose
    kinks cancel on a hyperplane where the truth has none (a linear function); the affine parts must then agree
    too, the reversed nodes' gradients annihilating the truth's. :math:`O(h \log h)` like
    :func:`~nncompress.relu_symmetry.equivalent`, whose answer ``report.equivalent`` always equals.

    Parameters
    ----------
    model, truth : ReluNetwork
        Same input dimension.
    atol, rtol : float
        Tolerances as in :func:`~nncompress.relu_symmetry.equivalent` (default 0 and
        ``nncompress.units.DEFAULT_RTOL``).

    Returns
    -------
    SymmetryReport
        ``print(report)`` gives a readable account; the attributes hold the mapping.

    Raises
    ------
    TypeError, ValueError
        As :func:`~nncompress.relu_symmetry.equivalent`.

    Examples
    --------
    The symmetries that map one network to another:

    >>> from nncompress.relu_symmetry import ReluNetwork, classify
    >>> f = ReluNetwork(w=[[1.0, 0.0], [0.0, 1.0]], b=[0.0, 0.5], q=[1.0, -2.0], c=0.0)
    >>> g = ReluNetwork(w=[[0.0, 2.0], [3.0, 0.0]], b=[1.0, 0.0], q=[-1.0, 1 / 3], c=0.0)
    >>> print(classify(g, f))
    model (2 nodes) and truth (2 nodes) are EQUIVALENT on R^n (atol = 0, rtol = 1e-12)
      symmetries: permutation, scaling
        model node 0 -> truth node 1: scale 2
        model node 1 -> truth node 0: scale 3
      output bias shift c_truth - c_model = 0
    """
    _check_pair(model, truth, ("model", "truth"))
    atol, rtol = check_tolerances(atol, rtol)
    hm, ht, n = model.width, truth.width, model.n_in
    dec = difference_decomposition(model, truth, atol, rtol)
    kappa = np.concatenate([model.q, -truth.q]) * dec.norm  # model: q_i |w_i|; truth: -q_t |w_t|
    label, orient = dec.label, dec.orientation
    G = dec.n_groups
    on_m = np.flatnonzero(label[:hm] >= 0)
    on_t = hm + np.flatnonzero(label[hm:] >= 0)
    k_model = np.bincount(label[on_m], weights=kappa[on_m], minlength=G)
    k_truth = -np.bincount(label[on_t], weights=kappa[on_t], minlength=G)
    model_flat = within_tolerance(k_model, np.bincount(label[on_m], weights=np.abs(kappa[on_m]), minlength=G), atol,
                                  rtol)  # no kink of the model on the hyperplane
    truth_flat = within_tolerance(k_truth, np.bincount(label[on_t], weights=np.abs(kappa[on_t]), minlength=G), atol,
                                  rtol)
    # reference node of each group: its first truth node
    rep = np.full(G, -1, dtype=np.int64)
    rep[label[on_t][::-1]] = on_t[::-1]  # after the reversed assignment, the first truth node wins
    ref_orient = np.where(rep >= 0, orient[np.maximum(rep, 0)], 1)
    truth_kinked = ~truth_flat
    equivalent = dec.is_zero()

    # annihilation sums relative to the reference orientations
    def rev_sum(idx: np.ndarray, net: ReluNetwork, offset: int) -> np.ndarray:
        r = idx[orient[idx] != ref_orient[label[idx]]] - offset
        return np.array([math.fsum(col) for col in (net.q[r, None] * net.w[r]).T]) if len(r) else np.zeros(n)

    annihilation, truth_annihilation = rev_sum(on_m, model, 0), rev_sum(on_t, truth, hm)

    nodes, perm, scaling, rev, degen = [], {}, {}, [], []
    members: dict[int, list[int]] = {}
    for i in range(hm):
        if dec.kind[i] in (0, 1):
            nodes.append(NodeMatch(i, "degenerate (q = 0)" if dec.kind[i] == 0 else "degenerate (w = 0)"))
            degen.append(i)
            continue
        g = label[i]
        members.setdefault(int(g), []).append(i)
        if truth_kinked[g]:
            t = int(rep[g] - hm)
            scale = float(dec.norm[i] / dec.norm[rep[g]])
            r = bool(orient[i] != ref_orient[g])
            share = float(kappa[i] / k_truth[g])
            nodes.append(NodeMatch(i, "matched", t, scale, r, share))
            perm[i], scaling[i] = t, scale
            if r:
                rev.append(i)
        else:
            nodes.append(NodeMatch(i, "cancelling" if model_flat[g] else "unmatched"))
    shared = {int(rep[g] - hm): tuple(ms) for g, ms in members.items() if truth_kinked[g] and len(ms) > 1}
    cancelling = tuple(tuple(ms) for g, ms in members.items() if not truth_kinked[g] and model_flat[g])

    symmetries: list[str] = []
    if equivalent:
        if any(i != t for i, t in perm.items()):
            symmetries.append("permutation")
        if any(abs(s - 1.0) > max(atol, rtol, 1e-12) for s in scaling.values()):
            symmetries.append("scaling")
        if rev:
            symmetries.append("orientation reversal")
        if degen:
            symmetries.append("degenerate nodes")
        if shared:
            symmetries.append("shared boundary")
        if cancelling:
            symmetries.append("cancelling nodes")

    differences: list[str] = []
    witness, gap = None, 0.0
    if not equivalent:
        bad = np.flatnonzero(dec.kinked)
        planes = []
        for g in bad[:10]:
            key = dec.group_keys[g]
            planes.append(key)
            plane = " ".join(f"{v:+.4g}*x{k + 1}" for k, v in enumerate(key[:n])) + f" {key[n]:+.4g} = 0"
            where = ("only in the model" if truth_flat[g] else "only in the truth" if model_flat[g] else "in both")
            differences.append(f"hyperplane {plane} ({where}): kink {k_model[g]:.10g} in the model, "
                               f"{k_truth[g]:.10g} in the truth")
        if len(bad) > 10:
            differences.append(f"... and {len(bad) - 10} more hyperplanes with different kinks")
        if not np.all(within_tolerance(dec.linear, dec.linear_scale, atol, rtol)):
            differences.append(f"linear parts differ by {np.array2string(dec.linear, precision=6)} (model - truth)")
        if not within_tolerance(dec.constant, dec.constant_scale, atol, rtol):
            differences.append(f"constants differ by {dec.constant:.6g} (model - truth)")
        witness, gap = _witness(model, truth, planes, dec.linear)
    return SymmetryReport(
        equivalent=equivalent, symmetries=tuple(symmetries), nodes=tuple(nodes), permutation=perm, scaling=scaling,
        reversed=tuple(rev), annihilation=annihilation, truth_annihilation=truth_annihilation,
        reversed_sum=(np.array([math.fsum(col) for col in (model.q[rev, None] * model.w[rev]).T]) if rev
                      else np.zeros(n)),
        bias_shift=float(truth.c - model.c), degenerate=tuple(degen), shared=shared, cancelling=cancelling,
        differences=tuple(differences), witness=witness, witness_gap=gap, atol=atol,
        model_width=hm, truth_width=ht, rtol=rtol,
    )

