"""The experiments of Chapter 2, as functions of their settings (the notebook only calls and narrates)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import as_rng, check_size
from ..tanh import TanhNetwork, proximate_rank, random_expansion, random_network, rank
from .subspaces import (
    Subspace,
    bounded_rank_subspaces,
    canonical_trace,
    count_subspaces,
    count_traces,
    distance_to_bounded_rank,
    relax_to_length,
    slice_intersection,
)

__all__ = ["count_table", "largest_dimension", "inclusion_checks", "distance_table", "slice_intersection"]


def largest_dimension(h: int, r: int, n_in: int = 1, n_out: int = 1) -> tuple[int, int]:
    r"""Closed form for :math:`\dim \mathfrak B_r` and the number of components of that dimension.

    Removing a unit costs n equations by elimination (:math:`b_i = 0`), m by a removed singleton
    (:math:`a_i = 0`) and n + 1 by a merge, so the largest components remove h - r units one at a time by the
    cheaper of the first two: :math:`\dim \mathfrak B_r = (n+m+1)h + m - (h-r)\min(n, m)`, attained by
    :math:`\binom{h}{r}` components if n != m and :math:`\binom{h}{r} 2^{h-r}` if n = m.
    """
    dim = (n_in + n_out + 1) * h + n_out - (h - r) * min(n_in, n_out)
    count = math.comb(h, r) * (2 ** (h - r) if n_in == n_out else 1)
    return dim, count


def count_table(h_max: int, n_in: int = 1, n_out: int = 1) -> Any:
    """For every h <= h_max and r <= h: traces, distinct subspaces, components and the dimension of B_r.

    Subspaces are enumerated (``bounded_rank_subspaces``) and their numbers compared with the closed forms
    ``count_subspaces``; dimensions are read off the enumerated components and compared with
    :func:`largest_dimension`.

    Returns
    -------
    pandas.DataFrame
        Columns ``h, r, traces`` (all raw traces of length r, closed form), ``subspaces`` (distinct subspaces of
        traces of length <= r), ``components`` (maximal ones), ``dim`` (of B_r), ``top`` (components of that
        dimension), ``closed_form_ok`` (the enumeration agrees with every closed form).
    """
    import pandas as pd

    rows = []
    for h in range(check_size(h_max, "h_max") + 1):
        for r in range(h + 1):
            components = bounded_rank_subspaces(h, r, n_in, n_out, maximal=True)
            n_subspaces = len(bounded_rank_subspaces(h, r, n_in, n_out))
            dims = np.array([s.dim for s in components])
            dim, top = int(dims.max()), int(np.sum(dims == dims.max()))
            ok = (
                len(components) == count_subspaces(h, r)
                and n_subspaces == sum(count_subspaces(h, q) for q in range(r + 1))
                and (dim, top) == largest_dimension(h, r, n_in, n_out)
            )
            rows.append(dict(h=h, r=r, traces=count_traces(h, r), subspaces=n_subspaces,
                             components=len(components), dim=dim, top=top, closed_form_ok=ok))
    return pd.DataFrame(rows)


def inclusion_checks(
    h_max: int, n_samples: int = 3, n_expansions: int = 20, dims: tuple[tuple[int, int], ...] = ((1, 1), (2, 1)),
    rng: np.random.Generator | int | None = None,
) -> Any:
    """Both inclusions of Theorem 5.1, checked on random points for every h <= h_max, every r and each (n, m).

    (union in B_r) ``n_samples`` random points of every component have rank <= r (Algorithm 4.2).
    (B_r in union) ``n_expansions`` random parameters of rank <= r, built by random expansions, lie in some
    component: found by scanning all components (``contains``, exact) and by relaxing Algorithm 4.1's trace.

    Returns
    -------
    pandas.DataFrame
        One row per (n, m, h, r): ``components``, ``max_sample_rank``, ``expansions_in_union``,
        ``expansions_in_relaxed``, ``expansions``.
    """
    import pandas as pd

    rng = as_rng(rng)
    rows = []
    for n, m in dims:
        for h in range(1, check_size(h_max, "h_max") + 1):
            for r in range(h + 1):
                components = bounded_rank_subspaces(h, r, n, m, maximal=True)
                sample_ranks = [rank(TanhNetwork.from_vector(s.sample(rng), n, m))
                                for s in components for _ in range(n_samples)]
                in_union = in_relaxed = 0
                for _ in range(n_expansions):
                    w = random_expansion(random_network(int(rng.integers(0, r + 1)), n, m, rng), h, rng)
                    in_union += any(s.contains(w) for s in components)
                    in_relaxed += Subspace(relax_to_length(canonical_trace(w), r), n, m).contains(w)
                rows.append(dict(n=n, m=m, h=h, r=r, components=len(components),
                                 max_sample_rank=max(sample_ranks), expansions=n_expansions,
                                 expansions_in_union=in_union, expansions_in_relaxed=in_relaxed))
    return pd.DataFrame(rows)


def distance_table(net: TanhNetwork, exact_radius_steps: int = 40) -> Any:
    """Distance from a parameter to every bounded-rank region, with its proximate ranks at that radius.

    For each r < width: the Euclidean distance :math:`d_r` to :math:`\\mathfrak B_r`
    (:func:`distance_to_bounded_rank`); the greedy and exact eps-proximate ranks at eps = :math:`d_r` (the
    nearest point lies in that L-infinity ball, so the exact one is at most r); and the exact L-infinity radius
    :math:`\\rho_r` at which the proximate rank drops to r, by bisection on the exact method (monotone in eps).
    Both proximate ranks are taken at :math:`d_r (1 + 10^{-12})`, so that rounding in the norm cannot put the
    nearest point a unit in the last place outside the ball.
    Norms give :math:`\\rho_r \\le d_r \\le \\sqrt{\\dim}\\,\\rho_r`.

    Returns
    -------
    pandas.DataFrame
        Columns ``r, distance, greedy_at_distance, exact_at_distance, linf_radius``.
    """
    import pandas as pd

    rows = []
    for r in range(net.width):
        dist, _, _ = distance_to_bounded_rank(net, r)
        low, high = 0.0, float(np.max(np.abs(net.to_vector())))
        for _ in range(check_size(exact_radius_steps, "exact_radius_steps")):
            mid = (low + high) / 2
            low, high = (low, mid) if proximate_rank(net, mid, "exact") <= r else (mid, high)
        rows.append(dict(r=r, distance=dist, greedy_at_distance=proximate_rank(net, dist * (1 + 1e-12), "greedy"),
                         exact_at_distance=proximate_rank(net, dist * (1 + 1e-12), "exact"), linf_radius=high))
    return pd.DataFrame(rows)
