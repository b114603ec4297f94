r"""Finding the stable neurons of a ReLU MLP over a box (Serra et al. 2021, MILP (5)-(6), ISA = Algorithm 1).

A neuron is *stably inactive* when :math:`y \le 0` for every valid input and *stably active* when :math:`y \ge 0`.
Each neuron has two *states* to settle: "can it be active?" and "can it be inactive?". A state is settled either by
a **witness** (an input in the box whose float64 forward pass gives :math:`y > \delta`, resp. :math:`y < -\delta`)
or by a **proof** (a sound bound, or a solver proving that no input reaches :math:`y \ge -\delta`, resp.
:math:`y \le \delta`; see :mod:`nncompress.stability.milp`). A neuron is reported stable only with a proof; a state
that neither happens (time limit, or an extreme value within :math:`\delta` of zero) leaves the neuron *unknown*.

Methods (all return the same sets when they finish; the tests check it):

``"baseline"``
    The paper's baseline: layer by layer, for each neuron, MILP (6) "is some input making :math:`y > 0`?" and,
    if so, MILP (5) "... :math:`y < 0`?", each stopped as soon as the sign is decided (posed as feasibility
    problems, which a MILP solver abandons at the first feasible point), proven stabilities feeding the later
    layers' formulations, no witness shared between neurons and no data.
``"isa"``
    Algorithm 1: preprocessing with the data X, then the MILP (7)-(12) as **one** branch-and-bound run of SCIP whose
    constraint handler (the paper's lazy-constraint callback) pushes every solution and every node's LP solution
    through the network and cuts off the states they settle, until the optimum is proven 0 (Proposition 1); see
    :mod:`nncompress.stability.isa`. The report's ``stats`` show one MILP solve.
``"pipeline"`` (default)
    The fastest sound pipeline we found: data -> interval and back-substitution bounds
    (:func:`~nncompress.stability.backsubstitution_bounds`; exact in the first layer, whose maximising box
    corners are also witnesses) -> one LP relaxation per state still open (a proof when its bound says so, and its
    optimal input pushed forward as a witness for every neuron; the bound made rigorous from the LP's dual solution)
    -> a batched projected-gradient search for witnesses, from the closest input seen so far and from random
    points -> the single-run ISA while more than ``BAB_STATES`` states are open (as a search for witnesses; it
    proves everything if it finishes) -> for the few states left, a longer gradient search from more starting
    points and an Adam ascent from the data points where each state's goal is largest, LP bounds on every neuron
    below them (optimisation-based bound tightening, within ``OBBT_SHARE`` of the time left) and a branch and
    bound on ReLU phases per state whose nodes re-tighten the bounds and strengthen their LPs with the cuts of each
    neuron's ideal formulation (:mod:`nncompress.stability.bab`). The ISA run alone took minutes on the last one
    or two states of deep networks that the branch and bound settles in seconds (measured in
    ``benchmarks/bench_stability.py``).

Proofs and arithmetic: interval bounds are rounded outwards (:mod:`nncompress.stability.bounds`); an LP bound is
Neumaier and Shcherbina's safe bound from the dual solution, valid in real arithmetic, and so is every proof of
the branch and bound (its nodes are pruned by such bounds, over cuts whose constants are rounded outwards, or by
back-substitution bounds that cross); a MILP's
verdict (the
baseline's infeasibility, ISA's optimum 0) is a floating-point solver's, made robust by the margin: the question
asked is "can :math:`y \ge -\delta`?", so a true input on the wrong side leaves slack :math:`\delta` above the
solver's tolerances (:mod:`nncompress.stability.isa`, :mod:`nncompress.stability.milp`).

Deadlines and memory: ``time_limit`` holds for every phase. Solver calls get the time that is left (and are
abandoned if HiGHS overruns it, see ``nncompress.stability.milp.solve``), loops over neurons, data rows and
gradient steps check the clock, and a phase that starts after the deadline does nothing, so a call returns within
the limit plus about one solver call's set-up (cvxpy's compilation) and
``SOLVER_GRACE``: typically well under two seconds. Whatever is still open then
stays *unknown*: a time-out never makes a neuron stable.
Data, box corners and gradient starts are processed in blocks of at most ``BLOCK_ELEMENTS`` numbers per
layer, so the memory of every phase stays linear in the size of the network, except the branch and bound's queue
of nodes, which grows with the time it is given (:mod:`nncompress.stability.bab`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._validation import as_float_array, as_rng, check_tolerance
from .bounds import affine_bounds, backsubstitution_bounds, safe_lp_lower_bound
from .bab import branch_and_bound
from .isa import isa_single_run
from .milp import SolveStats, build_milp, build_relaxation, highs_lp, run_lp, solve
from .network import _digest, as_mlp, check_box, pre_activations

__all__ = ["StabilityReport", "find_stable_neurons", "METHODS", "BLOCK_ELEMENTS"]

#: The largest block (number of float64 entries, here 16 MiB) of pre-activations computed at once when data,
#: box corners or gradient starts are pushed through the network: memory stays linear in the network's size.
BLOCK_ELEMENTS: int = 1 << 21


def _rows_per_block(widths: Sequence[int]) -> int:
    """How many inputs fit in one block when the widest array of a forward pass has ``max(widths)`` columns."""
    return max(1, BLOCK_ELEMENTS // max(1, max(widths)))


def _expired(deadline: float) -> bool:
    return time.perf_counter() >= deadline


def _progress(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar over solver calls (a no-op when disabled)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False)

METHODS = ("pipeline", "isa", "baseline")


@dataclass
class StabilityReport:
    """What is proven about each hidden neuron (layers 0-based, neuron indices as arrays).

    Attributes
    ----------
    stably_active, stably_inactive : list of ndarray
        Neurons proven stable, per hidden layer.
    unknown : list of ndarray
        Neurons neither proven stable nor shown unstable (time limit, or an extreme value within ``margin`` of 0).
    complete : bool
        True when every neuron is proven stable or shown unstable by witnesses.
    method : str
    seconds : float
        Wall-clock time of the whole call.
    stats : SolveStats
        Solves, branch-and-bound nodes and seconds per phase.
    phase_seconds : dict
        Wall-clock seconds per phase, solver time included.
    fingerprint : str or None
        SHA-256 of the weights, biases, input box and input constraint the report was computed for
        (:func:`~nncompress.stability.fingerprint`); :func:`~nncompress.stability.compress_with_report`
        refuses a report whose fingerprint does not match the network it is given.
    lower, upper : ndarray or None
        The input box of the analysis, shape (n_0,).
    input_constraint : (A, b) or None
        The extra linear constraint on the inputs, if the analysis had one.
    timed_out : bool
        True when the time limit stopped the analysis before every state was settled.
    settled_by : list of ndarray of str
        Per hidden layer and neuron, the phase that decided it (``"data"``, ``"bounds"``, ``"lp"``,
        ``"gradient"``, ``"milp"``, ``"bab"`` or ``"baseline"``): the one in which it was proven stable or its
        second state was witnessed; ``""`` for an unknown neuron.
    """

    stably_active: list[np.ndarray]
    stably_inactive: list[np.ndarray]
    unknown: list[np.ndarray]
    complete: bool
    method: str
    seconds: float
    stats: SolveStats = field(default_factory=SolveStats)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    fingerprint: str | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    input_constraint: tuple[np.ndarray, np.ndarray] | None = None
    timed_out: bool = False
    settled_by: list[np.ndarray] = field(default_factory=list)

    @property
    def n_stable(self) -> int:
        """Number of neurons proven stable."""
        return sum(len(a) + len(i) for a, i in zip(self.stably_active, self.stably_inactive))

    def summary(self) -> str:
        """One line per layer: proven stably active / stably inactive, shown unstable (a witness of each state),
        unknown, and how many neurons each phase decided (a phase may decide a neuron either way: in the pipeline
        the "bounds" phase also pushes each first-layer neuron's extreme box corners through the network, which
        witnesses instability as well as proving stability)."""
        state = "complete" if self.complete else "INCOMPLETE" + (" (time limit reached)" if self.timed_out else "")
        lines = [f"{self.method}: {state} in {self.seconds:.2f} s"]
        for l, (a, i, u) in enumerate(zip(self.stably_active, self.stably_inactive, self.unknown)):
            line = f"  layer {l}: {len(a)} stably active, {len(i)} stably inactive, "
            if l < len(self.settled_by):
                line += f"{len(self.settled_by[l]) - len(a) - len(i) - len(u)} unstable, "
            line += f"{len(u)} unknown"
            if l < len(self.settled_by):
                names, counts = np.unique(self.settled_by[l][self.settled_by[l] != ""], return_counts=True)
                if len(names):
                    line += "; decided by " + ", ".join(f"{n} {c}" for n, c in zip(names, counts))
            lines.append(line)
        return "\n".join(lines)


class _States:
    """Open and settled states of every hidden neuron, and the sound bounds known so far."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray], lower: np.ndarray, upper: np.ndarray,
                 margin: float, input_constraint: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.weights, self.biases, self.lower, self.upper, self.margin = weights, biases, lower, upper, margin
        self.input_constraint = input_constraint
        self.progress = False
        self.symbolic = False  # back-substitution bounds in propagate_bounds (the pipeline), not the paper's methods
        sizes = [len(b) for b in biases[:-1]]
        self.seen_active = [np.zeros(n, bool) for n in sizes]  # witnessed y > margin
        self.seen_inactive = [np.zeros(n, bool) for n in sizes]  # witnessed y < -margin
        self.never_active = [np.zeros(n, bool) for n in sizes]  # proven y <= 0 (stably inactive)
        self.never_inactive = [np.zeros(n, bool) for n in sizes]  # proven y >= 0 (stably active)
        self.y_lower = [np.full(n, -np.inf) for n in sizes]
        self.y_upper = [np.full(n, np.inf) for n in sizes]
        self.witness_checks = 0
        self.device: Any = None  # torch device of the forward passes in observe (None: numpy)
        # per layer and state (0: active, 1: inactive), the valid input seen so far that came closest to witnessing
        # it (largest y, resp. -y) and that value: the gradient phase starts from these
        self.closest_x: list[list[np.ndarray | None]] = [[None, None] for _ in sizes]
        self.closest_y = [[np.full(n, -np.inf), np.full(n, -np.inf)] for n in sizes]
        self.settled_by = [np.full(n, "", dtype=object) for n in sizes]

    def decided(self, l: int) -> np.ndarray:
        """Neurons of layer l proven stable or witnessed in both states."""
        return self.never_active[l] | self.never_inactive[l] | (self.seen_active[l] & self.seen_inactive[l])

    def record_phase(self, name: str) -> None:
        """Name ``name`` as the phase that decided every neuron decided now and not before."""
        for l in range(self.depth):
            self.settled_by[l][self.decided(l) & (self.settled_by[l] == "")] = name

    @property
    def depth(self) -> int:
        return len(self.seen_active)

    def open_active(self, l: int) -> np.ndarray:
        """Neurons of layer l for which 'can it be active?' is unsettled (the paper's set P^l)."""
        return ~(self.seen_active[l] | self.never_active[l])

    def open_inactive(self, l: int) -> np.ndarray:
        """Neurons of layer l for which 'can it be inactive?' is unsettled (the paper's set Q^l)."""
        return ~(self.seen_inactive[l] | self.never_inactive[l])

    def n_open(self) -> int:
        return sum(int(self.open_active(l).sum() + self.open_inactive(l).sum()) for l in range(self.depth))

    def observe(self, X: np.ndarray, deadline: float = np.inf) -> None:
        """Witnesses: push inputs (N, n_0) of the box through the network in float64 and record every state.

        Rows go through in blocks of ``BLOCK_ELEMENTS``; after each block the clock is checked against
        ``deadline`` (the rows left over are then skipped: fewer witnesses, never a wrong one).
        """
        X = np.atleast_2d(X)
        rows = _rows_per_block([X.shape[1]] + [len(b) for b in self.biases[:-1]])
        for begin in range(0, len(X), rows):
            block = np.clip(X[begin:begin + rows], self.lower, self.upper)  # solver outputs may sit a hair outside
            if self.input_constraint is not None:  # a witness must be a valid input: A x <= b exactly
                A, b = self.input_constraint
                block = block[np.all(block @ A.T <= b, axis=1)]
            self.witness_checks += len(block)
            if not len(block):
                continue
            for l, (active, inactive, closest) in enumerate(self._pre_activations(block)):
                self.seen_active[l] |= active
                self.seen_inactive[l] |= inactive
                for k, (row, best) in enumerate(closest):
                    better = best > self.closest_y[l][k]
                    if better.any():
                        if self.closest_x[l][k] is None:
                            self.closest_x[l][k] = np.empty((len(best), block.shape[1]))
                        self.closest_x[l][k][better] = block[row[better]]
                        self.closest_y[l][k][better] = best[better]
            if _expired(deadline):
                return

    def use_device(self, device: Any) -> None:
        """Run the forward passes of :meth:`observe` with torch on ``device`` (float64)."""
        try:
            import torch

            where = torch.device(device)
            self.torch_weights = [torch.as_tensor(w, dtype=torch.float64, device=where) for w in self.weights[:-1]]
            self.torch_biases = [torch.as_tensor(b, dtype=torch.float64, device=where) for b in self.biases[:-1]]
        except (RuntimeError, TypeError, AssertionError) as exc:  # unknown device, or no GPU behind it
            raise ValueError(f"device {device!r} cannot be used: {exc}") from None
        self.device = where

    def _pre_activations(self, block: np.ndarray) -> Any:
        """Yield, per hidden layer, (any y > margin, any y < -margin, argmax/max of y, argmax/max of -y) over the
        rows of ``block``, as numpy arrays: with numpy, or with torch on :attr:`device`."""
        if self.device is None:
            for y in pre_activations(self.weights, self.biases, block):
                stats = []
                for value in (y, -y):
                    row = np.argmax(value, axis=0)
                    stats.append((row, value[row, np.arange(value.shape[1])]))
                yield np.any(y > self.margin, axis=0), np.any(y < -self.margin, axis=0), stats
            return
        import torch

        h = torch.as_tensor(block, dtype=torch.float64, device=self.device)
        for w, b in zip(self.torch_weights, self.torch_biases):
            y = h @ w.T + b
            stats = []
            for value in (y, -y):
                best, row = torch.max(value, dim=0)
                stats.append((row.cpu().numpy(), best.cpu().numpy()))
            yield (y > self.margin).any(dim=0).cpu().numpy(), (y < -self.margin).any(dim=0).cpu().numpy(), stats
            h = torch.relu(y)

    def prove_from_bounds(self, l: int, lo: np.ndarray, hi: np.ndarray) -> None:
        """Record sound bounds of layer l and the stabilities they prove."""
        self.y_lower[l] = np.maximum(self.y_lower[l], lo)
        self.y_upper[l] = np.minimum(self.y_upper[l], hi)
        self.never_active[l] |= self.y_upper[l] <= 0
        self.never_inactive[l] |= self.y_lower[l] >= 0

    def tighten(self, l: int, i: int, sign: float, bound: float) -> None:
        """Record a sound bound ``sign * y_i <= bound`` on neuron i of layer l, and what it proves."""
        if sign > 0:
            self.y_upper[l][i] = min(self.y_upper[l][i], bound)
        else:
            self.y_lower[l][i] = max(self.y_lower[l][i], -bound)
        self.never_active[l][i] |= self.y_upper[l][i] <= 0
        self.never_inactive[l][i] |= self.y_lower[l][i] >= 0

    def propagate_bounds(self, start: int = 0) -> None:
        """Bounds for layers >= start from the input box and the bounds already known: interval arithmetic, and
        (``symbolic``) back-substitution of linear relaxations
        (:func:`~nncompress.stability.backsubstitution_bounds`), whichever is tighter per neuron."""
        if self.symbolic:
            lows, highs = backsubstitution_bounds(self.weights, self.biases, self.lower, self.upper, self.y_lower,
                                                  self.y_upper, start=start)
            for l in range(start, self.depth):
                self.prove_from_bounds(l, lows[l], highs[l])
            return
        lo, hi = self.lower, self.upper
        if start > 0:
            lo, hi = np.maximum(self.y_lower[start - 1], 0.0), np.maximum(self.y_upper[start - 1], 0.0)
        for l in range(start, self.depth):
            y_lo, y_hi = affine_bounds(self.weights[l], self.biases[l], lo, hi)
            self.prove_from_bounds(l, y_lo, y_hi)
            lo, hi = np.maximum(self.y_lower[l], 0.0), np.maximum(self.y_upper[l], 0.0)

    def report(self, method: str, seconds: float, stats: SolveStats, phases: dict[str, float],
               timed_out: bool) -> StabilityReport:
        active = [np.flatnonzero(p) for p in self.never_inactive]
        inactive = [np.flatnonzero(p & ~q) for p, q in zip(self.never_active, self.never_inactive)]
        unstable = [a & b for a, b in zip(self.seen_active, self.seen_inactive)]
        unknown = [np.flatnonzero(~(u | p | q)) for u, p, q in zip(unstable, self.never_active, self.never_inactive)]
        complete = all(len(u) == 0 for u in unknown)
        return StabilityReport(
            active, inactive, unknown, complete, method, seconds, stats, phases,
            fingerprint=_digest(self.weights, self.biases, self.lower, self.upper, self.input_constraint),
            lower=self.lower.copy(), upper=self.upper.copy(), input_constraint=self.input_constraint,
            timed_out=bool(timed_out and not complete),
            settled_by=[np.where(self.decided(l), self.settled_by[l], "").astype(str) for l in range(self.depth)],
        )


