"""Listing the subspaces of Theorem 5.1 for h = 7 and every r, against the naive route; prints the ratio.

Ours: enumerate only canonical traces (one per distinct subspace, see ``nncompress.rank_regions``), and build
``bounded_rank_subspaces(h, r)`` and ``bounded_rank_subspaces(h, r, maximal=True)`` for every r.
Naive: enumerate every raw trace (every subset, set partition, removed set and sign vector) of each length and
deduplicate by mapping each to its canonical form. Targets: all of h = 7 in under 10 s, at least 10x faster.

Usage: ``python benchmarks/bench_rank_regions.py [--h H] [--quick] [--out FILE]`` (``--quick``: h = 5). The figures
are also written to ``benchmarks/results/bench_rank_regions.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import time

from _timing import add_out_argument, run_info, time_once, write_json

from nncompress.rank_regions import bounded_rank_subspaces, canonical_form, compression_traces, count_subspaces


def ours(h: int) -> tuple[int, int]:
    distinct = sum(len(bounded_rank_subspaces(h, r)) for r in range(h + 1))
    maximal = sum(len(bounded_rank_subspaces(h, r, maximal=True)) for r in range(h + 1))
    return distinct, maximal


def naive(h: int) -> int:
    """Distinct subspaces of each length, by deduplicating all raw traces."""
    return sum(len({canonical_form(t) for t in compression_traces(h, r, canonical=False)}) for r in range(h + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--h", type=int, default=7, help="number of hidden units (default 7)")
    parser.add_argument("--quick", action="store_true", help="h = 5, for a smoke run")
    add_out_argument(parser, "bench_rank_regions")
    args = parser.parse_args()
    t_start = time.perf_counter()
    h = 5 if args.quick else args.h
    # One timing each: ``ours`` caches the subspaces it builds, so a second run would time the cache.
    t_ours, (distinct, maximal) = time_once(lambda: ours(h))
    t_naive, components = time_once(lambda: naive(h))
    assert components == maximal == sum(count_subspaces(h, r) for r in range(h + 1))
    print(f"h={h}: {maximal:,} components over all r, {distinct:,} subspaces of traces of length <= r")
    print(f"ours {t_ours:6.2f} s (target < 10 s)   naive {t_naive:6.2f} s   speed-up {t_naive / t_ours:5.1f}x "
          "(target >= 10x)")
    record = {"benchmark": "bench_rank_regions", "settings": "quick" if args.quick else "full", "h": h,
              "components": maximal, "subspaces": distinct, "ours_seconds": t_ours, "naive_seconds": t_naive,
              "speedup": t_naive / t_ours, "target_max_ours_seconds": 10.0, "target_min_speedup": 10.0,
              "wall_seconds": time.perf_counter() - t_start, **run_info()}
    print(f"wrote {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
