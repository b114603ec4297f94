r"""Approximate compressibility: the least rank within an L-infinity ball (Farrugia-Roberts, 2024, Section 6).

The :math:`\varepsilon`-*proximate rank* of :math:`w` is :math:`\min\{\operatorname{rank}(w') :
\|w - w'\|_\infty \le \varepsilon\}`. By Theorem 5.1 the ball meets the bounded-rank region
:math:`\mathfrak B_r` exactly when it meets the subspace of some compression trace of length r, and that test
splits over the trace's parts:

* a unit can join :math:`\bar I` iff :math:`\|b_i\|_\infty \le \varepsilon` (move :math:`b_i` to 0);
* a group :math:`\Pi_j` with orientations :math:`\sigma` can be merged iff, in every coordinate, the keys
  :math:`\sigma_i (b_i, c_i)` span a range of at most :math:`2\varepsilon` (move all to the midpoint);
* a merged group can join :math:`\bar K` iff, in every output, :math:`|\sum_{i \in \Pi_j} \sigma_i a_i| \le
  |\Pi_j|\,\varepsilon` (spread the correction evenly).

``method="greedy"`` picks such a trace quickly (an upper bound); ``method="exact"`` minimises over all of them by
dynamic programming over subsets of units (:math:`O(3^h)`, for small h). Deciding the proximate rank is NP-hard in
general (Farrugia-Roberts 2023, "The computational complexity of detecting proximity to losslessly compressible
neural network parameters"), so no fast exact method is expected.

Both methods *construct* the nearby parameter :math:`w'` and report ``rank(nearby)``. Floating point is handled
honestly: a move is accepted only if the constructed :math:`w'` satisfies ``max|w - w'| <= eps`` as computed in
float64 and Stage 3's sum of the new outgoing weights is exactly zero (the cancelling weights are put on a dyadic
grid, about :math:`2^{-52}` times the weights' size, on which every partial sum is exact). A move whose slack is
smaller than that grid is refused, so near the boundary both methods may report one unit more than real
arithmetic would.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from .._validation import check_size, check_tolerance
from ..units import generalised_sign, partition_keys
from .compress import cancel_exactly, compress, rank
from .network import TanhNetwork

__all__ = ["ProximateCompression", "proximate_compress", "proximate_rank"]


@dataclass(frozen=True)
class ProximateCompression:
    """A parameter within ``eps`` of the original, and its exact compression.

    Attributes
    ----------
    nearby : TanhNetwork
        :math:`w'`, same width as the original, with ``max|w - w'| <= eps``.
    compressed : TanhNetwork
        ``compress(nearby)``: exact lossless compression of :math:`w'`.
    rank : int
        ``rank(nearby)``: an upper bound on the eps-proximate rank (``method="greedy"``) or its value
        (``method="exact"``).
    eps : float
    method : str
    """

    nearby: TanhNetwork
    compressed: TanhNetwork
    rank: int
    eps: float
    method: str


def _merge_point(keys: np.ndarray, eps: float) -> np.ndarray | None:
    """The midpoint of the keys' bounding box if every key lies within ``eps`` of it in float64, else None."""
    mid = (keys.max(axis=0) + keys.min(axis=0)) / 2
    return mid if np.all(np.abs(keys - mid) <= eps) else None


def _cancelling_weights(signed_a: np.ndarray, eps: float) -> np.ndarray | None:
    """Outgoing weights within ``eps`` of ``signed_a`` (g, m) whose column sums are exactly zero, or None."""
    u = cancel_exactly(signed_a)
    return u if np.all(np.abs(u - signed_a) <= eps) else None


def _check_args(net: TanhNetwork, eps: float) -> float:
    if not isinstance(net, TanhNetwork):
        raise TypeError(f"net must be a TanhNetwork, got {type(net).__name__}")
    return check_tolerance(eps, "eps")


def _apply_group(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, units: np.ndarray, sigma: np.ndarray, mid: np.ndarray,
    cancelled: np.ndarray | None,
) -> None:
    """Move ``units`` (orientations ``sigma``) onto the key ``mid``; replace their outgoing weights if cancelled."""
    b[units] = sigma[:, None] * mid[:-1]
    c[units] = sigma * mid[-1]
    if cancelled is not None:
        a[units] = sigma[:, None] * cancelled


def _greedy(net: TanhNetwork, eps: float) -> TanhNetwork:
    """One trace chosen greedily: eliminate small b, merge by interval partition, cancel what can be cancelled."""
    a, b, c = net.a.copy(), net.b.copy(), net.c.copy()
    sign = generalised_sign(net.b, eps)
    b[sign == 0] = 0.0  # Stage 1
    kept = np.flatnonzero(sign != 0)
    keys = sign[kept, None] * np.column_stack([net.b[kept], net.c[kept]])
    labels = partition_keys(keys, 2 * eps)  # Stage 2
    for j in range(labels.max(initial=-1) + 1):
        members = np.flatnonzero(labels == j)
        mid = _merge_point(keys[members], eps)
        groups = [members] if mid is not None else [members[[k]] for k in range(len(members))]
        for group in groups:
            units, sigma = kept[group], sign[kept[group]]
            point = keys[group[0]] if mid is None else mid
            cancelled = _cancelling_weights(sigma[:, None] * net.a[units], eps)  # Stage 3
            _apply_group(a, b, c, units, sigma, point, cancelled)
    return TanhNetwork(a, b, c, net.d)


