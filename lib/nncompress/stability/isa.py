r"""ISA (Serra et al. 2021, Algorithm 1) as one branch-and-bound run of SCIP with a lazy-constraint handler.

The MILP (7)-(12) is built once: the network's constraints (1)-(4) over the input box (big-M from sound
pre-activation bounds), and for each open state (the sets :math:`\mathbb P^l`, :math:`\mathbb Q^l`) a binary
:math:`p` with

.. math:: p = 1 \;\Rightarrow\; s\, y_i^l \ge -\delta \qquad (s = +1: \text{"active"},\ s = -1: \text{"inactive"}),

maximising :math:`\sum p` with an objective limit of 1/2, so that the run ends "infeasible" exactly when the optimum
is 0 (Proposition 1). A constraint handler plays the role of the paper's lazy-constraint callback (lines 10-26):

* every candidate solution (``conscheck``) and every LP-relaxation solution at a node (``conssepalp``, Section 5.2)
  gives an input :math:`x^0`, clipped to the box and pushed through the network in float64: each state it shows
  with :math:`|y| > \delta` is *witnessed* (settled);
* the binary :math:`p` of every settled state is fixed to 0 for the rest of the run (lines 15 and 21: "restrict the
  MILP to avoid identifying the neuron again"), and a solution with :math:`p = 1` on a settled state is rejected;
* a state that a solution shows (:math:`p = 1`) but whose float64 value is within :math:`\delta` of 0 (solver
  tolerances on the big-M constraints) is fixed to 0 too and marked *pending*; after the run one focused
  "maximise :math:`s\,y`" MILP per pending state (there are usually none) either witnesses it or leaves it unknown.

When the run ends with the objective limit proven unreachable, every state whose :math:`p` is still free is
impossible: no input reaches :math:`s\,y \ge -\delta`, so the neuron is stable (with margin :math:`\delta`). At a
time limit nothing is concluded from the run: its open states stay open (unknown).

**Why SCIP (PySCIPOpt) and not HiGHS.** HiGHS's Python callbacks (``highspy``: MIP solution, improving solution,
interrupt, user solution) can read solutions and stop the run, but cannot add lazy constraints or change bounds
during the search (its lazy-constraint callback type exists but is not implemented), so with HiGHS the algorithm
can only be a loop of separate solves, each to optimality. That loop (the engine's earlier ``"isa"``) took 300 s
(its time limit) on a 2x100 MNIST classifier that this single run settles in about 1 s. SCIP's constraint handlers
are exactly the mechanism the paper's lazy-constraint callback stands for: check, enforce and separate with access
to the LP solution at every node, and global bound changes mid-run. (SCIP's aggregation separator is switched off:
on the dense big-M rows it took most of the time for no gain in our measurements.)

**Settings, by measurement** (2 cores, MNIST-5k classifiers): SCIP's primal heuristics found no solution in any
profiled run yet took up to a quarter of the time (every solution they could find is rejected by the handler
anyway; the node LPs supply the inputs), strong branching took about half of the time on a 5x100 network, and the
Gomory and aggregation (CMIR) separators a tenth or more for no gain. Without them a 2x100 network (l1 = 1e-3) went
from 14 s to 9 s, and a 5x100 network (l1 = 3e-4) from 3 to 173 branch-and-bound nodes in 120 s
(:data:`SCIP_SETTINGS`).

**Soundness of the proofs.** The MILP is solved in floating point (feasibility tolerance ``feastol`` = min(1e-7,
:math:`\delta/10`)). A true input reaching :math:`s\,y \ge 0` gives an exact solution of the model with slack
:math:`\delta` in its state's constraint, ten times the tolerance; SCIP's infeasibility claim is trusted up to its
floating-point LP bounds (not a certificate in exact arithmetic). Witnesses, in contrast, are exact float64 forward
passes of a valid input.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .milp import SolveStats

__all__ = ["isa_single_run", "SCIP_SETTINGS"]

#: SCIP parameters of the ISA run beyond the numerics, chosen by measurement (see the top of this module); SCIP's
#: primal heuristics are switched off as well.
SCIP_SETTINGS: dict[str, Any] = {
    "separating/aggregation/freq": -1,  # CMIR on the dense big-M rows: most of the time, little gain
    "separating/gomory/freq": -1,
    "branching/relpscost/maxreliable": 0,  # pseudo-cost branching without strong branching
    "branching/relpscost/minreliable": 0,
}


def _model_network(model: Any, states: Any, depth: int) -> tuple[list[Any], list[list[Any]]]:
    """Variables and constraints (1)-(4) of hidden layers 0..depth-1; returns the input variables and, per layer, a
    list holding for each neuron the linear expression of its pre-activation y."""
    from pyscipopt import quicksum

    x0 = [model.addVar(lb=float(lo), ub=float(hi), name=f"x0_{j}") for j, (lo, hi) in
          enumerate(zip(states.lower, states.upper))]
    if states.input_constraint is not None:
        A, b = states.input_constraint
        for r in range(len(b)):
            nz = np.flatnonzero(A[r])
            model.addCons(quicksum(float(A[r, j]) * x0[j] for j in nz) <= float(b[r]))
    prev: list[Any] = list(x0)  # post-activation of the previous layer: a variable or None (identically 0)
    ys = []
    for l in range(depth):
        w, b, lo, hi = states.weights[l], states.biases[l], states.y_lower[l], states.y_upper[l]
        live = [j for j, v in enumerate(prev) if v is not None]
        post: list[Any] = []
        ylist = []
        for i in range(len(b)):
            terms = [(float(w[i, j]), prev[j]) for j in live if w[i, j] != 0.0]
            y = model.addVar(lb=float(lo[i]) if np.isfinite(lo[i]) else None,
                             ub=float(hi[i]) if np.isfinite(hi[i]) else None, name=f"y{l}_{i}")
            model.addCons(y - quicksum(c * v for c, v in terms) == float(b[i]))
            ylist.append(y)
            if hi[i] <= 0:  # stably inactive: x = 0
                post.append(None)
            elif lo[i] >= 0:  # stably active: x = y
                post.append(y)
            else:
                M, mu = float(hi[i]), float(-lo[i])
                x = model.addVar(lb=0.0, ub=M, name=f"x{l}_{i}")
                chi = model.addVar(lb=0.0, ub=mu, name=f"chi{l}_{i}")
                z = model.addVar(vtype="B", name=f"z{l}_{i}")
                model.addCons(y == x - chi)
                model.addCons(x <= M * z)
                model.addCons(chi <= mu * (1 - z))
                post.append(x)
        ys.append(ylist)
        prev = post
    return x0, ys


class _Run:
    """The state of one ISA run: the p variables of the open states, what is settled, what is pending."""

    def __init__(self, model: Any, states: Any, x0: list[Any], groups: list[tuple[int, float, np.ndarray, list[Any]]],
                 deadline: float, stop_at_open: int = -1) -> None:
        self.model, self.states, self.x0, self.groups, self.deadline = model, states, x0, groups, deadline
        self.fixed = [np.zeros(len(idx), bool) for _, _, idx, _ in groups]  # p fixed to 0 in the model
        self.pending = [np.zeros(len(idx), bool) for _, _, idx, _ in groups]  # shown, not confirmed in float64
        self.observed_points = 0
        self.climbs = 0
        self.stop_at_open = stop_at_open  # interrupt the run once at most this many states are open

    def _open(self, g: int) -> np.ndarray:
        l, sign, idx, _ = self.groups[g]
        return (self.states.open_active(l) if sign > 0 else self.states.open_inactive(l))[idx]

    def _vars(self, variables: list[Any]) -> list[Any]:
        """The transformed variables (what SCIP's solutions hold values of, once solving has started)."""
        if self.model.getStage() == 1:
            return variables
        return [self.model.getTransformedVar(v) for v in variables]

    def look(self, solution: Any, integral: bool) -> bool:
        """Observe the input of a solution (None: the current LP solution) and settle the states it witnesses.

        For an ``integral`` solution (all of its p in {0, 1}), a state it shows (p > 1/2) that the float64 forward
        pass does not confirm is climbed from the solution's input (a few signed-gradient steps on that state's
        pre-activation) and, if still unconfirmed, marked pending. Returns True when an integral solution shows a
        state that is now settled or pending: it must be rejected.
        """
        from .engine import climb

        if time.perf_counter() >= self.deadline:
            self.model.interruptSolve()
        get = self.model.getSolVal
        x = np.clip(np.array([get(solution, v) for v in self._vars(self.x0)]), self.states.lower, self.states.upper)
        self.states.observe(x[None])
        self.observed_points += 1
        if self.states.n_open() <= self.stop_at_open:
            self.model.interruptSolve()
        if not integral:
            return False
        shown_states = []  # every state the solution shows, fixed or not: a p fixed to 0 later is still 1 here
        for g, (_, _, idx, ps) in enumerate(self.groups):
            values = np.array([get(solution, v) for v in self._vars(ps)])
            shown_states += [(g, k) for k in np.flatnonzero(values > 0.5)]
        if not shown_states:
            return False
        unconfirmed = [(g, k) for g, k in shown_states if self._open(g)[k]]
        if unconfirmed:
            layer_of = np.array([self.groups[g][0] for g, _ in unconfirmed])
            sign_of = np.array([self.groups[g][1] for g, _ in unconfirmed])
            neuron_of = np.array([self.groups[g][2][k] for g, k in unconfirmed])
            step = (self.states.upper - self.states.lower) / 50
            climb(self.states, np.repeat(x[None], len(unconfirmed), axis=0), layer_of, neuron_of, sign_of, step, 20,
                  self.deadline)
            self.climbs += len(unconfirmed)
            for g, k in unconfirmed:
                if self._open(g)[k]:
                    self.pending[g][k] = True
        return True

    def fix_settled(self) -> str:
        """Fix p = 0 for every state settled or pending (Algorithm 1, lines 15 and 21).

        Returns ``"cutoff"`` when the current node forces p = 1 on such a state (SCIP's objective propagation does
        that when only one state is left to reach the objective limit): the node holds no acceptable solution.
        Otherwise ``"reduced"`` if a bound changed, ``"none"`` if not.
        """
        result = "none"
        for g, (_, _, idx, ps) in enumerate(self.groups):
            self.fixed[g] |= ~self._open(g) | self.pending[g]
            for k in np.flatnonzero(self.fixed[g]):
                var = self.model.getTransformedVar(ps[k])
                if var.getLbLocal() > 0.5:
                    return "cutoff"
                if var.getUbGlobal() > 0.5:
                    self.model.chgVarUbGlobal(var, 0.0)
                    result = "reduced"
                if var.getUbLocal() > 0.5:
                    self.model.chgVarUb(var, 0.0)
                    result = "reduced"
        return result


def _handler_class() -> Any:
    from pyscipopt import SCIP_RESULT, Conshdlr

    class ISAHandler(Conshdlr):
        """Algorithm 1, lines 10-26: observe every solution and LP solution, cut off the states they settle."""

        def __init__(self, run: _Run) -> None:
            self.run = run

        def _enforce(self) -> dict[str, Any]:
            reject = self.run.look(None, integral=True)
            fixing = self.run.fix_settled()
            if fixing != "none":
                return {"result": SCIP_RESULT.CUTOFF if fixing == "cutoff" else SCIP_RESULT.REDUCEDDOM}
            return {"result": SCIP_RESULT.INFEASIBLE if reject else SCIP_RESULT.FEASIBLE}

        def conscheck(self, constraints, solution, checkintegrality, checklprows, printreason, completely):
            reject = self.run.look(solution, integral=True)
            return {"result": SCIP_RESULT.INFEASIBLE if reject else SCIP_RESULT.FEASIBLE}

        def consenfolp(self, constraints, nusefulconss, solinfeasible):
            return self._enforce()

        def consenfops(self, constraints, nusefulconss, solinfeasible, objinfeasible):
            return self._enforce()  # reached only by a pseudo solution that satisfies every linear constraint

        def conssepalp(self, constraints, nusefulconss):
            self.run.look(None, integral=False)  # Section 5.2: the node's LP solution as an input
            return self._fixings()

        def consprop(self, constraints, nusefulconss, nmarkedconss, proptiming):
            return self._fixings()

        def _fixings(self) -> dict[str, Any]:
            fixing = self.run.fix_settled()
            return {"result": {"cutoff": SCIP_RESULT.CUTOFF, "reduced": SCIP_RESULT.REDUCEDDOM,
                               "none": SCIP_RESULT.DIDNOTFIND}[fixing]}

        def conslock(self, constraint, locktype, nlockspos, nlocksneg):
            transformed = self.model.getStage() != 1  # PY_SCIP_STAGE.PROBLEM
            for _, _, _, ps in self.run.groups:
                for p in ps:  # raising p can make a solution unacceptable: up-locks only
                    var = self.model.getTransformedVar(p) if transformed else p
                    self.model.addVarLocksType(var, locktype, nlocksneg, nlockspos)

    return ISAHandler


def isa_single_run(states: Any, stats: SolveStats, deadline: float, phase: str = "milp",
                   stop_at_open: int = -1) -> list[tuple[int, float, int]]:
    """Algorithm 1 on the open states of ``states``: one SCIP run (as the top of this module describes), then the
    pending states.

    Parameters
    ----------
    states : the engine's record of open and settled states (updated in place)
    stats : SolveStats
        One solve is recorded under ``phase`` for the run (with its branch-and-bound nodes), and one per focused
        solve of a pending state under ``phase + "-focus"``.
    deadline : float
        ``time.perf_counter()`` value at which to stop; what is open then stays open.
    stop_at_open : int, default -1
        Stop the run (proving nothing) once at most this many states are open; -1: never.

    Returns
    -------
    list of (layer, sign, neuron)
        The pending states still open: shown by a solution of the run but not confirmed in float64.
    """
    import pyscipopt

    depth = max((l + 1 for l in range(states.depth) if states.open_active(l).any() or states.open_inactive(l).any()),
                default=0)
    if depth == 0 or time.perf_counter() >= deadline:
        return []
    start = time.perf_counter()
    model = pyscipopt.Model("ISA")
    model.hideOutput()
    delta = states.margin
    model.setParam("numerics/feastol", min(1e-7, delta / 10))
    model.setParam("randomization/randomseedshift", 0)
    model.setParam("misc/usesymmetry", 0)
    model.setParam("parallel/maxnthreads", 1)
    model.setHeuristics(pyscipopt.SCIP_PARAMSETTING.OFF)
    model.setParams(SCIP_SETTINGS)
    x0, ys = _model_network(model, states, depth)
    groups, objective = [], []
    for l in range(depth):
        lo, hi = states.y_lower[l], states.y_upper[l]
        for sign, mask in ((1.0, states.open_active(l)), (-1.0, states.open_inactive(l))):
            idx = np.flatnonzero(mask)
            if not len(idx):
                continue
            ps = []
            for i in idx:
                p = model.addVar(vtype="B", name=f"p{l}_{i}_{'a' if sign > 0 else 'i'}")
                floor = lo[i] if sign > 0 else -hi[i]  # sign * y >= floor everywhere
                reach = max(-float(floor), 0.0) + 2 * delta
                model.addCons(sign * ys[l][i] + reach * (1 - p) >= -delta)
                ps.append(p)
                objective.append(p)
            groups.append((l, sign, idx, ps))
    model.setObjective(pyscipopt.quicksum(objective), "maximize")
    model.setObjlimit(0.5)  # optimum 0 <=> no solution reaches 1 (the objective is integral)
    run = _Run(model, states, x0, groups, deadline, stop_at_open)
    run.ys = ys
    handler = _handler_class()(run)
    model.includeConshdlr(handler, "isa", "observed states of ISA (Algorithm 1)", sepapriority=1,
                          enfopriority=-9_999_999, chckpriority=-9_999_999, sepafreq=1, propfreq=1, eagerfreq=1,
                          needscons=True)  # checked and enforced after every linear constraint
    model.addPyCons(model.createCons(handler, "isa-states", initial=True, separate=True, enforce=True, check=True,
                                     propagate=True))
    left = deadline - time.perf_counter()
    if left <= 0:
        return []
    if np.isfinite(left):
        model.setParam("limits/time", max(float(left), 0.01))
    model.optimize()
    status = model.getStatus()
    stats.add(phase, time.perf_counter() - start, int(model.getNNodes()))
    if status == "infeasible":  # Proposition 1: no input shows any state whose p is still free
        for g, (l, sign, idx, _) in enumerate(groups):
            proven = idx[~run.fixed[g] & run._open(g)]
            (states.never_active if sign > 0 else states.never_inactive)[l][proven] = True
    model.freeProb()
    return [(l, sign, int(idx[k])) for g, (l, sign, idx, _) in enumerate(groups)
            for k in np.flatnonzero(run.pending[g] & run._open(g))]
