"""The symmetries of two-layer ReLU networks (Carroll, 2023, *DSLT3. Neural Networks are Singular*).

``ReluNetwork`` (f(x) = c + sum_i q_i ReLU(w_i . x + b_i), any input dimension), its canonical form (hyperplanes,
kinks, affine part), functional equivalence on R^n (``equivalent``) and on a box (``equivalent_on_box``), the
classification of the symmetry between a model and a truth (``classify``), the ReLU rank and an optimal lossless
compression (``relu_rank``, ``relu_compress``), and the Fisher information with the rank its symmetries predict.
"""

from .canonical import CanonicalForm, box_regions, canonical_form, equivalent, equivalent_on_box
from .classify import SYMMETRIES, NodeMatch, SymmetryReport, classify
from .fisher import (fisher_gradients, fisher_information, fisher_rank, fisher_spectrum, predicted_fisher_rank,
                     uniform_inputs)
from .network import ReluNetwork, m_symmetric
from .rank import Absorption, absorb_linear, relu_compress, relu_rank

__all__ = [
    "ReluNetwork",
    "m_symmetric",
    "CanonicalForm",
    "canonical_form",
    "equivalent",
    "equivalent_on_box",
    "box_regions",
    "classify",
    "SymmetryReport",
    "NodeMatch",
    "SYMMETRIES",
    "relu_rank",
    "relu_compress",
    "absorb_linear",
    "Absorption",
    "fisher_gradients",
    "fisher_information",
    "fisher_spectrum",
    "fisher_rank",
    "predicted_fisher_rank",
    "uniform_inputs",
]
