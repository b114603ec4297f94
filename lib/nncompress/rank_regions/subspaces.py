r"""The bounded-rank region as a union of linear subspaces (Farrugia-Roberts, 2024, Section 5, Theorem 5.1).

A *compression trace* on h units is :math:`(\bar I, \Pi, \bar K, \sigma)`: units eliminated in Stage 1, a
partition of the others into groups merged in Stage 2, the merged units removed in Stage 3, and unit orientations.
Its length is :math:`J - |\bar K|`. Theorem 5.1: the parameters of rank at most r are the union, over traces of
length r, of the linear subspaces

.. math:: S(\bar I, \Pi, \bar K, \sigma) = \bigcap_{i \in \bar I} S^{(1)}_i \cap \bigcap_j S^{(2)}_{\Pi_j, \sigma}
          \cap \bigcap_{k \in \bar K} S^{(3)}_{\Pi_k, \sigma}

with :math:`S^{(1)}_i: b_i = 0`, :math:`S^{(2)}_{\Pi, \sigma}: \sigma_i (b_i, c_i) = \sigma_j (b_j, c_j)` on
:math:`\Pi`, :math:`S^{(3)}_{\Pi, \sigma}: \sum_{i \in \Pi} \sigma_i a_i = 0` (for vectors, Appendix A).

**Canonical traces.** Many traces give the same subspace: :math:`\sigma_i` for :math:`i \in \bar I` appears in no
constraint, and negating :math:`\sigma` on a whole group maps each constraint of that group to its negative. A
trace is *canonical* when :math:`\sigma_i = +1` for eliminated units and for the lowest unit of each group. Every
trace has exactly one canonical trace with the same subspace (set those signs to +1 by the two moves above), so
enumerating canonical traces misses no subspace. Conversely, distinct canonical traces give distinct subspaces:
on :math:`S(t)` (the constraints are independent across coordinates), :math:`b_i` vanishes identically iff
:math:`i \in \bar I`; :math:`(b_i, c_i) = s\,(b_j, c_j)` holds identically iff i and j are in one group with
:math:`\sigma_i \sigma_j = s`; and :math:`\sum_{i \in P} s_i a_i = 0` with all :math:`s_i \ne 0` holds identically
iff P is a group in :math:`\bar K` with :math:`s \propto \sigma|_P`. So :math:`\bar I`, :math:`\Pi`, the relative
signs and :math:`\bar K` can be read off the subspace.

**Containment** (:meth:`Subspace.is_subset_of`). :math:`S(t) \subseteq S(t')` iff every constraint of t' vanishes
on :math:`S(t)`, which by the same reading holds iff :math:`\bar I' \subseteq \bar I`, every group of t' with two
or more units lies inside one group of t with the same relative signs, and every group in :math:`\bar K'` is a
group in :math:`\bar K` with the same relative signs. Hence t' is a *relaxation* of t: it frees eliminated units
as singletons, splits groups, or takes groups out of :math:`\bar K`; each such move raises the length by at least
one. **Proposition.** No two distinct subspaces of traces of the same length are nested; every subspace of a
trace of length < r lies in one of length r (the relaxation in the proof of Theorem 5.1). So the irreducible
components of :math:`\mathfrak B_r` are exactly the distinct subspaces of length-r traces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import combinations, product
from typing import Any, Iterator, NamedTuple

import numpy as np

from .._validation import as_float_array, as_rng, check_size, check_tolerances
from ..tanh import TanhNetwork, compression_trace
from ..tanh.compress import cancel_exactly

__all__ = [
    "Trace",
    "Subspace",
    "set_partitions",
    "compression_traces",
    "bounded_rank_subspaces",
    "count_traces",
    "count_subspaces",
    "canonical_trace",
    "relax_to_length",
    "canonical_form",
    "distance_to_bounded_rank",
    "slice_intersection",
]


class Trace(NamedTuple):
    """A compression trace :math:`(\\bar I, \\Pi, \\bar K, \\sigma)` on h units (0-based unit indices).

    ``I_bar``: sorted eliminated units; ``Pi``: groups, each sorted, ordered by lowest unit; ``K_bar``: sorted
    indices into ``Pi`` of the removed merged units; ``sigma``: one orientation (+1/-1) per unit.
    """

    I_bar: tuple[int, ...]
    Pi: tuple[tuple[int, ...], ...]
    K_bar: tuple[int, ...]
    sigma: tuple[int, ...]

    @property
    def length(self) -> int:
        """:math:`J - |\\bar K|`, the number of units left."""
        return len(self.Pi) - len(self.K_bar)


def set_partitions(items: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], ...]]:
    """All partitions of ``items`` (sorted) into non-empty blocks, blocks sorted and ordered by lowest element."""
    if not items:
        yield ()
        return
    first, rest = items[0], items[1:]
    for k in range(len(rest) + 1):  # the block of `first` takes k of the others
        for mates in combinations(rest, k):
            others = tuple(i for i in rest if i not in mates)
            for part in set_partitions(others):
                yield ((first, *mates), *part)


def _check_h_r(h: Any, r: Any) -> tuple[int, int]:
    h, r = check_size(h, "h"), check_size(r, "r")
    if r > h:
        raise ValueError(f"r must be <= h, got r = {r} > h = {h}")
    return h, r


def compression_traces(h: int, r: int, canonical: bool = True) -> Iterator[Trace]:
    """All compression traces of length exactly r on h units (Section 5).

    Parameters
    ----------
    h, r : int
        Units and length, ``0 <= r <= h``.
    canonical : bool, default True
        Only canonical traces (:ref:`proof-canonical-traces`): one per distinct subspace. With ``False``, every trace:
        every subset, every set partition, every removed set and every :math:`\\sigma \\in \\{\\pm 1\\}^h`.

    Yields
    ------
    Trace
    """
    h, r = _check_h_r(h, r)
    units = tuple(range(h))
    for size in range(h - r + 1):
        for I_bar in combinations(units, size):
            rest = tuple(i for i in units if i not in I_bar)
            for Pi in set_partitions(rest):
                if len(Pi) < r:
                    continue
                removals = list(combinations(range(len(Pi)), len(Pi) - r))
                if canonical:  # +1 on eliminated units and group leads, either sign on the other units
                    free = [i for group in Pi for i in group[1:]]
                    for signs in product((1, -1), repeat=len(free)):
                        sigma = [1] * h
                        for i, si in zip(free, signs):
                            sigma[i] = si
                        sigma = tuple(sigma)
                        for K_bar in removals:
                            yield Trace(I_bar, Pi, K_bar, sigma)
                else:
                    for sigma in product((1, -1), repeat=h):
                        for K_bar in removals:
                            yield Trace(I_bar, Pi, K_bar, sigma)


def canonical_form(trace: Trace) -> Trace:
    """The canonical trace with the same subspace: +1 on eliminated units and on each group's lowest unit."""
    sigma = list(trace.sigma)
    for i in trace.I_bar:
        sigma[i] = 1
    for group in trace.Pi:
        lead = sigma[group[0]]
        for i in group:
            sigma[i] *= lead
    return Trace(trace.I_bar, trace.Pi, trace.K_bar, tuple(sigma))


