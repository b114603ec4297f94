"""Measurements of Chapter 3 (seed 001, Section 6) on one trained classifier, as pure functions of their inputs."""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from .engine import StabilityReport, find_stable_neurons
from .leo import compress_with_report, verify
from .network import check_mlp, forward, pre_activations

__all__ = ["removed_connection_mask", "magnitude_pruning_comparison", "preprocessing_only", "analyse_classifier"]


def removed_connection_mask(weights: Sequence[np.ndarray], report: StabilityReport) -> list[np.ndarray]:
    """Boolean masks over the original weight matrices: the connections attached to a neuron LEO++ can drop.

    A stably inactive neuron takes its incoming row and its outgoing column with it. (Stably active neurons that
    LEO++ folds change the next layer's weights, so they are not counted here: this is the conservative count
    used for the comparison with magnitude pruning.)
    """
    masks = [np.zeros(w.shape, dtype=bool) for w in weights]
    for l, dead in enumerate(report.stably_inactive):
        masks[l][dead, :] = True
        masks[l + 1][:, dead] = True
    return masks


def magnitude_pruning_comparison(weights: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> dict[str, float]:
    """Would magnitude pruning (drop the smallest |w| first, all layers together) reach the exactly removable
    connections?

    Returns
    -------
    dict
        ``ratio``: fraction of connections exact compression removes; ``percentile_needed``: the pruning
        percentile at which magnitude pruning would have removed all of them; ``missed_at_same_ratio``: how many
        of them magnitude pruning at the same ratio would keep (and the fraction, ``missed_fraction``).
    """
    values = np.concatenate([np.abs(w).ravel() for w in weights])
    removable = np.concatenate([m.ravel() for m in masks])
    k = int(removable.sum())
    if k == 0:
        return dict(ratio=0.0, percentile_needed=0.0, missed_at_same_ratio=0, missed_fraction=0.0)
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    pruned_at_ratio = rank < k
    missed = int(np.sum(removable & ~pruned_at_ratio))
    return dict(ratio=k / len(values), percentile_needed=100.0 * (rank[removable].max() + 1) / len(values),
                missed_at_same_ratio=missed, missed_fraction=missed / k)


def preprocessing_only(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X_train: np.ndarray,
                       X_test: np.ndarray, report: StabilityReport) -> dict[str, int]:
    """The inexact shortcut: call a neuron stable when the training data never shows it in the other state.

    Returns
    -------
    dict
        ``claimed``: neurons the shortcut would remove or fold; ``refuted_by_test``: of those, how many the test
        set shows in both states (so they are not stable); ``not_proven``: of those, how many the exact method does
        not prove stable.
    """
    claimed = refuted = unproven = 0
    for l, (y_tr, y_te) in enumerate(zip(pre_activations(weights, biases, X_train),
                                         pre_activations(weights, biases, X_test))):
        looks_dead, looks_linear = np.all(y_tr <= 0, axis=0), np.all(y_tr >= 0, axis=0)
        looks_stable = looks_dead | looks_linear
        both_on_test = np.any(y_te > 0, axis=0) & np.any(y_te < 0, axis=0)
        proven = np.isin(np.arange(y_tr.shape[1]), np.concatenate([report.stably_active[l],
                                                                  report.stably_inactive[l]]))
        claimed += int(looks_stable.sum())
        refuted += int((looks_stable & both_on_test).sum())
        unproven += int((looks_stable & ~proven).sum())
    return dict(claimed=claimed, refuted_by_test=refuted, not_proven=unproven)


def analyse_classifier(
    weights: Sequence[Any], biases: Sequence[Any], X_train: Any, X_test: Any, y_test: Any,
    lower: Any = 0.0, upper: Any = 1.0, methods: tuple[str, ...] = ("pipeline",), time_limit: float | None = 300.0,
) -> dict[str, Any]:
    """Find the stable neurons of a classifier with each method, compress it by LEO++ and verify it.

    The first method's report drives the compression; every other method must return the same sets when all are
    complete (checked here: an ``AssertionError`` otherwise).

    Returns
    -------
    dict
        Sizes, counts of stable neurons, removed neurons and connections, accuracies before and after, the
        largest output difference on the test set and on random box points, seconds per method, the comparison
        with magnitude pruning and with the preprocessing-only shortcut.
    """
    weights, biases = check_mlp(weights, biases)
    X_train, X_test, y_test = np.asarray(X_train, float), np.asarray(X_test, float), np.asarray(y_test)
    reports: dict[str, StabilityReport] = {}
    seconds: dict[str, float] = {}
    for method in methods:
        start = time.perf_counter()
        reports[method] = find_stable_neurons(weights, biases, lower, upper,
                                              X=None if method == "baseline" else X_train, method=method,
                                              time_limit=time_limit)
        seconds[method] = time.perf_counter() - start
    main = reports[methods[0]]
    for method, other in reports.items():
        if main.complete and other.complete:
            for l in range(len(main.stably_active)):
                assert np.array_equal(main.stably_active[l], other.stably_active[l]), method
                assert np.array_equal(main.stably_inactive[l], other.stably_inactive[l]), method
    result = compress_with_report(weights, biases, main)
    check = verify(weights, biases, result.weights, result.biases, lower, upper, X=X_test, n_points=20_000)
    acc = float(np.mean(forward(weights, biases, X_test).argmax(axis=1) == y_test))
    acc_small = float(np.mean(forward(result.weights, result.biases, X_test).argmax(axis=1) == y_test))
    n_hidden = sum(len(b) for b in biases[:-1])
    n_connections = sum(w.size for w in weights)
    out: dict[str, Any] = dict(
        hidden_neurons=n_hidden,
        stably_active=sum(len(a) for a in main.stably_active),
        stably_inactive=sum(len(i) for i in main.stably_inactive),
        unknown=sum(len(u) for u in main.unknown), complete=main.complete,
        removed_neurons=sum(result.removed_neurons), removed_neurons_fraction=sum(result.removed_neurons) / n_hidden,
        removed_connections=result.removed_connections,
        removed_connections_fraction=result.removed_connections / n_connections,
        folded_layers=len(result.folded_layers), accuracy=acc, accuracy_compressed=acc_small,
        max_diff_test=check["data"], max_diff_box=check["box"],
    )
    out.update({f"seconds_{m}": s for m, s in seconds.items()})
    out.update({f"phases_{m}": r.phase_seconds for m, r in reports.items()})
    out.update({f"magnitude_{k}": v for k, v in magnitude_pruning_comparison(
        weights, removed_connection_mask(weights, main)).items()})
    out.update({f"preprocessing_{k}": v for k, v in preprocessing_only(weights, biases, X_train, X_test,
                                                                       main).items()})
    return out
