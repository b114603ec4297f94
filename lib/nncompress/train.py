"""L1-regularised training of ReLU classifiers (Serra et al. 2021, Section 6), seeded and cached on disk.

The classifiers of Section 6: ``L x n`` networks, L hidden layers of width n with ReLU and a linear output layer
(``nn.Sequential(Linear, ReLU, ..., Linear)``), trained on mean cross-entropy plus an :math:`\\ell_1` penalty on the
weights, which is what makes neurons stable and the network exactly compressible.

Training recipe (every setting is part of the cache key, see :class:`TrainSettings`):

* objective: ``mean cross-entropy + l1 * sum_l sum_ij |W^l_ij|`` over **all** weight matrices, the output layer's
  included; **biases are not penalised** (the paper regularises the weights; a bias penalty would push hidden
  units towards zero pre-activations, the opposite of stability);
* SGD with learning rate 0.01, momentum 0.9, mini-batches of 128 reshuffled each epoch (the last batch of an
  epoch may be smaller);
* step decay: the learning rate is multiplied by ``gamma = 0.1`` after 50 % and after 75 % of the epochs
  (``milestones = (0.5, 0.75)``; 0-based epoch e uses ``lr * gamma ** #{m : e >= ceil(m * epochs)}``, e.g. with
  40 epochs: 0.01 for epochs 0-19, 0.001 for 20-29, 0.0001 for 30-39);
* initialisation: torch's default distribution for ``Linear`` (weights and biases uniform on
  :math:`\\pm 1/\\sqrt{n_{in}}`) drawn from a ``torch.Generator`` seeded from ``seed``; a second generator, also
  derived from ``seed``, shuffles the batches;
* float32 arithmetic on one CPU thread (``torch.set_num_threads(1)`` for the duration of training, then
  restored), so the result does not depend on the machine's thread count and parallel sweeps do not
  oversubscribe cores. Same settings give bit-identical weights on the same machine and torch build.

The returned weights are float64 numpy arrays (holding the float32 values exactly) in torch's ``Linear``
convention, ``weights[l]`` of shape ``(n_{l+1}, n_l)``, as :func:`nncompress.stability.find_stable_neurons`
expects; accuracies are computed from them in float64, the arithmetic the stability analysis uses.

Caching: :func:`train_cached` stores each result in ``<cache_dir>/<dataset>-<arch>-<hash>.npz`` keyed by all
settings and :data:`CODE_VERSION`; loading returns exactly (bit for bit) what training returned. The cache
directory is the argument ``cache_dir``, else the environment variable ``NNC_CACHE``, else
``~/.cache/nncompress``. Each entry records the SHA-256 of its arrays; an entry is used only when it reads
completely, its checksum matches, its settings are the requested ones, and its arrays have the expected shapes,
dtype float64 and finite values. Any other entry (truncated, corrupted, altered, or from an older layout) is
treated as missing: a ``RuntimeWarning`` names it, the network is retrained and the entry replaced. Entries are
written to a temporary file and renamed, so concurrent writers never leave half a file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._validation import as_float_array, check_nonnegative, check_seed, check_size, check_widths
from .data import DATASETS, Dataset, load_dataset
from .layered import LayeredNetwork
from .torch_io import one_thread

__all__ = [
    "CODE_VERSION",
    "DEFAULT_EPOCHS",
    "TrainSettings",
    "TrainedClassifier",
    "build_classifier",
    "train_classifier",
    "train_cached",
    "default_cache_dir",
    "cache_path",
    "accuracy",
    "activation_summary",
]

#: Bump whenever a change to this module could change a trained network; it is part of every cache key.
CODE_VERSION: str = "train-v1"
#: Default number of epochs, measured on 2 x 100 MNIST-5k classifiers (seed 0): test accuracy stops improving by
#: 160 epochs (l1 = 0: 0.926 at 80, 0.930 at 160, 0.935 at 240; l1 = 1e-4 - 3e-4: 0.93 - 0.935 at 160 and 240) while
#: one network trains in about 8-10 s on one CPU core. The l1-penalised objective still creeps down after that
#: (subgradient SGD), and the count of data-stable neurons grows slowly with longer training.
DEFAULT_EPOCHS: int = 160


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a trained classifier: the cache key.

    Attributes
    ----------
    dataset : str
        A name from :data:`nncompress.data.DATASETS` (or a custom :class:`~nncompress.data.Dataset`'s name,
        for uncached training).
    hidden : tuple of int
        Hidden layer widths, e.g. ``(100, 100)`` for the paper's 2 x 100.
    l1 : float
        The :math:`\\ell_1` coefficient (>= 0) on the sum of absolute weights.
    epochs : int
    seed : int
        Seeds initialisation and shuffling.
    lr, momentum : float
        SGD's learning rate and momentum.
    batch_size : int
    milestones : tuple of float
        Fractions of ``epochs`` after which the learning rate is multiplied by ``gamma``.
    gamma : float
    code_version : str
        :data:`CODE_VERSION` of the code that trained it.
    """

    dataset: str
    hidden: tuple[int, ...]
    l1: float = 0.0
    epochs: int = DEFAULT_EPOCHS
    seed: int = 0
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 128
    milestones: tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.1
    code_version: str = CODE_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not self.dataset:
            raise TypeError(f"dataset must be a non-empty string, got {self.dataset!r}")
        setter = object.__setattr__
        setter(self, "hidden", check_widths(self.hidden))
        setter(self, "l1", check_nonnegative(self.l1, "l1"))
        setter(self, "epochs", check_size(self.epochs, "epochs", minimum=1))
        setter(self, "seed", check_seed(self.seed))
        setter(self, "lr", check_nonnegative(self.lr, "lr", positive=True))
        setter(self, "momentum", check_nonnegative(self.momentum, "momentum"))
        setter(self, "batch_size", check_size(self.batch_size, "batch_size", minimum=1))
        if isinstance(self.milestones, (str, bytes)) or not hasattr(self.milestones, "__iter__"):
            raise TypeError(f"milestones must be a sequence of fractions in [0, 1], got {self.milestones!r}")
        milestones = tuple(check_nonnegative(m, "milestones") for m in self.milestones)
        if any(m > 1 for m in milestones):
            raise ValueError(f"milestones must be fractions in [0, 1], got {milestones}")
        setter(self, "milestones", milestones)
        setter(self, "gamma", check_nonnegative(self.gamma, "gamma", positive=True))
        if not isinstance(self.code_version, str):
            raise TypeError("code_version must be a string")

    @property
    def arch(self) -> str:
        """The architecture as the paper writes it: ``"2x100"`` for two layers of 100, else widths joined by '-'."""
        if len(set(self.hidden)) == 1:
            return f"{len(self.hidden)}x{self.hidden[0]}"
        return "-".join(map(str, self.hidden)) if self.hidden else "0"

    def to_json(self) -> str:
        """A canonical JSON string of all fields (sorted keys; floats by ``repr``, so distinct floats differ)."""
        fields = dataclasses.asdict(self)
        fields["l1"] = repr(self.l1)
        fields["lr"] = repr(self.lr)
        fields["momentum"] = repr(self.momentum)
        fields["gamma"] = repr(self.gamma)
        fields["milestones"] = [repr(m) for m in self.milestones]
        fields["hidden"] = list(self.hidden)
        return json.dumps(fields, sort_keys=True)

    def key(self) -> str:
        """The cache key: SHA-256 of :meth:`to_json` (hex)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def lr_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (0-based) under the step decay."""
        drops = sum(epoch >= math.ceil(m * self.epochs) for m in self.milestones)
        return self.lr * self.gamma ** drops


