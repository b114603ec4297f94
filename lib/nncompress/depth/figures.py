"""Figures of Chapter 6 (Burstein and Wilmes, 2020). Each function draws on axes it is given (or makes a figure)
and returns it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..style import PALETTE
from .gadget import knot_fit, sawtooth
from .network import LayeredNetwork

__all__ = [
    "plot_distillation",
    "plot_family",
    "plot_gadget_fits",
    "plot_growth",
    "plot_norm_bounds",
    "plot_local_global",
    "plot_parity_construction",
    "plot_student_curves",
    "plot_walsh_spectra",
    "plot_width_sweep",
]


def plot_parity_construction(axes: Sequence[Any], net: LayeredNetwork, n: int) -> None:
    """Left: the fold computed by the first hidden layer, F(s), against s = number of -1 bits; right: the output
    (-1)^F, at the integer points (dots) and along the segment between them (line)."""
    s_line = np.linspace(0, n, 40 * n + 1)
    x = 1.0 - 2.0 * np.clip(s_line[:, None] - np.arange(n)[None, :], 0, 1)  # first floor(s) bits -1, then fractional
    hidden = net.hidden(x)
    fold = hidden[1] @ net.weights[1][0]  # F(s): the second layer's pre-activation at offset 0
    s_int = np.arange(n + 1)
    x_int = 1.0 - 2.0 * (np.arange(n)[None, :] < s_int[:, None])
    axes[0].plot(s_line, fold, color=PALETTE["blue"], label="fold $F(s)$ (layer 1)")
    axes[0].plot(s_int, net.hidden(x_int)[1] @ net.weights[1][0], "o", color=PALETTE["blue"])
    axes[0].set(xlabel="$s$ = number of coordinates equal to $-1$", ylabel="$F(s)$", title="hidden layer 1: fold")
    axes[1].plot(s_line, hidden[-1][:, 0], color=PALETTE["vermillion"], label="network output")
    axes[1].plot(s_int, net(x_int), "o", color=PALETTE["vermillion"])
    axes[1].plot(s_int, (-1.0) ** s_int, "x", color=PALETTE["black"], label="$(-1)^s$")
    axes[1].set(xlabel="$s$", ylabel="output", title="hidden layer 2 + output: $(-1)^F$")
    axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)


def plot_family(ax: Any, family: Any, f: LayeredNetwork) -> None:
    """The atoms of D_h for a small n: cube point (x-axis, as a bit string), last coordinate in units of eta; filled
    markers carry mass, hollow ones are the other side of each pair; the teacher's value is written next to each."""
    cube = family.cube()
    h = family.h(cube)
    idx = np.arange(len(cube))
    ax.axhline(0, color=PALETTE["black"], lw=0.8)
    ax.scatter(idx, h, s=70, color=PALETTE["blue"], zorder=3, label="atom of $D_h$ at $x_0 + \\eta h(x_0) v$")
    ax.scatter(idx, -h, s=70, facecolors="none", edgecolors=PALETTE["vermillion"], zorder=3,
               label="$x_0 - \\eta h(x_0) v$ (no mass)")
    ax.scatter(idx, np.zeros(len(idx)), marker="|", s=120, color=PALETTE["black"], label="$x_0 \\in X$ ($D_0$)")
    for i, x0 in enumerate(cube):
        val = float(f(family.perturb(x0[None, :], h[i:i + 1]))[0])
        ax.annotate(f"f = {val:+.0f}", (i, h[i]), textcoords="offset points", xytext=(0, 10 if h[i] > 0 else -16),
                    ha="center", fontsize=8)
    labels = ["".join("0" if v > 0 else "1" for v in x0[: family.n]) for x0 in cube]
    ax.set_xticks(idx, labels, rotation=0, fontsize=8)
    ax.set(xlabel="$\\pi(x_0)$ (bit $i$ = 1 where $x_i = -1$)", ylabel="$x_{n+1} / \\eta$", ylim=(-1.8, 1.8))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=8)


def plot_walsh_spectra(axes: Sequence[Any], spectra: dict[str, np.ndarray], n: int, subset: Sequence[int]) -> None:
    """One panel per compression: the correlation of the Lemma-1 signs with every parity chi_T (T indexed as the
    rows of hypercube(n)); the hidden parity's bar is highlighted."""
    true_index = int(sum(1 << (n - 1 - i) for i in subset))
    for ax, (name, spec) in zip(axes, spectra.items()):
        idx = np.arange(len(spec))
        ax.vlines(idx, 0, spec, color=PALETTE["blue"], lw=0.8)
        big = np.abs(spec) >= 0.2
        ax.plot(idx[big], spec[big], "o", color=PALETTE["blue"], ms=4)
        ax.plot([true_index], [spec[true_index]], "o", color=PALETTE["vermillion"], ms=7,
                label="hidden parity $\\chi_S$")
        ax.set(title=name, xlabel="parity $\\chi_T$ (index of $T$)", ylim=(-1.1, 1.1))
    axes[-1].legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel("correlation with $\\tilde h$")


