"""LEO++ folding of stably active neurons on their weight rows alone, with the next layer's bias corrected."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.stability import compress_with_report, find_stable_neurons, forward, verify
from strategies import seeds


def rank_deficient_network(rng: np.random.Generator, n0: int = 4, extra_unstable: int = 2):
    """Hidden layer 0: five stably active neurons on [-1, 1]^n0 with rank(W) = 3 and rank([W | b]) = 4 (rows 3 and
    4 are combinations of rows 0-2; row 3's bias breaks the combination, row 4's keeps it), and ``extra_unstable``
    neurons through the origin (unstable), so that the layer cannot be folded whole."""
    base = rng.normal(size=(3, n0))
    W = np.vstack([base, base[0] + base[1], 0.5 * base[0] - base[2]])
    b = np.abs(W).sum(axis=1) + 1.0 + rng.uniform(0, 1, size=5)  # y >= 1 on the box: stably active
    b[3] = b[0] + b[1] + 0.7
    b[4] = 0.5 * b[0] - b[2]
    b[4] = max(b[4], np.abs(W[4]).sum() + 1.0)  # keep it active; its bias then breaks the combination as well
    W0 = np.vstack([W, rng.normal(size=(extra_unstable, n0))])
    b0 = np.concatenate([b, np.zeros(extra_unstable)])
    n1 = len(b0)
    weights = [W0, rng.normal(size=(6, n1)), rng.normal(size=(3, 6))]
    biases = [b0, rng.normal(size=6), rng.normal(size=3)]
    return weights, biases


def test_weights_only_folding_removes_one_more_neuron_than_augmented_rows():
    rng = np.random.default_rng(0)
    weights, biases = rank_deficient_network(rng)
    W = weights[0][:5]
    assert np.linalg.matrix_rank(W) == 3
    assert np.linalg.matrix_rank(np.column_stack([W, biases[0][:5]])) >= 4
    report = find_stable_neurons(weights, biases, -1.0, 1.0)
    assert report.complete and set(range(5)) <= set(report.stably_active[0])
    result = compress_with_report(weights, biases, report)
    # weights-only: rows 3 and 4 fold into rows 0-2 (rank 3 of 5); folding [w, b] would remove at most 5 - 4 = 1
    assert result.removed_neurons[0] == 2  # the two unstable neurons stay
    gap = verify(weights, biases, result.weights, result.biases, -1.0, 1.0, n_points=20_000)
    assert gap["box"] <= 1e-9 * (1 + np.abs(forward(weights, biases, rng.uniform(-1, 1, (100, 4)))).max())


@settings(max_examples=25, deadline=None)
@given(seeds, st.integers(2, 5), st.integers(1, 4), st.integers(0, 3))
def test_weights_only_folding_is_exact_on_the_box(seed, n0, rank, extra):
    rng = np.random.default_rng(seed)
    rank = min(rank, n0)
    base = rng.normal(size=(rank, n0))
    W = np.vstack([base, rng.normal(size=(extra, rank)) @ base]) if extra else base
    b = np.abs(W).sum(axis=1) + 1.0 + rng.uniform(0, 2, size=len(W))  # every one stably active, biases generic
    W0 = np.vstack([W, rng.normal(size=(2, n0))])
    b0 = np.concatenate([b, np.zeros(2)])
    weights = [W0, rng.normal(size=(4, len(b0))), rng.normal(size=(2, 4))]
    biases = [b0, rng.normal(size=4), rng.normal(size=2)]
    report = find_stable_neurons(weights, biases, -1.0, 1.0)
    result = compress_with_report(weights, biases, report)
    assert set(range(len(W))) <= set(report.stably_active[0])
    assert result.removed_neurons[0] >= len(W) - np.linalg.matrix_rank(W)  # every dependent row folded
    X = rng.uniform(-1, 1, size=(5000, n0))
    scale = 1 + np.abs(forward(weights, biases, X)).max()
    assert np.abs(forward(weights, biases, X) - forward(result.weights, result.biases, X)).max() <= 1e-9 * scale
