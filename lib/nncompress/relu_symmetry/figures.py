"""Figures of the chapter on ReLU symmetries (each returns a matplotlib Figure or draws on an axis)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..style import CYCLE, PALETTE
from .network import ReluNetwork

__all__ = ["plot_activation_boundaries", "plot_network_1d", "plot_scaling_valley", "plot_degeneracy_bowls",
           "plot_fisher_spectra", "plot_box_symmetry"]


def plot_activation_boundaries(ax: Any, net: ReluNetwork, lim: float = 3.0, arrows: bool = True,
                               title: str | None = None) -> Any:
    """Filled contours of f (n = 2) with each node's activation boundary and its weight vector drawn from the
    boundary point nearest the origin (it points into the side where the node is active)."""
    if net.n_in != 2:
        raise ValueError("plot_activation_boundaries draws networks with n = 2")
    g = np.linspace(-lim, lim, 241)
    X1, X2 = np.meshgrid(g, g)
    F = net(np.column_stack([X1.ravel(), X2.ravel()])).reshape(X1.shape)
    F = np.round(F, 12)  # rounding noise (a cancelling region is 0 only up to ~1e-16) would leave holes in contourf
    pad = 1e-9 * (1 + float(np.ptp(F)))
    cs = ax.contourf(X1, X2, F, levels=np.linspace(F.min() - pad, F.max() + pad, 21), cmap="viridis")
    t = np.linspace(-2 * lim, 2 * lim, 2)
    for i, (w, b) in enumerate(zip(net.w, net.b)):
        nw = float(np.hypot(*w))
        if nw == 0:
            continue
        p0 = -b * w / nw**2
        d = np.array([-w[1], w[0]]) / nw
        line = p0[None, :] + t[:, None] * d[None, :]
        colour = f"C{i % 7}"
        ax.plot(line[:, 0], line[:, 1], color=colour, lw=2, label=f"node {i + 1}")
        if arrows:
            ax.annotate("", xy=p0 + 0.8 * w / nw, xytext=p0,
                        arrowprops=dict(arrowstyle="->", color=colour, lw=2))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return cs


def plot_network_1d(ax: Any, net: ReluNetwork, x: np.ndarray, title: str | None = None) -> None:
    """Each node's term q_i ReLU(w_i x + b_i) (dashed), the output bias (dotted) and f (thick), for n = 1."""
    if net.n_in != 1:
        raise ValueError("plot_network_1d draws networks with n = 1")
    terms = net.node_terms(x)
    for i in range(net.width):
        ax.plot(x, terms[:, i], ls="--", lw=1.3,
                label=f"node {i + 1}: {net.q[i]:+g} ReLU({net.w[i, 0]:+g}x{net.b[i]:+g})")
    if net.c:
        ax.axhline(net.c, color="grey", ls=":", lw=1.2, label=f"c = {net.c:g}")
    ax.plot(x, net(x), color="k", lw=2.5, alpha=0.8, label="$f(x)$")
    ax.set_xlabel("input $x$")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, loc="upper center")


