"""The stability engine (Serra et al. 2021): every method against an exact enumeration of regions; LEO++ exact."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from nncompress.stability import (
    backsubstitution_bounds,
    compress_with_report,
    find_stable_neurons,
    forward,
    from_torch,
    interval_bounds,
    leo_compress,
    to_torch,
    verify,
)
from strategies import seeds


def random_net(rng: np.random.Generator, sizes: list[int], shift: float = 2.0):
    """Random MLP whose biases are pushed away from 0, so that many neurons are stable on [-1, 1]^n."""
    weights = [rng.normal(size=(sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    biases = [rng.normal(size=sizes[i + 1]) + shift * rng.choice([-1.0, 1.0], size=sizes[i + 1])
              for i in range(len(sizes) - 1)]
    return weights, biases


def exact_extremes(weights, biases, lower, upper):
    """Exact min and max of every pre-activation over the box, independently of the engine: enumerate the
    activation patterns of each layer by depth-first search with LP feasibility (scipy's linprog), and in every
    linear region maximise and minimise each next-layer pre-activation by LP."""
    n0, depth = weights[0].shape[1], len(weights) - 1
    mins = [np.full(len(b), np.inf) for b in biases[:-1]]
    maxs = [np.full(len(b), -np.inf) for b in biases[:-1]]
    box = list(zip(lower, upper))

    def lp(c, A, b):
        return linprog(c, A_ub=np.array(A).reshape(-1, n0) if len(A) else None,
                       b_ub=np.array(b) if len(b) else None, bounds=box, method="highs")

    def region(l, A, b, M, c):  # in this region the input of layer l is M x + c
        Y_M, Y_c = weights[l] @ M, weights[l] @ c + biases[l]
        for i in range(len(Y_c)):
            top, bottom = lp(-Y_M[i], A, b), lp(Y_M[i], A, b)
            maxs[l][i] = max(maxs[l][i], -top.fun + Y_c[i])
            mins[l][i] = min(mins[l][i], bottom.fun + Y_c[i])
        if l + 1 == depth:
            return

        def branch(i, A, b, pattern):
            if len(A) and lp(np.zeros(n0), A, b).status != 0:
                return
            if i == len(Y_c):
                D = np.diag(pattern)
                region(l + 1, A, b, D @ Y_M, D @ Y_c)
                return
            branch(i + 1, A + [-Y_M[i]], b + [Y_c[i]], pattern + [1.0])  # active: y >= 0
            branch(i + 1, A + [Y_M[i]], b + [-Y_c[i]], pattern + [0.0])  # inactive: y <= 0

        branch(0, list(A), list(b), [])

    region(0, [], [], np.eye(n0), np.zeros(n0))
    return mins, maxs


def assert_matches_exact(report, mins, maxs, margin=1e-6):
    """The report names exactly the neurons whose exact extremes are beyond ``margin`` on one side of 0; a neuron
    with an extreme within the margin may stay unknown, and only such a neuron may."""
    for l in range(len(mins)):
        band = (np.abs(maxs[l]) <= margin) | (np.abs(mins[l]) <= margin)
        assert set(report.stably_inactive[l]) - set(np.flatnonzero(band)) == set(np.flatnonzero((maxs[l] < 0) & ~band))
        assert set(report.stably_active[l]) - set(np.flatnonzero(band)) == set(np.flatnonzero((mins[l] > 0) & ~band))
        assert set(report.unknown[l]) <= set(np.flatnonzero(band))


@settings(max_examples=12)
@given(seeds, st.sampled_from([[2, 5, 4, 1], [2, 4, 4, 3, 2], [3, 6, 5, 1]]))
def test_all_methods_agree_with_exact_enumeration(seed, sizes):
    rng = np.random.default_rng(seed)
    weights, biases = random_net(rng, sizes)
    n0 = sizes[0]
    lower, upper = -np.ones(n0), np.ones(n0)
    mins, maxs = exact_extremes(weights, biases, lower, upper)
    X = rng.uniform(lower, upper, size=(30, n0))
    for method in ("pipeline", "isa", "baseline"):
        report = find_stable_neurons(weights, biases, lower, upper, X=X, method=method)
        assert_matches_exact(report, mins, maxs)
        if report.complete:
            assert sum(len(u) for u in report.unknown) == 0


@settings(max_examples=15)
@given(seeds, st.sampled_from([[2, 5, 4, 1], [2, 4, 4, 3, 2], [3, 6, 5, 1]]), st.sampled_from([1e-3, 1.0, 1e3]),
       st.floats(0.0, 3.0))
def test_backsubstitution_bounds_enclose_the_exact_extremes_and_beat_intervals(seed, sizes, scale, shift):
    rng = np.random.default_rng(seed)
    weights, biases = random_net(rng, sizes, shift)
    lower, upper = -np.ones(sizes[0]), np.ones(sizes[0])
    mins, maxs = exact_extremes(weights, biases, lower, upper)
    # y^l of the scaled network is exactly scale ** (l + 1) times that of the unit-scale one
    weights, biases = [w * scale for w in weights], [b * scale ** (k + 1) for k, b in enumerate(biases)]
    mins, maxs = [m * scale ** (l + 1) for l, m in enumerate(mins)], [m * scale ** (l + 1) for l, m in enumerate(maxs)]
    lows, highs = backsubstitution_bounds(weights, biases, lower, upper)
    i_lows, i_highs = interval_bounds(weights, biases, lower, upper)
    for l in range(len(sizes) - 2):
        tol = 1e-7 * scale ** (l + 1)  # linprog's tolerance on the exact extremes, not the bounds'
        assert np.all(lows[l] <= mins[l] + tol) and np.all(highs[l] >= maxs[l] - tol)
        assert np.all(lows[l] >= i_lows[l]) and np.all(highs[l] <= i_highs[l])


def test_backsubstitution_is_tighter_than_intervals_in_deep_layers():
    rng = np.random.default_rng(0)
    weights, biases = random_net(rng, [10, 30, 30, 30, 2], shift=0.0)
    lows, highs = backsubstitution_bounds(weights, biases, -1.0, 1.0)
    i_lows, i_highs = interval_bounds(weights, biases, -1.0, 1.0)
    assert np.allclose(lows[0], i_lows[0]) and np.allclose(highs[0], i_highs[0])  # exact in layer 0
    assert np.median((highs[2] - lows[2]) / (i_highs[2] - i_lows[2])) < 0.7
    # known bounds are kept when tighter, and layers below start are taken as given
    again, _ = backsubstitution_bounds(weights, biases, -1.0, 1.0, lows, highs, start=2)
    assert np.array_equal(again[0], lows[0]) and np.all(again[2] >= lows[2])
    with pytest.raises(ValueError, match="finite"):
        backsubstitution_bounds(weights, biases, -1.0, 1.0, [np.full(30, -np.inf)] * 3, highs, start=1)
    with pytest.raises(ValueError, match="y_lower must hold one array per hidden layer"):
        backsubstitution_bounds(weights, biases, -1.0, 1.0, lows[:2], highs)
    with pytest.raises(ValueError, match=r"y_upper\[1\] must have shape"):
        backsubstitution_bounds(weights, biases, -1.0, 1.0, lows, [highs[0], highs[1][:5], highs[2]])
    with pytest.raises(ValueError, match="start must be"):
        backsubstitution_bounds(weights, biases, -1.0, 1.0, start=4)


@settings(max_examples=25)
@given(seeds, st.integers(2, 4), st.integers(2, 8), st.integers(1, 3), st.floats(0.0, 3.0))
def test_leo_is_exact_on_the_box(seed, n0, width, depth, shift):
    rng = np.random.default_rng(seed)
    weights, biases = random_net(rng, [n0] + [width] * depth + [2], shift)
    report = find_stable_neurons(weights, biases, 0.0, 1.0, method="pipeline")
    result = compress_with_report(weights, biases, report)
    check = verify(weights, biases, result.weights, result.biases, 0.0, 1.0, n_points=100_000, rng=seed)
    scale = 1 + max(np.abs(forward(weights, biases, rng.uniform(0, 1, size=(100, n0)))).max(), 1)
    assert check["box"] <= 1e-9 * scale
    assert sum(result.removed_neurons) >= report.n_stable - sum(len(a) for a in report.stably_active)


def test_fully_stable_layer_is_folded_and_dependent_active_neurons_merge():
    weights = [np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]]), np.array([[1.0, -1.0, 2.0, 0.5]])]
    biases = [np.array([2.0, 2.0, 4.0, -5.0]), np.array([0.3])]  # on [0,1]^2: 3 stably active, 1 stably inactive
    report = find_stable_neurons(weights, biases, 0.0, 1.0)
    assert report.complete and report.stably_active[0].tolist() == [0, 1, 2]
    assert report.stably_inactive[0].tolist() == [3]
    result = compress_with_report(weights, biases, report)
    assert result.folded_layers == [0] and len(result.weights) == 1  # the network became affine
    assert verify(weights, biases, result.weights, result.biases, 0.0, 1.0)["box"] < 1e-12
    kept, _ = leo_compress(weights, biases, report, fold_layers=False)
    assert kept[0].shape == (2, 2)  # neuron 2 = neuron 0 + neuron 1 (rows with biases), neuron 3 dead


def test_time_limit_gives_incomplete_and_no_false_claim():
    rng = np.random.default_rng(0)
    weights, biases = random_net(rng, [6, 30, 30, 30, 1], shift=0.0)
    report = find_stable_neurons(weights, biases, -1.0, 1.0, method="isa", time_limit=0.0)
    assert not report.complete and sum(len(u) for u in report.unknown) > 0
    lows, highs = interval_bounds(weights, biases, -1.0, 1.0)
    for l in range(3):  # without time, only what interval bounds prove can be claimed
        assert set(report.stably_inactive[l]) <= set(np.flatnonzero(highs[l] <= 0))
        assert set(report.stably_active[l]) <= set(np.flatnonzero(lows[l] >= 0))


def test_tiny_positive_maximum_is_not_called_stable():
    # y2 = relu(x) - 1e-12 on [0, 1] reaches 1 - 1e-12 > 0; y3 = -relu(x) + 1e-9 has maximum 1e-9 > 0 at x = 0
    weights = [np.array([[1.0]]), np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])]
    biases = [np.array([0.0]), np.array([-1e-12, 1e-9]), np.array([0.0])]
    for method in ("pipeline", "isa", "baseline"):
        report = find_stable_neurons(weights, biases, 0.0, 1.0, method=method)
        assert 1 not in report.stably_inactive[1]  # its maximum is positive (within the margin: unknown)
        assert 1 in report.unknown[1] and not report.complete


def test_torch_interop():
    rng = np.random.default_rng(3)
    weights, biases = random_net(rng, [3, 5, 2])
    module = to_torch(weights, biases)
    w2, b2 = from_torch(module)
    assert all(np.array_equal(a, b) for a, b in zip(w2, weights))
    by_module = find_stable_neurons(module, None, -1.0, 1.0)
    by_lists = find_stable_neurons(weights, biases, -1.0, 1.0)
    assert [a.tolist() for a in by_module.stably_active] == [a.tolist() for a in by_lists.stably_active]


def test_bad_inputs():
    w, b = [np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)]
    with pytest.raises(ValueError, match="lower must be <= upper"):
        find_stable_neurons(w, b, 1.0, 0.0)
    with pytest.raises(ValueError, match="weights\\[1\\] has 3 inputs|inputs"):
        find_stable_neurons([np.ones((3, 2)), np.ones((1, 4))], b, 0.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        find_stable_neurons([np.full((3, 2), np.nan), np.ones((1, 3))], b, 0.0, 1.0)
    with pytest.raises(ValueError, match="empty"):
        find_stable_neurons([], [], 0.0, 1.0)
    with pytest.raises(ValueError, match="hidden layer"):
        find_stable_neurons([np.ones((1, 2))], [np.zeros(1)], 0.0, 1.0)
    with pytest.raises(ValueError, match="method"):
        find_stable_neurons(w, b, 0.0, 1.0, method="magic")
    with pytest.raises(ValueError, match="box"):
        find_stable_neurons(w, b, 0.0, 1.0, X=np.full((2, 2), 2.0))
    with pytest.raises(ValueError, match="lower must have shape"):
        find_stable_neurons(w, b, np.zeros(3), 1.0)


def test_input_constraint_makes_more_neurons_stable():
    # y0 = x1 + x2 - 1.5 reaches 0.5 on [0, 1]^2 but is at most -0.5 when x1 + x2 <= 1
    weights = [np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 1.0]])]
    biases = [np.array([-1.5, 0.0]), np.array([0.0])]
    constraint = (np.array([[1.0, 1.0]]), np.array([1.0]))
    for method in ("pipeline", "isa", "baseline"):
        free = find_stable_neurons(weights, biases, 0.0, 1.0, method=method)
        bound = find_stable_neurons(weights, biases, 0.0, 1.0, method=method, input_constraint=constraint)
        assert free.complete and bound.complete
        assert 0 not in free.stably_inactive[0] and 0 in bound.stably_inactive[0]


# ------------------------------------------------------------------------------------ deadlines, memory, reports


def arrangement_vertices(w0, b0):
    """Every vertex of the arrangement of the lines w0_k . x + b0_k = 0 inside the box [-1, 1]^2, with the corners.

    The pre-activations of the first two hidden layers are piecewise linear on the cells of this arrangement, so
    their exact minimum and maximum over the box are attained at these points."""
    points = [np.array([sx, sy]) for sx in (-1.0, 1.0) for sy in (-1.0, 1.0)]
    for k in range(len(b0)):
        for axis in (0, 1):
            other = 1 - axis
            for value in (-1.0, 1.0):
                if w0[k, other] != 0:
                    p = np.empty(2)
                    p[axis], p[other] = value, -(b0[k] + w0[k, axis] * value) / w0[k, other]
                    points.append(p)
    for k in range(len(b0)):
        for m in range(k + 1, len(b0)):
            A = w0[[k, m]]
            if abs(np.linalg.det(A)) > 1e-12:
                points.append(np.linalg.solve(A, -b0[[k, m]]))
    P = np.array(points)
    return P[np.all(np.abs(P) <= 1.0, axis=1)]


def exact_extremes_2d(weights, biases):
    """Exact (min, max) of the pre-activations of hidden layers 0 and 1 of a 2-input network over [-1, 1]^2."""
    P = arrangement_vertices(weights[0], biases[0])
    ys = [P @ weights[0].T + biases[0]]
    ys.append(np.maximum(ys[0], 0) @ weights[1].T + biases[1])
    return [(y.min(axis=0), y.max(axis=0)) for y in ys]


def near_degenerate_network(seed=0, width=30):
    """A 2 x 30 network on [-1, 1]^2 with planted near-degenerate neurons in its second hidden layer: neuron 0 has
    maximum -1e-3, neuron 1 maximum -3e-6, neuron 2 minimum +2e-6, neuron 3 maximum +1e-8 and neuron 4 maximum
    -1e-8 (exact up to rounding). Without a time limit the default pipeline spends many times the limits used
    below on it."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(width, 2)), rng.normal(size=(width, width)) / np.sqrt(width),
               rng.normal(size=(1, width))]
    biases = [rng.normal(size=width) * 0.3, rng.normal(size=width) * 0.3, np.zeros(1)]
    _, (low, high) = exact_extremes_2d(weights, biases)
    biases[1][0] -= high[0] + 1e-3
    biases[1][1] -= high[1] + 3e-6
    biases[1][2] += -low[2] + 2e-6
    biases[1][3] -= high[3] - 1e-8
    biases[1][4] -= high[4] + 1e-8
    return weights, biases


