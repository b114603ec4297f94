r"""Theorem 3 of Burstein and Wilmes (2020): a deep product of depth-separation gadgets, globally compressible,
locally incompressible.

**The gadget.** The paper takes Eldan and Shamir's radial function, whose depth-2 versus depth-3 separation is
exponential in the input dimension but only asymptotic (unspecified constants, high dimension): nothing a notebook
can certify. We use Telgarsky's sawtooth instead, whose separation is a counting argument that can be checked
exactly. :math:`T_m` is the triangle wave with m teeth on [0, 1] (2m linear pieces), a one-hidden-layer ReLU network
with 2m units. The gadget :math:`g = T_m \circ T_m = T_{2m^2}` has :math:`M = 4m^2` monotone pieces and is a depth-3
network with :math:`4m` hidden units (:func:`gadget_network`). A depth-2 network of width w restricted to a line is
piecewise linear with at most :math:`w + 1` pieces, and :func:`piece_lower_bound` turns this into a lower bound on its
mean squared error against g, so depth 2 needs width of order :math:`m^2` (a quadratic, not exponential, gap:
the price of certifiability).

**The product network** (proof of Theorem 3). For :math:`1 \le i \le d - 3`, :math:`f^{(i)}` has i identity layers,
the three layers of g, and :math:`d - i - 3` identity layers; :math:`f` is their Cartesian product, a depth-d network on
:math:`[0, 1]^{d-3}` (:func:`product_network`). Values stay in [0, 1], so ReLU layers compute the identity exactly.
Globally, f is the product of d - 3 copies of g: an exact depth-3 network (:func:`global_compression`). Locally, every
window of three consecutive layers that holds a whole gadget must compress that gadget to depth 2 over its input
distribution, which is uniform on [0, 1]: impossible at small width.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_size
from .network import LayeredNetwork, block_diagonal, identity_layer

__all__ = [
    "count_pieces",
    "depth2_sawtooth",
    "gadget_network",
    "global_compression",
    "knot_fit",
    "knot_fit_mse",
    "piece_lower_bound",
    "product_network",
    "block_slices",
    "sawtooth",
    "window_contents",
]


def sawtooth(x: Any, teeth: int) -> np.ndarray:
    """The triangle wave :math:`T_k(x) = 1 - |2 \\{k x\\} - 1|` with k = ``teeth`` on [0, 1] (closed form)."""
    teeth = check_size(teeth, "teeth", minimum=1)
    x = as_float_array(x, "x")
    frac = teeth * x - np.floor(teeth * x)
    return 1.0 - np.abs(2.0 * frac - 1.0)


def _sawtooth_units(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:math:`T_m(y) = \\sum_t c_t \\operatorname{ReLU}(y - t/2m)`, t = 0..2m-1 on [0, 1]: offsets and c."""
    t = np.arange(2 * m)
    offsets = t / (2.0 * m)
    c = np.where(t == 0, 2.0 * m, 4.0 * m * (-1.0) ** t)
    return np.ones((2 * m, 1)), -offsets, c


def depth2_sawtooth(teeth: int) -> LayeredNetwork:
    """:math:`T_k` as a depth-2 ReLU network with 2k hidden units (exact on [0, 1]); ReLU output (values in [0, 1])."""
    teeth = check_size(teeth, "teeth", minimum=1)
    w1, b1, c = _sawtooth_units(teeth)
    return LayeredNetwork([w1, c[None, :]], [b1, np.zeros(1)], "relu")


def gadget_network(m: int) -> LayeredNetwork:
    r"""The depth-3 gadget :math:`g = T_m \circ T_m` (= :math:`T_{2m^2}` on [0, 1]), 2m + 2m hidden ReLU units.

    Layer 1: :math:`a_t = \operatorname{ReLU}(x - t/2m)`; layer 2: :math:`b_t = \operatorname{ReLU}(T_m(x) - t/2m)`
    with :math:`T_m(x) = c \cdot a`; layer 3: :math:`\operatorname{ReLU}(c \cdot b)`. All activations are ReLU, exact
    because every value lies in [0, 1]."""
    m = check_size(m, "m", minimum=1)
    w1, b1, c = _sawtooth_units(m)
    w2 = np.tile(c, (2 * m, 1))
    return LayeredNetwork([w1, w2, c[None, :]], [b1, b1.copy(), np.zeros(1)], "relu")


