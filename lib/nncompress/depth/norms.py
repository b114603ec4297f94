r"""Definition 2 of Burstein and Wilmes (2020) with its norm bound: how large a weight norm a depth-2 network needs
to approximate the Theorem 3 gadget (Telgarsky's sawtooth), and why a low-dimensional gadget cannot need more than
a polynomial one.

Definition 2 calls f :math:`(\varepsilon, s, t)`-locally compressible if some slice :math:`f^{[i:i+t]}` has an
:math:`(\varepsilon, \mathrm{NN}_{\Lambda', s})`-compression with :math:`\Lambda' = \mathrm{poly}(\Lambda, d)`: the
*weight norm* is bounded, the width is free. For the sawtooth :math:`T_K` (K teeth on [0, 1], uniform input, variance
1/12) this module gives, for every error :math:`\varepsilon`, a proven lower bound and an explicit construction
(upper bound) for the smallest :math:`\Lambda'` of a depth-2 network within mean squared error
:math:`\varepsilon`, in two student classes:

* **ReLU hidden layer, linear output** (the book's reading of Definition 1). Along the input line a depth-2 ReLU
  network :math:`q(x) = \sum_t c_t \operatorname{ReLU}(w_t x + b_t) + \beta` has slope changes of total size
  :math:`V = \sum_t |c_t w_t| \le \|c\|_2 \|w\|_2 \le \Lambda'^2` (Cauchy-Schwarz). On a tooth I of length 1/K
  with :math:`V_I` of it, q is within :math:`V_I / (2K)` of an affine map, and no affine map is closer to the tent
  than its standard deviation :math:`1/\sqrt{12}` (the tent is symmetric, so the best affine fit is a constant). So
  :math:`\|q - T_K\|_{L^2(I)} \ge \sqrt{|I|}\,(1/\sqrt{12} - V_I/(2K))`, and by convexity (Jensen over the K teeth)

  .. math:: E (q - T_K)^2 \ge \big(1/\sqrt{12} - V / (2K^2)\big)_+^2,
     \qquad\text{hence}\qquad \Lambda' \ge K \sqrt{2 (1/\sqrt{12} - \sqrt{\varepsilon})}.

  The damped exact network :math:`\alpha T_K + (1 - \alpha)/2` has error :math:`(1 - \alpha)^2 / 12` and, balanced
  unit by unit, :math:`\Lambda'^2 = \alpha \sum_t |c_t| = \alpha (8K^2 - 2K)`: the bounds agree up to a constant
  factor :math:`(4\sqrt{12})^{1/2} \approx 3.7` for every :math:`\varepsilon`.
* **Any 1-Lipschitz activations** (Definition 1 as written). Proposition 1 makes a depth-2 member
  :math:`\Lambda'^2`-Lipschitz, and an L-Lipschitz q is within :math:`L/(2K)` of a constant on each tooth, so
  :math:`\Lambda' \ge \sqrt{2K (1/\sqrt{12} - \sqrt{\varepsilon})}`; the network :math:`\tau(\sqrt{2K}\,(\sqrt{2K}x))`
  with the 1-Lipschitz tent wave :math:`\tau(y) = \operatorname{dist}(y, 2\mathbb Z)` as second activation computes
  :math:`T_K` exactly with :math:`\Lambda' = \sqrt{2K}`.

The gadget :math:`T_m \circ T_m = T_{2m^2}` itself, as a depth-3 ReLU network balanced layer by layer, has
:math:`\Lambda_g \approx (16 K^2)^{1/3}`; so the depth-2 norm needed is :math:`\Theta(\Lambda_g^{3/2})` (ReLU) and
:math:`\Theta(\Lambda_g^{3/4})` (any activation): polynomial, not the super-polynomial gap Definition 2 needs.

**No one-dimensional gadget can do better** (:func:`interpolant_network`): any L-Lipschitz function on [0, 1] is
within :math:`\delta` (uniformly) of its piecewise-linear interpolant on :math:`\lceil L/\delta \rceil` equal
cells, a depth-2 ReLU network with :math:`V \le 2L\lceil L/\delta\rceil`, hence
:math:`\Lambda' \le \sqrt{2L\lceil L/\delta \rceil}`. A gadget in :math:`\mathrm{NN}_{\Lambda,k}` has
:math:`L \le \Lambda^k`, so with :math:`\delta = \sqrt{\varepsilon}` its slices are
:math:`\varepsilon`-compressible to depth 2 with :math:`\Lambda' = O(\Lambda^k \varepsilon^{-1/4})`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validation import check_size, check_tolerance
from .gadget import depth2_sawtooth, gadget_network, sawtooth
from .network import LayeredNetwork

__all__ = [
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

#: Variance of :math:`T_K(x)` for x uniform on [0, 1] (its values are uniform on [0, 1]): the constant predictor's
#: mean squared error.
VARIANCE = 1.0 / 12.0

_HOMOGENEOUS = ("relu", "identity")


def _check_net(net: Any) -> LayeredNetwork:
    if not isinstance(net, LayeredNetwork):
        raise TypeError(f"net must be a LayeredNetwork, got {type(net).__name__}")
    if any(a not in _HOMOGENEOUS for a in net.activations[:-1]):
        raise ValueError("net must have positively homogeneous hidden activations (relu or identity) to be rescaled")
    return net


def balance_layers(net: LayeredNetwork) -> LayeredNetwork:
    r"""The same function with every layer's Frobenius norm equal to :math:`(\prod_i \|W_i\|_F)^{1/d}`.

    ReLU is positively homogeneous: scaling layer i's weights by :math:`s_i > 0` and its bias by
    :math:`s_1 \cdots s_i`, with :math:`\prod_i s_i = 1`, leaves the function unchanged (biases are free in
    Definition 1). The result's :attr:`~LayeredNetwork.lam` is the smallest over such layer scalings."""
    net = _check_net(net)
    norms = net.frobenius_norms()
    if np.any(norms == 0):
        return net
    target = float(np.exp(np.mean(np.log(norms))))
    scales = target / norms
    cum = np.cumprod(scales)
    return LayeredNetwork([s * w for s, w in zip(scales, net.weights)], [c * b for c, b in zip(cum, net.biases)],
                          list(net.activations))


