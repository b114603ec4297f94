"""The single-hidden-layer tanh network of Farrugia-Roberts (2024, Section 3, Appendix A)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, as_inputs, check_size
from ..torch_io import two_layer_from_torch, two_layer_to_torch

__all__ = ["TanhNetwork"]


class TanhNetwork:
    r"""A single-hidden-layer hyperbolic tangent network :math:`f_w(x) = d + \sum_i a_i \tanh(b_i \cdot x + c_i)`.

    Appendix A of Farrugia-Roberts (2024): ``n`` inputs, ``m`` outputs, ``h`` hidden units.

    Parameters
    ----------
    a : array_like, shape (h, m)
        Outgoing weight vectors :math:`a_i \in \mathbb{R}^m` (a 1-D array of length h means m = 1).
    b : array_like, shape (h, n)
        Incoming weight vectors :math:`b_i \in \mathbb{R}^n` (a 1-D array of length h means n = 1).
    c : array_like, shape (h,)
        Hidden biases.
    d : array_like, shape (m,)
        Output biases (a scalar means m = 1).

    Raises
    ------
    ValueError
        On inconsistent shapes, NaN or infinity; the message names the argument.

    Notes
    -----
    Arrays are copied to float64 and made read-only, so a network is a value: algorithms return new networks.
    A network of width 0 (a constant function) is allowed; then pass ``n_in`` and ``n_out`` through the shapes
    ``b.shape == (0, n)`` and ``a.shape == (0, m)``.
    """

    __slots__ = ("a", "b", "c", "d")

    def __init__(self, a: Any, b: Any, c: Any, d: Any) -> None:
        c = as_float_array(c, "c", ndim=1)
        h = c.shape[0]
        d = as_float_array(d, "d", ndim=(0, 1))
        d = d.reshape(1) if d.ndim == 0 else d
        a = as_float_array(a, "a", ndim=(1, 2))
        if a.ndim == 1:
            if d.shape[0] != 1:
                raise ValueError(f"a is 1-D (meaning m = 1) but d has shape {d.shape}; give a with shape (h, m)")
            a = a.reshape(-1, 1)
        b = as_float_array(b, "b", ndim=(1, 2))
        b = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.shape[0] != h:
            raise ValueError(f"a must have shape (h, m) = ({h}, *) to match c, got {a.shape}")
        if b.shape[0] != h:
            raise ValueError(f"b must have shape (h, n) = ({h}, *) to match c, got {b.shape}")
        if a.shape[1] != d.shape[0]:
            raise ValueError(f"a has {a.shape[1]} output column(s) but d has shape {d.shape}")
        if b.shape[1] < 1 or d.shape[0] < 1:
            raise ValueError("a network needs n >= 1 inputs and m >= 1 outputs")
        for name, arr in (("a", a), ("b", b), ("c", c), ("d", d)):
            arr = np.array(arr, dtype=np.float64)  # own copy
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("TanhNetwork is immutable; build a new one")

    # -- sizes --------------------------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """The number of hidden units h."""
        return self.c.shape[0]

    @property
    def n_in(self) -> int:
        """The input dimension n."""
        return self.b.shape[1]

    @property
    def n_out(self) -> int:
        """The output dimension m."""
        return self.d.shape[0]

    # -- the parameter vector (Appendix A order) ------------------------------------------------------------------
    @staticmethod
    def vector_length(h: int, n_in: int = 1, n_out: int = 1) -> int:
        """The dimension (n + m + 1) h + m of the parameter space :math:`\\mathcal{W}_h^{n,m}`."""
        h, n_in, n_out = check_size(h, "h"), check_size(n_in, "n_in", minimum=1), check_size(n_out, "n_out", minimum=1)
        return (n_in + n_out + 1) * h + n_out

    @classmethod
    def from_vector(cls, w: Any, n_in: int = 1, n_out: int = 1) -> "TanhNetwork":
        """Build a network from :math:`w = (a_1, b_1, c_1, \\dots, a_h, b_h, c_h, d)` (Appendix A's order).

        Raises
        ------
        ValueError
            If ``len(w) - n_out`` is not a multiple of ``n_in + n_out + 1``.
        """
        n_in = check_size(n_in, "n_in", minimum=1)
        n_out = check_size(n_out, "n_out", minimum=1)
        w = as_float_array(w, "w", ndim=1)
        per_unit = n_in + n_out + 1
        if w.shape[0] < n_out or (w.shape[0] - n_out) % per_unit:
            raise ValueError(
                f"w has length {w.shape[0]}, which is not (n_in + n_out + 1) * h + n_out = {per_unit} * h + {n_out} "
                "for any width h"
            )
        units = w[: w.shape[0] - n_out].reshape(-1, per_unit)
        return cls(units[:, :n_out], units[:, n_out : n_out + n_in], units[:, -1], w[w.shape[0] - n_out :])

    def to_vector(self) -> np.ndarray:
        """The parameter vector in Appendix A's order, shape ((n + m + 1) h + m,)."""
        units = np.hstack([self.a, self.b, self.c[:, None]])
        return np.concatenate([units.ravel(), self.d])

    # -- evaluation ---------------------------------------------------------------------------------------------
    def __call__(self, x: Any) -> np.ndarray:
        """Evaluate :math:`f_w` on a batch.

        Parameters
        ----------
        x : array_like, shape (N, n)
            Inputs; a 1-D array is read as N scalar inputs when n = 1.

        Returns
        -------
        ndarray, shape (N, m)
        """
        x = as_inputs(x, self.n_in)
        return self.d + np.tanh(x @ self.b.T + self.c) @ self.a

    # -- torch --------------------------------------------------------------------------------------------------
    def to_torch(self, dtype: Any = None) -> Any:
        """Return ``nn.Sequential(nn.Linear(n, h), nn.Tanh(), nn.Linear(h, m))`` computing the same function.

        ``dtype`` defaults to ``torch.float64`` so that nothing is lost in the conversion.
        """
        return two_layer_to_torch(self.b, self.c, self.a.T, self.d, "tanh", dtype)

    @classmethod
    def from_torch(cls, module: Any) -> "TanhNetwork":
        """Read a ``nn.Sequential(nn.Linear(n, h), nn.Tanh(), nn.Linear(h, m))`` by the library's torch adapter
        (:func:`nncompress.torch_io.sequential_to_layers`: a bias-free layer has zero bias).

        Raises
        ------
        TypeError
            If ``module`` is not of that form.
        ValueError
            If the layers do not chain.
        """
        form = "nn.Sequential(nn.Linear(n, h), nn.Tanh(), nn.Linear(h, m))"
        b, c, a_t, d = two_layer_from_torch(module, "tanh", form)
        return cls(a_t.T, b, c, d)

    # -- display ------------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"TanhNetwork(h={self.width}, n_in={self.n_in}, n_out={self.n_out})"

    def allclose(self, other: "TanhNetwork", atol: float = 0.0) -> bool:
        """Whether the two parameter vectors agree entry by entry within ``atol`` (same sizes required)."""
        if not isinstance(other, TanhNetwork):
            raise TypeError(f"other must be a TanhNetwork, got {type(other).__name__}")
        if (self.width, self.n_in, self.n_out) != (other.width, other.n_in, other.n_out):
            return False
        return bool(np.all(np.abs(self.to_vector() - other.to_vector()) <= atol))
