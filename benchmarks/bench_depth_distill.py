"""Distillation of the Theorem 1 teacher (Burstein and Wilmes) into norm-bounded students, against n, further than the
book's Chapter 6 can afford; and the sweep of trained local students on the Theorem 3 gadget.

1. Distillation cost against n. Teacher: the deep separator f in NN_{9,5}; hidden parity of ceil(n/2) of n bits; the
   student is a depth-3 ReLU network (64 + 64 units) kept in NN_{9,3} (the class of Theorem 1, Lambda' = Lambda = 9)
   by projecting every weight matrix onto the Frobenius ball after each Adam step. Cost = the smallest transfer set
   (sizes on a factor-sqrt(2) grid) whose student reaches Lemma-1 accuracy 0.9; accuracy is exact over the cube for
   n <= 14 and estimated on 2^14 sampled cube points above. A second cost: the Adam steps of that run. Several
   seeds per n (each: its own parity, transfer sets
   and initialisations). Then an exponential and a polynomial model are fitted to the costs, compared by AIC and by
   extrapolation to the two largest n, with a bootstrap over seeds (``nncompress.depth.growth.compare_growth``).
2. Local students (``--part students``): depth-2 ReLU students on the gadget T_m o T_m for a wider width / learning-rate
   / restart sweep than the chapter's; best error against the proven floor and the constant predictor.

Usage: ``python benchmarks/bench_depth_distill.py [--quick] [--nmax N] [--seeds S] [--part P] [--out FILE]`` with
P = ``distillation`` (default), ``students`` or ``both``.
Figures go to ``benchmarks/results/bench_depth_distill.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import add_out_argument, run_info, write_json

from nncompress.depth import distillation_sweep, samples_to_accuracy
from nncompress.depth.growth import compare_growth
from nncompress.depth.local import train_gadget_students

LAM, DEPTH, HIDDEN, THRESHOLD, EVAL_POINTS, SEED = 9.0, 5, (64, 64), 0.9, 2**14, 2024


def distillation(ns: list[int], seeds: int, epochs: int) -> dict:
    sizes = [int(round(2 ** (j / 2))) for j in range(6, 2 * (max(ns) + 1))]
    rows = []
    for n in ns:
        t0 = time.perf_counter()
        for s in range(seeds):
            runs = distillation_sweep([n], sizes, {"depth 3, norm-bounded": HIDDEN}, trials=1, lam=LAM, depth=DEPTH,
                                      epochs=epochs, rng=np.random.default_rng([SEED, n, s]), progress=False,
                                      max_norm=LAM, eval_points=EVAL_POINTS)
            assert (runs["lam"] <= LAM * (1 + 1e-6)).all()  # the projection kept every student in NN_{9,3}
            need = samples_to_accuracy(runs, THRESHOLD)
            row = need.iloc[0].to_dict() | {"seed": s, "runs": len(runs),
                                            "recovered": bool(runs.loc[runs["accuracy"] >= THRESHOLD,
                                                                       "recovered"].all())}
            rows.append(row)
        med = np.nanmedian([r["samples"] for r in rows if r["n"] == n])
        print(f"n = {n:2d}: median transfer set {med:9.0f}   ({time.perf_counter() - t0:7.1f} s for {seeds} seeds)",
              flush=True)
    ok = [r for r in rows if np.isfinite(r["samples"])]
    fits = {}
    for measure in ("samples", "steps"):
        fit = compare_growth([r["n"] for r in ok], [r[measure] for r in ok], held=2 if len(ns) >= 6 else 1,
                             boot=2000, rng=SEED)
        fits[measure] = fit
        print(f"cost = {measure} of the successful run:")
        print(f"  exponential: 2^(a + b n), b = {fit['exponential']['slope']:.3f} "
              f"(95% {fit['exponential']['slope_ci'][0]:.3f}..{fit['exponential']['slope_ci'][1]:.3f})")
        print(f"  polynomial:  2^a n^k, k = {fit['polynomial']['slope']:.2f} "
              f"(95% {fit['polynomial']['slope_ci'][0]:.2f}..{fit['polynomial']['slope_ci'][1]:.2f})")
        print(f"  delta AIC (positive favours the exponential) = {fit['delta_aic']:.1f}, Akaike weight of the "
              f"exponential {fit['weight_exponential']:.3f}; bootstrap share favouring the exponential: AIC "
              f"{fit['boot_exponential_aic']:.3f}, extrapolation {fit['boot_exponential_holdout']:.3f}")
        print(f"  held-out (largest n) mean squared log2-error: exp {fit['holdout_mse']['exponential']:.3f}, "
              f"poly {fit['holdout_mse']['polynomial']:.3f}")
    return {"ns": ns, "seeds": seeds, "epochs": epochs, "student": list(HIDDEN), "max_norm": LAM,
            "threshold": THRESHOLD, "eval_points": EVAL_POINTS, "rows": rows, "failures": len(rows) - len(ok),
            "fits": fits}


def students(quick: bool) -> dict:
    ms = [2, 4] if quick else [2, 4, 8]
    widths = {2: [4, 16, 64, 256], 4: [16, 64, 256, 512], 8: [64, 256, 1024]}
    lrs = [1e-2, 1e-1] if quick else [3e-3, 3e-2, 1e-1]
    t0 = time.perf_counter()
    runs, _ = train_gadget_students(ms, widths, lrs, restarts=2, steps=1000 if quick else 3000)
    best = runs.groupby(["m", "width"]).agg(best_mse=("best_mse", "min"), floor=("floor", "first"),
                                            runs=("best_mse", "size")).reset_index()
    print(best.to_string(index=False))
    return {"sweep": runs.to_dict("records"), "best": best.to_dict("records"),
            "seconds": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small n and few seeds, for a smoke run")
    parser.add_argument("--nmax", type=int, default=20, help="largest n (even, default 20)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per n (default 5)")
    parser.add_argument("--part", choices=["distillation", "students", "both"], default="distillation",
                        help="which experiment(s) to run (default distillation)")
    add_out_argument(parser, "bench_depth_distill")
    args = parser.parse_args()
    if args.nmax < 10 or args.seeds < 1:
        parser.error("--nmax must be >= 10 and --seeds >= 1")
    t_start = time.perf_counter()
    ns = list(range(4, 11, 2)) if args.quick else list(range(4, args.nmax + 1, 2))
    record = {"benchmark": "bench_depth_distill", "settings": "quick" if args.quick else "full"}
    if args.part in ("distillation", "both"):
        record["distillation"] = distillation(ns, 2 if args.quick else args.seeds, 100 if args.quick else 300)
    if args.part in ("students", "both"):
        record["local_students"] = students(args.quick)
    record |= {"wall_seconds": time.perf_counter() - t_start, **run_info()}
    print(f"wrote {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
