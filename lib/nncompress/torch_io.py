"""The library's one torch adapter, and the one-thread context in which the library trains.

Every network of the book is read from and written to torch as an ``nn.Sequential`` of ``nn.Linear`` layers, each
optionally followed by ``nn.ReLU`` or ``nn.Tanh``, by the two functions here, with one set of rules:

* ``nn.Flatten`` and ``nn.Identity`` are skipped wherever they stand (they do not change a flat input);
* an ``nn.Linear`` without bias (``bias=False``) is read with a zero bias; written layers always have biases;
* any other module, an activation that does not follow a ``Linear``, or a first module that is not a ``Linear`` is a
  ``TypeError`` naming the module; layers whose sizes do not chain are a ``ValueError``;
* values are read as float64 numpy arrays and written as float64 unless ``dtype`` says otherwise.

The single-hidden-layer networks of the tanh and ReLU-symmetry chapters (``two_layer_from_torch``), the layered
network (:class:`~nncompress.layered.LayeredNetwork`), the stability engine's weight lists and the command line all
go through them. torch is imported only when a function is called.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = ["sequential_to_layers", "layers_to_sequential", "two_layer_to_torch", "two_layer_from_torch",
           "one_thread"]


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


#: torch activation module name -> the library's activation name.
_ACTIVATION_NAMES = {"ReLU": "relu", "Tanh": "tanh"}


def sequential_to_layers(module: Any) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """``(weights, biases, activations)`` of an ``nn.Sequential`` of ``Linear`` layers, each optionally followed by
    ``ReLU`` or ``Tanh`` (rules in the module description): ``weights[i]`` (out, in) as in ``nn.Linear``, one
    activation name per layer (``"relu"``, ``"tanh"`` or ``"identity"``).

    Raises
    ------
    TypeError
        If ``module`` is not an ``nn.Sequential`` of that form (the message names the offending module).
    ValueError
        If the layers do not chain.
    """
    from torch import nn

    if not isinstance(module, nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential of Linear and ReLU/Tanh layers, got "
                        f"{type(module).__name__}")
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    activations: list[str] = []
    for k, layer in enumerate(module):
        if isinstance(layer, (nn.Flatten, nn.Identity)):
            continue
        if isinstance(layer, nn.Linear):
            w = layer.weight.detach().cpu().double().numpy().copy()
            if weights and w.shape[1] != weights[-1].shape[0]:
                raise ValueError(f"module's layers do not chain: layer {k} takes {w.shape[1]} inputs after "
                                 f"{weights[-1].shape[0]} outputs")
            weights.append(w)
            biases.append(np.zeros(w.shape[0]) if layer.bias is None
                          else layer.bias.detach().cpu().double().numpy().copy())
            activations.append("identity")
        elif type(layer).__name__ in _ACTIVATION_NAMES and isinstance(layer, (nn.ReLU, nn.Tanh)) \
                and activations and activations[-1] == "identity":
            activations[-1] = _ACTIVATION_NAMES[type(layer).__name__]
        else:
            raise TypeError(f"module's layer {k} ({type(layer).__name__}) is not allowed: expected Linear layers, "
                            "each optionally followed by one ReLU or Tanh")
    if not weights:
        raise TypeError("module must contain at least one nn.Linear layer")
    return weights, biases, activations


def layers_to_sequential(weights: Sequence[Any], biases: Sequence[Any], activations: Sequence[str],
                         dtype: Any = None) -> Any:
    """``nn.Sequential(Linear, activation, ..., Linear[, activation])`` holding these layers (``activations``: one
    of ``"relu"``, ``"tanh"``, ``"identity"`` per layer), float64 unless ``dtype`` says otherwise; the inverse of
    :func:`sequential_to_layers`."""
    import torch
    from torch import nn

    dtype = torch.float64 if dtype is None else dtype
    modules: list[Any] = []
    for w, b, act in zip(weights, biases, activations):
        w = np.array(w, dtype=np.float64)  # a writable copy: torch refuses read-only arrays
        b = np.array(b, dtype=np.float64).reshape(w.shape[0])
        linear = nn.utils.skip_init(nn.Linear, w.shape[1], w.shape[0], dtype=dtype)  # no random draw: filled below
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if act == "relu":
            modules.append(nn.ReLU())
        elif act == "tanh":
            modules.append(nn.Tanh())
        elif act != "identity":
            raise ValueError(f"activations must be 'relu', 'tanh' or 'identity', got {act!r}")
    return nn.Sequential(*modules)


def two_layer_to_torch(hidden_weight: np.ndarray, hidden_bias: np.ndarray, out_weight: np.ndarray,
                       out_bias: np.ndarray, activation: str, dtype: Any = None) -> Any:
    """``nn.Sequential(nn.Linear(n, h), activation, nn.Linear(h, m))`` with the given weights (torch's ``Linear``
    convention: ``hidden_weight`` (h, n), ``out_weight`` (m, h)), float64 unless ``dtype`` says otherwise."""
    out_weight = np.asarray(out_weight, dtype=np.float64)
    return layers_to_sequential([hidden_weight, out_weight],
                                [hidden_bias, np.asarray(out_bias, dtype=np.float64).reshape(out_weight.shape[0])],
                                [activation, "identity"], dtype)


def two_layer_from_torch(module: Any, activation: str, form: str
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(hidden_weight (h, n), hidden_bias (h,), out_weight (m, h), out_bias (m,))`` of ``module`` =
    ``nn.Sequential(nn.Linear, activation, nn.Linear)``, read by :func:`sequential_to_layers`.

    Raises
    ------
    TypeError
        If ``module`` is not of that form (the message shows ``form``).
    ValueError
        If the layers do not chain.
    """
    weights, biases, activations = sequential_to_layers(module)
    if activations != [activation, "identity"]:
        raise TypeError(f"module must be {form}")
    return weights[0], biases[0], weights[1], biases[1]
