r"""Helpers for layered networks of the class :math:`\mathrm{NN}_{\Lambda,d}` (Burstein and Wilmes, 2020,
Definition 1): identity layers, the block-diagonal product of Theorem 3, empirical Lipschitz ratios (Proposition 1)
and random networks.

The network type itself, :class:`~nncompress.layered.LayeredNetwork`, is shared with the stability engine and
training and lives in :mod:`nncompress.layered`; it is re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from ..layered import ACTIVATIONS, LayeredNetwork, check_activations

__all__ = ["ACTIVATIONS", "LayeredNetwork", "block_diagonal", "identity_layer", "lipschitz_ratios", "random_network"]


def identity_layer(width: int, activation: str = "relu") -> tuple[np.ndarray, np.ndarray, str]:
    """``(I, 0, activation)``: a layer computing the identity on inputs where ``activation`` is the identity.

    With ``"relu"`` it is exact on non-negative inputs (the Theorem 3 product network keeps its values in [0, 1])."""
    width = check_size(width, "width", minimum=1)
    return np.eye(width), np.zeros(width), check_activations(activation, 1)[0]


def block_diagonal(nets: Sequence[LayeredNetwork]) -> LayeredNetwork:
    """The product network of the proof of Theorem 3: layer j maps the Cartesian product of the nets' layer-j inputs.

    All nets must have the same depth and, layer by layer, the same activation. Input and output are concatenated
    in order."""
    if not nets:
        raise ValueError("nets must be a non-empty list of LayeredNetwork")
    for k, net in enumerate(nets):
        if not isinstance(net, LayeredNetwork):
            raise TypeError(f"nets[{k}] must be a LayeredNetwork, got {type(net).__name__}")
        if net.depth != nets[0].depth or net.activations != nets[0].activations:
            raise ValueError(f"nets[{k}] must have the depth and activations of nets[0]")
    weights, biases = [], []
    for layer in range(nets[0].depth):
        rows = [net.weights[layer] for net in nets]
        w = np.zeros((sum(r.shape[0] for r in rows), sum(r.shape[1] for r in rows)))
        i = j = 0
        for r in rows:
            w[i:i + r.shape[0], j:j + r.shape[1]] = r
            i, j = i + r.shape[0], j + r.shape[1]
        weights.append(w)
        biases.append(np.concatenate([net.biases[layer] for net in nets]))
    return LayeredNetwork(weights, biases, nets[0].activations)


def lipschitz_ratios(net: LayeredNetwork, x: Any, y: Any) -> np.ndarray:
    r"""``||f(x_k) - f(y_k)|| / ||x_k - y_k||`` for paired rows; Proposition 1 says each is :math:`\le \Lambda^d`.

    Pairs with ``x_k == y_k`` give 0."""
    x = net.check_input(x)
    y = as_float_array(y, "y", shape=x.shape)
    fx, fy = net.hidden(x)[-1], net.hidden(y)[-1]
    num = np.linalg.norm(fx - fy, axis=1)
    den = np.linalg.norm(x - y, axis=1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def random_network(widths: Sequence[int], rng: np.random.Generator | int | None = None,
                   scale: float = 1.0, activation: str = "relu") -> LayeredNetwork:
    """A network with Gaussian weights and biases (std ``scale / sqrt(fan_in)``), for tests and figures."""
    rng = as_rng(rng)
    widths = [check_size(w, "widths", minimum=1) for w in widths]
    if len(widths) < 2:
        raise ValueError("widths must list at least an input and an output dimension")
    ws = [rng.normal(0, scale / np.sqrt(a), size=(b, a)) for a, b in zip(widths[:-1], widths[1:])]
    bs = [rng.normal(0, scale / np.sqrt(a), size=b) for a, b in zip(widths[:-1], widths[1:])]
    acts = [activation] * (len(ws) - 1) + ["identity"]
    return LayeredNetwork(ws, bs, acts)