def _group_options(net: TanhNetwork, eps: float) -> dict[int, tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
    """For every mergeable set of units (a bitmask), its cheapest orientation: (cost, sigma, midpoint, cancelled).

    Cost 0 when the merged unit can also be cancelled, 1 otherwise; the first unit's orientation is fixed to +1.
    Mergeability is inherited by subsets, so a set is tried only if it is mergeable without its last unit.
    """
    keys = np.column_stack([net.b, net.c])
    options: dict[int, tuple[int, np.ndarray, np.ndarray, np.ndarray | None]] = {}
    for mask in range(1, 1 << net.width):
        units = np.array([i for i in range(net.width) if mask >> i & 1])
        if len(units) > 1 and (mask ^ (1 << int(units[-1]))) not in options:
            continue
        best = None
        for tail in product((1.0, -1.0), repeat=len(units) - 1):
            sigma = np.array((1.0, *tail))
            mid = _merge_point(sigma[:, None] * keys[units], eps)
            if mid is None:
                continue
            cancelled = _cancelling_weights(sigma[:, None] * net.a[units], eps)
            cost = 1 if cancelled is None else 0
            if best is None or cost < best[0]:
                best = (cost, sigma, mid, cancelled)
            if cost == 0:
                break
        if best is not None:
            options[mask] = best
    return options


def _exact(net: TanhNetwork, eps: float) -> TanhNetwork:
    """The minimum over all compression traces (Theorem 5.1), by dynamic programming over subsets of units."""
    h = net.width
    small_b = np.max(np.abs(net.b), axis=1, initial=0.0) <= eps
    options = _group_options(net, eps)
    best = np.full(1 << h, h + 1, dtype=np.int64)
    choice = np.zeros(1 << h, dtype=np.int64)  # the group (bitmask) holding the lowest unit; 0 = eliminate it
    best[0] = 0
    for mask in range(1, 1 << h):
        low = mask & -mask
        if small_b[low.bit_length() - 1] and best[mask ^ low] < best[mask]:
            best[mask], choice[mask] = best[mask ^ low], 0
        rest = mask ^ low
        sub = rest
        while True:  # every subset of the other units, joined with the lowest one
            group = sub | low
            if group in options:
                cost = options[group][0] + best[mask ^ group]
                if cost < best[mask]:
                    best[mask], choice[mask] = cost, group
            if sub == 0:
                break
            sub = (sub - 1) & rest
    a, b, c = net.a.copy(), net.b.copy(), net.c.copy()
    mask = (1 << h) - 1
    while mask:
        low = mask & -mask
        group = int(choice[mask]) or low
        if choice[mask] == 0:
            b[low.bit_length() - 1] = 0.0
        else:
            _, sigma, mid, cancelled = options[group]
            units = np.array([i for i in range(h) if group >> i & 1])
            _apply_group(a, b, c, units, sigma, mid, cancelled)
        mask ^= group
    return TanhNetwork(a, b, c, net.d)


def proximate_compress(
    net: TanhNetwork, eps: float, method: str = "greedy", max_exact_width: int = 14
) -> ProximateCompression:
    r"""Find :math:`w'` with :math:`\|w - w'\|_\infty \le \varepsilon` of low rank, and compress it exactly.

    Parameters
    ----------
    net : TanhNetwork
        The parameter :math:`w`.
    eps : float
        Radius of the L-infinity ball, >= 0. ``eps = 0`` gives ``rank(net)``.
    method : {"greedy", "exact"}
        ``"greedy"``: Stage 1 moves every :math:`b_i` with :math:`\|b_i\|_\infty \le \varepsilon` to zero;
        Stage 2 partitions the other sign-normalised keys into groups of per-coordinate range at most
        :math:`2\varepsilon` (sorted sweep, coordinate by coordinate) and moves each group to its midpoint;
        Stage 3 cancels every group whose outgoing weights can be cancelled within the ball.
        :math:`O(h \log h)` plus a loop over units. ``"exact"``: the true eps-proximate rank by minimising over
        all compression traces (:ref:`proof-split`); cost :math:`O(3^h)`.
    max_exact_width : int, default 14
        Refuse ``method="exact"`` above this width (the cost doubles-and-a-half per unit).

    Returns
    -------
    ProximateCompression
    """
    eps = _check_args(net, eps)
    max_exact_width = check_size(max_exact_width, "max_exact_width")
    if method == "greedy":
        nearby = _greedy(net, eps)
    elif method == "exact":
        if net.width > max_exact_width:
            raise ValueError(f"method='exact' costs O(3^h); net.width = {net.width} "
                             f"> max_exact_width = {max_exact_width}")
        nearby = _exact(net, eps)
    else:
        raise ValueError(f"method must be 'greedy' or 'exact', got {method!r}")
    distance = float(np.max(np.abs(nearby.to_vector() - net.to_vector()), initial=0.0))
    if distance > eps:  # pragma: no cover - the construction guarantees this; never return an unchecked claim
        raise RuntimeError(f"internal error: nearby parameter at distance {distance} > eps = {eps}")
    return ProximateCompression(nearby, compress(nearby), rank(nearby), eps, method)


def proximate_rank(net: TanhNetwork, eps: float, method: str = "greedy", max_exact_width: int = 14) -> int:
    """The eps-proximate rank (``method="exact"``) or an upper bound on it (``"greedy"``); see
    :func:`proximate_compress`.

    Examples
    --------
    Two units whose incoming weights differ by 1e-9 cannot be merged exactly, but can within eps = 1e-6:

    >>> from nncompress.tanh import TanhNetwork, rank, proximate_rank
    >>> near = TanhNetwork(a=[[1.0], [1.0]], b=[[1.0], [1.0 + 1e-9]], c=[0.0, 0.0], d=[0.0])
    >>> rank(near), proximate_rank(near, eps=1e-6)
    (2, 1)
    """
    return proximate_compress(net, eps, method, max_exact_width).rank