def assert_sound(report, extremes):
    """Every neuron the report calls stable really is (exact extremes from the arrangement's vertices)."""
    for l, (low, high) in enumerate(extremes):
        assert np.all(high[report.stably_inactive[l]] <= 1e-12), f"layer {l}: a neuron called inactive is not"
        assert np.all(low[report.stably_active[l]] >= -1e-12), f"layer {l}: a neuron called active is not"


def test_planted_extremes_are_exact():
    weights, biases = near_degenerate_network()
    (_, _), (low, high) = exact_extremes_2d(weights, biases)
    assert np.allclose([high[0], high[1], low[2], high[3], high[4]], [-1e-3, -3e-6, 2e-6, 1e-8, -1e-8],
                       rtol=0, atol=1e-14)


@pytest.mark.parametrize("method", ["pipeline", "isa", "baseline"])
def test_deadline_holds_on_a_hard_network_and_the_report_stays_sound(method):
    import time

    weights, biases = near_degenerate_network()
    limit = 1.5
    start = time.perf_counter()
    report = find_stable_neurons(weights, biases, -1.0, 1.0, method=method, time_limit=limit)
    wall = time.perf_counter() - start
    assert wall < limit + 2.0, f"{method} took {wall:.1f} s with a {limit} s limit"
    # neuron 3's maximum, +1e-8, is within the margin: neither witnessed nor provable, so never complete; whether
    # the limit is reached first depends on the machine (a run that ends earlier is not flagged)
    assert not report.complete
    assert report.timed_out == ("time limit" in report.summary())
    if wall < limit:
        assert not report.timed_out
    assert_sound(report, exact_extremes_2d(weights, biases))
    # the planted neurons: +1e-8 is reached (never stable); -1e-8 is stable, and may be proven so by a rigorous
    # LP bound (assert_sound checks any such claim against the exact extremes)
    assert 3 not in report.stably_inactive[1] and 3 not in report.stably_active[1]
    assert 2 not in report.stably_inactive[1]  # its minimum is positive, so it is active or unknown


