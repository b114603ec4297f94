"""Effective samples per second: our vectorised samplers against pymc's NUTS samplers on the same posterior.

The model is two-layer ReLU regression (width 2) on n = 1000 points from the deforming pair at theta = 0.6
(Chapter 5), beta = 1 (``--quick``: n = 300). ESS is measured on label-invariant quantities only (sorted effective
gradients, the training MSE, f at five test points), because the raw parameters switch labels:

* pymc NUTS (``pm.sample`` defaults: adapt_diag, target_accept 0.8), nutpie and numpyro (through pymc), and our
  multi-chain HMC: arviz's bulk ESS over chains;
* our SMC: the run-variance ESS of independent populations (``nncompress.phases.run_ess``).

The three pymc-family samplers run on the same ``pymc.Model`` (``nncompress.phases.build_pymc_model``) with the same
draws, tuning steps and chains; their raw draws ``w, b, q, c`` are turned into the invariants by the library's own
``pymc_to_theta`` / ``to_inference_data`` (the conversion ``sample_nuts`` does). What a pymc user picks for speed:

* nutpie (in the ``dev`` extra, so ``make setup`` installs it; skipped if absent):
  ``nutpie.compile_pymc_model(model, backend="numba")`` then
  ``nutpie.sample``, 2 cores like pymc. "compile" is ``compile_pymc_model``; pytensor caches numba code on disk, so
  the first run on a machine compiles for tens of seconds (41 s measured) and later runs for 6-14 s here.
* numpyro (optional, not installed by ``make setup``: ``pip install -e '.[bench-jax]'``, i.e. jax, jaxlib and
  numpyro, CPU wheels, about 400 MB; blackjax, pymc's other JAX sampler, is not run):
  ``pm.sample(nuts_sampler="numpyro", nuts_sampler_kwargs={"chain_method": "parallel"})``. pymc exposes no compile
  time here: XLA compiles inside the timed sampling call, so "compile" is the time outside that call (turning the
  model into JAX, initial points, transforming the draws back).
* pymc NUTS: "compile" is the time outside the sampling loop (compiling the model to C, cached on disk by pytensor;
  initialisation; building the InferenceData).

The min ESS is over 8 quantities and between chains: a chain that stays in another mode of this multimodal
posterior pulls it down (the max R-hat column shows when), so one seed's row can move by a large factor from run
to run (``--seed``); compare orders of magnitude.

A sampler whose package is not importable is skipped (the line says so), so ``make bench`` runs without the
optional packages. Wall times ("seconds") include compilation, tuning and computing the invariants. The table and the
ratios (min ESS per second over pymc NUTS's) are printed and written to ``benchmarks/results/bench_phases.json``
(``--out`` to change). Run ``python benchmarks/bench_phases.py`` (a few minutes) or ``--quick`` (under a minute once
nutpie's numba cache is warm).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _timing import run_info, write_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "bench_phases.json"
INVARIANTS = ("r_sorted", "mse", "f_test")


def ess_arviz(idata) -> tuple[float, float, float]:
    """Min and median bulk ESS (over chains) and max rank-normalised R-hat of the label-invariant variables."""
    import arviz as az

    e = az.ess(idata, var_names=list(INVARIANTS), method="bulk")
    vals = np.concatenate([np.ravel(e[k].values) for k in INVARIANTS])
    r = az.rhat(idata, var_names=list(INVARIANTS))
    rhat = np.concatenate([np.ravel(r[k].values) for k in INVARIANTS])
    return float(vals.min()), float(np.median(vals)), float(rhat.max())


def pymc_invariants(idata, reg):
    """The InferenceData of ``to_inference_data`` (raw w, b, q, c plus the invariants) for pymc-style posterior draws
    of ``build_pymc_model``'s variables, as ``sample_nuts`` computes them."""
    from nncompress.phases import pymc_to_theta, to_inference_data

    post = idata.posterior
    C, S = post.sizes["chain"], post.sizes["draw"]
    theta = pymc_to_theta(post["w"].values, post["b"].values, post["q"].values, post["c"].values)
    return to_inference_data(theta.reshape(C, S, -1), reg)


def divergence_rate(idata) -> float:
    div = idata.sample_stats["diverging"]
    return float(div.values.sum()) / (div.sizes["chain"] * div.sizes["draw"])


