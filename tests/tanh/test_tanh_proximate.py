"""Approximate compressibility (seed 000, Section 6): greedy and exact eps-proximate rank, cross-checked."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.tanh import TanhNetwork, compress, proximate_compress, proximate_rank, random_network, rank
from strategies import seeds
from test_tanh import set_partitions


def check_result(net: TanhNetwork, eps: float, method: str) -> int:
    result = proximate_compress(net, eps, method=method)
    assert np.max(np.abs(result.nearby.to_vector() - net.to_vector()), initial=0.0) <= eps
    assert result.rank == rank(result.nearby) == result.compressed.width
    x = np.random.default_rng(0).uniform(-3, 3, size=(100, net.n_in))
    scale = 1 + np.abs(result.nearby.a).sum() + np.abs(result.nearby.d).sum()
    assert np.max(np.abs(result.compressed(x) - result.nearby(x)), initial=0.0) <= 1e-12 * scale
    return result.rank


@settings(max_examples=120)
@given(seeds, st.integers(0, 6), st.integers(1, 2), st.integers(1, 2), st.floats(0.0, 1.5))
def test_greedy_and_exact_are_sound_and_ordered(seed, h, n, m, eps):
    net = random_network(h, n, m, seed)
    greedy, exact = check_result(net, eps, "greedy"), check_result(net, eps, "exact")
    assert exact <= greedy <= rank(net)


@settings(max_examples=60)
@given(seeds, st.integers(0, 6))
def test_zero_radius_gives_the_rank(seed, h):
    net = random_network(h, rng=seed)
    coarse = TanhNetwork(np.round(net.a), np.round(net.b), np.round(net.c), net.d)  # ties, zeros, cancellations
    for w in (net, coarse):
        assert proximate_rank(w, 0.0, "exact") == proximate_rank(w, 0.0) == rank(w)


@settings(max_examples=40)
@given(seeds, st.integers(1, 6))
def test_exact_is_monotone_in_eps(seed, h):
    net = random_network(h, rng=seed)
    ranks = [proximate_rank(net, eps, "exact") for eps in np.linspace(0, 2, 9)]
    assert all(r1 >= r2 for r1, r2 in zip(ranks, ranks[1:]))


def ball_meets_trace(net: TanhNetwork, eps: float, eliminated, part, cancelled) -> bool:
    """Closed-form test that the L-inf ball of radius eps meets the subspace of a trace, for some orientations."""
    if any(np.max(np.abs(net.b[i])) > eps for i in eliminated):
        return False
    keys = np.column_stack([net.b, net.c])
    for k, group in enumerate(part):
        ok = False
        for signs in itertools.product((1.0, -1.0), repeat=len(group) - 1):
            s = np.array((1.0, *signs))
            signed = s[:, None] * keys[group]
            if np.all(signed.max(axis=0) - signed.min(axis=0) <= 2 * eps):
                if k not in cancelled or np.all(np.abs((s[:, None] * net.a[group]).sum(axis=0)) <= len(group) * eps):
                    ok = True
                    break
        if not ok:
            return False
    return True


def brute_force_proximate_rank(net: TanhNetwork, eps: float) -> int:
    """min length of a compression trace whose subspace meets the ball, over every trace (Theorem 5.1)."""
    h, best = net.width, net.width
    for size in range(h + 1):
        for eliminated in itertools.combinations(range(h), size):
            rest = [i for i in range(h) if i not in eliminated]
            for part in set_partitions(rest):
                for n_cancel in range(len(part) + 1):
                    if len(part) - n_cancel >= best:
                        continue
                    for cancelled in itertools.combinations(range(len(part)), n_cancel):
                        if ball_meets_trace(net, eps, eliminated, part, set(cancelled)):
                            best = len(part) - n_cancel
    return best


@settings(max_examples=80)
@given(seeds, st.integers(0, 5), st.integers(1, 2), st.floats(0.01, 1.2))
def test_exact_matches_brute_force_over_traces(seed, h, n, eps):
    net = random_network(h, n, 1, seed)
    assert proximate_rank(net, eps, "exact") == brute_force_proximate_rank(net, eps)


@pytest.mark.parametrize("factor, expected", [(0.999, 1), (1.001, 2)])
def test_merge_radius_near_tie(factor, expected):
    eps = 0.1
    gap = 2 * eps * factor
    net = TanhNetwork([1.0, -1.0], [1.0, -(1.0 + gap)], [0.5, -0.5], 0.0)  # opposite orientation, keys 2*eps apart
    assert proximate_rank(net, eps, "exact") == proximate_rank(net, eps) == expected


@pytest.mark.parametrize("factor, expected", [(0.999, 0), (1.001, 1)])
def test_cancel_radius_near_tie(factor, expected):
    eps = 0.1
    net = TanhNetwork([1.0, -1.0 + 2 * eps * factor], [1.0, 1.0], [0.5, 0.5], 0.0)  # |alpha| = 2 eps * factor
    assert proximate_rank(net, eps, "exact") == proximate_rank(net, eps) == expected
    assert compress(proximate_compress(net, eps).nearby).width == expected


def test_bad_arguments():
    net = random_network(3, rng=0)
    with pytest.raises(ValueError, match="eps"):
        proximate_rank(net, -0.1)
    with pytest.raises(ValueError, match="method"):
        proximate_rank(net, 0.1, method="fast")
    with pytest.raises(ValueError, match="max_exact_width"):
        proximate_rank(random_network(20, rng=0), 0.1, method="exact")
    with pytest.raises(TypeError, match="net"):
        proximate_rank(net.to_vector(), 0.1)