def _first_layer_corners(states: _States, deadline: float = np.inf) -> None:
    """Layer 0 over a box is exact: the corner maximising (minimising) each pre-activation is a witness.

    Over a plain box each neuron of layer 0 is settled by its own two corners (O(n_1 n_0) work, always done,
    like the interval bounds). In deeper networks, or under an input constraint (where only the corners that
    satisfy it count), the corners are pushed through the network as witnesses, in blocks (memory linear in
    the network's size) until the deadline.
    """
    if states.input_constraint is None:
        _first_layer_corners_single(states)
        if states.depth < 2:
            return
    w = states.weights[0]
    rows = _rows_per_block([w.shape[1]] + [len(b) for b in states.biases[:-1]])
    for sign in (1.0, -1.0):
        for begin in range(0, len(w), rows):
            if _expired(deadline):
                return
            states.observe(np.where(sign * w[begin:begin + rows] > 0, states.upper, states.lower))


def _prefix_objective(milp: Any, l: int, n_prev: int) -> tuple[Any, Any]:
    """A parameter c and the expression c @ x^{l-1} (the input of layer l) for re-using one compiled problem."""
    import cvxpy as cp  # imported here: a second of start-up that most of the library never needs

    c = cp.Parameter(n_prev)
    prev = milp.x0 if l == 0 else milp.post[l - 1]
    return c, c @ prev


