"""Theorem 5.1 made computable: counts, both inclusions, containment and distance, against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.rank_regions import (
    Subspace,
    bounded_rank_subspaces,
    canonical_trace,
    compression_traces,
    count_subspaces,
    count_traces,
    distance_to_bounded_rank,
    relax_to_length,
)
from nncompress.tanh import TanhNetwork, random_expansion, random_network, rank
from strategies import seeds


def projector(subspace: Subspace) -> np.ndarray:
    """The orthogonal projector onto S from an SVD of its constraint matrix, independent of the closed forms."""
    C = subspace.constraints
    if len(C) == 0:
        return np.eye(subspace.ambient_dim)
    _, s, vt = np.linalg.svd(C)
    null = vt[np.sum(s > 1e-10) :]
    return null.T @ null


def key(P: np.ndarray) -> bytes:
    return (np.round(P, 8) + 0.0).tobytes()  # + 0.0 turns -0.0 into 0.0


@pytest.mark.parametrize("h", range(5))
def test_counts_match_closed_forms(h):
    for r in range(h + 1):
        assert sum(1 for _ in compression_traces(h, r)) == count_subspaces(h, r)
        assert sum(1 for _ in compression_traces(h, r, canonical=False)) == count_traces(h, r)
    assert count_subspaces(h, h) == 1
    if h:
        assert count_subspaces(h, h - 1) == h * (h + 1)  # Sussmann's four conditions: h + h + 2 * C(h, 2)


@pytest.mark.parametrize("h, n, m", [(1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1), (2, 2, 1), (3, 1, 2)])
def test_canonical_traces_are_exactly_the_distinct_subspaces(h, n, m):
    """Brute force: the subspaces of *all* raw traces, told apart numerically, are as many as the canonical ones."""
    for r in range(h + 1):
        raw = {key(projector(Subspace(t, n, m))) for t in compression_traces(h, r, canonical=False)}
        canonical = [key(projector(Subspace(t, n, m))) for t in compression_traces(h, r)]
        assert len(set(canonical)) == len(canonical) == len(raw) == count_subspaces(h, r)
        assert set(canonical) == raw


@pytest.mark.parametrize("h, n, m", [(2, 1, 1), (3, 1, 1), (2, 2, 2)])
def test_containment_is_exact_and_maximal_are_length_r(h, n, m):
    for r in range(h + 1):
        family = bounded_rank_subspaces(h, r, n, m)
        projectors = [projector(s) for s in family]
        for s, P in zip(family, projectors):
            for u, Q in zip(family, projectors):
                numerical = np.allclose(Q @ P, P, atol=1e-9)  # S subset of U iff Q fixes S
                assert s.is_subset_of(u) == numerical
        maximal = [s for s in family if not any(s is not u and s.is_subset_of(u) for u in family)]
        assert [s.trace for s in maximal] == [s.trace for s in bounded_rank_subspaces(h, r, n, m, maximal=True)]
        assert all(s.trace.length == r for s in maximal)


@pytest.mark.parametrize("h, n, m", [(3, 1, 1), (4, 2, 1), (3, 2, 3)])
def test_closed_form_basis_and_projection(h, n, m):
    rng = np.random.default_rng(h)
    for r in range(h + 1):
        for s in bounded_rank_subspaces(h, r, n, m):
            B = s.basis
            assert B.shape == (s.dim, s.ambient_dim)
            np.testing.assert_allclose(B @ B.T, np.eye(s.dim), atol=1e-12)
            np.testing.assert_allclose(s.constraints @ B.T, 0, atol=1e-12)
            assert np.linalg.matrix_rank(s.constraints) + s.dim == s.ambient_dim
            w = rng.normal(size=s.ambient_dim)
            p = s.project(w)
            assert s.contains(p)  # exactly
            np.testing.assert_allclose(p, B.T @ (B @ w), atol=1e-12)


@pytest.mark.parametrize("h, n, m", [(1, 1, 1), (3, 1, 1), (4, 2, 2), (5, 1, 1)])
def test_inclusion_subspaces_lie_in_bounded_rank_region(h, n, m):
    """Theorem 5.1, inclusion of the union in B_r: a random point of every subspace has rank <= r."""
    rng = np.random.default_rng(0)
    for r in range(h + 1):
        for s in bounded_rank_subspaces(h, r, n, m, maximal=True):
            w = TanhNetwork.from_vector(s.sample(rng), n, m)
            assert rank(w) <= r


@settings(max_examples=60)
@given(seeds, st.integers(1, 5), st.integers(1, 2), st.integers(1, 2))
def test_inclusion_bounded_rank_region_lies_in_union(seed, h, n, m):
    """Theorem 5.1, inclusion of B_r in the union: a parameter of rank r' <= r lies in some component, found both
    by scanning every component and by relaxing the trace of Algorithm 4.1."""
    rng = np.random.default_rng(seed)
    r_true = int(rng.integers(0, h + 1))
    w = random_expansion(random_network(r_true, n, m, rng), h, rng)
    assert rank(w) == r_true
    for r in range(r_true, h + 1):
        components = bounded_rank_subspaces(h, r, n, m, maximal=True)
        assert any(s.contains(w) for s in components)
        relaxed = relax_to_length(canonical_trace(w), r)
        assert relaxed.length == r and Subspace(relaxed, n, m).contains(w)
    if r_true > 0:
        assert not any(s.contains(w) for s in bounded_rank_subspaces(h, r_true - 1, n, m))


@settings(max_examples=40)
@given(seeds, st.integers(1, 5), st.integers(1, 2), st.integers(1, 2))
def test_distance_matches_minimum_over_components(seed, h, n, m):
    w = random_network(h, n, m, seed)
    for r in range(h + 1):
        dist, nearest, trace = distance_to_bounded_rank(w, r)
        brute = min(np.linalg.norm(s.project(w) - w.to_vector()) for s in bounded_rank_subspaces(h, r, n, m, True))
        assert dist == pytest.approx(brute, rel=1e-9, abs=1e-12)
        assert trace.length == r and Subspace(trace, n, m).contains(nearest)
        assert rank(TanhNetwork.from_vector(nearest, n, m)) <= r


def test_distance_is_zero_exactly_on_the_region():
    rng = np.random.default_rng(3)
    w = random_expansion(random_network(2, rng=rng), 6, rng)
    assert distance_to_bounded_rank(w, 2)[0] == pytest.approx(0.0, abs=1e-12)
    assert distance_to_bounded_rank(w, 1)[0] > 0.01


def test_bad_inputs():
    with pytest.raises(ValueError, match="r must be <= h"):
        bounded_rank_subspaces(2, 3)
    with pytest.raises(ValueError, match="h must be >= 0"):
        list(compression_traces(-1, 0))
    with pytest.raises(TypeError, match="r must be an integer"):
        count_subspaces(3, 1.0)
    with pytest.raises(ValueError, match="n_in"):
        bounded_rank_subspaces(2, 1, n_in=0)
    s = bounded_rank_subspaces(2, 1)[0]
    with pytest.raises(ValueError, match="w must have shape"):
        s.contains(np.ones(5))
    with pytest.raises(ValueError, match="finite"):
        s.contains(np.full(7, np.nan))
    with pytest.raises(ValueError, match="max_width"):
        distance_to_bounded_rank(random_network(14, rng=0), 2)
    with pytest.raises(ValueError, match="r must be"):
        relax_to_length(canonical_trace(random_network(3, rng=0)), 2)


@settings(max_examples=40)
@given(seeds, st.integers(2, 5), st.integers(1, 2), st.integers(1, 2), st.integers(-3, 3))
def test_containment_follows_the_scale(seed, h, n, m, k):
    """A projection onto a component is contained exactly at every scale 10**k; a relative 1e-6 move of an entry
    that enters an equation leaves the component even with rtol = 1e-12; a move of a few ulps stays within rtol."""
    rng = np.random.default_rng(seed)
    s = bounded_rank_subspaces(h, int(rng.integers(0, h)), n, m, maximal=True)[0]
    p = s.project(10.0**k * rng.normal(size=s.ambient_dim))
    assert s.contains(p)
    free = np.all(np.abs(s.constraints) == 0, axis=0)  # entries in no equation
    i = int(rng.choice(np.flatnonzero(~free)))
    scale = float(np.max(np.abs(p)))
    for step, inside in ((1e-6 * scale, False), (4 * np.finfo(float).eps * scale, True)):
        moved = p.copy()
        moved[i] += step
        assert s.contains(moved, rtol=1e-12) is inside
