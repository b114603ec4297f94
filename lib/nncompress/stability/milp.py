r"""The MILP of a ReLU MLP over a box, formulated with cvxpy (Serra et al. 2021, constraints (1)-(4) and (7)-(12)).

For every hidden neuron i of layer l, with pre-activation bounds :math:`L \le y \le U` (from
:mod:`nncompress.stability.bounds`, or proven tighter):

.. math:: y = x - \chi,\quad 0 \le x \le M z,\quad 0 \le \chi \le \mu (1 - z),\quad z \in \{0, 1\},

with :math:`M = \max(U, 0)` and :math:`\mu = \max(-L, 0)`. Neurons already known to be stable get the exact
linear constraint instead (``x = 0`` or ``x = y``), which the solver would otherwise have to discover. With
``relax=True`` the binaries become :math:`z \in [0, 1]`: the LP relaxation.

**Soundness.** Solvers work to tolerances (HiGHS: feasibility 1e-7, integrality 1e-6), so "no input makes
:math:`y \ge 0`" cannot be trusted near :math:`y = 0`. Every query here therefore asks for inputs with
:math:`y \ge -\delta` (or :math:`y \le \delta`), ``delta = margin``: a proof that none exist certifies
:math:`y < 0` with room to spare, while a neuron whose extreme value lies in :math:`[-\delta, 0]` is never
certified (it stays unknown) — the direction that cannot produce a false "stable".
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["ReluMILP", "build_milp", "solve", "SolveStats", "SOLVER_GRACE", "Relaxation", "build_relaxation",
           "highs_lp", "run_lp", "SIMPLEX_ITERATIONS"]


@dataclass
class SolveStats:
    """Counters of solver work, by phase name: number of solves, branch-and-bound nodes, seconds."""

    solves: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float, nodes: int = 0, solves: int = 1) -> None:
        self.solves[phase] = self.solves.get(phase, 0) + solves
        self.nodes[phase] = self.nodes.get(phase, 0) + nodes
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds


@dataclass
class ReluMILP:
    """cvxpy variables and constraints of MILP (1)-(4) for the first ``depth`` hidden layers.

    Attributes
    ----------
    x0 : cp.Variable
        The network input.
    y : list of cp.Expression
        Pre-activations of hidden layers 0..depth-1 (affine in the previous layer's output).
    z : list of cp.Variable or None
        Activation indicators per layer (None where every neuron is already stable).
    constraints : list
    """

    x0: Any
    y: list[Any]
    post: list[Any]
    z: list[Any]
    constraints: list[Any]


def build_milp(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    y_lower: Sequence[np.ndarray],
    y_upper: Sequence[np.ndarray],
    depth: int,
    relax: bool = False,
    input_constraint: tuple[np.ndarray, np.ndarray] | None = None,
) -> ReluMILP:
    """Constraints (1)-(4) for hidden layers ``0..depth-1`` over the box, with big-M from the given bounds.

    Parameters
    ----------
    weights, biases : lists of arrays (validated)
    lower, upper : ndarray (n_0,)
        The input box :math:`\\mathbb X`.
    y_lower, y_upper : lists of ndarray
        Sound pre-activation bounds per hidden layer.
    depth : int
        Number of hidden layers to model.
    relax : bool
        LP relaxation (z in [0, 1]) instead of the MILP.
    input_constraint : (A, b), optional
        Extra linear constraint ``A @ x0 <= b`` on the input (e.g. the paper's bound on the sum of pixels).
    """
    import cvxpy as cp  # imported here: a second of start-up that most of the library never needs

    x0 = cp.Variable(weights[0].shape[1])
    constraints = [x0 >= lower, x0 <= upper]
    if input_constraint is not None:
        A, b = input_constraint
        constraints.append(A @ x0 <= b)
    prev, ys, posts, zs = x0, [], [], []
    for l in range(depth):
        w, b, lo, hi = weights[l], biases[l], y_lower[l], y_upper[l]
        y = w @ prev + b
        inactive, active = hi <= 0, lo >= 0
        free = ~(inactive | active)
        k = int(free.sum())
        x = cp.Variable(len(b))
        constraints += [x[np.flatnonzero(inactive)] == 0] if inactive.any() else []
        constraints += [x[np.flatnonzero(active)] == y[np.flatnonzero(active)]] if active.any() else []
        z = None
        if k:
            idx = np.flatnonzero(free)
            z = cp.Variable(k) if relax else cp.Variable(k, boolean=True)
            chi = cp.Variable(k)
            M, mu = np.maximum(hi[idx], 0.0), np.maximum(-lo[idx], 0.0)
            constraints += [y[idx] == x[idx] - chi, x[idx] >= 0, chi >= 0,
                            x[idx] <= cp.multiply(M, z), chi <= cp.multiply(mu, 1 - z)]
            if relax:
                constraints += [z >= 0, z <= 1]
        ys.append(y)
        posts.append(x)
        zs.append(z)
        prev = x
    return ReluMILP(x0, ys, posts, zs, constraints)


#: Seconds a solver may run past its own time limit before :func:`solve` stops waiting for it.
SOLVER_GRACE: float = 0.5


def _solve_by_deadline(problem: Any, opts: dict[str, Any], deadline: float) -> bool:
    """Compile here, run HiGHS in a worker thread, and stop waiting for it at ``deadline``.

    HiGHS checks its time limit only between steps, and one presolve pass of a large dense model can take many
    times the limit. Waiting in a separate thread (HiGHS releases the GIL while it runs) keeps the caller's
    deadline; a run still going at the deadline is abandoned (it stops at HiGHS's next check of its own limit,
    in the background) and its result never read. Returns False when the run was abandoned.
    """
    import threading

    import cvxpy as cp

    data, chain, inverse_data = problem.get_problem_data(cp.HIGHS)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["solution"] = chain.solve_via_data(problem, data, warm_start=False, verbose=False,
                                                       solver_opts=opts)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="nncompress-highs", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.perf_counter()))
    if worker.is_alive():
        return False
    if "error" in outcome:
        raise outcome["error"]
    problem.unpack_results(outcome["solution"], chain, inverse_data)
    return True


def solve(problem: Any, time_limit: float | None, stats: SolveStats, phase: str, **options: Any) -> str:
    """Solve with HiGHS (one thread), record statistics, and return cvxpy's status.

    ``time_limit`` is the solver's limit in seconds; with none left (``<= 0``) nothing is solved and the status
    is ``"user_limit"``, as for a solve stopped by its limit (nothing is learnt from either). With a finite limit
    the call returns within the limit plus ``SOLVER_GRACE`` seconds (and cvxpy's compilation), even when
    HiGHS overruns its own limit: such a run is abandoned and reported as ``"user_limit"``.
    """
    import cvxpy as cp

    if time_limit is not None and time_limit <= 0:
        return "user_limit"
    opts = dict(threads=1, random_seed=0, mip_rel_gap=1e-6)
    if time_limit is not None:
        opts["time_limit"] = max(float(time_limit), 0.01)
    opts.update(options)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():  # an inaccurate or stopped solve is reported by its status, not a warning
            warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
            if time_limit is None or not np.isfinite(time_limit):
                problem.solve(solver=cp.HIGHS, **opts)
            elif not _solve_by_deadline(problem, opts, start + float(time_limit) + SOLVER_GRACE):
                stats.add(phase, time.perf_counter() - start)
                return "user_limit"
    except cp.error.SolverError:
        stats.add(phase, time.perf_counter() - start)
        return "solver_error"
    info = getattr(problem.solver_stats, "extra_stats", None)
    nodes = int(getattr(info, "mip_node_count", 0) or 0) if info is not None else 0
    stats.add(phase, time.perf_counter() - start, max(nodes, 0))
    return str(problem.status)


@dataclass
class Relaxation:
    """The LP relaxation of MILP (1)-(4) in matrix form, every variable boxed: ``row_lower <= A v <= row_upper``.

    Columns: the input :math:`x^0` (``inputs``), then per hidden layer and neuron its output x (bounds
    :math:`[0, \\max(U, 0)]`, or :math:`[L, U]` for a stably active neuron, ``[0, 0]`` for a stably inactive one)
    and, for a neuron of unknown state, :math:`\\chi \\in [0, \\mu]` and :math:`z \\in [0, 1]`.
    ``outputs[l]`` holds the column of each neuron's x in layer l; ``chi[l]``, ``z[l]``, ``big_rows[l]`` and
    ``small_rows[l]`` the columns and big-M rows of the neurons of unknown phase in layer l, in their order.
    """

    A: Any
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    inputs: np.ndarray
    outputs: list[np.ndarray]
    chi: list[np.ndarray] = field(default_factory=list)
    z: list[np.ndarray] = field(default_factory=list)
    big_rows: list[np.ndarray] = field(default_factory=list)
    small_rows: list[np.ndarray] = field(default_factory=list)


def build_relaxation(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], lower: np.ndarray, upper: np.ndarray,
    y_lower: Sequence[np.ndarray], y_upper: Sequence[np.ndarray], depth: int,
    input_constraint: tuple[np.ndarray, np.ndarray] | None = None,
) -> Relaxation:
    """The LP relaxation of hidden layers ``0..depth-1`` (rows: :math:`x - \\chi - W h = b`, :math:`x - M z \\le 0`,
    :math:`\\chi + \\mu z \\le \\mu`; :math:`x - W h = b` for stably active neurons), from sound finite bounds.

    ``chi``, ``z``, ``big_rows`` and ``small_rows`` hold, per layer, the columns of :math:`\\chi` and :math:`z` and
    the two big-M rows of the neurons of unknown phase, in their order (the branch and bound,
    :mod:`nncompress.stability.bab`, changes their coefficients).
    """
    import scipy.sparse

    n0 = len(lower)
    col_lo, col_hi = [np.asarray(lower, float)], [np.asarray(upper, float)]
    rows, cols, vals, r_lo, r_hi = [], [], [], [], []
    n_rows, n_cols = 0, n0
    if input_constraint is not None:
        A_in, b_in = input_constraint
        r, c = np.nonzero(A_in)
        rows.append(r)
        cols.append(c)
        vals.append(A_in[r, c])
        r_lo.append(np.full(len(b_in), -np.inf))
        r_hi.append(np.asarray(b_in, float))
        n_rows += len(b_in)
    prev = np.arange(n0)
    outputs: list[np.ndarray] = []
    chis: list[np.ndarray] = []
    z_of: list[np.ndarray] = []
    bigs: list[np.ndarray] = []
    smalls: list[np.ndarray] = []
    for l in range(depth):
        w, b, lo, hi = weights[l], biases[l], y_lower[l], y_upper[l]
        n = len(b)
        x_cols = n_cols + np.arange(n)
        n_cols += n
        inactive, active = hi <= 0, lo >= 0
        free = np.flatnonzero(~(inactive | active))
        x_lo = np.where(active, lo, 0.0)
        x_hi = np.where(inactive, 0.0, np.maximum(hi, 0.0))
        col_lo.append(x_lo)
        col_hi.append(x_hi)
        # equality rows x_i - chi_i - w_i . h = b_i for every neuron that is not stably inactive
        eq = np.flatnonzero(~inactive)
        eq_rows = n_rows + np.arange(len(eq))
        wr, wc = np.nonzero(w[eq])
        rows += [eq_rows, eq_rows[wr]]
        cols += [x_cols[eq], prev[wc]]
        vals += [np.ones(len(eq)), -w[eq][wr, wc]]
        r_lo.append(b[eq].astype(float))
        r_hi.append(b[eq].astype(float))
        n_rows += len(eq)
        chi_cols = z_cols = big = small = np.zeros(0, int)
        if len(free):
            k = len(free)
            chi_cols, z_cols = n_cols + np.arange(k), n_cols + k + np.arange(k)
            n_cols += 2 * k
            M, mu = np.maximum(hi[free], 0.0), np.maximum(-lo[free], 0.0)
            col_lo += [np.zeros(k), np.zeros(k)]
            col_hi += [mu, np.ones(k)]
            row_of = dict(zip(eq.tolist(), eq_rows.tolist()))
            eq_free = np.array([row_of[i] for i in free])
            big = n_rows + np.arange(k)  # x - M z <= 0
            small = n_rows + k + np.arange(k)  # chi + mu z <= mu
            n_rows += 2 * k
            rows += [eq_free, big, big, small, small]
            cols += [chi_cols, x_cols[free], z_cols, chi_cols, z_cols]
            vals += [-np.ones(k), np.ones(k), -M, np.ones(k), mu]
            r_lo += [np.full(k, -np.inf), np.full(k, -np.inf)]
            r_hi += [np.zeros(k), mu]
        chis.append(chi_cols)
        z_of.append(z_cols)
        bigs.append(big)
        smalls.append(small)
        outputs.append(x_cols)
        prev = x_cols
    A = scipy.sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                shape=(n_rows, n_cols))
    return Relaxation(A, np.concatenate(r_lo) if r_lo else np.zeros(0), np.concatenate(r_hi) if r_hi else np.zeros(0),
                      np.concatenate(col_lo), np.concatenate(col_hi), np.arange(n0), outputs, chis, z_of, bigs, smalls)


def highs_lp(relaxation: Relaxation, cost: np.ndarray | None = None) -> Any:
    """A HiGHS instance holding the relaxation (one thread, quiet, seeded), with objective ``cost`` (minimised; zero
    if None, to be set per query)."""
    import highspy

    lp = highspy.HighsLp()
    A = relaxation.A
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = np.zeros(A.shape[1]) if cost is None else cost
    lp.col_lower_, lp.col_upper_ = relaxation.col_lower, relaxation.col_upper
    lp.row_lower_, lp.row_upper_ = relaxation.row_lower, relaxation.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.passModel(lp)
    return h


#: Simplex iterations :func:`~nncompress.stability.milp.run_lp` allows before it switches to the interior point
#: method.
SIMPLEX_ITERATIONS: int = 2000


def run_lp(h: Any, deadline: float) -> None:
    """Solve the LP held by the HiGHS instance ``h`` before ``deadline`` (a ``time.perf_counter()`` value): the
    simplex method from the current basis (a warm start after a change of objective or bounds), and if it has not
    finished after ``SIMPLEX_ITERATIONS`` iterations, HiGHS's interior point method with crossover from scratch.

    Why, by measurement: on the relaxations of some deep networks trained with small penalties the simplex method
    stalls (degenerate pivots): the root LP of one state of a 5x100 full-MNIST network (l1 = 1e-4) took the dual
    simplex 229,147 iterations (28 s, and over 60 s with presolve) and the interior point method 25 iterations
    (0.2 s), while warm-started LPs of the deepest layer of that network took about 1,600 simplex iterations
    (0.2-0.45 s). The crossover leaves a basis for the next warm start and valid duals for the safe bound, which
    does not depend on how the duals were found (``safe_lp_lower_bound``).

    HiGHS compares its ``time_limit`` with the run time summed over all runs of the instance, so the limit set here
    is that sum plus the time left: without it, an instance that had run for longer than the time left (the LP
    phase's one instance per layer, the branch and bound's one per state) stopped every later LP at once, with a
    useless bound.
    """
    import highspy

    def left() -> float:  # HiGHS holds time_limit against its run time summed over every run of the instance
        return h.getRunTime() + max(float(min(deadline - time.perf_counter(), 1e6)), 0.01)

    h.setOptionValue("time_limit", left())
    h.setOptionValue("simplex_iteration_limit", SIMPLEX_ITERATIONS)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kIterationLimit and time.perf_counter() < deadline:
        h.setOptionValue("simplex_iteration_limit", 2**31 - 1)
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("time_limit", left())
        try:
            h.run()
        finally:
            h.setOptionValue("solver", "choose")
