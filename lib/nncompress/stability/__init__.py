"""Exact compression of ReLU networks by neuron stability (Serra, Yu, Kumar, Ramalingam 2021).

``find_stable_neurons`` proves which neurons of a ReLU MLP are stably active or inactive over an input box
(MILP (1)-(6), ISA = Algorithm 1, and a faster sound pipeline); ``leo_compress`` removes them exactly (LEO++);
``verify`` compares two networks on data and on random points of the box.
"""

from .bounds import affine_bounds, backsubstitution_bounds, interval_bounds
from .engine import METHODS, StabilityReport, find_stable_neurons
from .leo import LeoResult, compress_with_report, leo_compress, verify
from .network import as_mlp, check_box, check_mlp, fingerprint, forward, from_torch, pre_activations, to_torch

__all__ = [
    "find_stable_neurons",
    "StabilityReport",
    "METHODS",
    "leo_compress",
    "compress_with_report",
    "LeoResult",
    "verify",
    "interval_bounds",
    "affine_bounds",
    "backsubstitution_bounds",
    "check_mlp",
    "as_mlp",
    "check_box",
    "forward",
    "pre_activations",
    "from_torch",
    "to_torch",
    "fingerprint",
]
