r"""LEO++: exact compression of a ReLU MLP from its stable neurons (Serra et al. 2021, Section 5 and Appendix A5).

For each hidden layer, given a :class:`~nncompress.stability.engine.StabilityReport`:

1. **Stably inactive** neurons always output 0: delete their row (and bias) and the next layer's column.
2. **Stably active** neurons output their pre-activation, an affine function of the previous layer. If the
   weight row :math:`w_j` of such a neuron is a linear combination :math:`\sum_k \alpha_k w_k` of other stably
   active neurons' rows, then :math:`x_j = \sum_k \alpha_k x_k + c_j` with the constant
   :math:`c_j = b_j - \sum_k \alpha_k b_k` on the whole box, so the next layer's column j is folded into the
   columns k, :math:`c_j` times it is added to the next layer's bias (the bias correction of the released code of
   Serra et al.), and j is deleted. Folding on the weight rows alone removes one more neuron than folding on the
   augmented rows :math:`[w_j, b_j]` whenever the biases raise the rank. The kept rows are chosen by a
   rank-revealing QR with column pivoting; a fold is accepted only if the row is reproduced to ``rtol``
   (relative).
3. A layer whose neurons are **all stable** is affine on the box (:math:`x = D(Wx' + b)`, D keeping the active
   ones) and is folded into the next layer, removing the layer. (The original LEO++ did not fold layers.)

Only proven stabilities are used: an incomplete report compresses less, never wrongly. A report holds only for
the network and input box it was computed for: its fingerprint is checked against the network it is applied to
(and, when given, the box the compressed network will be used on must lie inside the report's box).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.linalg

from .._validation import as_float_array, as_rng, check_size
from .engine import StabilityReport
from .network import _digest, as_mlp, check_box, check_mlp, forward

__all__ = ["LeoResult", "leo_compress", "compress_with_report", "verify"]


@dataclass
class LeoResult:
    """Output of LEO++ with what was removed.

    Attributes
    ----------
    weights, biases : lists of ndarray
        The compressed network (same convention as the input).
    removed_neurons : list of int
        Neurons removed from each original hidden layer (all of them for a folded layer).
    removed_connections : int
        Weights (matrix entries) removed in total.
    folded_layers : list of int
        Original hidden layers folded away because every neuron was stable.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    removed_neurons: list[int]
    removed_connections: int
    folded_layers: list[int]


def _dependent_active(w: np.ndarray, b: np.ndarray, active: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray,
                                                                                               np.ndarray]:
    """Split the stably active neurons into a basis and dependent ones, with coefficients (dependent x basis) that
    reproduce the dependent weight rows from the basis rows (:mod:`nncompress.stability.leo`, step 2)."""
    if len(active) == 0:
        return active, np.array([], dtype=int), np.zeros((0, 0))
    rows = w[active]
    _, r, piv = scipy.linalg.qr(rows.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > rtol * max(diag[0], 1e-300))) if len(diag) else 0
    basis, rest = active[np.sort(piv[:rank])], active[np.sort(piv[rank:])]
    if not len(rest):
        return active, rest, np.zeros((0, len(active)))
    B, R = w[basis], w[rest]
    alpha = np.linalg.lstsq(B.T, R.T, rcond=None)[0].T if len(basis) else np.zeros((len(rest), 0))
    ok = np.linalg.norm(alpha @ B - R, axis=1) <= rtol * 10 * (1 + np.linalg.norm(R, axis=1))
    basis = np.concatenate([basis, rest[~ok]])
    order = np.argsort(basis)
    return basis[order], rest[ok], np.hstack([alpha[ok], np.zeros((int(ok.sum()), int((~ok).sum())))])[:, order]


