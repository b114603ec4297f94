"""The shared kernels of nncompress.units: generalised sign, unit keys, partitions, tolerances."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.units import (
    generalised_sign,
    key_tolerances,
    number_groups_by_first,
    partition_keys,
    unit_keys,
    within_tolerance,
)
from strategies import seeds


def greedy_partition(keys: np.ndarray, width: float) -> np.ndarray:
    """Reference: coordinate by coordinate, each group sorted and cut greedily into runs that start at a key and
    take every later key within ``width`` of that start (a plain loop, independent of the vectorised version)."""
    labels = np.zeros(len(keys), dtype=np.int64)
    for k in range(keys.shape[1]):
        order = np.lexsort((keys[:, k], labels))
        new, current, start, prev = np.empty_like(labels), -1, 0.0, None
        for i in order:
            if labels[i] != prev or keys[i, k] - start > width:
                current, start, prev = current + 1, keys[i, k], labels[i]
            new[i] = current
        labels = new
    return labels


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(number_groups_by_first(a), number_groups_by_first(b)))


@settings(max_examples=100)
@given(seeds, st.integers(0, 60), st.integers(1, 3), st.sampled_from([0.0, 1e-3, 0.05, 0.3]))
def test_partition_matches_the_greedy_reference(seed, k, d, width):
    rng = np.random.default_rng(seed)
    keys = np.round(rng.normal(size=(k, d)), 1)  # many ties and near ties
    keys[rng.random(k) < 0.3] += rng.uniform(-0.1, 0.1)
    assert same_partition(partition_keys(keys, width), greedy_partition(keys, width))


@settings(max_examples=100)
@given(seeds, st.integers(1, 80), st.integers(1, 3))
def test_partition_with_tolerance_per_row(seed, k, d):
    """Equal rows share a group; every group's range is at most the largest tolerance of its members."""
    rng = np.random.default_rng(seed)
    keys = np.cumsum(rng.uniform(0, 2e-3, size=(k, d)), axis=0)  # chains of close keys
    keys = np.vstack([keys, keys[: k // 3]])
    tol = rng.uniform(0, 3e-3, size=len(keys))
    labels = partition_keys(keys, tol)
    assert np.all(labels[k:] == labels[: k // 3])
    for g in np.unique(labels):
        member = labels == g
        assert np.all(np.ptp(keys[member], axis=0) <= tol[member].max())


def test_partition_bounds_diameter_on_long_chains():
    rng = np.random.default_rng(0)
    keys = np.cumsum(rng.uniform(0, 2e-3, size=(400, 2)), axis=0) * 1e-3
    labels = partition_keys(keys, 1e-6)
    for g in np.unique(labels):
        member = keys[labels == g]
        assert np.all(member.max(0) - member.min(0) <= 1e-6)


def test_generalised_sign_and_unit_keys():
    b = np.array([[0.0, -2.0], [1e-12, -1.0], [0.0, 0.0], [3.0, 1.0]])
    assert generalised_sign(b).tolist() == [-1.0, 1.0, 0.0, 1.0]
    assert generalised_sign(b, atol=1e-9).tolist() == [-1.0, -1.0, 0.0, 1.0]
    w = np.array([[-3.0, 4.0], [6.0, -8.0], [0.0, -2.0]])
    keys, s, norm = unit_keys(w, np.array([5.0, -10.0, 1.0]))
    assert s.tolist() == [-1.0, 1.0, -1.0] and norm.tolist() == [5.0, 10.0, 2.0]
    assert np.array_equal(keys[0], keys[1]) and keys[0].tolist() == [0.6, -0.8, -1.0]
    assert keys[2].tolist() == [0.0, 1.0, -0.5] and not np.signbit(keys[2, 0])


@settings(max_examples=50)
@given(seeds, st.integers(-3, 3))
def test_relative_tolerances_follow_the_scale(seed, k):
    rng = np.random.default_rng(seed)
    keys = rng.normal(size=(20, 3))
    scale = 10.0**k
    assert np.allclose(key_tolerances(keys * scale, 0.0, 1e-12), 1e-12 * scale * np.abs(keys).max(axis=1), rtol=1e-14)
    assert key_tolerances(keys, 1e-9, 0.0) == 1e-9
    assert within_tolerance(1e-13 * scale, scale, 0.0, 1e-12) and not within_tolerance(1e-11 * scale, scale, 0.0,
                                                                                        1e-12)
    assert within_tolerance(0.0, 0.0, 0.0, 1e-12) and not within_tolerance(1e-300, 0.0, 0.0, 1e-12)
