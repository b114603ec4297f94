"""Tests of nncompress.phases: the model's densities, truths, phase labels, samplers and the learning coefficient."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.phases import (LinearRegression, ReluRegression, best_fit, deforming_pair, degenerate_pair,
                               effective_gradients, hmc, k_slice, label_phases, linear_data,
                               local_learning_coefficient, m_symmetric, make_data, nearest_prototype,
                               orientation_phases, phase_point, population_loss, predict, regular_llc_exact,
                               reversed_network, rrr_learning_coefficient, rrr_population, run_ess,
                               scaled_three_node, smc, to_inference_data, wbic_beta)
from nncompress.phases.model import build_pymc_model, from_network, pack, unpack
from nncompress.relu_symmetry import ReluNetwork, equivalent
from strategies import seeds

# -- the model ---------------------------------------------------------------------------------------------------


def _hand_loglik(net: ReluNetwork, x: np.ndarray, y: np.ndarray, sd: float) -> float:
    total = 0.0
    for xk, yk in zip(x, y):
        f = net.c + sum(q * max(w @ xk + b, 0.0) for w, b, q in zip(net.w, net.b, net.q))
        total += -0.5 * math.log(2 * math.pi * sd**2) - 0.5 * (yk - f) ** 2 / sd**2
    return total


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_log_lik_matches_hand_computation(backend: str) -> None:
    net = ReluNetwork([[1.0, -2.0], [0.5, 0.25]], [0.1, -0.3], [2.0, -1.5], 0.7)
    x = np.array([[0.2, -0.4], [-1.0, 0.5], [0.9, 0.9]])
    y = np.array([1.0, -0.5, 0.3])
    # by hand: z_1 = (1.1, -1.9, -0.8) -> relu (1.1, 0, 0); z_2 = (-0.3, -0.675, 0.375) -> relu (0, 0, 0.375)
    f = 0.7 + 2.0 * np.array([1.1, 0.0, 0.0]) - 1.5 * np.array([0.0, 0.0, 0.375])
    expected = float(np.sum(-0.5 * math.log(2 * math.pi * 0.25) - 0.5 * (y - f) ** 2 / 0.25))
    model = ReluRegression(x, y, 2, noise_sd=0.5, backend=backend)
    ll, _ = model.log_lik(from_network(net))
    assert ll[0] == pytest.approx(expected, rel=1e-12)
    assert ll[0] == pytest.approx(_hand_loglik(net, x, y, 0.5), rel=1e-12)
    assert np.allclose(predict(from_network(net), x, 2)[0], f)


def test_gradients_match_finite_differences_and_backends_agree() -> None:
    rng = np.random.default_rng(0)
    data = make_data(m_symmetric(3), 200, rng)
    fast, slow = ReluRegression.from_data(data, 3), ReluRegression(data.x, data.y, 3, backend="numpy")
    theta = rng.normal(size=(4, fast.dim))
    (l1, g1), (l2, g2) = fast.log_lik(theta), slow.log_lik(theta)
    assert np.allclose(l1, l2, rtol=1e-12) and np.allclose(g1, g2, rtol=1e-9, atol=1e-9)
    h = 1e-6
    for j in range(fast.dim):
        e = np.zeros(fast.dim)
        e[j] = h
        fd = (slow.log_lik(theta[:1] + e)[0] - slow.log_lik(theta[:1] - e)[0]) / (2 * h)
        assert fd[0] == pytest.approx(g2[0, j], rel=1e-4, abs=1e-4)
    lp, glp = slow.log_prior(theta)
    assert np.allclose(glp, -theta)
    assert lp[0] == pytest.approx(float(np.sum(-0.5 * theta[0] ** 2 - 0.5 * math.log(2 * math.pi))))


@pytest.mark.parametrize("beta", [1.0, 0.25])
def test_pymc_model_density_equals_prior_plus_tempered_likelihood(beta: float) -> None:
    rng = np.random.default_rng(1)
    data = make_data(deforming_pair(0.7), 50, rng)
    model = build_pymc_model(data, 2, beta=beta)
    reg = ReluRegression.from_data(data, 2)
    theta = rng.normal(size=reg.dim)
    w, b, q, c = unpack(theta, 2)
    logp = model.compile_logp()({"w": w[0], "b": b[0], "q": q[0], "c": c[0]})
    expected = reg.log_prior(theta)[0][0] + beta * reg.log_lik(theta)[0][0]
    assert float(logp) == pytest.approx(float(expected), rel=1e-9)


def test_make_data_is_seeded_and_follows_the_truth() -> None:
    a, b = make_data(deforming_pair(1.0), 400, 3), make_data(deforming_pair(1.0), 400, 3)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert a.x.min() >= -1 and a.x.max() <= 1
    resid = a.y - a.truth(a.x)
    assert abs(resid.mean()) < 0.2 and 0.85 < resid.std() < 1.15
    assert wbic_beta(1000) == pytest.approx(1 / math.log(1000))


# -- truths ------------------------------------------------------------------------------------------------------


def test_truth_builders() -> None:
    m3 = m_symmetric(3)
    assert np.allclose((m3.q[:, None] * m3.w).sum(axis=0), 0)  # weight annihilation
    assert np.allclose(np.linalg.norm(m3.w, axis=1), 1) and np.allclose(m3.b, -0.3)
    t0 = deforming_pair(0.0)
    assert np.allclose(t0.w, [[1, 0], [-1, 0]])
    # at theta = pi/2 both nodes sit on one boundary: the truth is the one-node network 2 ReLU(x2 - 0.3)
    assert equivalent(deforming_pair(math.pi / 2), degenerate_pair(), atol=1e-9)
    assert not equivalent(deforming_pair(1.5), degenerate_pair(), atol=1e-9)
    s = scaled_three_node(1.0)
    assert equivalent(s, m3)
    assert np.allclose(scaled_three_node(2.5).q, [1, 1, 2.5])
    # orientation reversal keeps the function exactly when the total gradients annihilate
    assert equivalent(reversed_network(m3), m3)
    assert not equivalent(reversed_network(scaled_three_node(3.0)), scaled_three_node(3.0))


@pytest.mark.parametrize("call, exc, name", [
    (lambda: deforming_pair(2.0), ValueError, "theta"),
    (lambda: deforming_pair("1"), TypeError, "theta"),
    (lambda: scaled_three_node(-1.0), ValueError, "q3"),
    (lambda: m_symmetric(0), ValueError, "m"),
    (lambda: make_data("net", 10), TypeError, "truth"),
    (lambda: make_data(m_symmetric(3), 0), ValueError, "n"),
    (lambda: make_data(m_symmetric(3), 10, noise_sd=0.0), ValueError, "noise_sd"),
    (lambda: make_data(m_symmetric(3), 10, low=1.0, high=-1.0), ValueError, "low"),
    (lambda: ReluRegression(np.zeros((3, 2)), np.zeros(3), 0), ValueError, "width"),
    (lambda: ReluRegression(np.zeros((3, 2)), np.zeros(4), 2), ValueError, "y"),
    (lambda: ReluRegression(np.zeros((3, 2)), np.zeros(3), 2, prior_sd=-1), ValueError, "prior_sd"),
    (lambda: predict(np.zeros(8), np.zeros((3, 2)), 2), ValueError, "theta"),
    (lambda: label_phases(np.zeros(9), 2, kink_tol=-1.0), ValueError, "kink_tol"),
    (lambda: label_phases(np.zeros(9), 2, truth="t"), TypeError, "truth"),
    (lambda: wbic_beta(1), ValueError, "n"),
    (lambda: build_pymc_model("data", 2), TypeError, "data"),
    (lambda: local_learning_coefficient(linear_data(2, 20, 0), np.zeros(3)), ValueError, "w_star"),
    (lambda: rrr_learning_coefficient(2, 2, 2, 3), ValueError, "r"),
    (lambda: population_loss(np.zeros(9), "truth", 2), TypeError, "truth"),
    (lambda: hmc(linear_data(2, 20, 0), np.zeros((4, 3)), 10), ValueError, "init"),
    (lambda: hmc(linear_data(2, 20, 0), np.zeros((4, 2)), 10, lam=0.0), ValueError, "lam"),
    (lambda: smc(linear_data(2, 20, 0), 10, betas=(-1.0,)), ValueError, "betas"),
    (lambda: smc(linear_data(2, 20, 0), 1), ValueError, "n_particles"),
    (lambda: smc("target", 10), TypeError, "target"),
])
def test_bad_input_names_the_argument(call, exc, name) -> None:
    with pytest.raises(exc, match=name):
        call()


# -- phase labels ---------------------------------------------------------------------------------------------------


def _theta(*nets: ReluNetwork) -> np.ndarray:
    return np.stack([from_network(n) for n in nets])


def test_labels_on_constructed_parameters() -> None:
    truth = deforming_pair(1.0)
    w, b, q = truth.w, truth.b, truth.q
    cases = {
        "truth": (truth, 2, 0),
        "permuted": (ReluNetwork(w[::-1], b[::-1], q[::-1], 0.0), 2, 0),
        "rescaled": (ReluNetwork(w * [[3.0], [0.2]], b * [3.0, 0.2], q / [3.0, 0.2], 0.0), 2, 0),
        "q = 0 node": (ReluNetwork(w, b, [1.0, 0.0], 0.0), 1, 0),
        "w = 0 node": (ReluNetwork([w[0], [0.0, 0.0]], b, q, 0.0), 1, 0),
        "node off the box": (ReluNetwork(w, [b[0], -5.0], q, 0.0), 1, 0),
        "small kink": (ReluNetwork(w, b, [1.0, 0.2], 0.0), 1, 0),
        # a node active on the whole box is affine there: with a negative outgoing weight it is no phase of its own
        "negative affine node": (ReluNetwork([w[0], [0.1, 0.0]], [b[0], 3.0], [1.0, -2.0], 0.0), 1, 0),
        # two nodes on one boundary (shared boundary) count once, with their kinks added
        "shared boundary": (ReluNetwork([[0.0, 1.0], [0.0, 2.0]], [-0.3, -0.6], [1.0, 0.5], 0.0), 1, 0),
        # a negative kink crossing the box is a phase of its own ("2 nodes (1 negative)")
        "negative kink": (ReluNetwork(w, b, [1.0, -1.0], 0.0), 2, 1),
    }
    labels = label_phases(_theta(*(c[0] for c in cases.values())), 2)
    for i, (name, (_, k, neg)) in enumerate(cases.items()):
        assert labels.n_effective[i] == k, name
        assert labels.n_negative[i] == neg, name
    assert labels.n_negative_q.tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0, 1]
    assert labels.names()[-1] == "2 nodes (1 negative)" and labels.fraction(1) == pytest.approx(0.6)


def test_kink_tolerance_near_ties_on_both_sides() -> None:
    truth = deforming_pair(0.5)
    w, b = truth.w, truth.b
    below = ReluNetwork(w, b, [1.0, 0.25 - 1e-9], 0.0)  # |kink| = 0.25 - 1e-9 (|w_i| = 1)
    above = ReluNetwork(w, b, [1.0, 0.25 + 1e-9], 0.0)
    lab = label_phases(_theta(below, above), 2, kink_tol=0.25)
    assert lab.n_effective.tolist() == [1, 2]


def test_orientation_labels_of_the_3_symmetric_truth() -> None:
    m3 = m_symmetric(3)
    rev = reversed_network(m3)
    perm = ReluNetwork(rev.w[[2, 0, 1]], rev.b[[2, 0, 1]], rev.q[[2, 0, 1]], rev.c)
    partly = ReluNetwork(np.vstack([-m3.w[:1], m3.w[1:]]), np.concatenate([-m3.b[:1], m3.b[1:]]), m3.q, 0.0)
    lab = label_phases(_theta(m3, rev, perm, partly), 3, truth=m3)
    assert lab.n_reversed.tolist() == [0, 3, 3, 1]
    assert orientation_phases(lab, 3).tolist() == ["non-annihilating", "annihilating", "annihilating",
                                                   "partly reversed"]
    with pytest.raises(ValueError, match="truth"):
        orientation_phases(label_phases(_theta(m3), 3), 3)


@settings(max_examples=40)
@given(seed=seeds, alphas=st.lists(st.floats(0.05, 20.0), min_size=3, max_size=3),
       perm=st.permutations([0, 1, 2]))
def test_labels_invariant_under_permutation_and_rescaling(seed, alphas, perm) -> None:
    rng = np.random.default_rng(seed)
    w, b, q = rng.normal(size=(3, 2)), rng.uniform(-0.8, 0.8, size=3), rng.normal(size=3)
    net = ReluNetwork(w, b, q, float(rng.normal()))
    a = np.asarray(alphas)
    moved = ReluNetwork((w * a[:, None])[perm], (b * a)[perm], (q / a)[perm], net.c)
    assert equivalent(net, moved, atol=1e-9)
    l1, l2 = label_phases(_theta(net), 3, truth=m_symmetric(3)), label_phases(_theta(moved), 3, truth=m_symmetric(3))
    for field in ("n_effective", "n_negative", "n_reversed", "n_matched"):
        assert getattr(l1, field).tolist() == getattr(l2, field).tolist()
    r1, r2 = effective_gradients(from_network(net), 3), effective_gradients(from_network(moved), 3)
    assert np.allclose(r1, r2)


def test_nearest_prototype_is_a_function_space_label() -> None:
    truth = deforming_pair(1.2)
    one = degenerate_pair()
    x = np.random.default_rng(0).uniform(-1, 1, size=(200, 2))
    rev = reversed_network(deforming_pair(0.0))  # a reversed parametrisation of deforming_pair(0)
    theta = np.stack([from_network(truth), phase_point(one, 2), phase_point(rev, 2)])
    names = nearest_prototype(theta, 2,
                              {"two": [truth, deforming_pair(0.0)], "one": one}, x)
    assert names.tolist() == ["two", "one", "two"]


# -- K(w) --------------------------------------------------------------------------------------------------------


def test_population_loss_and_slices() -> None:
    truth = deforming_pair(1.0)
    t = from_network(truth)
    assert population_loss(t, truth, 2)[0] == pytest.approx(0.0, abs=1e-15)
    # a constant shift c -> c + 0.3 costs exactly 0.3^2 / 2
    assert population_loss(t + np.eye(len(t))[-1] * 0.3, truth, 2)[0] == pytest.approx(0.045, rel=1e-12)
    qs = np.linspace(0, 2, 5)
    K = k_slice(t, 3, 7, qs, qs, truth, 2)
    assert K.shape == (5, 5) and K[2, 2] == pytest.approx(0.0, abs=1e-15) and K.min() >= 0
    pad = phase_point(degenerate_pair(), 3)
    assert equivalent(ReluNetwork(*[a[0] for a in unpack(pad, 3)]), degenerate_pair())
    net, k = best_fit(degenerate_pair(), 1, rng=0, n_starts=3)
    assert k < 1e-8 and equivalent(net, degenerate_pair(), atol=1e-3)


# -- samplers ----------------------------------------------------------------------------------------------------


class _Bimodal:
    """A 1-D target: prior N(0, 3^2), 'likelihood' 0.3 N(-2, 0.2^2) + 0.7 N(2, 0.2^2)."""

    dim = 1

    def log_prior(self, theta, check=True):
        return -0.5 * theta[:, 0] ** 2 / 9, -theta / 9

    def log_lik(self, theta, check=True):
        t = theta[:, 0]
        a, b = np.log(0.3) - 0.5 * ((t + 2) / 0.2) ** 2, np.log(0.7) - 0.5 * ((t - 2) / 0.2) ** 2
        m = np.maximum(a, b)
        ll = m + np.log(np.exp(a - m) + np.exp(b - m))
        ga, gb = -(t + 2) / 0.04, -(t - 2) / 0.04
        g = (np.exp(a - ll) * ga + np.exp(b - ll) * gb)[:, None]
        return ll, g

    def sample_prior(self, size, rng):
        return 3 * np.random.default_rng(rng).normal(size=(size, 1))


def test_smc_weighs_modes_that_chains_cannot_cross() -> None:
    target = _Bimodal()
    res = smc(target, 400, betas=(1.0,), rng=0, n_runs=4)
    right = (res.particles[1.0][..., 0] > 0).mean(axis=1)  # per run
    # the posterior mass of the right mode: 0.7 N(2) vs 0.3 N(-2) times the prior ratio (equal by symmetry)
    assert np.all(np.abs(right - 0.7) < 0.1)
    chains = hmc(target, np.full((8, 1), -2.0), 300, rng=0, n_tune=100)
    assert np.all(chains.draws < 0)  # HMC started in the left mode never leaves it: fractions from chains mislead


def test_smc_log_evidence_of_linear_regression() -> None:
    lin = linear_data(3, 100, rng=2)
    lin.prior_sd = 1.0
    res = smc(lin, 300, betas=(1.0,), rng=1, n_runs=2)
    X, y = lin.x, lin.y
    cov = np.eye(100) + X @ X.T  # y ~ N(0, I + X X^T) with a N(0, I) prior
    sign, logdet = np.linalg.slogdet(cov)
    exact = -0.5 * (y @ np.linalg.solve(cov, y) + logdet + 100 * math.log(2 * math.pi))
    assert np.all(np.abs(res.log_evidence[1.0] - exact) < 0.5)


def test_inference_data_holds_invariants() -> None:
    data = make_data(deforming_pair(1.0), 100, 0)
    model = ReluRegression.from_data(data, 2)
    draws = np.random.default_rng(0).normal(size=(2, 5, model.dim))
    w, b, q, c = unpack(draws.reshape(10, -1), 2)
    swapped = pack(w[:, ::-1], b[:, ::-1], q[:, ::-1], c).reshape(2, 5, -1)  # label switching
    i1, i2 = to_inference_data(draws, model), to_inference_data(swapped, model)
    for k in ("r_sorted", "f_test", "mse"):
        assert np.allclose(i1.posterior[k].values, i2.posterior[k].values)
    assert not np.allclose(i1.posterior["q"].values, i2.posterior["q"].values)
    assert i1.posterior["f_test"].shape == (2, 5, 5)
    iid = np.random.default_rng(1).normal(size=(20, 50))
    assert 300 < run_ess(iid) <= 1000


# -- learning coefficient ----------------------------------------------------------------------------------------


def test_llc_of_a_regular_model_is_half_its_dimension() -> None:
    lin = linear_data(4, 2000, rng=3)
    res = local_learning_coefficient(lin, lin.mle(), rng=4, gamma=1.0, n_chains=8, n_draws=300, n_tune=200,
                                     method="wbic")  # the single-temperature estimator and its exact target
    exact = regular_llc_exact(lin, res.beta, 1.0)
    assert abs(exact - 2.0) < 0.02  # the localisation barely matters at this n
    assert abs(res.estimate - 2.0) / 2.0 < 0.15  # stated tolerance: 15 %
    assert abs(res.estimate - exact) < 5 * res.std_error + 0.05
    assert res.divergences == 0


def test_rrr_learning_coefficient_formula_and_estimate() -> None:
    assert rrr_learning_coefficient(2, 2, 2, 2) == 2.0  # full rank: regular, (M N) / 2 identifiable directions
    assert rrr_learning_coefficient(3, 3, 3, 1) == 4.0
    assert rrr_learning_coefficient(2, 2, 2, 0) == 1.5
    assert rrr_learning_coefficient(1, 5, 1, 0) == 0.5  # M + H < N + r: (H M - H r + N r) / 2
    model, w0 = rrr_population(3, 3, 3, 1, 10_000, rng=0)
    res = local_learning_coefficient(model, w0, rng=1, gamma=1.0, n_chains=6, n_draws=300, n_tune=200,
                                     method="wbic")
    assert abs(res.estimate - 4.0) / 4.0 < 0.15
    assert res.estimate < model.dim / 2 - 2  # far below the regular value 9: the model is singular


def test_linear_regression_target_protocol() -> None:
    lin = LinearRegression(np.eye(3), np.array([1.0, 2.0, 3.0]))
    ll, g = lin.log_lik(np.array([[1.0, 2.0, 3.0]]))
    assert ll[0] == pytest.approx(-1.5 * math.log(2 * math.pi)) and np.allclose(g, 0)


def test_experiment_rng_depends_only_on_seed_and_name():
    from nncompress.phases import experiment_rng

    a = experiment_rng(7, "deformation-1000").integers(2**31, size=5)
    assert np.array_equal(a, experiment_rng(7, "deformation-1000").integers(2**31, size=5))
    assert not np.array_equal(a, experiment_rng(7, "orientation-1000").integers(2**31, size=5))
    assert not np.array_equal(a, experiment_rng(8, "deformation-1000").integers(2**31, size=5))
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            experiment_rng(bad, "x")
    with pytest.raises(TypeError, match="name"):
        experiment_rng(1, "")


@pytest.mark.parametrize("frac", [0.0, 0.5, 0.88])
def test_best_affine_fit_is_the_counted_one_node_phase(frac):
    """The fit with an affine part is a width-2 network with one effective node on the box, its K is the reported
    one, and it fits at least as well as a single node without the affine part."""
    truth = deforming_pair(np.pi / 2 * frac)
    plain, k_plain = best_fit(truth, 1, rng=0, n_starts=3)
    net, k = best_fit(truth, 1, rng=0, n_starts=3, affine=True)
    theta = from_network(net)
    assert net.width == 2
    assert population_loss(theta[None], truth, 2, n_grid=81)[0] == pytest.approx(k, rel=1e-9, abs=1e-12)
    assert label_phases(theta[None], 2).n_effective.tolist() == [1]
    assert k <= k_plain + 1e-9
    if frac == 0.0:  # the affine part absorbs most of the second kink's linear trend
        assert k < 0.2 * k_plain


def test_deformation_claims_read_the_posterior_rows():
    import pandas as pd

    from nncompress.phases import deformation_claims

    thetas = np.pi / 2 * np.array([0.0, 0.5, 0.75, 1.0])
    rows = []
    for n, frac in ((100, [0.1, 0.4, 0.6, 0.9]), (1000, [0.0, 0.1, 0.2, 0.8])):
        for t, f in zip(thetas, frac):
            rows.append({"theta": t, "n": n, "temperature": "posterior (beta = 1)", "one_node": f})
            rows.append({"theta": t, "n": n, "temperature": "WBIC (beta = 1/log n)", "one_node": 1.0})
    c = deformation_claims(pd.DataFrame(rows))
    assert c["rise_100"] == pytest.approx(0.8) and c["rise_1000"] == pytest.approx(0.8)
    assert c["mid_100"] == pytest.approx(0.6) and c["mid_drop"] == pytest.approx(0.4)
    assert c["switch_frac_100"] == pytest.approx((0.5 + 0.25 * (0.1 / 0.2)))  # between 0.5 and 0.75 pi/2
    assert 0.75 < c["switch_frac_1000"] < 1.0
