"""Obstacles to depth compression (seed 003): NN_{Lambda,d}, Lemma 2, Theorem 1's construction, Lemma 1 as an
algorithm, Theorem 3's product network, distillation. Cross-checks against closed forms and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.depth import (
    LayeredNetwork,
    ParityPerturbation,
    block_diagonal,
    block_slices,
    count_pieces,
    depth2_sawtooth,
    distill_parity,
    distillation_sweep,
    evaluate_student,
    exact_compression,
    fold_period,
    gadget_network,
    global_compression,
    hypercube,
    knot_fit,
    lemma1_tv_bound,
    lipschitz_ratios,
    max_parity_bits,
    parity,
    parity_network,
    parity_network_depth2,
    piece_lower_bound,
    product_network,
    random_network,
    random_subset,
    recover_parity,
    recovered_signs,
    sample_tilde,
    samples_to_accuracy,
    sawtooth,
    separator_gaps,
    theorem1_network,
    tilde_pmf,
    train_student,
    walsh_hadamard,
    window_contents,
    z_map,
)
from nncompress.depth.experiments import (depth2_width_sweep, lipschitz_check, local_vs_global, noisy_parity_table,
                                          parity_check, walsh_spectrum)
from strategies import seeds


def brute_parity(x: np.ndarray, subset) -> np.ndarray:
    """Parity by counting -1 entries one point at a time (the definition, independent of `parity`)."""
    return np.array([(-1.0) ** sum(1 for i in subset if row[i] < 0) for row in x])


# -- NN_{Lambda,d} and Proposition 1 -----------------------------------------------------------------------------------
def test_layered_network_shapes_norms_and_torch_round_trip():
    net = random_network([3, 5, 4, 2], rng=0)
    assert net.depth == 3 and net.widths == (3, 5, 4, 2) and net.units == 9
    x = np.random.default_rng(1).normal(size=(20, 3))
    assert net(x).shape == (20, 2)
    assert np.allclose(net.frobenius_norms(), [np.linalg.norm(w) for w in net.weights])
    assert net.in_class(net.lam, 3) and not net.in_class(0.99 * net.lam, 3) and not net.in_class(net.lam, 2)
    import torch

    back = LayeredNetwork.from_torch(net.to_torch())
    assert np.allclose(back(x), net(x), atol=1e-12)
    with torch.no_grad():
        assert np.allclose(net.to_torch()(torch.as_tensor(x)).numpy(), net(x), atol=1e-12)
    assert np.allclose(net.slice(2, 3)(net.hidden(x)[1]), net(x))


@settings(max_examples=60)
@given(seed=seeds, depth=st.integers(1, 5), act=st.sampled_from(["relu", "tanh", "identity"]),
       scale=st.floats(0.1, 4.0))
def test_proposition1_lipschitz_bound_never_violated(seed, depth, act, scale):
    rng = np.random.default_rng(seed)
    widths = [int(w) for w in rng.integers(1, 7, size=depth + 1)]
    net = random_network(widths, rng, scale=scale, activation=act)
    x = rng.normal(0, 3, size=(200, widths[0]))
    step = rng.normal(size=x.shape) * 10.0 ** rng.uniform(-3, 2, size=(200, 1))
    ratios = lipschitz_ratios(net, x, x + step)
    assert net.lipschitz_bound() <= net.proposition1_bound() * (1 + 1e-12)
    assert np.all(ratios <= net.lipschitz_bound() * (1 + 1e-9) + 1e-12)


def test_block_diagonal_is_the_cartesian_product():
    a, b = random_network([2, 3, 1], rng=2), random_network([1, 4, 2], rng=3)
    prod = block_diagonal([a, b])
    x = np.random.default_rng(4).normal(size=(50, 3))
    assert np.allclose(prod(x), np.column_stack([a(x[:, :2]), b(x[:, 2:])]))
    assert np.isclose(prod.frobenius_norms()[0] ** 2, a.frobenius_norms()[0] ** 2 + b.frobenius_norms()[0] ** 2)


# -- Lemma 2 -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", range(1, 13))
def test_parity_networks_exact_on_every_input(n):
    x = hypercube(n)
    subsets = [tuple(s) for k in range(n + 1) for s in itertools.combinations(range(n), k)] if n <= 5 else \
        [None, (), tuple(range(0, n, 2))] + [random_subset(n, rng=n * 100 + r) for r in range(4)]
    for subset in subsets:
        truth = brute_parity(x, range(n) if subset is None else subset)
        net3, net2 = parity_network(n, subset), parity_network_depth2(n, subset)
        assert net3.depth == 3 and net2.depth == 2
        assert np.array_equal(net3(x), truth), subset  # exact, no tolerance
        assert np.array_equal(net2(x), truth), subset
        assert np.array_equal(parity(x, subset), truth)
    assert parity_check(n)["wrong_depth3"] == 0


@settings(max_examples=40)
@given(seed=seeds, n=st.integers(1, 200))
def test_parity_network_random_points_and_gate_count(seed, n):
    rng = np.random.default_rng(seed)
    subset = random_subset(n, rng=rng)
    x = rng.choice([-1.0, 1.0], size=(64, n))
    assert np.array_equal(parity_network(n, subset)(x), brute_parity(x, subset))
    net = parity_network(n)
    assert net.units <= 2 * np.sqrt(n) + 1  # O(sqrt n), well within Lemma 2's O(n)
    for w in net.weights:
        assert np.array_equal(2 * w, np.round(2 * w))  # multiples of 1/2: exact floating-point arithmetic


def test_fold_period_minimises_gates_by_brute_force():
    for k in range(1, 80):
        gates = {q: (1 + (k - 1) // (2 * q)) + min(2 * q, k) for q in range(1, k + 1)}
        assert gates[fold_period(k)] == min(gates.values())
        assert parity_network(k).units == min(gates.values())


def test_hypercube_order_and_max_parity_bits():
    assert np.array_equal(hypercube(2), [[1, 1], [1, -1], [-1, 1], [-1, -1]])
    assert hypercube(0).shape == (1, 0)
    for lam in (3.0, 6.0, 12.0):
        n = max_parity_bits(lam, n_max=300)
        assert parity_network(n).lam <= lam < parity_network(n + 1).lam


# -- Theorem 1: the separator and the family D_h ----------------------------------------------------------------------
@pytest.mark.parametrize("lam,depth", [(2.0, 3), (3.0, 4), (4.0, 5), (10.0, 6)])
def test_theorem1_network_separator_gap_and_exact_compression(lam, depth):
    n = 6
    f = theorem1_network(n, lam, depth)
    assert f.in_class(lam, depth) and np.allclose(f.frobenius_norms(), lam)
    fam = ParityPerturbation.for_network(n, (0, 2, 3), lam, depth)
    assert np.isclose(fam.eta, lam ** -depth)
    gaps = separator_gaps(f, fam.cube(), fam.eta, fam.v)
    assert np.allclose(gaps, 2.0, rtol=1e-12)  # Delta = 2 on all of supp(D_0)
    x = np.random.default_rng(0).normal(size=(10, n + 1))
    assert np.allclose(f(x), lam**depth * x[:, n])
    pts, probs = fam.support()
    g = exact_compression(n, (0, 2, 3))
    assert g.depth == 3 and np.allclose(g(pts), f(pts), rtol=0, atol=1e-12)  # lossless over D_h
    assert np.isclose(probs.sum(), 1.0)


def test_parity_perturbation_sampler_and_pmf():
    fam = ParityPerturbation(5, (1, 4), eta=1e-3)
    x = fam.sample(4000, rng=1)
    assert np.all(fam.pmf(x) == 2.0**-5)
    assert np.allclose(x[:, 5], 1e-3 * brute_parity(x, (1, 4)))
    assert np.all(fam.pmf(x - 2e-3 * fam.v) == 0)  # the other side of each pair carries no mass
    assert np.all(fam.d0_pmf(fam.sample_d0(10, rng=2)) == 2.0**-5)
    counts = np.unique(x[:, :5], axis=0, return_counts=True)[1]
    assert len(counts) == 32 and counts.min() > 60  # uniform over the cube (expected 125 each)


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.3])
def test_noisy_family_exact_compression_error_is_four_times_noise(noise):
    n, subset = 6, (0, 1, 5)
    fam = ParityPerturbation.for_network(n, subset, 4.0, 4, noise=noise)
    f, g = theorem1_network(n, 4.0, 4), exact_compression(n, subset)
    res = evaluate_student(g, f, fam)
    assert np.isclose(res.mse, 4 * noise, atol=1e-12)  # Theorem 2: the clean parity is an eps-compression
    assert res.accuracy == 1.0 and res.recovered  # and Lemma 1 still reveals the clean parity
    pts, probs = fam.support()
    assert np.isclose(probs.sum(), 1.0) and np.allclose(fam.pmf(pts), probs)
    flips = np.mean(fam.signs(fam.sample_d0(20000, rng=3), rng=4) != fam.h(fam.sample_d0(20000, rng=3)))
    assert abs(flips - noise) < 0.02


# -- Lemma 1 -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 3, 8, 12])
def test_lemma1_recovers_hidden_parity_exactly_from_true_compression(n):
    rng = np.random.default_rng(n)
    subset = random_subset(n, rng=rng)
    fam = ParityPerturbation.for_network(n, subset, 3.0, 4)
    f, g = theorem1_network(n, 3.0, 4), exact_compression(n, subset)
    cube = fam.cube()
    assert np.array_equal(recovered_signs(f, g, cube, fam.eta, fam.v), fam.h(cube))
    pts, probs = fam.support()
    assert np.array_equal(tilde_pmf(f, g, pts, fam.eta, fam.v, fam.d0_pmf), probs)  # D-tilde = D_h exactly
    samples = sample_tilde(f, g, fam.sample_d0, 500, fam.eta, fam.v, rng=rng)
    assert np.all(fam.pmf(samples) > 0)
    assert np.array_equal(z_map(f, g, cube, fam.eta, fam.v), fam.perturb(cube, fam.h(cube)))
    for method in ("gf2", "fwht", "brute") if n <= 8 else ("gf2", "fwht"):
        rec = recover_parity(cube[:, :n], recovered_signs(f, g, cube, fam.eta, fam.v), method)
        assert rec.subset == subset and rec.agreement == 1.0 and rec.unique


@settings(max_examples=40)
@given(seed=seeds, n=st.integers(2, 7), scale=st.floats(0.0, 2.0))
def test_lemma1_total_variation_bound(seed, n, scale):
    """D_TV(D-tilde, D_h) <= eps / theta^2 (Lemma 1's proof) for corrupted compressions g = g* + scale * r."""
    rng = np.random.default_rng(seed)
    subset = random_subset(n, rng=rng)
    lam, depth = 2.0, 3
    fam = ParityPerturbation.for_network(n, subset, lam, depth)
    f, exact = theorem1_network(n, lam, depth), exact_compression(n, subset)
    r = random_network([n + 1, 8, 1], rng, scale=3.0)

    def g_fn(x):
        return exact(x) + scale * r(x)

    pts, probs = fam.support()
    eps = float(np.sum(probs * (g_fn(pts) - f(pts)) ** 2))
    cube = fam.cube()
    tv = float(np.mean(recovered_signs(f, g_fn, cube, fam.eta, fam.v) != fam.h(cube)))
    lip = scale * r.lipschitz_bound()  # g* ignores x_{n+1}; only r moves along v
    assert tv <= lemma1_tv_bound(eps, 2.0, fam.eta, lip) + 1e-12
    if fam.eta * lip <= 0.5:
        assert tv <= 16 * eps / 4 + 1e-12


@settings(max_examples=60)
@given(seed=seeds, n=st.integers(1, 7), points=st.integers(1, 60), flips=st.integers(0, 3))
def test_parity_decoders_agree_with_brute_force(seed, n, points, flips):
    rng = np.random.default_rng(seed)
    subset = random_subset(n, rng=rng)
    x = rng.choice([-1.0, 1.0], size=(points, n))
    labels = brute_parity(x, subset)
    gf2, brute, fwht = (recover_parity(x, labels, m) for m in ("gf2", "brute", "fwht"))
    assert gf2.agreement == brute.agreement == fwht.agreement == 1.0
    assert np.array_equal(brute_parity(x, gf2.subset), labels)
    if gf2.unique:
        assert gf2.subset == subset == brute.subset == fwht.subset
    noisy = labels.copy()
    noisy[rng.choice(points, size=min(flips, points), replace=False)] *= -1
    assert recover_parity(x, noisy, "fwht").agreement == recover_parity(x, noisy, "brute").agreement
    res = recover_parity(x, noisy, "gf2")
    assert (res.subset is None) == (brute_parity(x, recover_parity(x, noisy, "brute").subset) != noisy).any()


def test_walsh_hadamard_matches_explicit_matrix():
    from scipy.linalg import hadamard

    v = np.random.default_rng(0).normal(size=64)
    assert np.allclose(walsh_hadamard(v), hadamard(64) @ v)
    x = hypercube(4)
    spec = walsh_spectrum(x, parity(x, (1, 3)))
    assert spec[0b0101] == 1.0 and np.count_nonzero(spec) == 1


# -- Theorem 3: the sawtooth gadget, product network, local vs global -------------------------------------------------
@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_gadget_and_product_network(m):
    x = np.linspace(0, 1, 20001)
    g = gadget_network(m)
    assert g.depth == 3 and g.units == 4 * m
    assert np.allclose(g(x[:, None]), sawtooth(x, 2 * m * m), atol=1e-12)
    assert np.allclose(depth2_sawtooth(2 * m * m)(x[:, None]), sawtooth(x, 2 * m * m), atol=1e-10)
    assert count_pieces(g(np.linspace(0, 1, 64 * m * m + 1)[:, None])) == 4 * m * m
    f, glob = product_network(m, 7), global_compression(m, 7)
    assert f.depth == 7 and glob.depth == 3
    xs = np.random.default_rng(m).random((500, 4))
    assert np.allclose(f(xs), sawtooth(xs, 2 * m * m), atol=1e-12)
    assert np.allclose(glob(xs), f(xs), atol=1e-12)  # the lossless global compression
    for layer in range(8):
        blocks = block_slices(m, 7, layer)
        assert blocks[-1].stop == f.widths[layer]


def test_every_four_layer_window_holds_a_whole_gadget():
    for depth in range(4, 12):
        for start in range(1, depth - 2):
            assert (1, 3) in window_contents(depth, start, 3).values()
    assert (1, 3) not in window_contents(6, 1, 2).values()  # three-layer windows can miss every gadget


@settings(max_examples=25)
@given(seed=seeds, m=st.integers(2, 6), width=st.integers(1, 80))
def test_piece_lower_bound_holds_for_depth2_fits(seed, m, width):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, 2**14 + 1)
    target = sawtooth(x, 2 * m * m)
    knots = np.sort(rng.random(width))
    net, mse = knot_fit(target, x, knots)
    y = net(np.linspace(0, 1, 2**16 + 1)[:, None])
    assert count_pieces(y, atol=1e-7) <= width + 1  # a width-w depth-2 network has <= w + 1 pieces
    assert mse >= piece_lower_bound(width + 1, 4 * m * m) * (1 - 1e-3)


