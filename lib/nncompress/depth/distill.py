r"""Depth compression by distillation, and how it fails on the networks of Theorem 1 of Burstein and Wilmes (2020).

The paper's text promises "experiments illustrating how existing depth compression techniques fail" but stops before
them; this is our design. The teacher is the deep network f of Theorem 1 (:func:`theorem1_network`) on the parity
family :math:`D_h`. A student of depth 2 or 3 is trained by gradient descent on the teacher's outputs over a transfer
set drawn from :math:`D_h` (the approach of Bucilua et al. and Ba and Caruana that the paper discusses; for a scalar
regression teacher, Hinton's soft targets and FitNets' hints carry nothing more: every hidden layer of f is a
multiple of :math:`x_{n+1}`). We measure the student's error over :math:`D_h` exactly (all :math:`2^n` atoms) and,
through Lemma 1, the accuracy of the parity the student reveals. An exact depth-3 compression exists for every n
(:func:`exact_compression`); Lemma 1 plus the SQ lower bound for parities (Lemma 3) say any compression algorithm that
finds one has learnt h, which costs :math:`\exp(\Omega(n))`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size, check_tolerance
from ..torch_io import one_thread
from .lemma1 import lemma1_tv_bound, recover_parity, recovered_signs
from .network import LayeredNetwork
from .parity import check_subset, random_subset
from .theorem1 import ParityPerturbation, theorem1_network

__all__ = [
    "DistillResult",
    "distill_parity",
    "distillation_sweep",
    "evaluate_student",
    "samples_to_accuracy",
    "train_student",
]


def _check_hidden(hidden: Sequence[int]) -> tuple[int, ...]:
    if isinstance(hidden, (int, np.integer)) or not isinstance(hidden, Iterable):
        raise TypeError("hidden must be a sequence of hidden-layer widths, e.g. (64,) or (64, 64)")
    out = tuple(check_size(h, "hidden", minimum=1) for h in hidden)
    if not out:
        raise ValueError("hidden must list at least one hidden layer")
    return out


def train_student(x: Any, y: Any, hidden: Sequence[int], *, epochs: int = 300, lr: float = 3e-3,
                  batch_size: int = 256, seed: int = 0, target_loss: float = 0.0, max_norm: float | None = None,
                  progress: bool = False, desc: str = "student") -> tuple[LayeredNetwork, dict[str, Any]]:
    r"""Fit a ReLU MLP ``Linear-ReLU-...-Linear`` to ``(x, y)`` by mean squared error with Adam (torch, float32, one
    CPU thread, seeded).

    Parameters
    ----------
    x : array_like, shape (N, p)
    y : array_like, shape (N,) or (N, k)
    hidden : sequence of int
        Hidden widths; the student's depth is ``len(hidden) + 1``.
    epochs : int, default 300
        Passes over the data (mini-batches of ``batch_size``, reshuffled each epoch).
    lr : float, default 3e-3
    batch_size : int, default 256
    seed : int, default 0
        Seeds the initialisation and the shuffling (a private ``torch.Generator``).
    target_loss : float, default 0
        Stop early once an epoch's mean training loss is below this.
    max_norm : float, optional
        Project every weight matrix onto the Frobenius ball of this radius after each step, keeping the student in
        :math:`\mathrm{NN}_{\Lambda,d}` with Λ = ``max_norm`` (Definition 1).
    progress : bool, default False
        Show a tqdm bar over epochs.

    Returns
    -------
    (LayeredNetwork, dict)
        The student in float64, and ``{"epochs": run, "steps": optimiser steps, "seconds": wall time,
        "loss": final epoch loss}``.
    """
    import torch
    from torch import nn
    from tqdm.auto import tqdm

    x = as_float_array(x, "x", ndim=2)
    y = as_float_array(y, "y", ndim=(1, 2))
    if len(y) != len(x):
        raise ValueError(f"y must have {len(x)} rows like x, got {len(y)}")
    y2 = y.reshape(len(y), -1)
    hidden = _check_hidden(hidden)
    epochs = check_size(epochs, "epochs", minimum=1)
    batch_size = check_size(batch_size, "batch_size", minimum=1)
    lr = check_tolerance(lr, "lr")
    target_loss = check_tolerance(target_loss, "target_loss")
    if max_norm is not None:
        max_norm = check_tolerance(max_norm, "max_norm")
    with one_thread():
        gen = torch.Generator().manual_seed(int(seed))
        widths = (x.shape[1],) + hidden + (y2.shape[1],)
        layers: list[Any] = []
        for a, b in zip(widths[:-1], widths[1:]):
            lin = nn.Linear(a, b)
            bound = 1.0 / np.sqrt(a)
            with torch.no_grad():
                lin.weight.uniform_(-bound, bound, generator=gen)
                lin.bias.uniform_(-bound, bound, generator=gen)
            layers += [lin, nn.ReLU()]
        model = nn.Sequential(*layers[:-1])
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y2, dtype=torch.float32)
        start, loss_value, run, steps = time.perf_counter(), float("inf"), 0, 0
        for _ in tqdm(range(epochs), disable=not progress, desc=desc, leave=False):
            perm = torch.randperm(len(xt), generator=gen)
            total = 0.0
            for i in range(0, len(xt), batch_size):
                idx = perm[i:i + batch_size]
                opt.zero_grad()
                loss = torch.mean((model(xt[idx]) - yt[idx]) ** 2)
                loss.backward()
                opt.step()
                steps += 1
                if max_norm is not None:
                    _project(model, max_norm)
                total += loss.item() * len(idx)
            run += 1
            loss_value = total / len(xt)
            if loss_value < target_loss:
                break
        seconds = time.perf_counter() - start
    return LayeredNetwork.from_torch(model), {"epochs": run, "steps": steps, "seconds": seconds, "loss": loss_value}


def _project(model: Any, radius: float) -> None:
    import torch
    from torch import nn

    with torch.no_grad():
        for mod in model:
            if isinstance(mod, nn.Linear):
                norm = torch.linalg.norm(mod.weight)
                if norm > radius:
                    mod.weight.mul_(radius / norm)


@dataclass(frozen=True)
class DistillResult:
    """One distillation run (:func:`distill_parity`); all errors are exact expectations over the finite support.

    Attributes
    ----------
    n, sample_size, depth, width : int
        Bits, transfer-set size, student depth and widest hidden layer.
    lam : float
        The student's largest Frobenius norm (its Λ in Definition 1).
    mse : float
        :math:`E_{x \\sim D_h} (g(x) - f(x))^2`: the compression error ε.
    accuracy : float
        :math:`\\Pr_{x_0 \\sim D_0}(\\tilde h(x_0) = h(x_0))` for the signs Lemma 1 extracts from the student.
    recovered : bool
        Whether decoding :math:`\\tilde h` (Walsh-Hadamard) returns the hidden support S exactly.
    seconds : float
        Training wall time.
    lemma1_ok : bool
        Whether the student meets Lemma 1's hypothesis :math:`\\eta L \\le \\Delta / 4` (L its spectral Lipschitz
        bound, Δ = 2), so the lemma's guarantee applies.
    tv_bound : float
        Lemma 1's bound on :math:`D_{TV}(\\tilde D, D_h)` from ``mse`` (:func:`lemma1_tv_bound`).
    train_loss : float
    epochs : int
    steps : int
        Adam steps of the training run (0 when unknown).
    """

    n: int
    sample_size: int
    depth: int
    width: int
    lam: float
    mse: float
    accuracy: float
    recovered: bool
    seconds: float
    lemma1_ok: bool
    tv_bound: float
    train_loss: float
    epochs: int
    steps: int = 0


def distill_parity(n: int, subset: Iterable[int] | None, sample_size: int, hidden: Sequence[int] = (128,), *,
                   lam: float = 8.0, depth: int = 5, noise: float = 0.0, epochs: int = 300, lr: float = 3e-3,
                   batch_size: int = 256, target_loss: float = 1e-3, max_norm: float | None = None,
                   eval_points: int | None = None, rng: np.random.Generator | int | None = None,
                   progress: bool = False) -> DistillResult:
    r"""Distil the Theorem 1 teacher (n bits, Λ = ``lam``, depth ``depth``) over :math:`D_h`, :math:`h = \chi_S`,
    into a student with hidden widths ``hidden``, from a transfer set of ``sample_size`` points of :math:`D_h`.

    ``max_norm`` keeps the student in :math:`\mathrm{NN}_{\Lambda',d'}` with Λ' = ``max_norm`` (projection after
    every step, :func:`train_student`); ``eval_points`` evaluates on that many fresh points of :math:`D_0` instead of
    the whole cube (:func:`evaluate_student`). ``rng`` draws the transfer set, the evaluation points and seeds the
    student's initialisation. See :class:`DistillResult`."""
    n = check_size(n, "n", minimum=1)
    sample_size = check_size(sample_size, "sample_size", minimum=1)
    hidden = _check_hidden(hidden)
    rng = as_rng(rng)
    family = ParityPerturbation.for_network(n, check_subset(subset, n), lam, depth, noise)
    teacher = theorem1_network(n, lam, depth)
    x = family.sample(sample_size, rng)
    student, info = train_student(x, teacher(x), hidden, epochs=epochs, lr=lr, batch_size=batch_size,
                                  seed=int(rng.integers(2**31)), target_loss=target_loss, max_norm=max_norm,
                                  progress=progress, desc=f"n={n}, N={sample_size}")
    return evaluate_student(student, teacher, family, info | {"sample_size": sample_size}, eval_points=eval_points,
                            rng=rng)


