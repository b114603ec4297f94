"""The experiments of Chapter 6 on Burstein and Wilmes (2020), as functions returning tables (pandas) for the
notebook and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import as_float_array, as_rng, check_size
from .distill import evaluate_student, train_student
from .gadget import (block_slices, global_compression, knot_fit_mse, piece_lower_bound, product_network, sawtooth,
                     window_contents)
from .lemma1 import walsh_hadamard
from .network import LayeredNetwork, lipschitz_ratios
from .parity import hypercube, parity, parity_network, parity_network_depth2, random_subset
from .theorem1 import ParityPerturbation, exact_compression, theorem1_network

__all__ = [
    "depth2_width_sweep",
    "lipschitz_check",
    "local_vs_global",
    "noisy_parity_table",
    "parity_check",
    "parity_size_table",
    "walsh_spectrum",
]


def parity_check(n: int, subset: Sequence[int] | None = None) -> dict[str, Any]:
    """Evaluate :func:`parity_network` and :func:`parity_network_depth2` on all 2^n points against the product
    of coordinates: the number of points where each is not exactly equal to the parity (both should be 0)."""
    x = hypercube(n)
    truth = parity(x, subset)
    return {"n": n, "points": len(x),
            "wrong_depth3": int(np.sum(parity_network(n, subset)(x) != truth)),
            "wrong_depth2": int(np.sum(parity_network_depth2(n, subset)(x) != truth))}


def parity_size_table(ns: Sequence[int]) -> Any:
    """Gates and Frobenius norms of the Lemma 2 networks for several n (full parity)."""
    import pandas as pd

    rows = []
    for n in ns:
        d3, d2 = parity_network(n), parity_network_depth2(n)
        rows.append({"n": n, "gates_depth3": d3.units, "gates_depth2": d2.units,
                     "lam_depth3": d3.lam, "lam_depth2": d2.lam,
                     "lip_depth3": d3.lipschitz_bound(), "lip_depth2": d2.lipschitz_bound()})
    return pd.DataFrame(rows).set_index("n")


def lipschitz_check(nets: dict[str, LayeredNetwork], pairs: int, rng: np.random.Generator | int | None = None,
                    scale: float = 1.0) -> Any:
    """Largest observed ``||f(x) - f(y)|| / ||x - y||`` over random pairs (x Gaussian, y = x + small or large
    Gaussian steps), next to the spectral bound and Proposition 1's :math:`\\Lambda^d`."""
    import pandas as pd

    rng = as_rng(rng)
    pairs = check_size(pairs, "pairs", minimum=1)
    rows = []
    for name, net in nets.items():
        x = rng.normal(0, scale, size=(pairs, net.n_in))
        step = rng.normal(0, 1, size=x.shape) * 10.0 ** rng.uniform(-3, 1, size=(pairs, 1))
        ratios = lipschitz_ratios(net, x, x + step)
        rows.append({"network": name, "depth": net.depth, "lam": net.lam, "max_ratio": float(ratios.max()),
                     "spectral_bound": net.lipschitz_bound(), "prop1_bound": net.proposition1_bound()})
    return pd.DataFrame(rows).set_index("network")


def walsh_spectrum(x: Any, labels: Any) -> np.ndarray:
    """Correlation :math:`E[\\tilde h \\chi_S]` of labels on the full cube ``x`` (all 2^n points, as
    :func:`hypercube` orders them) with every parity, indexed like :func:`hypercube` rows."""
    x = as_float_array(x, "x", ndim=2)
    labels = as_float_array(labels, "labels", shape=(len(x),))
    if len(x) != 2 ** x.shape[1]:
        raise ValueError(f"x must be the whole cube of {2 ** x.shape[1]} points, got {len(x)}")
    if not np.array_equal(x, hypercube(x.shape[1])):
        raise ValueError("x must list the cube in hypercube(n) order")
    return walsh_hadamard(labels) / len(x)