def min_norm_depth2(net: LayeredNetwork) -> float:
    r""":math:`\sqrt{\sum_t \|w_t\|_2 \|c_t\|_2}` for a depth-2 network (:math:`w_t` = row t of :math:`W_1`,
    :math:`c_t` = column t of :math:`W_2`): the smallest :math:`\max(\|W_1\|_F, \|W_2\|_F)` over per-unit rescalings
    :math:`(w_t, b_t, c_t) \to (a_t w_t, a_t b_t, c_t / a_t)`, since
    :math:`\|W_1\|_F \|W_2\|_F \ge \sum_t \|w_t\| \|c_t\|` (Cauchy-Schwarz) with equality at
    :math:`a_t^2 = \|c_t\| / \|w_t\|`. :func:`balance_units` attains it."""
    net = _check_net(net)
    if net.depth != 2:
        raise ValueError(f"net must have depth 2, got {net.depth}")
    w1, w2 = net.weights
    return float(np.sqrt(np.sum(np.linalg.norm(w1, axis=1) * np.linalg.norm(w2, axis=0))))


def balance_units(net: LayeredNetwork) -> LayeredNetwork:
    """The depth-2 ``net`` rescaled unit by unit to the norm :func:`min_norm_depth2` (same function; units with a
    zero row or column are dropped, they contribute nothing)."""
    net = _check_net(net)
    if net.depth != 2:
        raise ValueError(f"net must have depth 2, got {net.depth}")
    (w1, w2), (b1, b2) = net.weights, net.biases
    rn, cn = np.linalg.norm(w1, axis=1), np.linalg.norm(w2, axis=0)
    keep = (rn > 0) & (cn > 0)
    if not np.any(keep):
        return LayeredNetwork([w1[:1] * 0, w2[:, :1] * 0], [b1[:1] * 0, b2], list(net.activations))
    a = np.sqrt(cn[keep] / rn[keep])
    return LayeredNetwork([w1[keep] * a[:, None], w2[:, keep] / a[None, :]], [b1[keep] * a, b2],
                          list(net.activations))


def damped_sawtooth(teeth: int, alpha: float) -> LayeredNetwork:
    r""":math:`\alpha T_K + (1 - \alpha)/2` as a depth-2 ReLU network with a linear output, balanced unit by unit;
    its mean squared error against :math:`T_K` under the uniform input is :math:`(1 - \alpha)^2 / 12`."""
    teeth = check_size(teeth, "teeth", minimum=1)
    alpha = check_tolerance(alpha, "alpha")
    if alpha > 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    base = depth2_sawtooth(teeth)
    net = LayeredNetwork([base.weights[0], alpha * base.weights[1]], [base.biases[0], np.array([(1 - alpha) / 2])])
    return balance_units(net)


def tent_wave(y: Any) -> np.ndarray:
    r"""The 1-Lipschitz tent wave :math:`\tau(y) = \operatorname{dist}(y, 2\mathbb Z)` (values in [0, 1]); with it,
    :math:`T_K(x) = \tau(2Kx)`."""
    y = np.asarray(y, dtype=float)
    return np.abs(y - 2.0 * np.round(y / 2.0))


