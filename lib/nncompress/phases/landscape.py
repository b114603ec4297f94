r"""The population loss :math:`K(w)` of two-layer ReLU regression, on slices of parameter space, and its minimisers
in each phase (the prototypes that phase labels and learning coefficients refer to).

For Gaussian noise of variance :math:`\sigma^2` and inputs uniform on the box, the Kullback-Leibler divergence from
the truth to the model is

.. math::  K(w) = \frac{1}{2\sigma^2} \, E_X\big[(f(X, w) - f_0(X))^2\big]

(Carroll 2023, DSLT3, Example 3.2); the expectation is taken by the midpoint rule on an ``n_grid`` x ``n_grid``
grid, which is exact to :math:`O(n_{grid}^{-2})` away from kinks and :math:`O(n_{grid}^{-2})` overall for these
continuous piecewise-linear integrands.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize

from .._validation import as_float_array, as_rng, check_size
from ..relu_symmetry import ReluNetwork
from .labelling import box_grid
from .model import ReluRegression, check_positive, from_network, predict, to_network

__all__ = ["population_loss", "k_slice", "best_fit", "phase_point"]


def population_loss(theta: Any, truth: ReluNetwork, width: int, n_grid: int = 101, low: float = -1.0,
                    high: float = 1.0, noise_sd: float = 1.0) -> np.ndarray:
    """:math:`K(w)` of each parameter vector (rows of ``theta``) against ``truth``: shape (P,)."""
    if not isinstance(truth, ReluNetwork):
        raise TypeError(f"truth must be a ReluNetwork, got {type(truth).__name__}")
    noise_sd = check_positive(noise_sd, "noise_sd")
    x = box_grid(check_size(n_grid, "n_grid", minimum=1), low, high)
    f = predict(theta, x, width)
    return 0.5 * np.mean((f - truth(x)) ** 2, axis=1) / noise_sd**2


def k_slice(base: Any, i: int, j: int, values_i: Any, values_j: Any, truth: ReluNetwork, width: int,
            n_grid: int = 61, noise_sd: float = 1.0) -> np.ndarray:
    """:math:`K` on the two-parameter slice through ``base`` (D,) varying coordinates ``i`` and ``j``:
    shape (len(values_j), len(values_i)), rows indexed by ``values_j`` (ready for ``contourf``)."""
    base = as_float_array(base, "base", ndim=1)
    vi, vj = as_float_array(values_i, "values_i", ndim=1), as_float_array(values_j, "values_j", ndim=1)
    for name, k in (("i", i), ("j", j)):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < len(base):
            raise ValueError(f"{name} must be a coordinate index in [0, {len(base)}), got {k!r}")
    if i == j:
        raise ValueError("i and j must be different coordinates")
    grid = np.repeat(base[None, :], len(vi) * len(vj), axis=0)
    gi, gj = np.meshgrid(vi, vj)
    grid[:, i], grid[:, j] = gi.ravel(), gj.ravel()
    return population_loss(grid, truth, width, n_grid, noise_sd=noise_sd).reshape(len(vj), len(vi))


def best_fit(truth: ReluNetwork, width: int, rng: np.random.Generator | int | None = None, n_starts: int = 20,
             n_grid: int = 81, init: list[ReluNetwork] | None = None, affine: bool = False
             ) -> tuple[ReluNetwork, float]:
    r"""The network of ``width`` nodes closest to ``truth`` in :math:`K` (Carroll 2023, Example 3.2; on the box
    [-1, 1]^2, midpoint rule on ``n_grid``^2 points), by L-BFGS from ``n_starts`` random starts (standard normal
    parameters) and from the networks in ``init``: returns (network, K). A local search: more starts, or good
    ``init`` networks, make the global minimum more likely.

    With ``affine=True`` the fit is ``width`` kinks *plus an affine part* :math:`a \cdot x` on the box, the set that
    :func:`~nncompress.phases.label_phases` counts as ``width`` effective nodes in a model one node wider (a node
    whose hyperplane misses the box is affine there). The affine part is optimal for each kink configuration (a
    least-squares solve, so the gradient is that of the loss at the optimal part), and the returned network has
    ``width + 1`` nodes, the last one :math:`\operatorname{ReLU}(a \cdot x + \|a\|_1 + 1)`, active on the whole box."""
    if not isinstance(truth, ReluNetwork):
        raise TypeError(f"truth must be a ReluNetwork, got {type(truth).__name__}")
    width, n_starts = check_size(width, "width", minimum=1), check_size(n_starts, "n_starts", minimum=1)
    rng = as_rng(rng)
    x = box_grid(check_size(n_grid, "n_grid", minimum=2))
    fit = ReluRegression(x, truth(x), width)
    const = 0.5 * fit.n * math.log(2 * math.pi)

    def k_and_grad(t: np.ndarray) -> tuple[float, np.ndarray]:
        target = fit
        if affine:  # the best affine part for these kinks, then the loss and gradient at it (envelope theorem)
            a = np.linalg.lstsq(x, fit.y - predict(t[None, :], x, width)[0], rcond=None)[0]
            target = ReluRegression(x, fit.y - x @ a, width)
        ll, g = target.log_lik(t[None, :])
        return float(-(ll[0] + const) / fit.n), -g[0] / fit.n

    starts = [rng.normal(size=fit.dim) for _ in range(n_starts)]
    for net in init or []:
        if affine and isinstance(net, ReluNetwork) and net.width == width + 1:  # a fit with its affine node
            net = ReluNetwork(net.w[:width], net.b[:width], net.q[:width], net.c)
        if not isinstance(net, ReluNetwork) or net.width != width:
            raise TypeError(f"init must hold ReluNetworks of width {width}")
        starts.append(from_network(net))
    best = None
    for x0 in starts:
        res = minimize(k_and_grad, x0, jac=True, method="L-BFGS-B")
        if best is None or res.fun < best.fun:
            best = res
    net = to_network(best.x, width)
    if affine:
        a = np.linalg.lstsq(x, fit.y - predict(best.x[None, :], x, width)[0], rcond=None)[0]
        lift = float(np.abs(a).sum()) + 1.0
        net = ReluNetwork(np.vstack([net.w, a]), np.append(net.b, lift), np.append(net.q, 1.0), net.c - lift)
    return net, float(best.fun)


def phase_point(nodes: ReluNetwork, width: int) -> np.ndarray:
    """A parameter of a width-``width`` model computing ``nodes`` (fewer nodes) exactly: the extra nodes are
    degenerate with :math:`w_i = 0, b_i = 0, q_i = 0` (Carroll 2023, DSLT3, "Node Degeneracy")."""
    if not isinstance(nodes, ReluNetwork):
        raise TypeError(f"nodes must be a ReluNetwork, got {type(nodes).__name__}")
    width = check_size(width, "width", minimum=nodes.width)
    extra = width - nodes.width
    k = nodes.n_in
    net = ReluNetwork(np.vstack([nodes.w, np.zeros((extra, k))]), np.concatenate([nodes.b, np.zeros(extra)]),
                      np.concatenate([nodes.q, np.zeros(extra)]), nodes.c)
    return from_network(net)