def plot_distillation(axes: Sequence[Any], table: Any, reference: dict[str, np.ndarray], ns: np.ndarray) -> None:
    """Left: transfer-set size needed to reach the accuracy threshold against n (log scale), one line per student,
    with reference curves; right: training time of that run."""
    for (name, grp), color in zip(table.groupby("student"), (PALETTE["blue"], PALETTE["vermillion"])):
        med = grp.groupby("n")[["samples", "seconds"]].median()
        axes[0].plot(med.index, med["samples"], "o-", color=color, label=f"student {name} (median)")
        axes[0].plot(grp["n"], grp["samples"], ".", color=color, alpha=0.5)
        axes[1].plot(med.index, med["seconds"], "o-", color=color, label=f"student {name}")
    styles = iter(["--", ":", "-."])
    for label, values in reference.items():
        axes[0].plot(ns, values, next(styles), color=PALETTE["black"], label=label)
    axes[0].set(yscale="log", xlabel="$n$ (bits)", ylabel="transfer-set size to reach threshold")
    axes[1].set(yscale="log", xlabel="$n$ (bits)", ylabel="training time of that run (s)")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)


def plot_gadget_fits(ax: Any, m: int, width: int, grid: int = 4097) -> None:
    """The gadget T_{2m^2} on [0, 1] and two depth-2 networks of ``width`` units fitted by least squares."""
    x = np.linspace(0, 1, grid)
    target = sawtooth(x, 2 * m * m)
    ax.plot(x, target, color=PALETTE["black"], lw=1.0, label="gadget $g = T_m \\circ T_m$ (depth 3)")
    front, _ = knot_fit(target, x, np.arange(width) / (4 * m * m))
    uniform, _ = knot_fit(target, x, np.arange(width) / width)
    ax.plot(x, front(x[:, None]), color=PALETTE["vermillion"], label=f"depth 2, {width} units, knots on first teeth")
    ax.plot(x, uniform(x[:, None]), color=PALETTE["blue"], label=f"depth 2, {width} units, uniform knots")
    ax.set(xlabel="$x$ (the first quarter of [0, 1])", ylabel="value", ylim=(-0.1, 1.45), xlim=(0, 0.25))
    ax.legend(loc="upper right", fontsize=8)


def plot_width_sweep(ax: Any, sweep: Any, m: int, marks: dict[str, float]) -> None:
    """Depth-2 error against width: Telgarsky's lower bound and the two least-squares fits; vertical marks."""
    ax.plot(sweep.index, sweep["front_knots"], "o-", color=PALETTE["vermillion"],
            label="knots on first teeth (achieved)")
    ax.plot(sweep.index, sweep["uniform_knots"], "s-", color=PALETTE["blue"], label="uniform knots (achieved)")
    ax.plot(sweep.index, sweep["lower_bound"], "k--", label="lower bound, any depth-2 network")
    ax.axhline(1 / 12, color=PALETTE["black"], lw=0.8, alpha=0.5)
    mark_colors = (PALETTE["bluish_green"], PALETTE["reddish_purple"], PALETTE["orange"])
    for (label, x), color in zip(marks.items(), mark_colors):
        ax.axvline(x, color=color, ls=":", label=label)
    ax.set(xscale="log", xlabel="hidden units of the depth-2 network", ylabel="mean squared error vs gadget")
    ax.legend(fontsize=8)


def plot_local_global(ax: Any, table: Any) -> None:
    """Per slice of the product network: the trained depth-2 student's error on the whole gadgets, the lower bound
    for any depth-2 network of that width, and the (zero) error of the global depth-3 compression."""
    idx = np.arange(len(table))
    ax.bar(idx - 0.25, table["student_mse"], width=0.25, color=PALETTE["blue"], label="depth-2 student (trained)")
    ax.bar(idx, table["lower_bound"], width=0.25, color=PALETTE["orange"], label="lower bound, any depth-2")
    ax.bar(idx + 0.25, table["global_max_error"] ** 2, width=0.25, color=PALETTE["bluish_green"],
           label="global depth-3 compression")
    ax.axhline(1 / 12, color=PALETTE["black"], lw=0.8, ls="--", label="variance of $g$ (constant predictor)")
    for i in idx:
        ax.annotate("0 (exact)", (i + 0.25, 0), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7,
                    rotation=90, color=PALETTE["bluish_green"])
    ax.set_xticks(idx, [f"layers {s}" for s in table["layers"]])
    ax.set(ylabel="mean squared error on whole gadgets")
    ax.legend(fontsize=8)


