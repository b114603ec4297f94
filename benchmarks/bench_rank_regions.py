"""Listing the subspaces of Theorem 5.1 for h = 7 and every r, against the naive route; prints the ratio.

Ours: enumerate only canonical traces (one per distinct subspace, see ``nncompress.rank_regions``), and build
``bounded_rank_subspaces(h, r)`` and ``bounded_rank_subspaces(h, r, maximal=True)`` for every r.
Naive: enumerate every raw trace (every subset, set partition, removed set and sign vector) of each length and
deduplicate by mapping each to its canonical form. Targets: all of h = 7 in under 10 s, at least 10x faster.

Usage: ``python benchmarks/bench_rank_regions.py [--h H] [--quick]`` (``--quick``: h = 5).
"""

from __future__ import annotations

import argparse
import time

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
    args = parser.parse_args()
    h = 5 if args.quick else args.h
    start = time.perf_counter()
    distinct, maximal = ours(h)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    components = naive(h)
    t_naive = time.perf_counter() - start
    assert components == maximal == sum(count_subspaces(h, r) for r in range(h + 1))
    print(f"h={h}: {maximal:,} components over all r, {distinct:,} subspaces of traces of length <= r")
    print(f"ours {t_ours:6.2f} s (target < 10 s)   naive {t_naive:6.2f} s   speed-up {t_naive / t_ours:5.1f}x "
          "(target >= 10x)")


if __name__ == "__main__":
    main()