def test_time_limit_zero_returns_at_once_on_a_large_network():
    import time

    rng = np.random.default_rng(1)
    weights, biases = random_net(rng, [50, 300, 300, 10], shift=0.5)
    X = rng.uniform(-1, 1, size=(2000, 50))
    lows, highs = interval_bounds(weights, biases, -1.0, 1.0)
    for method in ("pipeline", "isa", "baseline"):
        start = time.perf_counter()
        report = find_stable_neurons(weights, biases, -1.0, 1.0, X=X, method=method, time_limit=0)
        assert time.perf_counter() - start < 1.0, method
        for l in range(2):  # without time, only what interval bounds prove can be claimed
            assert set(report.stably_inactive[l]) <= set(np.flatnonzero(highs[l] <= 0))
            assert set(report.stably_active[l]) <= set(np.flatnonzero(lows[l] >= 0))


@pytest.mark.parametrize("sizes", [[10, 20_000, 1], [10, 4_000, 30, 1]])
def test_memory_stays_linear_in_the_network_size(sizes):
    # the first layer's corners used to go through the network all at once: (n_1, n_1) for one wide layer
    import tracemalloc

    rng = np.random.default_rng(2)
    weights, biases = random_net(rng, sizes, shift=1.0)
    network_bytes = sum(w.nbytes + b.nbytes for w, b in zip(weights, biases))
    tracemalloc.start()
    try:
        report = find_stable_neurons(weights, biases, -1.0, 1.0, method="pipeline", time_limit=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * network_bytes + 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert_sound_by_bounds(weights, biases, report)


def assert_sound_by_bounds(weights, biases, report):
    """First hidden layer over a box: exact extremes by interval arithmetic (claims must agree with them)."""
    w, b = weights[0], biases[0]
    high = np.maximum(w, 0) @ np.ones(w.shape[1]) - np.minimum(w, 0) @ np.ones(w.shape[1]) + b
    low = -np.maximum(w, 0) @ np.ones(w.shape[1]) + np.minimum(w, 0) @ np.ones(w.shape[1]) + b
    assert np.all(high[report.stably_inactive[0]] <= 1e-9 * (1 + np.abs(high[report.stably_inactive[0]])))
    assert np.all(low[report.stably_active[0]] >= -1e-9 * (1 + np.abs(low[report.stably_active[0]])))


def test_data_is_validated_for_every_method():
    w, b = [np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)]
    for method in ("pipeline", "isa", "baseline"):
        with pytest.raises(ValueError, match="X must have shape"):
            find_stable_neurons(w, b, 0.0, 1.0, X=np.zeros((4, 3)), method=method)
        with pytest.raises(ValueError, match="box"):
            find_stable_neurons(w, b, 0.0, 1.0, X=np.full((2, 2), 2.0), method=method)
        with pytest.raises(TypeError, match="X"):
            find_stable_neurons(w, b, 0.0, 1.0, X=np.zeros((2, 2), bool), method=method)


