r"""Branch and bound on ReLU phases for the last open states, with LP bounds re-tightened in every branch.

For one open state of neuron i in hidden layer l ("can :math:`s\,y_i^l \ge -\delta`?", :math:`s = \pm 1`) the
question is a MILP over the layers below l. The ISA run and a focused MILP leave the branching to SCIP, whose nodes
keep the big-M constants of the root: fixing the phase of one neuron does not tighten the bounds of the neurons it
feeds. Here a node is a set of neurons whose phase is fixed (the *splits*; :math:`y \ge 0` or :math:`y \le 0` is
imposed on the inputs), and every node

1. recomputes the pre-activation bounds of the layers after its newest split by back-substitution
   (:func:`~nncompress.stability.backsubstitution_bounds`, exact for the split neurons, valid on the node's
   subdomain), so the big-M constants shrink as the splits accumulate, in the manner of the bound-propagation
   verifiers (CROWN, alpha-beta-CROWN) but with LP bounds;
2. solves the LP relaxation (``build_relaxation`` in :mod:`nncompress.stability.milp`, HiGHS) of "maximise
   :math:`s\,y_i^l`", strengthened by cuts of the ideal formulation of each neuron (Anderson et al. 2020,
   ``_NodeLP._separate``): the big-M relaxation ties a neuron's output to its pre-activation alone, the cuts to
   each of its inputs and their bounds. Each node adds ``CUT_ROUNDS`` rounds of at most ``MAX_CUTS`` cuts (the
   most violated first) to the cuts it inherits: those at their bound in its parent's optimal basis, which hold on
   its subdomain too. The node's bound is taken safely from the dual solution
   (``safe_lp_lower_bound`` in :mod:`nncompress.stability.bounds`): a node whose bound is below :math:`-\delta` is
   pruned, in real arithmetic;
3. pushes the LP's optimal input through the network in float64: :math:`s\,y_i^l > \delta` is a witness and ends
   the search.

Nodes are explored best bound first (the node whose LP bound is largest: it holds the best chance of a witness and
must be split anyway for a proof). Each queued node keeps its bounds, its simplex basis, the cuts its children
inherit and one score per neuron, so memory grows with the number of queued nodes, which the time limit bounds.
The neuron to split is the one whose relaxation the LP exploits most: the product of its relaxation gap at the LP
optimum (:math:`\min(x, \chi)`, zero when :math:`x = \mathrm{relu}(y)`) and the dual values of its two big-M
rows (how much the objective gains from that gap). When every neuron's relaxation is exact at the optimum, the LP
point is a true point of the network and its value the node's maximum.

The search ends "proven" when every node is pruned (no input reaches :math:`s\,y \ge -\delta`), "witnessed" at a
witness, and "open" at the deadline or when a node's exact maximum lies within the margin.

**Why, by measurement** (full-MNIST classifiers, l1 = 3e-4, 2 cores): the one state the LPs and the gradient search
left open in a 3x100 network took the ISA run 38 s, a focused SCIP MILP "maximise :math:`s\,y`" 212 s and this
search 0.7 s (36 nodes, a witness); in a 5x100 network the ISA run had not settled its last state after 287 s, the
focused MILP proved it in 380 s and this search, before the cuts below, in 48 s (about 4,000 nodes). Each node's
LP starts from its parent's basis: building and solving every node from scratch made the nodes ten times slower.

The cuts, by measurement (the same machine): on the one state of a 5x100 network (l1 = 2e-4) that nothing else
settled, the root bound was 0.121 without cuts and 11,803 nodes left the state's extreme between -0.126 and 0.0165
(at that pace about 150,000 nodes would have been needed); one round of cuts takes the root to 0.102, ten rounds
without a cap to 0.059, and the search with the defaults proves the state in 165 s (693 nodes, about 0.24 s each
against 0.04 s without cuts). The whole analysis of that network now ends complete in 205 s (before: 1 neuron
undecided after 300 s), and on the 5x100 network at l1 = 3e-4 the branch and bound takes 4.7 s instead of 54 s
(the analysis 15 s instead of 64 s). Three rounds per node without inheritance took 229 s on the hard state, more
rounds or more cuts per round made the LPs slower than the bounds improved.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Any

import numpy as np

from .bounds import ROUNDING_MARGIN, backsubstitution_bounds, safe_lp_lower_bound
from .milp import SolveStats, build_relaxation, highs_lp, run_lp

__all__ = ["branch_and_bound", "CUT_ROUNDS", "MAX_CUTS"]

#: Rounds of cuts (``_NodeLP._separate``) per node.
CUT_ROUNDS: int = 1
#: At most this many cuts per round, the most violated (relative to 1 + |x|) first.
MAX_CUTS: int = 50
#: An indicator z this close to 0 or 1 counts as integral (no cut is separated for its neuron).
_Z_INTEGRAL = 1e-9
#: A cut is added when the LP point violates it by more than this, relative to 1 + |x|.
_CUT_TOLERANCE = 1e-7


class _NodeLP:
    """One HiGHS instance holding the root's LP relaxation; a node changes only bounds and big-M coefficients.

    Every neuron of unknown phase at the root keeps its columns :math:`x, \\chi, z` and its two big-M rows in every
    node: a node's bounds :math:`[L, U]` set :math:`M = \\max(U, 0)`, :math:`\\mu = \\max(-L, 0)` (coefficients and
    column bounds), and a phase fixed by a split or by the node's bounds fixes :math:`z` (``z = 1`` imposes
    :math:`y = x \\ge 0`, ``z = 0`` imposes :math:`y = -\\chi \\le 0`). The structure never changes, so each node
    starts from its parent's simplex basis. The matrix and bounds of each node are also kept here for the safe bound.
    """

    def __init__(self, states: Any, layer: int, sign: float, neuron: int, cut_rounds: int = 0) -> None:
        self.layer = layer
        lo, hi = states.y_lower[:layer], states.y_upper[:layer]
        relax = build_relaxation(states.weights, states.biases, states.lower, states.upper, lo, hi, depth=layer,
                                 input_constraint=states.input_constraint)
        self.relax = relax
        self.A = relax.A.tocsc()
        self.A.sort_indices()
        prev = relax.inputs if layer == 0 else relax.outputs[layer - 1]
        self.cost = np.zeros(self.A.shape[1])
        self.cost[prev] = -sign * states.weights[layer][neuron]  # minimise -sign * w_i . h
        self.offset = sign * states.biases[layer][neuron]
        # per layer: the neurons of unknown phase at the root, their columns, rows and matrix positions
        self.free, self.cols, self.rows, self.pos = [], [], [], []
        for k in range(layer):
            free = np.flatnonzero((lo[k] < 0) & (hi[k] > 0))
            x_cols, chi_cols, z_cols = relax.outputs[k][free], relax.chi[k], relax.z[k]
            big, small = relax.big_rows[k], relax.small_rows[k]
            self.free.append(free)
            self.cols.append((x_cols, chi_cols, z_cols))
            self.rows.append((big, small))
            self.pos.append((self._position(big, z_cols), self._position(small, z_cols)))
        self.highs = highs_lp(relax, self.cost)
        self.col_lower, self.col_upper = relax.col_lower.copy(), relax.col_upper.copy()
        self.row_upper = relax.row_upper.copy()
        self.n_rows = self.A.shape[0]
        # per layer with free neurons: the previous layer's columns and the free neurons' weights and biases
        self.prev = [relax.inputs if k == 0 else relax.outputs[k - 1] for k in range(layer)]
        self.w_free = [states.weights[k][self.free[k]] for k in range(layer)]
        self.b_free = [states.biases[k][self.free[k]] for k in range(layer)]
        self.margin, self.cut_rounds, self.max_cuts = states.margin, cut_rounds, MAX_CUTS
        # the node's cuts, rows after the relaxation's: (columns, coefficients, upper side) each, shared with the
        # children that inherit them (so that queued nodes hold references, not copies)
        self.cuts: list[tuple[np.ndarray, np.ndarray, float]] = []

    def _position(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Index into ``A.data`` of each entry (rows[k], cols[k])."""
        A = self.A
        return np.array([A.indptr[c] + np.searchsorted(A.indices[A.indptr[c]:A.indptr[c + 1]], r)
                         for r, c in zip(rows, cols)], dtype=np.int64)

    def solve(self, lo: list[np.ndarray], hi: list[np.ndarray], fixed: list[np.ndarray], start: Any,
              deadline: float = np.inf) -> tuple[float, Any, Any]:
        """The node with bounds ``lo``/``hi`` and phases ``fixed`` (per layer and root-free neuron: -1 none, 0
        inactive, 1 active), from the warm start ``start`` (None: from scratch, with no cuts): its safe upper
        bound on ``sign * y`` (``-inf``: proven empty; ``nan``: nothing proven), its LP solution (or None) and its
        children's warm start (its basis and the cuts they inherit; None if its last LP failed). Each node adds
        ``cut_rounds`` rounds of cuts (``_separate``) to the cuts it inherits. HiGHS gets the time left before
        ``deadline``."""
        h, data = self.highs, self.A.data
        all_cols, all_lo, all_hi, all_rows, all_row_hi = [], [], [], [], []
        for k in range(self.layer):
            free = self.free[k]
            if not len(free):
                continue
            L, U = lo[k][free], hi[k][free]
            M, mu = np.maximum(U, 0.0), np.maximum(-L, 0.0)
            phase = fixed[k].copy()
            phase[(phase < 0) & (U <= 0)] = 0
            phase[(phase < 0) & (L >= 0)] = 1
            x_cols, chi_cols, z_cols = self.cols[k]
            big, small = self.rows[k]
            big_pos, small_pos = self.pos[k]
            data[big_pos], data[small_pos] = -M, mu
            for r, c, v in zip(big, z_cols, -M):
                h.changeCoeff(int(r), int(c), float(v))
            for r, c, v in zip(small, z_cols, mu):
                h.changeCoeff(int(r), int(c), float(v))
            z_lo = np.where(phase == 1, 1.0, 0.0)
            z_hi = np.where(phase == 0, 0.0, 1.0)
            all_cols += [x_cols, chi_cols, z_cols]
            all_lo += [np.zeros(len(free)), np.zeros(len(free)), z_lo]
            all_hi += [M, mu, z_hi]
            all_rows.append(small)
            all_row_hi.append(mu)
        if all_cols:
            cols, c_lo, c_hi = np.concatenate(all_cols), np.concatenate(all_lo), np.concatenate(all_hi)
            self.col_lower[cols], self.col_upper[cols] = c_lo, c_hi
            h.changeColsBounds(len(cols), cols.astype(np.int32), c_lo, c_hi)
            rows, r_hi = np.concatenate(all_rows), np.concatenate(all_row_hi)
            self.row_upper[rows] = r_hi
            h.changeRowsBounds(len(rows), rows.astype(np.int32), self.relax.row_lower[rows], r_hi)
        basis, cuts = start if start is not None else (None, None)
        if cuts is not None:
            self._append_rows(cuts)
        if basis is not None:
            h.setBasis(basis)
        else:
            h.clearSolver()  # from scratch
        run_lp(h, deadline)
        bound, solution = self._safe_bound()
        last_ok = solution is not None
        for _ in range(self.cut_rounds if last_ok else 0):
            if bound < -self.margin or time.perf_counter() >= deadline or not solution.value_valid:
                break
            new = self._separate(np.asarray(solution.col_value))
            if new is None:
                break
            self._append_rows(new)
            run_lp(h, deadline)
            cut_bound, cut_solution = self._safe_bound()
            last_ok = cut_solution is not None
            if not last_ok:
                if cut_bound == -np.inf:
                    bound = cut_bound
                break
            bound, solution = min(bound, cut_bound), cut_solution
        child = self._child_start() if last_ok else None
        if self.cuts:  # the cuts hold on this node's subdomain only
            h.deleteRows(len(self.cuts), np.arange(self.n_rows, self.n_rows + len(self.cuts), dtype=np.int32))
            self.cuts = []
        return bound, solution, child

    def _child_start(self) -> tuple[Any, Any]:
        """The warm start of the children of the node just solved: the node's cuts that are nonbasic (at their
        bound) in the final basis, which hold in the children's subdomains too, and that basis without the other
        cuts (basic rows, so that it stays a basis)."""
        import highspy

        basis = self.highs.getBasis()
        if not self.cuts:
            return basis, None
        status = list(basis.row_status)
        basic = highspy.HighsBasisStatus.kBasic
        keep = [r for r in range(len(self.cuts)) if status[self.n_rows + r] != basic]
        basis.row_status = status[:self.n_rows] + [status[self.n_rows + r] for r in keep]
        return basis, ([self.cuts[r] for r in keep] or None)

    def _matrix(self) -> tuple[Any, np.ndarray, np.ndarray]:
        """The rows of the LP now held by HiGHS: the relaxation's and the node's cuts (matrix, lower, upper)."""
        import scipy.sparse

        if not self.cuts:
            return self.A, self.relax.row_lower, self.row_upper
        rows, upper = self._cut_rows(self.cuts)
        return (scipy.sparse.vstack([self.A, rows]).tocsc(),
                np.concatenate([self.relax.row_lower, np.full(len(upper), -np.inf)]),
                np.concatenate([self.row_upper, upper]))

    def _safe_bound(self) -> tuple[float, Any]:
        """The safe bound of the LP just solved and its solution (``-inf``, None: proven empty; ``nan``, None:
        nothing proven)."""
        import highspy

        h = self.highs
        A, row_lower, row_upper = self._matrix()
        if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            # Farkas: multipliers whose safe bound on 0 = 0 . v is positive prove that no v satisfies the rows
            _, has_ray, ray = h.getDualRay()
            if has_ray:
                for lam in (np.asarray(ray), -np.asarray(ray)):
                    if safe_lp_lower_bound(np.zeros(A.shape[1]), A, row_lower, row_upper, self.col_lower,
                                           self.col_upper, lam) > 0:
                        return -np.inf, None
            return np.nan, None
        solution = h.getSolution()
        if not solution.dual_valid:
            return np.nan, None
        floor = safe_lp_lower_bound(self.cost, A, row_lower, row_upper, self.col_lower, self.col_upper,
                                    np.asarray(solution.row_dual))
        return float(np.nextafter(np.nextafter(-floor + self.offset, np.inf), np.inf)), solution

    def _separate(self, value: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]] | None:
        r"""The cuts of the ideal formulation of each free neuron (Anderson et al. 2020) that the LP point ``value``
        violates, separated exactly, each as (columns, coefficients, upper side); None if it violates none.

        For a neuron with output x, indicator z and pre-activation :math:`y = w^\top h + b` over inputs
        :math:`h_i \in [l_i, u_i]`, let :math:`\breve L_i, \breve U_i` be the ends of :math:`[l_i, u_i]` that
        minimise and maximise :math:`w_i h_i`. For every set I of inputs,

        .. math:: x \le \sum_{i \in I} w_i (h_i - \breve L_i (1 - z)) + \Big(b + \sum_{i \notin I} w_i \breve U_i\Big) z

        holds at every point of the network (z = 1: the right side is at least y = x; z = 0: it is at least 0 = x);
        I = all inputs and I = none are the big-M rows with interval constants, the sets between are what the
        big-M relaxation lacks. The most violated I puts i in I when its term is the smaller of the two. The input
        bounds are the node's column bounds, so the cuts hold on the node's subdomain (and its children's) only.
        The constant of each cut is computed in floating point and raised by ``ROUNDING_MARGIN`` times the
        magnitude of its terms (the coefficient of z likewise, through :math:`z \le 1`), so each cut holds in
        real arithmetic."""
        candidates = []  # (violation, layer, the neuron's x and z columns, w, b, L, U, member) per violated cut
        for k in range(self.layer):
            free = self.free[k]
            if not len(free):
                continue
            x_cols, _, z_cols = self.cols[k]
            z = value[z_cols]
            pick = np.flatnonzero((z > _Z_INTEGRAL) & (z < 1 - _Z_INTEGRAL))
            if not len(pick):
                continue
            prev = self.prev[k]
            w, b, zp = self.w_free[k][pick], self.b_free[k][pick], z[pick][:, None]
            lo_in, hi_in, h = self.col_lower[prev], self.col_upper[prev], value[prev]
            L = np.where(w >= 0, lo_in, hi_in)
            U = np.where(w >= 0, hi_in, lo_in)
            inside, outside = w * (h - L * (1 - zp)), w * U * zp
            member = (inside < outside) & (w != 0)
            rhs = np.where(member, inside, outside).sum(axis=1) + b * z[pick]
            x = value[x_cols[pick]]
            excess = (x - rhs) / (1.0 + np.abs(x))
            for j in np.flatnonzero(excess > _CUT_TOLERANCE):
                candidates.append((excess[j], k, x_cols[pick[j]], z_cols[pick[j]], w[j], b[j], L[j], U[j], member[j]))
        candidates.sort(key=lambda c: -c[0])
        cuts = []
        for _, k, x_col, z_col, w, b, L, U, member in candidates[:self.max_cuts]:
            inc = np.flatnonzero(member)
            wl = w[inc] * L[inc]
            cz = b + (w * U).sum() - (w[inc] * U[inc]).sum() + wl.sum()
            slack = ROUNDING_MARGIN * (abs(b) + 2 * np.abs(w * U).sum() + 2 * np.abs(wl).sum()) + 1e-300
            cuts.append((np.concatenate([[x_col], self.prev[k][inc], [z_col]]),
                         np.concatenate([[1.0], -w[inc], [-cz]]), float(np.nextafter(-wl.sum() + slack, np.inf))))
        return cuts or None

    def _cut_rows(self, cuts: list[tuple[np.ndarray, np.ndarray, float]]) -> tuple[Any, np.ndarray]:
        """Cuts, each (columns, coefficients, upper side), as sparse rows over the LP's columns and upper sides."""
        import scipy.sparse

        indptr = np.concatenate([[0], np.cumsum([len(c[0]) for c in cuts])])
        rows = scipy.sparse.csr_matrix((np.concatenate([c[1] for c in cuts]), np.concatenate([c[0] for c in cuts]),
                                        indptr), shape=(len(cuts), self.A.shape[1]))
        return rows, np.array([c[2] for c in cuts])

    def _append_rows(self, cuts: list[tuple[np.ndarray, np.ndarray, float]]) -> None:
        """Add cuts, each (columns, coefficients, upper side), to the LP held by HiGHS."""
        rows, upper = self._cut_rows(cuts)
        m = len(cuts)
        self.highs.addRows(m, np.full(m, -np.inf), upper, rows.nnz, rows.indptr[:-1].astype(np.int32),
                           rows.indices.astype(np.int32), rows.data)
        self.cuts = self.cuts + cuts  # a new list: the lists children inherit stay as they were


