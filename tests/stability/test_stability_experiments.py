"""Chapter 3's measurements on small networks: magnitude pruning, the preprocessing shortcut, the analysis."""

from __future__ import annotations

import numpy as np

from nncompress.stability import find_stable_neurons
from nncompress.stability.experiments import (
    analyse_classifier,
    magnitude_pruning_comparison,
    preprocessing_only,
    removed_connection_mask,
)


def test_magnitude_pruning_comparison_counts():
    weights = [np.array([[0.1, 0.2], [3.0, 0.05]]), np.array([[1.0, 0.01]])]
    masks = [np.array([[False, False], [True, True]]), np.array([[False, True]])]  # neuron 1 of layer 0 removable
    out = magnitude_pruning_comparison(weights, masks)
    assert out["ratio"] == 3 / 6
    # |w| sorted: 0.01, 0.05, 0.1, 0.2, 1.0, 3.0 -> the removable 3.0 is the largest: percentile 100
    assert out["percentile_needed"] == 100.0
    assert out["missed_at_same_ratio"] == 1 and out["missed_fraction"] == 1 / 3


def test_preprocessing_shortcut_is_caught_by_the_test_set():
    # y = x - 0.9 on [0, 1]: never active on training data in [0, 0.5], active on test data near 1
    weights, biases = [np.array([[1.0]]), np.array([[1.0]])], [np.array([-0.9]), np.array([0.0])]
    report = find_stable_neurons(weights, biases, 0.0, 1.0)
    assert report.complete and len(report.stably_inactive[0]) == 0
    out = preprocessing_only(weights, biases, np.linspace(0, 0.5, 20)[:, None], np.linspace(0, 1, 20)[:, None],
                             report)
    assert out == dict(claimed=1, refuted_by_test=1, not_proven=1)


def test_analyse_classifier_end_to_end():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(8, 4)), rng.normal(size=(6, 8)), rng.normal(size=(3, 6))]
    biases = [rng.normal(size=8) - 1.5, rng.normal(size=6) + 1.0, rng.normal(size=3)]
    X_train, X_test = rng.uniform(0, 1, size=(50, 4)), rng.uniform(0, 1, size=(30, 4))
    y_test = rng.integers(0, 3, size=30)
    out = analyse_classifier(weights, biases, X_train, X_test, y_test, methods=("pipeline", "isa", "baseline"))
    assert out["complete"] and out["accuracy"] == out["accuracy_compressed"]
    assert out["max_diff_test"] < 1e-9 and out["max_diff_box"] < 1e-9
    assert out["removed_neurons"] >= out["stably_inactive"]
    mask = removed_connection_mask(weights, find_stable_neurons(weights, biases, 0.0, 1.0))
    assert [m.shape for m in mask] == [w.shape for w in weights]


# --- a sweep point, end to end, and the helpers behind Figures 1-3 ----------------------------------------------

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nncompress.stability.experiments import (analyse_point, compression_without_loss, helpful_l1_range,  # noqa: E402
                                              linear_fit)
from nncompress.stability.figures import (plot_accuracy_and_removed, plot_accuracy_vs_neurons_left,  # noqa: E402
                                          plot_runtimes)
from nncompress.sweep import SweepPoint  # noqa: E402


def test_analyse_point_trains_analyses_and_verifies(tmp_path, monkeypatch):
    monkeypatch.setenv("NNC_CACHE", str(tmp_path))
    point = SweepPoint("digits", (12, 12), l1=1e-3, seed=0, epochs=5)
    out = analyse_point(point, methods=("pipeline", "baseline"), without_data=("pipeline",), time_limit=60)
    assert len(list(tmp_path.glob("*.npz"))) == 1  # trained once, cached
    for key in ("seconds_pipeline", "seconds_baseline", "seconds_pipeline_nodata", "train_accuracy",
                "complete_pipeline_nodata"):
        assert key in out
    assert out["complete"] and out["max_diff_test"] < 1e-9 and out["accuracy"] == out["accuracy_compressed"]
    assert out["hidden_neurons"] == 24 and out["unknown"] == 0 and out["removed_neurons"] >= out["stably_inactive"]
    with pytest.raises(TypeError, match="point"):
        analyse_point(("digits", (12, 12), 0.0, 0))