def test_width_sweep_brackets_and_exact_width():
    m = 4
    sweep = depth2_width_sweep(m, [4, 16, 30, 4 * m * m])
    assert (sweep["lower_bound"] <= sweep["front_knots"] + 1e-12).all()
    assert sweep.loc[4 * m * m, "front_knots"] < 1e-20 and sweep.loc[4 * m * m, "lower_bound"] == 0
    assert sweep.loc[4, "lower_bound"] > 0.3 / 12


# -- distillation ------------------------------------------------------------------------------------------------------
def test_train_student_is_seeded_and_fits():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2))
    y = np.abs(x[:, 0]) - x[:, 1]
    a, info = train_student(x, y, (16,), epochs=150, lr=1e-2, seed=5)
    b, _ = train_student(x, y, (16,), epochs=150, lr=1e-2, seed=5)
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights))
    assert info["epochs"] == 150 and np.mean((a(x) - y) ** 2) < 0.05
    c, _ = train_student(x, y, (16, 8), epochs=20, max_norm=0.5, seed=1)
    assert c.depth == 3 and c.lam <= 0.5 + 1e-6


def test_distill_parity_small_n_and_exact_compression_evaluation():
    res = distill_parity(4, (0, 2), 256, (32,), epochs=200, rng=0)
    assert res.accuracy == 1.0 and res.recovered and res.lemma1_ok and res.mse < 0.1
    fam = ParityPerturbation.for_network(4, (0, 2), 4.0, 5)
    exact = evaluate_student(exact_compression(4, (0, 2)), theorem1_network(4, 4.0, 5), fam)
    assert exact.mse < 1e-20 and exact.accuracy == 1.0 and exact.recovered
    import pandas as pd

    runs = pd.DataFrame({"n": [4, 4, 6], "depth": [2, 2, 2], "sample_size": [8, 16, 64],
                         "accuracy": [0.5, 0.95, 0.7], "seconds": [0.1, 0.2, 0.3]})
    table = samples_to_accuracy(runs, 0.9).set_index("n")
    assert table.loc[4, "samples"] == 16 and np.isnan(table.loc[6, "samples"])