def _branching_scores(lp: _NodeLP, solution: Any) -> list[np.ndarray]:
    """Per layer, the branching score of each of the root's free neurons at an LP solution (as the top of this
    module defines it)."""
    value = np.asarray(solution.col_value)
    dual = np.abs(np.asarray(solution.row_dual))
    scores = []
    for k in range(lp.layer):
        x_cols, chi_cols, _ = lp.cols[k]
        big, small = lp.rows[k]
        gap = np.maximum(np.minimum(value[x_cols], value[chi_cols]), 0.0)
        scores.append(gap * (dual[big] + dual[small] + 1e-9))
    return scores


def _split_choice(lp: _NodeLP, scores: list[np.ndarray], lo: list[np.ndarray], hi: list[np.ndarray],
                  fixed: list[np.ndarray]) -> tuple[float, int, int]:
    """The (score, layer, position among the root's free neurons) of the best neuron whose phase is still open."""
    best = (0.0, -1, -1)
    for k in range(lp.layer):
        free = lp.free[k]
        if not len(free):
            continue
        open_phase = (fixed[k] < 0) & (lo[k][free] < 0) & (hi[k][free] > 0)
        score = np.where(open_phase, scores[k], 0.0)
        j = int(np.argmax(score))
        if score[j] > best[0]:
            best = (float(score[j]), k, j)
    return best