@dataclass(frozen=True, eq=False)
class TrainedClassifier:
    """A trained ReLU classifier and how it was trained.

    Attributes
    ----------
    weights : list of ndarray
        ``weights[l]`` of shape ``(n_{l+1}, n_l)`` (torch ``Linear`` convention), float64; the last is the output
        layer.
    biases : list of ndarray
        ``biases[l]`` of shape ``(n_{l+1},)``, float64.
    train_accuracy, test_accuracy : float
        Fractions of correctly classified images, from a float64 forward pass of ``weights``.
    loss_history : ndarray, shape (epochs,)
        The training objective (cross-entropy + l1 penalty) averaged over each epoch's mini-batches.
    ce_history : ndarray, shape (epochs,)
        The cross-entropy part alone, likewise averaged.
    settings : TrainSettings
    seconds : float
        Wall-clock training time (of the original training when loaded from the cache).
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    train_accuracy: float
    test_accuracy: float
    loss_history: np.ndarray
    ce_history: np.ndarray
    settings: TrainSettings
    seconds: float

    @property
    def network(self) -> LayeredNetwork:
        """The trained network as a :class:`~nncompress.layered.LayeredNetwork` (ReLU hidden layers, linear
        output), which the stability engine and LEO++ take as it is."""
        return LayeredNetwork(self.weights, self.biases)

    def to_torch(self) -> Any:
        """The network as a float64 ``nn.Sequential(Linear, ReLU, ..., Linear)``."""
        return self.network.to_torch()

    def identical(self, other: "TrainedClassifier") -> bool:
        """True when every array, accuracy and setting is bit-for-bit the same (dtypes included).

        ``seconds`` is a measurement, not a result, and is not compared.
        """
        def same(a: np.ndarray, b: np.ndarray) -> bool:
            return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()

        return (
            isinstance(other, TrainedClassifier)
            and self.settings == other.settings
            and len(self.weights) == len(other.weights)
            and all(same(a, b) for a, b in zip(self.weights + self.biases, other.weights + other.biases))
            and same(self.loss_history, other.loss_history) and same(self.ce_history, other.ce_history)
            and self.train_accuracy == other.train_accuracy and self.test_accuracy == other.test_accuracy
        )

    def __repr__(self) -> str:
        s = self.settings
        return (f"TrainedClassifier({s.dataset}, {s.arch}, l1={s.l1:g}, seed={s.seed}, epochs={s.epochs}: "
                f"train {self.train_accuracy:.4f}, test {self.test_accuracy:.4f})")


def build_classifier(
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    *,
    generator: Any = None,
    dtype: Any = None,
) -> Any:
    """A freshly initialised ``nn.Sequential(Linear, ReLU, ..., Linear)`` with ``len(hidden)`` hidden layers (the
    paper's L x n), for training. (A trained network goes to torch through
    :meth:`nncompress.layered.LayeredNetwork.to_torch`.)

    Parameters
    ----------
    n_in, n_out : int
        Input and output dimensions.
    hidden : sequence of int
        Hidden widths.
    generator : torch.Generator, optional
        Draws torch's default ``Linear`` initialisation (uniform on :math:`\\pm 1/\\sqrt{n_{in}}`, weights then
        bias, layer by layer). Without it the global torch RNG is used.
    dtype : torch.dtype, optional
        Defaults to float32.
    """
    import torch
    from torch import nn

    n_in, n_out = check_size(n_in, "n_in", minimum=1), check_size(n_out, "n_out", minimum=1)
    hidden = check_widths(hidden)
    if dtype is None:
        dtype = torch.float32
    sizes = (n_in, *hidden, n_out)
    layers: list[Any] = []
    for k in range(len(sizes) - 1):
        if generator is None:
            layers.append(nn.Linear(sizes[k], sizes[k + 1], dtype=dtype))
        else:  # filled below: skip torch's initialisation, which would draw from the global RNG
            layers.append(nn.utils.skip_init(nn.Linear, sizes[k], sizes[k + 1], dtype=dtype))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    with torch.no_grad():
        if generator is not None:
            for layer in linears:
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
    return nn.Sequential(*layers)


def accuracy(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: Any, y: Any) -> float:
    """Fraction of rows of ``X`` (N, n_0) whose arg-max output equals ``y`` (N,), by a float64 forward pass."""
    h = np.asarray(X, dtype=np.float64)
    for w, b in zip(weights[:-1], biases[:-1]):
        h = np.maximum(h @ w.T + b, 0.0)
    out = h @ weights[-1].T + biases[-1]
    return float(np.mean(np.argmax(out, axis=1) == np.asarray(y)))


def activation_summary(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: Any) -> dict[str, Any]:
    """How often each hidden neuron is active on the data ``X``: a cheap, *unproven* proxy for stability.

    A neuron that is never active (pre-activation <= 0 on every row of X) is a candidate for stable inactivity,
    one that is always active (> 0 on every row) a candidate for stable activity; only the MILP of Section 4-5
    proves either over the whole input box (Section 6.1 discusses this data-only shortcut).

    Returns
    -------
    dict
        ``never_active`` and ``always_active``: fractions over all hidden neurons; ``never_active_per_layer``
        and ``always_active_per_layer``: lists of counts per hidden layer; ``n_hidden``: the number of hidden
        neurons.
    """
    X = as_float_array(X, "X", ndim=2)
    never, always = [], []
    h = X
    for w, b in zip(weights[:-1], biases[:-1]):
        y = h @ np.asarray(w, dtype=np.float64).T + np.asarray(b, dtype=np.float64)
        never.append(int(np.sum(np.all(y <= 0, axis=0))))
        always.append(int(np.sum(np.all(y > 0, axis=0))))
        h = np.maximum(y, 0.0)
    n_hidden = sum(w.shape[0] for w in weights[:-1])
    return dict(
        never_active=sum(never) / n_hidden if n_hidden else 0.0,
        always_active=sum(always) / n_hidden if n_hidden else 0.0,
        never_active_per_layer=never,
        always_active_per_layer=always,
        n_hidden=n_hidden,
    )


def _derived_seeds(seed: int) -> tuple[int, int]:
    """Two independent 63-bit seeds (initialisation, shuffling) derived from ``seed``."""
    state = np.random.SeedSequence(seed).generate_state(4, dtype=np.uint32).astype(np.uint64)
    init = int((state[0] << np.uint64(31)) ^ state[1]) & (2**63 - 1)
    shuffle = int((state[2] << np.uint64(31)) ^ state[3]) & (2**63 - 1)
    return init, shuffle


def train_classifier(settings: TrainSettings, data: Dataset | None = None, *, progress: bool = True
                     ) -> TrainedClassifier:
    """Train an L x n ReLU classifier with :math:`\\ell_1`-regularised SGD, as in Section 6 (no cache).

    Minimises ``mean cross-entropy + l1 * sum |W|`` (all weight matrices, output layer included, biases
    excluded) by SGD with momentum and step decay; the full recipe is in :mod:`nncompress.train`.

    Parameters
    ----------
    settings : TrainSettings
        Everything that determines the network: data set name, hidden widths, :math:`\\ell_1` coefficient, epochs,
        seed (two ``torch.Generator`` objects, initialisation and shuffling, seeded through
        ``numpy.random.SeedSequence``) and SGD's settings.
    data : Dataset, optional
        The data; default :func:`~nncompress.data.load_dataset` of ``settings.dataset``. A custom
        :class:`~nncompress.data.Dataset` must carry the name ``settings.dataset``.
    progress : bool, default True
        Show a tqdm bar over epochs.

    Returns
    -------
    TrainedClassifier
        Weights and biases as float64 numpy lists (torch convention), accuracies, loss histories.

    Raises
    ------
    TypeError, ValueError
        On a bad argument (the message names it).
    """
    import torch
    import torch.nn.functional as F
    from torch import nn
    from tqdm import tqdm

    if not isinstance(settings, TrainSettings):
        raise TypeError(f"settings must be a TrainSettings, got {type(settings).__name__}")
    if data is None:
        data = load_dataset(settings.dataset)
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a Dataset or None, got {type(data).__name__}")
    if data.name != settings.dataset:
        raise ValueError(f"data is the data set {data.name!r} but settings.dataset is {settings.dataset!r}")
    init_seed, shuffle_seed = _derived_seeds(settings.seed)
    with one_thread():
        start = time.perf_counter()
        model = build_classifier(data.n_features, settings.hidden, data.n_classes,
                                 generator=torch.Generator().manual_seed(init_seed))
        shuffler = torch.Generator().manual_seed(shuffle_seed)
        X = torch.tensor(np.asarray(data.X_train, dtype=np.float32))
        y = torch.tensor(np.asarray(data.y_train, dtype=np.int64))
        linear_weights = [m.weight for m in model if isinstance(m, nn.Linear)]
        optimiser = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum)
        n = len(X)
        losses, ces = np.empty(settings.epochs), np.empty(settings.epochs)
        bar = tqdm(range(settings.epochs), disable=not progress,
                   desc=f"{settings.dataset} {settings.arch} l1={settings.l1:g} seed={settings.seed}")
        for epoch in bar:
            for group in optimiser.param_groups:
                group["lr"] = settings.lr_at(epoch)
            order = torch.randperm(n, generator=shuffler)
            total, total_ce, batches = 0.0, 0.0, 0
            for begin in range(0, n, settings.batch_size):
                idx = order[begin:begin + settings.batch_size]
                optimiser.zero_grad()
                ce = F.cross_entropy(model(X[idx]), y[idx])
                loss = ce + settings.l1 * sum(w.abs().sum() for w in linear_weights) if settings.l1 else ce
                loss.backward()
                optimiser.step()
                total += loss.item()
                total_ce += ce.item()
                batches += 1
            losses[epoch], ces[epoch] = total / batches, total_ce / batches
            bar.set_postfix(loss=f"{losses[epoch]:.4f}")
        seconds = time.perf_counter() - start
    weights = [m.weight.detach().double().numpy().copy() for m in model if isinstance(m, nn.Linear)]
    biases = [m.bias.detach().double().numpy().copy() for m in model if isinstance(m, nn.Linear)]
    return TrainedClassifier(
        weights=weights, biases=biases,
        train_accuracy=accuracy(weights, biases, data.X_train, data.y_train),
        test_accuracy=accuracy(weights, biases, data.X_test, data.y_test),
        loss_history=losses, ce_history=ces, settings=settings, seconds=float(seconds),
    )


def default_cache_dir() -> Path:
    """The cache directory: the environment variable ``NNC_CACHE`` if set, else ``~/.cache/nncompress``."""
    env = os.environ.get("NNC_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nncompress"


def cache_path(settings: TrainSettings, cache_dir: str | os.PathLike | None = None) -> Path:
    """The ``.npz`` file of ``settings`` in the cache: ``<cache_dir>/<dataset>-<arch>-<key[:24]>.npz``."""
    if not isinstance(settings, TrainSettings):
        raise TypeError(f"settings must be a TrainSettings, got {type(settings).__name__}")
    root = default_cache_dir() if cache_dir is None else Path(cache_dir)
    return root / f"{settings.dataset}-{settings.arch}-{settings.key()[:24]}.npz"


#: Version of the cache file layout (arrays, checksum); part of every checksum.
_CACHE_FORMAT = b"nncompress.train cache v2"


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 (hex) of named arrays: names, dtypes, shapes and bytes, in sorted order of the names."""
    digest = hashlib.sha256(_CACHE_FORMAT)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _entry_arrays(result: TrainedClassifier) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {f"weight_{l}": w for l, w in enumerate(result.weights)}
    arrays.update({f"bias_{l}": b for l, b in enumerate(result.biases)})
    arrays.update(
        loss_history=result.loss_history, ce_history=result.ce_history,
        scalars=np.array([result.train_accuracy, result.test_accuracy, result.seconds], dtype=np.float64),
        settings=np.array(result.settings.to_json()),
    )
    return arrays


