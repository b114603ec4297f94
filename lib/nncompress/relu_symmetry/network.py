"""The two-layer ReLU network of Carroll (2023, DSLT3), for any number of inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, as_inputs, check_size
from ..torch_io import two_layer_from_torch, two_layer_to_torch

__all__ = ["ReluNetwork", "relu", "m_symmetric"]


def relu(z: np.ndarray) -> np.ndarray:
    """The rectified linear unit, elementwise: ``max(z, 0)``."""
    return np.maximum(z, 0.0)


class ReluNetwork:
    r"""A two-layer feed-forward ReLU network
    :math:`f(x) = c + \sum_{i=1}^h q_i \operatorname{ReLU}(w_i \cdot x + b_i)`.

    The model of Carroll (2023, DSLT3), section "Defining the Networks", has :math:`n = 2` inputs; any
    :math:`n \ge 1` works here.

    Parameters
    ----------
    w : array_like, shape (h, n)
        Incoming weight vectors :math:`w_i \in \mathbb{R}^n` (a 1-D array of length h means n = 1).
    b : array_like, shape (h,)
        Hidden biases :math:`b_i`.
    q : array_like, shape (h,)
        Outgoing weights :math:`q_i`.
    c : float
        Output bias.

    Raises
    ------
    ValueError
        On inconsistent shapes, NaN or infinity; the message names the argument.
    TypeError
        On non-numeric input.

    Notes
    -----
    Arrays are copied to float64 and made read-only, so a network is a value. Width 0 (a constant function) is
    allowed: pass ``w`` with shape ``(0, n)``. The parameter vector (:meth:`to_vector`) is ordered
    :math:`(w_1, b_1, q_1, \dots, w_h, b_h, q_h, c)`, dimension :math:`(n + 2) h + 1` (:math:`4h + 1` for n = 2).
    """

    __slots__ = ("w", "b", "q", "c")

    def __init__(self, w: Any, b: Any, q: Any, c: Any) -> None:
        b = as_float_array(b, "b", ndim=1)
        h = b.shape[0]
        q = as_float_array(q, "q", ndim=1)
        if q.shape != (h,):
            raise ValueError(f"q must have shape (h,) = ({h},) to match b, got {q.shape}")
        w = as_float_array(w, "w", ndim=(1, 2))
        w = w.reshape(-1, 1) if w.ndim == 1 else w
        if w.shape[0] != h:
            raise ValueError(f"w must have shape (h, n) = ({h}, n) to match b, got {w.shape}")
        if w.shape[1] < 1:
            raise ValueError(f"w must have n >= 1 columns (inputs), got shape {w.shape}")
        c_arr = as_float_array(c, "c", ndim=(0, 1))
        if c_arr.size != 1:
            raise ValueError(f"c must be a single number, got shape {c_arr.shape}")
        for name, arr in (("w", w), ("b", b), ("q", q)):
            arr = np.array(arr, dtype=np.float64)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "c", float(c_arr.reshape(-1)[0]))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ReluNetwork is immutable; build a new one")

    # -- sizes ---------------------------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """The number of hidden nodes h."""
        return self.b.shape[0]

    @property
    def n_in(self) -> int:
        """The input dimension n."""
        return self.w.shape[1]

    # -- parameter vector ----------------------------------------------------------------------------------------
    def to_vector(self) -> np.ndarray:
        """The parameter :math:`(w_1, b_1, q_1, \\dots, w_h, b_h, q_h, c)`, shape ((n + 2) h + 1,)."""
        return np.concatenate([np.column_stack([self.w, self.b, self.q]).ravel(), [self.c]])

    @classmethod
    def from_vector(cls, theta: Any, n_in: int = 2) -> "ReluNetwork":
        """Inverse of :meth:`to_vector`.

        Raises
        ------
        ValueError
            If ``len(theta) - 1`` is not a multiple of ``n_in + 2``.
        """
        n_in = check_size(n_in, "n_in", minimum=1)
        theta = as_float_array(theta, "theta", ndim=1)
        if theta.shape[0] < 1 or (theta.shape[0] - 1) % (n_in + 2):
            raise ValueError(f"theta has length {theta.shape[0]}, not (n_in + 2) h + 1 = {n_in + 2} h + 1 for any h")
        nodes = theta[:-1].reshape(-1, n_in + 2)
        return cls(nodes[:, :n_in], nodes[:, n_in], nodes[:, n_in + 1], theta[-1])

    # -- evaluation ----------------------------------------------------------------------------------------------
    def pre_activations(self, x: Any) -> np.ndarray:
        """:math:`z_i = w_i \\cdot x + b_i` for a batch x (N, n): shape (N, h)."""
        return as_inputs(x, self.n_in) @ self.w.T + self.b

    def __call__(self, x: Any) -> np.ndarray:
        """Evaluate f on a batch x of shape (N, n) (1-D means N scalar inputs when n = 1); returns shape (N,)."""
        return self.c + relu(self.pre_activations(x)) @ self.q

    def node_terms(self, x: Any) -> np.ndarray:
        """Each node's contribution :math:`q_i \\operatorname{ReLU}(w_i \\cdot x + b_i)`, shape (N, h)."""
        return relu(self.pre_activations(x)) * self.q

    # -- building new networks -----------------------------------------------------------------------------------
    def subnetwork(self, nodes: Any) -> "ReluNetwork":
        """The network made of the given nodes (indices, in that order) and the same output bias."""
        idx = np.asarray(nodes, dtype=np.int64).reshape(-1)
        return ReluNetwork(self.w[idx], self.b[idx], self.q[idx], self.c)

    def concat(self, other: "ReluNetwork", sign: float = 1.0) -> "ReluNetwork":
        """The network computing ``self + sign * other`` (nodes of ``self`` first)."""
        if not isinstance(other, ReluNetwork):
            raise TypeError(f"other must be a ReluNetwork, got {type(other).__name__}")
        if other.n_in != self.n_in:
            raise ValueError(f"networks have different input dimensions: {self.n_in} and {other.n_in}")
        return ReluNetwork(np.vstack([self.w, other.w]), np.concatenate([self.b, other.b]),
                           np.concatenate([self.q, sign * other.q]), self.c + sign * other.c)

    # -- torch ---------------------------------------------------------------------------------------------------
    def to_torch(self, dtype: Any = None) -> Any:
        """``nn.Sequential(nn.Linear(n, h), nn.ReLU(), nn.Linear(h, 1))`` computing f (float64 by default)."""
        return two_layer_to_torch(self.w, self.b, self.q[None, :], [self.c], "relu", dtype)

    @classmethod
    def from_torch(cls, module: Any) -> "ReluNetwork":
        """Read ``nn.Sequential(nn.Linear(n, h), nn.ReLU(), nn.Linear(h, 1))`` by the library's torch adapter
        (:func:`nncompress.torch_io.sequential_to_layers`: a bias-free layer has zero bias).

        Raises
        ------
        TypeError
            If ``module`` is not of that form.
        ValueError
            If the layers do not chain or the output is not one-dimensional.
        """
        form = "nn.Sequential(nn.Linear(n, h), nn.ReLU(), nn.Linear(h, 1))"
        w, b, q, c = two_layer_from_torch(module, "relu", form)
        if q.shape[0] != 1:
            raise ValueError(f"module must have one output, got {q.shape[0]}")
        return cls(w, b, q[0], c[0])

    # -- display -------------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"ReluNetwork(h={self.width}, n_in={self.n_in})"

    def describe(self, digits: int = 3) -> str:
        """The formula of f, one term per node, rounded to ``digits`` decimals (for printing small examples)."""

        def lin(wi: np.ndarray, bi: float) -> str:
            names = ["x"] if self.n_in == 1 else [f"x{k + 1}" for k in range(self.n_in)]
            parts = [f"{v:+.{digits}g}{nm}" for v, nm in zip(wi, names) if v != 0]
            if bi != 0 or not parts:
                parts.append(f"{bi:+.{digits}g}")
            return " ".join(parts).lstrip("+")

        terms = [f"{qi:+.{digits}g} relu({lin(wi, bi)})" for wi, bi, qi in zip(self.w, self.b, self.q)]
        return f"{self.c:.{digits}g} " + " ".join(terms) if terms else f"{self.c:.{digits}g}"


def m_symmetric(m: int, b: float = -0.3, q: float = 1.0) -> ReluNetwork:
    """The m-symmetric truth of Carroll (2023, DSLT4): w_k = (cos(pi/m), sin(pi/m)) rotated by 2 pi k / m,
    b_k = b, q_k = q, c = 0."""
    m = check_size(m, "m", minimum=1)
    angles = np.pi / m + 2 * np.pi * np.arange(m) / m
    return ReluNetwork(np.column_stack([np.cos(angles), np.sin(angles)]), np.full(m, b), np.full(m, q), 0.0)
