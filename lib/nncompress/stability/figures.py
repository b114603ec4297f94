"""Figures 1-3 of Serra et al. 2021 (Section 6), drawn from a sweep table (:func:`nncompress.sweep.run_sweep`
with :func:`nncompress.stability.experiments.analyse_point`). Call :func:`nncompress.style.use_style` first."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ..sweep import arch_name
from .experiments import helpful_l1_range, linear_fit, median_speedup

__all__ = ["plot_accuracy_and_removed", "plot_runtimes", "plot_accuracy_vs_neurons_left"]


def plot_accuracy_and_removed(table: Any, hidden: tuple[int, ...], ax: Any = None) -> Any:
    """Figure 1: mean test accuracy (left axis) and mean fraction of neurons removed (right axis) against l1, for one
    architecture, error bars one standard deviation over seeds (their number is in the title); shaded where the l1
    value beats l1 = 0 on mean accuracy (by any margin) *and* removes neurons."""
    rows = table[table["hidden"] == tuple(hidden)]
    stats = rows.groupby("l1").agg(acc=("accuracy", "mean"), acc_sd=("accuracy", "std"),
                                   removed=("removed_neurons_fraction", "mean"),
                                   removed_sd=("removed_neurons_fraction", "std")).fillna(0.0)
    ax = ax or plt.gca()
    x = np.arange(len(stats))  # l1 = 0 has no place on a log axis: equally spaced categories instead
    for k in helpful_l1_range(table, hidden):
        pos = list(stats.index).index(k)
        ax.axvspan(pos - 0.5, pos + 0.5, color="C3", alpha=0.12, lw=0)
    ax.errorbar(x, stats["acc"], yerr=stats["acc_sd"], color="C0", marker="o", label="test accuracy")
    ax.set_xticks(x, [f"{v:g}" for v in stats.index])
    ax.set_xlabel(r"$\ell_1$ coefficient")
    ax.set_ylabel("test accuracy", color="C0")
    right = ax.twinx()
    right.errorbar(x, 100 * stats["removed"], yerr=100 * stats["removed_sd"], color="C3", marker="s",
                   label="neurons removed")
    right.set_ylabel("neurons removed (%)", color="C3")
    right.grid(False)
    seeds = rows.groupby("l1")["seed"].nunique()
    count = f"{seeds.min()}" if seeds.min() == seeds.max() else f"{seeds.min()} to {seeds.max()}"
    ax.set_title(f"{arch_name(hidden)}, {count} seed{'' if seeds.max() == 1 else 's'} per value")
    return ax


def plot_runtimes(table: Any, axes: Any = None, methods: tuple[str, ...] = ("isa", "pipeline")) -> Any:
    """Figure 2: each of ``methods`` against the baseline (one panel each), then the pipeline with against without
    data preprocessing (last panel); log-log, one point per network, with the diagonal and the median ratio per
    architecture in the legend (:func:`~nncompress.stability.experiments.median_speedup`).

    Where the table says a run hit its time limit (``complete_<method>`` false), its time is only a lower bound:
    a stopped run on the horizontal axis is drawn as a hollow triangle pointing right, one on the vertical axis as
    a hollow triangle pointing up (and left out of the median); a median that includes a lower bound is marked
    "≥". A method missing from the table gets no panel."""
    panels = [("baseline", m, "baseline (s)", f"{'ISA' if m == 'isa' else m} (s)") for m in methods
              if f"seconds_{m}" in table.columns]
    if "seconds_pipeline_nodata" in table.columns:
        panels.append(("pipeline_nodata", "pipeline", "pipeline without preprocessing (s)", "pipeline (s)"))
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4), squeeze=False)
        axes = axes[0]
    for ax, (reference, method, xlabel, ylabel) in zip(axes, panels):
        xcol, ycol = f"seconds_{reference}", f"seconds_{method}"
        rows = table.dropna(subset=[xcol, ycol])
        if rows.empty:
            ax.set_visible(False)
            continue
        rows = rows.assign(**{col: rows[col].astype(bool) if col in rows.columns else True
                              for col in (f"complete_{reference}", f"complete_{method}")})
        for k, (hidden, group) in enumerate(rows.groupby("hidden", sort=False)):
            x_low, y_low = ~group[f"complete_{reference}"], ~group[f"complete_{method}"]
            ratio, bound, n = median_speedup(group, method, reference)
            label = (f"{arch_name(hidden)}: median ratio {'≥ ' if bound else ''}{ratio:.3g}x" if n else
                     f"{arch_name(hidden)}: no run finished")
            plain = ~x_low & ~y_low
            ax.scatter(group[xcol][plain], group[ycol][plain], s=18, color=f"C{k}", label=label)
            for mask, marker in ((x_low & ~y_low, ">"), (y_low, "^")):
                if mask.any():
                    ax.scatter(group[xcol][mask], group[ycol][mask], s=30, marker=marker, facecolors="none",
                               edgecolors=f"C{k}")
        lo = min(rows[xcol].min(), rows[ycol].min()) / 2
        hi = max(rows[xcol].max(), rows[ycol].max()) * 2
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls="--")
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, xlim=(lo, hi), ylim=(lo, hi))
        ax.legend(loc="upper left", fontsize="small")
    return axes


def plot_accuracy_vs_neurons_left(table: Any, hidden: tuple[int, ...], ax: Any = None) -> Any:
    """Figure 3: test accuracy against neurons left after exact compression, for the compressible regularised
    networks (l1 > 0, as in the paper) of one architecture, with the least-squares line and its coefficient of
    determination R^2 (when there are at least 3 such networks with different counts)."""
    rows = table[(table["hidden"] == tuple(hidden)) & (table["removed_neurons"] > 0) & (table["l1"] > 0)]
    left = rows["hidden_neurons"] - rows["removed_neurons"]
    ax = ax or plt.gca()
    sc = ax.scatter(left, rows["accuracy"], c=np.log10(rows["l1"]), cmap="viridis", s=22)
    plt.colorbar(sc, ax=ax, label=r"$\log_{10} \ell_1$")
    if len(rows) >= 3 and np.ptp(left) > 0:
        fit = linear_fit(left, rows["accuracy"])
        xs = np.linspace(left.min(), left.max(), 50)
        ax.plot(xs, fit["intercept"] + fit["slope"] * xs, color="C3",
                label=f"least squares, $R^2$ = {fit['r2']:.2f}")
        ax.legend(loc="lower right")
    else:  # a line through fewer than 3 points (or one x value) says nothing
        ax.text(0.98, 0.04, f"{len(rows)} network{'' if len(rows) == 1 else 's'}: no line fitted",
                transform=ax.transAxes, ha="right", fontsize="small")
    ax.set(xlabel="neurons left after compression", ylabel="test accuracy", title=arch_name(hidden))
    return ax