def _save(result: TrainedClassifier, path: Path) -> None:
    """Write a cache entry with the SHA-256 of its arrays, atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = _entry_arrays(result)
    arrays["checksum"] = np.array(_checksum(arrays))
    # write to a temporary file in the same directory, then rename: concurrent workers never see half a file, and
    # the last complete write wins
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp.npz")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _UnusableEntry(Exception):
    """A cache entry that cannot be used: unreadable, corrupted or inconsistent (the message says why)."""


def _expected_sizes(settings: TrainSettings) -> tuple[int, ...]:
    """Layer sizes (n_0, hidden..., n_classes) of a classifier trained on ``settings.dataset``."""
    data = load_dataset(settings.dataset)
    return (data.n_features, *settings.hidden, data.n_classes)


def _load(path: Path, settings: TrainSettings) -> TrainedClassifier:
    """The cached result, verified: checksum, settings, shapes, dtypes and finite values.

    Raises
    ------
    _UnusableEntry
        When the file cannot be read or fails any check; the caller treats the entry as missing.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}  # reads (and CRC-checks) every member
    except Exception as exc:  # truncated or corrupted zip, not an npz, object arrays, a directory, ...
        raise _UnusableEntry(f"unreadable: {type(exc).__name__}: {' '.join(str(exc).split())}") from exc
    if "checksum" not in arrays or arrays["checksum"].dtype.kind != "U" or arrays["checksum"].shape != ():
        raise _UnusableEntry("no checksum recorded")
    stored = str(arrays.pop("checksum"))
    if _checksum(arrays) != stored:
        raise _UnusableEntry("checksum mismatch (the file was altered or corrupted)")
    n_layers = len(settings.hidden) + 1
    names = {"settings", "scalars", "loss_history", "ce_history"}
    names |= {f"weight_{l}" for l in range(n_layers)} | {f"bias_{l}" for l in range(n_layers)}
    if set(arrays) != names:
        raise _UnusableEntry(f"arrays {sorted(set(arrays) ^ names)} missing or unexpected")
    if arrays["settings"].dtype.kind != "U" or str(arrays["settings"]) != settings.to_json():
        raise _UnusableEntry("written for other settings")
    sizes = _expected_sizes(settings)
    expected = {f"weight_{l}": (sizes[l + 1], sizes[l]) for l in range(n_layers)}
    expected.update({f"bias_{l}": (sizes[l + 1],) for l in range(n_layers)})
    expected.update(loss_history=(settings.epochs,), ce_history=(settings.epochs,), scalars=(3,))
    for name, shape in expected.items():
        a = arrays[name]
        if a.dtype != np.float64 or a.shape != shape:
            raise _UnusableEntry(f"{name} is {a.dtype} {a.shape}, expected float64 {shape}")
        if not np.all(np.isfinite(a)):
            raise _UnusableEntry(f"{name} holds NaN or inf")
    train_acc, test_acc, seconds = (float(v) for v in arrays["scalars"])
    if not (0 <= train_acc <= 1 and 0 <= test_acc <= 1 and seconds >= 0):
        raise _UnusableEntry(f"impossible accuracies or time {arrays['scalars'].tolist()}")
    return TrainedClassifier(
        weights=[arrays[f"weight_{l}"] for l in range(n_layers)],
        biases=[arrays[f"bias_{l}"] for l in range(n_layers)],
        train_accuracy=train_acc, test_accuracy=test_acc, loss_history=arrays["loss_history"],
        ce_history=arrays["ce_history"], settings=settings, seconds=seconds,
    )


