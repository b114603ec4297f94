"""Chapter 2's experiment functions: closed forms against enumeration, slices, distances."""

from __future__ import annotations

import numpy as np
import pytest

from nncompress.rank_regions import bounded_rank_subspaces
from nncompress.rank_regions.experiments import (
    count_table,
    distance_table,
    inclusion_checks,
    largest_dimension,
    slice_intersection,
)
from nncompress.tanh import random_network


@pytest.mark.parametrize("n, m", [(1, 1), (2, 1), (1, 3), (2, 2)])
def test_largest_dimension_matches_enumeration(n, m):
    for h in range(5):
        for r in range(h + 1):
            dims = np.array([s.dim for s in bounded_rank_subspaces(h, r, n, m, maximal=True)])
            assert (int(dims.max()), int(np.sum(dims == dims.max()))) == largest_dimension(h, r, n, m)


def test_count_table_agrees_with_closed_forms():
    table = count_table(5)
    assert table["closed_form_ok"].all() and len(table) == 21
    assert table.set_index(["h", "r"]).loc[(3, 2), "components"] == 12  # h (h + 1): Sussmann's conditions


def test_inclusion_checks_pass():
    table = inclusion_checks(3, n_samples=2, n_expansions=5, rng=0)
    assert (table["max_sample_rank"] <= table["r"]).all()
    assert (table["expansions_in_union"] == table["expansions"]).all()


def test_slice_intersection():
    merge = [s for s in bounded_rank_subspaces(2, 1, maximal=True) if s.equations() == ["(b2, c2) = -(b1, c1)"]][0]
    origin = np.array([1, 0, 0, -0.7, 0, 0, 0.0])
    u, v = np.eye(7)[1], np.eye(7)[4]
    point, directions = slice_intersection(merge, origin, u, v)  # the line b2 = -b1
    assert directions.shape == (1, 2) and abs(directions[0, 0] + directions[0, 1]) < 1e-12
    shifted = origin + np.eye(7)[2] * 0.5  # c1 = 0.5, c2 = 0: the plane misses (b2, c2) = -(b1, c1)
    assert slice_intersection(merge, shifted, u, v) is None
    for k in range(-3, 4):  # the decisions are relative: the same at every scale of the plane
        scale = 10.0**k
        point, directions = slice_intersection(merge, scale * origin, scale * u, scale * v)
        assert directions.shape == (1, 2) and abs(point.sum()) < 1e-12  # b2 = -b1: s + t = 0
        assert slice_intersection(merge, scale * shifted, scale * u, scale * v) is None
        assert slice_intersection(merge, scale * origin + 1e-6 * scale * np.eye(7)[2], scale * u, scale * v) is None


def test_distance_table_orders_the_norms():
    net = random_network(5, rng=1)
    table = distance_table(net, exact_radius_steps=20)
    assert (table["exact_at_distance"] <= table["r"]).all()
    assert (table["linf_radius"] <= table["distance"] * (1 + 1e-9)).all()
    assert table["distance"].is_monotonic_decreasing
