"""Figures of Chapter 1 (each returns a matplotlib Figure; the style comes from ``nncompress.style``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .network import TanhNetwork

__all__ = ["REDUCIBILITY_EXAMPLES", "plot_proximate_curves", "plot_reducibility_conditions", "plot_unit_contributions",
           "plot_loglog"]

#: One two-unit network per reducibility condition of Section 3, keyed by the condition's name.
REDUCIBILITY_EXAMPLES: dict[str, TanhNetwork] = {
    "(i) $a_2 = 0$: eliminate": TanhNetwork([1.0, 0.0], [1.5, -2.0], [0.5, 1.0], 0.0),
    "(ii) $b_2 = 0$: fold into $d$": TanhNetwork([1.0, 0.8], [1.5, 0.0], [0.5, 1.0], 0.0),
    "(iii) $(b_1, c_1) = (b_2, c_2)$: merge": TanhNetwork([1.0, 0.6], [1.5, 1.5], [0.5, 0.5], 0.0),
    "(iv) $(b_1, c_1) = -(b_2, c_2)$: merge": TanhNetwork([1.0, 0.6], [1.5, -1.5], [0.5, -0.5], 0.0),
}


def plot_unit_contributions(ax: Any, net: TanhNetwork, x: np.ndarray, total_label: str = "$f_w$") -> None:
    """Draw each unit's term :math:`a_i \\tanh(b_i x + c_i)` (thin) and the function :math:`f_w` (thick), n = m = 1."""
    import matplotlib.pyplot as plt

    if net.n_in != 1 or net.n_out != 1:
        raise ValueError("plot_unit_contributions draws networks with n = m = 1")
    terms = np.tanh(np.outer(x, net.b[:, 0]) + net.c) * net.a[:, 0]
    n_colours = max(1, len(plt.rcParams["axes.prop_cycle"].by_key().get("color", [None])))
    for i in range(net.width):  # past the colour cycle the dash pattern changes, so no two units look alike
        ax.plot(x, terms[:, i], lw=1.2, ls=("--", ":", "-.")[(i // n_colours) % 3], label=f"unit {i + 1}")
    ax.plot(x, net(x)[:, 0], lw=2.5, color="k", alpha=0.8, label=total_label)
    ax.set_xlabel("input $x$")
    ax.set_ylabel("output")


def plot_reducibility_conditions(x: np.ndarray | None = None) -> Any:
    """Four panels, one per reducibility condition: the two units' terms and the function they sum to."""
    import matplotlib.pyplot as plt

    x = np.linspace(-3, 3, 301) if x is None else x
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), sharey=True)
    for ax, (title, net) in zip(axes, REDUCIBILITY_EXAMPLES.items()):
        plot_unit_contributions(ax, net, x)
        ax.set_title(title, fontsize=10)
        if ax is not axes[0]:
            ax.set_ylabel("")
    axes[0].legend(loc="lower right", fontsize=8)
    return fig


def plot_loglog(x: np.ndarray, y: np.ndarray, xlabel: str, ylabel: str, fit: tuple[float, float] | None = None) -> Any:
    """A log-log plot of measured ``y`` against ``x`` with, optionally, a power law ``fit = (slope, intercept)``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.loglog(x, y, "o", label="measured")
    if fit is not None:
        slope, intercept = fit
        ax.loglog(x, np.exp(intercept) * np.asarray(x, dtype=float) ** slope, "-", label=f"fit: slope {slope:.2f}")
        ax.legend()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def plot_proximate_curves(curves: dict[int, Any]) -> Any:
    """Rank against radius eps for trained networks: the exact eps-proximate rank (solid) and the greedy bound
    (dashed, its running minimum over radii), one colour per width; ``curves[width]`` comes from
    :func:`nncompress.tanh.experiments.proximate_rank_curve`."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
    for k, (width, frame) in enumerate(curves.items()):
        colour = f"C{k}"
        if "exact" in frame:
            ax.step(frame["eps"], frame["exact"], where="post", color=colour, lw=2, label=f"h = {width}: exact")
        ax.step(frame["eps"], frame["greedy_envelope"], where="post", color=colour, ls="--", lw=1.5,
                label=f"h = {width}: greedy bound")
    ax.set_xscale("log")
    ax.set_xlabel(r"radius $\varepsilon$ of the $L^\infty$ ball")
    ax.set_ylabel(r"$\varepsilon$-proximate rank")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside the axes, clear of the curves
    return fig
