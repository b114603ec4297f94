"""Sweeps: points, the joblib runner, and the same sweep on a local Dask cluster."""

from __future__ import annotations

import functools
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.sweep import SweepPoint, run_sweep, sweep_grid, train_point
from nncompress.train import DEFAULT_EPOCHS, TrainSettings, activation_summary, train_classifier


def summarise(point: SweepPoint, cache_dir: str) -> dict:
    """A pure analysis: train (cached), then numbers that depend on every weight bit."""
    from nncompress.data import load_dataset

    r = train_point(point, cache_dir=cache_dir)
    act = activation_summary(r.weights, r.biases, load_dataset(point.dataset).X_train)
    return dict(
        train_accuracy=r.train_accuracy, test_accuracy=r.test_accuracy, final_loss=float(r.loss_history[-1]),
        never_active=act["never_active"], checksum=float(sum(np.abs(w).sum() for w in r.weights)),
        first_weight=float(r.weights[0][0, 0]),
    )


def echo(point: SweepPoint) -> dict:
    return dict(width_sum=sum(point.hidden), label=f"{point.arch}/{point.l1:g}/{point.seed}")


POINTS = sweep_grid("digits", [(5,), (4, 3)], [0.0, 1e-3], [0, 1], epochs=2)


def test_sweep_point_normalises_and_validates() -> None:
    p = SweepPoint("digits", [100, 100], 0, np.int64(3), 5)
    assert p.hidden == (100, 100) and p.l1 == 0.0 and isinstance(p.l1, float) and p.seed == 3 and p.arch == "2x100"
    assert (p == SweepPoint("digits", (100, 100), 0.0, 3, 5)
            and hash(p) == hash(SweepPoint("digits", (100, 100), 0.0, 3, 5)))
    assert SweepPoint("mnist5k", (100,), 1e-3, 0).epochs == DEFAULT_EPOCHS
    assert SweepPoint("digits", (3, 4), 0, 0).arch == "3-4"
    with pytest.raises(ValueError, match="'mnist5k', 'digits'"):
        SweepPoint("cifar10", (3,), 0, 0)
    with pytest.raises(TypeError, match="dataset"):
        SweepPoint(None, (3,), 0, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hidden"):
        SweepPoint("digits", (), 0, 0)
    with pytest.raises(ValueError, match="hidden"):
        SweepPoint("digits", (3, 0), 0, 0)
    with pytest.raises(TypeError, match="hidden"):
        SweepPoint("digits", 3, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="l1"):
        SweepPoint("digits", (3,), -1.0, 0)
    with pytest.raises(TypeError, match="seed"):
        SweepPoint("digits", (3,), 0, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epochs"):
        SweepPoint("digits", (3,), 0, 0, 0)
    with pytest.raises(Exception):
        p.l1 = 1.0  # type: ignore[misc]  # frozen


def test_sweep_grid_order_and_size() -> None:
    pts = sweep_grid(["digits", "mnist5k"], [(5,), (4, 3)], [0, 1e-3, 2e-3], range(2), epochs=7)
    assert len(pts) == 2 * 2 * 3 * 2 and all(p.epochs == 7 for p in pts)
    assert pts[0] == SweepPoint("digits", (5,), 0.0, 0, 7) and pts[1] == SweepPoint("digits", (5,), 0.0, 1, 7)
    assert pts[-1] == SweepPoint("mnist5k", (4, 3), 2e-3, 1, 7)
    with pytest.raises(TypeError, match="hidden"):
        sweep_grid("digits", (100, 100), [0], [0])


def test_train_point_is_cached_training(tmp_path: Path) -> None:
    p = SweepPoint("digits", (4,), 1e-3, 0, 2)
    r = train_point(p, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    assert r.identical(train_classifier(TrainSettings("digits", (4,), 1e-3, 2, 0), progress=False))
    assert train_point(p, cache_dir=tmp_path).identical(r)
    with pytest.raises(TypeError, match="point"):
        train_point(("digits", (4,), 0, 0))  # type: ignore[arg-type]


def test_run_sweep_table_layout() -> None:
    table = run_sweep(POINTS, echo, progress=False)
    assert isinstance(table, pd.DataFrame) and len(table) == len(POINTS)
    assert list(table.columns) == ["dataset", "hidden", "l1", "seed", "epochs", "width_sum", "label"]
    assert table["hidden"].tolist() == [p.hidden for p in POINTS]
    assert table["label"].iloc[-1] == "4-3/0.001/1"
    empty = run_sweep([], echo, progress=False)
    assert len(empty) == 0 and list(empty.columns)[:5] == ["dataset", "hidden", "l1", "seed", "epochs"]


def test_run_sweep_validation() -> None:
    with pytest.raises(TypeError, match=r"points\[1\]"):
        run_sweep([POINTS[0], "x"], echo, progress=False)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="points"):
        run_sweep(POINTS[0], echo, progress=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="analyse"):
        run_sweep(POINTS, "echo", progress=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="analyse must return a mapping"):
        run_sweep(POINTS[:1], lambda p: [1, 2], progress=False)
    with pytest.raises(ValueError, match="field names"):
        run_sweep(POINTS[:1], lambda p: dict(l1=3), progress=False)
    with pytest.raises(ValueError, match="n_jobs"):
        run_sweep(POINTS, echo, n_jobs=0, progress=False)
    with pytest.raises(TypeError, match="backend"):
        run_sweep(POINTS, echo, backend=3, progress=False)  # type: ignore[arg-type]


@settings(max_examples=20)
@given(st.lists(st.builds(SweepPoint, st.just("digits"), st.lists(st.integers(1, 9), min_size=1, max_size=3),
                          st.floats(0, 1), st.integers(0, 99), st.integers(1, 99)), max_size=6))
def test_run_sweep_keeps_order_and_fields(points: list[SweepPoint]) -> None:
    table = run_sweep(points, echo, progress=False)
    assert len(table) == len(points)
    for row, p in zip(table.itertuples(index=False), points):
        assert (row.dataset, row.hidden, row.l1, row.seed, row.epochs) == (p.dataset, p.hidden, p.l1, p.seed, p.epochs)
        assert row.width_sum == sum(p.hidden)


@pytest.fixture(scope="module")
def sequential_table(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    cache = str(tmp_path_factory.mktemp("sequential"))
    return run_sweep(POINTS, functools.partial(summarise, cache_dir=cache), n_jobs=1, progress=False)


@pytest.mark.slow
def test_loky_equals_sequential(sequential_table: pd.DataFrame, tmp_path: Path) -> None:
    analyse = functools.partial(summarise, cache_dir=str(tmp_path))  # a fresh cache: the workers retrain
    table = run_sweep(POINTS, analyse, n_jobs=2, backend="loky", progress=False)
    pd.testing.assert_frame_equal(table, sequential_table, check_exact=True)
    assert len(list(tmp_path.glob("*.npz"))) == len(POINTS)
    # the cached rerun gives the same table again
    pd.testing.assert_frame_equal(run_sweep(POINTS, analyse, progress=False), sequential_table, check_exact=True)


@pytest.mark.slow
def test_dask_cluster_equals_sequential(sequential_table: pd.DataFrame, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    analyse = functools.partial(summarise, cache_dir=str(tmp_path))  # a fresh cache: the dask workers retrain
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        table = run_sweep(POINTS, analyse, backend="dask", progress=False)
        with joblib.parallel_config(backend="dask"):  # the context-manager spelling of the same switch
            again = run_sweep(POINTS, analyse, progress=False)
        assert len(client.scheduler_info()["workers"]) == 2
    pd.testing.assert_frame_equal(table, sequential_table, check_exact=True)
    pd.testing.assert_frame_equal(again, sequential_table, check_exact=True)
    assert len(list(tmp_path.glob("*.npz"))) == len(POINTS)


def test_arch_name_follows_section_6() -> None:
    from nncompress.sweep import arch_name

    assert arch_name((100, 100)) == "2x100" and arch_name([100] * 5) == "5x100"
    assert arch_name((100, 50)) == "100-50" and SweepPoint("digits", (8, 8, 8), 0.0, 0).arch == "3x8"
    with pytest.raises(ValueError, match="at least one"):
        arch_name(())
    with pytest.raises(TypeError, match="hidden"):
        arch_name("2x100")