def test_a_report_is_only_applied_to_its_own_network_and_box():
    rng = np.random.default_rng(4)
    weights, biases = random_net(rng, [3, 6, 4, 2])
    report = find_stable_neurons(weights, biases, 0.0, 1.0)
    assert report.fingerprint and len(report.fingerprint) == 64
    compress_with_report(weights, biases, report)  # its own network
    compress_with_report(weights, biases, report, lower=0.25, upper=[1.0, 0.5, 0.75])  # a box inside its box
    other_w = [w.copy() for w in weights]
    other_w[1][0, 0] += 1e-3
    with pytest.raises(ValueError, match="another network"):
        compress_with_report(other_w, biases, report)
    other_b = [b.copy() for b in biases]
    other_b[2][1] = np.nextafter(other_b[2][1], 0)  # even the output layer and one ulp count
    with pytest.raises(ValueError, match="another network"):
        leo_compress(weights, other_b, report)
    with pytest.raises(ValueError, match="another network"):
        compress_with_report(random_net(rng, [3, 6, 4, 2])[0], biases, report)
    with pytest.raises(ValueError, match="another box"):
        compress_with_report(weights, biases, report, lower=-1.0, upper=1.0)
    wider = find_stable_neurons(weights, biases, -1.0, 1.0)
    with pytest.raises(ValueError, match="another network"):  # the box is part of the fingerprint
        compress_with_report(weights, biases, dataclasses.replace(wider, lower=report.lower, upper=report.upper))
    with pytest.raises(ValueError, match="fingerprint"):
        compress_with_report(weights, biases, dataclasses.replace(report, fingerprint=None))
    # a report for a network with the same shapes and box but other weights is refused, never applied
    twin_w, twin_b = random_net(np.random.default_rng(5), [3, 6, 4, 2])
    with pytest.raises(ValueError, match="another network"):
        compress_with_report(twin_w, twin_b, report)
    # a torch module is fingerprinted through the same float64 arrays
    module_report = find_stable_neurons(to_torch(weights, biases), None, 0.0, 1.0)
    assert module_report.fingerprint == report.fingerprint
    compress_with_report(to_torch(weights, biases), None, report)


