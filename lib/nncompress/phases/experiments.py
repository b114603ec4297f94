r"""The experiments of Chapter 5 (Carroll 2023, DSLT4, and Carroll's 2021 thesis), as functions the notebook calls.

* :func:`phase_run`: one data set, one SMC population per temperature (:math:`\beta = 1/\log n` and 1), every particle
  labelled by :func:`~nncompress.phases.label_phases`, with the spread across independent runs and diagnostics;
* :func:`deformation_sweep`: the "deforming to degeneracy" transition, the one-node fraction against theta and n;
* :func:`one_node_fits`, :func:`one_node_gap`: the accuracy side of the free energy
  :math:`F_n \approx nK(w^*) + \lambda \log n - (m - 1) \log\log n` (Watanabe 2009, the free energy formula;
  Carroll 2023, DSLT3);
* :func:`orientation_sweep`: annihilating vs non-annihilating configurations of the 3-symmetric and scaled truths;
* :func:`llc_validation`, :func:`phase_llcs`: the learning-coefficient estimators on models with known
  :math:`(\lambda, m)`, then at the phases' parameters.
"""

from __future__ import annotations

import math
import time
import zlib
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from ..relu_symmetry import ReluNetwork
from .inference import run_ess
from .labelling import box_grid, label_phases, nearest_prototype, orientation_phases
from .landscape import best_fit, phase_point, population_loss
from .known_models import llc_validation_table
from .learning_coefficient import local_learning_coefficient, relu_population
from .model import ReluRegression, make_data, wbic_beta
from .samplers import smc
from .truths import deforming_pair, scaled_three_node

__all__ = ["experiment_rng", "phase_run", "deformation_sweep", "deformation_claims", "orientation_claims",
           "one_node_fits", "one_node_gap", "measured_switch", "orientation_sweep", "reversed_network",
           "llc_validation", "phase_llcs", "PHASE_LLC_SETTINGS", "rhat_runs"]


def experiment_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of one experiment of a chapter, derived from the chapter's master ``seed`` and the experiment's
    ``name`` (a :class:`numpy.random.SeedSequence` keyed by both). Each experiment's draws depend only on these two,
    not on which other experiments ran before it, so a claim can be rerun under other master seeds on its own."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(name.encode()),)))


def rhat_runs(values: np.ndarray) -> float:
    """Rank-normalised split R-hat (arviz) of a scalar across independent runs, ``values`` (R, P)."""
    import arviz as az

    return float(az.rhat(np.asarray(values, float)))


def phase_run(truth: ReluNetwork, n: int, width: int, rng: np.random.Generator | int | None = None,
              n_particles: int = 200, n_runs: int = 4, label_kw: dict[str, Any] | None = None,
              smc_kw: dict[str, Any] | None = None, prototypes: dict[str, Any] | None = None,
              data_seed: int | None = None) -> dict[str, Any]:
    r"""Sample the posterior of a width-``width`` model on ``n`` data points from ``truth`` at :math:`\beta = 1/\log n`
    and :math:`\beta = 1` (one SMC sweep records both) and label every particle.

    ``data_seed`` (optional) seeds the data set alone, so that runs for different truths share the same inputs and
    noise (common random numbers); otherwise the data are drawn from ``rng``.

    Returns
    -------
    dict
        ``populations`` {beta: (R, P, D)}, ``labels`` {beta: PhaseLabels of the flattened population},
        ``proto`` {beta: nearest-prototype names} when ``prototypes`` is given, ``stats`` {beta: dict of
        diagnostics: stages, acceptance, divergence rate of the final moves, R-hat and run-ESS of the training
        MSE across runs}, ``seconds`` and ``model`` (the ReluRegression).
    """
    if not isinstance(truth, ReluNetwork):
        raise TypeError(f"truth must be a ReluNetwork, got {type(truth).__name__}")
    rng = as_rng(rng)
    data = make_data(truth, n, rng if data_seed is None else data_seed)
    model = ReluRegression.from_data(data, width)
    betas = (wbic_beta(n), 1.0)
    t0 = time.perf_counter()
    res = smc(model, n_particles, betas=betas, rng=rng, n_runs=n_runs, **(smc_kw or {}))
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"populations": res.particles, "labels": {}, "proto": {}, "stats": {}, "seconds": seconds,
                           "model": model, "truth": truth, "result": res}
    x_grid = box_grid(21)
    for beta in res.betas:
        flat = res.particles[beta].reshape(-1, model.dim)
        out["labels"][beta] = label_phases(flat, width, truth=truth, **(label_kw or {}))
        if prototypes is not None:
            out["proto"][beta] = nearest_prototype(flat, width, prototypes, x_grid)
        ll = res.log_lik[beta]
        mse = -2 * (ll + 0.5 * n * math.log(2 * math.pi)) / n
        out["stats"][beta] = {"stages": int(np.sum(res.schedule <= beta)) - 1,
                              "accept": float(res.accept[-1]),
                              "divergence_rate": float(res.extra["final_divergence_rate"][beta]),
                              "rhat_mse": rhat_runs(mse), "ess_mse": run_ess(mse)}
    return out


