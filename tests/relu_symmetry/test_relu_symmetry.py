"""Two-layer ReLU symmetries (seed 004): equivalence, classification, rank, bounded domains, Fisher information."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.relu_symmetry import (
    ReluNetwork,
    box_regions,
    canonical_form,
    classify,
    equivalent,
    equivalent_on_box,
    fisher_rank,
    predicted_fisher_rank,
    relu_compress,
    relu_rank,
    uniform_inputs,
)
from nncompress.relu_symmetry.experiments import (
    add_degenerate,
    add_linear_pair,
    example_3_1,
    example_3_3,
    m_symmetric,
    near_miss,
    paired_network,
    permute,
    random_relu_network,
    rank_trials,
    random_symmetry,
    rescale,
    reverse,
    sampled_gap,
    sampling_equivalent,
    smaller_network_exists,
    split_node,
    structured_network,
    symmetry_trials,
)
from strategies import dims, seeds


# -- the network ----------------------------------------------------------------------------------------------------
def test_bad_input_fails_loudly():
    with pytest.raises(ValueError, match="q"):
        ReluNetwork([[1.0, 2.0]], [0.0], [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match="w"):
        ReluNetwork([[1.0, 2.0], [1.0, 1.0]], [0.0], [1.0], 0.0)
    with pytest.raises(ValueError, match="finite"):
        ReluNetwork([[np.nan, 2.0]], [0.0], [1.0], 0.0)
    with pytest.raises(ValueError, match="c"):
        ReluNetwork([[1.0, 2.0]], [0.0], [1.0], [0.0, 1.0])
    with pytest.raises(TypeError):
        ReluNetwork([["a", "b"]], [0.0], [1.0], 0.0)
    net = example_3_1()
    with pytest.raises(ValueError, match="x"):
        net(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="input dimensions"):
        equivalent(net, example_3_3()[0])
    with pytest.raises(ValueError, match="atol"):
        equivalent(net, net, atol=-1.0)
    with pytest.raises(TypeError, match="model"):
        classify("net", net)
    with pytest.raises(ValueError, match="full-dimensional"):
        equivalent_on_box(net, net, [0, 0], [1, 0])
    with pytest.raises(ValueError, match="lower"):
        equivalent_on_box(net, net, [0, 0, 0], [1, 1, 1])
    with pytest.raises(AttributeError):
        net.c = 1.0


def test_vector_and_torch_round_trip():
    net = random_relu_network(4, 3, 0)
    assert np.array_equal(ReluNetwork.from_vector(net.to_vector(), n_in=3).to_vector(), net.to_vector())
    torch = pytest.importorskip("torch")
    module = net.to_torch()
    x = np.random.default_rng(1).normal(size=(50, 3))
    assert np.allclose(module(torch.from_numpy(x)).detach().numpy()[:, 0], net(x), atol=1e-13)
    assert np.array_equal(ReluNetwork.from_torch(module).to_vector(), net.to_vector())
    with pytest.raises(TypeError):
        ReluNetwork.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)))


@settings(max_examples=60)
@given(seeds, st.integers(0, 8), dims)
def test_canonical_form_computes_the_network(seed, h, n):
    rng = np.random.default_rng(seed)
    net = add_degenerate(random_symmetry(paired_network(h // 2, n, rng), rng, pairs=True).model, 2, rng)
    form = canonical_form(net)
    x = rng.uniform(-5, 5, size=(200, n))
    assert np.max(np.abs(form(x) - net(x))) <= 1e-10 * (1 + np.abs(net.q).sum() * 10)
    assert np.allclose(np.linalg.norm(form.keys[:, :n], axis=1), 1.0)


# -- symmetries => equivalent and correctly classified ----------------------------------------------------------------
@settings(max_examples=120)
@given(seeds, st.integers(1, 6), dims, st.integers(0, 3), st.integers(0, 2))
def test_random_group_element_is_equivalent_and_classified(seed, pairs, n, n_degenerate, n_splits):
    rng = np.random.default_rng(seed)
    truth = paired_network(pairs, n, rng)
    applied = random_symmetry(truth, rng, pairs=True, n_degenerate=n_degenerate, n_splits=n_splits)
    model = applied.model
    assert sampled_gap(model, truth, rng=rng) <= 1e-9 * (1 + np.abs(truth.q).sum() * 10)
    assert equivalent(model, truth) and equivalent(truth, model)
    report = classify(model, truth)
    assert report.equivalent
    for op in applied.ops:
        if op != "permutation":  # a random permutation may be the identity on the matched nodes
            assert op in report.symmetries, (op, report.symmetries)
    assert len(report.degenerate) == n_degenerate
    # every truth node is hit; the reversed nodes are exactly those of the reversed pairs
    assert set(report.permutation.values()) == set(range(truth.width))
    reversed_truth = {report.permutation[i] for i in report.reversed}
    assert reversed_truth == {2 * p for p in applied.reversed_pairs} | {2 * p + 1 for p in applied.reversed_pairs}
    assert np.allclose(report.annihilation, report.truth_annihilation, atol=1e-9)
    assert "EQUIVALENT" in str(report)


@settings(max_examples=60)
@given(seeds, st.integers(1, 8), dims)
def test_permutation_and_scaling_are_recovered(seed, h, n):
    rng = np.random.default_rng(seed)
    truth = random_relu_network(h, n, rng)
    alpha = rng.uniform(0.1, 10.0, size=h)
    model, perm = permute(rescale(truth, alpha), rng)
    report = classify(model, truth)
    assert report.equivalent and not report.reversed and not report.degenerate
    assert report.permutation == {i: int(perm[i]) for i in range(h)}
    assert np.allclose([report.scaling[i] for i in range(h)], alpha[perm], rtol=1e-12)


def test_example_3_3_orientation_reversal():
    truth, model = example_3_3()
    assert model.c == 2.0
    report = classify(model, truth, atol=0.0)
    assert report.equivalent and report.symmetries == ("orientation reversal",)
    assert report.reversed == (0, 1) and report.bias_shift == -2.0
    # reversing one node alone is not a symmetry: q w = 1 does not annihilate
    assert not equivalent(reverse(truth, [0]), truth)


def test_m_symmetric_truth_admits_full_reversal():
    for m in (3, 4, 5, 6):
        truth = m_symmetric(m)
        assert equivalent(reverse(truth, range(m)), truth)
        assert not equivalent(reverse(truth, [0]), truth)


def test_cancelling_pair_outside_the_posts_list():
    truth = ReluNetwork([[1.0]], [0.0], [1.0], 0.0)  # ReLU(x), minimal
    # ReLU(-x) + [ReLU(x - 1) - ReLU(1 - x)] + 1 = ReLU(x) - x + (x - 1) + 1
    model = ReluNetwork([[-1.0], [1.0], [-1.0]], [0.0, -1.0, 1.0], [1.0, 1.0, -1.0], 1.0)
    report = classify(model, truth, atol=0.0)
    assert report.equivalent and report.cancelling == ((1, 2),)
    assert "cancelling nodes" in report.symmetries and "orientation reversal" in report.symmetries


# -- near misses => not equivalent ------------------------------------------------------------------------------------
@settings(max_examples=100)
@given(seeds, st.integers(1, 6), dims, st.sampled_from(["weight", "bias", "outgoing", "output", "reversal"]),
       st.floats(1e-6, 1.0))
def test_perturbations_are_not_equivalent(seed, h, n, kind, eps):
    rng = np.random.default_rng(seed)
    truth = random_relu_network(h, n, rng)
    model = rescale(near_miss(truth, kind, eps, rng), rng.uniform(0.5, 2.0, size=h))
    report = classify(model, truth)
    assert not report.equivalent and not equivalent(model, truth) and report.differences
    assert report.witness_gap > 0
    assert "NOT equivalent" in str(report)


@settings(max_examples=80)
@given(seeds, st.integers(0, 5), dims, st.booleans())
def test_equivalent_agrees_with_dense_sampling(seed, h, n, symmetric):
    rng = np.random.default_rng(seed)
    truth = paired_network(h, n, rng)
    if symmetric:
        model = random_symmetry(truth, rng, pairs=True, n_degenerate=1, n_splits=1).model
    else:
        model = random_symmetry(truth, rng, pairs=False).model
        model = ReluNetwork(model.w, model.b, model.q + rng.normal(scale=1e-3, size=model.width), model.c)
    # sample a box that every node's activation boundary crosses well inside (twice the largest distance of a
    # boundary from the origin), so that a perturbed node is active on part of it and the yardstick can see it
    dist = [np.abs(net.b) / np.maximum(np.linalg.norm(net.w, axis=1), 1e-300) for net in (model, truth)]
    radius = 10.0 + 2.0 * float(np.max(np.concatenate(dist), initial=0.0))
    assert equivalent(model, truth) == sampling_equivalent(model, truth, radius=radius, rng=rng) == symmetric or (
        h == 0 and not symmetric and equivalent(model, truth))


def test_tolerance_near_ties_both_sides():
    truth = ReluNetwork([[1.0, 0.0]], [0.5], [2.0], 0.0)
    for delta, expected in ((0.5e-9, True), (2e-9, False)):
        shifted = ReluNetwork([[1.0, 0.0]], [0.5 + delta], [2.0], 0.0)
        assert equivalent(shifted, truth, atol=1e-9) is expected
        kinked = ReluNetwork([[1.0, 0.0]], [0.5], [2.0 + delta], 0.0)
        assert equivalent(kinked, truth, atol=1e-9) is expected
        const = ReluNetwork([[1.0, 0.0]], [0.5], [2.0], delta)
        assert equivalent(const, truth, atol=1e-9) is expected
    exact = dict(atol=0.0, rtol=0.0)
    assert not equivalent(ReluNetwork([[1.0, 0.0]], [0.5 + 1e-15], [2.0], 0.0), truth, **exact)
    assert equivalent(rescale(truth, [2.0]), truth, **exact)  # power-of-two scaling is exact in floating point


def scaled(net: ReluNetwork, factor: float) -> ReluNetwork:
    return ReluNetwork(factor * net.w, factor * net.b, factor * net.q, factor * net.c)


@settings(max_examples=80)
@given(seeds, st.integers(-3, 3))
def test_tolerances_follow_the_scale(seed, k):
    """Weights drawn at unit scale, multiplied by 10**k: every symmetric copy (rescaled, reversed in annihilating
    pairs, split across a boundary, degenerate nodes, permuted; all in floating point) is accepted, by equivalent
    and classify, with the default tolerances; every near miss of relative size 1e-6 is rejected."""
    rng = np.random.default_rng(seed)
    scale = 10.0**k
    truth = scaled(paired_network(int(rng.integers(1, 5)), int(rng.integers(1, 4)), rng), scale)
    model = random_symmetry(truth, rng, pairs=True, n_degenerate=int(rng.integers(0, 3)),
                            n_splits=int(rng.integers(0, 3))).model
    assert equivalent(model, truth) and classify(model, truth).equivalent
    assert equivalent(rescale(truth, rng.uniform(0.2, 5.0, truth.width)), truth, atol=0.0)
    assert equivalent(permute(truth, rng)[0], truth, atol=0.0, rtol=0.0)  # a permutation is exact
    for kind in ("weight", "bias", "outgoing", "output", "reversal"):
        miss = near_miss(model, kind, 1e-6 * scale, rng)
        assert not equivalent(miss, truth) and not classify(miss, truth).equivalent


def test_scale_of_the_issue_counts():
    """The failure reported before the tolerances followed the scale: with all weights multiplied by 1000, a
    weight moved by 1e-6 (relative 1e-9) was called equivalent; by 0.001, outgoing weights moved by a relative 1e-6
    were; and an absolute tolerance of 0 rejected rescaled copies."""
    rng = np.random.default_rng(5)
    for _ in range(40):
        truth = paired_network(3, 2, rng)
        model = random_symmetry(truth, rng, pairs=True).model
        big, big_model = scaled(truth, 1e3), random_symmetry(scaled(truth, 1e3), rng, pairs=True).model
        assert equivalent(big_model, big) and equivalent(model, truth, atol=0.0)
        assert not equivalent(near_miss(big_model, "weight", 1e-6, rng), big)
        assert not equivalent(near_miss(big_model, "bias", 1e-6, rng), big)
        small = scaled(truth, 1e-3)
        assert not equivalent(near_miss(random_symmetry(small, rng, pairs=True).model, "outgoing", 1e-9, rng), small)


# -- ReLU rank: minimality by exhaustive search ------------------------------------------------------------------------
@settings(max_examples=40)
@given(seeds, st.integers(1, 2), st.integers(0, 3), st.integers(0, 2))
def test_relu_rank_is_minimal_by_exhaustive_search(seed, n, J, case):
    rng = np.random.default_rng(seed)
    net, u, beta = structured_network(rng, n, J, case)
    x = rng.uniform(-4, 4, size=(300, n))
    r = relu_rank(net)
    small = relu_compress(net)
    assert small.width == r <= J + 2
    assert sampled_gap(small, net, rng=rng) <= 1e-9
    assert equivalent(small, net)
    if r - 1 <= J + 1 and r >= 1:
        assert not smaller_network_exists(net, u, beta, r - 1, x)


@settings(max_examples=25)
@given(seeds, st.integers(2, 3), st.integers(1, 6), st.integers(0, 2))
def test_milp_agrees_with_enumeration(seed, n, J, case):
    rng = np.random.default_rng(seed)
    net, _, _ = structured_network(rng, n, J, case)
    assert relu_rank(net, method="milp") == relu_rank(net, method="enumeration")


def test_notebook_trials_are_consistent():
    trials = symmetry_trials(15, 0)
    assert (trials.equivalent == trials.classified).all()
    assert trials.sampling[trials.equivalent].all()  # sampling can only err the other way (a kink outside its range)
    assert (trials.equivalent == (trials.variant == "symmetric")).all()
    assert trials.ops_found.all() and trials.reversal_ok.all()
    ranks = rank_trials(15, 0)
    assert (ranks["rank"] == ranks.compressed_width).all() and not ranks.smaller_exists.any()
    assert (ranks.gap < 1e-9).all()


def test_relu_rank_of_the_posts_examples():
    assert relu_rank(example_3_1()) == 4
    assert relu_rank(example_3_3()[0]) == 2
    assert relu_rank(m_symmetric(3)) == 3
    assert relu_rank(ReluNetwork([[1.0, 2.0]], [0.0], [0.0], 1.0)) == 0  # degenerate: a constant
    lin = add_linear_pair(ReluNetwork(np.zeros((0, 2)), [], [], 0.0), [1.0, 2.0])
    assert relu_rank(lin) == 2  # a nonzero linear function needs two nodes
    one_d = ReluNetwork([[1.0], [2.0]], [0.0, -2.0], [1.0, 1.0], 0.0)
    assert relu_rank(add_linear_pair(one_d, [3.0])) == 3  # in 1-D a linear part always fits one extra node


def test_relu_compress_on_a_big_redundant_network():
    rng = np.random.default_rng(5)
    truth = paired_network(15, 2, rng)
    model = random_symmetry(truth, rng, pairs=True, n_degenerate=10, n_splits=2).model
    assert relu_rank(model) == relu_rank(truth) == 30
    assert relu_compress(model).width == 30


# -- bounded domains ---------------------------------------------------------------------------------------------------
def test_box_symmetries_of_the_post():
    zero = ReluNetwork(np.zeros((0, 1)), [], [], 0.0)
    off = ReluNetwork([[1.0]], [-2.0], [5.0], 0.0)  # boundary at x = 2, pointing away from [-1, 1]
    assert equivalent_on_box(off, zero, -1, 1) and not equivalent(off, zero)
    touching = ReluNetwork([[1.0]], [-1.0], [5.0], 0.0)  # boundary on the box's edge x = 1: zero on the box
    assert box_regions(touching, -1, 1, atol=0.0)[0] == 0
    assert equivalent_on_box(touching, zero, -1, 1, atol=0.0)
    inside = ReluNetwork([[1.0]], [-0.999], [5.0], 0.0)
    assert not equivalent_on_box(inside, zero, -1, 1, atol=0.0)
    on = ReluNetwork([[1.0, 1.0]], [5.0], [2.0], 0.0)  # always active on the box: the affine 2 x1 + 2 x2 + 10
    affine = add_linear_pair(ReluNetwork(np.zeros((0, 2)), [], [], 10.0), [2.0, 2.0])
    assert equivalent_on_box(on, affine, [-1, -1], [1, 1]) and not equivalent(on, affine)


@settings(max_examples=60)
@given(seeds, st.integers(1, 6), st.integers(1, 2), st.booleans())
def test_equivalent_on_box_agrees_with_sampling_in_the_box(seed, h, n, symmetric):
    rng = np.random.default_rng(seed)
    truth = random_relu_network(h, n, rng)
    lower, upper = -np.ones(n), np.ones(n)
    # replace the nodes whose boundary misses the box by their values there (zero or affine): a box-only symmetry
    region = box_regions(truth, lower, upper)
    keep = np.flatnonzero(region == 1)
    model = truth.subnetwork(keep)
    for i in np.flatnonzero(region == 2):
        model = add_linear_pair(ReluNetwork(model.w, model.b, model.q, model.c + truth.q[i] * truth.b[i]),
                                truth.q[i] * truth.w[i])
    if not symmetric:
        model = ReluNetwork(model.w, model.b, model.q, model.c + 1e-4)
    x = rng.uniform(lower, upper, size=(3000, n))
    sampled = bool(np.max(np.abs(model(x) - truth(x))) <= 1e-9)
    assert equivalent_on_box(model, truth, lower, upper) == sampled == symmetric


# -- Fisher information ------------------------------------------------------------------------------------------------
def _fisher_cases(rng):
    generic = random_relu_network(3, 2, rng)
    generic = ReluNetwork(generic.w, 0.3 * generic.b, generic.q, generic.c)  # all boundaries cross [-1, 1]^2
    cases = {"generic": generic, "m-symmetric": m_symmetric(3)}
    w, b, q = generic.w.copy(), generic.b.copy(), generic.q.copy()
    q0 = q.copy()
    q0[0] = 0.0
    cases["q = 0"] = ReluNetwork(w, b, q0, 0.0)
    w0 = w.copy()
    w0[1] = 0.0
    cases["w = 0, b > 0"] = ReluNetwork(w0, np.abs(b) + 0.1, q, 0.0)
    cases["split"] = split_node(generic, 0, 0.4, (0.7, 1.3))
    cases["opposite pair"] = ReluNetwork(np.vstack([w, -w[:1]]), np.append(b, -b[0]), np.append(q, 0.8), 0.0)
    cases["misses the box"] = ReluNetwork(np.vstack([w, [1.0, 0.0]]), np.append(b, 3.0), np.append(q, 1.0), 0.0)
    cases["off the box"] = ReluNetwork(np.vstack([w, [1.0, 0.0]]), np.append(b, -3.0), np.append(q, 1.0), 0.0)
    return cases


def test_fisher_rank_matches_the_symmetry_prediction():
    rng = np.random.default_rng(3)
    x = uniform_inputs(2, 4096, rng=rng)
    for name, net in _fisher_cases(rng).items():
        assert fisher_rank(net, x) == predicted_fisher_rank(net), name
    generic = _fisher_cases(np.random.default_rng(3))["generic"]
    assert len(generic.to_vector()) - fisher_rank(generic, x) == generic.width  # one scaling direction per node