def _padded_gadget(m: int, depth: int, i: int) -> LayeredNetwork:
    """:math:`f^{(i)}`: i identity layers, the gadget's three layers, then depth - i - 3 identity layers."""
    g = gadget_network(m)
    ident = identity_layer(1)
    ws = [ident[0]] * i + list(g.weights) + [ident[0]] * (depth - i - 3)
    bs = [ident[1]] * i + list(g.biases) + [ident[1]] * (depth - i - 3)
    return LayeredNetwork(ws, bs, "relu")


def product_network(m: int, depth: int) -> LayeredNetwork:
    r"""The depth-d network f of the proof of Theorem 3: the product of :math:`f^{(1)}, \dots, f^{(d-3)}`.

    Input and output are in :math:`[0, 1]^{d-3}`; output coordinate i is :math:`g(x_i)`, computed by layers
    i + 1 .. i + 3. Requires d >= 4."""
    m = check_size(m, "m", minimum=1)
    depth = check_size(depth, "depth", minimum=4)
    return block_diagonal([_padded_gadget(m, depth, i) for i in range(1, depth - 2)])


def global_compression(m: int, depth: int) -> LayeredNetwork:
    """The lossless depth-3 compression of :func:`product_network`: d - 3 gadgets side by side (Theorem 3, claim 2)."""
    m = check_size(m, "m", minimum=1)
    depth = check_size(depth, "depth", minimum=4)
    return block_diagonal([gadget_network(m)] * (depth - 3))


def window_contents(depth: int, start: int, t: int = 3) -> dict[int, tuple[int, int]]:
    """For the slice :math:`f^{[i:i+t]}` (layers i .. i + t, inclusive as in Definition 2, so t + 1 layers) of
    :func:`product_network` with i = ``start``: gadget j -> (first, last) of its three layers (numbered 1..3) inside.

    A gadget is *whole* in the slice when its value is ``(1, 3)``. With t = 3 every slice holds at least one whole
    gadget (gadget i, and gadget i - 1 when i >= 2); with t = 2 the first slice holds none."""
    depth = check_size(depth, "depth", minimum=4)
    start = check_size(start, "start", minimum=1)
    t = check_size(t, "t", minimum=0)
    if start + t > depth:
        raise ValueError(f"start + t must be <= depth = {depth}, got {start + t}")
    out = {}
    for i in range(1, depth - 2):
        layers = [j - i for j in range(start, start + t + 1) if 1 <= j - i <= 3]  # gadget i's layer j - i
        if layers:
            out[i] = (layers[0], layers[-1])
    return out


def block_slices(m: int, depth: int, layer: int) -> list[slice]:
    """Where each :math:`f^{(i)}` (i = 1..d-3) sits in the output of ``layer`` (0 = the input) of
    :func:`product_network`: widths 1 outside the gadget, 2m after its first and second layers."""
    m = check_size(m, "m", minimum=1)
    depth = check_size(depth, "depth", minimum=4)
    layer = check_size(layer, "layer", minimum=0)
    if layer > depth:
        raise ValueError(f"layer must be <= depth = {depth}, got {layer}")
    out, pos = [], 0
    for i in range(1, depth - 2):
        width = 2 * m if layer in (i + 1, i + 2) else 1
        out.append(slice(pos, pos + width))
        pos += width
    return out


