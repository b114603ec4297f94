"""Sweeps over trained classifiers (Serra et al. 2021, Section 6: architectures x l1 x seeds), through joblib.

A sweep is a list of :class:`SweepPoint` objects and a pure function ``analyse(point) -> dict``; :func:`run_sweep`
evaluates the function at every point with ``joblib.Parallel`` and returns one table row per point. Because
joblib only sees ``delayed(analyse)(point)`` calls, the same sweep runs sequentially, on local processes
(``backend="loky"``) or on a Dask cluster unchanged::

    from dask.distributed import Client
    client = Client(...)                    # or LocalCluster(); any scheduler address
    table = run_sweep(points, analyse, backend="dask")
    # equivalently:  with joblib.parallel_config(backend="dask"): table = run_sweep(points, analyse)

Training is cached on disk (:func:`train_point`, :func:`nncompress.train.train_cached`), so rerunning a sweep
only recomputes the analysis; on a cluster, each worker uses its own cache directory (``NNC_CACHE``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from ._validation import check_nonnegative, check_seed, check_size, check_widths
from .data import DATASETS
from .train import DEFAULT_EPOCHS, TrainedClassifier, train_cached

__all__ = ["SweepPoint", "arch_name", "sweep_grid", "train_point", "run_sweep"]


@dataclass(frozen=True)
class SweepPoint:
    """One classifier of a sweep: what to train (the other training settings are :mod:`nncompress.train`'s
    defaults: SGD, lr 0.01, momentum 0.9, batch 128, step decay).

    Attributes
    ----------
    dataset : str
        One of :data:`nncompress.data.DATASETS`.
    hidden : tuple of int
        Hidden widths, e.g. ``(100, 100)`` for the paper's 2 x 100 (Section 6's ``L x n``).
    l1 : float
        The :math:`\\ell_1` coefficient (>= 0).
    seed : int
        Seeds initialisation and shuffling.
    epochs : int, default DEFAULT_EPOCHS

    Points are hashable, picklable and compare by value; ``hidden`` is normalised to a tuple of ints and ``l1``
    to a float.
    """

    dataset: str
    hidden: tuple[int, ...]
    l1: float
    seed: int
    epochs: int = DEFAULT_EPOCHS

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str):
            raise TypeError(f"dataset must be a data set name (one of {DATASETS}), got {type(self.dataset).__name__}")
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(map(repr, DATASETS))}; got {self.dataset!r}")
        object.__setattr__(self, "hidden", check_widths(self.hidden))
        if not self.hidden:
            raise ValueError("hidden must list at least one hidden layer width")
        object.__setattr__(self, "l1", check_nonnegative(self.l1, "l1"))
        object.__setattr__(self, "seed", check_seed(self.seed))
        object.__setattr__(self, "epochs", check_size(self.epochs, "epochs", minimum=1))

    @property
    def arch(self) -> str:
        """The architecture's name, :func:`arch_name` of ``hidden``."""
        return arch_name(self.hidden)


def arch_name(hidden: Sequence[int]) -> str:
    """Section 6's ``L x n`` name of an architecture: ``"2x100"`` for ``(100, 100)``; widths joined by '-' when they
    differ (``"100-50"``)."""
    hidden = check_widths(hidden)
    if not hidden:
        raise ValueError("hidden must list at least one hidden layer width")
    if len(set(hidden)) == 1:
        return f"{len(hidden)}x{hidden[0]}"
    return "-".join(map(str, hidden))


def sweep_grid(
    datasets: str | Sequence[str],
    hidden: Sequence[Sequence[int]],
    l1: Iterable[float],
    seeds: Iterable[int],
    epochs: int = DEFAULT_EPOCHS,
) -> list[SweepPoint]:
    """All combinations of data sets, architectures, l1 values and seeds, in that nesting order.

    Example: ``sweep_grid("mnist5k", [(100, 100), (100,) * 3], [0, 1e-3], range(5))`` gives 20 points.
    """
    if isinstance(datasets, str):
        datasets = [datasets]
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError("hidden must be a sequence of architectures, e.g. [(100, 100), (100, 100, 100)]")
    hidden = list(hidden)
    if hidden and all(isinstance(h, numbers.Integral) for h in hidden):
        raise TypeError(f"hidden must be a sequence of architectures (tuples of widths), got {hidden}; "
                        f"write [{tuple(hidden)}] for one architecture")
    return [SweepPoint(d, tuple(h), float(v), int(s), epochs)
            for d, h, v, s in itertools.product(datasets, hidden, list(l1), list(seeds))]


