"""Lossless compression of single-hidden-layer tanh networks (Farrugia-Roberts, 2024).

``TanhNetwork`` (Section 3, Appendix A), ``compress`` (Algorithm 4.1), ``rank`` (Algorithm 4.2), the compression
trace behind both (Section 5), Sussmann's reducibility conditions, random expansions for checking the theorems,
and approximate compressibility within an L-infinity ball (Section 6: proximate rank).
"""

from ..units import generalised_sign
from .compress import CompressionTrace, compress, compression_trace, is_reducible, rank
from .expand import random_expansion, random_network
from .network import TanhNetwork
from .proximate import ProximateCompression, proximate_compress, proximate_rank

__all__ = [
    "TanhNetwork",
    "compress",
    "rank",
    "is_reducible",
    "compression_trace",
    "CompressionTrace",
    "generalised_sign",
    "random_network",
    "random_expansion",
    "proximate_compress",
    "proximate_rank",
    "ProximateCompression",
]
