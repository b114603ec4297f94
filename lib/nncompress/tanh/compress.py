r"""Optimal lossless compression and rank: Algorithms 4.1 and 4.2 of Farrugia-Roberts (2024), for any n, m
(Appendix A).

Both algorithms share one step, the *compression trace*: which units Stage 1 eliminates (:math:`\bar I`), how
Stage 2 partitions the rest (:math:`\Pi`), which merged units Stage 3 drops (:math:`\bar K`), and the unit
orientations :math:`\sigma`. It is the trace constructed in the proof of Theorem 5.1 (the inclusion
:math:`\subseteq`). ``compress`` builds the smaller network from it and ``rank`` counts its groups.

Everything is vectorised: the partition is one ``np.lexsort`` of the sign-normalised keys
:math:`\operatorname{sign}(b_i)(b_i, c_i)` (Appendix A, change 2), so both run in :math:`O(h \log h)`. The shared
kernels (generalised sign, partition, group sums) live in ``nncompress.units``.

**Tolerance and scale.** With the default ``atol = 0`` every decision is exact and so independent of the scale of
the weights: keys are compared for equality (negating a key is exact in floating point), and Stage 3 decides
:math:`\alpha_j = 0` with correct rounding (``nncompress.units.group_sums``). A reducible network built by
the symmetries of Section 3 (copies and negations of units, outgoing weights that cancel exactly) is compressed to
its rank at every scale, and a unit moved by any amount is not merged. ``atol > 0`` is the absolute radius of
Section 6 (an L-infinity ball in parameter space, the :math:`\varepsilon` of proximate rank), so it is absolute on
purpose; its effect on the function is bounded in :func:`compress`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_tolerance
from ..units import generalised_sign, group_sums, number_groups_by_first, partition_keys
from .network import TanhNetwork

__all__ = ["CompressionTrace", "cancel_exactly", "compression_trace", "compress", "rank", "is_reducible"]


@dataclass(frozen=True)
class CompressionTrace:
    r"""The compression trace :math:`(\bar I, \Pi, \bar K, \sigma)` that Algorithm 4.1 follows (Section 5).

    Attributes
    ----------
    eliminated : ndarray of int
        :math:`\bar I`, units with incoming weight (near) zero, removed in Stage 1 (0-based, sorted).
    labels : ndarray of int, shape (h,)
        :math:`\Pi` as a label per unit: the group index in ``0..J-1``, or ``-1`` for eliminated units. Groups are
        numbered by their lowest unit index, so an incompressible network keeps its unit order.
    removed_groups : ndarray of int
        :math:`\bar K`, groups whose merged outgoing weight is (near) zero, removed in Stage 3 (sorted).
    sigma : ndarray of int, shape (h,)
        Orientations :math:`\sigma_i = \operatorname{sign}(b_i) \in \{-1, +1\}` (``+1`` for eliminated units,
        where the paper lets it be arbitrary).
    """

    eliminated: np.ndarray
    labels: np.ndarray
    removed_groups: np.ndarray
    sigma: np.ndarray

    @property
    def n_groups(self) -> int:
        """J, the number of groups of the partition :math:`\\Pi`."""
        return int(self.labels.max(initial=-1)) + 1

    @property
    def length(self) -> int:
        """The trace's length :math:`J - |\\bar K|`: the number of units left, i.e. the rank."""
        return self.n_groups - len(self.removed_groups)

    @property
    def groups(self) -> list[np.ndarray]:
        """:math:`\\Pi_1, \\dots, \\Pi_J` as sorted arrays of unit indices."""
        order = np.argsort(self.labels, kind="stable")
        sorted_labels = self.labels[order]
        cuts = np.searchsorted(sorted_labels, np.arange(self.n_groups + 1))
        return [order[cuts[j] : cuts[j + 1]] for j in range(self.n_groups)]


