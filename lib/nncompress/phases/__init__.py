"""Posterior phases of two-layer ReLU regression near degenerate truths (Carroll 2023, DSLT3, and its sequel DSLT4).

The pymc model and a fast vectorised version (``ReluRegression``, ``build_pymc_model``), the truths of DSLT4
(``m_symmetric``, ``deforming_pair``, ``scaled_three_node``), samplers (pymc's NUTS through ``sample_nuts``;
vectorised HMC ``hmc`` and tempered sequential Monte Carlo ``smc``), InferenceData with label-invariant diagnostics,
phase labelling with Chapter 4's canonical form (``label_phases``), the population loss K(w) on slices
(``population_loss``, ``k_slice``), and the local learning coefficient and its multiplicity
(``local_learning_coefficient``, the single-temperature ``wbic_llc``) with the models of known value that validate
them (``nncompress.phases.known_models``).
"""

from .experiments import (PHASE_LLC_SETTINGS, deformation_claims, deformation_sweep, experiment_rng, llc_validation,
                          measured_switch, one_node_fits, one_node_gap, orientation_claims, orientation_sweep,
                          phase_llcs, phase_run, reversed_network)
from .inference import (INVARIANTS, hmc_to_inference_data, invariant_draws, invariant_summary, run_ess, sample_nuts,
                        smc_to_inference_data, test_points, to_inference_data)
from .labelling import (PhaseLabels, box_grid, effective_gradients, effective_weights, label_phases,
                        nearest_prototype, orientation_phases)
from .landscape import best_fit, k_slice, phase_point, population_loss
from .known_models import (NORMAL_CROSSINGS, RRR_CASES, NormalCrossing, llc_validation_table,
                           normal_crossing_coefficient)
from .learning_coefficient import (LinearRegression, LLCResult, PopulationRRR, PopulationTarget, ReducedRankRegression,
                                   linear_data, local_learning_coefficient, regular_llc_exact, relu_population,
                                   rrr_data, rrr_learning_coefficient, rrr_multiplicity, rrr_population, wbic_llc)
from .model import (RegressionData, ReluRegression, build_pymc_model, make_data, predict, pymc_to_theta, to_network,
                    wbic_beta)
from .samplers import HMCResult, SMCResult, hmc, hmc_step, smc
from .truths import deforming_pair, degenerate_pair, m_symmetric, scaled_three_node

__all__ = [
    # model
    "RegressionData", "ReluRegression", "make_data", "build_pymc_model", "wbic_beta", "predict", "to_network",
    "pymc_to_theta",
    # truths
    "m_symmetric", "deforming_pair", "degenerate_pair", "scaled_three_node", "reversed_network",
    # samplers and diagnostics
    "hmc", "hmc_step", "HMCResult", "smc", "SMCResult", "sample_nuts", "to_inference_data", "hmc_to_inference_data",
    "smc_to_inference_data", "invariant_draws", "invariant_summary", "run_ess", "test_points", "INVARIANTS",
    # phase labels
    "label_phases", "PhaseLabels", "orientation_phases", "nearest_prototype", "effective_gradients",
    "effective_weights", "box_grid",
    # K(w)
    "population_loss", "k_slice", "best_fit", "phase_point",
    # learning coefficient
    "local_learning_coefficient", "wbic_llc", "LLCResult", "LinearRegression", "ReducedRankRegression",
    "PopulationRRR", "PopulationTarget", "relu_population", "linear_data", "rrr_data", "rrr_population",
    "rrr_learning_coefficient", "rrr_multiplicity", "regular_llc_exact",
    # models with known (lambda, m)
    "NormalCrossing", "normal_crossing_coefficient", "NORMAL_CROSSINGS", "RRR_CASES", "llc_validation_table",
    # experiments
    "experiment_rng", "phase_run", "deformation_sweep", "deformation_claims", "orientation_claims", "one_node_fits",
    "one_node_gap", "measured_switch", "orientation_sweep", "llc_validation", "phase_llcs", "PHASE_LLC_SETTINGS",
]
