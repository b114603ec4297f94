"""Speed of the chapter-6 algorithms (seed 003) against baselines, measured in one run; prints ratios.

1. Lemma 1 recovery: decoding the hidden parity from the signs a compression reveals on all 2^n cube points.
   ``recover_parity(method="fwht")`` (one Walsh-Hadamard transform, O(n 2^n)) and ``method="gf2"`` (Gaussian
   elimination over GF(2)) against the brute-force search over all 2^n parities (O(n 4^n)); all three must return the
   hidden subset.
2. Exact check of Lemma 2: ``parity_network(n)`` evaluated on all 2^n inputs in one vectorised call against a naive
   loop evaluating the network one input at a time; both must find zero wrong outputs.

Usage: ``python benchmarks/bench_depth.py [--quick] [--out FILE]`` (``--quick`` uses smaller n, for a smoke run). The
figures are also written to ``benchmarks/results/bench_depth.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import add_out_argument, best_time, run_info, write_json

from nncompress.depth import (ParityPerturbation, exact_compression, hypercube, parity, parity_network,
                              random_subset, recover_parity, recovered_signs, theorem1_network)


def naive_forward(net, x: np.ndarray) -> np.ndarray:
    """The network on one input at a time, in plain Python loops over units (the baseline)."""
    out = np.empty(len(x))
    for k, row in enumerate(x):
        h = list(row)
        for w, b, act in zip(net.weights, net.biases, net.activations):
            z = [sum(w[i, j] * h[j] for j in range(len(h))) + b[i] for i in range(len(b))]
            h = [max(v, 0.0) for v in z] if act == "relu" else z
        out[k] = h[0]
    return out


def bench_recovery(n: int) -> dict:
    subset = random_subset(n, -(-n // 2), rng=n)
    fam = ParityPerturbation.for_network(n, subset, 4.0, 5)
    cube = fam.cube()
    signs = recovered_signs(theorem1_network(n, 4.0, 5), exact_compression(n, subset), cube, fam.eta, fam.v)
    x = cube[:, :n]
    results = {m: recover_parity(x, signs, m) for m in ("fwht", "gf2", "brute")}
    assert all(r.subset == subset for r in results.values())
    t = {m: best_time(lambda m=m: recover_parity(x, signs, m), repeat=1 if m == "brute" else 3) for m in results}
    print(f"Lemma 1 recovery, n = {n} ({2**n} labelled points, hidden |S| = {len(subset)}):")
    print(f"  brute force over 2^n parities  {t['brute']:9.4f} s")
    print(f"  Walsh-Hadamard (fwht)          {t['fwht']:9.4f} s   ratio brute/fwht = {t['brute'] / t['fwht']:,.0f}x")
    print(f"  GF(2) elimination              {t['gf2']:9.4f} s   ratio brute/gf2  = {t['brute'] / t['gf2']:,.0f}x")
    return {"n": n, "points": 2**n, "hidden_subset_size": len(subset), "brute_seconds": t["brute"],
            "fwht_seconds": t["fwht"], "gf2_seconds": t["gf2"], "ratio_brute_fwht": t["brute"] / t["fwht"],
            "ratio_brute_gf2": t["brute"] / t["gf2"]}


def bench_parity_check(n: int) -> dict:
    net = parity_network(n)
    x = hypercube(n)
    truth = parity(x)
    assert np.array_equal(naive_forward(net, x), truth)
    t_vec = best_time(lambda: np.array_equal(net(x), truth))
    t_loop = best_time(lambda: naive_forward(net, x), repeat=1)
    print(f"Exact check of Lemma 2 on all {2**n} inputs, n = {n} ({net.units} gates):")
    print(f"  naive per-input loop           {t_loop:9.4f} s")
    print(f"  vectorised                     {t_vec:9.4f} s   ratio loop/vectorised = {t_loop / t_vec:,.0f}x")
    return {"n": n, "inputs": 2**n, "gates": net.units, "loop_seconds": t_loop, "vectorised_seconds": t_vec,
            "ratio_loop_vectorised": t_loop / t_vec}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    add_out_argument(parser, "bench_depth")
    args = parser.parse_args()
    t_start = time.perf_counter()
    recovery = bench_recovery(8 if args.quick else 14)
    parity_check = bench_parity_check(10 if args.quick else 14)
    record = {"benchmark": "bench_depth", "settings": "quick" if args.quick else "full", "lemma1_recovery": recovery,
              "lemma2_parity_check": parity_check, "wall_seconds": time.perf_counter() - t_start, **run_info()}
    print(f"wrote {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