def _lp_phase(states: _States, stats: SolveStats, deadline: float, tighten_all: bool = False) -> None:
    """One LP relaxation per open state, layer by layer: a proof if its bound allows, a witness from its optimum.

    The relaxation is solved by HiGHS; the bound it proves is Neumaier and Shcherbina's safe bound from the LP's
    dual solution (``safe_lp_lower_bound`` in :mod:`nncompress.stability.bounds`), valid in real arithmetic whatever
    the solver's tolerances, so a neuron is called stable only when that bound says so. After each layer the
    bounds of the layers after it are recomputed from the tightened ones.

    With ``tighten_all`` (optimisation-based bound tightening), every neuron not proven stable in the layers below
    the deepest open state gets both LPs too, witnessed or not: its bounds are the big-M constants of the layers
    it feeds, which the branch and bound that follows (:mod:`nncompress.stability.bab`) then starts from.
    """
    last = max((l for l in range(states.depth) if states.open_active(l).any() or states.open_inactive(l).any()),
               default=-1)
    for l in range(0 if states.input_constraint is not None else 1, last + 1):
        if _expired(deadline):
            return
        # below the deepest open layer every neuron not proven stable gets both LPs (its bounds are the big-M of the
        # layers after it: optimisation-based bound tightening); in that layer, only the open states
        tighten_layer = tighten_all and l < last
        if not (tighten_layer or states.open_active(l).any() or states.open_inactive(l).any()):
            continue
        relax = build_relaxation(states.weights, states.biases, states.lower, states.upper, states.y_lower,
                                 states.y_upper, depth=l, input_constraint=states.input_constraint)
        h = highs_lp(relax)
        prev = relax.inputs if l == 0 else relax.outputs[l - 1]
        w, b = states.weights[l], states.biases[l]
        bar = _progress(int(states.open_active(l).sum() + states.open_inactive(l).sum()), f"LPs, layer {l}",
                        states.progress)
        for sign in (1.0, -1.0):  # 1: can it be active (max y), -1: can it be inactive (max -y)
            for i in range(len(b)):
                if _expired(deadline):
                    break
                is_open = states.open_active(l)[i] if sign > 0 else states.open_inactive(l)[i]
                if not is_open and not (tighten_layer and not (states.never_active[l][i] or
                                                             states.never_inactive[l][i])):
                    continue
                bar.update()
                cost = np.zeros(relax.A.shape[1])
                cost[prev] = -sign * w[i]  # minimise -sign * w_i . h
                h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
                t0 = time.perf_counter()
                run_lp(h, deadline)
                stats.add("lp", time.perf_counter() - t0)
                solution = h.getSolution()
                if not solution.dual_valid:
                    continue
                floor = safe_lp_lower_bound(cost, relax.A, relax.row_lower, relax.row_upper, relax.col_lower,
                                            relax.col_upper, np.asarray(solution.row_dual))
                if np.isfinite(floor):  # max of sign * y_i <= -floor + sign * b_i (rounded up)
                    states.tighten(l, i, sign, float(np.nextafter(np.nextafter(-floor + sign * b[i], np.inf),
                                                                  np.inf)))
                if solution.value_valid and not (states.never_active[l][i] or states.never_inactive[l][i]):
                    states.observe(np.asarray(solution.col_value)[relax.inputs])
        bar.close()
        states.propagate_bounds(l + 1)