def test_a_solver_overrunning_its_limit_is_abandoned(monkeypatch):
    # HiGHS checks its limit only between steps (one presolve pass of a large dense model can take many times
    # the limit): the caller's deadline must hold anyway, and nothing may be learnt from the abandoned run
    import time

    import cvxpy as cp
    from cvxpy.reductions.solvers.solving_chain import SolvingChain

    from nncompress.stability.milp import SOLVER_GRACE, SolveStats, solve

    real = SolvingChain.solve_via_data

    def slow(self, *args, **kwargs):
        time.sleep(3.0)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SolvingChain, "solve_via_data", slow)
    x = cp.Variable(2, boolean=True)
    problem = cp.Problem(cp.Maximize(cp.sum(x)), [x[0] + x[1] <= 1])
    stats = SolveStats()
    start = time.perf_counter()
    assert solve(problem, 0.2, stats, "test") == "user_limit"
    assert time.perf_counter() - start < 0.2 + SOLVER_GRACE + 1.0
    assert problem.value is None and x.value is None
    monkeypatch.setattr(SolvingChain, "solve_via_data", real)
    assert solve(problem, 5.0, stats, "test") == "optimal" and problem.value == 1.0
    assert stats.solves["test"] == 2


# ------------------------------------------------------------------------------------ branch and bound


