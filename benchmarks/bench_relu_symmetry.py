"""Speed of ``equivalent`` (two-layer ReLU networks, n = 2) against two yardsticks, measured in one run; prints ratios.

1. The issue's target: ``equivalent`` on a model and a truth of 100,000 nodes each (the truth in annihilating pairs;
   the model a random element of the symmetry group: scaled, pairs reversed, permuted) in under a second. Yardstick:
   dense sampling of both networks at 2,000 points (which only tests, never proves, equivalence).
2. A straightforward pairwise O(h^2) matching (each model node's normalised key compared with every truth key,
   vectorised with numpy), at h = 5,000. Target: ``equivalent`` at least 50x faster.

Usage: ``python benchmarks/bench_relu_symmetry.py [--quick] [--out FILE]`` (``--quick`` shrinks both sizes 10x, for a
smoke run). The figures are also written to ``benchmarks/results/bench_relu_symmetry.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import add_out_argument, best_time, run_info, write_json

from nncompress.relu_symmetry import equivalent
from nncompress.relu_symmetry.experiments import paired_network, random_symmetry, sampling_equivalent


def _keys(net) -> tuple[np.ndarray, np.ndarray]:
    norm = np.linalg.norm(net.w, axis=1)
    keys = np.column_stack([net.w, net.b]) / norm[:, None]
    first = np.where(keys[:, 0] != 0, keys[:, 0], keys[:, 1])
    s = np.sign(first)
    return s[:, None] * keys, net.q * norm


def pairwise_equivalent(model, truth, atol: float = 1e-9) -> bool:
    """Match every model node to the truth nodes on its hyperplane by comparing it with all of them: O(h^2).

    Kinks per truth hyperplane are then compared (affine parts with fsum), as in ``equivalent``; assumes no degenerate
    nodes (true for the benchmark's networks)."""
    km, qm = _keys(model)
    kt, qt = _keys(truth)
    kink = -qt.copy()
    for i in range(len(km)):
        j = np.flatnonzero(np.all(np.abs(kt - km[i]) <= atol, axis=1))
        if len(j) == 0:
            return False
        kink[j[0]] += qm[i]
    if np.any(np.abs(kink) > atol):
        return False
    import math

    def affine(net, keys):
        s = np.where((net.w[:, 0] != 0), np.sign(net.w[:, 0]), np.sign(net.w[:, 1])) < 0
        lin = [math.fsum(col) for col in (net.q[s, None] * net.w[s]).T]
        return np.array(lin), math.fsum(np.append(net.q[s] * net.b[s], net.c))

    (lm, cm), (lt, ct) = affine(model, km), affine(truth, kt)
    return bool(np.all(np.abs(lm - lt) <= atol) and abs(cm - ct) <= atol)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller sizes")
    add_out_argument(parser, "bench_relu_symmetry")
    args = parser.parse_args()
    t_start = time.perf_counter()
    scale = 10 if args.quick else 1
    rng = np.random.default_rng(0)

    h = 100_000 // scale
    truth = paired_network(h // 2, 2, rng)
    model = random_symmetry(truth, rng, pairs=True).model
    assert equivalent(model, truth)
    t_ours = best_time(lambda: equivalent(model, truth))
    t_sample = best_time(lambda: sampling_equivalent(model, truth, n_points=2000, rng=1))
    print(f"[target]   h={h:>9,}  equivalent {t_ours:8.3f} s (target < 1 s: {'met' if t_ours < 1 else 'MISSED'})   "
          f"sampling at 2,000 points {t_sample:8.3f} s   ratio {t_sample / t_ours:6.1f}x")
    target = {"h": h, "equivalent_seconds": t_ours, "sampling_seconds": t_sample, "sampling_points": 2000,
              "ratio": t_sample / t_ours, "target_max_seconds": 1.0, "met": t_ours < 1}

    h = 5_000 // scale
    truth = paired_network(h // 2, 2, rng)
    model = random_symmetry(truth, rng, pairs=True).model
    t_pair = best_time(lambda: pairwise_equivalent(model, truth), repeat=1)
    t_ours = best_time(lambda: equivalent(model, truth))
    assert pairwise_equivalent(model, truth) and equivalent(model, truth)
    print(f"[pairwise] h={h:>9,}  equivalent {t_ours:8.4f} s   pairwise O(h^2) {t_pair:8.3f} s   "
          f"speed-up {t_pair / t_ours:7.1f}x (target >= 50x)")
    pairwise = {"h": h, "equivalent_seconds": t_ours, "pairwise_seconds": t_pair, "speedup": t_pair / t_ours,
                "target_min_speedup": 50.0}

    record = {"benchmark": "bench_relu_symmetry", "settings": "quick" if args.quick else "full", "target": target,
              "pairwise": pairwise, "wall_seconds": time.perf_counter() - t_start, **run_info()}
    print(f"wrote {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