def _gradient_phase(states: _States, rng: np.random.Generator, deadline: float = np.inf, steps: int = 60,
                    restarts: int = 2) -> None:
    """Batched projected gradient ascent on the inputs, one start per open state and restart.

    Each start climbs ``sign * y`` of its own neuron by signed-gradient steps projected onto the box (the
    gradient by backpropagation through the ReLU layers, in float64 numpy). Starts go through in blocks of
    ``BLOCK_ELEMENTS`` (memory linear in the network's size); every step checks the clock, and at the
    deadline the points reached so far are observed and the phase ends.
    """
    if _expired(deadline):
        return
    layer, neuron, signs = [], [], []
    for l in range(1, states.depth):
        for s, mask in ((1.0, states.open_active(l)), (-1.0, states.open_inactive(l))):
            idx = np.flatnonzero(mask)
            layer.append(np.full(len(idx), l))
            neuron.append(idx)
            signs.append(np.full(len(idx), s))
    if not layer or not sum(len(i) for i in neuron):
        return
    layer_of, neuron_of, sign_of = np.concatenate(layer), np.concatenate(neuron), np.concatenate(signs)
    n_targets, n_in = len(layer_of), len(states.lower)
    rows = _rows_per_block([n_in] + [len(b) for b in states.biases[:-1]])
    step = (states.upper - states.lower) / 10
    # first from the closest input seen so far (data, corners, LP optima), with small steps: a local search
    for begin in range(0, n_targets, rows):
        if _expired(deadline):
            return
        end = min(begin + rows, n_targets)
        x = np.empty((end - begin, n_in))
        for k in range(begin, end):
            s = 0 if sign_of[k] > 0 else 1
            closest = states.closest_x[layer_of[k]][s]
            x[k - begin] = (closest[neuron_of[k]] if closest is not None
                            and np.isfinite(states.closest_y[layer_of[k]][s][neuron_of[k]]) else
                            rng.uniform(states.lower, states.upper))
        climb(states, x, layer_of[begin:end], neuron_of[begin:end], sign_of[begin:end], step / 5, steps, deadline)
    for _ in range(restarts):
        for begin in range(0, n_targets, rows):
            if _expired(deadline):
                return
            end = min(begin + rows, n_targets)
            x = rng.uniform(states.lower, states.upper, size=(end - begin, n_in))
            climb(states, x, layer_of[begin:end], neuron_of[begin:end], sign_of[begin:end], step, steps, deadline)