# -- counting -------------------------------------------------------------------------------------------------
def _stirling2(n: int, k: int) -> int:
    """Stirling number of the second kind S(n, k): partitions of n items into k blocks."""
    return sum((-1) ** j * math.comb(k, j) * (k - j) ** n for j in range(k + 1)) // math.factorial(k)


def count_traces(h: int, r: int) -> int:
    r"""Number of all traces of length r (what ``compression_traces(h, r, canonical=False)`` yields).

    .. math:: T(h, r) = 2^h \sum_{k=0}^{h} \binom{h}{k} \sum_{J} S(h - k, J) \binom{J}{r}
    """
    h, r = _check_h_r(h, r)
    return 2**h * sum(math.comb(h, k) * sum(_stirling2(h - k, J) * math.comb(J, r) for J in range(r, h - k + 1))
                      for k in range(h + 1))


def count_subspaces(h: int, r: int) -> int:
    r"""Number of distinct subspaces of length-r traces, i.e. of irreducible components of :math:`\mathfrak B_r`.

    A set partition of p units into J groups has :math:`2^{p - J}` relative orientations, so

    .. math:: D(h, r) = \sum_{k=0}^{h} \binom{h}{k} \sum_{J} 2^{h - k - J} S(h - k, J) \binom{J}{r}.

    Summed over r, :math:`\sum_r D(h, r) = \sum_k \binom{h}{k} 2^{h-k} B_{h-k}` with Bell numbers :math:`B_p`.
    """
    h, r = _check_h_r(h, r)
    return sum(
        math.comb(h, k) * sum(2 ** (h - k - J) * _stirling2(h - k, J) * math.comb(J, r) for J in range(r, h - k + 1))
        for k in range(h + 1)
    )


