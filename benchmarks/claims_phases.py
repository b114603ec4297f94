"""Chapter 5's stochastic claims under several master seeds: what the chapter may assert, and with what margin.

Chapter 5 asserts a claim only if it held under every one of five independent master seeds (the chapter's own and
four others) with a margin. This script reruns each stochastic experiment of the chapter at the chapter's full
settings, read from the notebook's ``parameters`` cell, under each master seed (every experiment draws from
``experiment_rng(seed, name)``, as in the notebook), and prints, for each quantity the chapter states, the minimum,
median and maximum over the seeds and whether each asserted claim held under all of them. The table is written to
``benchmarks/claims/phases.json`` (or ``--out``), which the chapter reads to report the spread.

    python benchmarks/claims_phases.py                 # 5 seeds, full settings (about 25 CPU-minutes per seed)
    python benchmarks/claims_phases.py --jobs 10       # in parallel (one process per seed and experiment)
    python benchmarks/claims_phases.py --quick         # smoke settings, 2 seeds (a check of the script itself)
    python benchmarks/claims_phases.py --llc           # the learning-coefficient validation only (about 4 CPU-minutes
                                                       # per seed), written to benchmarks/claims/phases_llc.json

``--llc`` reruns the chapter's validation of the learning-coefficient estimators (``llc_validation`` at the chapter's
``LLC_N`` and ``LLC_VAL``, generator ``experiment_rng(seed, "llc-validation")``) under each master seed and checks the
two claims the chapter asserts about it: every estimate within the target, and the multiplicity right on every normal
crossing; it also counts how often m was right on the reduced-rank cases where m is known (reported, not asserted).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from _timing import run_info, write_json

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "05_phase_transitions.ipynb"
DEFAULT_OUT = ROOT / "benchmarks" / "claims" / "phases.json"
DEFAULT_LLC_OUT = ROOT / "benchmarks" / "claims" / "phases_llc.json"
MASTER_SEEDS = (2025, 1, 2, 3, 4)  # the chapter's seed first

# The claims the chapter asserts in full mode: (name, quantity, comparison, threshold). A claim holds for a seed when
# ``quantity <comparison> threshold``; the margin is how far the worst seed is from the threshold.
CLAIMS = [
    ("one-node mass rises with theta (n0)", "rise_{n0}", ">", 0.0),
    ("one-node mass rises with theta (n1)", "rise_{n1}", ">", 0.0),
    ("switch before pi/2 (n0)", "switch_frac_{n0}", "<", 1.0),
    ("switch before pi/2 (n1)", "switch_frac_{n1}", "<", 1.0),
    ("more data keeps two nodes longer at 0.75 pi/2", "mid_drop", ">", 0.0),
    ("sweep runs agree (max R-hat of MSE)", "sweep_rhat_max", "<", 1.1),
    ("sweep divergences (max rate)", "sweep_div_max", "<", 0.1),
    ("no preference for annihilation at q3 = 1", "non_minus_ann_1_0", ">", 0.0),
    ("annihilation lost at q3 = 3", "ann_3_0", "<", 0.1),
    ("orientation runs agree (max R-hat of MSE)", "orient_rhat_max", "<", 1.1),
    ("orientation divergences (max rate)", "orient_div_max", "<", 0.1),
]


# The claims the chapter asserts about the learning-coefficient validation (``--llc``).
LLC_CLAIMS = [
    ("every LLC estimate within the target", "llc_within_fraction", ">", 0.999),
    ("m right on every normal crossing", "llc_crossing_m_right_fraction", ">", 0.999),
    ("largest relative error of the LLC estimates", "llc_max_abs_relative_error", "<", 0.1),
]


def notebook_parameters(smoke: bool) -> dict:
    """The settings of the chapter: its ``parameters`` cell, executed with or without ``NNC_SMOKE``."""
    nb = json.loads(NOTEBOOK.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    old = os.environ.get("NNC_SMOKE")
    os.environ["NNC_SMOKE"] = "1" if smoke else "0"
    try:
        env: dict = {}
        exec("".join(cell["source"]), env)  # the notebook's own cell: constants only
    finally:
        if old is None:
            os.environ.pop("NNC_SMOKE", None)
        else:
            os.environ["NNC_SMOKE"] = old
    return env


def run_one(seed: int, experiment: str, n: int, p: dict):
    """One experiment of the chapter at one sample size under one master seed: its table (a DataFrame)."""
    import numpy as np

    from nncompress.phases import deformation_sweep, experiment_rng, orientation_sweep

    rng = experiment_rng(seed, f"{experiment}-{n}")  # the notebook's generator for this experiment
    if experiment == "deformation":
        thetas = np.pi / 2 * np.array(p["THETA_FRACS"])
        return deformation_sweep(thetas, [n], rng, n_particles=p["N_PARTICLES"], n_runs=p["N_RUNS"])[0]
    return orientation_sweep(p["Q3S"], [n], rng, n_particles=p["N_PARTICLES"], n_runs=p["N_RUNS"])[0]


def quantities(deformation, orientation) -> dict:
    """The quantities the chapter states, from the two tables of one master seed."""
    from nncompress.phases import deformation_claims, orientation_claims

    out = {**deformation_claims(deformation), **orientation_claims(orientation)}
    out["sweep_rhat_max"] = float(deformation["rhat_mse"].max())
    out["sweep_div_max"] = float(deformation["divergence_rate"].max())
    out["sweep_sd_max"] = float(deformation["one_node_sd"].max())
    out["orient_rhat_max"] = float(orientation["rhat_mse"].max())
    out["orient_div_max"] = float(orientation["divergence_rate"].max())
    out["seconds"] = float(deformation.drop_duplicates(["theta", "n"])["seconds"].sum()
                           + orientation.drop_duplicates(["q3", "n"])["seconds"].sum())
    return out


def llc_quantities(seed: int, p: dict) -> tuple[dict, list]:
    """The validation table of the chapter under one master seed: the quantities its claims test, and its rows."""
    from nncompress.phases import experiment_rng, llc_validation

    df = llc_validation(experiment_rng(seed, "llc-validation"), n=p["LLC_N"], **p["LLC_VAL"])
    known = df["true_m"].notna()
    crossing = df["kind"] == "normal crossing"
    rrr = known & (df["kind"] == "reduced rank")
    tol = (df["true_lambda"] < 0.3) * 0.03 + (df["true_lambda"] >= 0.3) * 0.1 * df["true_lambda"]
    out = {
        "llc_within_fraction": float(df["within_tolerance"].mean()),
        "llc_max_abs_relative_error": float(df["relative_error"].abs().max()),
        "llc_crossing_m_right_fraction": float(df.loc[crossing, "m_correct"].mean()),
        "llc_crossing_m_weight_min": float(df.loc[crossing, "m_weight"].min()),
        "llc_rrr_m_right": float(df.loc[rrr, "m_correct"].sum()),
        "llc_rrr_m_known": float(rrr.sum()),
        "llc_m_right": float(df.loc[known, "m_correct"].sum()),
        "llc_m_known": float(known.sum()),
        "llc_m_right_fraction": float(df.loc[known, "m_correct"].mean()),
        "wbic_within_fraction": float(((df["wbic_estimate"] - df["true_lambda"]).abs() <= tol).mean()),
        "wbic_max_abs_relative_error": float(df["wbic_relative_error"].abs().max()),
        "llc_seconds": float(df["seconds"].sum()),
        "wbic_seconds": float(df["wbic_seconds"].sum()),
    }
    rows = df[["model", "true_lambda", "true_m", "estimate", "std_error", "m_hat", "m_weight", "wbic_estimate",
               "within_tolerance", "m_correct", "seconds"]].to_dict(orient="records")
    return out, rows


def summarise(per_seed: dict, seeds: list, claims_spec: list, fmt: dict) -> tuple[dict, list]:
    """min/median/max of every quantity over the seeds, and whether each claim held under all of them (printed)."""
    names = sorted(next(iter(per_seed.values())))
    summary = {}
    print(f"{'quantity':32s} {'min':>8s} {'median':>8s} {'max':>8s}")
    for q in names:
        vals = [per_seed[s][q] for s in seeds]
        summary[q] = {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "values": vals}
        print(f"{q:32s} {min(vals):8.3f} {statistics.median(vals):8.3f} {max(vals):8.3f}")
    claims = []
    print(f"\n{'claim':48s} {'worst':>8s} {'holds':>6s}")
    for name, key, op, thr in claims_spec:
        key = key.format(**fmt)
        vals = [per_seed[s][key] for s in seeds]
        worst = min(vals) if op == ">" else max(vals)
        holds = all((v > thr) if op == ">" else (v < thr) for v in vals)  # NaN never holds
        claims.append({"claim": name, "quantity": key, "op": op, "threshold": thr, "worst": worst, "holds": holds,
                       "values": vals})
        print(f"{name:48s} {worst:8.3f} {str(holds):>6s}")
    return summary, claims


def main_llc(args: argparse.Namespace, seeds: list, p: dict) -> None:
    t0 = time.perf_counter()
    if args.jobs > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=args.jobs)(delayed(llc_quantities)(s, p) for s in seeds)
    else:
        results = [llc_quantities(s, p) for s in seeds]
    per_seed = {s: r[0] for s, r in zip(seeds, results)}
    print(f"{len(seeds)} master seeds {list(seeds)}, {'smoke' if args.quick else 'full'} settings of Chapter 5's "
          f"learning-coefficient validation (n = {p['LLC_N']})")
    summary, claims = summarise(per_seed, seeds, LLC_CLAIMS, {})
    out = args.out or DEFAULT_LLC_OUT
    record = {"seeds": list(seeds), "settings": "smoke" if args.quick else "full", "n": p["LLC_N"],
              "summary": summary, "claims": claims, "per_seed": {str(s): per_seed[s] for s in seeds},
              "tables": {str(s): r[1] for s, r in zip(seeds, results)},
              "wall_seconds": time.perf_counter() - t0, "jobs": args.jobs, **run_info()}
    write_json(out, record)
    print(f"\nwrote {out} ({record['wall_seconds']:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke settings and 2 seeds")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help=f"master seeds (default {MASTER_SEEDS})")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"JSON output (default {DEFAULT_OUT}, or {DEFAULT_LLC_OUT} with --llc)")
    parser.add_argument("--llc", action="store_true", help="the learning-coefficient validation only")
    args = parser.parse_args()
    seeds = args.seeds or (MASTER_SEEDS[:2] if args.quick else MASTER_SEEDS)
    p = notebook_parameters(args.quick)
    if args.llc:
        main_llc(args, list(seeds), p)
        return
    n0, n1 = p["NS"]
    import pandas as pd

    sizes = {"deformation": p["NS"], "orientation": p["N_ORIENT"]}
    # the largest sample sizes first, so that parallel workers finish together
    tasks = sorted(((s, e, n) for s in seeds for e in sizes for n in sizes[e]), key=lambda t: -t[2])
    t0 = time.perf_counter()
    if args.jobs > 1:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=args.jobs)(delayed(run_one)(s, e, n, p) for s, e, n in tasks)
    else:
        results = [run_one(s, e, n, p) for s, e, n in tasks]
    tables = {(s, e): pd.concat([r for (s2, e2, _), r in zip(tasks, results) if (s2, e2) == (s, e)])
              for s in seeds for e in sizes}
    per_seed = {s: quantities(tables[s, "deformation"], tables[s, "orientation"]) for s in seeds}

    print(f"{len(seeds)} master seeds {list(seeds)}, {'smoke' if args.quick else 'full'} settings of Chapter 5")
    summary, claims = summarise(per_seed, list(seeds), CLAIMS, {"n0": n0, "n1": n1})
    out = args.out or DEFAULT_OUT
    record = {"seeds": list(seeds), "settings": "smoke" if args.quick else "full", "ns": [n0, n1],
              "summary": summary, "claims": claims, "per_seed": {str(s): per_seed[s] for s in seeds},
              "wall_seconds": time.perf_counter() - t0, "jobs": args.jobs, **run_info()}
    write_json(out, record)
    print(f"\nwrote {out} ({record['wall_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
