"""Speed of the stability engine on L1-regularised MNIST classifiers: single-run ISA, the pipeline and the
per-neuron baseline on the same networks in one run; prints and writes the speed-ups over the baseline.

Serra et al. (2021, Section 6) report that ISA (Algorithm 1: one MILP solve with a lazy-constraint callback) finds
the stable neurons of its MNIST classifiers a median 77x (2x100), 153x (2x200) and 193x (2x400) faster than the
per-neuron baseline (Gurobi), and decides deeper (5x100) and wider networks within minutes. This script times,
network by network and with the same solvers on the same machine:

* ``"isa"``: Algorithm 1 as one SCIP branch-and-bound run (``nncompress.stability.isa``), with the training data
  as preprocessing (Section 5.3), big-M from interval bounds as in the paper;
* ``"pipeline"`` (the default method): data, interval and back-substitution bounds, safe LP bounds, gradient
  search, the ISA run while many states are open, then bound tightening and branch and bound on the last few;
* ``"baseline"``: MILPs (5)/(6) neuron by neuron (HiGHS), no data.

Networks: trained on full MNIST (60,000 images) with :func:`nncompress.train.train_cached` (40 epochs: the
objective has plateaued by then, ``benchmarks/pilot_mnist.py``), architectures ``--archs`` (default the paper's
seven: 2x100, 2x200, 2x400, 2x800, 3x100, 4x100, 5x100), penalties ``--l1`` (default, per architecture, those
Chapter 3 analyses: ``GRIDS["book"]`` in :mod:`nncompress.stability.section6`; it leaves out the 5x100 networks
at l1 = 1e-4 and 5e-5, where the pipeline leaves 4 and 13 neurons undecided after 300 s: ``--archs 5x100 --l1 1e-4``
measures one), seeds ``0..--seeds-1``. ISA and the pipeline have ``--time-limit`` seconds per network, the baseline
``--baseline-time-limit`` (default the same); a speed-up against a baseline that did not finish is a lower bound
(marked ``>=``). Every pair of complete reports must name the same stable neurons (``AssertionError`` otherwise).

Usage: ``python benchmarks/bench_stability.py [--quick] [--archs 2x100 5x100] [--l1 0 3e-4] [--seeds N]
[--time-limit S] [--baseline-time-limit S] [--out FILE]``. ``--quick`` uses the scikit-learn ``digits`` data
(8x8 images) and 2x20/3x20 networks: a smoke run of the script (about a minute), not a measurement. The figures go to
``benchmarks/results/bench_stability.json`` (or ``--out``), rewritten after every network (``"finished": false``
until the table is in).
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
from nncompress.stability.section6 import GRIDS
from nncompress.train import train_cached

METHODS = ("isa", "pipeline", "baseline")
PAPER = {"2x100": 77.0, "2x200": 153.0, "2x400": 193.0}


def same_sets(a: StabilityReport, b: StabilityReport) -> bool:
    """Do two complete reports name the same stably active and stably inactive neurons?"""
    return all(np.array_equal(x, y) for x, y in zip(a.stably_active + a.stably_inactive,
                                                    b.stably_active + b.stably_inactive))


def counts(report: StabilityReport) -> dict[str, int | bool]:
    return {"stably_active": sum(len(a) for a in report.stably_active),
            "stably_inactive": sum(len(i) for i in report.stably_inactive),
            "unknown": sum(len(u) for u in report.unknown), "complete": bool(report.complete),
            "milp_solves": int(report.stats.solves.get("milp", 0))}


def one_network(data, hidden: tuple[int, ...], l1: float, seed: int, epochs: int, time_limit: float,
                baseline_limit: float) -> dict:
    clf = train_cached(data.name, hidden, l1=l1, epochs=epochs, seed=seed, progress=False)
    seconds, reports = {}, {}
    for method in METHODS:
        seconds[method], reports[method] = time_once(lambda: find_stable_neurons(
            clf.weights, clf.biases, data.lower, data.upper, X=None if method == "baseline" else data.X_train,
            method=method, time_limit=baseline_limit if method == "baseline" else time_limit))
    complete = [m for m in METHODS if reports[m].complete]
    for m in complete[1:]:
        assert same_sets(reports[complete[0]], reports[m]), f"{m} and {complete[0]} disagree on the stable sets"
    base_done = reports["baseline"].complete
    # a method that did not finish has no speed-up (None); against an unfinished baseline it is a lower bound
    speedup = {m: seconds["baseline"] / seconds[m] if reports[m].complete else None for m in ("isa", "pipeline")}
    arch = f"{len(hidden)}x{hidden[0]}" if len(set(hidden)) == 1 else "x".join(map(str, hidden))  # the paper's L x n
    print(f"{arch} l1={l1:g} seed {seed} (test accuracy {clf.test_accuracy:.3f}): "
          f"{counts(reports[complete[0] if complete else 'pipeline'])}; "
          + ", ".join(f"{m} {seconds[m]:.2f} s" + ("" if reports[m].complete else " INCOMPLETE") for m in METHODS)
          + "; speed-up over baseline: "
          + ", ".join(f"{m} none (incomplete)" if speedup[m] is None else
                      f"{m} {'' if base_done else '>='}{speedup[m]:.1f}x" for m in speedup), flush=True)
    return {"architecture": arch, "l1": l1, "seed": seed, "epochs": epochs, "test_accuracy": clf.test_accuracy,
            "seconds": seconds, "reports": {m: counts(r) for m, r in reports.items()},
            "speedup_over_baseline": speedup, "speedup_is_lower_bound": not base_done,
            "isa_phase_seconds": dict(reports["isa"].phase_seconds),
            "pipeline_phase_seconds": dict(reports["pipeline"].phase_seconds)}


def table(rows: list[dict]) -> dict:
    """Per architecture: networks decided by each method, median/max seconds, median speed-ups over the baseline."""
    out = {}
    for arch in sorted({r["architecture"] for r in rows}):
        mine = [r for r in rows if r["architecture"] == arch]
        entry = {"networks": len(mine), "paper_median_speedup": PAPER.get(arch)}
        for m in METHODS:
            times = [r["seconds"][m] for r in mine]
            entry[m] = {"decided": sum(r["reports"][m]["complete"] for r in mine),
                        "median_seconds": statistics.median(times), "max_seconds": max(times)}
            ratios = [r["speedup_over_baseline"][m] for r in mine if r["speedup_over_baseline"].get(m) is not None]
            if m != "baseline" and ratios:
                entry[m].update(median_speedup=statistics.median(ratios), min_speedup=min(ratios),
                                max_speedup=max(ratios))
        entry["some_baseline_incomplete"] = any(r["speedup_is_lower_bound"] for r in mine)
        out[arch] = entry
        print(f"{arch}: {len(mine)} networks; "
              + "; ".join(f"{m}: decided {entry[m]['decided']}/{len(mine)}, median {entry[m]['median_seconds']:.2f} s,"
                          f" max {entry[m]['max_seconds']:.2f} s"
                          + (f", median speed-up {entry[m]['median_speedup']:.1f}x" if "median_speedup" in entry[m]
                             else "")
                          for m in METHODS)
              + (f"; the paper (ISA, Gurobi): {PAPER[arch]:g}x" if arch in PAPER else "")
              + (" (some baselines hit the limit: speed-ups are lower bounds)"
                 if entry["some_baseline_incomplete"] else ""), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on the digits data (not a measurement)")
    parser.add_argument("--archs", nargs="+", default=["2x100", "2x200", "2x400", "2x800", "3x100", "4x100", "5x100"],
                        help="architectures L x n (default: the paper's seven)")
    parser.add_argument("--l1", type=float, nargs="+", default=None,
                        help="penalties (default: those Chapter 3 analyses for each architecture)")
    parser.add_argument("--seeds", type=int, default=1, help="networks per architecture and penalty")
    parser.add_argument("--epochs", type=int, default=40, help="training epochs on full MNIST")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per method and network")
    parser.add_argument("--baseline-time-limit", type=float, default=None,
                        help="seconds for the baseline per network (default: --time-limit); a shorter one only "
                             "turns more of its speed-ups into lower bounds")
    add_out_argument(parser, "bench_stability")
    args = parser.parse_args()
    t_start = time.perf_counter()
    warm_up()
    if args.quick:
        data, epochs = load_dataset("digits"), 150
        plan = [((20, 20), 2e-3, s) for s in range(2)] + [((20, 20, 20), 2e-3, 0)]
        limit = 60.0
    else:
        data, epochs = load_dataset("mnist"), args.epochs
        archs = []
        for name in args.archs:
            depth, _, width = name.partition("x")
            if not (depth.isdigit() and width.isdigit()):
                parser.error(f"--archs: expected L x n such as 2x100, got {name!r}")
            archs.append((int(width),) * int(depth))
        plan = [(h, l1, s) for h in archs for l1 in (args.l1 or GRIDS["book"].l1_values(h))
                for s in range(args.seeds)]
        limit = args.time_limit
    baseline_limit = limit if args.quick or args.baseline_time_limit is None else args.baseline_time_limit
    rows: list[dict] = []
    record = {"benchmark": "bench_stability", "settings": "quick" if args.quick else "full", "dataset": data.name,
              "time_limit": limit, "baseline_time_limit": baseline_limit, "networks": rows, **run_info()}
    for hidden, l1, seed in plan:  # the record so far is rewritten after every network: a stopped run keeps them
        rows.append(one_network(data, hidden, l1, seed, epochs, limit, baseline_limit))
        write_json(args.out, {**record, "wall_seconds": time.perf_counter() - t_start, "finished": False})
    print()
    record.update(table=table(rows), wall_seconds=time.perf_counter() - t_start, finished=True)
    print(f"wrote {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