@pytest.fixture
def bab_only(monkeypatch):
    """The pipeline with its LP, gradient and ISA phases switched off: every state the bounds and data leave open
    goes to the branch and bound."""
    from nncompress.stability import engine

    monkeypatch.setattr(engine, "_gradient_phase", lambda *args, **kwargs: None)
    monkeypatch.setattr(engine, "_lp_phase", lambda *args, **kwargs: None)
    monkeypatch.setattr(engine, "BAB_STATES", 10**9)


def test_branch_and_bound_settles_planted_near_degenerate_neurons(bab_only):
    weights, biases = near_degenerate_network()
    report = find_stable_neurons(weights, biases, -1.0, 1.0, time_limit=60)
    assert_sound(report, exact_extremes_2d(weights, biases))
    # maxima -1e-3 and -3e-6 proven inactive, minimum +2e-6 proven active: all beyond the 1e-6 margin, and only
    # the branch and bound could prove them here; +-1e-8 lie within the margin and stay unknown
    assert {0, 1} <= set(report.stably_inactive[1]) and 2 in report.stably_active[1]
    assert set(report.unknown[1]) == {3, 4}
    assert "bab" in set(report.settled_by[1])
    assert report.stats.nodes["bab"] > 1


@settings(max_examples=10)
@given(seeds, st.sampled_from([[2, 5, 4, 1], [2, 4, 4, 3, 2], [3, 6, 5, 1]]), st.sampled_from([1e-3, 1.0, 1e3]))
def test_branch_and_bound_agrees_with_exact_enumeration(seed, sizes, scale):
    from nncompress.stability import engine

    rng = np.random.default_rng(seed)
    weights, biases = random_net(rng, sizes)
    lower, upper = -np.ones(sizes[0]), np.ones(sizes[0])
    mins, maxs = exact_extremes(weights, biases, lower, upper)
    weights, biases = [w * scale for w in weights], [b * scale ** (k + 1) for k, b in enumerate(biases)]
    mins, maxs = [m * scale ** (l + 1) for l, m in enumerate(mins)], [m * scale ** (l + 1) for l, m in enumerate(maxs)]
    saved = engine._gradient_phase, engine._lp_phase, engine.BAB_STATES
    engine._gradient_phase = engine._lp_phase = lambda *args, **kwargs: None  # hypothesis and fixtures do not mix
    engine.BAB_STATES = 10**9
    margin = 1e-6 * scale ** (len(sizes) - 2)  # the deepest layer's values scale as scale ** depth
    try:
        report = find_stable_neurons(weights, biases, lower, upper, margin=margin)
    finally:
        engine._gradient_phase, engine._lp_phase, engine.BAB_STATES = saved
    assert_matches_exact(report, mins, maxs, margin)


