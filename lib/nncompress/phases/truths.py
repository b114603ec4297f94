"""The true networks of the DSLT4 experiments (Carroll 2023, DSLT4), as :class:`~nncompress.relu_symmetry.ReluNetwork`.

* :func:`m_symmetric` (Chapter 4's builder): w_k = (cos(pi/m), sin(pi/m)) rotated by 2 pi k / m, b_k = -0.3, q_k = 1.
* :func:`deforming_pair`: "deforming to degeneracy", the weight vectors (1, 0) and (-1, 0) rotated towards (0, 1) by
  theta; at theta = pi/2 the two nodes coincide and one node with q = 2 computes the truth.
* :func:`scaled_three_node`: the 3-symmetric truth with its third outgoing weight scaled to q_3.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..relu_symmetry import ReluNetwork
from ..relu_symmetry.network import m_symmetric
from .model import check_positive

__all__ = ["m_symmetric", "deforming_pair", "degenerate_pair", "scaled_three_node"]


def _check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def deforming_pair(theta: float, b: float = -0.3, q: float = 1.0) -> ReluNetwork:
    r"""The two-node truth of DSLT4's "deforming to degeneracy": :math:`w_1 = (\cos\theta, \sin\theta)`,
    :math:`w_2 = (-\cos\theta, \sin\theta)` (the vectors (1, 0) and (-1, 0) rotated towards (0, 1) by theta),
    :math:`b_1 = b_2 = b`, :math:`q_1 = q_2 = q`, :math:`c = 0`.

    The bias -0.3 is the m-symmetric truth's (DSLT4 does not give this truth's; *chosen*).

    Parameters
    ----------
    theta : float
        The angle, in :math:`[0, \pi/2]`.

    Raises
    ------
    ValueError
        If ``theta`` is outside :math:`[0, \pi/2]` or a value is not finite.
    """
    theta, b, q = _check_real(theta, "theta"), _check_real(b, "b"), _check_real(q, "q")
    if not 0.0 <= theta <= math.pi / 2 + 1e-12:
        raise ValueError(f"theta must lie in [0, pi/2], got {theta}")
    ct, st = math.cos(theta), math.sin(theta)
    return ReluNetwork([[ct, st], [-ct, st]], [b, b], [q, q], 0.0)


def degenerate_pair(b: float = -0.3, q: float = 1.0) -> ReluNetwork:
    """The limit theta = pi/2 of :func:`deforming_pair` as one node: ``2 q ReLU(x_2 + b)``."""
    b, q = _check_real(b, "b"), _check_real(q, "q")
    return ReluNetwork([[0.0, 1.0]], [b], [2 * q], 0.0)


def scaled_three_node(q3: float, b: float = -0.3) -> ReluNetwork:
    r"""The 3-symmetric truth with outgoing weights :math:`(1, 1, q_3)` (DSLT4's orientation-reversal transition
    scales :math:`q_3` from 2.25 to 3; the exact truth is not recoverable, this one is *chosen*).

    The total gradients sum to :math:`(q_3 - 1) w_3`, so the truth admits orientation reversal (weight
    annihilation) exactly when :math:`q_3 = 1`.

    Raises
    ------
    ValueError
        If ``q3 <= 0`` or is not finite.
    """
    q3 = check_positive(q3, "q3")
    base = m_symmetric(3, b=_check_real(b, "b"))
    return ReluNetwork(base.w, base.b, [1.0, 1.0, q3], 0.0)
