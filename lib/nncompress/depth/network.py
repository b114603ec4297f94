r"""Layered networks of the class :math:`\mathrm{NN}_{\Lambda,d}` (Burstein and Wilmes, 2020, Definition 1).

A network in :math:`\mathrm{NN}_{\Lambda,d}` is a composition :math:`f = g_d \circ \dots \circ g_1` of ``d`` layers
:math:`g_i(x) = \sigma_i(W_i x + b_i)` with 1-Lipschitz activations :math:`\sigma_i` and
:math:`\|W_i\|_F \le \Lambda`. Proposition 1 of the paper: such an ``f`` is :math:`\Lambda^d`-Lipschitz. We keep the
sharper bound :math:`\prod_i \|W_i\|_2` (spectral norms), which is at most :math:`\prod_i \|W_i\|_F \le \Lambda^d`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from .._validation import as_float_array, as_rng, check_size

__all__ = ["ACTIVATIONS", "LayeredNetwork", "block_diagonal", "identity_layer", "lipschitz_ratios", "random_network"]


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def _identity(z: np.ndarray) -> np.ndarray:
    return z


#: The 1-Lipschitz activations Definition 1 allows, by name.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": _relu,
    "identity": _identity,
    "tanh": np.tanh,
}


class LayeredNetwork:
    r"""A feed-forward network :math:`f = g_d \circ \cdots \circ g_1`, :math:`g_i(x) = \sigma_i(W_i x + b_i)`.

    Definition 1 of Burstein and Wilmes (2020) (the class :math:`\mathrm{NN}_{\Lambda,d}`), with one 1-Lipschitz
    activation per layer (Definition 1 uses one :math:`\sigma` throughout; a linear output layer is the usual
    reading, and is what lets a ReLU network output negative values).

    Parameters
    ----------
    weights : sequence of array_like
        ``weights[i]`` has shape ``(l_{i+1}, l_i)`` (torch's ``Linear.weight`` convention).
    biases : sequence of array_like
        ``biases[i]`` has shape ``(l_{i+1},)``.
    activations : str or sequence of str, default ``"relu"`` on hidden layers and ``"identity"`` on the last
        Names from :data:`ACTIVATIONS` (``"relu"``, ``"identity"``, ``"tanh"``), one per layer, or one name for all.

    Raises
    ------
    ValueError
        On inconsistent shapes, NaN/inf entries, no layers, or an unknown activation (the message names the argument).
    TypeError
        On non-numeric weights or biases.
    """

    __slots__ = ("_weights", "_biases", "activations")

    def __init__(self, weights: Sequence[Any], biases: Sequence[Any], activations: str | Sequence[str] | None = None):
        if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) or len(weights) == 0:
            raise ValueError("weights must be a non-empty list of 2-D arrays, one per layer")
        if isinstance(biases, np.ndarray) or not isinstance(biases, Sequence) or len(biases) != len(weights):
            raise ValueError(f"biases must be a list of {len(weights)} 1-D arrays, one per layer")
        ws, bs = [], []
        for i, (w, b) in enumerate(zip(weights, biases)):
            w = as_float_array(w, f"weights[{i}]", ndim=2).copy()
            b = as_float_array(b, f"biases[{i}]", shape=(w.shape[0],)).copy()
            if ws and w.shape[1] != ws[-1].shape[0]:
                raise ValueError(f"weights[{i}] must have {ws[-1].shape[0]} columns to follow layer {i - 1}, "
                                 f"got shape {w.shape}")
            w.setflags(write=False)
            b.setflags(write=False)
            ws.append(w)
            bs.append(b)
        object.__setattr__(self, "_weights", tuple(ws))
        object.__setattr__(self, "_biases", tuple(bs))
        object.__setattr__(self, "activations", _check_activations(activations, len(ws)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("LayeredNetwork is immutable; build a new one")

    def __repr__(self) -> str:
        return f"LayeredNetwork(widths={self.widths}, activations={self.activations})"

    @property
    def weights(self) -> list[np.ndarray]:
        """The weight matrices ``W_1, ..., W_d`` (read-only arrays, shape ``(l_i, l_{i-1})``), as a new list."""
        return list(self._weights)

    @property
    def biases(self) -> list[np.ndarray]:
        """The bias vectors ``b_1, ..., b_d`` (read-only arrays), as a new list."""
        return list(self._biases)

    # -- sizes ---------------------------------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """The number of layers d (affine maps), the depth of Definition 1."""
        return len(self._weights)

    @property
    def widths(self) -> tuple[int, ...]:
        """``(l_0, l_1, ..., l_d)``: input dimension, then each layer's output dimension."""
        return (self._weights[0].shape[1],) + tuple(w.shape[0] for w in self._weights)

    @property
    def n_in(self) -> int:
        """Input dimension l_0."""
        return self.widths[0]

    @property
    def n_out(self) -> int:
        """Output dimension l_d."""
        return self.widths[-1]

    @property
    def units(self) -> int:
        """Hidden units (gates): the sum of the widths of all layers but the last."""
        return int(sum(self.widths[1:-1]))

    # -- evaluation ----------------------------------------------------------------------------------------------
    def hidden(self, x: Any) -> list[np.ndarray]:
        """All layer outputs ``[x, g_1(x), g_2(g_1(x)), ..., f(x)]`` for inputs ``x`` of shape (N, l_0)."""
        h = self._check_input(x)
        out = [h]
        for w, b, act in zip(self._weights, self._biases, self.activations):
            h = ACTIVATIONS[act](h @ w.T + b)
            out.append(h)
        return out

    def __call__(self, x: Any) -> np.ndarray:
        """Evaluate on ``x`` of shape (N, l_0); returns (N, l_d), or (N,) when there is one output."""
        out = self.hidden(x)[-1]
        return out[:, 0] if self.n_out == 1 else out

    def slice(self, i: int, j: int) -> "LayeredNetwork":
        """The slice :math:`f^{[i:j]} = g_j \\circ \\dots \\circ g_i` (1-based, inclusive), as in Definition 2."""
        i = check_size(i, "i", minimum=1)
        j = check_size(j, "j", minimum=i)
        if j > self.depth:
            raise ValueError(f"j must be <= depth = {self.depth}, got {j}")
        return LayeredNetwork(self.weights[i - 1:j], self.biases[i - 1:j], list(self.activations[i - 1:j]))

    # -- norms (Definition 1, Proposition 1) ---------------------------------------------------------------------
    def frobenius_norms(self) -> np.ndarray:
        """:math:`\\|W_i\\|_F` for each layer, shape (d,)."""
        return np.array([np.linalg.norm(w) for w in self.weights])

    def spectral_norms(self) -> np.ndarray:
        """:math:`\\|W_i\\|_2` (largest singular value) for each layer, shape (d,)."""
        return np.array([np.linalg.norm(w, 2) if w.size else 0.0 for w in self.weights])

    @property
    def lam(self) -> float:
        """The smallest :math:`\\Lambda` with ``self`` in :math:`\\mathrm{NN}_{\\Lambda,d}`: the largest Frobenius
        norm."""
        return float(self.frobenius_norms().max())

    def in_class(self, lam: float, depth: int) -> bool:
        """Whether ``self`` is in :math:`\\mathrm{NN}_{\\Lambda,d}` (Definition 1) with Λ = ``lam``, d = ``depth``.

        Depth counts exactly (a shallower network can be padded only with identity layers, which cost norm)."""
        return self.depth == depth and self.lam <= lam

    def lipschitz_bound(self) -> float:
        """:math:`\\prod_i \\|W_i\\|_2`, a Lipschitz constant of ``self`` (the induction of Proposition 1)."""
        return float(np.prod(self.spectral_norms()))

    def proposition1_bound(self) -> float:
        """:math:`\\Lambda^d` with :math:`\\Lambda` = :attr:`lam`: the bound of Proposition 1 (>= the spectral
        bound)."""
        return self.lam ** self.depth

    # -- conversions ---------------------------------------------------------------------------------------------
    def to_torch(self, dtype: Any = None) -> Any:
        """An ``nn.Sequential`` of ``Linear`` and activation modules computing the same function."""
        import torch
        from torch import nn

        dtype = torch.float64 if dtype is None else dtype
        mods: list[Any] = []
        for w, b, act in zip(self.weights, self.biases, self.activations):
            lin = nn.Linear(w.shape[1], w.shape[0]).to(dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(np.array(w)))
                lin.bias.copy_(torch.as_tensor(np.array(b)))
            mods.append(lin)
            if act != "identity":
                mods.append(nn.ReLU() if act == "relu" else nn.Tanh())
        return nn.Sequential(*mods)

    @classmethod
    def from_torch(cls, module: Any) -> "LayeredNetwork":
        """Read an ``nn.Sequential`` of ``Linear`` layers, each optionally followed by ``ReLU`` or ``Tanh``.

        Raises
        ------
        TypeError
            If ``module`` is not an ``nn.Sequential`` or holds other modules.
        """
        from torch import nn

        if not isinstance(module, nn.Sequential):
            raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
        weights, biases, acts = [], [], []
        for layer in module:
            if isinstance(layer, nn.Linear):
                weights.append(layer.weight.detach().cpu().double().numpy())
                bias = layer.bias
                biases.append(np.zeros(layer.out_features) if bias is None else bias.detach().cpu().double().numpy())
                acts.append("identity")
            elif isinstance(layer, (nn.ReLU, nn.Tanh)) and acts and acts[-1] == "identity":
                acts[-1] = "relu" if isinstance(layer, nn.ReLU) else "tanh"
            else:
                raise TypeError(f"module must alternate Linear and ReLU/Tanh, got {type(layer).__name__}")
        return cls(weights, biases, acts)

    def _check_input(self, x: Any) -> np.ndarray:
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.n_in:
            raise ValueError(f"x must have shape (N, {self.n_in}), got {x.shape}")
        return x


def _check_activations(activations: str | Sequence[str] | None, d: int) -> tuple[str, ...]:
    if activations is None:
        return ("relu",) * (d - 1) + ("identity",)
    if isinstance(activations, str):
        activations = [activations] * d
    acts = tuple(activations)
    if len(acts) != d:
        raise ValueError(f"activations must name {d} activations, one per layer, got {len(acts)}")
    for a in acts:
        if a not in ACTIVATIONS:
            raise ValueError(f"activations must be among {sorted(ACTIVATIONS)}, got {a!r}")
    return acts


def identity_layer(width: int, activation: str = "relu") -> tuple[np.ndarray, np.ndarray, str]:
    """``(I, 0, activation)``: a layer computing the identity on inputs where ``activation`` is the identity.

    With ``"relu"`` it is exact on non-negative inputs (the Theorem 3 product network keeps its values in [0, 1])."""
    width = check_size(width, "width", minimum=1)
    return np.eye(width), np.zeros(width), _check_activations(activation, 1)[0]


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
    x = net._check_input(x)
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