def network_point(relax, lp, weights, biases, x):
    """The relaxation's column vector at the network's exact values for input ``x``: outputs relu(y), and for each
    neuron of unknown phase chi = relu(-y) and z = [y > 0]."""
    v = np.zeros(relax.A.shape[1])
    v[relax.inputs] = x
    h = x
    for k in range(lp.layer):
        y = weights[k] @ h + biases[k]
        h = np.maximum(y, 0.0)
        v[relax.outputs[k]] = h
        free = lp.free[k]
        v[relax.chi[k]], v[relax.z[k]] = np.maximum(-y[free], 0.0), (y[free] > 0).astype(float)
    return v


@settings(max_examples=10)
@given(seeds, st.sampled_from([[3, 6, 5, 4, 1], [2, 6, 6, 4, 1]]), st.sampled_from([1e-3, 1.0, 1e3]))
def test_ideal_formulation_cuts_hold_at_every_network_point_and_tighten_the_lp(seed, sizes, scale):
    """Each cut the branch and bound adds (Anderson et al. 2020) holds at the network's exact values for every
    input tried; the LP bound with cuts is never above the one without, and never below the exact maximum."""
    from nncompress.stability import bab, engine

    rng = np.random.default_rng(seed)
    weights, biases = random_net(rng, sizes, shift=0.3)
    lower, upper = -np.ones(sizes[0]), np.ones(sizes[0])
    _, maxs = exact_extremes(weights, biases, lower, upper)
    layer = len(sizes) - 3  # the deepest hidden layer: its LP holds every hidden layer before it
    weights, biases = [w * scale for w in weights], [b * scale ** (k + 1) for k, b in enumerate(biases)]
    top = maxs[layer][0] * scale ** (layer + 1)
    states = engine._States(weights, biases, lower, upper, 1e-6, None)
    states.propagate_bounds()
    lo, hi = [v.copy() for v in states.y_lower[:layer]], [v.copy() for v in states.y_upper[:layer]]
    bounds = []
    for rounds in (0, 5):
        lp = bab._NodeLP(states, layer, 1.0, 0, rounds)
        bounds.append(lp.solve(lo, hi, [np.full(len(f), -1) for f in lp.free], None)[0])
    assert top <= bounds[1] <= bounds[0] + 1e-9 * abs(bounds[0]) + 1e-12 * scale ** (layer + 1)
    # the cuts of the LP point without cuts, checked at the network's values for random inputs and box corners
    lp = bab._NodeLP(states, layer, 1.0, 0, 0)
    _, solution, _ = lp.solve(lo, hi, [np.full(len(f), -1) for f in lp.free], None)
    cuts = lp._separate(np.asarray(solution.col_value))
    if cuts is None:
        return
    rows = np.zeros((len(cuts), lp.A.shape[1]))
    for r, (columns, coefficients, _) in enumerate(cuts):
        rows[r, columns] = coefficients
    cut_upper = np.array([c[2] for c in cuts])
    inputs = np.vstack([rng.uniform(lower, upper, size=(500, sizes[0])),
                        rng.choice([-1.0, 1.0], size=(100, sizes[0]))])
    V = np.array([network_point(lp.relax, lp, weights, biases, x) for x in inputs])
    assert np.all(V @ rows.T <= cut_upper + 1e-12 * (np.abs(V) @ np.abs(rows.T)))


def test_ideal_formulation_cuts_tighten_the_root_bound():
    """On a random 4-8-8-6-1 network the cuts take the root LP bound of the last hidden layer's first neuron from
    3.96 to 0.33, still above its exact maximum."""
    from nncompress.stability import bab, engine

    weights, biases = random_net(np.random.default_rng(0), [4, 8, 8, 6, 1], shift=0.3)
    _, maxs = exact_extremes(weights, biases, -np.ones(4), np.ones(4))
    states = engine._States(weights, biases, -np.ones(4), np.ones(4), 1e-6, None)
    states.propagate_bounds()
    lo, hi = [v.copy() for v in states.y_lower[:2]], [v.copy() for v in states.y_upper[:2]]
    bounds = [bab._NodeLP(states, 2, 1.0, 0, rounds).solve(lo, hi, [np.full(n, -1) for n in (8, 8)], None)[0]
              for rounds in (0, 5)]
    assert maxs[2][0] <= bounds[1] < 0.2 * bounds[0]


def wide_bounds(biases):
    """Sound but loose pre-activation bounds [-50, 50] for the layers of ``biases`` (a relaxation to solve)."""
    return [np.full(len(b), -50.0) for b in biases], [np.full(len(b), 50.0) for b in biases]


