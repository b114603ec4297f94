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
