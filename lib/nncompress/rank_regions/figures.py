"""Figures of Chapter 2 (each returns a matplotlib Figure; the style comes from ``nncompress.style``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tanh import TanhNetwork, rank
from .subspaces import slice_intersection
from .subspaces import bounded_rank_subspaces

__all__ = ["plot_rank_slices", "plot_counts"]


def plot_rank_slices(panels: list[dict[str, Any]], half_width: float = 1.0, points: int = 21) -> Any:
    """Planar slices of parameter space: grid points coloured by rank, and the components of B_{h-1} crossing.

    Each panel is a dict with ``h``, ``origin`` (a parameter vector, n = m = 1), ``u`` and ``v`` (directions
    spanning the slice), ``labels`` (axis names) and ``title``. The rank of every grid point comes from
    Algorithm 4.2; the lines are the slice's intersections with the components of Theorem 5.1, so the two
    agree exactly when the theorem does.
    """
    import matplotlib.pyplot as plt

    # constrained layout keeps each panel's axis labels clear of its neighbour; the legends sit below the panels
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 4.9), layout="constrained")
    grid = np.linspace(-half_width, half_width, points)
    for ax, panel in zip(np.atleast_1d(axes), panels):
        h, origin, u, v = panel["h"], *(np.asarray(panel[k], dtype=float) for k in ("origin", "u", "v"))
        ss, tt = np.meshgrid(grid, grid)
        ranks = np.array([rank(TanhNetwork.from_vector(origin + s * u + t * v))
                          for s, t in zip(ss.ravel(), tt.ravel())])
        for k, value in enumerate(sorted(set(ranks), reverse=True)):
            mask = ranks == value
            ax.scatter(ss.ravel()[mask], tt.ravel()[mask], s=9 if value == h else 30, color=f"C{k}",
                       label=f"rank {value}", zorder=3)
        for component in bounded_rank_subspaces(h, h - 1, maximal=True):
            hit = slice_intersection(component, origin, u, v)
            if hit is None or len(hit[1]) == 0:
                continue
            point, directions = hit
            if len(directions) == 1:
                line = point[:, None] + np.outer(directions[0], np.linspace(-3, 3, 2))
                ax.plot(line[0], line[1], color="0.4", lw=1, zorder=1)
        ax.set_xlim(-half_width * 1.05, half_width * 1.05)
        ax.set_ylim(-half_width * 1.05, half_width * 1.05)
        ax.set_xlabel(panel["labels"][0])
        ax.set_ylabel(panel["labels"][1])
        ax.set_title(panel["title"], fontsize=10)
        ax.set_aspect("equal")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=9, handletextpad=0.3,
                  columnspacing=1.0)
    return fig


def plot_counts(table: Any) -> Any:
    """Numbers of components of B_r (log scale) against h, one line per codimension h - r, and all subspaces."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    table = table.assign(removed=table["h"] - table["r"])
    for k, (removed, rows) in enumerate(table[table["removed"] >= 1].groupby("removed")):
        ax.semilogy(rows["h"], rows["components"], "o-", color=f"C{k % 8}", label=f"$h - r = {removed}$")
    totals = table.groupby("h")["components"].sum()
    ax.semilogy(totals.index, totals.values, "k--", label="all $r$")
    ax.set_xlabel("hidden units $h$")
    ax.set_ylabel(r"components of $\mathfrak{B}_r$")
    ax.legend(fontsize=8, ncol=2)
    return fig
