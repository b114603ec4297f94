"""The bounded-rank region of tanh networks as a union of linear subspaces (seed 000, Section 5, Theorem 5.1).

See :mod:`nncompress.rank_regions.subspaces` for the definitions, the canonical traces and the proofs;
:mod:`nncompress.rank_regions.experiments` for Chapter 2's experiments.
"""

from .subspaces import (
    Subspace,
    Trace,
    bounded_rank_subspaces,
    canonical_form,
    canonical_trace,
    compression_traces,
    count_subspaces,
    count_traces,
    distance_to_bounded_rank,
    relax_to_length,
    set_partitions,
)

__all__ = [
    "Trace",
    "Subspace",
    "set_partitions",
    "compression_traces",
    "bounded_rank_subspaces",
    "count_traces",
    "count_subspaces",
    "canonical_form",
    "canonical_trace",
    "relax_to_length",
    "distance_to_bounded_rank",
]