def leo_compress(
    weights: Sequence[Any], biases: Sequence[Any], report: StabilityReport, rtol: float = 1e-10,
    fold_layers: bool = True, *, lower: Any = None, upper: Any = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """LEO++ (:mod:`nncompress.stability.leo`): the compressed network as lists ``(weights, biases)``.

    See :func:`compress_with_report` for the arguments, the checks on ``report`` and the counts of what was
    removed.

    Examples
    --------
    The network of :func:`~nncompress.stability.find_stable_neurons`' example loses its stably inactive neuron; the
    stably active one stays (no other active neuron can absorb it), and the function is unchanged on the box:

    >>> import numpy as np
    >>> from nncompress.stability import find_stable_neurons, forward, leo_compress
    >>> W = [np.array([[-1.0, -1.0], [1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 2.0, 3.0]])]
    >>> b = [np.array([-0.5, 0.5, 0.0]), np.array([0.0])]
    >>> W2, b2 = leo_compress(W, b, find_stable_neurons(W, b, lower=0.0, upper=1.0))
    >>> [w.shape for w in W2]
    [(2, 2), (1, 2)]
    >>> x = np.random.default_rng(0).uniform(size=(100, 2))
    >>> bool(np.allclose(forward(W2, b2, x), forward(W, b, x)))
    True
    """
    result = compress_with_report(weights, biases, report, rtol, fold_layers, lower=lower, upper=upper)
    return result.weights, result.biases


def _check_report(weights: list[np.ndarray], biases: list[np.ndarray], report: StabilityReport, lower: Any,
                  upper: Any) -> None:
    """Refuse a report computed for another network or for a box smaller than the one asked for."""
    if not isinstance(report, StabilityReport):
        raise TypeError(f"report must be a StabilityReport, got {type(report).__name__}")
    if report.fingerprint is None or report.lower is None or report.upper is None:
        raise ValueError("report carries no fingerprint of the network and box it holds for: compute it with "
                         "find_stable_neurons")
    if len(report.stably_active) != len(weights) - 1:
        raise ValueError(f"report has {len(report.stably_active)} hidden layers, the network {len(weights) - 1}: "
                         "it was computed for another network")
    if len(report.lower) != weights[0].shape[1]:
        raise ValueError(f"report was computed for {len(report.lower)} inputs, the network has "
                         f"{weights[0].shape[1]}: it was computed for another network")
    try:
        domain = check_box(report.lower, report.upper, weights[0].shape[1])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"report's input box is invalid ({exc})") from exc
    if _digest(weights, biases, *domain, report.input_constraint) != report.fingerprint:
        raise ValueError("report was computed for another network (or has been altered): its fingerprint does not "
                         "match these weights, biases and the report's input box; rerun find_stable_neurons")
    if lower is not None or upper is not None:
        if lower is None or upper is None:
            raise ValueError("give both lower and upper (the box the compressed network will be used on), or neither")
        lower, upper = check_box(lower, upper, weights[0].shape[1])
        outside = np.flatnonzero((lower < report.lower) | (upper > report.upper))
        if len(outside):
            raise ValueError(f"report was computed for another box: [lower, upper] leaves the report's box in "
                             f"coordinate(s) {outside[:5].tolist()}; stabilities proven there need not hold outside")