def test_an_lp_instance_that_ran_longer_than_the_time_left_still_solves():
    """HiGHS holds ``time_limit`` against its summed run time; ``run_lp`` must give each solve the time left."""
    import highspy

    from nncompress.stability import milp

    rng = np.random.default_rng(0)
    weights, biases = random_net(rng, [30, 40, 40, 1])
    lower, upper = -np.ones(30), np.ones(30)
    relax = milp.build_relaxation(weights, biases, lower, upper, *wide_bounds(biases[:2]), depth=2)
    h = milp.highs_lp(relax)
    cost = np.zeros(relax.A.shape[1])
    while h.getRunTime() < 1.0:  # accumulate run time well beyond the time left below
        cost[relax.outputs[1]] = rng.normal(size=40)
        h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
        h.clearSolver()
        milp.run_lp(h, time.perf_counter() + 30)
    cost[relax.outputs[1]] = -weights[2][0]
    h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
    milp.run_lp(h, time.perf_counter() + 0.5)  # the LP itself takes milliseconds
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def test_interior_point_fallback_gives_the_same_optima_and_the_same_sets(monkeypatch):
    """``run_lp`` switches to the interior point method when the simplex stalls; with no simplex iteration allowed
    every LP of the LP phase and of the branch and bound goes that way, and the report stays exact."""
    import highspy

    from nncompress.stability import bab, engine, milp

    rng = np.random.default_rng(5)
    weights, biases = random_net(rng, [2, 6, 6, 1], shift=0.3)
    lower, upper = -np.ones(2), np.ones(2)
    relax = milp.build_relaxation(weights, biases, lower, upper, *wide_bounds(biases[:2]), depth=2)
    cost = np.zeros(relax.A.shape[1])
    cost[relax.outputs[1]] = -weights[2][0]
    optima = []
    for limit in (10**6, 0):
        monkeypatch.setattr(milp, "SIMPLEX_ITERATIONS", limit)
        h = milp.highs_lp(relax, cost)
        milp.run_lp(h, time.perf_counter() + 30)
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal and h.getSolution().dual_valid
        optima.append(h.getInfo().objective_function_value)
        assert (h.getInfo().ipm_iteration_count > 0) == (limit == 0)
    assert optima[1] == pytest.approx(optima[0], abs=1e-7)
    mins, maxs = exact_extremes(weights, biases, lower, upper)
    monkeypatch.setattr(engine, "_gradient_phase", lambda *args, **kwargs: None)
    monkeypatch.setattr(engine, "BAB_STATES", 10**9)
    report = find_stable_neurons(weights, biases, lower, upper, time_limit=60)
    assert_matches_exact(report, mins, maxs)
    assert bab.run_lp is milp.run_lp  # the branch and bound's LPs take the same way


@pytest.mark.parametrize("sizes, shift, seed", [([2, 6, 6, 1], 0.5, 2), ([2, 8, 8, 1], 0.0, 11)])
def test_isa_run_stopped_early_hands_the_last_states_to_branch_and_bound(monkeypatch, sizes, shift, seed):
    from nncompress.stability import engine

    monkeypatch.setattr(engine, "_gradient_phase", lambda *args, **kwargs: None)
    monkeypatch.setattr(engine, "_lp_phase", lambda *args, **kwargs: None)
    monkeypatch.setattr(engine, "BAB_STATES", 2)
    rng = np.random.default_rng(seed)
    weights, biases = random_net(rng, sizes, shift=shift)
    lower, upper = -np.ones(2), np.ones(2)
    mins, maxs = exact_extremes(weights, biases, lower, upper)
    report = find_stable_neurons(weights, biases, lower, upper)
    assert report.stats.solves["milp"] == 1 and report.stats.solves["bab"] >= 1  # both ran (these networks)
    assert_matches_exact(report, mins, maxs)


def test_data_forward_pass_on_a_torch_device_matches_numpy():
    import torch

    rng = np.random.default_rng(5)
    weights, biases = random_net(rng, [6, 12, 10, 3], shift=0.5)
    X = rng.uniform(-1.0, 1.0, size=(300, 6))
    for method in ("pipeline", "isa"):
        plain = find_stable_neurons(weights, biases, -1.0, 1.0, X=X, method=method)
        on_device = find_stable_neurons(weights, biases, -1.0, 1.0, X=X, method=method, device="cpu")
        assert plain.complete and on_device.complete
        for a, b in zip(plain.stably_active + plain.stably_inactive + plain.settled_by,
                        on_device.stably_active + on_device.stably_inactive + on_device.settled_by):
            assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="device 'no-such-device' cannot be used"):
        find_stable_neurons(weights, biases, -1.0, 1.0, X=X, device="no-such-device")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' cannot be used"):
            find_stable_neurons(weights, biases, -1.0, 1.0, X=X, device="cuda")
