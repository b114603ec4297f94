"""The offline data sets: contents, scaling, the fixed stratified split, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.data import DATASETS, Dataset, load_dataset, stratified_split
from strategies import seeds


@pytest.mark.parametrize(
    "name, n_train, n_test, n_features",
    [("mnist5k", 4000, 1000, 784), ("digits", 1438, 359, 64)],
)
def test_sizes_scaling_and_box(name: str, n_train: int, n_test: int, n_features: int) -> None:
    d = load_dataset(name)
    assert isinstance(d, Dataset) and d.name == name and d.n_classes == 10 and d.n_features == n_features
    assert d.X_train.shape == (n_train, n_features) and d.X_test.shape == (n_test, n_features)
    assert d.y_train.shape == (n_train,) and d.y_test.shape == (n_test,)
    for X in (d.X_train, d.X_test):
        assert X.dtype == np.float64 and X.min() == 0.0 and X.max() == 1.0
    for y in (d.y_train, d.y_test):
        assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    assert np.array_equal(d.lower, np.zeros(n_features)) and np.array_equal(d.upper, np.ones(n_features))
    # all pixels are integers divided by the data set's maximum (255 or 16)
    top = 255.0 if name == "mnist5k" else 16.0
    pixels = d.X_train * top
    assert np.allclose(pixels, np.round(pixels), atol=1e-9)


def test_mnist_split_is_stratified_and_fixed() -> None:
    d = load_dataset("mnist5k")
    assert np.array_equal(np.bincount(d.y_train), np.full(10, 400))
    assert np.array_equal(np.bincount(d.y_test), np.full(10, 100))
    # the split does not depend on the call: train and test images are disjoint rows of the same 5,000
    train_rows = {row.tobytes() for row in d.X_train}
    assert sum(row.tobytes() in train_rows for row in d.X_test) <= 5  # MNIST has a few duplicate images at most
    idx_train, idx_test = stratified_split(np.repeat(np.arange(10), 500))
    again = stratified_split(np.repeat(np.arange(10), 500))
    assert np.array_equal(idx_train, again[0]) and np.array_equal(idx_test, again[1])


def test_arrays_are_read_only_and_shared() -> None:
    d = load_dataset("digits")
    assert load_dataset("digits") is d
    with pytest.raises(ValueError):
        d.X_train[0, 0] = 0.5


def test_digits_matches_sklearn() -> None:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    d = load_dataset("digits")
    X = np.concatenate([d.X_train, d.X_test]) * 16
    y = np.concatenate([d.y_train, d.y_test])
    order = np.lexsort(np.column_stack([X, y]).T)
    ref_order = np.lexsort(np.column_stack([bunch.data, bunch.target]).T)
    assert np.array_equal(X[order], bunch.data[ref_order]) and np.array_equal(y[order], bunch.target[ref_order])


@pytest.mark.parametrize("name", ["mnist", "MNIST5K", "", "cifar10"])
def test_unknown_name_lists_the_choices(name: str) -> None:
    with pytest.raises(ValueError, match="name must be one of 'mnist5k', 'digits'"):
        load_dataset(name)


@pytest.mark.parametrize("name", [None, 3, ("digits",)])
def test_name_must_be_a_string(name: object) -> None:
    with pytest.raises(TypeError, match="name"):
        load_dataset(name)  # type: ignore[arg-type]


def test_datasets_constant() -> None:
    assert DATASETS == ("mnist5k", "digits")


@settings(max_examples=50)
@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    fraction=st.floats(0.05, 0.95),
    seed=seeds,
)
def test_stratified_split_properties(counts: list[int], fraction: float, seed: int) -> None:
    y = np.repeat(np.arange(len(counts)), counts)
    rng = np.random.default_rng(seed)
    y = rng.permutation(y)
    train, test = stratified_split(y, fraction, seed)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))
    for label, count in enumerate(counts):
        assert np.sum(y[test] == label) == int(round(fraction * count))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 2.0])
def test_stratified_split_rejects_bad_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(np.array([0, 1, 0, 1]), fraction)


def test_stratified_split_rejects_bad_labels() -> None:
    with pytest.raises(ValueError, match="y must be"):
        stratified_split(np.array([0.5, 1.0]))