def compress_with_report(
    weights: Sequence[Any], biases: Sequence[Any], report: StabilityReport, rtol: float = 1e-10,
    fold_layers: bool = True, *, lower: Any = None, upper: Any = None,
) -> LeoResult:
    """LEO++ with per-layer counts of removed neurons and connections (:mod:`nncompress.stability.leo`).

    Parameters
    ----------
    weights, biases : lists of arrays, or as ``weights`` (then ``biases=None``) a
        :class:`~nncompress.layered.LayeredNetwork` with ReLU hidden layers and a linear output, or a torch
        ``nn.Sequential``
        The network the report was computed for; ``to_torch(result.weights, result.biases)`` turns the result
        back into a module.
    report : StabilityReport
        From :func:`~nncompress.stability.find_stable_neurons` on exactly this network.
    rtol : float, default 1e-10
        Relative tolerance for folding a stably active neuron into others (:mod:`nncompress.stability.leo`, step 2).
    fold_layers : bool, default True
        Fold layers whose neurons are all stably active (step 3).
    lower, upper : array_like (n_0,) or scalars, optional
        The box the compressed network will be used on; it must lie inside the report's box.

    Returns
    -------
    LeoResult
        A network equal to the input on the report's box (on its constrained part if the analysis had an
        ``input_constraint``).

    Raises
    ------
    ValueError
        If the report's fingerprint does not match ``weights``, ``biases`` and the report's box (a report for
        another network, or an altered one), if the report has none, or if ``[lower, upper]`` is not inside the
        report's box.
    """
    weights, biases = as_mlp(weights, biases)
    _check_report(weights, biases, report, lower, upper)
    W, B = [w.copy() for w in weights], [b.copy() for b in biases]
    original_entries = sum(w.size for w in W)
    removed, folded = [], []
    # keep[l]: indices (into the original layer l) of the neurons still present, as W/B shrink
    keep = [np.arange(len(b)) for b in biases[:-1]]
    for l in range(len(weights) - 1):
        n = len(biases[l])
        if len(report.stably_active[l]) and report.stably_active[l].max() >= n:
            raise ValueError(f"report's layer {l} names neuron {report.stably_active[l].max()} of {n}")
        inactive = np.isin(np.arange(n), report.stably_inactive[l])
        active_idx = np.flatnonzero(np.isin(np.arange(n), report.stably_active[l]))
        basis, dependent, alpha = _dependent_active(W[l], B[l], active_idx, rtol)
        nxt = W[l + 1]
        for j, coeffs in zip(dependent, alpha):  # x_j = sum_k alpha_k x_k + c_j on the box
            nxt[:, basis] += np.outer(nxt[:, j], coeffs)
            B[l + 1] = B[l + 1] + nxt[:, j] * (B[l][j] - coeffs @ B[l][basis])
        drop = inactive.copy()
        drop[dependent] = True
        W[l], B[l], W[l + 1] = W[l][~drop], B[l][~drop], nxt[:, ~drop]
        keep[l] = keep[l][~drop]
        removed.append(int(drop.sum()))
    # fold layers whose remaining neurons are all stably active (affine on the box)
    hidden = list(range(len(weights) - 1))
    for l in reversed(hidden) if fold_layers else []:
        all_stable = np.all(np.isin(keep[l], report.stably_active[l]))
        if not all_stable:
            continue
        pos = l - sum(1 for f in folded if f < l)
        W[pos + 1], B[pos + 1] = W[pos + 1] @ W[pos], W[pos + 1] @ B[pos] + B[pos + 1]
        del W[pos], B[pos]
        removed[l] = len(biases[l])
        folded.append(l)
    return LeoResult(W, B, removed, original_entries - sum(w.size for w in W), sorted(folded))


def verify(
    weights: Sequence[Any], biases: Sequence[Any], weights2: Sequence[Any], biases2: Sequence[Any],
    lower: Any, upper: Any, X: Any = None, n_points: int = 100_000, rng: np.random.Generator | int | None = 0,
) -> dict[str, float]:
    """Largest absolute output difference between two networks on data and on random points of the box.

    Returns
    -------
    dict
        ``data`` (on X, NaN if no X) and ``box`` (on ``n_points`` uniform points of the box, plus its corners'
        neighbourhood is not special-cased).
    """
    weights, biases = check_mlp(weights, biases)
    weights2, biases2 = check_mlp(weights2, biases2)
    lower, upper = check_box(lower, upper, weights[0].shape[1])
    if weights2[0].shape[1] != len(lower) or weights2[-1].shape[0] != weights[-1].shape[0]:
        raise ValueError("the two networks have different input or output sizes")
    rng = as_rng(rng)
    pts = rng.uniform(lower, upper, size=(check_size(n_points, "n_points"), len(lower)))
    out = {"box": float(np.max(np.abs(forward(weights, biases, pts) - forward(weights2, biases2, pts)), initial=0.0))}
    if X is not None:
        X = as_float_array(X, "X", ndim=2)
        out["data"] = float(np.max(np.abs(forward(weights, biases, X) - forward(weights2, biases2, X)), initial=0.0))
    else:
        out["data"] = float("nan")
    return out
