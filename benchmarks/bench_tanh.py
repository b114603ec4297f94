"""Speed of Algorithm 4.1 (``compress``) against two yardsticks, measured in one run; prints the ratios.

1. The floor of any sort-based partition: ``np.lexsort`` of the same sign-normalised keys, at h = 1,000,000
   (n = m = 1). Target: compress at most 3x the floor.
2. A straightforward pairwise O(h^2) partition (each unit compared with every earlier unit; the inner comparison
   is vectorised with numpy, so the gap measured is the algorithm's, not Python's), at h = 20,000.
   Target: compress at least 100x faster.

Usage: ``python benchmarks/bench_tanh.py [--quick] [--out FILE]`` (``--quick`` shrinks both sizes 10x, for a smoke
run). The figures are also written to ``benchmarks/results/bench_tanh.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import add_out_argument, best_time, run_info, write_json

from nncompress.tanh import compress, generalised_sign, random_expansion, random_network, rank


def pairwise_rank(net) -> int:
    """Algorithm 4.2 with the partition found by comparing each unit with all earlier ones: O(h^2)."""
    sign = generalised_sign(net.b)
    kept = np.flatnonzero(sign != 0)
    keys = sign[kept, None] * np.column_stack([net.b[kept], net.c[kept]])
    signed_a = sign[kept, None] * net.a[kept]
    group_of = np.empty(len(kept), dtype=np.int64)
    alphas: list[np.ndarray] = []
    for i in range(len(kept)):
        earlier = np.flatnonzero(np.all(keys[:i] == keys[i], axis=1))
        if len(earlier):
            group_of[i] = group_of[earlier[0]]
            alphas[group_of[i]] = alphas[group_of[i]] + signed_a[i]
        else:
            group_of[i] = len(alphas)
            alphas.append(signed_a[i].copy())
    return sum(bool(np.any(alpha != 0)) for alpha in alphas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller sizes")
    add_out_argument(parser, "bench_tanh")
    args = parser.parse_args()
    t_start = time.perf_counter()
    scale = 10 if args.quick else 1
    rng = np.random.default_rng(0)

    h = 1_000_000 // scale
    net = random_expansion(random_network(h // 2, rng=rng), h, rng)  # half the units reducible
    sign = generalised_sign(net.b)
    keys_b, keys_c = sign * net.b[:, 0], sign * net.c
    t_floor = best_time(lambda: np.lexsort((keys_c, keys_b)))
    t_compress = best_time(lambda: compress(net))
    print(f"[floor]    h={h:>9,}  compress {t_compress:8.3f} s   lexsort of keys {t_floor:8.3f} s   "
          f"ratio {t_compress / t_floor:5.2f}x (target <= 3x)")
    floor = {"h": h, "compress_seconds": t_compress, "lexsort_seconds": t_floor, "ratio": t_compress / t_floor,
             "target_max_ratio": 3.0}

    h = 20_000 // scale
    net = random_expansion(random_network(h // 2, rng=rng), h, rng)
    t_pair = best_time(lambda: pairwise_rank(net), repeat=1)
    t_ours = best_time(lambda: compress(net))
    assert pairwise_rank(net) == rank(net) == compress(net).width == h // 2
    print(f"[pairwise] h={h:>9,}  compress {t_ours:8.4f} s   pairwise O(h^2) {t_pair:8.3f} s   "
          f"speed-up {t_pair / t_ours:7.1f}x (target >= 100x)")
    pairwise = {"h": h, "compress_seconds": t_ours, "pairwise_seconds": t_pair, "speedup": t_pair / t_ours,
                "target_min_speedup": 100.0}

    record = {"benchmark": "bench_tanh", "settings": "quick" if args.quick else "full", "floor": floor,
              "pairwise": pairwise, "wall_seconds": time.perf_counter() - t_start, **run_info()}
    print(f"wrote {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
