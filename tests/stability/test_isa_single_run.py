"""ISA as one SCIP run (Serra et al. 2021, Algorithm 1), safe LP bounds, planted near-zero extremes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from test_stability import exact_extremes, exact_extremes_2d, random_net

from nncompress.stability import find_stable_neurons
from nncompress.stability.bounds import safe_lp_lower_bound
from strategies import seeds


def same_sets(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.stably_active + a.stably_inactive,
                                                    b.stably_active + b.stably_inactive))


@pytest.mark.slow
@settings(max_examples=10, deadline=None)
@given(seeds, st.sampled_from([[2, 5, 4, 1], [3, 6, 5, 4, 2], [2, 4, 4, 3, 2]]), st.booleans())
def test_single_run_isa_matches_baseline_and_brute_force(seed, sizes, with_data):
    rng = np.random.default_rng(seed)
    weights, biases = random_net(rng, sizes, shift=1.0)
    n0 = sizes[0]
    lower, upper = -np.ones(n0), np.ones(n0)
    X = rng.uniform(lower, upper, size=(20, n0)) if with_data else None
    isa = find_stable_neurons(weights, biases, lower, upper, X=X, method="isa")
    base = find_stable_neurons(weights, biases, lower, upper, method="baseline")
    assert isa.stats.solves.get("milp", 0) <= 1  # one branch-and-bound run (none if nothing is left open)
    mins, maxs = exact_extremes(weights, biases, lower, upper)
    band = [(np.abs(hi) <= 1e-6) | (np.abs(lo) <= 1e-6) for lo, hi in zip(mins, maxs)]
    if not any(b.any() for b in band):  # no extreme within the margin: both complete, same sets, the true ones
        assert isa.complete and base.complete
        assert same_sets(isa, base)
        for l in range(len(sizes) - 2):
            assert np.array_equal(isa.stably_inactive[l], np.flatnonzero(maxs[l] < 0))
            assert np.array_equal(isa.stably_active[l], np.flatnonzero(mins[l] > 0))


@pytest.mark.slow
def test_single_run_isa_is_one_solve_and_agrees_with_the_other_methods():
    rng = np.random.default_rng(3)
    weights, biases = random_net(rng, [4, 10, 10, 8, 2], shift=0.8)
    reports = {m: find_stable_neurons(weights, biases, -1.0, 1.0, method=m) for m in ("isa", "baseline", "pipeline")}
    assert all(r.complete for r in reports.values())
    assert same_sets(reports["isa"], reports["baseline"]) and same_sets(reports["isa"], reports["pipeline"])
    assert reports["isa"].stats.solves == {"milp": 1}
    assert reports["isa"].n_stable > 0 and sum(len(u) for u in reports["isa"].unknown) == 0


def test_single_run_isa_respects_its_time_limit_soundly():
    import time

    from test_stability import assert_sound, near_degenerate_network

    weights, biases = near_degenerate_network()
    start = time.perf_counter()
    report = find_stable_neurons(weights, biases, -1.0, 1.0, method="isa", time_limit=1.0)
    assert time.perf_counter() - start < 3.0
    assert_sound(report, exact_extremes_2d(weights, biases))
    if not report.complete:
        assert report.timed_out


def planted_network(seed: int, targets: list[tuple[str, float]], width: int = 10):
    """A 2-input network whose second-layer neuron k has its maximum (``"max"``) or minimum (``"min"``) planted at
    ``targets[k][1]`` over [-1, 1]^2 (exact up to rounding, from the arrangement's vertices)."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(width, 2)), rng.normal(size=(width, width)) / np.sqrt(width),
               rng.normal(size=(1, width))]
    biases = [rng.normal(size=width) * 0.3, rng.normal(size=width) * 0.3, np.zeros(1)]
    _, (low, high) = exact_extremes_2d(weights, biases)
    for k, (side, value) in enumerate(targets):
        biases[1][k] += value - (high[k] if side == "max" else low[k])
    return weights, biases


TARGETS = [("max", -1e-7), ("max", -1e-6), ("max", -1e-5), ("max", -1e-4), ("max", 1e-7), ("max", 1e-5),
           ("min", 1e-7), ("min", 1e-5), ("min", 1e-4), ("min", -1e-7)]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", ["pipeline", "isa", "baseline"])