def test_sweep_noise_and_local_tables_small():
    runs = distillation_sweep([3], [4, 64], {"d2": (8,)}, epochs=30, rng=0, progress=False)
    assert set(runs["n"]) == {3} and runs["lemma1_ok"].all() and (runs["subset_size"] == 2).all()
    assert runs["sample_size"].tolist() == sorted(runs["sample_size"])
    noisy = noisy_parity_table(4, [0.0, 0.25], 64, (8,), epochs=5, rng=1)
    assert np.allclose(noisy["exact_mse"], [0.0, 1.0]) and noisy["exact_recovered"].all()
    local = local_vs_global(2, 5, 4, 64, epochs=2, rng=2)
    assert len(local) == 2 and (local["whole_gadgets"] >= 1).all()
    assert (local["student_mse"] >= local["lower_bound"]).all() and (local["global_max_error"] < 1e-12).all()


def test_weights_are_fresh_lists_of_read_only_arrays():
    net = parity_network(5)
    assert isinstance(net.weights, list) and isinstance(net.biases, list) and len(net.weights) == 3
    net.weights.append(None)
    assert len(net.weights) == 3
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 1.0
    with pytest.raises(AttributeError):
        net.activations = ("relu",) * 3


def test_lipschitz_check_table():
    nets = {"parity": parity_network(6), "f": theorem1_network(3, 2.0, 3)}
    tab = lipschitz_check(nets, 200, rng=0)
    assert (tab["max_ratio"] <= tab["spectral_bound"] * (1 + 1e-9)).all()
    assert (tab["spectral_bound"] <= tab["prop1_bound"] * (1 + 1e-12)).all()


