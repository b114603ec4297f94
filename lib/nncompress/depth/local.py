r"""Local students for Theorem 3 of Burstein and Wilmes (2020): depth-2 networks trained on the gadget a slice holds.

Every slice :math:`f^{[i:i+3]}` of the product network holds a whole gadget :math:`g = T_m \circ T_m = T_K`
(K = 2m^2) acting on one coordinate that is uniform on [0, 1] and independent of the others, so restricted to that
coordinate any depth-2 local student is a one-dimensional depth-2 network fitted to :math:`T_K`. We train such
students as well as we can (:func:`train_gadget_students`): full-batch Adam with a cosine learning-rate decay, hidden
knots initialised uniformly over [0, 1] (every tooth has a kink nearby from the start), a sweep over widths and
learning rates, several restarts, and the error on a fine grid recorded along the way. Their best errors sit between
the proven floor (:func:`~nncompress.depth.gadget.piece_lower_bound` at that width) and the constant predictor
(error 1/12).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_size, check_tolerance
from ..torch_io import one_thread
from .gadget import piece_lower_bound, sawtooth
from .network import LayeredNetwork
from .norms import VARIANCE

__all__ = ["fit_gadget_student", "train_gadget_students"]


def fit_gadget_student(teeth: int, width: int, *, lr: float = 1e-2, steps: int = 2000, samples: int = 2048,
                       seed: int = 0, record_every: int = 50, grid: int = 8193,
                       max_norm: float | None = None) -> tuple[LayeredNetwork, dict[str, Any]]:
    r"""Train one depth-2 ReLU network of ``width`` units (linear output) on :math:`T_K`, K = ``teeth``.

    ``samples`` inputs uniform on [0, 1] (drawn from ``seed``), full-batch Adam with learning rate ``lr`` decayed
    to 0 by a cosine schedule over ``steps`` steps (torch, float32, one thread). Initialisation: unit t computes
    :math:`\operatorname{ReLU}(s_t (x - u_t))` with :math:`u_t` uniform on [0, 1] and a random sign :math:`s_t`;
    output weights uniform in :math:`\pm 1/\sqrt{w}`, output bias 1/2. ``max_norm`` projects both weight matrices
    onto the Frobenius ball after every step (a student of :math:`\mathrm{NN}_{\Lambda',2}`).

    Returns the network (float64) and ``{"steps", "curve_steps", "curve_mse", "mse", "best_mse", "seconds"}``: the
    mean squared error against :math:`T_K` on a uniform grid of ``grid`` points, every ``record_every`` steps."""
    import torch
    from torch import nn

    teeth = check_size(teeth, "teeth", minimum=1)
    width = check_size(width, "width", minimum=1)
    steps = check_size(steps, "steps", minimum=1)
    samples = check_size(samples, "samples", minimum=2)
    record_every = check_size(record_every, "record_every", minimum=1)
    lr = check_tolerance(lr, "lr")
    if max_norm is not None:
        max_norm = check_tolerance(max_norm, "max_norm")
    with one_thread():
        gen = torch.Generator().manual_seed(int(seed))
        x = torch.rand(samples, 1, generator=gen, dtype=torch.float64)
        y = torch.as_tensor(sawtooth(x.numpy()[:, 0], teeth)[:, None], dtype=torch.float32)
        x = x.float()
        xg = torch.linspace(0, 1, check_size(grid, "grid", minimum=3)).reshape(-1, 1)
        yg = torch.as_tensor(sawtooth(xg.numpy()[:, 0].astype(float), teeth)[:, None], dtype=torch.float32)
        l1, l2 = nn.Linear(1, width), nn.Linear(width, 1)
        with torch.no_grad():
            sign = torch.where(torch.rand(width, 1, generator=gen) < 0.5, -1.0, 1.0)
            knots = torch.rand(width, generator=gen)
            l1.weight.copy_(sign)
            l1.bias.copy_(-sign[:, 0] * knots)
            l2.weight.uniform_(-1 / np.sqrt(width), 1 / np.sqrt(width), generator=gen)
            l2.bias.fill_(0.5)
        model = nn.Sequential(l1, nn.ReLU(), l2)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        curve_steps, curve = [], []
        start = time.perf_counter()
        for step in range(steps + 1):
            if step % record_every == 0 or step == steps:
                with torch.no_grad():
                    curve_steps.append(step)
                    curve.append(float(torch.mean((model(xg) - yg) ** 2)))
            if step == steps:
                break
            opt.zero_grad()
            loss = torch.mean((model(x) - y) ** 2)
            loss.backward()
            opt.step()
            sched.step()
            if max_norm is not None:
                with torch.no_grad():
                    for lin in (l1, l2):
                        norm = torch.linalg.norm(lin.weight)
                        if norm > max_norm:
                            lin.weight.mul_(max_norm / norm)
        seconds = time.perf_counter() - start
    return LayeredNetwork.from_torch(model), {"steps": steps, "curve_steps": np.array(curve_steps),
                                             "curve_mse": np.array(curve), "mse": curve[-1],
                                             "best_mse": float(min(curve)), "seconds": seconds}


def train_gadget_students(ms: Sequence[int], widths: dict[int, Sequence[int]], lrs: Sequence[float], *,
                          restarts: int = 2, steps: int = 2000, samples: int = 2048, seed: int = 0,
                          progress: bool = False) -> tuple[Any, dict[tuple[int, int, float, int], np.ndarray]]:
    """The sweep: for each gadget size m, width in ``widths[m]``, learning rate and restart, one
    :func:`fit_gadget_student` on :math:`T_{2m^2}`.

    Returns ``(runs, curves)``: a DataFrame with one row per run (``m``, ``teeth``, ``width``, ``lr``, ``restart``,
    ``mse`` (final), ``best_mse`` (best recorded), ``floor`` (the proven lower bound for any depth-2 network of
    that width), ``variance`` (the constant predictor's error), ``lam`` (the student's Λ'), ``seconds``); and the
    training curves, keyed by ``(m, width, lr, restart)``, as arrays ``(steps, mse)``."""
    import pandas as pd
    from tqdm.auto import tqdm

    restarts = check_size(restarts, "restarts", minimum=1)
    jobs = [(check_size(m, "ms", minimum=1), check_size(w, "widths", minimum=1), float(lr), r)
            for m in ms for w in widths[m] for lr in lrs for r in range(restarts)]
    rows, curves = [], {}
    for m, w, lr, r in tqdm(jobs, disable=not progress, desc="gadget students"):
        teeth = 2 * m * m
        net, info = fit_gadget_student(teeth, w, lr=lr, steps=steps, samples=samples,
                                       seed=seed + 1000 * r + 7 * m + w)
        curves[(m, w, lr, r)] = np.vstack([info["curve_steps"], info["curve_mse"]])
        rows.append({"m": m, "teeth": teeth, "width": w, "lr": lr, "restart": r, "mse": info["mse"],
                     "best_mse": info["best_mse"], "floor": piece_lower_bound(w + 1, 4 * m * m),
                     "variance": VARIANCE, "lam": net.lam, "seconds": info["seconds"]})
    return pd.DataFrame(rows), curves