def _long_climbs(states: _States, rng: np.random.Generator, deadline: float = np.inf, starts: int = 16,
                 steps: int = 300) -> None:
    """A longer search for witnesses of the few states still open before the branch and bound: per state, from its
    closest input so far (steps of 5 % of the box) and ``starts - 1`` random points (steps of 20 %), ``steps``
    signed-gradient steps each. The short search misses witnesses that these find (on a full-MNIST 4x100
    network without penalty, a state 0.01 short of its witness after the short search had one in 41 of 64 such
    random starts)."""
    todo = _open_states(states)
    if not todo or _expired(deadline):
        return
    layer_of = np.repeat([l for l, _, _ in todo], starts)
    sign_of = np.repeat([s for _, s, _ in todo], starts)
    neuron_of = np.repeat([i for _, _, i in todo], starts)
    x = rng.uniform(states.lower, states.upper, size=(len(layer_of), len(states.lower)))
    step = np.repeat(np.full(len(todo), 0.2), starts)
    for k, (l, s, i) in enumerate(todo):
        closest = states.closest_x[l][0 if s > 0 else 1]
        if closest is not None and np.isfinite(states.closest_y[l][0 if s > 0 else 1][i]):
            x[k * starts] = closest[i]
            step[k * starts] = 0.05
    rows = _rows_per_block([len(states.lower)] + [len(b) for b in states.biases[:-1]])
    for begin in range(0, len(x), rows):
        if _expired(deadline):
            return
        part = slice(begin, begin + rows)
        climb(states, x[part], layer_of[part], neuron_of[part], sign_of[part],
              step[part, None] * (states.upper - states.lower), steps, deadline)


def _goal_seeds(n_rows: int, sizes: list[int], layer_of: np.ndarray, neuron_of: np.ndarray,
                sign_of: np.ndarray) -> list[np.ndarray]:
    """Per layer, d(goal)/d(y^l) of each row's own goal ``sign_of[k] * y`` of neuron ``neuron_of[k]``."""
    seeds = []
    for l in range(int(layer_of.max()) + 1):
        k = np.flatnonzero(layer_of == l)
        seed = np.zeros((n_rows, sizes[l]))
        seed[k, neuron_of[k]] = sign_of[k]
        seeds.append(seed)
    return seeds