def plot_norm_bounds(ax: Any, table: Any, eps: float) -> None:
    """Definition 2's norm: for each gadget size (x-axis: the gadget's own Λ, balanced), the depth-2 norms of
    :func:`~nncompress.depth.norms.gadget_norm_table`: exact ReLU network, ReLU bounds at ``eps``, any-activation
    bounds, and the interpolation bound (``interpolant_bound``), on log-log axes."""
    lam = table["gadget_lam"]
    ax.plot(lam, table["exact_relu"], "o-", color=PALETTE["vermillion"], label="exact depth-2 ReLU (error 0)")
    ax.fill_between(lam, table["relu_lower"], table["relu_upper"], color=PALETTE["vermillion"], alpha=0.2,
                    label=f"ReLU, error $\\leq$ {eps:.3g}: proven range")
    ax.plot(lam, table["any_upper"], "s-", color=PALETTE["blue"], label="exact, tent activation (error 0)")
    ax.fill_between(lam, table["any_lower"], table["any_upper"], color=PALETTE["blue"], alpha=0.2,
                    label=f"any 1-Lipschitz activation, error $\\leq$ {eps:.3g}: proven range")
    ax.plot(lam, table["interpolant_bound"], "^--", color=PALETTE["bluish_green"],
            label="interpolation bound: any 1-D gadget as steep as this one")
    ax.plot(lam, lam, "k:", label="$\\Lambda' = \\Lambda_g$")
    ax.set(xscale="log", yscale="log", xlabel="$\\Lambda_g$ of the depth-3 gadget (balanced)",
           ylabel="$\\Lambda'$ of a depth-2 network")
    ax.legend(fontsize=7)


def plot_student_curves(axes: Sequence[Any], runs: Any, curves: dict) -> None:
    """Left: training curves (grid error against step) of the local students, one colour per gadget size m, the
    constant predictor's error dashed; right: each (m, width)'s best error against width, with the proven floor."""
    colors = (PALETTE["blue"], PALETTE["vermillion"], PALETTE["bluish_green"], PALETTE["orange"])
    for (m, grp), color in zip(runs.groupby("m"), colors):
        for key, arr in curves.items():
            if key[0] == m:
                axes[0].plot(arr[0], arr[1], color=color, alpha=0.35, lw=0.8)
        axes[0].plot([], [], color=color, label=f"m = {m} ({2 * m * m} teeth)")
        best = grp.groupby("width").agg(best=("best_mse", "min"), floor=("floor", "first"))
        axes[1].plot(best.index, best["best"], "o-", color=color, label=f"best trained, m = {m}")
        axes[1].plot(best.index, best["floor"], "x:", color=color, label=f"proven floor, m = {m}")
    for ax in axes:
        ax.axhline(1 / 12, color=PALETTE["black"], ls="--", lw=0.8, label="constant predictor (1/12)")
    axes[0].set(xlabel="Adam step", ylabel="mean squared error vs gadget", yscale="log")
    axes[1].set(xscale="log", xlabel="width of the depth-2 student", ylabel="mean squared error vs gadget")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7, ncol=2)


def plot_growth(ax: Any, needed: Any, fit: dict, column: str = "samples",
                ylabel: str = "transfer-set size to reach the threshold") -> None:
    """A cost against n (``column`` of ``needed``: every seed, and the median), with the exponential and polynomial
    models of ``fit`` (:func:`~nncompress.depth.growth.compare_growth` on that column)."""
    ns = np.linspace(needed["n"].min(), needed["n"].max(), 200)
    med = needed.groupby("n")[column].median()
    ax.plot(needed["n"], needed[column], ".", color=PALETTE["blue"], alpha=0.6, label="one seed")
    ax.plot(med.index, med, "o", color=PALETTE["blue"], label="median over seeds")
    e, p = fit["exponential"], fit["polynomial"]
    ax.plot(ns, 2 ** (e["a"] + e["slope"] * ns), "-", color=PALETTE["vermillion"],
            label=f"exponential $2^{{{e['a']:.1f} + {e['slope']:.2f} n}}$")
    ax.plot(ns, 2 ** (p["a"] + p["slope"] * np.log2(ns)), "--", color=PALETTE["bluish_green"],
            label=f"polynomial $2^{{{p['a']:.1f}}} n^{{{p['slope']:.1f}}}$")
    ax.set(yscale="log", xlabel="$n$ (bits)", ylabel=ylabel)
    ax.legend(fontsize=8)
