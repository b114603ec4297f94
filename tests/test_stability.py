"""The stability engine (seed 001): every method against an exact enumeration of linear regions; LEO++ exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from nncompress.stability import (
    compress_with_report,
    find_stable_neurons,
    forward,
    from_torch,
    interval_bounds,
    leo_compress,
    to_torch,
    verify,
)


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


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([[2, 5, 4, 1], [2, 4, 4, 3, 2], [3, 6, 5, 1]]))
def test_all_methods_agree_with_exact_enumeration(seed, sizes):
    rng = np.random.default_rng(seed)
    weights, biases = random_net(rng, sizes)
    n0 = sizes[0]
    lower, upper = -np.ones(n0), np.ones(n0)
    mins, maxs = exact_extremes(weights, biases, lower, upper)
    X = rng.uniform(lower, upper, size=(30, n0))
    for method in ("pipeline", "isa", "baseline"):
        report = find_stable_neurons(weights, biases, lower, upper, X=X, method=method)
        for l in range(len(sizes) - 2):
            band = (np.abs(maxs[l]) <= 1e-6) | (np.abs(mins[l]) <= 1e-6)  # margin cases may stay unknown
            assert set(report.stably_inactive[l]) - set(np.flatnonzero(band)) == set(np.flatnonzero((maxs[l] < 0) & ~band))
            assert set(report.stably_active[l]) - set(np.flatnonzero(band)) == set(np.flatnonzero((mins[l] > 0) & ~band))
            assert set(report.unknown[l]) <= set(np.flatnonzero(band))
        if report.complete:
            assert sum(len(u) for u in report.unknown) == 0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 4), st.integers(2, 8), st.integers(1, 3), st.floats(0.0, 3.0))
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
