"""Measurements of Chapter 3 (Serra et al. 2021, Section 6) on one trained classifier: pure functions of inputs."""

from __future__ import annotations

import functools
import numbers
import time
from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np

from .engine import StabilityReport, find_stable_neurons
from .leo import compress_with_report, verify
from .network import check_mlp, forward, pre_activations

__all__ = ["removed_connection_mask", "magnitude_pruning_comparison", "preprocessing_only", "pixel_sum_constraint",
           "analyse_classifier", "analyse_point", "warm_up", "helpful_l1_range", "compression_without_loss",
           "median_speedup", "linear_fit"]


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
    """Would magnitude pruning (drop the smallest absolute weights first, all layers together) reach the exactly
    removable connections?

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


def pixel_sum_constraint(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Section 6's input prior: the inputs whose sum of pixels lies in the range the images ``X`` span.

    The paper restricts MNIST inputs to a pixel sum in [15, 320] (the smallest and largest seen in training)
    instead of the box's [0, 784], a prior on the number of foreground pixels that, unlike bounds on single pixels,
    does not depend on where the digit sits. Returned as ``(A, b)`` with ``A @ x <= b`` (two rows: the sum at most
    the largest, minus the sum at most minus the smallest), the form of ``find_stable_neurons``'s
    ``input_constraint``; every row of ``X`` satisfies it exactly.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X must be a non-empty 2-d array of images, got shape {X.shape}")
    sums = X.sum(axis=1)
    ones = np.ones(X.shape[1])
    # the rows' own sums in float64 may differ from A @ x by rounding: widen by a few ulps of the largest sum
    slack = 8 * np.spacing(float(np.abs(sums).max()))
    return np.vstack([ones, -ones]), np.array([sums.max() + slack, -(sums.min() - slack)])


def _limit_for(time_limit: float | Mapping[str, float] | None, method: str) -> float | None:
    return time_limit.get(method) if isinstance(time_limit, Mapping) else time_limit


def analyse_classifier(
    weights: Sequence[Any], biases: Sequence[Any], X_train: Any, X_test: Any, y_test: Any,
    lower: Any = 0.0, upper: Any = 1.0, methods: tuple[str, ...] = ("pipeline",),
    time_limit: float | Mapping[str, float] | None = 300.0, without_data: tuple[str, ...] = (),
    prior: tuple[Any, Any] | None = None,
) -> dict[str, Any]:
    """Find the stable neurons of a classifier with each method, compress it by LEO++ and verify it.

    The first method's report drives the compression; every other method must return the same sets when all are
    complete (checked here: an ``AssertionError`` otherwise). The baseline never sees the data (the paper's
    baseline has no preprocessing); each method named in ``without_data`` is also run with ``X=None``, its time
    stored as ``seconds_<method>_nodata`` (Figure 2, right: with against without preprocessing).

    ``time_limit`` is seconds per run, or a mapping from method name to seconds (a method it leaves out has no
    limit). With ``prior = (A, b)`` (e.g. :func:`pixel_sum_constraint`), the first method also runs on the box
    restricted by ``A @ x <= b`` (Section 6's input prior): ``seconds_prior``, ``complete_prior``,
    ``stable_prior`` (neurons proven stable there) and ``removed_neurons_prior`` (what LEO++ removes with them);
    that compression is exact on the restricted domain only, so it is checked on the test images that satisfy
    the constraint (``max_diff_prior``; NaN when no test image does). The training images outside the
    constraint are left out of the preprocessing (none at all if none satisfies it).

    Returns
    -------
    dict
        Sizes, counts of stable neurons, removed neurons and connections, accuracies before and after, the
        largest output difference on the test set and on random box points, seconds per method, the comparison
        with magnitude pruning and with the preprocessing-only shortcut.
    """
    weights, biases = check_mlp(weights, biases)
    X_train, X_test, y_test = np.asarray(X_train, float), np.asarray(X_test, float), np.asarray(y_test)
    if not (time_limit is None or isinstance(time_limit, Mapping)
            or (isinstance(time_limit, numbers.Real) and not isinstance(time_limit, bool))):
        raise TypeError(f"time_limit must be None, seconds or a mapping of method to seconds, "
                        f"got {type(time_limit).__name__}")
    reports: dict[str, StabilityReport] = {}
    seconds: dict[str, float] = {}
    runs = [(m, m, m != "baseline") for m in methods] + [(f"{m}_nodata", m, False) for m in without_data]
    for label, method, use_data in runs:
        start = time.perf_counter()
        reports[label] = find_stable_neurons(weights, biases, lower, upper, X=X_train if use_data else None,
                                             method=method, time_limit=_limit_for(time_limit, method))
        seconds[label] = time.perf_counter() - start
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
    out.update({f"complete_{m}": r.complete for m, r in reports.items()})
    out.update({f"phases_{m}": r.phase_seconds for m, r in reports.items()})
    out.update({f"magnitude_{k}": v for k, v in magnitude_pruning_comparison(
        weights, removed_connection_mask(weights, main)).items()})
    out.update({f"preprocessing_{k}": v for k, v in preprocessing_only(weights, biases, X_train, X_test,
                                                                       main).items()})
    if prior is not None:
        A, b = (np.asarray(v, dtype=float) for v in prior)
        start = time.perf_counter()
        kept = X_train[np.all(X_train @ A.T <= b, axis=1)]
        restricted = find_stable_neurons(weights, biases, lower, upper, X=kept if len(kept) else None,
                                         method=methods[0], time_limit=_limit_for(time_limit, methods[0]),
                                         input_constraint=(A, b))
        out["seconds_prior"] = time.perf_counter() - start
        small = compress_with_report(weights, biases, restricted)
        inside = X_test[np.all(X_test @ A.T <= b, axis=1)]
        out.update(complete_prior=restricted.complete,
                   stable_prior=sum(len(a) + len(i) for a, i in zip(restricted.stably_active,
                                                                    restricted.stably_inactive)),
                   removed_neurons_prior=sum(small.removed_neurons),
                   max_diff_prior=float(np.max(np.abs(forward(weights, biases, inside)
                                                      - forward(small.weights, small.biases, inside))))
                   if len(inside) else float("nan"))
    return out


@functools.lru_cache(maxsize=1)
def warm_up() -> None:
    """Pay each process's one-off costs (imports, cvxpy's and HiGHS's first set-up: a few seconds) on a tiny
    network, so that they are not charged to whichever method is timed first. Runs once per process."""
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(6, 4)), rng.normal(size=(5, 6)), rng.normal(size=(2, 5))]
    biases = [rng.normal(size=6), rng.normal(size=5), rng.normal(size=2)]
    for method in ("pipeline", "baseline", "isa"):
        find_stable_neurons(weights, biases, 0.0, 1.0, X=rng.uniform(size=(20, 4)), method=method)


def analyse_point(point: Any, methods: tuple[str, ...] = ("pipeline",), without_data: tuple[str, ...] = (),
                  time_limit: float | Mapping[str, float] | None = 300.0,
                  pixel_sum_prior: bool = False) -> dict[str, Any]:
    """One point of Section 6's sweep, as a pure function of its settings: train (or read the cache), find the
    stable neurons, compress by LEO++, verify (:func:`analyse_classifier`).

    Timings are comparable across methods: the process's one-off set-up costs are paid first (:func:`warm_up`).
    A module-level function, so :func:`nncompress.sweep.run_sweep` can ship it to worker processes or a Dask
    cluster; bind the options with ``functools.partial(analyse_point, methods=...)``.

    Parameters
    ----------
    point : nncompress.sweep.SweepPoint
    methods, without_data, time_limit
        As in :func:`analyse_classifier`.
    pixel_sum_prior : bool, default False
        Also analyse under the input prior of the training images' pixel-sum range (:func:`pixel_sum_constraint`,
        ``prior`` of :func:`analyse_classifier`).

    Returns
    -------
    dict
        :func:`analyse_classifier`'s measurements plus ``train_accuracy`` and ``train_seconds`` (of the original
        training, also when read from the cache).
    """
    from ..data import load_dataset
    from ..sweep import SweepPoint, train_point

    if not isinstance(point, SweepPoint):
        raise TypeError(f"point must be a SweepPoint, got {type(point).__name__}")
    data = load_dataset(point.dataset)
    clf = train_point(point)
    warm_up()
    out = analyse_classifier(clf.weights, clf.biases, data.X_train, data.X_test, data.y_test, data.lower,
                             data.upper, methods=methods, time_limit=time_limit, without_data=without_data,
                             prior=pixel_sum_constraint(data.X_train) if pixel_sum_prior else None)
    assert abs(out["accuracy"] - clf.test_accuracy) < 1e-12, "float64 test accuracy differs from training's"
    return dict(train_accuracy=clf.train_accuracy, train_seconds=clf.seconds, **out)


def helpful_l1_range(table: Any, hidden: tuple[int, ...]) -> list[float]:
    """The l1 values (of one architecture) in Figure 1's shaded region: mean test accuracy over seeds above that of
    l1 = 0, and at least one neuron removed on average (exact compression occurs)."""
    rows = table[table["hidden"] == tuple(hidden)]
    stats = rows.groupby("l1").agg(acc=("accuracy", "mean"), removed=("removed_neurons", "mean"))
    if 0.0 not in stats.index:
        raise ValueError("the table must contain l1 = 0 for this architecture (the reference accuracy)")
    reference = stats.loc[0.0, "acc"]
    return [float(k) for k, row in stats.iterrows() if k > 0 and row["acc"] > reference and row["removed"] > 0]


def compression_without_loss(table: Any, hidden: tuple[int, ...], tolerance: float = 0.0) -> dict[str, float]:
    """Section 6's headline for one architecture: the most compression (mean over seeds) at an l1 value whose mean
    test accuracy is at least that of l1 = 0 minus ``tolerance`` ("removed at no accuracy loss").

    Returns
    -------
    dict
        ``l1`` (the chosen value; 0.0 if only l1 = 0 qualifies), ``accuracy``, ``reference_accuracy`` (l1 = 0),
        ``neurons_fraction`` and ``connections_fraction`` removed (means over seeds).
    """
    if not (isinstance(tolerance, (int, float)) and tolerance >= 0):
        raise ValueError(f"tolerance must be a number >= 0, got {tolerance!r}")
    rows = table[table["hidden"] == tuple(hidden)]
    stats = rows.groupby("l1").agg(acc=("accuracy", "mean"), neurons=("removed_neurons_fraction", "mean"),
                                   connections=("removed_connections_fraction", "mean"))
    if 0.0 not in stats.index:
        raise ValueError("the table must contain l1 = 0 for this architecture (the reference accuracy)")
    reference = stats.loc[0.0, "acc"]
    ok = stats[stats["acc"] >= reference - tolerance]
    best = ok["neurons"].idxmax()
    return dict(l1=float(best), accuracy=float(ok.loc[best, "acc"]), reference_accuracy=float(reference),
                neurons_fraction=float(ok.loc[best, "neurons"]),
                connections_fraction=float(ok.loc[best, "connections"]))


def median_speedup(table: Any, method: str, reference: str = "baseline") -> tuple[float, bool, int]:
    """Median of ``seconds_<reference> / seconds_<method>`` over the networks where ``method`` finished
    (``complete_<method>``); the time of an unfinished run is only its time limit.

    Returns ``(median, is_lower_bound, networks)``. Where a ``reference`` run hit its time limit its time, and so that
    network's ratio, is only a lower bound, and the median of lower bounds bounds the median from below
    (``is_lower_bound`` is then true). ``nan`` when no network qualifies. For the pipeline with against without
    data: ``median_speedup(table, "pipeline", reference="pipeline_nodata")``.
    """
    done = table[table[f"complete_{method}"].astype(bool)]
    if done.empty:
        return float("nan"), False, 0
    ratios = done[f"seconds_{reference}"] / done[f"seconds_{method}"]
    return float(ratios.median()), bool((~done[f"complete_{reference}"].astype(bool)).any()), len(done)


def linear_fit(x: Any, y: Any) -> dict[str, float]:
    """Least-squares line ``y = intercept + slope * x`` and its coefficient of determination R^2 (Figure 3)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length, got shapes {x.shape} and {y.shape}")
    if len(x) < 3 or np.ptp(x) == 0:
        raise ValueError("x must have at least 3 points and not be constant")
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (intercept + slope * x)
    total = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / total if total > 0 else 1.0
    return dict(slope=float(slope), intercept=float(intercept), r2=float(r2))
