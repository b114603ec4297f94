"""Networks, symmetry operations and experiments of the chapter on ReLU symmetries (the notebook calls these).

Every symmetry of Carroll (2023, DSLT3) as an operation on a network that keeps its function on R^n:
``permute``, ``rescale``, ``reverse`` (needs weight annihilation), ``add_degenerate``, ``split_node`` (shared
boundary) and ``add_linear_pair`` (a cancelling pair), composed at random by ``random_symmetry``; ``near_miss``
breaks one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from .canonical import equivalent
from .classify import classify
from .fisher import fisher_rank, fisher_spectrum, predicted_fisher_rank
from .network import ReluNetwork, m_symmetric, relu
from .rank import relu_compress, relu_rank

__all__ = [
    "example_3_1", "example_3_3", "m_symmetric", "random_relu_network", "paired_network",
    "permute", "rescale", "reverse", "add_degenerate", "split_node", "add_linear_pair", "random_symmetry",
    "near_miss", "sampled_gap", "sampling_equivalent", "classifier_gallery", "scaling_valley",
    "degeneracy_bowls", "degeneracy_k", "bowl_widths", "sublevel_fraction", "fisher_table", "equivalent_times",
    "AppliedSymmetry", "symmetry_trials", "structured_network", "smaller_network_exists", "rank_trials",
]


# -- the networks of DSLT3 ----------------------------------------------------------------------------------------
def example_3_1() -> ReluNetwork:
    """Example 3.1: ReLU(x1 - 1) + ReLU(x2 - 1) + ReLU(-x1 - 1) + ReLU(-x2 - 1)."""
    return ReluNetwork([[1, 0], [0, 1], [-1, 0], [0, -1]], [-1, -1, -1, -1], [1, 1, 1, 1], 0.0)


def example_3_3() -> tuple[ReluNetwork, ReluNetwork]:
    """Example 3.3 (one input): the truth ReLU(x + 1) + ReLU(-x + 1) and its reversal ReLU(-x - 1) + ReLU(x - 1) + 2."""
    truth = ReluNetwork([[1.0], [-1.0]], [1.0, 1.0], [1.0, 1.0], 0.0)
    return truth, reverse(truth, [0, 1])


def random_relu_network(h: int, n: int = 2, rng: np.random.Generator | int | None = None) -> ReluNetwork:
    """Weights, biases and outgoing weights standard normal (non-degenerate, distinct boundaries almost surely)."""
    h, n = check_size(h, "h"), check_size(n, "n", minimum=1)
    rng = as_rng(rng)
    return ReluNetwork(rng.normal(size=(h, n)), rng.normal(size=h), rng.normal(size=h), float(rng.normal()))


def paired_network(pairs: int, n: int = 2, rng: np.random.Generator | int | None = None) -> ReluNetwork:
    """A random network of 2 * ``pairs`` nodes in annihilating pairs: nodes 2k and 2k+1 have q w and -q w.

    Reversing any union of pairs is then a symmetry (weight annihilation)."""
    pairs = check_size(pairs, "pairs")
    rng = as_rng(rng)
    w = rng.normal(size=(pairs, n))
    q = rng.normal(size=pairs)
    scale = rng.uniform(0.5, 2.0, size=pairs)  # second node: w' = -scale w, q' = q / scale
    W = np.empty((2 * pairs, n))
    W[0::2], W[1::2] = w, -scale[:, None] * w
    Q = np.empty(2 * pairs)
    Q[0::2], Q[1::2] = q, q / scale
    return ReluNetwork(W, rng.normal(size=2 * pairs), Q, float(rng.normal()))


# -- symmetry operations ------------------------------------------------------------------------------------------
def permute(net: ReluNetwork, rng: np.random.Generator | int | None = None) -> tuple[ReluNetwork, np.ndarray]:
    """Permute the nodes: returns (model, perm) with model node i = net node perm[i]."""
    perm = as_rng(rng).permutation(net.width)
    return net.subnetwork(perm), perm


def rescale(net: ReluNetwork, alpha: Any) -> ReluNetwork:
    """The scaling symmetry: (w_i, b_i, q_i) -> (alpha_i w_i, alpha_i b_i, q_i / alpha_i), alpha_i > 0."""
    alpha = as_float_array(alpha, "alpha", shape=(net.width,))
    if np.any(alpha <= 0):
        raise ValueError("alpha must be positive")
    return ReluNetwork(alpha[:, None] * net.w, alpha * net.b, net.q / alpha, net.c)


def reverse(net: ReluNetwork, nodes: Any) -> ReluNetwork:
    """Reverse the orientation of ``nodes``: (w_i, b_i) -> (-w_i, -b_i), c -> c + sum q_i b_i.

    Uses ReLU(z) = ReLU(-z) + z; the function is kept exactly when sum_{i in nodes} q_i w_i = 0 (weight
    annihilation). Otherwise the result differs from ``net`` by the linear function sum q_i w_i . x."""
    idx = np.asarray(nodes, dtype=np.int64).reshape(-1)
    sign = np.ones(net.width)
    sign[idx] = -1.0
    return ReluNetwork(sign[:, None] * net.w, sign * net.b, net.q, net.c + float(np.sum(net.q[idx] * net.b[idx])))


def add_degenerate(net: ReluNetwork, k: int, rng: np.random.Generator | int | None = None) -> ReluNetwork:
    """Append k degenerate nodes, alternately with q = 0 (random w, b) and with w = 0 (c absorbs q ReLU(b))."""
    rng = as_rng(rng)
    k = check_size(k, "k")
    n = net.n_in
    w, b, q, c = [net.w], list(net.b), list(net.q), net.c
    for j in range(k):
        bj = float(rng.normal())
        if j % 2 == 0:
            w.append(rng.normal(size=(1, n)))
            q.append(0.0)
        else:
            w.append(np.zeros((1, n)))
            qj = float(rng.normal())
            q.append(qj)
            c -= qj * max(bj, 0.0)
        b.append(bj)
    return ReluNetwork(np.vstack(w), b, q, c)


def split_node(net: ReluNetwork, i: int, share: float, alphas: tuple[float, float] = (1.0, 1.0)) -> ReluNetwork:
    """Split node i into two nodes on its boundary (shared boundary): kink shares ``share`` and 1 - share, rescaled
    by ``alphas`` (positive). The second node is appended."""
    a1, a2 = alphas
    if a1 <= 0 or a2 <= 0:
        raise ValueError("alphas must be positive")
    w, b, q = net.w.copy(), net.b.copy(), net.q.copy()
    wi, bi, qi = w[i].copy(), b[i], q[i]
    w[i], b[i], q[i] = a1 * wi, a1 * bi, share * qi / a1
    return ReluNetwork(np.vstack([w, a2 * wi]), np.append(b, a2 * bi), np.append(q, (1 - share) * qi / a2), net.c)


def add_linear_pair(net: ReluNetwork, g: Any, beta: float = 0.0) -> ReluNetwork:
    """Append ReLU(g.x + beta) - ReLU(-g.x - beta) (= g.x + beta): two nodes whose kinks cancel; c absorbs -beta,
    so the function changes by the linear g . x only."""
    g = as_float_array(g, "g", shape=(net.n_in,))
    return ReluNetwork(np.vstack([net.w, g, -g]), np.append(net.b, [beta, -beta]), np.append(net.q, [1.0, -1.0]),
                       net.c - beta)


@dataclass(frozen=True)
class AppliedSymmetry:
    """A model built from a truth by known symmetries (``ops`` lists them in the classifier's vocabulary)."""

    model: ReluNetwork
    ops: tuple[str, ...]
    reversed_pairs: tuple[int, ...] = ()


def random_symmetry(truth: ReluNetwork, rng: np.random.Generator | int | None = None, pairs: bool = False,
                    n_degenerate: int = 0, n_splits: int = 0) -> AppliedSymmetry:
    """Apply a random element of the symmetry group: scale every node, reverse a random union of annihilating pairs
    (``pairs=True``: the truth comes from :func:`paired_network`), split random nodes across their boundary, add
    degenerate nodes, and permute."""
    rng = as_rng(rng)
    ops = ["scaling"]
    model = rescale(truth, rng.uniform(0.2, 5.0, size=truth.width))
    chosen: tuple[int, ...] = ()
    if pairs and truth.width >= 2:
        k = truth.width // 2
        pick = np.flatnonzero(rng.random(k) < 0.5)
        if len(pick) == 0:
            pick = np.array([int(rng.integers(k))])
        nodes = np.concatenate([2 * pick, 2 * pick + 1])
        model = reverse(model, nodes)
        chosen = tuple(int(p) for p in pick)
        ops.append("orientation reversal")
    for _ in range(n_splits):
        if model.width:
            model = split_node(model, int(rng.integers(model.width)) if not ops.count("shared boundary")
                               else int(rng.integers(truth.width)), float(rng.uniform(0.1, 0.9)),
                               tuple(rng.uniform(0.3, 3.0, size=2)))
            ops.append("shared boundary") if "shared boundary" not in ops else None
    if n_degenerate:
        model = add_degenerate(model, n_degenerate, rng)
        ops.append("degenerate nodes")
    model, _ = permute(model, rng)
    ops.append("permutation")
    return AppliedSymmetry(model, tuple(ops), chosen)


def near_miss(net: ReluNetwork, kind: str, eps: float = 1e-6,
              rng: np.random.Generator | int | None = None) -> ReluNetwork:
    """A network that is *not* equivalent to ``net`` but close to it: ``kind`` is 'weight' (one entry of one w_i),
    'bias' (one b_i), 'outgoing' (one q_i), 'output' (c), or 'reversal' (reverse one node without annihilation)."""
    rng = as_rng(rng)
    live = np.flatnonzero((net.q != 0) & np.any(net.w != 0, axis=1))  # perturbing a degenerate node may be harmless
    if len(live) == 0 and kind != "output":
        raise ValueError("near_miss needs a non-degenerate node (q_i != 0 and w_i != 0)")
    i = int(rng.choice(live)) if len(live) else 0
    w, b, q, c = net.w.copy(), net.b.copy(), net.q.copy(), net.c
    if kind == "weight":
        w[i, int(rng.integers(net.n_in))] += eps
    elif kind == "bias":
        b[i] += eps
    elif kind == "outgoing":
        q[i] += eps
    elif kind == "output":
        c += eps
    elif kind == "reversal":
        return reverse(net, [i])
    else:
        raise ValueError(f"kind must be 'weight', 'bias', 'outgoing', 'output' or 'reversal', got {kind!r}")
    return ReluNetwork(w, b, q, c)


# -- sampling yardstick --------------------------------------------------------------------------------------------
def sampled_gap(net1: ReluNetwork, net2: ReluNetwork, n_points: int = 2000, radius: float = 10.0,
                rng: np.random.Generator | int | None = None) -> float:
    """max |f1 - f2| over ``n_points`` uniform points of [-radius, radius]^n (a test, not a proof)."""
    x = as_rng(rng).uniform(-radius, radius, size=(n_points, net1.n_in))
    return float(np.max(np.abs(net1(x) - net2(x)), initial=0.0))


def sampling_equivalent(net1: ReluNetwork, net2: ReluNetwork, n_points: int = 2000, radius: float = 10.0,
                        tol: float = 1e-11, rng: np.random.Generator | int | None = None) -> bool:
    """The dense-sampling yardstick: equal (within tol, relative to the outputs' size) at random points."""
    x = as_rng(rng).uniform(-radius, radius, size=(n_points, net1.n_in))
    y1, y2 = net1(x), net2(x)
    return bool(np.max(np.abs(y1 - y2), initial=0.0) <= tol * (1 + np.max(np.abs(y1), initial=0.0)))


def classifier_gallery(rng: np.random.Generator | int | None = None, h: int = 5) -> Any:
    """Pairs built from each symmetry (expected equivalent) and near misses (expected not), with what
    :func:`classify` says and the largest sampled gap.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table and the pairs themselves, keyed by case name.
    """
    import pandas as pd

    rng = as_rng(rng)
    truth = random_relu_network(h, 2, rng)
    paired = paired_network(2, 2, rng)
    cases: dict[str, tuple[ReluNetwork, ReluNetwork, bool]] = {}
    cases["permutation"] = (permute(truth, rng)[0], truth, True)
    cases["scaling"] = (rescale(truth, rng.uniform(0.2, 5, truth.width)), truth, True)
    cases["reversal of an annihilating pair"] = (reverse(paired, [0, 1]), paired, True)
    cases["degenerate nodes"] = (add_degenerate(truth, 2, rng), truth, True)
    cases["split across a shared boundary"] = (split_node(truth, 0, 0.3, (0.5, 2.0)), truth, True)
    lin = np.array([0.7, -0.4])
    # reverse node 0 of the truth (adds -q_0 w_0 . x) and put that back with a cancelling pair on a new boundary
    cases["reversal + cancelling pair"] = (add_linear_pair(reverse(truth, [0]), truth.q[0] * truth.w[0], 0.3),
                                           truth, True)
    cases["all at once"] = (random_symmetry(paired, rng, pairs=True, n_degenerate=2, n_splits=1).model, paired, True)
    cases["near miss: weight + 1e-6"] = (near_miss(truth, "weight", 1e-6, rng), truth, False)
    cases["near miss: bias + 1e-6"] = (near_miss(truth, "bias", 1e-6, rng), truth, False)
    cases["near miss: outgoing + 1e-6"] = (near_miss(truth, "outgoing", 1e-6, rng), truth, False)
    cases["near miss: output bias + 1e-6"] = (near_miss(truth, "output", 1e-6, rng), truth, False)
    cases["near miss: reversal without annihilation"] = (near_miss(truth, "reversal", rng=rng), truth, False)
    cases["near miss: split shares sum to 1.000001"] = (split_node(truth, 1, 0.3, (1.0, 1.0)), truth, False)
    m, t, _ = cases["near miss: split shares sum to 1.000001"]
    cases["near miss: split shares sum to 1.000001"] = (
        ReluNetwork(m.w, m.b, np.append(m.q[:-1], m.q[-1] + 1e-6 * t.q[1]), m.c), t, False)
    cases["near miss: degenerate node with w = 1e-6"] = (
        ReluNetwork(np.vstack([truth.w, [1e-6, 0.0]]), np.append(truth.b, 0.5), np.append(truth.q, 1.0),
                    truth.c - 0.5), truth, False)
    del lin
    rows = []
    for name, (model, tru, expected) in cases.items():
        rep = classify(model, tru)
        rows.append(dict(case=name, model_nodes=model.width, truth_nodes=tru.width, expected=expected,
                         equivalent=rep.equivalent, symmetries=", ".join(rep.symmetries) or "-",
                         sampled_gap=sampled_gap(model, tru, rng=rng)))
    return pd.DataFrame(rows).set_index("case"), {k: v[:2] for k, v in cases.items()}


# -- K(w) for Examples 3.2 and 3.4 ------------------------------------------------------------------------------------
def _grid_inputs(n_points: int) -> np.ndarray:
    """Midpoints of n_points equal cells of [-1, 1]: expectations under X ~ U[-1, 1] by the midpoint rule."""
    return -1 + (2 * np.arange(n_points) + 1) / n_points


def scaling_valley(ws: Any, qs: Any, n_points: int = 2000) -> np.ndarray:
    """Example 3.2: K(w, q) = E[(q ReLU(w x) - ReLU(x))^2] / 2 for X ~ U[-1, 1], on the grid ws x qs.

    Returns shape (len(qs), len(ws)). In closed form K = (q w - 1)^2 / 12 for w >= 0 and ((q w)^2 + 1) / 12 for
    w < 0, a valley along the hyperbola q w = 1 of true parameters."""
    x = _grid_inputs(n_points)
    ws, qs = np.asarray(ws, float), np.asarray(qs, float)
    feat = relu(np.outer(ws, x))  # (W, N)
    target = relu(x)
    # E[(q f_w - t)^2] = q^2 E f^2 - 2 q E f t + E t^2
    ff, ft, tt = (feat**2).mean(1), (feat * target).mean(1), (target**2).mean()
    return 0.5 * (np.outer(qs**2, ff) - 2 * np.outer(qs, ft) + tt)


def degeneracy_k(w1: Any, w2: Any, n_points: int = 2000) -> np.ndarray:
    """Example 3.4, elementwise: K(w1, w2) = E[(ReLU(w1 x) + ReLU(w2 x) - ReLU(x))^2] / 2 for X ~ U[-1, 1] (model
    biases 0, outgoing weights 1; truth ReLU(x)), by the midpoint rule. True set: w1, w2 >= 0, w1 + w2 = 1."""
    x = _grid_inputs(n_points)
    w1, w2 = np.broadcast_arrays(np.asarray(w1, float), np.asarray(w2, float))
    pos, neg = x[x > 0], x[x < 0]
    m2p, m2n = (pos**2).sum() / len(x), (neg**2).sum() / len(x)
    # f - t = (w1+ + w2+ - 1) x on x > 0 and (w1- + w2-) |x| on x < 0
    P = relu(w1) + relu(w2) - 1
    N = relu(-w1) + relu(-w2)
    return 0.5 * (P**2 * m2p + N**2 * m2n)


def degeneracy_bowls(w1s: Any, w2s: Any, n_points: int = 2000) -> np.ndarray:
    """:func:`degeneracy_k` on the grid w1s x w2s, shape (len(w2s), len(w1s))."""
    W1, W2 = np.meshgrid(np.asarray(w1s, float), np.asarray(w2s, float))
    return degeneracy_k(W1, W2, n_points)


def bowl_widths(t: Any, level: float, half_length: float = 0.5, n_steps: int = 8001) -> np.ndarray:
    """Width of the sublevel set {K < level} of Example 3.4 across the true segment: along the line through the true
    parameter (t, 1 - t) perpendicular to the segment (direction (1, 1) / sqrt 2), the length where K < level.

    In closed form (K = s^2 / 6 at distance s on either side of the middle; s^2 / 12 beyond an end, where only the
    inputs x < 0 and half of the x > 0 error are penalised) the width is 2 sqrt(6 level) in the middle and
    (sqrt(6) + sqrt(12)) sqrt(level) at the degenerate ends (t = 0 or 1): (1 + sqrt 2) / 2, about 1.21 times wider."""
    s = np.linspace(-half_length, half_length, n_steps)
    out = []
    for tv in np.asarray(t, float):
        k = degeneracy_k(tv + s / np.sqrt(2), 1 - tv + s / np.sqrt(2))
        out.append(float(np.sum(k < level) * (s[1] - s[0])))
    return np.array(out)


def sublevel_fraction(K: np.ndarray, w1s: Any, w2s: Any, centres: Any, radius: float, level: float) -> np.ndarray:
    """Fraction of the disc of ``radius`` around each centre (rows of ``centres``, (k, 2)) where K < level: how
    much "catchment" each true parameter has (Example 3.4's wider bowls at the degenerate ends)."""
    w1s, w2s = np.asarray(w1s, float), np.asarray(w2s, float)
    W1, W2 = np.meshgrid(w1s, w2s)
    out = []
    for cx, cy in np.asarray(centres, float):
        disc = (W1 - cx) ** 2 + (W2 - cy) ** 2 <= radius**2
        out.append(float(np.mean(K[disc] < level)))
    return np.array(out)


# -- Fisher information ------------------------------------------------------------------------------------------------
def fisher_table(cases: dict[str, ReluNetwork], x: np.ndarray, lower: Any = -1.0, upper: Any = 1.0) -> Any:
    """For each network: parameter count, measured Fisher rank and nullity (on inputs x), and the predicted ones.

    Returns
    -------
    (pandas.DataFrame, dict of str to ndarray)
        The table and each network's eigenvalues (decreasing)."""
    import pandas as pd

    rows, spectra = [], {}
    for name, net in cases.items():
        P = len(net.to_vector())
        ev = fisher_spectrum(net, x)
        spectra[name] = ev
        r = fisher_rank(net, x)
        rp = predicted_fisher_rank(net, lower, upper)
        positive = ev[ev > 1e-10 * ev[0]]
        rows.append(dict(network=name, nodes=net.width, parameters=P, measured_nullity=P - r,
                         predicted_nullity=P - rp, smallest_nonzero=float(positive.min()) if len(positive) else np.nan,
                         largest_null=float(ev[r]) if r < P else np.nan))
    return pd.DataFrame(rows).set_index("network"), spectra


def equivalent_times(widths: Any, rng: np.random.Generator | int | None = None, repeat: int = 3) -> np.ndarray:
    """Best-of-``repeat`` seconds of ``equivalent`` on a random paired network of each width (n = 2) against a
    random symmetric copy (scaled, annihilating pairs reversed, permuted)."""
    rng = as_rng(rng)
    out = []
    for h in widths:
        truth = paired_network(int(h) // 2, 2, rng)
        model = random_symmetry(truth, rng, pairs=True).model
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            ok = equivalent(model, truth)
            best = min(best, time.perf_counter() - t0)
        if not ok:
            raise RuntimeError("equivalent rejected a symmetric copy (a bug)")
        out.append(best)
    return np.array(out)


# -- random trials for the notebook ---------------------------------------------------------------------------------
def symmetry_trials(n_trials: int, rng: np.random.Generator | int | None = None, max_pairs: int = 6) -> Any:
    """Random truths (in annihilating pairs, n in {1, 2, 3}), each with a random group element applied and a random
    near miss. Records what ``equivalent``, ``classify`` and dense sampling say.

    Returns
    -------
    pandas.DataFrame
        One row per (trial, variant): ``variant`` ('symmetric' or the near miss's kind), ``equivalent``,
        ``classified`` (classify's verdict), ``sampling`` (dense sampling's), ``ops_found`` (every applied symmetry
        other than the permutation is named by classify), ``reversal_ok`` (the reversed truth nodes are exactly
        the reversed pairs).
    """
    import pandas as pd

    n_trials = check_size(n_trials, "n_trials")
    rng = as_rng(rng)
    rows = []
    kinds = ("weight", "bias", "outgoing", "output", "reversal")
    for _ in range(n_trials):
        n = int(rng.integers(1, 4))
        truth = paired_network(int(rng.integers(1, max_pairs + 1)), n, rng)
        applied = random_symmetry(truth, rng, pairs=True, n_degenerate=int(rng.integers(0, 3)),
                                  n_splits=int(rng.integers(0, 3)))
        rep = classify(applied.model, truth)
        expect = {2 * p for p in applied.reversed_pairs} | {2 * p + 1 for p in applied.reversed_pairs}
        rows.append(dict(variant="symmetric", n=n, equivalent=equivalent(applied.model, truth),
                         classified=rep.equivalent, sampling=sampling_equivalent(applied.model, truth, rng=rng),
                         ops_found=all(op in rep.symmetries for op in applied.ops if op != "permutation"),
                         reversal_ok={rep.permutation[i] for i in rep.reversed} == expect))
        kind = str(rng.choice(kinds))
        miss = near_miss(applied.model, kind, float(10 ** rng.uniform(-6, 0)), rng)
        rep = classify(miss, truth)
        rows.append(dict(variant=kind, n=n, equivalent=equivalent(miss, truth), classified=rep.equivalent,
                         sampling=sampling_equivalent(miss, truth, rng=rng), ops_found=True, reversal_ok=True))
    return pd.DataFrame(rows)


def structured_network(rng: np.random.Generator | int | None, n: int, J: int,
                       case: int) -> tuple[ReluNetwork, np.ndarray, np.ndarray]:
    """A network on J random hyperplanes (unit normals u, offsets beta; kinks from {-2, -1, 1, 1.5, 3}) whose
    linear part is built to need E = ``case`` extra nodes in the theorem of :mod:`.rank` (0: a subset sum; 1: a
    subset sum plus a multiple of one normal; 2: plus a random vector), written with a redundant linear pair.

    Returns (net, u, beta)."""
    rng = as_rng(rng)
    u = rng.normal(size=(J, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    beta = rng.uniform(-1, 1, size=J)
    k = rng.choice([-2.0, -1.0, 1.0, 1.5, 3.0], size=J)
    S = rng.random(J) < 0.5
    a = -(k[S, None] * u[S]).sum(axis=0) if J else np.zeros(n)
    if case == 1 and J:
        a = a + rng.uniform(0.5, 2.0) * u[int(rng.integers(J))]
    elif case == 2:
        a = a + rng.normal(size=n)
    net = ReluNetwork(u, beta, k, float(rng.normal()))
    if np.linalg.norm(a) > 0:
        net = add_linear_pair(net, a, float(rng.normal()))
    return net, u, beta


def smaller_network_exists(net: ReluNetwork, u: np.ndarray, beta: np.ndarray, m: int, x: np.ndarray) -> bool:
    """Exhaustive search: does a network of m nodes, each on one of the hyperplanes (u_j, beta_j) in either
    orientation, compute ``net`` on the inputs x? Tries every multiset of m (hyperplane, orientation) pairs and
    solves for the outgoing weights and output bias by least squares.

    For m <= J + 1 (J kinked hyperplanes) this covers every network of m nodes: each kinked hyperplane needs a node
    of its own, and a node anywhere else would need a partner to cancel its kink; degenerate nodes are constants,
    which the output bias already provides."""
    import itertools

    y = net(x)
    J = len(beta)
    feats = [np.maximum(s * (x @ u[j] + beta[j]), 0.0) for j in range(J) for s in (1, -1)]
    for combo in itertools.combinations_with_replacement(range(2 * J), m):
        A = np.column_stack([feats[i] for i in combo] + [np.ones(len(x))])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        if np.max(np.abs(A @ coef - y)) < 1e-8:
            return True
    return m == 0 and float(np.ptp(y)) < 1e-8


def rank_trials(n_trials: int, rng: np.random.Generator | int | None = None, max_hyperplanes: int = 4) -> Any:
    """``relu_rank`` and ``relu_compress`` on random structured networks (:func:`structured_network`), with the
    exhaustive search of :func:`smaller_network_exists` for a network of rank - 1 nodes.

    Returns
    -------
    pandas.DataFrame
        ``n, J, case, width, rank, compressed_width, gap`` (sampled sup-difference of the compression),
        ``smaller_exists`` (the exhaustive search's verdict; must be False)."""
    import pandas as pd

    rng = as_rng(rng)
    rows = []
    for _ in range(check_size(n_trials, "n_trials")):
        n, J, case = int(rng.integers(1, 3)), int(rng.integers(0, max_hyperplanes + 1)), int(rng.integers(0, 3))
        net, u, beta = structured_network(rng, n, J, case)
        r = relu_rank(net)
        small = relu_compress(net)
        x = rng.uniform(-4, 4, size=(300, n))
        rows.append(dict(n=n, J=J, case=case, width=net.width, rank=r, compressed_width=small.width,
                         gap=sampled_gap(small, net, rng=rng),
                         smaller_exists=bool(r >= 1 and smaller_network_exists(net, u, beta, r - 1, x))))
    return pd.DataFrame(rows)