def _finite(result: TrainedClassifier) -> bool:
    return all(np.all(np.isfinite(a)) for a in result.weights + result.biases + [result.loss_history,
                                                                             result.ce_history])


def train_cached(
    dataset: str,
    hidden: Sequence[int],
    l1: float = 0.0,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    *,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 128,
    milestones: Sequence[float] = (0.5, 0.75),
    gamma: float = 0.1,
    cache_dir: str | os.PathLike | None = None,
    refresh: bool = False,
    progress: bool = True,
) -> TrainedClassifier:
    """:func:`train_classifier`, cached on disk under a key made of all settings and :data:`CODE_VERSION`.

    The cache never changes a result: a cached file is used only when it passes every check (its SHA-256
    checksum, the settings stored inside it equal to the requested ones, shapes, dtypes, finite values), and
    loading returns bit for bit what training returned (``seconds`` included: the time of the original
    training). An entry that fails a check is treated as missing: a ``RuntimeWarning`` says why, the network is
    retrained and the entry replaced atomically.

    Parameters
    ----------
    dataset : str
        One of :data:`nncompress.data.DATASETS` (custom :class:`~nncompress.data.Dataset` objects are not cached: use
        :func:`train_classifier`).
    hidden, l1, epochs, seed, lr, momentum, batch_size, milestones, gamma
        The fields of :class:`TrainSettings` (with ``dataset``), which :func:`train_classifier` takes.
    cache_dir : path, optional
        Defaults to :func:`default_cache_dir` (the environment variable ``NNC_CACHE``, else
        ``~/.cache/nncompress``).
    refresh : bool, default False
        Retrain and overwrite the cached file.
    progress : bool, default True
        Show tqdm's bar while training.

    Returns
    -------
    TrainedClassifier

    Warns
    -----
    RuntimeWarning
        When a cache entry is unusable (it is then rebuilt), when the cache cannot be written, or when training
        gave non-finite values (such a result is returned but not cached).
    """
    if not isinstance(dataset, str):
        raise TypeError(f"dataset must be a data set name (one of {DATASETS}), got {type(dataset).__name__}")
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(map(repr, DATASETS))}; got {dataset!r}")
    settings = TrainSettings(
        dataset=dataset, hidden=hidden, l1=l1, epochs=epochs, seed=seed, lr=lr, momentum=momentum,
        batch_size=batch_size, milestones=tuple(milestones) if hasattr(milestones, "__iter__") else milestones,
        gamma=gamma,
    )
    path = cache_path(settings, cache_dir)
    if not refresh and os.path.lexists(path):
        try:
            return _load(path, settings)
        except _UnusableEntry as exc:
            warnings.warn(f"training cache entry {path} is unusable ({exc}); retraining and replacing it",
                          RuntimeWarning, stacklevel=2)
    result = train_classifier(settings, progress=progress)
    if not _finite(result):  # training diverged: return it, but never cache a result that cannot be verified
        warnings.warn(f"training gave NaN or inf values; not cached in {path}", RuntimeWarning, stacklevel=2)
        return result
    try:
        _save(result, path)
    except OSError as exc:  # a read-only or full disk must not lose the result: warn and go on
        warnings.warn(f"could not write the training cache {path}: {exc}", RuntimeWarning, stacklevel=2)
    return result
