"""Input validation at the library's boundary (scikit-learn style: check early, name the argument)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["as_float_array", "as_inputs", "as_rng", "check_tolerance", "check_tolerances", "check_nonnegative",
           "check_size", "check_widths", "check_seed"]


def as_float_array(
    value: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Return ``value`` as a float64 array, or raise naming ``name``.

    Parameters
    ----------
    value : array_like
        Real numbers. Booleans, strings, complex numbers and objects are refused.
    name : str
        The argument's name, used in error messages.
    ndim : int or tuple of int, optional
        The allowed number(s) of dimensions.
    shape : tuple of (int or None), optional
        Expected shape; ``None`` entries are free.
    finite : bool, default True
        Refuse NaN and infinity.

    Raises
    ------
    TypeError
        If ``value`` is not an array of real numbers.
    ValueError
        If the dimensions or shape are wrong, or an entry is NaN or infinite.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy raises many kinds
        raise TypeError(f"{name} must be an array of real numbers") from exc
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, arr.shape)):
            expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {expected}, got {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def as_inputs(x: Any, n_in: int, name: str = "x") -> np.ndarray:
    """A batch of inputs as a float64 array of shape (N, n_in); a 1-D array is N scalar inputs when n_in = 1."""
    x = as_float_array(x, name, ndim=(1, 2))
    if x.ndim == 1:
        if n_in != 1:
            raise ValueError(f"{name} must have shape (N, {n_in}), got {x.shape}")
        x = x[:, None]
    if x.shape[1] != n_in:
        raise ValueError(f"{name} must have shape (N, {n_in}), got {x.shape}")
    return x


def check_tolerance(value: Any, name: str = "atol") -> float:
    """Return a tolerance as a float after checking it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def check_tolerances(atol: Any, rtol: Any) -> tuple[float, float]:
    """Return ``(atol, rtol)`` as floats after checking each is a finite number >= 0 (naming the argument)."""
    return check_tolerance(atol, "atol"), check_tolerance(rtol, "rtol")


def check_nonnegative(value: Any, name: str, *, positive: bool = False) -> float:
    """Return a finite real number >= 0 (> 0 with ``positive=True``) as a float, or raise naming ``name``."""
    value = check_tolerance(value, name)
    if positive and value == 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_widths(hidden: Any, name: str = "hidden") -> tuple[int, ...]:
    """Return a sequence of layer widths (integers >= 1) as a tuple, or raise naming ``name``."""
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"{name} must be a sequence of layer widths (ints), got {type(hidden).__name__}")
    return tuple(check_size(n, name, minimum=1) for n in hidden)


def check_seed(seed: Any) -> int:
    """Return a seed (an integer >= 0, e.g. part of a cache key) as an int, or raise."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int (it is part of the cache key), got {type(seed).__name__}")
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return seed


def check_size(value: Any, name: str, *, minimum: int = 0) -> int:
    """Return a size (a count of units, inputs, ...) after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, a seed or None) into a ``numpy.random.Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