def test_planted_near_zero_extremes_are_never_misclassified(seed, method):
    weights, biases = planted_network(seed, TARGETS)
    (_, _), (low, high) = exact_extremes_2d(weights, biases)
    for k, (side, value) in enumerate(TARGETS):  # the planting is exact to rounding
        assert abs((high[k] if side == "max" else low[k]) - value) < 1e-12
    report = find_stable_neurons(weights, biases, -1.0, 1.0, method=method, time_limit=120)
    inactive, active = set(report.stably_inactive[1]), set(report.stably_active[1])
    assert all(high[k] <= 0 for k in inactive), f"{method}: called inactive with a positive maximum"
    assert all(low[k] >= 0 for k in active), f"{method}: called active with a negative minimum"
    if report.complete:  # extremes beyond the margin (1e-6) are decided, on the right side
        for k, (side, value) in enumerate(TARGETS):
            if abs(value) > 1e-6 and side == "max" and value < 0:
                assert k in inactive
            if abs(value) > 1e-6 and side == "min" and value > 0:
                assert k in active
            if value > 0 and side == "max" or value < 0 and side == "min":
                assert k not in inactive | active


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(2, 6), st.integers(2, 8))
def test_safe_lp_bound_never_exceeds_the_optimum(seed, m, n):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n)) * rng.choice([1e-3, 1.0, 1e3], size=(m, 1))
    x_feasible = rng.uniform(-1, 1, size=n)
    slack = rng.uniform(0, 1, size=m)
    row_lo = np.where(rng.random(m) < 0.3, A @ x_feasible - slack, -np.inf)
    row_hi = A @ x_feasible + slack
    c = rng.normal(size=n)
    col_lo, col_hi = -np.ones(n) * 2, np.ones(n) * 2
    res = linprog(c, A_ub=np.vstack([A, -A[np.isfinite(row_lo)]]),
                  b_ub=np.concatenate([row_hi, -row_lo[np.isfinite(row_lo)]]), bounds=list(zip(col_lo, col_hi)),
                  method="highs")
    assert res.status == 0
    k = len(row_hi)
    dual = -res.ineqlin.marginals[:k].copy()  # scipy: d(optimum)/d(b_ub) <= 0; our multipliers on A v
    dual[np.isfinite(row_lo)] += res.ineqlin.marginals[k:]
    dual = -dual
    A_s = scipy.sparse.csc_matrix(A)
    bound = safe_lp_lower_bound(c, A_s, row_lo, row_hi, col_lo, col_hi, dual)
    assert bound <= res.fun + 1e-12 * (1 + abs(res.fun))
    assert bound >= res.fun - 1e-6 * (1 + abs(res.fun))  # the optimal dual gives (nearly) the optimum
    for noisy in (dual + rng.normal(size=k), np.zeros(k)):  # any multipliers: a valid, weaker bound
        assert safe_lp_lower_bound(c, A_s, row_lo, row_hi, col_lo, col_hi, noisy) <= res.fun + 1e-12


def test_summary_names_the_phase_that_decided_each_neuron():
    rng = np.random.default_rng(5)
    weights, biases = random_net(rng, [3, 8, 6, 2], shift=1.0)
    X = rng.uniform(-1, 1, size=(50, 3))
    report = find_stable_neurons(weights, biases, -1.0, 1.0, X=X)
    assert report.complete
    phases = {"data", "bounds", "lp", "gradient", "milp"}
    for l, names in enumerate(report.settled_by):
        assert len(names) == len(biases[l]) and set(names) <= phases
        by_data = set(np.flatnonzero(names == "data"))  # data only witnesses: these neurons are unstable
        assert not by_data & (set(report.stably_active[l]) | set(report.stably_inactive[l]))
    text = report.summary()
    assert "decided by" in text and any(p in text for p in phases)
    for l, line in enumerate(text.splitlines()[1:]):
        n_unstable = len(biases[l]) - len(report.stably_active[l]) - len(report.stably_inactive[l])
        assert f"{n_unstable} unstable, 0 unknown" in line
    base = find_stable_neurons(weights, biases, -1.0, 1.0, method="baseline")
    assert all(set(names) == {"baseline"} for names in base.settled_by)
    partial = find_stable_neurons(weights, biases, -1.0, 1.0, method="isa", time_limit=0.0)
    for l, names in enumerate(partial.settled_by):
        assert np.all(names[partial.unknown[l]] == "")