def plot_scaling_valley(ws: np.ndarray, qs: np.ndarray, K: np.ndarray, n: int) -> Any:
    """Example 3.2: K(w, q) (left, log colour scale) and the unnormalised posterior exp(-n K) under a uniform prior
    (right), with the curve q w = 1 of true parameters."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4), sharey=True)
    W, Q = np.meshgrid(ws, qs)
    cs = axes[0].contourf(W, Q, K + 1e-6, levels=np.geomspace(1e-6, K.max() + 1e-6, 25), norm=LogNorm(), cmap="viridis")
    fig.colorbar(cs, ax=axes[0], label="$K(w, q)$", format="%.0e")
    cs2 = axes[1].contourf(W, Q, np.exp(-n * K), levels=20, cmap="magma")
    fig.colorbar(cs2, ax=axes[1], label=rf"$\exp(-nK)$, $n = {n}$")
    curve = ws[ws > 0.2]
    for ax in axes:
        ax.plot(curve, 1 / curve, color="w", ls="--", lw=1.5, label="true parameters $qw = 1$")
        ax.set_xlabel("incoming weight $w$")
        ax.set_ylim(qs.min(), qs.max())
    axes[0].set_ylabel("outgoing weight $q$")
    axes[0].legend(loc="upper right", fontsize=8)
    return fig


def plot_degeneracy_bowls(w1s: np.ndarray, w2s: np.ndarray, K: np.ndarray, level: float,
                          fractions: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """Example 3.4: contours of K(w1, w2) with the segment of true parameters; the sublevel set {K < level} is
    shaded. Optionally (right) the width of that set across the segment at each true parameter."""
    import matplotlib.pyplot as plt

    ncols = 2 if fractions is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 4.2))
    axes = np.atleast_1d(axes)
    W1, W2 = np.meshgrid(w1s, w2s)
    ax = axes[0]
    ax.contour(W1, W2, K, levels=np.geomspace(level / 4, K.max(), 12), cmap="viridis", linewidths=0.9)
    ax.contourf(W1, W2, K, levels=[0, level], colors=["#56B4E9"], alpha=0.5)
    ax.plot([0, 1], [1, 0], color="#D55E00", lw=2.5, label="true parameters $w_1 + w_2 = 1$")
    ax.plot([0, 1], [1, 0], "o", color="k", ms=7, label="degenerate ends ($w_1 = 0$ or $w_2 = 0$)")
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(f"$K(w_1, w_2)$; shaded: $K < {level:g}$")
    if fractions is not None:
        t, frac = fractions
        axes[1].plot(t, frac, "o-")
        axes[1].set_xlabel("position $w_1$ along the true segment ($w_2 = 1 - w_1$)")
        axes[1].set_ylabel(f"width of $\\{{K < {level:g}\\}}$ across the segment")
    return fig


def plot_fisher_spectra(spectra: dict[str, np.ndarray], floor: float = 1e-34) -> Any:
    """Eigenvalues of the Fisher information (decreasing, log scale), one line per network, each with its own colour
    and marker (eight distinct pairs, then they repeat); values below ``floor`` are drawn at the floor. The drop marks
    the null space."""
    import matplotlib.pyplot as plt

    # the style's cycle has seven colours; black (kept for reference curves elsewhere) is an eighth, and each series
    # also gets its own marker, so that up to eight networks stay distinguishable in colour, in greyscale and in print
    colors = [PALETTE[name] for name in CYCLE] + [PALETTE["black"]]
    markers = ("o", "s", "^", "v", "D", "P", "X", "*")
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for i, (name, ev) in enumerate(spectra.items()):
        ax.semilogy(np.arange(1, len(ev) + 1), np.maximum(ev, floor), "-", marker=markers[i % len(markers)],
                    color=colors[i % len(colors)], ms=4, lw=1.2, label=name)
    ax.set_xlabel("eigenvalue index (decreasing)")
    ax.set_ylabel("eigenvalue of $I(\\theta)$")
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_box_symmetry(ws: np.ndarray, bs: np.ndarray, on_box: np.ndarray, on_r: np.ndarray) -> Any:
    """The (w, b) plane of the one-node model q ReLU(w x + b) against the zero truth: where it is equivalent on
    [-1, 1] (shaded) and on R (dark)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    W, B = np.meshgrid(ws, bs)
    ax.contourf(W, B, on_box.astype(float), levels=[0.5, 1.5], colors=["#56B4E9"], alpha=0.7)
    ax.plot(ws, -np.abs(ws), color="#D55E00", lw=2, label="$b = -|w|$: boundary at the box's edge")
    if on_r.any():
        ax.plot(W[on_r], B[on_r], "s", color="k", ms=3, label="equivalent on $\\mathbb{R}$")
    ax.set_xlabel("incoming weight $w$")
    ax.set_ylabel("bias $b$")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("$q\\,\\mathrm{ReLU}(wx + b) \\equiv 0$ on $[-1, 1]$ (shaded)")
    return fig