# -- bad input ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,match", [
    (lambda: parity_network(0), ValueError, "n must be"),
    (lambda: parity_network(2.5), TypeError, "n must be an integer"),
    (lambda: parity_network(3, [5]), ValueError, "subset"),
    (lambda: parity_network(3, [1, 1]), ValueError, "subset"),
    (lambda: parity_network(3, "01"), TypeError, "subset"),
    (lambda: hypercube(-1), ValueError, "n must be"),
    (lambda: hypercube(40), ValueError, "n must be"),
    (lambda: parity([[1.0, 0.5]]), ValueError, "x must have entries"),
    (lambda: LayeredNetwork([np.ones((2, 3))], [np.ones(3)]), ValueError, r"biases\[0\]"),
    (lambda: LayeredNetwork([np.ones((2, 3)), np.ones((1, 3))], [np.ones(2), np.ones(1)]), ValueError,
     r"weights\[1\]"),
    (lambda: LayeredNetwork([np.full((1, 1), np.nan)], [np.ones(1)]), ValueError, "finite"),
    (lambda: LayeredNetwork([np.ones((1, 1))], [np.ones(1)], "sigmoid"), ValueError, "activations"),
    (lambda: LayeredNetwork([], []), ValueError, "weights"),
    (lambda: parity_network(3)(np.ones((2, 4))), ValueError, r"x must have shape \(N, 3\)"),
    (lambda: theorem1_network(3, 1.0, 3), ValueError, "lam"),
    (lambda: theorem1_network(3, "4", 3), TypeError, "lam"),
    (lambda: theorem1_network(3, 4.0, 0), ValueError, "depth"),
    (lambda: ParityPerturbation(3, (0,), eta=0.0), ValueError, "eta"),
    (lambda: ParityPerturbation(3, (0,), eta=0.1, noise=0.5), ValueError, "noise"),
    (lambda: recover_parity([[1.0, -1.0]], [0.0]), ValueError, "labels"),
    (lambda: recover_parity([[1.0, -1.0]], [1.0], "svd"), ValueError, "method"),
    (lambda: train_student(np.ones((4, 2)), np.ones(4), ()), ValueError, "hidden"),
    (lambda: train_student(np.ones((4, 2)), np.ones(3), (4,)), ValueError, "y must have 4 rows"),
    (lambda: product_network(3, 3), ValueError, "depth"),
    (lambda: window_contents(6, 4, 3), ValueError, "start"),
    (lambda: piece_lower_bound(0, 10), ValueError, "pieces"),
    (lambda: random_subset(3, 5), ValueError, "k must be"),
    (lambda: lemma1_tv_bound(-1.0, 2.0), ValueError, "eps"),
])
def test_bad_input_is_rejected(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
