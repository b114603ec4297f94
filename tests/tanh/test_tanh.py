"""Algorithms 4.1 and 4.2 (seed 000): properties, cross-checks against Theorem 5.1 by brute force, tolerance, I/O."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.tanh import (
    TanhNetwork,
    compress,
    compression_trace,
    is_reducible,
    random_expansion,
    random_network,
    rank,
)
from strategies import dims, seeds


def expanded(seed: int, r: int, extra: int, n: int, m: int) -> tuple[TanhNetwork, TanhNetwork]:
    """A random incompressible parameter of width r and a random expansion of it by ``extra`` units."""
    rng = np.random.default_rng(seed)
    base = random_network(r, n, m, rng)
    return base, random_expansion(base, r + extra, rng)


def sup_error(f: TanhNetwork, g: TanhNetwork, seed: int = 0) -> float:
    x = np.random.default_rng(seed).uniform(-5, 5, size=(200, f.n_in))
    return float(np.max(np.abs(f(x) - g(x)), initial=0.0))


# -- Theorem 4.1 and 4.2 -----------------------------------------------------------------------------------------
@settings(max_examples=150)
@given(seeds, st.integers(0, 6), st.integers(0, 12), dims, dims)
def test_compress_preserves_function_and_is_optimal(seed, r, extra, n, m):
    base, net = expanded(seed, r, extra, n, m)
    small = compress(net)
    assert small.width == r == rank(net)
    assert sup_error(small, net) <= 1e-12 * (1 + np.abs(net.a).sum() + np.abs(net.d).sum())
    assert not is_reducible(small)  # Theorem 4.1 (ii), checked on Sussmann's conditions directly
    assert sup_error(small, base) <= 1e-12 * (1 + np.abs(net.a).sum() + np.abs(net.d).sum())


@settings(max_examples=100)
@given(seeds, st.integers(0, 6), st.integers(0, 8), dims, dims)
def test_compress_is_idempotent(seed, r, extra, n, m):
    _, net = expanded(seed, r, extra, n, m)
    once = compress(net)
    assert compress(once).allclose(once, atol=0.0)


@settings(max_examples=100)
@given(seeds, st.integers(0, 6), st.integers(0, 8), dims, dims)
def test_rank_invariant_under_permutation_and_sign_flips(seed, r, extra, n, m):
    _, net = expanded(seed, r, extra, n, m)
    rng = np.random.default_rng(seed + 1)
    perm, flip = rng.permutation(net.width), rng.choice([-1.0, 1.0], size=net.width)
    moved = TanhNetwork(flip[:, None] * net.a[perm], flip[:, None] * net.b[perm], flip * net.c[perm], net.d)
    assert rank(moved) == rank(net) == r
    assert sup_error(moved, net) <= 1e-12 * (1 + np.abs(net.a).sum())


@settings(max_examples=100)
@given(seeds, st.integers(0, 8), dims, dims)
def test_random_parameters_are_incompressible(seed, h, n, m):
    net = random_network(h, n, m, seed)
    assert rank(net) == h and not is_reducible(net)
    assert compress(net).allclose(compress(net)) and sup_error(compress(net), net) < 1e-12


@settings(max_examples=200)
@given(seeds, st.integers(0, 10), dims, dims)
def test_reducible_iff_rank_below_width(seed, extra, n, m):
    """Sussmann's theorem: the reducibility conditions (checked directly) hold iff rank < width."""
    rng = np.random.default_rng(seed)
    base, net = expanded(seed, int(rng.integers(0, 4)), extra, n, m)
    assert is_reducible(net) == (rank(net) < net.width)