def _goal_gradient(ws: list[np.ndarray], bs: list[np.ndarray], x: np.ndarray, seeds: list[np.ndarray]
                   ) -> np.ndarray:
    """The gradient in x of every row's goal (backpropagation through the layers up to the deepest goal)."""
    top = len(seeds) - 1
    ys = pre_activations(ws[:top + 1], bs[:top + 1], x)  # y^0..y^(top-1): the masks backpropagation needs
    grad = seeds[top]
    for l in range(top, -1, -1):  # backpropagation: d/dh^l = d/dy^l W^l, d/dy^(l-1) = d/dh^l [y > 0]
        grad = grad @ ws[l]
        if l:
            grad = grad * (ys[l - 1] > 0) + seeds[l - 1]
    return grad


def climb(states: _States, x: np.ndarray, layer_of: np.ndarray, neuron_of: np.ndarray, sign_of: np.ndarray,
          step: np.ndarray, steps: int, deadline: float = np.inf) -> None:
    """Signed-gradient ascent of ``sign_of[k] * y`` of neuron ``neuron_of[k]`` in layer ``layer_of[k]`` from row k of
    ``x`` (projected onto the box, step shrinking linearly to 0), then the points reached are observed as witnesses."""
    ws, bs = states.weights[:-1], states.biases[:-1]
    seeds = _goal_seeds(len(x), [len(b) for b in bs], layer_of, neuron_of, sign_of)
    for t in range(steps):
        grad = _goal_gradient(ws, bs, x, seeds)
        x = np.maximum(np.minimum(x + step * (1 - t / steps) * np.sign(grad), states.upper), states.lower)
        if _expired(deadline):
            break
    states.observe(x)


#: Adam ascent from the data (see :func:`_adam_climbs`): starts per open state, steps, and the step size as a
#: fraction of the box's width.
ADAM_STARTS, ADAM_STEPS, ADAM_RATE = 64, 600, 0.03


