"""Figures 1-3 of Serra et al. 2021 (Section 6), drawn from a sweep table (:func:`nncompress.sweep.run_sweep`
with :func:`nncompress.stability.experiments.analyse_point`). Call :func:`nncompress.style.use_style` first."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ..sweep import arch_name
from .experiments import helpful_l1_range, linear_fit

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


def plot_runtimes(table: Any, axes: Any = None) -> Any:
    """Figure 2: our method's runtime against the baseline's (left), and with against without data preprocessing
    (right), log-log, one point per network, with the diagonal and the median ratio in the legend."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 4))
    pairs = [("seconds_baseline", "seconds_pipeline", "baseline (s)", "ours (s)"),
             ("seconds_pipeline_nodata", "seconds_pipeline", "ours without preprocessing (s)", "ours (s)")]
    for ax, (xcol, ycol, xlabel, ylabel) in zip(axes, pairs):
        rows = table.dropna(subset=[xcol, ycol])
        for k, (hidden, group) in enumerate(rows.groupby("hidden", sort=False)):
            ratio = np.median(group[xcol] / group[ycol])
            ax.scatter(group[xcol], group[ycol], s=18, color=f"C{k}",
                       label=f"{arch_name(hidden)}: median ratio {ratio:.3g}x")
        lo = min(rows[xcol].min(), rows[ycol].min()) / 2
        hi = max(rows[xcol].max(), rows[ycol].max()) * 2
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls="--")
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, xlim=(lo, hi), ylim=(lo, hi))
        ax.legend(loc="upper left", fontsize="small")
    return axes


def plot_accuracy_vs_neurons_left(table: Any, hidden: tuple[int, ...], ax: Any = None) -> Any:
    """Figure 3: test accuracy against neurons left after exact compression, for the compressible regularised
    networks (l1 > 0, as in the paper) of one architecture, with the least-squares line and its coefficient of
    determination R^2."""
    rows = table[(table["hidden"] == tuple(hidden)) & (table["removed_neurons"] > 0) & (table["l1"] > 0)]
    left = rows["hidden_neurons"] - rows["removed_neurons"]
    ax = ax or plt.gca()
    sc = ax.scatter(left, rows["accuracy"], c=np.log10(rows["l1"]), cmap="viridis", s=22)
    plt.colorbar(sc, ax=ax, label=r"$\log_{10} \ell_1$")
    fit = linear_fit(left, rows["accuracy"])
    xs = np.linspace(left.min(), left.max(), 50)
    ax.plot(xs, fit["intercept"] + fit["slope"] * xs, color="C3", label=f"least squares, $R^2$ = {fit['r2']:.2f}")
    ax.set(xlabel="neurons left after compression", ylabel="test accuracy", title=arch_name(hidden))
    ax.legend(loc="lower right")
    return ax
