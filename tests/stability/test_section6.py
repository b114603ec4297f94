"""Section 6's sweep as one definition: grids, per-point analyses, resumable runs, the per-architecture table, and
the input prior and per-method time limits of the analysis behind them."""

from __future__ import annotations

import dataclasses
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nncompress.stability import section6  # noqa: E402
from nncompress.stability.experiments import analyse_classifier, median_speedup, pixel_sum_constraint  # noqa: E402
from nncompress.stability.figures import plot_runtimes  # noqa: E402
from nncompress.sweep import SweepPoint  # noqa: E402

TINY = dataclasses.replace(section6.GRIDS["smoke"], architectures=((12, 12),), l1={}, l1_default=(0.0, 5e-3),
                           seeds={}, seeds_default=(0,), epochs=20, timed=((12, 12),), extras=((12, 12),),
                           time_limit=30.0, compare_time_limit=30.0)


def test_grids_cover_the_papers_architectures_and_order_the_costliest_first():
    book = section6.grid_points("book")
    assert {p.hidden for p in book if p.dataset == "mnist"} == set(section6.ARCHITECTURES)
    assert {p.hidden for p in book if p.dataset == "fashion_mnist"} == {(100, 100), (400, 400)}
    assert book[0].hidden == (800, 800)  # the most expensive network starts first
    assert all(0.0 in section6.GRIDS["book"].l1_values(h) for h in section6.ARCHITECTURES)
    paper = section6.GRIDS["paper"]
    assert len(section6.grid_points("paper")) == (7 + 2) * len(paper.l1_default) * 5
    with pytest.raises(ValueError, match="grid must be one of"):
        section6.grid_points("huge")


def test_analysis_settings_follow_the_grid():
    timed = section6.analysis_settings(SweepPoint("mnist", (100, 100), 0.0, 0, 40), "book")
    assert timed["methods"] == ("pipeline", "isa", "baseline") and timed["without_data"] == ("pipeline",)
    assert timed["pixel_sum_prior"] and timed["time_limit"] == {"pipeline": 300.0, "isa": 60.0, "baseline": 60.0}
    deep = section6.analysis_settings(SweepPoint("mnist", (100,) * 5, 0.0, 0, 40), "book")
    assert deep["methods"] == ("pipeline",) and deep["without_data"] == () and not deep["pixel_sum_prior"]
    fashion = section6.analysis_settings(SweepPoint("fashion_mnist", (100, 100), 0.0, 0, 40), "book")
    assert fashion["methods"] == ("pipeline",)  # the speed-ups are the paper's MNIST figures