def noisy_parity_table(n: int, noises: Sequence[float], sample_size: int, hidden: Sequence[int] = (128,), *,
                       lam: float = 8.0, depth: int = 5, epochs: int = 300,
                       rng: np.random.Generator | int | None = None, progress: bool = False) -> Any:
    """Theorem 2: for each noise rate, the exact compression's error over the noisy :math:`D_h` (it should be
    4 x noise) and whether Lemma 1 recovers h from it, and a distilled student's error and recovered accuracy."""
    import pandas as pd

    rng = as_rng(rng)
    subset = random_subset(n, -(-n // 2), rng)
    teacher = theorem1_network(n, lam, depth)
    exact = exact_compression(n, subset)
    rows = []
    for noise in noises:
        fam = ParityPerturbation.for_network(n, subset, lam, depth, noise)
        ex = evaluate_student(exact, teacher, fam)
        x = fam.sample(sample_size, rng)
        student, info = train_student(x, teacher(x), hidden, epochs=epochs, seed=int(rng.integers(2**31)),
                                      target_loss=0.0, progress=progress, desc=f"noise {noise}")
        st = evaluate_student(student, teacher, fam, info | {"sample_size": sample_size})
        rows.append({"noise": noise, "exact_mse": ex.mse, "exact_accuracy": ex.accuracy,
                     "exact_recovered": ex.recovered, "student_mse": st.mse, "student_accuracy": st.accuracy,
                     "student_recovered": st.recovered})
    return pd.DataFrame(rows).set_index("noise")


def depth2_width_sweep(m: int, widths: Sequence[int], grid: int = 2**14 + 1) -> Any:
    """For the gadget :math:`T_{2m^2}` on [0, 1]: Telgarsky's lower bound for any depth-2 network of each width,
    and the error of the least-squares uniform-knot depth-2 network of that width (an achievable upper bound).
    MSEs are over the uniform distribution (the knot fit on ``grid`` points)."""
    import pandas as pd

    m = check_size(m, "m", minimum=1)
    x = np.linspace(0.0, 1.0, check_size(grid, "grid", minimum=3))
    target = sawtooth(x, 2 * m * m)
    rows = [{"width": w, "lower_bound": piece_lower_bound(w + 1, 4 * m * m),
             "uniform_knots": knot_fit_mse(target, x, w, "uniform"), "front_knots": knot_fit_mse(target, x, w, "front")}
            for w in widths]
    return pd.DataFrame(rows).set_index("width")


def _window_arrays(f: LayeredNetwork, start: int, t: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hidden = f.hidden(x)
    return hidden[start - 1], hidden[start + t]


def local_vs_global(m: int, depth: int, width: int, samples: int, *, t: int = 3, epochs: int = 200,
                    rng: np.random.Generator | int | None = None, progress: bool = False) -> Any:
    """Theorem 3 on :func:`product_network` (m, depth): for each slice :math:`f^{[i:i+t]}` (t + 1 layers), a
    depth-2 student of ``width`` units trained on ``samples`` inputs from the induced distribution (x uniform on
    :math:`[0, 1]^{d-3}`), its mean squared error on the outputs of the whole gadgets in the slice (on fresh
    inputs), Telgarsky's lower bound for any depth-2 network of that width, and the global compression's error.

    Returns a DataFrame, one row per slice start i = 1 .. depth - t."""
    import pandas as pd

    rng = as_rng(rng)
    f = product_network(m, depth)
    glob = global_compression(m, depth)
    k = depth - 3
    x_test = rng.random((4096, k))
    global_err = float(np.max(np.abs(glob(x_test) - f(x_test))))
    rows = []
    for start in range(1, depth - t + 1):
        whole = [i for i, span in window_contents(depth, start, t).items() if span == (1, 3)]
        x_in, y_out = _window_arrays(f, start, t, rng.random((samples, k)))
        student, info = train_student(x_in, y_out, (width,), epochs=epochs, seed=int(rng.integers(2**31)),
                                      progress=progress, desc=f"slice {start}")
        t_in, t_out = _window_arrays(f, start, t, x_test)
        blocks = block_slices(m, depth, start + t)
        pred = student.hidden(t_in)[-1]
        cols = [blocks[i - 1].start for i in whole]
        mse = float(np.mean((pred[:, cols] - t_out[:, cols]) ** 2))
        rows.append({"start": start, "layers": f"{start}-{start + t}", "whole_gadgets": len(whole),
                     "student_mse": mse, "lower_bound": piece_lower_bound(width + 1, 4 * m * m),
                     "variance": 1.0 / 12.0, "global_max_error": global_err, "seconds": info["seconds"]})
    return pd.DataFrame(rows).set_index("start")
