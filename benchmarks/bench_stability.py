"""Speed of the stability engine on L1-regularised MNIST-5k classifiers, all methods in one run; prints ratios.

Seed 001 (Serra et al. 2021) reports that ISA finds the stable neurons of its MNIST 2x100 classifiers a median 77x
faster than the per-neuron baseline (83x over all its runs; Gurobi, 3-hour limits). This script times, on the same
networks and with the same solver (HiGHS through cvxpy, one thread):

1. ``2x100`` (``--nets`` networks, default 5, seeds 0..4, ``l1 = --l1``, default 1e-3, where a fifth to a half of
   the neurons are stable and the baseline finishes in under a minute): the default ``"pipeline"``, the same
   pipeline without data preprocessing (``X=None``) and the paper's baseline (``"baseline"``); the literal ISA
   loop (``"isa"``, one MILP re-solved until no open state is shown) on the first ``--isa-nets`` networks only,
   because it is slower than the baseline with HiGHS (it is the engine's last phase, not its speed). Prints each
   network's times and the median speed-up of each method over the baseline. Targets (issue 4): median speed-up of
   the pipeline >= 83x, and <= 2 s per network.
2. A hard case: ``2x100``, ``l1 = 3e-4`` (seed 0), where the stable neurons are few and deep: pipeline against the
   baseline with a 300 s limit (a lower bound on the speed-up when the baseline does not finish).
3. ``3x100`` and ``5x100`` (seed 0, ``l1 = --l1`` and ``l1 = 3e-4``): the pipeline's time per phase. Target: all
   neurons decided (``complete``) within 5 minutes per network.

Every method must return the same stable sets when complete; the script checks it (``AssertionError`` otherwise).
Networks are trained once with :func:`nncompress.train.train_cached` (about 9 s each for 2x100) and cached.

Usage: ``python benchmarks/bench_stability.py [--quick] [--nets N] [--l1 L1] [--isa-nets K] [--out FILE]``.
``--quick`` uses the scikit-learn ``digits`` data (8x8 images), 2 networks and 2x20/3x20 architectures: a smoke run
of the script, not a measurement. The figures are also written to ``benchmarks/results/bench_stability.json`` (or
``--out``).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _timing import add_out_argument, run_info, time_once, write_json

from nncompress.data import load_dataset
from nncompress.stability import StabilityReport, find_stable_neurons
from nncompress.stability.experiments import warm_up
from nncompress.train import train_cached


def timed(weights, biases, data, method: str, use_data: bool, time_limit: float) -> tuple[float, StabilityReport]:
    """Wall-clock seconds of one ``find_stable_neurons`` call, and its report."""
    return time_once(lambda: find_stable_neurons(weights, biases, data.lower, data.upper,
                                                 X=data.X_train if use_data else None, method=method,
                                                 time_limit=time_limit))


def same_sets(a: StabilityReport, b: StabilityReport) -> bool:
    """Do two complete reports name the same stably active and stably inactive neurons?"""
    return all(np.array_equal(x, y) for x, y in zip(a.stably_active + a.stably_inactive,
                                                    b.stably_active + b.stably_inactive))


def count(report: StabilityReport) -> str:
    active = sum(len(a) for a in report.stably_active)
    inactive = sum(len(i) for i in report.stably_inactive)
    unknown = sum(len(u) for u in report.unknown)
    return f"{active} active + {inactive} inactive stable, {unknown} unknown"


def counts(report: StabilityReport) -> dict[str, int | bool]:
    """The figures of :func:`count` (and whether the report is complete), for the JSON record."""
    return {"stably_active": sum(len(a) for a in report.stably_active),
            "stably_inactive": sum(len(i) for i in report.stably_inactive),
            "unknown": sum(len(u) for u in report.unknown), "complete": bool(report.complete)}


# (label, method, pass the training data?)
METHODS_2X = [("pipeline", "pipeline", True), ("pipeline, no data", "pipeline", False),
              ("baseline", "baseline", False), ("isa (literal loop)", "isa", True)]


def shallow(dataset: str, hidden: tuple[int, ...], l1: float, epochs: int, nets: int, isa_nets: int,
            time_limit: float) -> dict:
    data = load_dataset(dataset)
    times: dict[str, list[float]] = {label: [] for label, _, _ in METHODS_2X}
    networks = []
    for seed in range(nets):
        clf = train_cached(dataset, hidden, l1=l1, epochs=epochs, seed=seed, progress=False)
        reports = {}
        for label, method, use_data in METHODS_2X:
            if method == "isa" and seed >= isa_nets:
                continue
            seconds, reports[label] = timed(clf.weights, clf.biases, data, method, use_data, time_limit)
            times[label].append(seconds)
        complete = [r for r in reports.values() if r.complete]
        assert all(same_sets(complete[0], r) for r in complete), "methods disagree on the stable sets"
        networks.append({"seed": seed, "test_accuracy": clf.test_accuracy, "pipeline": counts(reports["pipeline"]),
                         "seconds": {label: times[label][-1] for label in reports},
                         "complete": {label: bool(reports[label].complete) for label in reports}})
        print(f"{'x'.join(map(str, hidden))} seed {seed} (test accuracy {clf.test_accuracy:.3f}): "
              f"{count(reports['pipeline'])}; "
              + ", ".join(f"{label} {times[label][-1]:.2f} s" + ("" if reports[label].complete else " INCOMPLETE")
                          for label in reports), flush=True)
    base = times["baseline"]
    print(f"\n{'x'.join(map(str, hidden))}, {nets} networks, l1 = {l1:g}: "
          f"median baseline {statistics.median(base):.2f} s")
    methods = {}
    for label, _, _ in METHODS_2X:
        if label == "baseline" or not times[label]:
            continue
        ratios = [b / t for b, t in zip(base, times[label])]
        print(f"  {label:<20} ({len(ratios)} networks) median {statistics.median(times[label]):.3f} s, "
              f"max {max(times[label]):.3f} s; speed-up over baseline: median {statistics.median(ratios):.1f}x "
              f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x)")
        methods[label] = {"networks": len(ratios), "median_seconds": statistics.median(times[label]),
                          "max_seconds": max(times[label]), "median_speedup": statistics.median(ratios),
                          "min_speedup": min(ratios), "max_speedup": max(ratios)}
    print("  targets: pipeline median speed-up >= 83x, <= 2 s per network\n", flush=True)
    return {"dataset": dataset, "hidden": list(hidden), "l1": l1, "epochs": epochs, "time_limit": time_limit,
            "median_baseline_seconds": statistics.median(base), "methods": methods, "networks": networks,
            "target_min_median_speedup": 83.0, "target_max_seconds": 2.0}


def hard(dataset: str, hidden: tuple[int, ...], l1: float, epochs: int, time_limit: float) -> dict:
    """Pipeline against the baseline on one network with few, deep stable neurons; a lower bound if the baseline
    runs out of time."""
    data = load_dataset(dataset)
    clf = train_cached(dataset, hidden, l1=l1, epochs=epochs, seed=0, progress=False)
    fast, ours = timed(clf.weights, clf.biases, data, "pipeline", True, time_limit)
    slow, base = timed(clf.weights, clf.biases, data, "baseline", False, time_limit)
    if ours.complete and base.complete:
        assert same_sets(ours, base), "methods disagree on the stable sets"
    bound = "" if base.complete else f" (INCOMPLETE after {time_limit:g} s: {count(base)}), so at least"
    print(f"hard case {'x'.join(map(str, hidden))} seed 0, l1 = {l1:g} (test accuracy {clf.test_accuracy:.3f}): "
          f"{count(ours)}; pipeline {fast:.2f} s (complete = {ours.complete}), baseline {slow:.2f} s{bound} "
          f"{slow / fast:.0f}x\n", flush=True)
    return {"dataset": dataset, "hidden": list(hidden), "l1": l1, "epochs": epochs, "seed": 0,
            "time_limit": time_limit, "test_accuracy": clf.test_accuracy, "pipeline": counts(ours),
            "baseline": counts(base), "pipeline_seconds": fast, "baseline_seconds": slow, "speedup": slow / fast,
            "speedup_is_lower_bound": not base.complete}


def deep(dataset: str, hidden: tuple[int, ...], l1: float, epochs: int, time_limit: float) -> dict:
    data = load_dataset(dataset)
    clf = train_cached(dataset, hidden, l1=l1, epochs=epochs, seed=0, progress=False)
    seconds, report = timed(clf.weights, clf.biases, data, "pipeline", True, time_limit)
    phases = ", ".join(f"{k} {v:.2f} s" for k, v in report.phase_seconds.items())
    print(f"{'x'.join(map(str, hidden))} seed 0, l1 = {l1:g} (test accuracy {clf.test_accuracy:.3f}): "
          f"pipeline {seconds:.2f} s, complete = {report.complete}; {count(report)}; "
          f"MILP solves {report.stats.solves}\n  per phase: {phases}", flush=True)
    return {"dataset": dataset, "hidden": list(hidden), "l1": l1, "epochs": epochs, "seed": 0,
            "time_limit": time_limit, "test_accuracy": clf.test_accuracy, "pipeline": counts(report),
            "pipeline_seconds": seconds, "milp_solves": report.stats.solves,
            "phase_seconds": dict(report.phase_seconds), "target_max_seconds": 300.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on the digits data (not a measurement)")
    parser.add_argument("--nets", type=int, default=5, help="number of 2x100 networks (seeds 0..nets-1)")
    parser.add_argument("--l1", type=float, default=1e-3, help="L1 penalty of the 2x100 networks")
    parser.add_argument("--isa-nets", type=int, default=1, help="networks on which the literal ISA loop runs")
    add_out_argument(parser, "bench_stability")
    args = parser.parse_args()
    t_start = time.perf_counter()
    warm_up()
    if args.quick:
        record = {"shallow": shallow("digits", (20, 20), 2e-3, 150, 2, 1, time_limit=60),
                  "hard": hard("digits", (20, 20), 5e-4, 150, time_limit=30),
                  "deep": [deep("digits", (20, 20, 20), 2e-3, 150, time_limit=30)]}
    else:
        record = {"shallow": shallow("mnist5k", (100, 100), args.l1, 160, args.nets, args.isa_nets, time_limit=300),
                  "hard": hard("mnist5k", (100, 100), 3e-4, 160, time_limit=300), "deep": []}
        # The deeper architectures' penalties: the strongest of the sweep that leaves the network accurate
        # (1e-3 collapses a 5x100 network to a constant classifier).
        for l1 in (args.l1, 3e-4):
            record["deep"].append(deep("mnist5k", (100, 100, 100), l1, 160, time_limit=300))
            record["deep"].append(deep("mnist5k", (100, 100, 100, 100, 100), l1, 160, time_limit=300))
    record = {"benchmark": "bench_stability", "settings": "quick" if args.quick else "full", **record,
              "wall_seconds": time.perf_counter() - t_start, **run_info()}
    print(f"wrote {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