def test_run_grid_writes_table_and_figures_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("NNC_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "sweep"
    table = section6.run_grid(TINY, out, n_jobs=1, progress=False)
    plt.close("all")
    assert len(table) == 2 and table["complete"].all() and (table["max_diff_test"] < 1e-9).all()
    for name in ("section6.csv", "architectures.csv", "figure1.png", "figure2.png", "figure3.png"):
        assert (out / name).stat().st_size > 0
    assert {"seconds_isa", "seconds_baseline", "seconds_prior", "seconds_pipeline_nodata"} <= set(table.columns)
    assert len(list((out / "rows").glob("*.json"))) == 2

    calls = []

    def counted(point, grid):
        calls.append(point)
        return {"seconds_pipeline": 1.0}

    monkeypatch.setattr(section6, "analyse_grid_point", counted)
    again = section6.run_grid(TINY, out, n_jobs=1, progress=False)
    plt.close("all")
    assert calls == [] and again["accuracy"].tolist() == table["accuracy"].tolist()  # resumed, nothing recomputed
    # a damaged row, or one computed with other settings, is recomputed
    rows = sorted((out / "rows").glob("*.json"))
    rows[0].write_text("{not json")
    record = json.loads(rows[1].read_text())
    record["signature"]["analysis"]["time_limit"]["pipeline"] = 1.0
    rows[1].write_text(json.dumps(record))
    with pytest.raises(KeyError):  # the stand-in analysis returns too little for the figures: it did run
        section6.run_grid(TINY, out, n_jobs=1, progress=False)
    plt.close("all")
    assert len(calls) == 2


def test_main_rejects_bad_arguments_with_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        section6.main(["--n-jobs", "0"])
    assert stop.value.code == 2 and "--n-jobs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        section6.main(["--grid", "huge"])
    assert stop.value.code == 2


def _timed_table():
    return pd.DataFrame({
        "dataset": "mnist", "hidden": [(4, 4)] * 3, "l1": [0.0, 1e-3, 1e-2], "seed": 0,
        "seconds_baseline": [60.0, 20.0, 10.0], "complete_baseline": [False, True, True],
        "seconds_isa": [1.0, 1.0, 1.0], "complete_isa": [True, True, False],
        "seconds_pipeline": [0.5, 1.0, 2.0], "complete_pipeline": True, "seconds_pipeline_nodata": 1.0,
        "complete_pipeline_nodata": True})


def test_speedup_is_a_lower_bound_when_a_baseline_was_stopped():
    table = _timed_table()
    assert median_speedup(table, "isa") == (40.0, True, 2)  # median of >= 60 and 20; the third ISA unfinished
    assert median_speedup(table, "pipeline") == (20.0, True, 3)
    assert median_speedup(table.iloc[1:2], "isa") == (20.0, False, 1)
    assert np.isnan(median_speedup(table.iloc[2:], "isa")[0])
    assert median_speedup(table, "pipeline", reference="pipeline_nodata") == (1.0, False, 3)
    fig, axes = plt.subplots(1, 3)
    plot_runtimes(table, axes=axes)
    assert "≥ 40x" in axes[0].get_legend().get_texts()[0].get_text()
    assert [a.get_xlabel() for a in axes] == ["baseline (s)", "baseline (s)", "pipeline without preprocessing (s)"]
    plt.close(fig)


def test_pixel_sum_constraint_holds_for_its_images_only():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(50, 30)) * rng.uniform(0.1, 1, size=(50, 1))
    A, b = pixel_sum_constraint(X)
    assert A.shape == (2, 30) and np.all(X @ A.T <= b)
    assert np.all(np.ones((1, 30)) @ A.T > b) or np.any(np.ones(30) @ A.T > b)  # the all-ones image: sum 30 > max
    assert np.any(np.zeros(30) @ A.T > b)  # the blank image: sum 0 < min
    with pytest.raises(ValueError, match="X"):
        pixel_sum_constraint(np.ones(5))


def test_analysis_with_a_prior_and_per_method_limits():
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=(8, 6)), rng.normal(size=(3, 8))]
    biases = [rng.normal(size=8) - 2.0, rng.normal(size=3)]
    X_train = rng.uniform(0.2, 0.8, size=(40, 6))
    X_test = rng.uniform(0.2, 0.8, size=(20, 6))
    out = analyse_classifier(weights, biases, X_train, X_test, rng.integers(0, 3, size=20),
                             methods=("pipeline", "baseline"), time_limit={"pipeline": 30.0, "baseline": 30.0},
                             prior=pixel_sum_constraint(X_train))
    assert out["complete_prior"] and out["max_diff_prior"] < 1e-9
    # a smaller domain can only make more neurons stable
    assert out["stable_prior"] >= out["stably_active"] + out["stably_inactive"]
    assert out["removed_neurons_prior"] >= out["removed_neurons"]
    with pytest.raises(TypeError, match="time_limit"):
        analyse_classifier(weights, biases, X_train, X_test, np.zeros(20), time_limit="60")
    # a prior that no image satisfies (pixel sum at most 0.5, inside the box): no data, nothing to check against
    empty = analyse_classifier(weights, biases, X_train, X_test, rng.integers(0, 3, size=20), methods=("pipeline",),
                               time_limit=30.0, prior=(np.ones((1, 6)), np.array([0.5])))
    assert empty["complete_prior"] and np.isnan(empty["max_diff_prior"])
    assert empty["stable_prior"] >= empty["stably_active"] + empty["stably_inactive"]
