"""Reading and writing the single-hidden-layer networks of the tanh and ReLU chapters as torch modules, and the
one-thread context in which the library trains.

Both chapters' networks are ``nn.Sequential(nn.Linear(n, h), activation, nn.Linear(h, m))`` with biased layers;
the two functions here are the one place that builds and checks that form (torch is imported only when called).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

__all__ = ["two_layer_to_torch", "two_layer_from_torch", "one_thread"]


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block, and restore the previous thread count after it.

    Every training loop of the library runs in this context: with one thread the order of floating-point reductions
    is fixed, so a seed gives the same network on any machine, whatever its number of cores.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def two_layer_to_torch(hidden_weight: np.ndarray, hidden_bias: np.ndarray, out_weight: np.ndarray,
                       out_bias: np.ndarray, activation: Any, dtype: Any = None) -> Any:
    """``nn.Sequential(nn.Linear(n, h), activation, nn.Linear(h, m))`` with the given weights (torch's ``Linear``
    convention: ``hidden_weight`` (h, n), ``out_weight`` (m, h)), float64 unless ``dtype`` says otherwise."""
    import torch
    from torch import nn

    dtype = torch.float64 if dtype is None else dtype
    h, n = hidden_weight.shape
    hidden, out = nn.Linear(n, h, dtype=dtype), nn.Linear(h, out_weight.shape[0], dtype=dtype)
    with torch.no_grad():
        for param, value in ((hidden.weight, hidden_weight), (hidden.bias, hidden_bias), (out.weight, out_weight),
                             (out.bias, out_bias)):
            param.copy_(torch.from_numpy(np.array(value, dtype=np.float64).reshape(param.shape)))
    return nn.Sequential(hidden, activation, out)


def two_layer_from_torch(module: Any, activation: type, form: str) -> tuple[Any, Any]:
    """The two ``nn.Linear`` layers of ``module`` = ``nn.Sequential(nn.Linear, activation(), nn.Linear)``.

    Raises
    ------
    TypeError
        If ``module`` is not of that form (the message shows ``form``) or a layer has no bias.
    ValueError
        If the layers do not chain.
    """
    from torch import nn

    layers = list(module) if isinstance(module, nn.Sequential) else None
    if (
        layers is None
        or len(layers) != 3
        or not isinstance(layers[0], nn.Linear)
        or not isinstance(layers[1], activation)
        or not isinstance(layers[2], nn.Linear)
    ):
        raise TypeError(f"module must be {form}")
    hidden, out = layers[0], layers[2]
    if hidden.bias is None or out.bias is None:
        raise TypeError("module's Linear layers must both have biases (bias=True)")
    if out.in_features != hidden.out_features:
        raise ValueError(f"module's layers do not chain: {hidden.out_features} hidden units feed {out.in_features}")
    return hidden, out
