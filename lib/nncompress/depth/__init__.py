"""Obstacles to depth compression (Burstein and Wilmes, 2020), made executable.

* :class:`LayeredNetwork`: networks of the class NN_{Lambda,d} (Definition 1), Frobenius and spectral norms, the
  Lipschitz bound of Proposition 1, torch converters, block-diagonal products.
* :func:`parity_network`: Lemma 2, an exact depth-3 ReLU network for a parity on {-1, +1}^n with O(sqrt n) gates.
* :func:`theorem1_network`, :class:`ParityPerturbation`, :func:`exact_compression`: the proof of Theorem 1 (and of
  Theorem 2 with ``noise > 0``): the deep separator f, the eta-perturbation family D_h, the lossless depth-3
  compression.
* :func:`z_map`, :func:`sample_tilde`, :func:`tilde_pmf`, :func:`recover_parity`: Lemma 1 as an algorithm, which
  turns any compression into the hidden parity.
* :func:`product_network`, :func:`global_compression`, :func:`piece_lower_bound`: Theorem 3 with Telgarsky's sawtooth
  as the depth-separation gadget.
* :func:`sawtooth_norm_bounds`, :func:`gadget_norm_table`, :func:`balance_layers`, :func:`balance_units`,
  :func:`min_norm_depth2`, :func:`interpolant_network`: Definition 2 with its norm bound, for the sawtooth gadget.
* :func:`fit_gadget_student`, :func:`train_gadget_students`: depth-2 local students trained on the gadget.
* :func:`train_student`, :func:`distill_parity`, :func:`distillation_sweep`: distillation-style depth compression,
  and how it fails as n grows; :func:`compare_growth`: exponential against polynomial growth of its cost.
"""

from .distill import (DistillResult, distill_parity, distillation_sweep, evaluate_student, samples_to_accuracy,
                      train_student)
from .gadget import (count_pieces, depth2_sawtooth, gadget_network, global_compression, knot_fit, knot_fit_mse,
                     piece_lower_bound, product_network, sawtooth, window_contents, block_slices)
from .growth import compare_growth, fit_model
from .lemma1 import (ParityRecovery, lemma1_tv_bound, recover_parity, recovered_signs, sample_tilde, tilde_pmf,
                     walsh_hadamard, z_map)
from .local import fit_gadget_student, train_gadget_students
from .network import ACTIVATIONS, LayeredNetwork, block_diagonal, identity_layer, lipschitz_ratios, random_network
from .norms import (VARIANCE, balance_layers, balance_units, damped_sawtooth, gadget_norm_table, interpolant_network,
                    min_norm_depth2, sawtooth_norm_bounds, tent_wave)
from .parity import (check_subset, fold_period, hypercube, parity, parity_network, parity_network_depth2,
                     random_subset)
from .theorem1 import (ParityPerturbation, embed_first_layer, exact_compression, max_parity_bits, separator_gaps,
                       theorem1_network)

__all__ = [
    "ACTIVATIONS",
    "LayeredNetwork",
    "block_diagonal",
    "identity_layer",
    "lipschitz_ratios",
    "random_network",
    "check_subset",
    "fold_period",
    "hypercube",
    "parity",
    "parity_network",
    "parity_network_depth2",
    "random_subset",
    "ParityPerturbation",
    "embed_first_layer",
    "exact_compression",
    "max_parity_bits",
    "separator_gaps",
    "theorem1_network",
    "ParityRecovery",
    "lemma1_tv_bound",
    "recover_parity",
    "recovered_signs",
    "sample_tilde",
    "tilde_pmf",
    "walsh_hadamard",
    "z_map",
    "count_pieces",
    "depth2_sawtooth",
    "gadget_network",
    "global_compression",
    "knot_fit",
    "knot_fit_mse",
    "piece_lower_bound",
    "product_network",
    "sawtooth",
    "window_contents",
    "block_slices",
    "DistillResult",
    "distill_parity",
    "distillation_sweep",
    "evaluate_student",
    "samples_to_accuracy",
    "train_student",
    "compare_growth",
    "fit_model",
    "fit_gadget_student",
    "train_gadget_students",
    "VARIANCE",
    "balance_layers",
    "balance_units",
    "damped_sawtooth",
    "gadget_norm_table",
    "interpolant_network",
    "min_norm_depth2",
    "sawtooth_norm_bounds",
    "tent_wave",
]
