"""The experiments of Chapter 1, as functions of their settings (the notebook only calls and narrates)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from .compress import compress, compression_trace, is_reducible, rank
from .expand import random_expansion, random_network
from .network import TanhNetwork
from .proximate import proximate_compress

__all__ = ["trace_table", "theorem_checks", "compress_times", "power_law_fit", "train_tanh_regression",
           "proximate_rank_curve"]


def trace_table(net: TanhNetwork, atol: float = 0.0) -> Any:
    """What Algorithm 4.1 does to each unit of ``net`` (n = m = 1), as a table for reading.

    Returns
    -------
    pandas.DataFrame
        One row per unit: its ``a, b, c``, its orientation ``sigma``, and its ``fate``: eliminated in Stage 1,
        or the merged unit (group) it joins in Stage 2, marked when Stage 3 removes that group.
    """
    import pandas as pd

    if net.n_in != 1 or net.n_out != 1:
        raise ValueError("trace_table shows networks with n = m = 1")
    trace = compression_trace(net, atol)
    removed = set(trace.removed_groups.tolist())
    fates = [
        "Stage 1: eliminated (b = 0)" if j < 0
        else f"Stage 2: group {j + 1}" + (" -> Stage 3: removed (alpha = 0)" if j in removed else "")
        for j in trace.labels
    ]
    return pd.DataFrame(
        dict(a=net.a[:, 0], b=net.b[:, 0], c=net.c, sigma=trace.sigma, fate=fates),
        index=pd.RangeIndex(1, net.width + 1, name="unit"),
    )


def theorem_checks(
    n_trials: int,
    rng: np.random.Generator | int | None = None,
    max_rank: int = 8,
    max_extra: int = 12,
    dims: tuple[int, ...] = (1, 2, 3),
    n_points: int = 64,
) -> Any:
    """Check Theorems 4.1 and 4.2 on random reducible parameters built by random expansions.

    Each trial draws n, m from ``dims``, a random incompressible parameter of width r <= ``max_rank`` and a
    random expansion of it to width h = r + (0..``max_extra``) (:func:`random_expansion`), then records what
    Algorithms 4.1 and 4.2 say about the expansion.

    Returns
    -------
    pandas.DataFrame
        One row per trial: ``n, m, r, h``; ``rank`` (Algorithm 4.2); ``width`` of ``compress``; ``error``, the
        largest difference between the two functions at ``n_points`` normal inputs (scaled by 3), relative to
        :math:`1 + \\sum|a| + \\sum|d|`; ``compressed_reducible`` (Sussmann's conditions on the output);
        ``reducible`` (on the input).
    """
    import pandas as pd

    n_trials = check_size(n_trials, "n_trials")
    rng = as_rng(rng)
    rows = []
    for _ in range(n_trials):
        n, m = int(rng.choice(dims)), int(rng.choice(dims))
        r = int(rng.integers(0, max_rank + 1))
        net = random_expansion(random_network(r, n, m, rng), r + int(rng.integers(0, max_extra + 1)), rng)
        small = compress(net)
        x = 3 * rng.normal(size=(n_points, n))
        scale = 1 + np.abs(net.a).sum() + np.abs(net.d).sum()
        rows.append(
            dict(
                n=n, m=m, r=r, h=net.width, rank=rank(net), width=small.width,
                error=float(np.max(np.abs(small(x) - net(x)))) / scale,
                compressed_reducible=is_reducible(small), reducible=is_reducible(net),
            )
        )
    return pd.DataFrame(rows)


def compress_times(widths: Any, rng: np.random.Generator | int | None = None, repeat: int = 3) -> np.ndarray:
    """The best of ``repeat`` wall-clock times (seconds) of ``compress`` on random expansions of each width.

    Each network of width h is a random expansion of a random incompressible parameter of width h // 2
    (n = m = 1), so that all four reduction operations occur.
    """
    rng = as_rng(rng)
    times = []
    for h in widths:
        h = check_size(int(h), "widths")
        net = random_expansion(random_network(h // 2, rng=rng), h, rng)
        best = np.inf
        for _ in range(repeat):
            start = time.perf_counter()
            compress(net)
            best = min(best, time.perf_counter() - start)
        times.append(best)
    return np.array(times)


def power_law_fit(x: Any, y: Any) -> tuple[float, float]:
    """Least-squares fit of ``log y = slope * log x + intercept``; returns ``(slope, intercept)``."""
    x = as_float_array(x, "x", ndim=1)
    y = as_float_array(y, "y", shape=(len(x),))
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive for a log-log fit")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(intercept)


def train_tanh_regression(
    x: Any,
    y: Any,
    width: int,
    epochs: int = 3000,
    lr: float = 0.01,
    rng: np.random.Generator | int | None = None,
    progress: bool = True,
) -> tuple[TanhNetwork, np.ndarray]:
    """Fit a tanh network of the given width to (x, y) by full-batch Adam on the mean squared error (torch).

    Parameters
    ----------
    x : array_like, shape (N, n)
    y : array_like, shape (N, m)
    width : int
        Hidden units h.
    epochs : int
        Adam steps.
    lr : float
        Adam's learning rate.
    rng : Generator, int or None
        Seeds torch's initialisation (through ``torch.Generator``), so the result is reproducible.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    (TanhNetwork, ndarray)
        The trained parameter and the loss after each step.
    """
    import torch
    from torch import nn
    from tqdm import tqdm

    x = as_float_array(x, "x", ndim=2)
    y = as_float_array(y, "y", ndim=2)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of rows, got {len(x)} and {len(y)}")
    width, epochs = check_size(width, "width"), check_size(epochs, "epochs")
    seed = int(as_rng(rng).integers(2**63 - 1))
    gen = torch.Generator().manual_seed(seed)
    hidden, out = nn.Linear(x.shape[1], width, dtype=torch.float64), nn.Linear(width, y.shape[1], dtype=torch.float64)
    with torch.no_grad():
        for layer in (hidden, out):
            bound = 1 / np.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=gen)
            layer.bias.uniform_(-bound, bound, generator=gen)
    model = nn.Sequential(hidden, nn.Tanh(), out)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    losses = np.empty(epochs)
    for step in tqdm(range(epochs), disable=not progress, desc=f"training width {width}"):
        optimiser.zero_grad()
        loss = torch.mean((model(xt) - yt) ** 2)
        loss.backward()
        optimiser.step()
        losses[step] = loss.item()
    return TanhNetwork.from_torch(model), losses


def proximate_rank_curve(
    net: TanhNetwork, eps_values: Any, x: Any, exact: bool = True
) -> Any:
    """Greedy (and exact) eps-proximate rank of ``net`` for each radius, with the function error on ``x``.

    Returns
    -------
    pandas.DataFrame
        Columns ``eps``, ``greedy`` (rank of the greedy nearby parameter), ``greedy_envelope`` (the best greedy
        bound over all radii up to eps, also a valid upper bound since balls are nested), ``exact`` (if asked),
        ``greedy_error`` (largest output difference on ``x`` between ``net`` and the greedy compression).
    """
    import pandas as pd

    eps_values = as_float_array(eps_values, "eps_values", ndim=1)
    x = as_float_array(x, "x", ndim=2)
    rows = []
    for eps in eps_values:
        greedy = proximate_compress(net, float(eps), "greedy")
        row = dict(eps=float(eps), greedy=greedy.rank,
                   greedy_error=float(np.max(np.abs(greedy.compressed(x) - net(x)))))
        if exact:
            row["exact"] = proximate_compress(net, float(eps), "exact").rank
        rows.append(row)
    frame = pd.DataFrame(rows).sort_values("eps", ignore_index=True)
    frame.insert(2, "greedy_envelope", frame["greedy"].cummin())
    return frame