def _temperature_name(beta: float) -> str:
    return "posterior (beta = 1)" if beta == 1.0 else "WBIC (beta = 1/log n)"


def deformation_sweep(thetas: Any, ns: Any, rng: np.random.Generator | int | None = None, n_particles: int = 200,
                      n_runs: int = 4, width: int = 2, keep: Any = (), smc_kw: dict[str, Any] | None = None,
                      common_data: bool = True, progress: bool = False
                      ) -> tuple[Any, dict[tuple[float, int], dict[str, Any]]]:
    r"""The "deforming to degeneracy" experiment (Carroll 2023, DSLT4, the first phase transition): for each angle
    theta of :func:`~nncompress.phases.deforming_pair` and each sample size n, the fraction of posterior mass with one
    effective node.

    Parameters
    ----------
    thetas : array_like
        Angles in :math:`[0, \pi/2]`.
    ns : array_like of int
    rng : Generator, int or None
    n_particles, n_runs : int
        SMC population size per run and number of independent runs.
    width : int, default 2
    keep : iterable of (theta, n)
        Runs whose full output is returned (for figures).
    common_data : bool, default True
        Use the same inputs and noise for every theta at a given n (common random numbers), so that differences
        between angles are not differences between data sets.

    Returns
    -------
    (pandas.DataFrame, dict)
        One row per (theta, n, temperature): the one-node fraction (mean, sd, min, max over runs), the two-node
        and other fractions, the share of configurations with a negative outgoing weight, the agreement with the
        nearest-prototype labels, and the diagnostics of :func:`phase_run`; and the kept runs.
    """
    import pandas as pd

    thetas = as_float_array(thetas, "thetas", ndim=1)
    ns = [check_size(int(v), "ns", minimum=2) for v in np.atleast_1d(ns)]
    keep = {(round(float(t), 6), int(k)) for t, k in keep}
    rng = as_rng(rng)
    rows, kept = [], {}
    jobs = [(float(t), n) for n in ns for t in thetas]
    seeds = {n: int(rng.integers(2**31 - 1)) if common_data else None for n in ns}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc="deformation sweep")
    for theta, n in jobs:
        truth = deforming_pair(theta)
        one, _ = best_fit(truth, 1, rng, n_starts=4, affine=True)  # the one-node phase: one kink plus an affine part
        protos = {"1 node": [one, _mirror(one)], "2 nodes": truth}  # the truth is symmetric under x1 -> -x1
        run = phase_run(truth, n, width, rng, n_particles, n_runs, smc_kw=smc_kw, prototypes=protos,
                        data_seed=seeds[n])
        for beta, lab in run["labels"].items():
            k = lab.n_effective.reshape(n_runs, -1)
            f1, f2 = (k == 1).mean(axis=1), (k == 2).mean(axis=1)
            proto_one = run["proto"][beta] == "1 node"
            rows.append({"theta": theta, "n": n, "temperature": _temperature_name(beta), "beta": beta,
                         "one_node": f1.mean(), "one_node_sd": f1.std(ddof=1) if n_runs > 1 else math.nan,
                         "one_node_min": f1.min(), "one_node_max": f1.max(), "two_nodes": f2.mean(),
                         "other": 1 - f1.mean() - f2.mean(), "negative_q": float(np.mean(lab.n_negative_q > 0)),
                         "proto_one_node": float(proto_one.mean()),
                         "proto_agreement": float(np.mean(proto_one == (lab.n_effective == 1))),
                         **run["stats"][beta], "seconds": run["seconds"]})
        if (round(theta, 6), n) in keep:
            kept[(theta, n)] = run
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return pd.DataFrame(rows), kept


