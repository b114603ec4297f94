r"""The Fisher information of the regression model of Carroll (2023, DSLT3) and the rank its symmetries predict.

The model is :math:`Y = f(X, \theta) + \varepsilon` with :math:`\varepsilon \sim N(0, 1)` and :math:`X` uniform on
a box; its Fisher information is :math:`I(\theta) = E_X[\nabla_\theta f \, \nabla_\theta f^\top]`, estimated here on
a sample of inputs (Appendix 1 of DSLT3 works with the same matrix). The parameter order is
:math:`\theta = (w_1, b_1, q_1, \dots, w_h, b_h, q_h, c)` (:meth:`ReluNetwork.to_vector`), with
:math:`\operatorname{ReLU}'(0) = 0`.

The gradient features are :math:`\partial_{w_i} f = q_i H(z_i) x`, :math:`\partial_{b_i} f = q_i H(z_i)`,
:math:`\partial_{q_i} f = \operatorname{ReLU}(z_i)`, :math:`\partial_c f = 1` (H the unit step), and the rank of
:math:`I` is the dimension of their span as functions on the box. **Proposition (predicted rank).** Let A be the
affine functions on :math:`\mathbb{R}^n`. Group the nodes whose hyperplane crosses the box by hyperplane
(:math:`\ell_g`). A group with a node of :math:`q_i \ne 0` spans :math:`H(\ell_g) A` modulo A (dimension n + 1,
which contains :math:`\operatorname{ReLU}(\ell_g)`); a group of :math:`q_i = 0` nodes spans only
:math:`\operatorname{ReLU}(\ell_g)` (dimension 1). Everything else is affine: the constant from c; all of A from a
node with :math:`q_i \ne 0` that is always active on the box (or has :math:`w_i = 0, b_i > 0`), or from a crossing
group with :math:`q \ne 0` nodes of both orientations (:math:`H(\ell) + H(-\ell) = 1`); the line
:math:`w_i \cdot x + b_i` from an always-active node with :math:`q_i = 0` or a :math:`q = 0` node reversed against
its group. Then

.. math:: \operatorname{rank} I(\theta) = \dim(\text{affine span}) + \sum_g r_g, \qquad r_g \in \{n + 1, 1\},

because the functions :math:`H(\ell_g) p_g` with distinct crossing hyperplanes are independent modulo A: across
:math:`\ell_g = 0` their sum jumps by :math:`p_g`, which must vanish on an open piece of the hyperplane, so
:math:`p_g \propto \ell_g` and the term is :math:`\lambda \operatorname{ReLU}(\ell_g)`, killed by the kink lemma of
:mod:`.canonical`. For a generic network (all nodes crossing, distinct boundaries, :math:`q_i \ne 0`, one
orientation each) this gives nullity :math:`(n+2)h + 1 - (1 + (n+1)h) = h`: exactly one null direction per node,
:math:`(w_i, b_i, -q_i)`, the scaling symmetry (Appendix 1). Degenerate nodes, shared boundaries, nodes that miss
the box and opposite orientations on one boundary add more. Orientation reversal with weight annihilation alone
adds none (footnote 6 of DSLT3 conjectures this).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_rng, check_size, check_tolerance, check_tolerances
from ..units import DEFAULT_RTOL, key_tolerances, partition_keys, unit_keys
from .canonical import CROSSING, ON, _check_full_box, _check_net, regions
from .network import ReluNetwork

__all__ = ["fisher_gradients", "fisher_information", "fisher_spectrum", "fisher_rank", "predicted_fisher_rank",
           "uniform_inputs"]


def uniform_inputs(n_in: int, n_samples: int, lower: Any = -1.0, upper: Any = 1.0,
                   rng: np.random.Generator | int | None = None) -> np.ndarray:
    """``n_samples`` inputs uniform on the box (a scrambled Sobol' sequence, for even coverage), shape (N, n)."""
    from scipy.stats import qmc

    n_in = check_size(n_in, "n_in", minimum=1)
    n_samples = check_size(n_samples, "n_samples", minimum=1)
    lower, upper = _check_full_box(lower, upper, n_in)
    seed = int(as_rng(rng).integers(2**32 - 1))
    pts = qmc.Sobol(d=n_in, scramble=True, seed=seed).random(n_samples)
    return lower + pts * (upper - lower)


def fisher_gradients(net: ReluNetwork, x: Any) -> np.ndarray:
    r"""The gradient :math:`\nabla_\theta f(x, \theta)` at each input, shape (N, (n + 2) h + 1), in
    :meth:`ReluNetwork.to_vector` order, with :math:`\operatorname{ReLU}'(0) = 0`."""
    _check_net(net, "net")
    z = net.pre_activations(x)
    x = np.asarray(x, dtype=np.float64).reshape(len(z), net.n_in)
    N, h, n = len(z), net.width, net.n_in
    step = (z > 0).astype(np.float64) * net.q
    grads = np.empty((N, h, n + 2))
    grads[:, :, :n] = step[:, :, None] * x[:, None, :]
    grads[:, :, n] = step
    grads[:, :, n + 1] = np.maximum(z, 0.0)
    return np.hstack([grads.reshape(N, h * (n + 2)), np.ones((N, 1))])


def fisher_information(net: ReluNetwork, x: Any) -> np.ndarray:
    """:math:`I(\\theta) \\approx \\frac1N \\sum_k \\nabla f(x_k) \\nabla f(x_k)^\\top` on the inputs x (N, n);
    shape (P, P) with P = (n + 2) h + 1 (unit noise variance)."""
    g = fisher_gradients(net, x)
    return g.T @ g / len(g)


def fisher_spectrum(net: ReluNetwork, x: Any) -> np.ndarray:
    """Eigenvalues of :func:`fisher_information`, in decreasing order (from the SVD of the gradients, so the
    null directions come out at rounding level, about 1e-32 relative, not as negative noise)."""
    g = fisher_gradients(net, x) / np.sqrt(len(np.asarray(x)))
    s = np.linalg.svd(g, compute_uv=False)
    out = np.zeros(g.shape[1])
    out[: len(s)] = s**2
    return out


def fisher_rank(net: ReluNetwork, x: Any, rtol: float = 1e-10) -> int:
    """Numerical rank of the Fisher information on the inputs x: eigenvalues above ``rtol`` times the largest.

    Scaling-symmetry null directions are exact for every input, so they come out at rounding level (~1e-30
    relative); rtol only has to separate those from genuinely small eigenvalues."""
    rtol = check_tolerance(rtol, "rtol")
    ev = fisher_spectrum(net, x)
    return int(np.sum(ev > rtol * max(ev[0], 1e-300)))


def predicted_fisher_rank(net: ReluNetwork, lower: Any = -1.0, upper: Any = 1.0, atol: float = 0.0,
                          rtol: float = DEFAULT_RTOL) -> int:
    """The rank of the Fisher information for X uniform on the box, from the proposition of :ref:`proof-fisher-rank`.

    Parameters
    ----------
    net : ReluNetwork
    lower, upper : array_like or scalars
        The full-dimensional input box.
    atol, rtol : float
        Tolerances for grouping hyperplanes and for the regions of :func:`~nncompress.relu_symmetry.box_regions`
        (as in :func:`~nncompress.relu_symmetry.equivalent`).

    Returns
    -------
    int
    """
    _check_net(net, "net")
    atol, rtol = check_tolerances(atol, rtol)
    lower, upper = _check_full_box(lower, upper, net.n_in)
    n = net.n_in
    w, b, q = net.w, net.b, net.q
    norm = np.sqrt(np.einsum("ij,ij->i", w, w))
    region = regions(w, b, lower, upper, atol, rtol)
    affine: list[np.ndarray] = [np.eye(n + 1)[n]]  # the constant, from c
    full_affine = np.eye(n + 1)
    zero_w = norm == 0
    for i in np.flatnonzero(zero_w):
        if b[i] > 0:
            affine.extend(full_affine if q[i] != 0 else [np.eye(n + 1)[n]])
    for i in np.flatnonzero(~zero_w & (region == ON)):
        affine.extend(full_affine if q[i] != 0 else [np.append(w[i], b[i])])
    cross = np.flatnonzero(~zero_w & (region == CROSSING))
    rank = 0
    if len(cross):
        keys, s, _ = unit_keys(w[cross], b[cross], atol)
        part = partition_keys(keys, key_tolerances(keys, atol, rtol))
        for g in range(int(part.max()) + 1):
            members = np.flatnonzero(part == g)
            idx = cross[members]
            live = q[idx] != 0
            rank += n + 1 if live.any() else 1
            if live.any():
                orients = set(s[members][live].tolist())
                if len(orients) == 2:
                    affine.extend(full_affine)
                dead_other = members[~live & (s[members] != s[members][live][0])]
            else:
                dead_other = members[s[members] != s[members][0]]
            if len(dead_other):
                affine.append(keys[dead_other[0]])
    rank += int(np.linalg.matrix_rank(np.array(affine)))
    return rank