def piece_lower_bound(pieces: int, monotone_pieces: int) -> float:
    r"""A lower bound on :math:`\int_0^1 (q - g)^2` for any continuous piecewise-linear q with ``pieces`` pieces
    against a sawtooth g with ``monotone_pieces`` = M pieces between 0 and 1 (Telgarsky's counting argument).

    g - 1/2 changes sign at the middle of each piece, giving M + 1 regions (M - 1 interior ones, of width 1/M,
    each with :math:`\int (g - 1/2)^2 = 1/(12M)`). q - 1/2 changes sign at most once per piece, so q keeps one side of
    1/2 on at most ``pieces`` + 1 intervals; at most ``pieces`` regions contain a change, and in a run of r regions
    inside one interval (signs of g alternating) at least :math:`\lfloor r/2 \rfloor` are on the wrong side, where
    :math:`|q - g| \ge |g - 1/2|`. Hence at least :math:`\lceil (M - 2p - 2)/2 \rceil` wrong interior regions and

    .. math:: \int_0^1 (q - g)^2 \ge \max(0, \lceil (M - 2p - 2)/2 \rceil) / (12 M).

    A depth-2 ReLU network of width w with a linear output, restricted to a line, has p <= w + 1 pieces (one
    breakpoint per unit); a ReLU on the output can at most double that (p <= 2w + 1).
    """
    p = check_size(pieces, "pieces", minimum=1)
    big_m = check_size(monotone_pieces, "monotone_pieces", minimum=1)
    wrong = max(0, -(-(big_m - 2 * p - 2) // 2))
    return wrong / (12.0 * big_m)


def count_pieces(y: Any, atol: float = 1e-9) -> int:
    """Linear pieces of a function sampled on a uniform grid (``y`` of shape (K,)): 1 + number of slope changes.

    Only meaningful when the grid resolves every piece (at least three grid points per piece)."""
    y = as_float_array(y, "y", ndim=1)
    if len(y) < 3:
        raise ValueError(f"y must have at least 3 samples, got {len(y)}")
    second = np.abs(np.diff(y, 2))
    kinks = second > atol
    # a kink strictly between grid points shows in two consecutive second differences: count runs
    return 1 + int(np.sum(kinks[1:] & ~kinks[:-1]) + kinks[0])


def knot_fit(target: Any, x: Any, knots: Any) -> tuple[LayeredNetwork, float]:
    r"""The least-squares depth-2 ReLU network :math:`c + \sum_k a_k \operatorname{ReLU}(x - t_k)` with the given
    knots :math:`t_k`, fitted to ``target`` on the 1-D grid ``x``; returns the network and its mean squared error
    on the grid (an achievable, hence upper, bound on the best depth-2 error at width ``len(knots)``)."""
    x = as_float_array(x, "x", ndim=1)
    target = as_float_array(target, "target", shape=x.shape)
    knots = as_float_array(knots, "knots", ndim=1)
    if len(knots) == 0:
        raise ValueError("knots must hold at least one knot")
    feats = np.column_stack([np.ones_like(x), np.maximum(x[:, None] - knots[None, :], 0.0)])
    from scipy.linalg import lstsq

    coef = lstsq(feats, target, lapack_driver="gelsd")[0]
    net = LayeredNetwork([np.ones((len(knots), 1)), coef[None, 1:]], [-knots, coef[:1]])
    return net, float(np.mean((net(x[:, None]) - target) ** 2))


def knot_fit_mse(target: Any, x: Any, width: int, placement: str = "front") -> float:
    r"""Mean squared error of :func:`knot_fit` with ``width`` knots: ``"uniform"`` at k / width, or ``"front"`` at
    the first ``width`` breakpoints k / M of the gadget (``M = monotone pieces``, read from ``target``'s
    piece count), which fits the first teeth exactly and the rest by a constant."""
    width = check_size(width, "width", minimum=1)
    x = as_float_array(x, "x", ndim=1)
    if placement == "uniform":
        knots = np.arange(width) / width
    elif placement == "front":
        pieces = count_pieces(as_float_array(target, "target", shape=x.shape))
        knots = np.arange(width) / pieces
    else:
        raise ValueError(f"placement must be 'uniform' or 'front', got {placement!r}")
    return knot_fit(target, x, knots)[1]