def one_node_fits(thetas: Any, rng: np.random.Generator | int | None = None, n_starts: int = 4
                  ) -> tuple[list[ReluNetwork], np.ndarray]:
    r"""The best fits in the one-node phase to the deforming pair and their population losses
    :math:`K_1(\theta) = \min_{w \in W_1} K(w)` (the accuracy a model pays in the one-node phase), for each theta;
    each search also starts from the previous angle's fit and its mirror image (continuation).

    :math:`W_1` is the set that :func:`deformation_sweep` counts as one effective node: one kink crossing the box plus
    an affine part (the second node switched on across the whole box, or off, or degenerate), so the fits are
    :func:`~nncompress.phases.best_fit` with ``affine=True``, width-2 networks whose second node is affine on the box.
    Without the affine part :math:`K_1` would be the loss of a different, smaller set (at theta = 0 about ten times
    larger)."""
    thetas = as_float_array(thetas, "thetas", ndim=1)
    rng = as_rng(rng)
    nets, gaps, prev = [], [], []
    for t in thetas:
        net, k = best_fit(deforming_pair(float(t)), 1, rng, n_starts=n_starts, init=prev, affine=True)
        prev = [net, _mirror(net)]
        nets.append(net)
        gaps.append(k)
    return nets, np.array(gaps)


def one_node_gap(thetas: Any, rng: np.random.Generator | int | None = None, n_starts: int = 4) -> np.ndarray:
    r""":math:`K_1(\theta)` of :func:`one_node_fits`: shape (len(thetas),)."""
    return one_node_fits(thetas, rng, n_starts)[1]


def _mirror(net: ReluNetwork) -> ReluNetwork:
    return ReluNetwork(net.w * [-1.0, 1.0], net.b, net.q, net.c)


def measured_switch(df: Any, n: int, temperature: str = "posterior (beta = 1)", level: float = 0.5) -> float:
    """The first angle at which the one-node fraction of :func:`deformation_sweep` reaches ``level``, by linear
    interpolation between grid angles; NaN if it never does."""
    sub = df[(df["n"] == n) & (df["temperature"] == temperature)].sort_values("theta")
    if len(sub) == 0:
        raise ValueError(f"no rows for n = {n} and temperature {temperature!r}")
    t, f = sub["theta"].to_numpy(), sub["one_node"].to_numpy()
    above = np.flatnonzero(f >= level)
    if len(above) == 0:
        return math.nan
    i = above[0]
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (level - f[i - 1]) * (t[i] - t[i - 1]) / (f[i] - f[i - 1]))


def deformation_claims(df: Any, mid_frac: float = 0.75) -> dict[str, float]:
    r"""The quantities Chapter 5 states about a :func:`deformation_sweep` at :math:`\beta = 1`, for each sample size
    ``n`` in it (keys suffixed ``_<n>``): the one-node fraction at :math:`\theta = 0` (``one_at_0``), at the largest
    angle (``one_at_end``), their difference (``rise``), at :math:`\theta =` ``mid_frac`` :math:`\cdot \pi/2`
    (``mid``), and the measured switch as a fraction of :math:`\pi/2` (``switch_frac``, NaN if the fraction never
    reaches one half); and, for the two smallest sample sizes n0 < n1, ``mid_drop`` = mid(n0) - mid(n1) (positive
    when more data keeps the two-node phase longer)."""
    post = df[df["temperature"] == _temperature_name(1.0)]
    out: dict[str, float] = {}
    ns = sorted(int(v) for v in post["n"].unique())
    for n in ns:
        g = post[post["n"] == n].sort_values("theta")
        f, t = g["one_node"].to_numpy(), g["theta"].to_numpy()
        at_mid = np.isclose(t, math.pi / 2 * mid_frac)
        out[f"one_at_0_{n}"], out[f"one_at_end_{n}"] = float(f[0]), float(f[-1])
        out[f"rise_{n}"] = float(f[-1] - f[0])
        out[f"mid_{n}"] = float(f[at_mid][0]) if at_mid.any() else math.nan
        out[f"switch_frac_{n}"] = measured_switch(df, n) / (math.pi / 2)
    if len(ns) >= 2:
        out["mid_drop"] = out[f"mid_{ns[0]}"] - out[f"mid_{ns[1]}"]
    return out


