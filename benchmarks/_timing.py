"""Timing and result-writing helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``, so this
directory is on ``sys.path``).

Each script times with :func:`best_time` (or :func:`time_once` for a call too slow to repeat, or one that caches what
it computes), prints its figures, and writes them with :func:`write_json` to ``benchmarks/results/<script>.json``
(git-ignored; ``--out`` to change, see :func:`add_out_argument`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")

#: Where the benchmark scripts write their JSON by default.
RESULTS = Path(__file__).resolve().parent / "results"


def best_time(fn: Callable[[], Any], repeat: int = 3) -> float:
    """The fastest of ``repeat`` wall-clock timings of ``fn()``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def time_once(fn: Callable[[], T]) -> tuple[float, T]:
    """One wall-clock timing of ``fn()`` (:func:`best_time` with ``repeat=1``), in seconds, and what it returned."""
    result: list[T] = []
    seconds = best_time(lambda: result.append(fn()), repeat=1)
    return seconds, result[0]


def add_out_argument(parser: argparse.ArgumentParser, name: str) -> None:
    """Add ``--out`` (a :class:`~pathlib.Path`, default ``benchmarks/results/<name>.json``) to ``parser``."""
    default = RESULTS / f"{name}.json"
    parser.add_argument("--out", type=Path, default=default, help=f"JSON file for the figures (default {default})")


def run_info() -> dict[str, Any]:
    """Where the figures were measured: machine architecture, CPU count, Python and numpy versions."""
    import numpy as np

    return {"machine": platform.machine(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
            "numpy": np.__version__}


def _plain(value: Any) -> Any:
    """JSON form of what ``json`` cannot write by itself: numpy scalars and arrays, paths, sets."""
    if hasattr(value, "tolist"):  # numpy scalar or array
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: str | os.PathLike[str], record: Mapping[str, Any]) -> Path:
    """Write ``record`` to ``path`` as indented JSON, atomically, and return the path.

    The text is built first (a record that cannot be serialised raises before anything is written), then written to a
    temporary file next to ``path`` and moved over it with :func:`os.replace`, so a reader never sees a half-written
    file and an interrupted run leaves the previous one in place. Missing parent directories are created. numpy
    scalars and arrays are written as numbers and lists.
    """
    path = Path(path)
    text = json.dumps(record, indent=1, default=_plain) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would carry over to the result
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