def sawtooth_norm_bounds(teeth: int, eps: float) -> dict[str, float]:
    r"""Bounds on the smallest :math:`\Lambda'` of a depth-2 network with mean squared error at most ``eps``
    against :math:`T_K` (K = ``teeth``) under the uniform input (proofs: :ref:`proof-norm-bound`).

    Returns ``relu_lower``, ``relu_upper`` (ReLU hidden layer, linear output), ``any_lower``, ``any_upper``
    (any 1-Lipschitz activations; the upper bound is the exact network, error 0). The lower bounds are 0 once
    ``eps`` reaches the variance 1/12 (the constant 1/2 needs no weights)."""
    k = check_size(teeth, "teeth", minimum=1)
    eps = check_tolerance(eps, "eps")
    gap = max(0.0, np.sqrt(VARIANCE) - np.sqrt(eps))
    alpha = max(0.0, 1.0 - np.sqrt(eps / VARIANCE))
    return {"relu_lower": k * np.sqrt(2.0 * gap), "relu_upper": float(np.sqrt(alpha * (8.0 * k * k - 2.0 * k))),
            "any_lower": float(np.sqrt(2.0 * k * gap)), "any_upper": float(np.sqrt(2.0 * k))}


def interpolant_network(f: Callable[[np.ndarray], np.ndarray], lipschitz: float, delta: float) -> LayeredNetwork:
    r"""The piecewise-linear interpolant of ``f`` on :math:`N = \lceil L/\delta \rceil` equal cells of [0, 1], as a
    depth-2 ReLU network balanced unit by unit.

    If ``f`` is L-Lipschitz (L = ``lipschitz``) the interpolant is within :math:`L/N \le \delta` of f everywhere on
    [0, 1] (both are L-Lipschitz and agree at the cell ends), its slopes are at most L in size, so its slope changes
    total :math:`V \le L + 2L(N - 1) < 2LN` and its norm is :math:`\Lambda' = \sqrt V \le \sqrt{2L\lceil L/\delta
    \rceil}`: polynomial in L and :math:`1/\delta`, whatever the depth of f."""
    lipschitz = check_tolerance(lipschitz, "lipschitz")
    delta = check_tolerance(delta, "delta")
    if lipschitz == 0 or delta == 0:
        raise ValueError("lipschitz and delta must be > 0")
    cells = int(np.ceil(lipschitz / delta))
    knots = np.arange(cells + 1) / cells
    vals = np.asarray(f(knots[:, None]), dtype=float).reshape(-1)
    slopes = np.diff(vals) * cells
    jumps = np.diff(np.concatenate([[0.0], slopes]))
    net = LayeredNetwork([np.ones((cells, 1)), jumps[None, :]], [-knots[:-1], vals[:1]])
    return balance_units(net)


def gadget_norm_table(ms: Sequence[int], eps: float) -> Any:
    r"""For each m: the gadget :math:`T_m \circ T_m = T_K` (K = 2m^2) and the norms of Definition 2.

    Columns: ``teeth`` K; ``gadget_lam`` (depth-3 ReLU gadget balanced layer by layer, :func:`balance_layers`) and
    ``gadget_lam_formula`` (:math:`(2m (32m^3 - 12m^2))^{1/3}`, the product of the three layer norms computed by
    hand, about :math:`(16K^2)^{1/3}`); ``exact_relu`` (the exact depth-2 ReLU
    network balanced unit by unit, :func:`min_norm_depth2`) and ``exact_relu_formula``
    (:math:`\sqrt{8K^2 - 2K}`); the bounds of :func:`sawtooth_norm_bounds` at ``eps``; ``interpolant`` (the norm of
    :func:`interpolant_network` for the gadget, L = 2K, :math:`\delta = \sqrt{\varepsilon}`) and
    ``interpolant_bound`` (:math:`\sqrt{2L\lceil L/\delta \rceil}`, which bounds that norm for every 1-D gadget
    with Lipschitz constant L)."""
    import pandas as pd

    eps = check_tolerance(eps, "eps")
    rows = []
    for m in ms:
        m = check_size(m, "ms", minimum=1)
        k = 2 * m * m
        rows.append({"m": m, "teeth": k, "gadget_lam": balance_layers(gadget_network(m)).lam,
                     "gadget_lam_formula": (2.0 * m * (32.0 * m**3 - 12.0 * m * m)) ** (1 / 3),
                     "exact_relu": min_norm_depth2(depth2_sawtooth(k)),
                     "exact_relu_formula": float(np.sqrt(8.0 * k * k - 2.0 * k)),
                     **sawtooth_norm_bounds(k, eps),
                     "interpolant": interpolant_network(lambda x, k=k: sawtooth(x[:, 0], k), 2.0 * k,
                                                        float(np.sqrt(eps))).lam,
                     "interpolant_bound": float(np.sqrt(4.0 * k * np.ceil(2.0 * k / np.sqrt(eps))))})
    return pd.DataFrame(rows).set_index("m")
