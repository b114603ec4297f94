"""Definition 2 with its norm bound (the sawtooth gadget's depth-2 norms), the growth-model comparison, trained local
students, and norm-bounded distillation with sampled evaluation. Cross-checks: closed forms against norms computed
from the networks, rescaled networks against the originals, proven lower bounds against random and fitted networks,
model comparison against synthetic data of known shape."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.depth import (
    VARIANCE,
    LayeredNetwork,
    ParityPerturbation,
    balance_layers,
    balance_units,
    compare_growth,
    damped_sawtooth,
    depth2_sawtooth,
    distill_parity,
    evaluate_student,
    exact_compression,
    fit_gadget_student,
    fit_model,
    gadget_network,
    gadget_norm_table,
    interpolant_network,
    knot_fit,
    min_norm_depth2,
    random_network,
    sawtooth,
    sawtooth_norm_bounds,
    tent_wave,
    theorem1_network,
    train_gadget_students,
)
from strategies import seeds

GRID = np.linspace(0.0, 1.0, 2**14 + 1)


def _mse(net: LayeredNetwork, teeth: int) -> float:
    return float(np.mean((net(GRID[:, None]) - sawtooth(GRID, teeth)) ** 2))


def _slope_variation(net: LayeredNetwork) -> float:
    """V = sum_t |c_t w_t| of a depth-2 network with scalar input and output."""
    return float(np.sum(np.abs(net.weights[0][:, 0] * net.weights[1][0])))


# -- rescaling --------------------------------------------------------------------------------------------------------
@settings(max_examples=20)
@given(seed=seeds, depth=st.integers(2, 4))
def test_balance_layers_keeps_the_function_and_equalises_norms(seed, depth):
    rng = np.random.default_rng(seed)
    net = random_network([3] + [int(w) for w in rng.integers(2, 9, size=depth - 1)] + [2], rng, scale=3.0)
    bal = balance_layers(net)
    x = rng.normal(size=(200, 3))
    assert np.allclose(bal(x), net(x), atol=1e-9)
    norms = bal.frobenius_norms()
    assert np.allclose(norms, norms[0]) and np.isclose(np.prod(norms), np.prod(net.frobenius_norms()))
    assert bal.lam <= net.lam * (1 + 1e-12)


@settings(max_examples=20)
@given(seed=seeds, width=st.integers(1, 12))
def test_min_norm_depth2_two_ways_and_optimal(seed, width):
    rng = np.random.default_rng(seed)
    net = random_network([2, width, 3], rng, scale=2.0)
    bal = balance_units(net)
    x = rng.normal(size=(200, 2))
    assert np.allclose(bal(x), net(x), atol=1e-9)
    assert np.isclose(bal.lam, min_norm_depth2(net))  # the rescaled network attains the formula
    # no per-unit rescaling does better (Cauchy-Schwarz): try random ones
    w1, w2 = net.weights
    for _ in range(20):
        a = np.exp(rng.normal(size=width))
        other = max(np.linalg.norm(w1 * a[:, None]), np.linalg.norm(w2 / a[None, :]))
        assert other >= min_norm_depth2(net) * (1 - 1e-12)


def test_gadget_norm_table_matches_closed_forms():
    table = gadget_norm_table([1, 2, 3, 5, 8], 1 / 48)
    assert np.allclose(table["gadget_lam"], table["gadget_lam_formula"], rtol=1e-12)
    assert np.allclose(table["exact_relu"], table["exact_relu_formula"], rtol=1e-12)
    k = table["teeth"].to_numpy()
    # the exact depth-2 sawtooth: V = 2K + (2K - 1) 4K, read off the network itself
    assert np.allclose([_slope_variation(depth2_sawtooth(int(t))) for t in k], 8.0 * k * k - 2.0 * k)
    assert (table["relu_lower"] < table["relu_upper"]).all() and (table["any_lower"] < table["any_upper"]).all()
    with pytest.raises(ValueError, match="depth 2"):
        min_norm_depth2(gadget_network(2))
    with pytest.raises(TypeError, match="net"):
        balance_layers("not a network")


# -- the bounds of sawtooth_norm_bounds --------------------------------------------------------------------------------
@pytest.mark.parametrize("teeth,alpha", [(4, 0.3), (8, 0.5), (32, 0.9), (16, 1.0)])
def test_damped_sawtooth_error_and_norm(teeth, alpha):
    net = damped_sawtooth(teeth, alpha)
    eps = (1 - alpha) ** 2 * VARIANCE
    assert np.isclose(_mse(net, teeth), eps, rtol=1e-3, atol=1e-6)  # grid mean vs exact integral
    assert np.isclose(net.lam, np.sqrt(alpha * (8.0 * teeth**2 - 2.0 * teeth)))
    bounds = sawtooth_norm_bounds(teeth, eps)
    assert bounds["relu_lower"] <= net.lam and np.isclose(net.lam, bounds["relu_upper"], rtol=1e-6)


@settings(max_examples=20)
@given(seed=seeds, teeth=st.integers(1, 24), width=st.integers(1, 60), scale=st.floats(0.1, 30.0))
def test_relu_lower_bound_holds_for_random_and_fitted_networks(seed, teeth, width, scale):
    """E(q - T_K)^2 >= (1/sqrt 12 - V / (2K^2))_+^2 for any depth-2 ReLU network q with a linear output."""
    rng = np.random.default_rng(seed)
    target = sawtooth(GRID, teeth)
    nets = [knot_fit(target, GRID, np.sort(rng.random(width)))[0],
            LayeredNetwork([rng.normal(0, scale, (width, 1)), rng.normal(0, scale, (1, width))],
                           [rng.uniform(-scale, scale, width), rng.normal(0, 1, 1)])]
    for net in nets:
        v = _slope_variation(net)
        floor = max(0.0, np.sqrt(VARIANCE) - v / (2.0 * teeth**2)) ** 2
        assert _mse(net, teeth) >= floor * (1 - 1e-6) - 1e-12
        assert v <= net.frobenius_norms().prod() * (1 + 1e-12)  # V <= ||W1|| ||W2|| <= Lambda'^2


@settings(max_examples=30)
@given(seed=seeds, teeth=st.integers(1, 24), width=st.integers(1, 40))
def test_lipschitz_lower_bound_holds_for_tanh_and_relu_output_networks(seed, teeth, width):
    """E(q - T_K)^2 >= (1/sqrt 12 - Lip / (2K))_+^2 for any activations; Lip <= product of spectral norms."""
    rng = np.random.default_rng(seed)
    for acts in (["tanh", "identity"], ["relu", "relu"]):
        net = LayeredNetwork([rng.normal(0, 5, (width, 1)), rng.normal(0, 1, (1, width))],
                             [rng.normal(0, 3, width), np.array([0.5])], acts)
        floor = max(0.0, np.sqrt(VARIANCE) - net.lipschitz_bound() / (2.0 * teeth)) ** 2
        assert _mse(net, teeth) >= floor * (1 - 1e-6) - 1e-12


def test_tent_activation_computes_the_sawtooth_with_norm_sqrt_2k():
    for teeth in (1, 3, 8, 50):
        s = np.sqrt(2.0 * teeth)
        assert np.allclose(tent_wave(s * (s * GRID)), sawtooth(GRID, teeth), atol=1e-9)
        assert np.isclose(sawtooth_norm_bounds(teeth, 0.0)["any_upper"], s)
    assert sawtooth_norm_bounds(8, VARIANCE)["relu_lower"] == 0.0  # the constant 1/2 needs no weights


@settings(max_examples=15)
@given(seed=seeds, lip=st.floats(1.0, 50.0), delta=st.floats(0.05, 0.5))
def test_interpolant_error_and_norm_for_any_lipschitz_function(seed, lip, delta):
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.5, 3.0, size=3)
    amp = rng.dirichlet(np.ones(3)) * lip / (2 * np.pi * freq)  # sum of sines, Lipschitz <= lip

    def f(x):
        return np.sum(amp * np.sin(2 * np.pi * freq * x[:, :1] + np.arange(3)), axis=1)

    net = interpolant_network(f, lip, delta)
    assert np.max(np.abs(net(GRID[:, None]) - f(GRID[:, None]))) <= delta * (1 + 1e-9)
    assert net.lam <= np.sqrt(2 * lip * np.ceil(lip / delta)) * (1 + 1e-9)


# -- growth models -----------------------------------------------------------------------------------------------------
@settings(max_examples=5)
@given(seed=seeds, b=st.floats(0.3, 1.0), k=st.floats(2.0, 5.0))
def test_compare_growth_recovers_synthetic_models(seed, b, k):
    rng = np.random.default_rng(seed)
    n = np.repeat(np.arange(4, 21, 2), 4).astype(float)
    noise = rng.normal(0, 0.2, len(n))
    exp_data = 2 ** (1 + b * n + noise)
    poly_data = 2 ** (1 + k * np.log2(n) + noise)
    e = compare_growth(n, exp_data, boot=100, rng=seed)
    p = compare_growth(n, poly_data, boot=100, rng=seed)
    assert e["delta_aic"] > 0 and e["boot_exponential_aic"] > 0.9 and e["boot_exponential_holdout"] > 0.9
    assert p["delta_aic"] < 0 and p["boot_exponential_aic"] < 0.1 and p["boot_exponential_holdout"] < 0.1
    lo, hi = e["exponential"]["slope_ci"]
    assert lo - 0.05 <= b <= hi + 0.05
    lo, hi = p["polynomial"]["slope_ci"]
    assert lo - 0.3 <= k <= hi + 0.3


def test_fit_model_exact_and_bad_input():
    n = np.array([2.0, 4.0, 8.0, 16.0])
    a, s, rss = fit_model(n, 3 * n**2.5, "polynomial")
    assert np.isclose(s, 2.5) and np.isclose(2**a, 3) and rss < 1e-20
    a, s, rss = fit_model(n, 2 ** (0.7 * n + 1), "exponential")
    assert np.isclose(s, 0.7) and np.isclose(a, 1) and rss < 1e-20
    with pytest.raises(ValueError, match="model"):
        fit_model(n, n, "linear")
    with pytest.raises(ValueError, match="> 0"):
        fit_model(n, -n, "exponential")
    with pytest.raises(ValueError, match="held"):
        compare_growth(n, n, held=2)


# -- trained local students --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_gadget_student_is_seeded_learns_a_small_sawtooth_and_respects_the_floor():
    a, info = fit_gadget_student(2, 32, lr=3e-2, steps=400, samples=256, seed=3)
    b, _ = fit_gadget_student(2, 32, lr=3e-2, steps=400, samples=256, seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights))
    assert info["best_mse"] < 0.5 * VARIANCE  # two teeth are learnt well
    assert np.isclose(info["mse"], _mse(a, 2), rtol=1e-3, atol=1e-5)  # recorded error = error of the returned net
    c, _ = fit_gadget_student(8, 16, steps=50, samples=256, seed=1, max_norm=2.0)
    assert c.lam <= 2.0 + 1e-5  # the projection keeps the bound
    runs, curves = train_gadget_students([1, 2], {1: [2], 2: [4]}, [1e-2], restarts=2, steps=30, samples=128)
    assert len(runs) == 4 and len(curves) == 4 and (runs["best_mse"] >= runs["floor"]).all()
    assert all(arr.shape[0] == 2 and arr[0, -1] == 30 for arr in curves.values())


# -- norm-bounded distillation, sampled evaluation ---------------------------------------------------------------------
def test_norm_bounded_distillation_and_sampled_evaluation():
    res = distill_parity(5, (0, 3), 128, (16, 16), epochs=60, max_norm=3.0, rng=0)
    assert res.lam <= 3.0 + 1e-5 and res.lemma1_ok
    fam = ParityPerturbation.for_network(12, (1, 4, 7), 9.0, 5)
    teacher = theorem1_network(12, 9.0, 5)
    exact = exact_compression(12, (1, 4, 7))
    sampled = evaluate_student(exact, teacher, fam, eval_points=512, rng=1)
    assert sampled.accuracy == 1.0 and sampled.recovered and sampled.mse < 1e-20
    # a corrupted compression: the sampled accuracy estimates the exact one
    flip = LayeredNetwork(list(exact.weights[:-1]) + [exact.weights[-1] * 0.0], list(exact.biases),
                          list(exact.activations))
    full = evaluate_student(flip, teacher, fam)
    est = evaluate_student(flip, teacher, fam, eval_points=2048, rng=2)
    assert abs(est.accuracy - full.accuracy) < 0.05 and abs(est.mse - full.mse) < 0.1
    small = evaluate_student(exact_compression(4, (0,)), theorem1_network(4, 9.0, 5),
                             ParityPerturbation.for_network(4, (0,), 9.0, 5), eval_points=10**6)
    assert small.accuracy == 1.0 and small.recovered  # a cube smaller than eval_points: the exact path