# -- an independent method: brute force over all compression traces (Theorem 5.1) ---------------------------------
def set_partitions(items: list[int]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in set_partitions(rest):
        for k in range(len(part)):
            yield part[:k] + [[first] + part[k]] + part[k + 1 :]
        yield [[first]] + part


def brute_force_rank(net: TanhNetwork) -> int:
    """min over all traces (I, Pi, K, sigma) whose subspace of Theorem 5.1 contains w of the trace's length."""
    h, best = net.width, net.width
    for size in range(h + 1):
        for eliminated in itertools.combinations(range(h), size):
            if any(np.any(net.b[i] != 0) for i in eliminated):
                continue
            rest = [i for i in range(h) if i not in eliminated]
            for part in set_partitions(rest):
                length = 0
                for group in part:
                    ok_signs = [
                        s
                        for s in itertools.product((1, -1), repeat=len(group))
                        if s[0] == 1
                        and all(
                            np.array_equal(si * net.b[i], s[0] * net.b[group[0]]) and si * net.c[i] == net.c[group[0]]
                            for si, i in zip(s, group)
                        )
                    ]
                    if not ok_signs:
                        break
                    cancels = any(np.all(sum(si * net.a[i] for si, i in zip(s, group)) == 0) for s in ok_signs)
                    length += 0 if cancels else 1
                else:
                    best = min(best, length)
    return best


def dyadic_reducible(seed: int, h: int, n: int, m: int) -> TanhNetwork:
    """Small-integer parameters: many exact ties, zeros and cancellations, all arithmetic exact."""
    rng = np.random.default_rng(seed)
    return TanhNetwork(
        rng.integers(-2, 3, size=(h, m)) / 2.0,
        rng.integers(-1, 2, size=(h, n)).astype(float),
        rng.integers(-1, 2, size=h).astype(float),
        rng.normal(size=m),
    )


@settings(max_examples=150)
@given(seeds, st.integers(0, 5), st.integers(1, 2), st.integers(1, 2))
def test_rank_matches_brute_force_over_traces(seed, h, n, m):
    net = dyadic_reducible(seed, h, n, m)
    assert rank(net) == brute_force_rank(net)
    assert sup_error(compress(net), net) < 1e-12


def test_trace_is_one_of_theorem_5_1():
    net = TanhNetwork(a=[1.0, 2.0, -2.0, 0.5, 3.0], b=[0.0, 1.0, -1.0, 2.0, 1.0], c=[1.0, 0.5, -0.5, 0.0, 0.5], d=0.0)
    trace = compression_trace(net)
    assert trace.eliminated.tolist() == [0]
    assert [g.tolist() for g in trace.groups] == [[1, 2, 4], [3]]
    assert trace.removed_groups.tolist() == [] and trace.length == rank(net) == 2
    assert trace.sigma.tolist() == [1, 1, -1, 1, 1]
    small = compress(net)
    np.testing.assert_array_equal(small.a[:, 0], [2.0 + 2.0 + 3.0, 0.5])
    np.testing.assert_array_equal(small.b[:, 0], [1.0, 2.0])
    np.testing.assert_array_equal(small.d, [np.tanh(1.0)])


def test_stage_3_sum_is_exact_and_order_free():
    """Stage 3 asks whether the real sum of the doubles is zero, whatever the order of the units.

    Naive left-to-right sums get (1, 1e-17, -1) wrong (0 in that order) and (0.1, 0.2, -0.1, -0.2) wrong (not 0).
    """
    cases = (([0.1, 0.2, -0.3], 1), ([0.5, 0.25, -0.75], 0), ([1.0, 1e-17, -1.0], 1), ([0.1, 0.2, -0.1, -0.2], 0))
    for a, expected in cases:
        for perm in itertools.permutations(range(len(a))):
            k = len(a)
            net = TanhNetwork(np.array(a)[list(perm)], np.ones(k), np.full(k, 0.3), 0.0)
            assert rank(net) == expected


def test_width_zero_and_all_removed():
    net = TanhNetwork(np.zeros((0, 2)), np.zeros((0, 3)), np.zeros(0), [1.0, 2.0])
    assert rank(net) == 0 and compress(net).width == 0 and compress(net).n_in == 3
    gone = TanhNetwork([1.0, 2.0], [0.0, 0.0], [0.5, -0.5], 1.0)
    small = compress(gone)
    assert small.width == 0 and small.d[0] == pytest.approx(1 + np.tanh(0.5) - 2 * np.tanh(0.5))


# -- tolerance -------------------------------------------------------------------------------------------------
ATOL = 1e-3


@pytest.mark.parametrize("factor, expected", [(0.999, 1), (1.001, 2)])
def test_tolerance_elimination_near_tie(factor, expected):
    net = TanhNetwork([1.0, 1.0], [factor * ATOL, 1.0], [0.2, 0.7], 0.0)
    assert rank(net, atol=ATOL) == expected and rank(net) == 2


@pytest.mark.parametrize("factor, expected", [(0.999, 1), (1.001, 2)])
def test_tolerance_merge_near_tie(factor, expected):
    net = TanhNetwork([1.0, 1.0], [[1.0, 0.5], [1.0, 0.5 + factor * ATOL]], [0.2, 0.2], [0.0])
    assert rank(net, atol=ATOL) == expected and rank(net) == 2
    flipped = TanhNetwork([1.0, -1.0], [[1.0, 0.5], [-1.0, -0.5 - factor * ATOL]], [0.2, -0.2], [0.0])
    assert rank(flipped, atol=ATOL) == expected


@pytest.mark.parametrize("factor, expected", [(0.999, 0), (1.001, 1)])
def test_tolerance_drop_near_tie(factor, expected):
    net = TanhNetwork([1.0, -1.0 + factor * ATOL], [1.0, 1.0], [0.2, 0.2], 0.0)
    assert rank(net, atol=ATOL) == expected and rank(net) == 1


def test_tolerance_sign_ignores_small_leading_component():
    net = TanhNetwork([1.0, 1.0], [[1e-6, 1.0], [-1e-6, 1.0]], [0.0, 0.0], [0.0])
    assert rank(net) == 2 and rank(net, atol=1e-5) == 1


@settings(max_examples=100)
@given(seeds, st.integers(1, 12), dims, dims, st.floats(1e-6, 0.3))
def test_tolerant_compression_error_bound(seed, h, n, m, atol):
    """The documented bound atol * ((sum_i |a_i|_inf)(|x|_1 + 1) + h) holds at random inputs."""
    rng = np.random.default_rng(seed)
    net = random_network(h, n, m, rng)
    noisy = TanhNetwork(net.a * (rng.random((h, 1)) > 0.3), net.b * (rng.random((h, 1)) > 0.3), net.c, net.d)
    noisy = TanhNetwork.from_vector(noisy.to_vector() + rng.uniform(-atol, atol, len(noisy.to_vector())) / 3, n, m)
    small = compress(noisy, atol=atol)
    assert small.width == rank(noisy, atol=atol) <= rank(noisy)
    x = rng.uniform(-3, 3, size=(300, n))
    bound = atol * (np.abs(noisy.a).max(axis=1).sum() * (np.abs(x).sum(axis=1) + 1) + h)
    assert np.all(np.abs(small(x) - noisy(x)).max(axis=1) <= bound + 1e-12)


# -- representation, torch, bad input ---------------------------------------------------------------------------
@settings(max_examples=50)
@given(seeds, st.integers(0, 6), dims, dims)
def test_vector_and_torch_round_trips(seed, h, n, m):
    import torch

    net = random_network(h, n, m, seed)
    w = net.to_vector()
    assert len(w) == TanhNetwork.vector_length(h, n, m) == (n + m + 1) * h + m
    assert TanhNetwork.from_vector(w, n, m).allclose(net)
    module = net.to_torch()
    assert TanhNetwork.from_torch(module).allclose(net)
    x = np.random.default_rng(seed).normal(size=(10, n))
    np.testing.assert_allclose(module(torch.from_numpy(x)).detach().numpy(), net(x), rtol=0, atol=1e-13)


def test_vector_order_is_appendix_a():
    net = TanhNetwork.from_vector([1, 2, 3, 4, 5, 6, 7], n_in=1, n_out=1)
    assert net.a[:, 0].tolist() == [1, 4] and net.b[:, 0].tolist() == [2, 5] and net.c.tolist() == [3, 6]
    assert net.d.tolist() == [7]


def test_bad_inputs_are_refused_by_name():
    with pytest.raises(ValueError, match="w has length"):
        TanhNetwork.from_vector(np.ones(6))
    with pytest.raises(ValueError, match="n_in"):
        TanhNetwork.from_vector(np.ones(7), n_in=0)
    with pytest.raises(TypeError, match="n_out"):
        TanhNetwork.from_vector(np.ones(7), n_out=1.5)
    with pytest.raises(ValueError, match="finite"):
        TanhNetwork.from_vector([1, 2, np.nan, 4])
    with pytest.raises(ValueError, match="b must have shape"):
        TanhNetwork([1.0, 2.0], [1.0], [0.0, 0.0], 0.0)
    with pytest.raises(ValueError, match="d has shape"):
        TanhNetwork([1.0, 2.0], [1.0, 1.0], [0.0, 0.0], [0.0, 1.0])
    with pytest.raises(TypeError, match="real numbers"):
        TanhNetwork(["x"], [1.0], [0.0], 0.0)
    with pytest.raises(ValueError, match="h must be >= 0"):
        random_network(-1)
    with pytest.raises(ValueError, match="atol"):
        rank(random_network(2, rng=0), atol=-1.0)
    with pytest.raises(TypeError, match="net"):
        compress(np.ones(4))
    with pytest.raises(ValueError, match="x must have shape"):
        random_network(2, 3, rng=0)(np.ones((4, 2)))
    with pytest.raises(TypeError, match="rng"):
        random_network(2, rng="seed")
    with pytest.raises(ValueError, match="h must be >="):
        random_expansion(random_network(3, rng=0), 2)


def test_from_torch_refuses_other_modules():
    from torch import nn

    with pytest.raises(TypeError, match="module"):
        TanhNetwork.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
    # a bias-free layer is read with zero bias, as by every reader of the library (nncompress.torch_io)
    net = TanhNetwork.from_torch(nn.Sequential(nn.Linear(2, 3, bias=False), nn.Tanh(), nn.Linear(3, 1)))
    assert np.all(net.c == 0)


def test_networks_are_immutable():
    net = random_network(2, rng=0)
    with pytest.raises(AttributeError):
        net.a = np.zeros((2, 1))
    with pytest.raises(ValueError):
        net.a[0, 0] = 1.0


@settings(max_examples=60)
@given(seeds, st.integers(1, 5), st.integers(1, 8), dims, dims, st.integers(-3, 3))
def test_exact_compression_is_scale_free(seed, r, extra, n, m, k):
    """With atol = 0 every decision is exact, so it holds at every scale 10**k of the weights: an expansion built
    by the symmetries of Section 3 compresses to the rank, and moving one merged unit's bias by a relative 1e-6
    splits its group."""
    rng = np.random.default_rng(seed)
    unit = random_network(r, n, m, rng)
    scale = 10.0**k
    base = TanhNetwork(scale * unit.a, scale * unit.b, scale * unit.c, scale * unit.d)
    net = random_expansion(base, r + extra, rng)
    assert rank(net) == rank(base) == r and compress(net).width == r
    trace = compression_trace(net)
    sizes = np.bincount(trace.labels[trace.labels >= 0])
    shared = np.flatnonzero(np.isin(trace.labels, np.flatnonzero(sizes > 1)))
    if len(shared):
        i = int(rng.choice(shared))
        c = net.c.copy()
        c[i] += 1e-6 * max(abs(c[i]), scale)
        assert rank(TanhNetwork(net.a, net.b, c, net.d)) > r