def _table(rows):
    return pd.DataFrame(rows, columns=["hidden", "l1", "seed", "accuracy", "removed_neurons", "hidden_neurons",
                                       "removed_neurons_fraction", "seconds_baseline", "seconds_pipeline",
                                       "seconds_pipeline_nodata"])


TABLE = _table([
    ((4, 4), 0.0, 0, 0.90, 0, 8, 0.0, 10.0, 0.1, 0.2),
    ((4, 4), 0.0, 1, 0.92, 1, 8, 1 / 8, 12.0, 0.2, 0.4),
    ((4, 4), 1e-3, 0, 0.95, 2, 8, 2 / 8, 8.0, 0.1, 0.3),   # beats l1 = 0 and removes neurons: helpful
    ((4, 4), 1e-3, 1, 0.93, 3, 8, 3 / 8, 9.0, 0.1, 0.3),
    ((4, 4), 1e-2, 0, 0.80, 5, 8, 5 / 8, 2.0, 0.05, 0.1),  # removes neurons but hurts accuracy
    ((4, 4), 1e-4, 0, 0.99, 0, 8, 0.0, 2.0, 0.05, 0.1),    # helps accuracy but removes nothing
    ((9,), 0.0, 0, 0.10, 0, 9, 0.0, 1.0, 1.0, 1.0),        # another architecture: ignored
])


def test_helpful_l1_range_needs_both_conditions():
    assert helpful_l1_range(TABLE, (4, 4)) == [1e-3]
    with pytest.raises(ValueError, match="l1 = 0"):
        helpful_l1_range(TABLE[TABLE["l1"] > 0], (4, 4))


def test_compression_without_loss_respects_the_tolerance():
    table = TABLE.assign(removed_connections_fraction=TABLE["removed_neurons_fraction"] / 2)
    strict = compression_without_loss(table, (4, 4))
    # l1 = 1e-4 (acc 0.99, removes 0) and 1e-3 (acc 0.94, removes 5/16) beat l1 = 0 (acc 0.91); 1e-2 does not
    assert strict["l1"] == 1e-3 and strict["neurons_fraction"] == pytest.approx(5 / 16)
    assert strict["connections_fraction"] == pytest.approx(5 / 32) and strict["reference_accuracy"] == 0.91
    assert compression_without_loss(table, (4, 4), tolerance=0.2)["l1"] == 1e-2
    with pytest.raises(ValueError, match="tolerance"):
        compression_without_loss(table, (4, 4), tolerance=-1)


def test_linear_fit_recovers_a_line_and_r2():
    x = np.arange(10.0)
    fit = linear_fit(x, 3.0 - 0.5 * x)
    assert fit["slope"] == pytest.approx(-0.5) and fit["intercept"] == pytest.approx(3.0)
    assert fit["r2"] == pytest.approx(1.0)
    noisy = linear_fit(x, np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1.0]))
    assert 0 <= noisy["r2"] < 0.2
    with pytest.raises(ValueError, match="same length"):
        linear_fit(x, x[:-1])
    with pytest.raises(ValueError, match="constant"):
        linear_fit(np.ones(5), x[:5])


def test_figures_draw_from_a_sweep_table():
    fig, axes = plt.subplots(1, 4, figsize=(16, 3))
    ax = plot_accuracy_and_removed(TABLE, (4, 4), ax=axes[0])
    assert len(ax.patches) == 1  # one shaded l1 value
    plot_runtimes(TABLE, axes=axes[1:3])
    assert "median ratio 70x" in axes[1].get_legend().get_texts()[0].get_text()  # median of 100, 60, 80, 90, 40, 40
    plot_accuracy_vs_neurons_left(TABLE, (4, 4), ax=axes[3])
    assert "R^2" in axes[3].get_legend().get_texts()[0].get_text()
    plt.close(fig)
