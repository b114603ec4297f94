"""Accuracy and cost of the learning-coefficient estimators on models with known (lambda, m), measured in one run.

1. The validation family of ``nncompress.phases.known_models.llc_validation_table`` at n = 1000: normal crossings
   (lambda from 1/2 down to 1/6, multiplicities 1, 2, 3), linear regression, reduced-rank regression. Each model is
   given to the tempered estimator (``local_learning_coefficient`` at its defaults) and to the single-temperature
   estimator (``wbic_llc``, Lau et al. 2023, beta = 1/log n); the table, the errors and the time ratio are printed.
2. Cost on two-layer ReLU population targets (``relu_population``, 9 and 13 parameters) at the defaults and at the
   settings for lambda alone (8 chains, 1000 draws, 500 tuning, log t step 2). At a generic truth of h nodes with
   width h the only degeneracy is the scaling symmetry of each node, so the reference value is (d - h)/2.

Usage: ``python benchmarks/bench_llc.py [--quick] [--seed S] [--no-relu] [--out FILE]`` (about 6 minutes on one
core; ``--quick`` uses three models and short chains, under a minute). The same validation under the chapter's five
master seeds is ``benchmarks/claims_phases.py --llc``. The figures are also written to
``benchmarks/results/bench_llc.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import add_out_argument, run_info, time_once, write_json


def validation(seed: int, quick: bool) -> tuple[list[dict], dict]:
    from nncompress.phases import NORMAL_CROSSINGS, RRR_CASES, llc_validation_table

    if quick:
        kw = dict(crossings=((1,), (2, 2)), linear_dims=(), rrr_cases=((2, 2, 1, 0),),
                  estimator_kw=dict(n_draws=400, n_tune=300, log_t_step=2.0, n_bootstrap=50),
                  wbic_kw=dict(n_draws=200, n_tune=200))
    else:
        kw = dict(crossings=NORMAL_CROSSINGS, linear_dims=(2, 6), rrr_cases=RRR_CASES)
    df = llc_validation_table(seed, n=1000, **kw)
    show = df[["model", "dim", "true_lambda", "true_m", "estimate", "std_error", "relative_error", "m_hat", "m_weight",
               "wbic_estimate", "wbic_relative_error", "seconds", "wbic_seconds"]]
    print("Validation family at n = 1000 (tempered estimator at its defaults; WBIC at beta = 1/log n):")
    print(show.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    known_m = df["true_m"].notna()
    tol = np.where(df["true_lambda"] < 0.3, 0.03, 0.1 * df["true_lambda"])
    wbic_ok = (df["wbic_estimate"] - df["true_lambda"]).abs() <= tol
    summary = {
        "models": len(df),
        "tempered_within_tolerance": int(df["within_tolerance"].sum()),
        "wbic_within_tolerance": int(wbic_ok.sum()),
        "m_known": int(known_m.sum()),
        "m_correct": int(df.loc[known_m, "m_correct"].sum()),
        "tempered_max_abs_relative_error": float(df["relative_error"].abs().max()),
        "wbic_max_abs_relative_error": float(df["wbic_relative_error"].abs().max()),
        "tempered_seconds": float(df["seconds"].sum()),
        "wbic_seconds": float(df["wbic_seconds"].sum()),
    }
    summary["time_ratio_tempered_wbic"] = summary["tempered_seconds"] / summary["wbic_seconds"]
    print(f"\nwithin 10 % (0.03 where lambda < 0.3): tempered {summary['tempered_within_tolerance']}/{len(df)}, "
          f"WBIC {summary['wbic_within_tolerance']}/{len(df)}; multiplicity right "
          f"{summary['m_correct']}/{summary['m_known']} where known")
    print(f"largest relative error: tempered {summary['tempered_max_abs_relative_error']:.1%}, "
          f"WBIC {summary['wbic_max_abs_relative_error']:.1%}")
    print(f"time: tempered {summary['tempered_seconds']:.1f} s, WBIC {summary['wbic_seconds']:.1f} s "
          f"(ratio {summary['time_ratio_tempered_wbic']:.0f}x)")
    return df.to_dict(orient="records"), summary


def relu_costs(seed: int, quick: bool) -> list[dict]:
    from nncompress.phases import deforming_pair, m_symmetric, phase_point, relu_population
    from nncompress.phases import local_learning_coefficient, wbic_llc

    settings = {"defaults": {}, "lambda alone": dict(n_chains=8, n_draws=1000, n_tune=500, log_t_step=2.0)}
    if quick:
        settings = {"quick": dict(n_chains=4, n_draws=200, n_tune=200, log_t_step=2.0, n_bootstrap=20)}
    rows = []
    print("\nTwo-layer ReLU population targets, n = 1000 (reference (d - h)/2: one scaling symmetry per node):")
    for name, truth, width in (("deforming pair (theta = 0.6), width 2", deforming_pair(0.6), 2),
                               ("3-symmetric truth, width 3", m_symmetric(3), 3)):
        target = relu_population(truth, width, 1000)
        w_star = phase_point(truth, width)
        reference = (target.dim - width) / 2
        wbic_seconds, wb = time_once(lambda: wbic_llc(target, w_star, seed))
        for label, kw in settings.items():
            seconds, res = time_once(lambda: local_learning_coefficient(target, w_star, seed, **kw))
            rows.append({"model": name, "dim": target.dim, "reference": reference, "settings": label,
                         "estimate": res.estimate, "std_error": res.std_error, "m_hat": res.multiplicity,
                         "seconds": seconds, "wbic_estimate": wb.estimate, "wbic_seconds": wbic_seconds,
                         "rhat": res.rhat, "divergences": res.divergences})
            print(f"  {name:40s} d = {target.dim:2d}  {label:13s} lambda = {res.estimate:.3f} +- {res.std_error:.3f}"
                  f" (reference {reference:.1f}, m = {res.multiplicity})  {seconds:6.1f} s;"
                  f"  WBIC {wb.estimate:.3f} in {wbic_seconds:.1f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three models, short chains (smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-relu", action="store_true", help="skip the ReLU cost rows")
    add_out_argument(parser, "bench_llc")
    args = parser.parse_args()
    t_start = time.perf_counter()
    table, summary = validation(args.seed, args.quick)
    relu = [] if args.no_relu else relu_costs(args.seed, args.quick)
    record = {"benchmark": "bench_llc", "settings": "quick" if args.quick else "full", "seed": args.seed,
              "validation": table, "summary": summary, "relu": relu, "wall_seconds": time.perf_counter() - t_start,
              **run_info()}
    print(f"wrote {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
