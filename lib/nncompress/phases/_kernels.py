"""Fused log-likelihood-and-gradient kernel of two-layer ReLU regression (numba, with a numpy fallback).

numba comes with pymc (pytensor depends on it). On large batches the loop over particles runs in parallel on numba's
threads (``NUMBA_NUM_THREADS``, by default the number of cores). The numpy version in ``nncompress.phases.model`` is the
reference; the tests check that both agree to rounding.
"""

from __future__ import annotations

import numpy as np

try:  # pragma: no cover - exercised whenever numba is installed
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False

__all__ = ["HAVE_NUMBA", "relu_loglik_grad", "PARALLEL_THRESHOLD"]

#: Batches of at least this many (particle, data point, node) terms use the multi-threaded kernel.
PARALLEL_THRESHOLD = 2_000_000


def _relu_loglik_grad(theta, xT, y, width, inv_s2, out_ll, out_g):  # pragma: no cover - compiled
    P = theta.shape[0]
    k = xT.shape[0]
    n = y.shape[0]
    stride = k + 2
    for p in prange(P):  # particles in parallel (numba threads); buffers are per particle
        f = np.empty(n)
        r = np.empty(n)
        z = np.empty((width, n))
        c = theta[p, width * stride]
        for j in range(n):
            f[j] = c
        for i in range(width):  # z_i = w_i . x + b_i, then f += q_i relu(z_i)
            o = i * stride
            b = theta[p, o + k]
            q = theta[p, o + k + 1]
            zi = z[i]
            for j in range(n):
                zi[j] = b
            for m in range(k):
                wm = theta[p, o + m]
                xm = xT[m]
                for j in range(n):
                    zi[j] += wm * xm[j]
            for j in range(n):
                f[j] += q * max(zi[j], 0.0)
        ss = 0.0
        rs = 0.0
        for j in range(n):
            e = y[j] - f[j]
            ss += e * e
            r[j] = e * inv_s2
            rs += r[j]
        out_ll[p] = -0.5 * inv_s2 * ss
        out_g[p, width * stride] = rs
        for i in range(width):
            o = i * stride
            q = theta[p, o + k + 1]
            zi = z[i]
            gq = 0.0
            gb = 0.0
            for j in range(n):
                on = r[j] if zi[j] > 0.0 else 0.0
                gq += on * zi[j]
                gb += on
            for m in range(k):
                xm = xT[m]
                gw = 0.0
                for j in range(n):
                    gw += (r[j] if zi[j] > 0.0 else 0.0) * xm[j]
                out_g[p, o + m] = q * gw
            out_g[p, o + k] = q * gb
            out_g[p, o + k + 1] = gq


if HAVE_NUMBA:
    _compiled_parallel = njit(cache=True, fastmath=True, nogil=True, parallel=True)(_relu_loglik_grad)
    _compiled_serial = njit(cache=True, fastmath=True, nogil=True)(_relu_loglik_grad)
else:  # pragma: no cover
    prange = range


def relu_loglik_grad(theta: np.ndarray, xT: np.ndarray, y: np.ndarray, width: int, noise_sd: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Sum of squared-error log-likelihood terms :math:`-\\tfrac12 \\sum_k (y_k - f(x_k))^2 / \\sigma^2` (without the
    normalising constant) and its gradient, for parameters (P, D) and inputs ``xT`` (n_in, n); numba only."""
    P = theta.shape[0]
    out_ll, out_g = np.empty(P), np.empty_like(theta)
    # threads pay off only on large batches (waking them costs about a millisecond on a busy machine)
    kernel = _compiled_parallel if P * y.shape[0] * width >= PARALLEL_THRESHOLD else _compiled_serial
    kernel(np.ascontiguousarray(theta), xT, y, int(width), 1.0 / noise_sd**2, out_ll, out_g)
    return out_ll, out_g