def evaluate_student(student: LayeredNetwork, teacher: LayeredNetwork, family: ParityPerturbation,
                     info: dict[str, Any] | None = None, *, eval_points: int | None = None,
                     rng: np.random.Generator | int | None = None) -> DistillResult:
    """Compression error over :math:`D_h`, and the parity Lemma 1 extracts from ``student``.

    By default both are exact, over all :math:`2^n` cube points. With ``eval_points`` smaller than the cube they are
    estimated on that many points of :math:`D_0` drawn with ``rng`` (for large n; noise-free families only), and the
    parity is decoded from the signs on those points (the Walsh-Hadamard correlation on a sample)."""
    info = info or {"seconds": float("nan"), "loss": float("nan"), "epochs": 0}
    if eval_points is None or 2**family.n <= eval_points:
        points, probs = family.support()
        cube = family.cube()
    else:
        if family.noise > 0:
            raise ValueError("eval_points needs a noise-free family (noise = 0)")
        cube = family.sample_d0(check_size(eval_points, "eval_points", minimum=1), as_rng(rng))
        points, probs = family.perturb(cube, family.h(cube)), np.full(len(cube), 1.0 / len(cube))
    mse = float(np.sum(probs * (student(points) - teacher(points)) ** 2))
    signs = recovered_signs(teacher, student, cube, family.eta, family.v)
    h = family.h(cube)
    decoded = recover_parity(cube[:, : family.n], signs, method="fwht")
    lip = student.lipschitz_bound()
    return DistillResult(
        n=family.n, sample_size=int(info.get("sample_size", 0)),
        depth=student.depth, width=max(student.widths[1:-1], default=0), lam=student.lam, mse=mse,
        accuracy=float(np.mean(signs == h)), recovered=decoded.subset == family.subset,
        seconds=float(info["seconds"]), lemma1_ok=bool(family.eta * lip <= 2.0 / 4),
        tv_bound=lemma1_tv_bound(mse, 2.0, family.eta, lip), train_loss=float(info["loss"]),
        epochs=int(info["epochs"]), steps=int(info.get("steps", 0)))