def reversed_network(truth: ReluNetwork) -> ReluNetwork:
    r"""The truth with every node's orientation reversed, :math:`(w_i, b_i) \to (-w_i, -b_i)`, and
    :math:`c \to c + \sum_i q_i b_i` (Carroll 2023, DSLT3, "Orientation Reversal"). It computes the truth's function
    iff the total gradients annihilate, :math:`\sum_i q_i w_i = 0`; otherwise it differs by the linear function
    :math:`-(\sum_i q_i w_i) \cdot x`."""
    if not isinstance(truth, ReluNetwork):
        raise TypeError(f"truth must be a ReluNetwork, got {type(truth).__name__}")
    return ReluNetwork(-truth.w, -truth.b, truth.q, truth.c + float(truth.q @ truth.b))


def orientation_sweep(q3s: Any, ns: Any, rng: np.random.Generator | int | None = None, n_particles: int = 200,
                      n_runs: int = 4, keep: Any = (), smc_kw: dict[str, Any] | None = None,
                      common_data: bool = True, progress: bool = False
                      ) -> tuple[Any, dict[tuple[float, int], dict[str, Any]]]:
    r"""Orientation reversal (Carroll 2023, DSLT4, the second phase transition): a width-3 model on data from
    :func:`~nncompress.phases.scaled_three_node` (q3 = 1 is the 3-symmetric truth, whose reversal is exact); the
    fractions of posterior mass in the non-annihilating, annihilating, partly reversed and other configurations
    (:func:`~nncompress.phases.orientation_phases`) with their spread over runs; ``common_data`` as in
    :func:`deformation_sweep`."""
    import pandas as pd

    q3s = as_float_array(q3s, "q3s", ndim=1)
    ns = [check_size(int(v), "ns", minimum=2) for v in np.atleast_1d(ns)]
    keep = {(round(float(q), 6), int(k)) for q, k in keep}
    rng = as_rng(rng)
    rows, kept = [], {}
    jobs = [(float(q), n) for n in ns for q in q3s]
    seeds = {n: int(rng.integers(2**31 - 1)) if common_data else None for n in ns}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc="orientation sweep")
    for q3, n in jobs:
        truth = scaled_three_node(q3)
        run = phase_run(truth, n, 3, rng, n_particles, n_runs, smc_kw=smc_kw, data_seed=seeds[n])
        for beta, lab in run["labels"].items():
            names = orientation_phases(lab, 3).reshape(n_runs, -1)
            row = {"q3": q3, "n": n, "temperature": _temperature_name(beta), "beta": beta}
            for phase in ("non-annihilating", "annihilating", "partly reversed", "other"):
                f = (names == phase).mean(axis=1)
                row[phase], row[phase + " sd"] = f.mean(), (f.std(ddof=1) if n_runs > 1 else math.nan)
            rows.append({**row, **run["stats"][beta], "seconds": run["seconds"]})
        if (round(q3, 6), n) in keep:
            kept[(q3, n)] = run
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return pd.DataFrame(rows), kept


def orientation_claims(df: Any) -> dict[str, float]:
    r"""The quantities Chapter 5 states about an :func:`orientation_sweep` at :math:`\beta = 1` and its largest
    sample size: for each q3 (keys suffixed ``_<q3>`` with the dot as an underscore) the non-annihilating and
    annihilating fractions (``non``, ``ann``) and their difference (``non_minus_ann``)."""
    post = df[df["temperature"] == _temperature_name(1.0)]
    big = post[post["n"] == post["n"].max()]
    out: dict[str, float] = {}
    for _, row in big.iterrows():
        key = str(float(row["q3"])).replace(".", "_")
        out[f"non_{key}"], out[f"ann_{key}"] = float(row["non-annihilating"]), float(row["annihilating"])
        out[f"non_minus_ann_{key}"] = out[f"non_{key}"] - out[f"ann_{key}"]
    return out


def llc_validation(rng: np.random.Generator | int | None = None, n: int = 1000, **kwargs: Any) -> Any:
    r"""The validation of the learning-coefficient estimators on models with known :math:`(\lambda, m)`:
    :func:`~nncompress.phases.llc_validation_table` (normal crossings, linear regression, reduced-rank regression;
    the tempered estimator and the single-temperature one side by side) at sample size ``n``, keyword arguments
    passed on, with the known coefficient also under the name ``true``."""
    df = llc_validation_table(rng, n=n, **kwargs)
    df.insert(df.columns.get_loc("true_lambda") + 1, "true", df["true_lambda"])
    return df


