"""A ReLU MLP given as lists of weights and biases (torch's ``Linear`` convention): validation, forward pass, torch.

Hidden layers use ReLU; the last layer is affine (its softmax, if any, does not matter for stability).
``weights[l]`` has shape ``(n_{l+1}, n_l)`` like ``torch.nn.Linear.weight``; ``biases[l]`` has shape ``(n_{l+1},)``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np

from .._validation import as_float_array
from ..layered import LayeredNetwork, check_layers

__all__ = ["check_mlp", "as_mlp", "check_box", "pre_activations", "forward", "from_torch", "to_torch", "fingerprint"]


def check_mlp(weights: Sequence[Any], biases: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validate an MLP and return float64 copies of its weights and biases
    (:func:`nncompress.layered.check_layers`).

    Raises
    ------
    ValueError
        On an empty network, a different number of weight and bias arrays, layers that do not chain, or NaN/inf.
    TypeError
        On arrays of non-numbers.
    """
    return check_layers(weights, biases)


def check_box(lower: Any, upper: Any, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """The input box as two arrays of shape (n_in,); scalars are broadcast.

    Raises
    ------
    ValueError
        On a wrong shape, NaN/inf, or ``lower > upper`` in some coordinate.
    """
    lower = np.broadcast_to(as_float_array(lower, "lower", ndim=(0, 1)), (n_in,)) if np.ndim(lower) == 0 else \
        as_float_array(lower, "lower", shape=(n_in,))
    upper = np.broadcast_to(as_float_array(upper, "upper", ndim=(0, 1)), (n_in,)) if np.ndim(upper) == 0 else \
        as_float_array(upper, "upper", shape=(n_in,))
    if np.any(lower > upper):
        raise ValueError(f"lower must be <= upper in every coordinate; violated at {np.flatnonzero(lower > upper)[:5]}")
    return np.array(lower), np.array(upper)


def fingerprint(
    weights: Sequence[Any], biases: Sequence[Any], lower: Any, upper: Any,
    input_constraint: tuple[Any, Any] | None = None,
) -> str:
    """SHA-256 (hex) of a network and the input domain of an analysis: what a stability report holds for.

    The weights and biases (as float64, after :func:`~nncompress.stability.check_mlp`), the box (scalars
    broadcast to shape (n_0,)) and the optional constraint ``A @ x <= b`` are hashed with their shapes, so two
    fingerprints agree exactly when the same network is analysed over the same domain.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    weights, biases = check_mlp(weights, biases)
    lower, upper = check_box(lower, upper, weights[0].shape[1])
    if input_constraint is not None:
        A = as_float_array(input_constraint[0], "input_constraint[0]", ndim=2)
        input_constraint = (A, as_float_array(input_constraint[1], "input_constraint[1]", shape=(A.shape[0],)))
    return _digest(weights, biases, lower, upper, input_constraint)


def _digest(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], lower: np.ndarray, upper: np.ndarray,
            input_constraint: tuple[np.ndarray, np.ndarray] | None) -> str:
    """:func:`~nncompress.stability.fingerprint` of arrays already validated (float64): hashes them without copying."""
    digest = hashlib.sha256(b"nncompress.stability fingerprint v1")
    arrays = [*weights, *biases, lower, upper]
    if input_constraint is not None:
        arrays += list(input_constraint)
    digest.update(f"{len(weights)} layers, constraint: {input_constraint is not None}".encode())
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.float64)
        digest.update(repr(a.shape).encode())
        digest.update(memoryview(a).cast("B"))
    return digest.hexdigest()


def pre_activations(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray) -> list[np.ndarray]:
    """The pre-activations :math:`y^l` of every hidden layer on a batch X (N, n_0), in float64: a list of (N, n_l)."""
    out, h = [], np.asarray(X, dtype=np.float64)
    for w, b in zip(weights[:-1], biases[:-1]):
        y = h @ w.T + b
        out.append(y)
        h = np.maximum(y, 0.0)
    return out


def forward(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: Any) -> np.ndarray:
    """The network's output (N, n_L) on X (N, n_0), in float64."""
    h = np.asarray(X, dtype=np.float64)
    for w, b in zip(weights[:-1], biases[:-1]):
        h = np.maximum(h @ w.T + b, 0.0)
    return h @ weights[-1].T + biases[-1]


def from_torch(module: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Read an ``nn.Sequential`` of ``Linear`` layers separated by ``ReLU``, with a linear output layer, as lists,
    by the library's torch adapter (:func:`nncompress.torch_io.sequential_to_layers`: ``Flatten``/``Identity``
    skipped, a bias-free ``Linear`` read with zero bias).

    Raises
    ------
    TypeError
        On any other layer, two Linear layers without a ReLU between them, or an activation after the last one.
    """
    from ..torch_io import sequential_to_layers

    weights, biases, activations = sequential_to_layers(module)
    if activations != ["relu"] * (len(weights) - 1) + ["identity"]:
        raise TypeError("module must be nn.Sequential(Linear, ReLU, ..., ReLU, Linear): one ReLU between Linear "
                        f"layers and none after the last; got activations {activations}")
    return check_mlp(weights, biases)


def to_torch(weights: Sequence[Any], biases: Sequence[Any], dtype: Any = None) -> Any:
    """``nn.Sequential(Linear, ReLU, ..., Linear)`` with these weights (float64 unless ``dtype`` says otherwise)."""
    from ..torch_io import layers_to_sequential

    weights, biases = check_mlp(weights, biases)
    return layers_to_sequential(weights, biases, ["relu"] * (len(weights) - 1) + ["identity"], dtype)


def as_mlp(weights: Any, biases: Sequence[Any] | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The network as validated lists ``(weights, biases)``, from lists, from a
    :class:`~nncompress.layered.LayeredNetwork` with ReLU hidden layers and a linear output, or from a torch
    ``nn.Sequential`` (the last two as ``weights``, with ``biases=None``).

    Raises
    ------
    TypeError
        If ``biases`` is None and ``weights`` is neither such a LayeredNetwork nor such a Sequential.
    """
    if biases is not None:
        return check_mlp(weights, biases)
    if isinstance(weights, LayeredNetwork):
        if not weights.is_relu_mlp:
            raise TypeError("weights must have ReLU hidden layers and a linear output layer, got activations "
                            f"{weights.activations}")
        return check_mlp(weights.weights, weights.biases)
    if type(weights).__module__.startswith("torch"):
        return from_torch(weights)
    raise TypeError("weights must be a list of arrays (with biases), a LayeredNetwork or a torch nn.Sequential, got "
                    f"{type(weights).__name__}")
