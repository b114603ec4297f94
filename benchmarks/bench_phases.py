"""Effective samples per second: our vectorised samplers against pymc's default NUTS on the same posterior.

The model is two-layer ReLU regression (width 2) on n = 1000 points from the deforming pair at theta = 0.6
(Chapter 5), beta = 1. ESS is measured on label-invariant quantities only (sorted effective gradients, the training
MSE, f at five test points), because the raw parameters switch labels:

* pymc NUTS (``pm.sample`` defaults: adapt_diag, target_accept 0.8) and our multi-chain HMC: arviz's bulk ESS over
  chains;
* our SMC: the run-variance ESS of independent populations (``nncompress.phases.run_ess``).

Wall times include tuning (and pymc's compilation, reported separately as the time to the first draw is not
exposed). Run ``python benchmarks/bench_phases.py`` (about 3 minutes) or ``--quick`` (under a minute).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    import arviz as az

    from nncompress.phases import (ReluRegression, deforming_pair, hmc, hmc_to_inference_data, invariant_draws,
                                   make_data, run_ess, sample_nuts, smc)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs (CI)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    q = args.quick
    rng = np.random.default_rng(args.seed)
    data = make_data(deforming_pair(0.6), 300 if q else 1000, rng)
    model = ReluRegression.from_data(data, 2)
    invariants = ("r_sorted", "mse", "f_test")

    def ess_arviz(idata) -> tuple[float, float]:
        e = az.ess(idata, var_names=list(invariants), method="bulk")
        vals = np.concatenate([np.ravel(e[k].values) for k in invariants])
        return float(vals.min()), float(np.median(vals))

    rows = []
    # pymc's default NUTS
    draws, tune, chains = (300, 300, 2) if q else (1000, 1000, 4)
    t0 = time.perf_counter()
    idata = sample_nuts(data, 2, rng, draws=draws, tune=tune, chains=chains, cores=2)
    total = time.perf_counter() - t0
    lo, med = ess_arviz(idata)
    rows.append(("pymc NUTS (default)", f"{chains} chains x {draws} (+{tune} tune)", total, lo, med,
                 idata.posterior.attrs["divergences"] / (chains * draws)))

    # our vectorised HMC, many short chains started from the prior
    C, S, T = (16, 200, 150) if q else (32, 500, 300)
    t0 = time.perf_counter()
    res = hmc(model, model.sample_prior(C, rng), S, rng, n_tune=T)
    total = time.perf_counter() - t0
    lo, med = ess_arviz(hmc_to_inference_data(res, model))
    rows.append(("vectorised HMC (ours)", f"{C} chains x {S} (+{T} tune)", total, lo, med,
                 float(res.divergences.sum()) / (C * S)))

    # our SMC: independent runs
    R, P = (8, 60) if q else (8, 200)
    t0 = time.perf_counter()
    out = smc(model, P, betas=(1.0,), rng=rng, n_runs=R)
    total = time.perf_counter() - t0
    flat = out.particles[1.0].reshape(R * P, -1)
    inv = invariant_draws(flat, model)
    vals = [run_ess(inv["mse"].reshape(R, P))]
    vals += [run_ess(inv["r_sorted"][:, j].reshape(R, P)) for j in range(2)]
    vals += [run_ess(inv["f_test"][:, j].reshape(R, P)) for j in range(inv["f_test"].shape[1])]
    rows.append(("tempered SMC (ours)", f"{R} runs x {P} particles", total, float(np.min(vals)),
                 float(np.median(vals)), out.extra["final_divergence_rate"][1.0]))

    print(f"n = {data.n}, width 2, beta = 1; ESS on label-invariant quantities (min and median over "
          f"{2 + 1 + 5} of them)")
    print(f"{'sampler':24s} {'draws':28s} {'seconds':>8s} {'min ESS':>8s} {'med ESS':>8s} {'min ESS/s':>10s} "
          f"{'div rate':>8s}")
    for name, what, sec, lo, med, div in rows:
        print(f"{name:24s} {what:28s} {sec:8.1f} {lo:8.0f} {med:8.0f} {lo / sec:10.2f} {div:8.3f}")
    base = rows[0][3] / rows[0][2]
    for name, _, sec, lo, *_ in rows[1:]:
        print(f"ratio {name} / pymc NUTS (min ESS per second): {lo / sec / base:.1f}x")


if __name__ == "__main__":
    main()