def cancel_exactly(values: np.ndarray) -> np.ndarray:
    r"""The nearest rows to ``values`` (g, m) whose column sums are zero, rounded so the sums are *exactly* zero.

    Subtracts each column's mean (the orthogonal projection), rounds to multiples of a power of two q with
    :math:`g \max|v| < 2^{53} q`, on which every partial sum is exact, and sets the last row to minus the sum of the
    others. Each entry moves by at most the mean plus about :math:`g q` (q is :math:`2^{-52}` relative to the
    largest entry times g). Exactly cancelling inputs are returned unchanged.
    """
    g = values.shape[0]
    sums = np.array([math.fsum(col) for col in values.T])
    if np.all(sums == 0):
        return values.copy()
    scale = g * (float(np.max(np.abs(values))) + float(np.max(np.abs(sums))))
    q = math.ldexp(1.0, math.frexp(scale)[1] - 52)
    out = np.round((values - sums / g) / q) * q
    out[-1] = -out[:-1].sum(axis=0)
    return out


def compression_trace(net: TanhNetwork, atol: float = 0.0) -> CompressionTrace:
    r"""The compression trace of Algorithm 4.1 on ``net`` (Stages 1-3; the construction in Theorem 5.1's proof).

    Parameters
    ----------
    net : TanhNetwork
    atol : float, default 0
        ``0`` is exact: Stage 1 removes units with :math:`b_i = 0`, Stage 2 groups equal sign-normalised keys
        :math:`\operatorname{sign}(b_i)(b_i, c_i)`, Stage 3 removes groups with :math:`\alpha_j = 0` (computed with
        correct rounding). With ``atol > 0``: Stage 1 removes units with :math:`\|b_i\|_\infty \le` atol; the sign
        is that of the first component above atol; Stage 2 groups keys into groups of L-infinity diameter at most
        atol (coordinate by coordinate, each group is sorted and cut greedily into runs that start at a key and
        take every later key within atol of that start); Stage 3 removes groups with :math:`\|\alpha_j\|_\infty \le`
        atol.

    Returns
    -------
    CompressionTrace
    """
    trace, _ = _trace_and_alpha(net, atol)
    return trace


def _trace_and_alpha(net: TanhNetwork, atol: float) -> tuple[CompressionTrace, np.ndarray]:
    """The compression trace and the merged outgoing weights alpha_j of all J groups (lines 3-12)."""
    if not isinstance(net, TanhNetwork):
        raise TypeError(f"net must be a TanhNetwork, got {type(net).__name__}")
    atol = check_tolerance(atol)
    sign = generalised_sign(net.b, atol)
    kept = np.flatnonzero(sign != 0)  # Stage 1: I
    keys = sign[kept, None] * np.column_stack([net.b[kept], net.c[kept]])
    part = number_groups_by_first(partition_keys(keys, atol))  # Stage 2: Pi
    labels = np.full(net.width, -1, dtype=np.int64)
    labels[kept] = part
    n_groups = int(part.max(initial=-1)) + 1
    alpha = group_sums(sign[kept, None] * net.a[kept], part, n_groups)
    removed = np.flatnonzero(np.max(np.abs(alpha), axis=1, initial=0.0) <= atol)  # Stage 3: K-bar
    sigma = np.where(sign < 0, -1, 1).astype(np.int64)
    return CompressionTrace(np.flatnonzero(sign == 0), labels, removed, sigma), alpha