def row(name: str, what: str, seconds: float, compile_seconds: float | None, ess: tuple[float, ...],
        div: float, **extra) -> dict:
    lo, med, rhat = (*ess, None)[:3]
    return {"sampler": name, "draws": what, "seconds": seconds, "compile_seconds": compile_seconds, "min_ess": lo,
            "median_ess": med, "min_ess_per_s": lo / seconds, "divergence_rate": div, "max_rhat": rhat, **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs (CI)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON file (default {DEFAULT_OUT})")
    args = parser.parse_args()
    t_start = time.perf_counter()

    from nncompress.phases import (ReluRegression, build_pymc_model, deforming_pair, hmc, hmc_to_inference_data,
                                   invariant_draws, make_data, run_ess, sample_nuts, smc)

    q = args.quick
    rng = np.random.default_rng(args.seed)
    data = make_data(deforming_pair(0.6), 300 if q else 1000, rng)
    model = ReluRegression.from_data(data, 2)
    rows: list[dict] = []
    skipped: list[dict] = []
    # seeds of the optional samplers come from their own stream, so that the other rows do not depend on which
    # optional packages are installed
    opt_seeds = np.random.default_rng([args.seed, 1]).integers(2**31 - 1, size=2)

    # pymc's default NUTS
    draws, tune, chains = (300, 300, 2) if q else (1000, 1000, 4)
    what = f"{chains} chains x {draws} (+{tune} tune)"
    t0 = time.perf_counter()
    idata = sample_nuts(data, 2, rng, draws=draws, tune=tune, chains=chains, cores=2)
    total = time.perf_counter() - t0
    sampling = idata.sample_stats.attrs.get("sampling_time")
    rows.append(row("pymc NUTS (default)", what, total,
                    None if sampling is None else idata.posterior.attrs["seconds"] - float(sampling),
                    ess_arviz(idata), divergence_rate(idata)))

    # nutpie (numba backend) on the same pymc model
    try:
        import nutpie
    except ImportError as exc:
        print(f"nutpie: skipped: {exc} (pip install nutpie)")
        skipped.append({"sampler": "nutpie", "reason": str(exc)})
    else:
        seed = int(opt_seeds[0])
        t0 = time.perf_counter()
        compiled = nutpie.compile_pymc_model(build_pymc_model(data, 2), backend="numba")
        t_compile = time.perf_counter() - t0
        idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=2, seed=seed,
                              progress_bar=False, save_warmup=False)
        inv = pymc_invariants(idata, model)
        total = time.perf_counter() - t0
        rows.append(row("nutpie (numba)", what, total, t_compile, ess_arviz(inv), divergence_rate(idata),
                        version=nutpie.__version__))

    # numpyro's NUTS through pymc (JAX on CPU)
    try:
        import jax
        import numpyro
    except ImportError as exc:
        print(f"numpyro: skipped: {exc} (pip install '.[bench-jax]')")
        skipped.append({"sampler": "numpyro", "reason": str(exc)})
    else:
        import pymc as pm

        seed = int(opt_seeds[1])
        t0 = time.perf_counter()
        with build_pymc_model(data, 2):
            idata = pm.sample(draws=draws, tune=tune, chains=chains, random_seed=seed, nuts_sampler="numpyro",
                              nuts_sampler_kwargs={"chain_method": "parallel"}, progressbar=False,
                              compute_convergence_checks=False)
        sampling = float(idata.posterior.attrs["sampling_time"])
        outside = time.perf_counter() - t0 - sampling
        inv = pymc_invariants(idata, model)
        total = time.perf_counter() - t0
        rows.append(row("numpyro (pymc, JAX)", what, total, outside, ess_arviz(inv), divergence_rate(idata),
                        version=numpyro.__version__, jax_version=jax.__version__,
                        jax_devices=len(jax.devices("cpu"))))

    # our vectorised HMC, many short chains started from the prior
    C, S, T = (16, 200, 150) if q else (32, 500, 300)
    t0 = time.perf_counter()
    res = hmc(model, model.sample_prior(C, rng), S, rng, n_tune=T)
    total = time.perf_counter() - t0
    rows.append(row("vectorised HMC (ours)", f"{C} chains x {S} (+{T} tune)", total, None,
                    ess_arviz(hmc_to_inference_data(res, model)), float(res.divergences.sum()) / (C * S)))

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
    rows.append(row("tempered SMC (ours)", f"{R} runs x {P} particles", total, None,
                    (float(np.min(vals)), float(np.median(vals))), out.extra["final_divergence_rate"][1.0]))

    base = rows[0]["min_ess_per_s"]
    for r in rows:
        r["ratio_vs_pymc_nuts"] = r["min_ess_per_s"] / base

    print(f"\nn = {data.n}, width 2, beta = 1; ESS on label-invariant quantities (min and median over "
          f"{2 + 1 + 5} of them)")
    print(f"{'sampler':22s} {'draws':28s} {'seconds':>8s} {'compile':>8s} {'min ESS':>8s} {'med ESS':>8s} "
          f"{'min ESS/s':>10s} {'div rate':>8s} {'max R-hat':>9s}")
    for r in rows:
        comp = "-" if r["compile_seconds"] is None else f"{r['compile_seconds']:.1f}"
        rhat = "-" if r["max_rhat"] is None else f"{r['max_rhat']:.3f}"
        print(f"{r['sampler']:22s} {r['draws']:28s} {r['seconds']:8.1f} {comp:>8s} {r['min_ess']:8.0f} "
              f"{r['median_ess']:8.0f} {r['min_ess_per_s']:10.2f} {r['divergence_rate']:8.3f} {rhat:>9s}")
    for s in skipped:
        print(f"{s['sampler']:22s} skipped: {s['reason']}")
    for r in rows[1:]:
        print(f"ratio {r['sampler']} / pymc NUTS (min ESS per second): {r['ratio_vs_pymc_nuts']:.1f}x")

    record = {"settings": "quick" if q else "full", "n": data.n, "width": 2, "beta": 1.0, "theta": 0.6,
              "seed": args.seed, "invariants": list(INVARIANTS), "rows": rows, "skipped": skipped,
              "ratios_vs_pymc_nuts": {r["sampler"]: r["ratio_vs_pymc_nuts"] for r in rows[1:]},
              "wall_seconds": time.perf_counter() - t_start, **run_info()}
    write_json(args.out, record)
    print(f"\nwrote {args.out} ({record['wall_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
