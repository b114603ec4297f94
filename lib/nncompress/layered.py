r"""The layered feed-forward network shared by the chapters on deep networks, and its torch form.

A :class:`LayeredNetwork` is a composition :math:`f = g_d \circ \dots \circ g_1` of ``d`` layers
:math:`g_i(x) = \sigma_i(W_i x + b_i)` with one activation per layer (ReLU, tanh or the identity). It is the
network of both chapters on deep networks: the class :math:`\mathrm{NN}_{\Lambda,d}` of Burstein and Wilmes
(2020, Definition 1; their Proposition 1 makes such an f :math:`\Lambda^d`-Lipschitz with
:math:`\Lambda \ge \|W_i\|_F`, and :meth:`LayeredNetwork.lipschitz_bound` keeps the sharper
:math:`\prod_i \|W_i\|_2`), and, with ReLU hidden layers and a linear output, the MLP of Serra et al. (2021)
that the stability engine and training take. :meth:`LayeredNetwork.from_torch` and
:meth:`LayeredNetwork.to_torch` go through the one torch adapter of the library
(:func:`nncompress.torch_io.sequential_to_layers`, :func:`nncompress.torch_io.layers_to_sequential`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from ._validation import as_float_array, check_size

__all__ = ["ACTIVATIONS", "LayeredNetwork", "check_layers", "check_activations"]


def relu(z: np.ndarray) -> np.ndarray:
    r""":math:`\max(z, 0)`, elementwise."""
    return np.maximum(z, 0.0)


def identity(z: np.ndarray) -> np.ndarray:
    """``z`` itself (a linear layer)."""
    return z


#: The 1-Lipschitz activations Definition 1 allows, by name.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": relu,
    "identity": identity,
    "tanh": np.tanh,
}


class LayeredNetwork:
    r"""A feed-forward network :math:`f = g_d \circ \cdots \circ g_1`, :math:`g_i(x) = \sigma_i(W_i x + b_i)`.

    Definition 1 of Burstein and Wilmes (2020) (the class :math:`\mathrm{NN}_{\Lambda,d}`), with one 1-Lipschitz
    activation per layer (Definition 1 uses one :math:`\sigma` throughout; a linear output layer is the usual
    reading, and is what lets a ReLU network output negative values). With ReLU hidden layers and a linear output
    (the default activations, :attr:`is_relu_mlp`) it is the MLP of Serra et al. (2021) that
    :func:`~nncompress.stability.find_stable_neurons` and :func:`~nncompress.stability.leo_compress` take as it is,
    and what :attr:`nncompress.train.TrainedClassifier.network` returns. Immutable: the arrays are read-only copies.

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
        On a single array instead of a list of arrays, or non-numeric weights or biases.
    """

    __slots__ = ("_weights", "_biases", "activations")

    def __init__(self, weights: Sequence[Any], biases: Sequence[Any], activations: str | Sequence[str] | None = None):
        ws, bs = check_layers(weights, biases)
        for array in ws + bs:
            array.setflags(write=False)
        object.__setattr__(self, "_weights", tuple(ws))
        object.__setattr__(self, "_biases", tuple(bs))
        object.__setattr__(self, "activations", check_activations(activations, len(ws)))

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
        h = self.check_input(x)
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
        """An ``nn.Sequential`` of ``Linear`` and activation modules computing the same function (float64 unless
        ``dtype`` says otherwise), by :func:`nncompress.torch_io.layers_to_sequential`."""
        from .torch_io import layers_to_sequential

        return layers_to_sequential(self._weights, self._biases, self.activations, dtype)

    @classmethod
    def from_torch(cls, module: Any) -> "LayeredNetwork":
        """Read an ``nn.Sequential`` of ``Linear`` layers, each optionally followed by ``ReLU`` or ``Tanh``, by
        :func:`nncompress.torch_io.sequential_to_layers` (``Flatten``/``Identity`` skipped, a bias-free ``Linear``
        read with zero bias).

        Raises
        ------
        TypeError
            If ``module`` is not an ``nn.Sequential`` of that form.
        ValueError
            If its layers do not chain.
        """
        from .torch_io import sequential_to_layers

        return cls(*sequential_to_layers(module))

    @property
    def is_relu_mlp(self) -> bool:
        """Whether every hidden layer is ReLU and the output layer linear: the networks of the stability engine
        (Serra et al. 2021)."""
        return self.activations == ("relu",) * (self.depth - 1) + ("identity",)

    def check_input(self, x: Any) -> np.ndarray:
        """``x`` as a float array (N, l_0), or a ValueError naming ``x``."""
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.n_in:
            raise ValueError(f"x must have shape (N, {self.n_in}), got {x.shape}")
        return x


def check_activations(activations: str | Sequence[str] | None, d: int) -> tuple[str, ...]:
    """``d`` activation names from ``activations`` (one name, one per layer, or None: ReLU then identity)."""
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


def check_layers(weights: Sequence[Any], biases: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validate the layers of a network and return float64 copies of its weights (torch's ``(out, in)``) and
    biases: the one validator of layered networks (:class:`LayeredNetwork`, the stability engine, training).

    Raises
    ------
    ValueError
        On an empty network, a different number of weight and bias arrays, layers that do not chain, a layer
        without units, or NaN/inf.
    TypeError
        On a single array instead of a list of arrays, or arrays of non-numbers.
    """
    if isinstance(weights, np.ndarray) or isinstance(biases, np.ndarray) or isinstance(weights, (str, bytes)) \
            or not hasattr(weights, "__iter__") or not hasattr(biases, "__iter__"):
        raise TypeError("weights and biases must be lists of arrays, one per layer")
    weights, biases = list(weights), list(biases)
    if not weights:
        raise ValueError("weights is empty: a network needs at least an output layer")
    if len(weights) != len(biases):
        raise ValueError(f"weights has {len(weights)} layers but biases has {len(biases)}")
    out_w: list[np.ndarray] = []
    out_b: list[np.ndarray] = []
    for l, (w, b) in enumerate(zip(weights, biases)):
        w = as_float_array(w, f"weights[{l}]", ndim=2)
        b = as_float_array(b, f"biases[{l}]", shape=(w.shape[0],))
        if l and w.shape[1] != out_w[-1].shape[0]:
            raise ValueError(f"weights[{l}] has {w.shape[1]} inputs but layer {l - 1} has {out_w[-1].shape[0]} units")
        if w.shape[0] == 0 or w.shape[1] == 0:
            raise ValueError(f"weights[{l}] has shape {w.shape}: layers need at least one unit")
        out_w.append(w.copy())
        out_b.append(b.copy())
    return out_w, out_b