#: The ladder settings of :func:`phase_llcs`: enough for lambda (within 0.03 of the known values of the ReLU phases
#: 3.5 and 5.0 in the benchmark), about a tenth of the cost of the estimator's defaults.
PHASE_LLC_SETTINGS: dict[str, Any] = dict(n_chains=8, n_draws=1000, n_tune=500, log_t_step=2.0)


def phase_llcs(points: dict[str, tuple[ReluNetwork, ReluNetwork]], width: int, n: int,
               rng: np.random.Generator | int | None = None, gamma: float = 1.0, method: str = "tempered",
               **estimator_kw: Any) -> Any:
    r"""Local learning coefficients and multiplicities of phase points of a ReLU model, through the population loss
    :math:`nK` (:func:`~nncompress.phases.relu_population`), with the free energy of each phase to the order that
    the estimates support.

    Parameters
    ----------
    points : dict of str to (truth, network)
        For each phase, the truth and a network of at most ``width`` nodes in that phase (padded with degenerate
        nodes by :func:`~nncompress.phases.phase_point`).
    width, n : int
        Width of the model and the sample size of the population loss.
    rng : Generator, int or None
    gamma : float, default 1
        Strength of the localising Gaussian.
    method : {"tempered", "wbic"}, default "tempered"
        The estimator of :func:`~nncompress.phases.local_learning_coefficient`: the temperature ladder (with the
        settings :data:`PHASE_LLC_SETTINGS` unless ``estimator_kw`` overrides them) or the single-temperature one at
        :math:`\beta = 1/\log n` (no multiplicity; the free energy then omits the log log n term).
    **estimator_kw
        Passed to :func:`~nncompress.phases.local_learning_coefficient`.

    Returns
    -------
    pandas.DataFrame
        One row per phase: ``K`` (the population loss at the point), ``llc`` (:math:`\hat\lambda`; NaN when the
        estimate failed the sanity check :math:`0 \le \lambda \le d/2`), ``std_error``, ``multiplicity``
        (:math:`\hat m`), ``multiplicity_weight`` (the criterion weight of :math:`\hat m`),
        ``multiplicity_bootstrap`` (how often the bootstrap over ladders chose it), ``valid``, ``flag`` (why the
        estimate is invalid or uncertain), ``raw_estimate`` (the number before the sanity check), ``free_energy``
        :math:`nK + \hat\lambda \log n - (\hat m - 1) \log\log n` (Watanabe 2009, the free energy formula;
        NaN when the estimate is invalid), ``rhat``, ``accept``, ``divergences``, ``seconds``.
    """
    import pandas as pd

    if method not in ("tempered", "wbic"):
        raise ValueError(f"method must be 'tempered' or 'wbic', got {method!r}")
    n = check_size(n, "n", minimum=3)
    kw = dict(PHASE_LLC_SETTINGS, **estimator_kw) if method == "tempered" else dict(estimator_kw)
    rng = as_rng(rng)
    rows = []
    for name, (truth, net) in points.items():
        w_star = phase_point(net, width)
        target = relu_population(truth, width, n)
        t0 = time.perf_counter()
        r = local_learning_coefficient(target, w_star, rng, gamma=gamma, method=method, **kw)
        seconds = time.perf_counter() - t0
        K = float(population_loss(w_star[None], truth, width)[0])
        m = r.multiplicity
        weight = boot = math.nan
        if m is not None:
            weight = float(r.multiplicity_weights[m - 1])
            if r.multiplicity_bootstrap is not None:
                boot = float(r.multiplicity_bootstrap[m - 1])
        log_log = (m - 1) * math.log(math.log(n)) if m is not None else 0.0
        rows.append({"phase": name, "K": K, "llc": r.estimate, "std_error": r.std_error,
                     "multiplicity": m if m is not None else math.nan, "multiplicity_weight": weight,
                     "multiplicity_bootstrap": boot, "valid": r.valid, "flag": r.flag,
                     "raw_estimate": r.raw_estimate,
                     "free_energy": n * K + r.estimate * math.log(n) - log_log if r.valid else math.nan,
                     "rhat": r.rhat, "accept": r.accept, "divergences": r.divergences, "seconds": seconds})
    return pd.DataFrame(rows)