def _adam_climbs(states: _States, X: np.ndarray | None, deadline: float = np.inf, starts: int = ADAM_STARTS,
                 steps: int = ADAM_STEPS, rate: float = ADAM_RATE) -> None:
    """For the few states (at most ``BAB_STATES``) still open before the branch and bound: Adam ascent
    (per-coordinate step sizes) of ``sign * y`` from the ``starts`` data points where it is largest, projected onto
    the box; the points are observed every 100 steps. Signed-gradient steps stall where the goal's gradient is
    dominated by a few coordinates: on a full-MNIST 5 x 100 network without penalty, neuron 90 of layer 4 stayed
    0.02 short of a witness after 1,500 signed steps from the same 64 images, while Adam found one in 400 steps
    (0.6 s)."""
    todo = _open_states(states)
    if not todo or len(todo) > BAB_STATES or X is None or _expired(deadline):
        return
    ws, bs = states.weights[:-1], states.biases[:-1]
    ys = pre_activations(states.weights, states.biases, X)  # every open state's goal on the data
    k = min(starts, len(X))
    x = np.concatenate([X[np.argsort(-s * ys[l][:, i])[:k]] for l, s, i in todo])
    layer_of = np.repeat([l for l, _, _ in todo], k)
    sign_of = np.repeat([s for _, s, _ in todo], k).astype(float)
    neuron_of = np.repeat([i for _, _, i in todo], k)
    seeds = _goal_seeds(len(x), [len(b) for b in bs], layer_of, neuron_of, sign_of)
    width = states.upper - states.lower
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = _goal_gradient(ws, bs, x, seeds)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        update = (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        x = np.maximum(np.minimum(x + rate * width * update, states.upper), states.lower)
        if t % 100 == 0 or t == steps:
            states.observe(x)
            if not _open_states(states) or _expired(deadline):
                return


def _isa_single_run_and_focus(states: _States, stats: SolveStats, deadline: float, stop_at_open: int = -1) -> None:
    """ISA as one SCIP run (:func:`~nncompress.stability.isa.isa_single_run`), then, for each state a solution showed
    but float64 did not confirm, one focused MILP "maximise ``sign * y``" (HiGHS) whose optimum is a witness unless
    the extreme lies within the margin of 0 (then the neuron stays unknown). With ``stop_at_open >= 0`` the run
    is skipped when at most that many states are open, and stopped as soon as at most that many are (it then
    proves nothing: what it witnessed stays, the rest is left to the branch and bound)."""
    if stop_at_open >= 0 and states.n_open() <= stop_at_open:
        return
    pending = isa_single_run(states, stats, deadline, stop_at_open=stop_at_open)
    if not pending or _expired(deadline) or stop_at_open >= 0:
        return
    import cvxpy as cp

    depth = max(l for l, _, _ in pending) + 1
    milp = build_milp(states.weights, states.biases, states.lower, states.upper, states.y_lower, states.y_upper,
                      depth=depth, input_constraint=states.input_constraint)
    for l, sign, i in pending:
        if _expired(deadline):
            return
        if not (states.open_active(l) if sign > 0 else states.open_inactive(l))[i]:
            continue
        focused = cp.Problem(cp.Maximize(sign * milp.y[l][i]), milp.constraints)
        if solve(focused, deadline - time.perf_counter(), stats, "milp-focus") == "optimal" and \
                milp.x0.value is not None:
            states.observe(milp.x0.value)


#: The pipeline leaves at most this many open states to branch and bound; more go through the ISA run first.
BAB_STATES: int = 12

#: The share of the time left that the bound tightening before the branch and bound may take (all of it without
#: a time limit), so that it cannot eat the time the branch and bound needs. By measurement on a 5x100 full-MNIST
#: network (l1 = 1e-4, 300 s limit): tightening every neuron took 239 s of LPs, a quarter of the time 76 s, and
#: both left the same 5 of the 7 states open; on the 5x100 network at l1 = 3e-4 the analysis took 58 s with the
#: tightening and 49 s without.
OBBT_SHARE: float = 0.25


def _open_states(states: _States) -> list[tuple[int, float, int]]:
    """Every open state as (layer, sign, neuron), shallowest layer first."""
    return [(l, s, int(i)) for l in range(states.depth)
            for s, mask in ((1.0, states.open_active(l)), (-1.0, states.open_inactive(l)))
            for i in np.flatnonzero(mask)]


def _bab_phase(states: _States, stats: SolveStats, deadline: float) -> None:
    """Branch and bound (:func:`~nncompress.stability.bab.branch_and_bound`) on each open state, shallowest layer
    first: a first pass gives each an equal share of the time left, a second pass the rest to those still open."""
    for final in (False, True):
        todo = _open_states(states)
        for k, (l, sign, i) in enumerate(todo):
            if _expired(deadline):
                return
            if not (states.open_active(l) if sign > 0 else states.open_inactive(l))[i]:
                continue
            share = (deadline - time.perf_counter()) / (1 if final else len(todo) - k)
            if branch_and_bound(states, l, sign, i, stats, time.perf_counter() + share) == "proven":
                states.tighten(l, i, sign, 0.0)  # proven: sign * y < -margin everywhere
                states.propagate_bounds(l + 1)


def _baseline(states: _States, stats: SolveStats, deadline: float) -> None:
    """Per neuron: 'can y > 0?' then, if so, 'can y < 0?' — feasibility MILPs (5)/(6) stopped at the first point."""
    import cvxpy as cp

    delta = states.margin
    for l in range(states.depth):
        states.propagate_bounds(l)  # proven stabilities of earlier layers feed this layer's bounds
        if l == 0 and states.input_constraint is None:  # exact over a box: each neuron's corners decide
            _first_layer_corners_single(states)
            continue
        if _expired(deadline):
            return
        milp = build_milp(states.weights, states.biases, states.lower, states.upper, states.y_lower,
                          states.y_upper, depth=l, input_constraint=states.input_constraint)
        c, expr = _prefix_objective(milp, l, states.weights[l].shape[1])
        rhs = cp.Parameter()
        feasibility = cp.Problem(cp.Minimize(0), milp.constraints + [expr >= rhs])
        maximise = cp.Problem(cp.Maximize(expr), milp.constraints + [expr >= rhs])
        w, b = states.weights[l], states.biases[l]
        for i in _progress_range(len(b), f"baseline, layer {l}", states.progress):
            if _expired(deadline):
                return
            for sign in (1.0, -1.0):
                open_now = states.open_active(l)[i] if sign > 0 else states.open_inactive(l)[i]
                if not open_now or _expired(deadline):
                    continue
                c.value, rhs.value = sign * w[i], -delta - sign * b[i]  # sign * y_i >= -delta
                # "is the sign decided?": a feasibility solve stops at the first point, like the paper's early exit
                for problem in (feasibility, maximise):  # the second only if the first point was within the margin
                    status = solve(problem, deadline - time.perf_counter(), stats, "baseline")
                    if status == "infeasible":
                        (states.never_active if sign > 0 else states.never_inactive)[l][i] = True
                        break
                    if status not in ("optimal", "optimal_inaccurate") or milp.x0.value is None:
                        break
                    x = np.clip(milp.x0.value, states.lower, states.upper)[None]
                    valid = states.input_constraint is None or np.all(
                        x @ states.input_constraint[0].T <= states.input_constraint[1])
                    y = pre_activations(states.weights, states.biases, x)[l][0, i]
                    if valid and sign * y > delta:  # a witness for this neuron only: no sharing in the baseline
                        (states.seen_active if sign > 0 else states.seen_inactive)[l][i] = True
                        break
                if sign > 0 and states.never_active[l][i]:
                    break  # stably inactive: the second question is moot


def _progress_range(n: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(range(n), desc=desc, disable=not enabled, leave=False)


def _first_layer_corners_single(states: _States) -> None:
    """Layer 0: exact interval bounds decide; each neuron's own corners are its witnesses (in blocks of rows)."""
    if states.input_constraint is not None:  # a corner need not satisfy A x <= b
        return
    w, b = states.weights[0], states.biases[0]
    rows = _rows_per_block([w.shape[1]])
    for sign, seen in ((1.0, states.seen_active[0]), (-1.0, states.seen_inactive[0])):
        for begin in range(0, len(w), rows):
            block = w[begin:begin + rows]
            corners = np.where(sign * block > 0, states.upper, states.lower)
            y = np.einsum("ij,ij->i", corners, block) + b[begin:begin + rows]
            seen[begin:begin + rows] |= sign * y > states.margin


def find_stable_neurons(
    weights: Sequence[Any],
    biases: Sequence[Any],
    lower: Any,
    upper: Any,
    X: Any = None,
    method: str = "pipeline",
    time_limit: float | None = None,
    margin: float = 1e-6,
    rng: np.random.Generator | int | None = 0,
    input_constraint: tuple[Any, Any] | None = None,
    progress: bool = False,
    device: Any = None,
) -> StabilityReport:
    """The stably active and stably inactive neurons of a ReLU MLP over the box ``[lower, upper]``.

    Parameters
    ----------
    weights, biases : lists of arrays, or as ``weights`` (then ``biases=None``) a
        :class:`~nncompress.layered.LayeredNetwork` with ReLU hidden layers and a linear output, or a torch
        ``nn.Sequential``
        Hidden layers then the output layer; ``weights[l]`` of shape ``(n_{l+1}, n_l)`` (torch's convention).
    lower, upper : array_like (n_0,) or scalars
        The input box :math:`\\mathbb X`.
    X : array_like (N, n_0), optional
        Data in the box for preprocessing (Section 5.3): its forward pass settles states before any solve.
        Validated for every method (shape, finite, inside the box) but not used by ``method="baseline"``.
    method : {"pipeline", "isa", "baseline"}
        See :mod:`nncompress.stability.engine`.
    time_limit : float, optional
        Seconds for the whole call, held by every phase (:mod:`nncompress.stability.engine`): the call returns within
        about the limit plus one solver call's set-up, with the states still open making their neurons
        ``unknown`` (``complete=False``, ``timed_out=True``); a time-out never makes a neuron stable.
        ``0`` calls no solver: only the interval bounds, the first layer's box corners and the first block of
        the data run. ``None`` (the default): no limit.
    margin : float, default 1e-6
        :math:`\\delta`: witnesses need :math:`|y| > \\delta`, proofs exclude :math:`|y| \\le \\delta` on the wrong
        side, so solver tolerances below :math:`\\delta` cannot produce a false claim.
    rng : Generator, int or None
        For the gradient phase's starting points.
    input_constraint : (A, b), optional
        Valid inputs also satisfy ``A @ x <= b`` (e.g. the paper's bound on the sum of pixels). Interval bounds
        ignore it (they stay sound, only looser); LPs and MILPs include it; a witness must satisfy it exactly in
        float64, otherwise it is discarded (a state may then stay unknown, never be wrongly settled).
    progress : bool, default False
        Show tqdm progress bars over solver calls.
    device : str or torch.device, optional
        Where the data's forward pass (the preprocessing of Section 5.3, the largest batched computation) runs:
        e.g. ``"cuda"`` on a GPU, as in the paper. It computes in float64 like the CPU path, whose results it
        matches up to summation order (far below ``margin``). ``None`` (the default): numpy on the CPU.

    Returns
    -------
    StabilityReport
        With the ``fingerprint`` of the network and box it holds for.

    Examples
    --------
    On the box :math:`[0, 1]^2` the first neuron below is never active, the second always, the third is unstable:

    >>> import numpy as np
    >>> from nncompress.stability import find_stable_neurons
    >>> W = [np.array([[-1.0, -1.0], [1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 2.0, 3.0]])]
    >>> b = [np.array([-0.5, 0.5, 0.0]), np.array([0.0])]
    >>> report = find_stable_neurons(W, b, lower=0.0, upper=1.0)
    >>> report.complete, report.stably_inactive[0].tolist(), report.stably_active[0].tolist()
    (True, [0], [1])
    """
    start = time.perf_counter()
    weights, biases = as_mlp(weights, biases)
    if len(weights) < 2:
        raise ValueError("the network has no hidden layer: weights needs at least two layers")
    lower, upper = check_box(lower, upper, weights[0].shape[1])
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    margin = check_tolerance(margin, "margin")
    if time_limit is not None:
        time_limit = check_tolerance(time_limit, "time_limit")
    deadline = start + (time_limit if time_limit is not None else np.inf)
    if input_constraint is not None:
        A = as_float_array(input_constraint[0], "input_constraint[0]", ndim=2)
        b = as_float_array(input_constraint[1], "input_constraint[1]", shape=(A.shape[0],))
        if A.shape[1] != len(lower):
            raise ValueError(f"input_constraint[0] must have shape (k, {len(lower)}), got {A.shape}")
        input_constraint = (A, b)
    if X is not None:  # validated for every method, used by all but the baseline
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != len(lower):
            raise ValueError(f"X must have shape (N, {len(lower)}), got {X.shape}")
        if np.any(X < lower) or np.any(X > upper):
            raise ValueError("X must lie in the box [lower, upper]")
    states, stats, phases = _States(weights, biases, lower, upper, margin, input_constraint), SolveStats(), {}
    states.progress = bool(progress)
    states.symbolic = method == "pipeline"
    if device is not None:
        states.use_device(device)

    def phase(name: str, fn: Any, *args: Any) -> None:
        t0 = time.perf_counter()
        fn(*args)
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0
        states.record_phase(name)

    if method == "baseline":
        phase("baseline", _baseline, states, stats, deadline)
    else:
        if X is not None:
            phase("data", states.observe, X, deadline)
        phase("bounds", states.propagate_bounds)
        if method == "pipeline":
            phase("bounds", _first_layer_corners, states, deadline)
            phase("lp", _lp_phase, states, stats, deadline)
            generator = as_rng(rng)
            phase("gradient", _gradient_phase, states, generator, deadline)
            phase("milp", _isa_single_run_and_focus, states, stats, deadline, BAB_STATES)
            if states.n_open():
                phase("gradient", _long_climbs, states, generator, deadline)
            if states.n_open():
                phase("gradient", _adam_climbs, states, X, deadline)
            if states.n_open():
                now = time.perf_counter()
                phase("lp", _lp_phase, states, stats, now + OBBT_SHARE * (deadline - now), True)
                phase("bab", _bab_phase, states, stats, deadline)
        else:
            phase("milp", _isa_single_run_and_focus, states, stats, deadline)
    return states.report(method, time.perf_counter() - start, stats, phases, timed_out=_expired(deadline))