def distillation_sweep(ns: Sequence[int], sample_sizes: Sequence[int], students: dict[str, Sequence[int]] | None = None,
                       *, trials: int = 1, degree: str = "half", stop_at: float | None = 0.99, lam: float = 8.0,
                       depth: int = 5, rng: np.random.Generator | int | None = None, progress: bool = True,
                       **kwargs: Any) -> Any:
    r"""Distil the Theorem 1 teacher for each n, student architecture, trial and transfer-set size.

    Parameters
    ----------
    ns : sequence of int
        Numbers of bits.
    sample_sizes : sequence of int
        Transfer-set sizes, tried in increasing order.
    students : dict of str to hidden widths, default ``{"depth 2": (128,)}``
    trials : int, default 1
        Hidden parities per n (each drawn afresh: of size :math:`\lceil n/2 \rceil` for ``degree="half"``, uniform
        over all subsets for ``degree="uniform"``).
    stop_at : float or None, default 0.99
        Skip the larger transfer sets of a (n, student, trial) once a run reaches this Lemma-1 accuracy.
    lam, depth : teacher parameters; ``**kwargs`` go to :func:`distill_parity` (epochs, lr, ...).

    Returns
    -------
    pandas.DataFrame
        One row per run: the fields of :class:`DistillResult`, plus ``student``, ``trial`` and ``subset_size``.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    rng = as_rng(rng)
    if degree not in ("half", "uniform"):
        raise ValueError(f"degree must be 'half' or 'uniform', got {degree!r}")
    ns = [check_size(n, "ns", minimum=1) for n in ns]
    sizes = sorted(check_size(s, "sample_sizes", minimum=1) for s in sample_sizes)
    if not sizes:
        raise ValueError("sample_sizes must not be empty")
    students = {"depth 2": (128,)} if students is None else {k: _check_hidden(v) for k, v in students.items()}
    trials = check_size(trials, "trials", minimum=1)
    rows = []
    bar = tqdm(total=len(ns) * len(students) * trials, disable=not progress, desc="distillation")
    for n in ns:
        for trial in range(trials):
            subset = random_subset(n, -(-n // 2) if degree == "half" else None, rng)
            for name, hidden in students.items():
                for size in sizes:
                    res = distill_parity(n, subset, size, hidden, lam=lam, depth=depth, rng=rng, **kwargs)
                    rows.append(asdict(res) | {"student": name, "trial": trial, "subset_size": len(subset)})
                    if stop_at is not None and res.accuracy >= stop_at:
                        break
                bar.update()
    bar.close()
    return pd.DataFrame(rows)


def samples_to_accuracy(runs: Any, threshold: float = 0.9, column: str = "accuracy") -> Any:
    """Per n (and student, trial), the smallest transfer-set size whose run reached ``column >= threshold`` (NaN if
    none did), that run's training time and Adam steps (``steps``, when ``runs`` records them), and the total
    training time of the sweep up to it. ``runs``: a DataFrame from :func:`distillation_sweep`."""
    import pandas as pd

    threshold = float(threshold)
    out = []
    keys = [k for k in ("n", "student", "depth", "trial") if k in runs.columns]
    for key, grp in runs.groupby(keys):
        ok = grp[grp[column] >= threshold].sort_values("sample_size")
        first = ok.iloc[0] if len(ok) else None
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row |= {"samples": np.nan if first is None else first["sample_size"],
                "seconds": np.nan if first is None else first["seconds"],
                "steps": np.nan if first is None or "steps" not in grp else float(first["steps"]),
                "total_seconds": float(grp.loc[grp["sample_size"] <= (first["sample_size"] if first is not None
                                                                      else np.inf), "seconds"].sum()),
                "cube": 2 ** int(row["n"])}
        out.append(row)
    return pd.DataFrame(out)