# -- subspaces ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subspace:
    r"""The linear subspace :math:`S(\bar I, \Pi, \bar K, \sigma) \subseteq \mathcal W_h^{n,m}` of a trace.

    Coordinates are those of ``TanhNetwork.to_vector`` (Appendix A order). Everything is computed from the trace
    in closed form: the constraints act on disjoint sets of coordinates, so the orthonormal basis and the
    orthogonal projection are written down group by group.

    Attributes
    ----------
    trace : Trace
    n_in, n_out : int
    """

    trace: Trace
    n_in: int = 1
    n_out: int = 1

    # -- sizes and coordinates -------------------------------------------------------------------------------
    @property
    def h(self) -> int:
        """Number of hidden units."""
        return len(self.trace.sigma)

    @property
    def ambient_dim(self) -> int:
        """:math:`(n + m + 1) h + m`."""
        return (self.n_in + self.n_out + 1) * self.h + self.n_out

    @property
    def dim(self) -> int:
        r""":math:`\dim S = (n+m+1)h + m - n|\bar I| - (n+1)\sum_j (|\Pi_j| - 1) - m|\bar K|`."""
        t, n, m = self.trace, self.n_in, self.n_out
        merged = sum(len(g) - 1 for g in t.Pi)
        return self.ambient_dim - n * len(t.I_bar) - (n + 1) * merged - m * len(t.K_bar)

    def _a(self, i: int) -> np.ndarray:
        start = i * (self.n_in + self.n_out + 1)
        return np.arange(start, start + self.n_out)

    def _bc(self, i: int) -> np.ndarray:
        start = i * (self.n_in + self.n_out + 1) + self.n_out
        return np.arange(start, start + self.n_in + 1)

    def equations(self) -> list[str]:
        """The defining equations in the paper's notation (units numbered from 1), e.g. ``(b2, c2) = -(b1, c1)``."""
        t, out = self.trace, []
        out += [f"b{i + 1} = 0" for i in t.I_bar]
        for group in t.Pi:
            lead = group[0]
            for i in group[1:]:
                sign = "" if t.sigma[i] == t.sigma[lead] else "-"
                out.append(f"(b{i + 1}, c{i + 1}) = {sign}(b{lead + 1}, c{lead + 1})")
        for k in t.K_bar:
            terms = [("-" if t.sigma[i] < 0 else "+") + f" a{i + 1}" for i in t.Pi[k]]
            out.append((" ".join(terms)).lstrip("+ ") + " = 0")
        return out

    def __str__(self) -> str:
        eqs = self.equations()
        return f"S[dim {self.dim}]: " + (", ".join(eqs) if eqs else "(all of W)")

    # -- linear algebra --------------------------------------------------------------------------------------
    @cached_property
    def constraints(self) -> np.ndarray:
        """A matrix C, one row per defining equation, with :math:`S = \\{w : C w = 0\\}` (rows independent)."""
        t, rows = self.trace, []
        for i in t.I_bar:
            for col in self._bc(i)[:-1]:
                rows.append({col: 1.0})
        for group in t.Pi:
            lead = group[0]
            for i in group[1:]:
                for k in range(self.n_in + 1):
                    rows.append({self._bc(lead)[k]: float(t.sigma[lead]), self._bc(i)[k]: -float(t.sigma[i])})
        for j in t.K_bar:
            for k in range(self.n_out):
                rows.append({self._a(i)[k]: float(t.sigma[i]) for i in t.Pi[j]})
        matrix = np.zeros((len(rows), self.ambient_dim))
        for row, entries in zip(matrix, rows):
            for col, value in entries.items():
                row[col] = value
        return matrix

    @cached_property
    def basis(self) -> np.ndarray:
        """Orthonormal basis of S as rows, shape (dim, ambient_dim), written down group by group."""
        t, vectors = self.trace, []

        def unit(cols: np.ndarray, weights: np.ndarray) -> None:
            v = np.zeros(self.ambient_dim)
            v[cols] = weights / np.linalg.norm(weights)
            vectors.append(v)

        last = self.ambient_dim - self.n_out
        for k in range(self.n_out):  # the output bias d is free
            unit(np.array([last + k]), np.ones(1))
        for i in t.I_bar:  # eliminated: a_i and c_i free, b_i = 0
            for col in (*self._a(i), self._bc(i)[-1]):
                unit(np.array([col]), np.ones(1))
        removed = set(t.K_bar)
        for j, group in enumerate(t.Pi):
            s = np.array([t.sigma[i] for i in group], dtype=float)
            for k in range(self.n_in + 1):  # the shared key: sigma_i (b_i, c_i) equal across the group
                unit(np.array([self._bc(i)[k] for i in group]), s)
            for k in range(self.n_out):
                cols = np.array([self._a(i)[k] for i in group])
                if j not in removed:
                    for col in cols:
                        unit(np.array([col]), np.ones(1))
                else:  # sum_i sigma_i a_i = 0: a Helmert basis of the complement of s
                    for q in range(1, len(group)):
                        weights = np.concatenate([np.ones(q), [-float(q)], np.zeros(len(group) - q - 1)])
                        unit(cols, s * weights)
        basis = np.array(vectors).reshape(len(vectors), self.ambient_dim)
        return basis

    def _check_w(self, w: Any) -> np.ndarray:
        if isinstance(w, TanhNetwork):
            if (w.width, w.n_in, w.n_out) != (self.h, self.n_in, self.n_out):
                raise ValueError(f"w has sizes (h, n, m) = {(w.width, w.n_in, w.n_out)}, this subspace "
                                 f"{(self.h, self.n_in, self.n_out)}")
            w = w.to_vector()
        return as_float_array(w, "w", shape=(self.ambient_dim,))

    def violation(self, w: Any) -> float:
        """The largest absolute residual of the defining equations at w (sums of a's taken exactly)."""
        w, t = self._check_w(w), self.trace
        worst = 0.0
        for i in t.I_bar:
            worst = max(worst, float(np.max(np.abs(w[self._bc(i)[:-1]]), initial=0.0)))
        for group in t.Pi:
            keys = np.array([t.sigma[i] * w[self._bc(i)] for i in group])
            worst = max(worst, float(np.max(np.abs(keys - keys[0]), initial=0.0)))
        for j in t.K_bar:
            for k in range(self.n_out):
                worst = max(worst, abs(math.fsum(t.sigma[i] * w[self._a(i)[k]] for i in t.Pi[j])))
        return worst

    def contains(self, w: Any, atol: float = 0.0, rtol: float = 0.0) -> bool:
        r"""Whether every defining equation holds at w within :math:`\max(\text{atol}, \text{rtol}\,\|w\|_\infty)`.

        The default ``atol = rtol = 0`` is exact (sums of a's are taken exactly), hence the same at every scale of
        w. ``rtol`` measures the residuals relative to the parameter's largest entry, so that a tolerance keeps its
        meaning when w is multiplied by a constant; ``atol`` is an absolute floor.
        """
        atol, rtol = check_tolerances(atol, rtol)
        w = self._check_w(w)
        return self.violation(w) <= max(atol, rtol * float(np.max(np.abs(w), initial=0.0)))

    def project(self, w: Any) -> np.ndarray:
        """The orthogonal projection of w onto S, rounded so that it satisfies S's equations exactly.

        Group by group: the oriented keys are replaced by their mean, eliminated b's by zero, and the oriented
        outgoing weights of removed groups lose their mean (``nncompress.tanh.compress.cancel_exactly``, which
        moves them by a few units in the last place more so that their sum is exactly zero).
        """
        w, t = self._check_w(w).copy(), self.trace
        for i in t.I_bar:
            w[self._bc(i)[:-1]] = 0.0
        for j, group in enumerate(t.Pi):
            s = np.array([t.sigma[i] for i in group], dtype=float)
            cols = np.array([self._bc(i) for i in group])
            w[cols] = s[:, None] * np.mean(s[:, None] * w[cols], axis=0)
            if j in t.K_bar:
                cols = np.array([self._a(i) for i in group])
                w[cols] = s[:, None] * cancel_exactly(s[:, None] * w[cols])
        return w

    def sample(self, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """A random point of S (the projection of a standard normal vector), satisfying S's equations exactly."""
        return self.project(as_rng(rng).normal(size=self.ambient_dim))

    def is_subset_of(self, other: "Subspace") -> bool:
        """Exact, combinatorial test of :math:`S(t) \\subseteq S(t')`: it holds iff t' relaxes t
        (:ref:`proof-components`)."""
        if not isinstance(other, Subspace):
            raise TypeError(f"other must be a Subspace, got {type(other).__name__}")
        if (self.h, self.n_in, self.n_out) != (other.h, other.n_in, other.n_out):
            raise ValueError("the two subspaces live in different parameter spaces")
        t, u = self.trace, other.trace
        if not set(u.I_bar) <= set(t.I_bar):
            return False
        group_of = {i: g for g, group in enumerate(t.Pi) for i in group}

        def same_group_same_signs(group: tuple[int, ...]) -> bool:
            if any(i not in group_of or group_of[i] != group_of[group[0]] for i in group):
                return False
            return len({t.sigma[i] * u.sigma[i] for i in group}) == 1

        if not all(same_group_same_signs(g) for g in u.Pi if len(g) > 1):
            return False
        removed = {t.Pi[k] for k in t.K_bar}
        return all(u.Pi[k] in removed and same_group_same_signs(u.Pi[k]) for k in u.K_bar)


def bounded_rank_subspaces(
    h: int, r: int, n_in: int = 1, n_out: int = 1, maximal: bool = False
) -> list[Subspace]:
    r"""The distinct linear subspaces whose union is :math:`\mathfrak B_r \subseteq \mathcal W_h^{n,m}`.

    Parameters
    ----------
    h, r : int
        Width and rank bound, ``0 <= r <= h``.
    n_in, n_out : int
        Input and output dimensions (Appendix A).
    maximal : bool, default False
        ``False``: one subspace per canonical trace of length at most r (every way to reach rank <= r).
        ``True``: only the subspaces contained in no other, the irreducible components of :math:`\mathfrak B_r`;
        they are the canonical traces of length exactly r (:ref:`proof-components`).

    Returns
    -------
    list of Subspace

    Examples
    --------
    The irreducible components of the rank-1 region of width-2 networks (Theorem 5.1), in the 7-dimensional parameter
    space :math:`\mathcal{W}_2`:

    >>> from nncompress.rank_regions import bounded_rank_subspaces
    >>> components = bounded_rank_subspaces(2, 1, maximal=True)
    >>> len(components), sorted(s.dim for s in components), components[0].ambient_dim
    (6, [5, 5, 6, 6, 6, 6], 7)
    """
    h, r = _check_h_r(h, r)
    n_in, n_out = check_size(n_in, "n_in", minimum=1), check_size(n_out, "n_out", minimum=1)
    lengths = [r] if maximal else range(r + 1)
    return [s for length in lengths for s in _subspaces_of_length(h, length, n_in, n_out)]


@lru_cache(maxsize=256)
def _subspaces_of_length(h: int, r: int, n_in: int, n_out: int) -> tuple[Subspace, ...]:
    """The subspaces of all canonical traces of length r, built once per (h, r, n, m) and shared (immutable)."""
    return tuple(Subspace(t, n_in, n_out) for t in compression_traces(h, r))


# -- from a parameter to a subspace that holds it --------------------------------------------------------------
def canonical_trace(net: TanhNetwork) -> Trace:
    """The canonical form of the trace Algorithm 4.1 follows on ``net`` (the proof of Theorem 5.1, inclusion
    :math:`\\subseteq`); its length is ``rank(net)`` and its subspace contains ``net``."""
    ct = compression_trace(net)
    Pi = tuple(tuple(int(i) for i in g) for g in ct.groups)
    order = sorted(range(len(Pi)), key=lambda j: Pi[j][0])
    K_bar = tuple(sorted(order.index(j) for j in ct.removed_groups))
    trace = Trace(tuple(int(i) for i in ct.eliminated), tuple(Pi[j] for j in order), K_bar,
                  tuple(int(s) for s in ct.sigma))
    return canonical_form(trace)


def relax_to_length(trace: Trace, r: int) -> Trace:
    """Relax a trace of length <= r to one of length r whose subspace contains it (proof of Theorem 5.1):
    free eliminated units as singletons, then take groups out of :math:`\\bar K`, then split groups."""
    r = check_size(r, "r")
    if r > len(trace.sigma) or r < trace.length:
        raise ValueError(f"r must be between the trace's length {trace.length} and h = {len(trace.sigma)}, got {r}")
    I_bar, Pi, K_bar = list(trace.I_bar), [tuple(g) for g in trace.Pi], list(trace.K_bar)
    length = trace.length
    while length < r and I_bar:
        Pi.append((I_bar.pop(),))
        length += 1
    while length < r and K_bar:
        K_bar.pop()
        length += 1
    while length < r:
        j = next(j for j, g in enumerate(Pi) if len(g) > 1 and j not in K_bar)
        Pi[j], single = Pi[j][:-1], (Pi[j][-1],)
        Pi.append(single)
        length += 1
    order = sorted(range(len(Pi)), key=lambda j: Pi[j][0])
    K_new = tuple(sorted(order.index(j) for j in K_bar))
    return canonical_form(Trace(tuple(sorted(I_bar)), tuple(Pi[j] for j in order), K_new, trace.sigma))


# -- distance to the bounded-rank region ------------------------------------------------------------------------
def _block_costs(keys: np.ndarray, a: np.ndarray, units: list[int]) -> tuple:
    """Least squared distance to merge ``units`` (keep) and to merge and remove them, with the orientations."""
    tails = np.array(list(product((1.0, -1.0), repeat=len(units) - 1))).reshape(2 ** (len(units) - 1), len(units) - 1)
    signs = np.hstack([np.ones((len(tails), 1)), tails])  # (P, g)
    oriented = signs[:, :, None] * keys[units][None]  # (P, g, n+1)
    merge = np.sum((oriented - oriented.mean(axis=1, keepdims=True)) ** 2, axis=(1, 2))
    sums = np.einsum("pg,gm->pm", signs, a[units])
    remove = merge + np.sum(sums**2, axis=1) / len(units)
    k, q = int(np.argmin(merge)), int(np.argmin(remove))
    return merge[k], signs[k], remove[q], signs[q]


def distance_to_bounded_rank(
    w: TanhNetwork, r: int, max_width: int = 12
) -> tuple[float, np.ndarray, Trace]:
    r"""Exact Euclidean distance from ``w`` to :math:`\mathfrak B_r`, the nearest point and a trace attaining it.

    The squared distance to :math:`S(t)` splits over the trace: :math:`\|b_i\|^2` for each eliminated unit, the
    spread :math:`\sum_{i \in \Pi_j} \|\sigma_i (b_i, c_i) - \text{mean}\|^2` of each group, plus
    :math:`\|\sum_{i \in \Pi_j} \sigma_i a_i\|^2 / |\Pi_j|` if the group is removed. The minimum over all traces
    of length at most r (the same as over the components, which contain the others) is found by dynamic
    programming over subsets of units and lengths, :math:`O(3^h h)`.

    Parameters
    ----------
    w : TanhNetwork
    r : int
        ``0 <= r <= w.width``.
    max_width : int, default 12
        Refuse wider networks (the cost triples per unit).

    Returns
    -------
    (float, ndarray, Trace)
        The distance, the nearest point (a parameter vector in :math:`\mathfrak B_r`) and its canonical trace,
        of length exactly r.
    """
    if not isinstance(w, TanhNetwork):
        raise TypeError(f"w must be a TanhNetwork, got {type(w).__name__}")
    h, r = _check_h_r(w.width, r)
    if h > check_size(max_width, "max_width"):
        raise ValueError(f"w.width = {h} > max_width = {max_width}: the exact search costs O(3^h)")
    keys = np.column_stack([w.b, w.c])
    b_cost = np.sum(w.b**2, axis=1)
    blocks = {}
    for mask in range(1, 1 << h):
        units = [i for i in range(h) if mask >> i & 1]
        blocks[mask] = _block_costs(keys, w.a, units)
    inf = float("inf")
    best = np.full((1 << h, h + 1), inf)
    choice: dict[tuple[int, int], tuple[str, int]] = {}
    best[0, 0] = 0.0
    for mask in range(1, 1 << h):
        low = mask & -mask
        rest = mask ^ low
        options = [(best[rest] + b_cost[low.bit_length() - 1], ("eliminate", low))]  # eliminate the lowest unit
        sub = rest
        while True:  # or the lowest unit's group is `group`, kept (one more unit) or removed
            group = sub | low
            merge, _, remove, _ = blocks[group]
            options.append((np.concatenate([[inf], best[mask ^ group, :-1]]) + merge, ("keep", group)))
            options.append((best[mask ^ group] + remove, ("remove", group)))
            if sub == 0:
                break
            sub = (sub - 1) & rest
        costs = np.array([cost for cost, _ in options])
        winners = np.argmin(costs, axis=0)
        best[mask] = costs[winners, np.arange(h + 1)]
        for length, k in enumerate(winners):
            choice[mask, length] = options[k][1]
    full = (1 << h) - 1
    length = int(np.argmin(best[full, : r + 1]))
    I_bar, Pi, removed, sigma = [], [], [], [1] * h
    mask = full
    while mask:
        kind, group = choice[mask, length]
        if kind == "eliminate":
            I_bar.append(group.bit_length() - 1)
            mask ^= group
            continue
        units = tuple(i for i in range(h) if group >> i & 1)
        _, keep_signs, _, remove_signs = blocks[group]
        for i, s in zip(units, keep_signs if kind == "keep" else remove_signs):
            sigma[i] = int(s)
        if kind == "remove":
            removed.append(units)
        Pi.append(units)
        mask ^= group
        length -= kind == "keep"
    Pi.sort()
    trace = Trace(tuple(sorted(I_bar)), tuple(Pi), tuple(sorted(Pi.index(g) for g in removed)), tuple(sigma))
    trace = relax_to_length(canonical_form(trace), r)
    nearest = Subspace(trace, w.n_in, w.n_out).project(w.to_vector())
    return float(np.linalg.norm(nearest - w.to_vector())), nearest, trace


def slice_intersection(subspace: Subspace, origin: Any, u: Any, v: Any,
                       rtol: float = 1e-9) -> tuple[np.ndarray, np.ndarray] | None:
    """The intersection of S with the affine plane ``origin + s u + t v``, in (s, t) coordinates.

    Solves :math:`C(\text{origin} + s u + t v) = 0` for the constraint matrix C of S by least squares. Both
    decisions are relative, so they do not depend on the scale of the plane: the plane meets S when the residual
    is at most ``rtol`` times the size of the system (its largest singular value times the solution, or the
    right-hand side), and the solution set has one direction per singular value of ``C [u v]`` below ``rtol`` times
    the largest.

    Returns ``(point, directions)`` with the solution set ``point + span(directions)`` (directions as rows, 0, 1
    or 2 of them), or None if the plane misses S.
    """
    C = subspace.constraints
    origin, u, v = (np.asarray(z, dtype=float) for z in (origin, u, v))
    if len(C) == 0:
        return np.zeros(2), np.eye(2)
    A, rhs = C @ np.column_stack([u, v]), -C @ origin
    point, *_ = np.linalg.lstsq(A, rhs, rcond=None)
    _, s, vt = np.linalg.svd(A)
    largest = float(s[0]) if len(s) else 0.0
    size = max(largest * float(np.max(np.abs(point), initial=0.0)), float(np.max(np.abs(rhs), initial=0.0)))
    if np.max(np.abs(A @ point - rhs), initial=0.0) > rtol * size:
        return None
    return point, vt[int(np.sum(s > rtol * largest)) :]
