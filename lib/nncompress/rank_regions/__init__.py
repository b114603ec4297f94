"""The bounded-rank region of tanh networks as a union of linear subspaces (Farrugia-Roberts, 2024, Section 5,
Theorem 5.1).

See ``nncompress.rank_regions.subspaces`` for the definitions, the canonical traces and the proofs;
``nncompress.rank_regions.experiments`` for Chapter 2's experiments.
"""

from . import subspaces
from .subspaces import *  # noqa: F401,F403 - the public API is subspaces.__all__

__all__ = list(subspaces.__all__)