def train_point(
    point: SweepPoint,
    *,
    cache_dir: str | os.PathLike | None = None,
    refresh: bool = False,
    progress: bool = False,
) -> TrainedClassifier:
    """The classifier of ``point``, trained once and then read from the cache (:func:`~nncompress.train.train_cached`).

    Parameters
    ----------
    point : SweepPoint
    cache_dir : path, optional
        Defaults to the environment variable ``NNC_CACHE`` or ``~/.cache/nncompress``. Bind it with
        ``functools.partial`` to use another directory inside an ``analyse`` function.
    refresh : bool, default False
        Retrain even when cached.
    progress : bool, default False
        Show the training progress bar (off by default: sweeps show their own).
    """
    if not isinstance(point, SweepPoint):
        raise TypeError(f"point must be a SweepPoint, got {type(point).__name__}")
    return train_cached(point.dataset, point.hidden, point.l1, point.epochs, point.seed,
                        cache_dir=cache_dir, refresh=refresh, progress=progress)


def run_sweep(
    points: Iterable[SweepPoint],
    analyse: Callable[[SweepPoint], Mapping[str, Any]],
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool = True,
) -> Any:
    """Evaluate ``analyse(point)`` at every point through ``joblib.Parallel`` and tabulate the results.

    Parameters
    ----------
    points : iterable of SweepPoint
        The sweep, e.g. from :func:`sweep_grid`.
    analyse : callable
        A pure function of the point returning a mapping of column names to values (numbers, strings, ...),
        e.g. "train (cached) with :func:`train_point`, find stable neurons, compress, verify". It must be
        picklable for process and cluster backends: a module-level function or a ``functools.partial`` of one.
        Its keys must not repeat the point's field names.
    n_jobs : int, optional
        joblib's ``n_jobs``; None means joblib's default: 1 (sequential) unless a ``joblib.parallel_config``
        context sets it (the dask backend then uses all workers).
    backend : str, optional
        joblib's backend: None (the active ``joblib.parallel_config``, else loky), ``"loky"``, ``"threading"``,
        ``"sequential"`` or ``"dask"``. **The one-line switch to a Dask cluster** is ``backend="dask"`` (or
        ``with joblib.parallel_config(backend="dask"):`` around the call) with a ``dask.distributed.Client``
        created beforehand; nothing else changes. Results do not depend on the backend: training runs on one
        thread with explicit seeds (:mod:`nncompress.train`). Prefer process-based workers (loky; Dask workers
        with ``processes=True``): the thread backends run several trainings in one process, which share
        torch's global thread setting.
    progress : bool, default True
        A tqdm bar over finished points.

    Returns
    -------
    pandas.DataFrame
        One row per point, in the order of ``points``: the point's fields (``dataset, hidden, l1, seed, epochs``)
        followed by the keys of ``analyse``'s mapping.

    Raises
    ------
    TypeError
        If a point is not a :class:`SweepPoint`, ``analyse`` is not callable or returns a non-mapping.
    ValueError
        If ``analyse`` returns a key that is a field name of the point.
    """
    import joblib
    import pandas as pd
    from tqdm import tqdm

    if isinstance(points, SweepPoint):
        raise TypeError("points must be an iterable of SweepPoint (got a single SweepPoint: wrap it in a list)")
    points = list(points)
    for k, point in enumerate(points):
        if not isinstance(point, SweepPoint):
            raise TypeError(f"points[{k}] must be a SweepPoint, got {type(point).__name__}")
    if not callable(analyse):
        raise TypeError(f"analyse must be callable, got {type(analyse).__name__}")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero int (joblib's convention), got {n_jobs!r}")
    if backend is not None and not isinstance(backend, str):
        raise TypeError(f"backend must be None or a joblib backend name, got {type(backend).__name__}")
    fields = [f.name for f in dataclasses.fields(SweepPoint)]
    # parallel_config (not Parallel's own backend argument) registers external backends such as "dask"
    config = joblib.parallel_config(backend=backend) if backend is not None else contextlib.nullcontext()
    rows = []
    with config:
        parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator")
        results = tqdm(parallel(joblib.delayed(analyse)(p) for p in points), total=len(points),
                       disable=not progress, desc="sweep")
        for point, result in zip(points, results):
            if not isinstance(result, Mapping):
                raise TypeError(f"analyse must return a mapping (dict), got {type(result).__name__} at {point}")
            clash = sorted(set(result) & set(fields))
            if clash:
                raise ValueError(f"analyse returned keys {clash} that are field names of SweepPoint")
            rows.append({**{f: getattr(point, f) for f in fields}, **result})
    columns = fields + [c for c in dict.fromkeys(c for row in rows for c in row) if c not in fields]
    return pd.DataFrame(rows, columns=columns)