def branch_and_bound(states: Any, layer: int, sign: float, neuron: int, stats: SolveStats, deadline: float,
                     phase: str = "bab") -> str:
    """Settle one open state by branch and bound on ReLU phases (:mod:`nncompress.stability.bab`).

    Parameters
    ----------
    states : the engine's record of open and settled states (updated in place: witnesses, or the proof)
    layer, sign, neuron : the state ("can ``sign * y[layer][neuron]`` reach ``-margin``?")
    stats : SolveStats
        Each node's LP is recorded as one solve under ``phase``, and the nodes as branch-and-bound nodes.
    deadline : float
        ``time.perf_counter()`` value at which to stop (the state then stays open).

    Returns
    -------
    str
        ``"proven"``, ``"witnessed"`` or ``"open"``.
    """
    if layer == 0 or time.perf_counter() >= deadline:
        return "open"  # layer 0 is exact over a box (the bounds phase decides it), and has no phase to split
    delta = states.margin
    is_open = states.open_active if sign > 0 else states.open_inactive
    t0 = time.perf_counter()
    lp = _NodeLP(states, layer, sign, neuron, CUT_ROUNDS)
    stats.add(phase, time.perf_counter() - t0, solves=0)
    counter = itertools.count()
    heap: list[tuple[Any, ...]] = []

    def push(lo: list[np.ndarray], hi: list[np.ndarray], fixed: list[np.ndarray], start: Any,
             parent: tuple[float, list[np.ndarray]] | None = None) -> str | None:
        """Solve a node; prune it, end the search at a witness, or queue it with its bound, its children's warm
        start and scores."""
        t0 = time.perf_counter()
        bound, solution, child_start = lp.solve(lo, hi, fixed, start, deadline)
        stats.add(phase, time.perf_counter() - t0, nodes=1)
        if np.isnan(bound) and start is not None:  # a warm start gone wrong: once more from scratch
            bound, solution, child_start = lp.solve(lo, hi, fixed, None, deadline)
        if np.isnan(bound):  # no dual solution (or the time limit)
            if parent is None or time.perf_counter() >= deadline:
                return "open"
            bound, scores = parent  # the parent's bound holds on its subdomain, and so on this part of it
            child_start = start
        elif bound < -delta:
            return None  # pruned, in real arithmetic
        else:
            if solution.value_valid:
                states.observe(np.asarray(solution.col_value)[lp.relax.inputs][None])
                if not is_open(layer)[neuron]:
                    return "witnessed"
            scores = _branching_scores(lp, solution)
        heapq.heappush(heap, (-bound, next(counter), lo, hi, fixed, child_start, scores))
        return None

    root_lo = [v.copy() for v in states.y_lower[:layer]]
    root_hi = [v.copy() for v in states.y_upper[:layer]]
    outcome = push(root_lo, root_hi, [np.full(len(f), -1) for f in lp.free], None)
    while outcome is None and heap:
        if time.perf_counter() >= deadline:
            outcome = "open"
            break
        neg_bound, _, lo, hi, fixed, start, scores = heapq.heappop(heap)
        score, k, j = _split_choice(lp, scores, lo, hi, fixed)
        if score <= 0.0:
            outcome = "open"  # the LP point is a true point with its value within the margin: undecidable here
            break
        neuron_j = lp.free[k][j]
        for phase_of_j in (1, 0):
            child_lo, child_hi = [v.copy() for v in lo], [v.copy() for v in hi]
            child_fixed = [v.copy() for v in fixed]
            child_fixed[k][j] = phase_of_j
            if phase_of_j:
                child_lo[k][neuron_j] = 0.0
            else:
                child_hi[k][neuron_j] = 0.0
            if k + 1 < layer:  # the layers after the split, on the child's subdomain
                new_lo, new_hi = backsubstitution_bounds(states.weights[:layer + 1], states.biases[:layer + 1],
                                                         states.lower, states.upper, child_lo, child_hi, start=k + 1)
                child_lo[k + 1:], child_hi[k + 1:] = new_lo[k + 1:], new_hi[k + 1:]
                if any(np.any(child_lo[m] > child_hi[m]) for m in range(k + 1, layer)):
                    continue  # sound bounds that cross: the child's subdomain is empty
            outcome = push(child_lo, child_hi, child_fixed, start, (-neg_bound, scores))
            if outcome is not None:
                break
    if outcome is None:  # every node pruned
        (states.never_active if sign > 0 else states.never_inactive)[layer][neuron] = True
        outcome = "proven"
    return outcome
