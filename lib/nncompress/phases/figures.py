"""Figures of the chapter on posterior phases (each returns a matplotlib Figure)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..relu_symmetry import ReluNetwork
from .labelling import effective_weights

__all__ = ["plot_k_slices", "plot_fraction_vs_theta", "plot_effective_weights", "plot_orientation",
           "plot_llc_validation"]


def plot_k_slices(slices: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], xlabel: str, ylabel: str,
                  marks: dict[str, tuple[float, float]] | None = None) -> Any:
    """One panel per (title, x values, y values, K (len(y), len(x))): log-scaled filled contours of K."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, axes = plt.subplots(1, len(slices), figsize=(5.2 * len(slices), 4.4), squeeze=False)
    for ax, (title, xs, ys, K) in zip(axes[0], slices):
        Kc = np.maximum(K, 1e-6)
        levels = np.logspace(-6, np.log10(Kc.max()), 25)
        cs = ax.contourf(xs, ys, Kc, levels=levels, norm=LogNorm(), cmap="viridis")
        for name, (a, b) in (marks or {}).items():
            ax.plot(a, b, "o", ms=7, mfc="none", mec="w", mew=2)
            ax.annotate(name, (a, b), textcoords="offset points", xytext=(-20, 9), color="w", fontsize=9)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        fig.colorbar(cs, ax=ax, label="$K(w)$", format="%.0e")
    fig.tight_layout()
    return fig


def plot_fraction_vs_theta(df: Any, switches: dict[int, float] | None = None, n_runs: int | None = None) -> Any:
    """The one-node fraction (mean over runs, bars from the smallest to the largest run) against theta, one line per
    n, one panel per temperature; dotted vertical lines at the free-energy prediction of the switch. ``n_runs``, if
    given, is the number of runs behind each point, stated in the legend's title."""
    import matplotlib.pyplot as plt

    temps = list(dict.fromkeys(df["temperature"]))
    fig, axes = plt.subplots(1, len(temps), figsize=(5.6 * len(temps), 4.0), sharey=True, squeeze=False)
    for ax, temp in zip(axes[0], temps):
        sub = df[df["temperature"] == temp]
        for i, (n, g) in enumerate(sub.groupby("n")):
            g = g.sort_values("theta")
            err = np.vstack([g["one_node"] - g["one_node_min"], g["one_node_max"] - g["one_node"]])
            ax.errorbar(g["theta"], g["one_node"], yerr=err, marker="o", capsize=3, color=f"C{i}", label=f"n = {n:,}")
            if switches and temp.startswith("posterior") and n in switches and np.isfinite(switches[n]):
                ax.axvline(switches[n], color=f"C{i}", ls=":", lw=1.5)
        ax.axvline(np.pi / 2, color="k", lw=0.8)
        ax.set(xlabel=r"$\theta$ (rad); $\pi/2$: the truth is one node", title=temp, ylim=(-0.03, 1.03))
        ax.legend(loc="upper left", fontsize=9, title_fontsize=8,
                  title=f"mean and range of {n_runs} runs" if n_runs is not None else None)
    axes[0, 0].set_ylabel("posterior mass with one effective node")
    fig.tight_layout()
    return fig


def plot_effective_weights(panels: list[tuple[str, np.ndarray, np.ndarray, ReluNetwork | None]], width: int,
                           max_points: int = 1500, rng: int = 0) -> Any:
    """Scatter of every node's total gradient :math:`q_i w_i` (all nodes of all samples) in the plane, coloured by
    the sample's label; the truth's vectors as black stars. ``panels`` holds (title, theta (P, D), labels (P,) of
    str, truth)."""
    import matplotlib.pyplot as plt

    gen = np.random.default_rng(rng)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 4.6), squeeze=False)
    all_names = sorted({str(v) for _, _, lab, _ in panels for v in np.unique(lab)})
    colours = {name: f"C{i % 7}" for i, name in enumerate(all_names)}
    for ax, (title, theta, labels, truth) in zip(axes[0], panels):
        idx = gen.permutation(len(theta))[:max_points]
        ew = effective_weights(theta[idx], width)
        for name in all_names:
            m = labels[idx] == name
            if m.any():
                pts = ew[m].reshape(-1, 2)
                ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.35, color=colours[name],
                           label=f"{name} ({np.mean(labels == name):.0%})")
        if truth is not None:
            tv = truth.q[:, None] * truth.w
            ax.scatter(tv[:, 0], tv[:, 1], marker="*", s=110, color="k", label="truth $q_i w_i$")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.axvline(0, color="0.6", lw=0.6)
        ax.set(xlabel=r"$(q_i w_i)_1$", ylabel=r"$(q_i w_i)_2$", title=title)
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(fontsize=8, markerscale=1.5, loc="lower left")
    fig.tight_layout()
    return fig


def plot_orientation(df: Any, n_runs: int | None = None) -> Any:
    """Stacked bars of the orientation phases for each (q3, n), one panel per temperature, with error bars of one
    standard deviation over runs; ``n_runs``, if given, is the number of runs, stated in the legend's title."""
    import matplotlib.pyplot as plt

    phases = ["non-annihilating", "annihilating", "partly reversed", "other"]
    temps = list(dict.fromkeys(df["temperature"]))
    fig, axes = plt.subplots(1, len(temps), figsize=(5.6 * len(temps), 4.0), sharey=True, squeeze=False)
    for ax, temp in zip(axes[0], temps):
        sub = df[df["temperature"] == temp].reset_index(drop=True)
        ticks = [f"$q_3$ = {q:g}\nn = {n:,}" for q, n in zip(sub["q3"], sub["n"])]
        bottom = np.zeros(len(sub))
        for i, ph in enumerate(phases):
            ax.bar(np.arange(len(sub)), sub[ph], bottom=bottom, color=f"C{i}", label=ph,
                   yerr=sub[ph + " sd"], capsize=2, error_kw={"elinewidth": 0.8})
            bottom += sub[ph].to_numpy()
        ax.set_xticks(np.arange(len(sub)), ticks, fontsize=8)
        ax.set(title=temp, ylim=(0, 1.05))
    axes[0, 0].set_ylabel("posterior mass")
    axes[0, -1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), framealpha=1.0, title_fontsize=8,
                       title=f"mean, sd over {n_runs} runs" if n_runs is not None else None)
    fig.tight_layout()
    return fig


def plot_llc_validation(df: Any) -> Any:
    """Estimated against known learning coefficients (a table of
    :func:`~nncompress.phases.llc_validation`): the tempered estimator with one-standard-error bars, coloured by
    the kind of model, and the single-temperature (WBIC) estimate of the same model as an open marker, with the
    identity line; both axes logarithmic."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    for i, (kind, g) in enumerate(df.groupby("kind")):
        ax.errorbar(g["true"], g["estimate"], yerr=g["std_error"], fmt="o", capsize=3, color=f"C{i}",
                    label=f"{kind}, tempered")
        if "wbic_estimate" in g:
            ax.plot(g["true"], g["wbic_estimate"], "o", mfc="none", color=f"C{i}", ms=7,
                    label=f"{kind}, single temperature")
    cols = [c for c in ("true", "estimate", "wbic_estimate") if c in df]
    vals = df[cols].to_numpy(float)
    low, top = 0.8 * float(np.nanmin(vals[vals > 0])), 1.25 * float(np.nanmax(vals))
    ax.plot([low, top], [low, top], color="k", lw=1, label="estimate = truth")
    ax.set(xlabel=r"known learning coefficient $\lambda$", ylabel=r"estimate $\hat\lambda$", xscale="log",
           yscale="log", xlim=(low, top), ylim=(low, top))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
