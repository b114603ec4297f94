"""Random parameters and random lossless expansions, the raw material for checking Theorems 4.1 and 4.2."""

from __future__ import annotations

import numpy as np

from .._validation import as_rng, check_size
from .network import TanhNetwork

__all__ = ["random_network", "random_expansion"]


def random_network(
    h: int, n_in: int = 1, n_out: int = 1, rng: np.random.Generator | int | None = None
) -> TanhNetwork:
    """A parameter with standard normal entries: incompressible with probability one.

    Parameters
    ----------
    h, n_in, n_out : int
        Width, input and output dimensions.
    rng : Generator, int or None
    """
    h, n_in, n_out = check_size(h, "h"), check_size(n_in, "n_in", minimum=1), check_size(n_out, "n_out", minimum=1)
    rng = as_rng(rng)
    return TanhNetwork(rng.normal(size=(h, n_out)), rng.normal(size=(h, n_in)), rng.normal(size=h),
                       rng.normal(size=n_out))


def random_expansion(net: TanhNetwork, h: int, rng: np.random.Generator | int | None = None) -> TanhNetwork:
    r"""Add ``h - net.width`` units to ``net`` by random inverses of the four reduction operations of Section 3.

    Each new unit is one of: (i) a unit with zero outgoing weight and random incoming weight and bias;
    (ii) a unit with zero incoming weight, its constant :math:`a \tanh(c)` subtracted from the output bias;
    (iii)/(iv) a split of an existing unit of ``net`` into two with the same or the negated incoming weight and bias
    and outgoing weights that sum to the original (the new piece is 25-75% of it, so the sum never cancels to
    zero in floating point); or a pair of fresh units with :math:`\pm` the same key and outgoing weights
    :math:`a, -\sigma a` that cancel exactly. Units are then shuffled and each is negated, :math:`(a_i, b_i, c_i)
    \mapsto -(a_i, b_i, c_i)`, with probability 1/2 (tanh is odd).

    The result computes :math:`f_w` up to rounding of the output bias and the split weights, and its rank equals
    ``rank(net)`` exactly.

    Parameters
    ----------
    net : TanhNetwork
        The parameter to expand (of rank r = its width when it is incompressible).
    h : int
        The new width, at least ``net.width``.
    rng : Generator, int or None
    """
    if not isinstance(net, TanhNetwork):
        raise TypeError(f"net must be a TanhNetwork, got {type(net).__name__}")
    h = check_size(h, "h")
    if h < net.width:
        raise ValueError(f"h must be >= net.width = {net.width}, got {h}")
    rng = as_rng(rng)
    a, b, c = [list(x) for x in (net.a.copy(), net.b.copy(), net.c.copy())]
    d = net.d.copy()
    splittable = list(range(net.width))  # units whose outgoing weight is part of a nonzero merged weight
    n, m = net.n_in, net.n_out
    while len(c) < h:
        move = rng.integers(4) if len(c) + 1 < h else rng.integers(3)
        if move == 2 and not splittable:
            move = 0
        if move == 0:  # (i): zero outgoing weight
            a.append(np.zeros(m)), b.append(rng.normal(size=n)), c.append(rng.normal())
        elif move == 1:  # (ii): zero incoming weight, constant folded into d
            ai, ci = rng.normal(size=m), rng.normal()
            a.append(ai), b.append(np.zeros(n)), c.append(ci)
            d = d - ai * np.tanh(ci)
        elif move == 2:  # (iii)/(iv): split an existing unit
            i = splittable[rng.integers(len(splittable))]
            s = rng.choice([-1.0, 1.0])
            piece = a[i] * rng.uniform(0.25, 0.75)
            a[i] = a[i] - piece
            a.append(s * piece), b.append(s * b[i]), c.append(s * c[i])
            splittable.append(len(c) - 1)
        else:  # a cancelling pair with the same key up to sign
            ai, bi, ci, s = rng.normal(size=m), rng.normal(size=n), rng.normal(), rng.choice([-1.0, 1.0])
            a += [ai, -s * ai]
            b += [bi, s * bi]
            c += [ci, s * ci]
    perm = rng.permutation(h)
    flip = rng.choice([-1.0, 1.0], size=h)
    a, b, c = np.array(a).reshape(h, m)[perm], np.array(b).reshape(h, n)[perm], np.array(c)[perm]
    return TanhNetwork(flip[:, None] * a, flip[:, None] * b, flip * c, d)