def compress(net: TanhNetwork, atol: float = 0.0) -> TanhNetwork:
    r"""Algorithm 4.1 (COMPRESS): an incompressible network computing the same function.

    Parameters
    ----------
    net : TanhNetwork
    atol : float, default 0
        ``0`` is exact lossless compression: the result computes :math:`f_w` (up to floating-point rounding of the
        sums) and is incompressible (Theorem 4.1). With ``atol > 0`` the trace is taken with tolerance (see
        :func:`compression_trace`); each merged unit takes the key of its group's lowest-index unit, and the result
        satisfies, for every input x,

        .. math:: \|f_w(x) - f_{w'}(x)\|_\infty \le \text{atol}\,\Big(\big(\textstyle\sum_i \|a_i\|_\infty\big)
                  (\|x\|_1 + 1) + h\Big),

        because :math:`|\tanh u - \tanh v| \le |u - v|`: an eliminated unit moves its argument by at most
        :math:`\|b_i\|_\infty \|x\|_1`, a merged unit by at most atol :math:`(\|x\|_1 + 1)`, and a dropped merged
        unit contributes at most atol per output.

    Returns
    -------
    TanhNetwork
        Width ``rank(net, atol)``, same n and m. Units are ordered by their group's lowest unit index, with
        incoming weights sign-normalised (first component above atol positive).

    Examples
    --------
    Two units whose incoming weights and biases differ only in sign merge into one (Algorithm 4.1), and the
    compressed network computes the same function:

    >>> import numpy as np
    >>> from nncompress.tanh import TanhNetwork, compress, rank
    >>> net = TanhNetwork(a=[[1.0], [2.0], [0.5]], b=[[1.0], [-1.0], [3.0]], c=[0.5, -0.5, 0.0], d=[0.1])
    >>> small = compress(net)
    >>> small.width, rank(net)
    (2, 2)
    >>> x = np.linspace(-2, 2, 5)[:, None]
    >>> bool(np.allclose(small(x), net(x)))
    True
    """
    trace, alpha = _trace_and_alpha(net, atol)
    out = np.ones(trace.n_groups, dtype=bool)
    out[trace.removed_groups] = False
    kept = trace.labels >= 0
    first = np.full(trace.n_groups, net.width, dtype=np.int64)
    np.minimum.at(first, trace.labels[kept], np.flatnonzero(kept))
    delta = net.d + np.tanh(net.c[trace.eliminated]) @ net.a[trace.eliminated]
    rep = first[out]
    s = trace.sigma[rep, None].astype(np.float64)
    return TanhNetwork(alpha[out], s * net.b[rep], s[:, 0] * net.c[rep], delta)


def rank(net: TanhNetwork, atol: float = 0.0) -> int:
    """Algorithm 4.2 (RANK): the fewest hidden units that implement :math:`f_w` (Theorem 4.2).

    Parameters
    ----------
    net : TanhNetwork
    atol : float, default 0
        ``0`` is exact; ``atol > 0`` counts the units ``compress(net, atol)`` keeps (see there).

    Returns
    -------
    int

    Examples
    --------
    A unit with a zero outgoing weight does not count (Algorithm 4.2):

    >>> from nncompress.tanh import TanhNetwork, rank
    >>> rank(TanhNetwork(a=[[1.0], [0.0]], b=[[1.0], [2.0]], c=[0.0, 1.0], d=[0.0]))
    1
    """
    return compression_trace(net, atol).length


def is_reducible(net: TanhNetwork, atol: float = 0.0) -> bool:
    r"""Whether ``net`` meets one of Sussmann's reducibility conditions (i)-(iv) (Section 3).

    (i) some :math:`a_i = 0`; (ii) some :math:`b_i = 0`; (iii)/(iv) two units with
    :math:`(b_i, c_i) = \pm(b_j, c_j)`. Reducible is equivalent to compressible (Sussmann 1992), i.e. to
    ``rank(net) < net.width``; this function checks the conditions themselves, independently of ``rank``.
    With ``atol > 0``, "= 0" means L-infinity norm at most atol and "=" means the sign-normalised keys are
    within atol of each other in every coordinate.
    """
    if not isinstance(net, TanhNetwork):
        raise TypeError(f"net must be a TanhNetwork, got {type(net).__name__}")
    atol = check_tolerance(atol)
    if np.any(np.max(np.abs(net.a), axis=1, initial=0.0) <= atol):  # (i)
        return True
    sign = generalised_sign(net.b, atol)
    if np.any(sign == 0):  # (ii)
        return True
    keys = sign[:, None] * np.column_stack([net.b, net.c])
    if atol == 0:  # (iii)/(iv): a repeated key
        return bool(partition_keys(keys).max(initial=-1) + 1 < len(keys))
    close = np.all(np.abs(keys[:, None, :] - keys[None, :, :]) <= atol, axis=2)
    return bool(np.any(np.triu(close, k=1)))
