r"""The ReLU rank: the fewest hidden nodes that implement a two-layer ReLU network's function on :math:`\mathbb{R}^n`.

Write the canonical form (:mod:`.canonical`) as :math:`f = C + a \cdot x + \sum_{j=1}^J k_j \operatorname{ReLU}(\ell_j)`
with :math:`\ell_j = \hat u_j \cdot x + \beta_j` and :math:`v_j = k_j \hat u_j`. Constants are free (the output
bias). The affine part must come from the nodes' orientations, which is a subset-sum problem.

**Theorem.** ``relu_rank(f)`` :math:`= J + E`, where

* :math:`E = 0` if some subset :math:`S \subseteq \{1..J\}` has :math:`a + \sum_{j \in S} v_j = 0`;
* otherwise :math:`E = 1` if some :math:`S` and some :math:`d` have :math:`a + \sum_{j \in S} v_j \parallel \hat u_d`;
* otherwise :math:`E = 2`.

*Proof.* Upper bound: one node per kinked hyperplane, reversed for :math:`j \in S` (a reversed node
:math:`k_j \operatorname{ReLU}(-\ell_j) = k_j \operatorname{ReLU}(\ell_j) - k_j \ell_j` contributes the linear part
:math:`-v_j`), gives linear part :math:`-\sum_S v_j = a` when :math:`E = 0`. When :math:`E = 1`, hyperplane d gets
two nodes of opposite orientations with kinks :math:`k_d + \gamma` and :math:`-\gamma`: together they keep the kink
:math:`k_d` and add :math:`\gamma \hat u_d`, any multiple of :math:`\hat u_d`. In general the pair
:math:`\|g\| \operatorname{ReLU}(\hat g \cdot x) - \|g\| \operatorname{ReLU}(-\hat g \cdot x) = g \cdot x` adds any
linear function with two nodes. Lower bound: group the nodes of any network computing f by activation boundary. By
the uniqueness lemma each of the J kinked hyperplanes carries at least one node; any other non-degenerate node lies
in a group whose kinks sum to zero, which needs two nodes or more (one node alone has :math:`\kappa = q \|w\| \ne 0`);
degenerate nodes give constants only. A network with :math:`J` nodes therefore has one node per kinked hyperplane
and linear part :math:`-\sum_{S} v_j` for the set S of its reversed nodes: :math:`E = 0`. A network with
:math:`J + 1` nodes has one extra node, on a kinked hyperplane d (there is no room for a cancelling group), whose two
nodes contribute the linear part :math:`-(\text{kink of the reversed ones}) \hat u_d`, any multiple of
:math:`\hat u_d`, so :math:`a + \sum_{S} v_j \parallel \hat u_d`: :math:`E = 1`. :math:`\square`

Both conditions are vector subset-sum problems (NP-hard in general). We solve them exactly: by enumerating all
:math:`2^J` subset sums (vectorised) for :math:`J \le` ``max_enum``, and beyond by a mixed-integer program (cvxpy with
HiGHS). Every subset found is verified in exact rational arithmetic on the floating-point canonical form before it is
used; the MILP's "infeasible" is trusted as far as HiGHS's feasibility tolerance (1e-7, on data scaled to 1).
The test suite checks minimality against an exhaustive search over all smaller networks on the same hyperplanes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._validation import check_size, check_tolerances
from ..units import DEFAULT_RTOL, within_tolerance
from .canonical import CanonicalForm, _check_net, canonical_form, equivalent
from .network import ReluNetwork

__all__ = ["Absorption", "absorb_linear", "relu_rank", "relu_compress"]


@dataclass(frozen=True)
class Absorption:
    """How the linear part is absorbed: ``extra`` = E in {0, 1, 2}; ``reversed`` = S (indices of the canonical
    form's hyperplanes); ``doubled`` = d (-1 if none); ``method`` = 'enumeration', 'milp' or 'trivial'."""

    extra: int
    reversed: tuple[int, ...]
    doubled: int
    method: str


def _exact_residual(a: np.ndarray, v: np.ndarray, subset: np.ndarray) -> list[Fraction]:
    g = [Fraction(float(x)) for x in a]
    for j in np.flatnonzero(subset):
        for k in range(len(g)):
            g[k] += Fraction(float(v[j, k]))
    return g


def _ok_zero(a, v, subset, tol) -> bool:
    return all(abs(x) <= Fraction(float(t)) for x, t in zip(_exact_residual(a, v, subset), tol))


def _ok_parallel(a, v, u, subset, d, tol) -> bool:
    g = _exact_residual(a, v, subset)
    ud = [Fraction(float(x)) for x in u[d]]
    uu = sum(x * x for x in ud)
    t = sum(x * y for x, y in zip(g, ud)) / uu
    return all(abs(x - t * y) <= Fraction(float(tk)) for x, y, tk in zip(g, ud, tol))


def _enumerate(a: np.ndarray, v: np.ndarray, u: np.ndarray, tol: np.ndarray) -> Absorption | None:
    """Exhaustive search over all 2^J subsets (``tol``: the tolerance per coordinate); returns None if E = 2."""
    J, n = v.shape
    sums = a[None, :].copy()
    for j in range(J):  # row r of sums is a + sum of v_j over the bits j of r
        sums = np.vstack([sums, sums + v[j]])
    slack = float(tol.max()) + 4 * (J + 1) * np.finfo(float).eps * (np.abs(a).sum() + np.abs(v).sum()) + 1e-300
    bits = lambda r: np.array([(r >> j) & 1 for j in range(J)], dtype=bool)  # noqa: E731
    for r in np.flatnonzero(np.max(np.abs(sums), axis=1) <= slack):
        if _ok_zero(a, v, bits(r), tol):
            return Absorption(0, tuple(np.flatnonzero(bits(r)).tolist()), -1, "enumeration")
    for d in range(J):
        resid = sums - np.outer(sums @ u[d], u[d])
        for r in np.flatnonzero(np.max(np.abs(resid), axis=1) <= slack):
            s = bits(r)
            s[d] = False
            if _ok_parallel(a, v, u, s, d, tol):
                return Absorption(1, tuple(np.flatnonzero(s).tolist()), d, "enumeration")
    return None


def _milp(a: np.ndarray, v: np.ndarray, u: np.ndarray, tol: np.ndarray) -> Absorption | None:
    """The two subset-sum problems as mixed-integer programs (HiGHS through cvxpy); returns None if E = 2.

    The data are scaled to 1. HiGHS decides feasibility only to about 1e-7 and its answer can depend on the slack
    it is given, so each problem is tried with the slacks ``tol`` (scaled), 1e-10 and 1e-9 in turn; a solution is
    used only after it passes the exact check at ``tol``."""
    import cvxpy as cp

    J, n = v.shape
    scale = max(float(np.abs(a).max(initial=0)), float(np.abs(v).max(initial=0)), 1e-300)
    a_s, v_s = a / scale, v / scale
    slacks = [tol / scale] + [np.full(n, s) for s in (1e-10, 1e-9) if s > float(np.max(tol / scale))]
    M = np.abs(a_s).sum() + np.abs(v_s).sum() + 1.0
    z, t, dd = cp.Variable(J, boolean=True), cp.Variable(J), cp.Variable(J, boolean=True)
    unverified = False
    for extra in (0, 1):
        for slack in slacks:
            if extra == 0:
                prob = cp.Problem(cp.Minimize(0), [cp.abs(a_s + v_s.T @ z) <= slack])
            else:
                prob = cp.Problem(cp.Minimize(0), [cp.abs(a_s + v_s.T @ z + u.T @ t) <= slack,
                                                   cp.abs(t) <= M * dd, cp.sum(dd) <= 1])
            with np.errstate(invalid="ignore"):
                prob.solve(solver=cp.HIGHS)
            if prob.status not in ("optimal", "optimal_inaccurate") or z.value is None:
                continue
            subset = np.round(z.value).astype(bool)
            if extra == 0 and _ok_zero(a, v, subset, tol):
                return Absorption(0, tuple(np.flatnonzero(subset).tolist()), -1, "milp")
            if extra == 1:
                d = int(np.argmax(dd.value))
                subset[d] = False
                if _ok_parallel(a, v, u, subset, d, tol):
                    return Absorption(1, tuple(np.flatnonzero(subset).tolist()), d, "milp")
            unverified = True
    if unverified:
        warnings.warn("a MILP solution failed exact verification; using two extra nodes", RuntimeWarning,
                      stacklevel=3)
    return None


def absorb_linear(form: CanonicalForm, method: str = "auto", max_enum: int = 18) -> Absorption:
    r"""Solve the subset-sum problem of the theorem above for a canonical form.

    A subset sum counts as zero (or as parallel to :math:`\hat u_d`) in coordinate k when its residual is at most
    :math:`\max(\text{atol}, \text{rtol}\,m_k)` with the form's tolerances and :math:`m_k` the magnitude of the
    terms of :math:`a_k` plus :math:`\sum_j |v_{jk}|` (as in :func:`~nncompress.relu_symmetry.equivalent`).

    Parameters
    ----------
    form : CanonicalForm
    method : {"auto", "enumeration", "milp"}
        "auto" enumerates when J <= ``max_enum`` and uses the MILP beyond.
    max_enum : int, default 18

    Returns
    -------
    Absorption
    """
    if method not in ("auto", "enumeration", "milp"):
        raise ValueError(f"method must be 'auto', 'enumeration' or 'milp', got {method!r}")
    max_enum = check_size(max_enum, "max_enum")
    n = form.n_in
    u = form.keys[:, :n]
    v = form.kinks[:, None] * u
    a = form.linear
    a_scale = np.abs(a) if form.linear_scale is None else form.linear_scale
    if np.all(within_tolerance(a, a_scale, form.atol, form.rtol)):
        return Absorption(0, (), -1, "trivial")
    tol = np.maximum(form.atol, form.rtol * (a_scale + np.abs(v).sum(axis=0)))
    if form.n_hyperplanes == 0:
        return Absorption(2, (), -1, "trivial")
    use_enum = method == "enumeration" or (method == "auto" and form.n_hyperplanes <= max_enum)
    found = _enumerate(a, v, u, tol) if use_enum else _milp(a, v, u, tol)
    return found if found is not None else Absorption(2, (), -1, "enumeration" if use_enum else "milp")


def relu_rank(net: ReluNetwork, atol: float = 0.0, method: str = "auto", max_enum: int = 18, *,
              rtol: float = DEFAULT_RTOL) -> int:
    r"""The fewest hidden nodes of a two-layer ReLU network computing ``net``'s function on :math:`\mathbb{R}^n`.

    ``J + E``: the number of kinked hyperplanes of the canonical form plus the 0, 1 or 2 nodes needed to absorb its
    linear part (the theorem of :ref:`proof-relu-rank`, with proof).

    Parameters
    ----------
    net : ReluNetwork
    atol : float, default 0
        Absolute floor of the tolerances of the canonical form and of the subset sums (as in
        :func:`~nncompress.relu_symmetry.equivalent`).
    method : {"auto", "enumeration", "milp"}
        How to solve the subset-sum problem (enumeration for J <= ``max_enum`` under "auto").
    max_enum : int, default 18
    rtol : float, default ``nncompress.units.DEFAULT_RTOL``
        Relative tolerance (as in :func:`~nncompress.relu_symmetry.equivalent`).

    Returns
    -------
    int

    Examples
    --------
    Two nodes on the same activation boundary with the same orientation are one node:

    >>> from nncompress.relu_symmetry import ReluNetwork, relu_rank
    >>> relu_rank(ReluNetwork(w=[[1.0, 0.0], [2.0, 0.0]], b=[0.0, 0.0], q=[1.0, 1.0], c=0.0))
    1
    """
    _check_net(net, "net")
    form = canonical_form(net, *check_tolerances(atol, rtol))
    return form.n_hyperplanes + absorb_linear(form, method, max_enum).extra


def relu_compress(net: ReluNetwork, atol: float = 0.0, method: str = "auto", max_enum: int = 18, *,
                  rtol: float = DEFAULT_RTOL) -> ReluNetwork:
    """A network of width ``relu_rank(net)`` computing the same function (built from the proof above).

    Nodes are unit-normalised: one per kinked hyperplane (reversed where the subset-sum solution says so), a second
    node on hyperplane d when E = 1, or a pair through the origin when E = 2. The result is checked with
    :func:`~nncompress.relu_symmetry.equivalent` before it is returned.

    Raises
    ------
    RuntimeError
        If the check fails (it should not; it would be a bug).
    """
    _check_net(net, "net")
    atol, rtol = check_tolerances(atol, rtol)
    form = canonical_form(net, atol, rtol)
    plan = absorb_linear(form, method, max_enum)
    n = form.n_in
    keys, kinks = form.keys, form.kinks
    sign = np.ones(len(kinks))
    sign[list(plan.reversed)] = -1.0
    w = list(sign[:, None] * keys[:, :n])
    b = list(sign * keys[:, n])
    q = list(kinks)
    if plan.extra == 1:
        d = plan.doubled
        mask = np.zeros(len(kinks), dtype=bool)
        mask[list(plan.reversed)] = True
        g = form.linear + (kinks[mask, None] * keys[mask, :n]).sum(axis=0)
        gamma = float(g @ keys[d, :n]) / float(keys[d, :n] @ keys[d, :n])
        w[d], b[d], q[d] = keys[d, :n], keys[d, n], kinks[d] + gamma
        w.append(-keys[d, :n])
        b.append(-keys[d, n])
        q.append(-gamma)
    elif plan.extra == 2:
        g = form.linear
        norm = float(np.linalg.norm(g))
        w += [g / norm, -g / norm]
        b += [0.0, 0.0]
        q += [norm, -norm]
    w_arr = np.array(w, dtype=np.float64).reshape(-1, n)
    draft = ReluNetwork(w_arr, b, q, 0.0)
    c = form.constant - canonical_form(draft, atol, rtol).constant
    out = ReluNetwork(w_arr, b, q, c)
    if not equivalent(out, net, atol=atol, rtol=max(rtol, DEFAULT_RTOL)):
        raise RuntimeError("relu_compress produced a network that is not equivalent to its input (a bug)")
    return out
