"""A ReLU MLP given as lists of weights and biases (torch's ``Linear`` convention): validation, forward pass, torch.

Hidden layers use ReLU; the last layer is affine (its softmax, if any, does not matter for stability).
``weights[l]`` has shape ``(n_{l+1}, n_l)`` like ``torch.nn.Linear.weight``; ``biases[l]`` has shape ``(n_{l+1},)``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np

from .._validation import as_float_array

__all__ = ["check_mlp", "check_box", "pre_activations", "forward", "from_torch", "to_torch", "fingerprint"]


def check_mlp(weights: Sequence[Any], biases: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validate an MLP and return float64 copies of its weights and biases.

    Raises
    ------
    ValueError
        On an empty network, a different number of weight and bias arrays, layers that do not chain, or NaN/inf.
    TypeError
        On arrays of non-numbers.
    """
    if isinstance(weights, np.ndarray) or isinstance(biases, np.ndarray):
        raise TypeError("weights and biases must be lists of arrays, one per layer")
    weights, biases = list(weights), list(biases)
    if not weights:
        raise ValueError("weights is empty: a network needs at least an output layer")
    if len(weights) != len(biases):
        raise ValueError(f"weights has {len(weights)} layers but biases has {len(biases)}")
    out_w, out_b = [], []
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
    """Read an ``nn.Sequential`` of ``Linear`` layers separated by ``ReLU`` (Flatten/Identity allowed) as lists.

    Raises
    ------
    TypeError
        On any other layer, two Linear layers without a ReLU between them, or a Linear without bias.
    """
    from torch import nn

    if not isinstance(module, nn.Sequential):
        raise TypeError(f"module must be an nn.Sequential of Linear and ReLU layers, got {type(module).__name__}")
    layers = [m for m in module if not isinstance(m, (nn.Flatten, nn.Identity))]
    weights, biases = [], []
    for k, layer in enumerate(layers):
        expect_linear = k % 2 == 0
        if expect_linear and not isinstance(layer, nn.Linear):
            raise TypeError(f"layer {k} must be nn.Linear, got {type(layer).__name__}")
        if not expect_linear and not isinstance(layer, nn.ReLU):
            raise TypeError(f"layer {k} must be nn.ReLU, got {type(layer).__name__}")
        if expect_linear:
            if layer.bias is None:
                raise TypeError(f"layer {k} (nn.Linear) must have a bias")
            weights.append(layer.weight.detach().cpu().double().numpy().copy())
            biases.append(layer.bias.detach().cpu().double().numpy().copy())
    if not layers or isinstance(layers[-1], nn.ReLU):
        raise TypeError("module must end with an nn.Linear output layer")
    return check_mlp(weights, biases)


def to_torch(weights: Sequence[Any], biases: Sequence[Any], dtype: Any = None) -> Any:
    """``nn.Sequential(Linear, ReLU, ..., Linear)`` with these weights (float64 unless ``dtype`` says otherwise)."""
    import torch
    from torch import nn

    weights, biases = check_mlp(weights, biases)
    dtype = torch.float64 if dtype is None else dtype
    layers: list[Any] = []
    for l, (w, b) in enumerate(zip(weights, biases)):
        linear = nn.Linear(w.shape[1], w.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear] if l == len(weights) - 1 else [linear, nn.ReLU()]
    return nn.Sequential(*layers)
