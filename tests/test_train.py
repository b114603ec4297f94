"""L1-regularised training: determinism, the objective, the schedule, the on-disk cache, validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nncompress.data import load_dataset
from nncompress.train import (
    CODE_VERSION,
    TrainSettings,
    accuracy,
    activation_summary,
    build_classifier,
    cache_path,
    default_cache_dir,
    train_cached,
    train_classifier,
)

TINY = dict(hidden=(6, 5), l1=1e-3, epochs=3, seed=1)


@pytest.fixture(scope="module")
def tiny():
    return train_classifier(TrainSettings("digits", **TINY), progress=False)


def test_shapes_and_conventions(tiny) -> None:
    assert [w.shape for w in tiny.weights] == [(6, 64), (5, 6), (10, 5)]
    assert [b.shape for b in tiny.biases] == [(6,), (5,), (10,)]
    assert all(a.dtype == np.float64 for a in tiny.weights + tiny.biases)
    # float64 arrays that hold float32 values exactly
    assert all(np.array_equal(a, a.astype(np.float32)) for a in tiny.weights + tiny.biases)
    assert tiny.loss_history.shape == tiny.ce_history.shape == (3,)
    assert np.all(tiny.loss_history >= tiny.ce_history)
    d = load_dataset("digits")
    assert tiny.train_accuracy == accuracy(tiny.weights, tiny.biases, d.X_train, d.y_train)
    assert tiny.test_accuracy == accuracy(tiny.weights, tiny.biases, d.X_test, d.y_test)
    assert tiny.settings == TrainSettings("digits", (6, 5), 1e-3, 3, 1)
    assert tiny.settings.code_version == CODE_VERSION


def test_the_network_is_the_shared_layered_type(tiny) -> None:
    from nncompress.stability import find_stable_neurons

    net = tiny.network
    assert net.is_relu_mlp and net.widths == (64, 6, 5, 10)
    assert all(np.array_equal(a, b) for a, b in zip(net.weights + net.biases, tiny.weights + tiny.biases))
    d = load_dataset("digits")
    assert np.array_equal(net(d.X_test).argmax(axis=1), np.argmax(tiny.to_torch()(torch.from_numpy(
        np.array(d.X_test))).detach().numpy(), axis=1))
    a = find_stable_neurons(net, None, d.lower, d.upper, time_limit=0)
    b = find_stable_neurons(tiny.weights, tiny.biases, d.lower, d.upper, time_limit=0)
    assert a.fingerprint == b.fingerprint


def test_to_torch_computes_the_same_function(tiny) -> None:
    d = load_dataset("digits")
    model = tiny.to_torch()
    layers = list(model)
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    with torch.no_grad():
        out = model(torch.from_numpy(np.array(d.X_test))).numpy()
    h = d.X_test
    for w, b in zip(tiny.weights[:-1], tiny.biases[:-1]):
        h = np.maximum(h @ w.T + b, 0)
    assert np.allclose(out, h @ tiny.weights[-1].T + tiny.biases[-1], atol=1e-12)


def test_same_seed_gives_identical_weights(tiny) -> None:
    again = train_classifier(TrainSettings("digits", **TINY), progress=False)
    assert tiny.identical(again)
    other = train_classifier(TrainSettings("digits", **{**TINY, "seed": 2}), progress=False)
    assert not np.array_equal(tiny.weights[0], other.weights[0])


def test_result_does_not_depend_on_the_callers_thread_count() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a = train_classifier(TrainSettings("digits", **TINY), progress=False)
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)
    assert a.identical(train_classifier(TrainSettings("digits", **TINY), progress=False))


def test_global_torch_rng_is_untouched() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_classifier(TrainSettings("digits", **TINY), progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_init_matches_torch_default_distribution() -> None:
    gen = torch.Generator().manual_seed(0)
    model = build_classifier(64, (50,), 10, generator=gen)
    bound = 1 / math.sqrt(64)
    w = model[0].weight.detach().numpy()
    assert np.all(np.abs(w) <= bound) and np.abs(w).max() > 0.9 * bound
    assert model[0].weight.dtype == torch.float32


def test_l1_objective_is_mean_cross_entropy_plus_weight_penalty() -> None:
    # one epoch, one full batch, lr tiny: the first loss is the objective at initialisation
    tiny_step = TrainSettings("digits", (4,), l1=0.5, epochs=1, seed=3, batch_size=5000, lr=1e-12)
    r = train_classifier(tiny_step, progress=False)
    d = load_dataset("digits")
    gen_seed = __import__("nncompress.train", fromlist=["_derived_seeds"])._derived_seeds(3)[0]
    model = build_classifier(64, (4,), 10, generator=torch.Generator().manual_seed(gen_seed))
    with torch.no_grad():
        ce = torch.nn.functional.cross_entropy(model(torch.tensor(d.X_train, dtype=torch.float32)),
                                               torch.tensor(d.y_train))
        penalty = model[0].weight.abs().sum() + model[2].weight.abs().sum()  # weights only, no biases
    assert r.ce_history[0] == pytest.approx(ce.item(), rel=1e-6)
    assert r.loss_history[0] == pytest.approx(ce.item() + 0.5 * penalty.item(), rel=1e-6)


def test_l1_shrinks_weights() -> None:
    weak = train_classifier(TrainSettings("digits", (8,), l1=0.0, epochs=6, seed=0, lr=0.1), progress=False)
    strong = train_classifier(TrainSettings("digits", (8,), l1=1e-2, epochs=6, seed=0, lr=0.1), progress=False)
    norm = lambda r: sum(np.abs(w).sum() for w in r.weights)  # noqa: E731
    assert norm(strong) < 0.5 * norm(weak)
    # biases are not penalised: they are not driven to zero
    assert np.abs(strong.biases[0]).sum() > 0


def test_training_learns_digits() -> None:
    r = train_classifier(TrainSettings("digits", (32,), l1=0.0, epochs=15, seed=0, lr=0.1), progress=False)
    assert r.train_accuracy > 0.9 and r.test_accuracy > 0.85
    assert r.loss_history[-1] < r.loss_history[0]


@pytest.mark.parametrize("epochs, expected", [
    (8, [1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01]),
    (4, [1, 1, 0.1, 0.01]),
    (3, [1, 1, 0.1]),
    (1, [1]),
])
def test_step_decay_schedule(epochs: int, expected: list[float]) -> None:
    s = TrainSettings("digits", (3,), epochs=epochs, lr=1.0)
    assert [s.lr_at(e) for e in range(epochs)] == pytest.approx(expected)


# ----------------------------------------------------------------------------------------------- cache


def test_cache_returns_exactly_what_training_returned(tmp_path: Path) -> None:
    trained = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and files[0] == cache_path(trained.settings, tmp_path)
    assert files[0].name.startswith("digits-6-5-")
    loaded = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    assert loaded.identical(trained) and loaded.seconds == trained.seconds
    assert all(a.dtype == np.float64 for a in loaded.weights + loaded.biases)
    # and it is what uncached training gives
    assert loaded.identical(train_classifier(TrainSettings("digits", **TINY), progress=False))


def test_refresh_retrains(tmp_path: Path) -> None:
    first = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    path = cache_path(first.settings, tmp_path)
    mtime = path.stat().st_mtime_ns
    again = train_cached("digits", cache_dir=tmp_path, refresh=True, progress=False, **TINY)
    assert again.identical(first) and again.seconds != first.seconds
    assert path.stat().st_mtime_ns >= mtime


def test_corrupt_or_foreign_cache_file_is_not_used(tmp_path: Path) -> None:
    first = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    path = cache_path(first.settings, tmp_path)
    path.write_bytes(b"not an npz")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert train_cached("digits", cache_dir=tmp_path, progress=False, **TINY).identical(first)
    # a file written for other settings under this name (a hash collision) is retrained, not returned
    other = train_cached("digits", cache_dir=tmp_path, progress=False, **{**TINY, "seed": 7})
    path.write_bytes(cache_path(other.settings, tmp_path).read_bytes())
    with pytest.warns(RuntimeWarning, match="other settings"):
        assert train_cached("digits", cache_dir=tmp_path, progress=False, **TINY).identical(first)


def _entry(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _rewrite(path: Path, arrays: dict[str, np.ndarray], checksum: str = "recompute") -> None:
    """Write a valid .npz entry; with a correct checksum unless told otherwise ("keep" the old one, or "drop")."""
    from nncompress.train import _checksum

    arrays = dict(arrays)
    old = arrays.pop("checksum")
    if checksum == "recompute":
        arrays["checksum"] = np.array(_checksum(arrays))
    elif checksum == "keep":
        arrays["checksum"] = old
    np.savez(path, **arrays)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x5A
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _nan_weights(path: Path) -> None:
    arrays = _entry(path)
    arrays["weight_1"] = arrays["weight_1"].copy()
    arrays["weight_1"][0, 0] = np.nan
    _rewrite(path, arrays)


def _int_weights(path: Path) -> None:
    arrays = _entry(path)
    arrays["weight_0"] = np.round(arrays["weight_0"] * 100).astype(np.int64)
    _rewrite(path, arrays)


def _float32_biases(path: Path) -> None:
    arrays = _entry(path)
    arrays["bias_2"] = arrays["bias_2"].astype(np.float32)
    _rewrite(path, arrays)


def _wrong_shape(path: Path) -> None:
    arrays = _entry(path)
    arrays["weight_0"] = arrays["weight_0"][:, :-1]  # 63 inputs instead of 64: consistent but wrong
    _rewrite(path, arrays)


def _short_history(path: Path) -> None:
    arrays = _entry(path)
    arrays["loss_history"] = arrays["loss_history"][:-1]
    _rewrite(path, arrays)


def _altered_values(path: Path) -> None:
    arrays = _entry(path)
    arrays["weight_0"] = arrays["weight_0"] * 2.0  # plausible values, but not what training wrote
    _rewrite(path, arrays, checksum="keep")


def _no_checksum(path: Path) -> None:
    _rewrite(path, _entry(path), checksum="drop")


@pytest.mark.parametrize("corrupt, reason", [
    (_truncate, "unreadable"), (_flip_byte, "unreadable|checksum"), (_empty, "unreadable"),
    (_nan_weights, "NaN"), (_int_weights, "int64"), (_float32_biases, "float32"), (_wrong_shape, "weight_0"),
    (_short_history, "loss_history"), (_altered_values, "checksum mismatch"), (_no_checksum, "no checksum"),
])
def test_unusable_cache_entry_is_rebuilt_with_a_warning(tmp_path: Path, corrupt, reason: str) -> None:
    first = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    path = cache_path(first.settings, tmp_path)
    corrupt(path)
    with pytest.warns(RuntimeWarning, match=reason):
        rebuilt = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    assert rebuilt.identical(first) and rebuilt.seconds != first.seconds  # retrained, not read
    # the entry was replaced atomically (no temporary files left) and is used again without a warning
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    assert again.identical(first) and again.seconds == rebuilt.seconds


def test_cache_entry_records_a_checksum_of_its_arrays(tmp_path: Path) -> None:
    from nncompress.train import _checksum

    first = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    arrays = _entry(cache_path(first.settings, tmp_path))
    stored = str(arrays.pop("checksum"))
    assert len(stored) == 64 and stored == _checksum(arrays)


def test_diverged_training_is_returned_but_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nncompress.train as train

    real = train.train_classifier

    def diverged(*args, **kwargs):
        result = real(*args, **kwargs)
        result.weights[0][0, 0] = np.nan
        return result

    monkeypatch.setattr(train, "train_classifier", diverged)
    with pytest.warns(RuntimeWarning, match="not cached"):
        r = train_cached("digits", cache_dir=tmp_path, progress=False, **TINY)
    assert np.isnan(r.weights[0][0, 0]) and not list(tmp_path.iterdir())


def test_unwritable_cache_warns_and_still_returns(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    with pytest.warns(RuntimeWarning, match="could not write"):
        r = train_cached("digits", cache_dir=blocker / "sub", progress=False, **TINY)
    assert r.identical(train_classifier(TrainSettings("digits", **TINY), progress=False))


VARIANTS = [
    dict(l1=2e-3), dict(l1=1e-3 + 1e-18 if 1e-3 + 1e-18 != 1e-3 else 1.0000000000000002e-3), dict(epochs=4),
    dict(seed=2), dict(hidden=(5, 6)), dict(hidden=(6, 5, 1)), dict(lr=0.02), dict(momentum=0.8),
    dict(batch_size=64), dict(milestones=(0.5,)), dict(gamma=0.5),
]


def test_every_setting_is_in_the_key(tmp_path: Path) -> None:
    base = TrainSettings("digits", (6, 5), 1e-3, 3, 1)
    paths = {cache_path(base, tmp_path)}
    for change in VARIANTS:
        fields = dict(dataset="digits", hidden=(6, 5), l1=1e-3, epochs=3, seed=1, **{})
        fields.update(change)
        paths.add(cache_path(TrainSettings(**fields), tmp_path))
    paths.add(cache_path(TrainSettings("mnist5k", (6, 5), 1e-3, 3, 1), tmp_path))
    paths.add(cache_path(TrainSettings("digits", (6, 5), 1e-3, 3, 1, code_version="other"), tmp_path))
    assert len(paths) == len(VARIANTS) + 3


def test_different_settings_write_different_files(tmp_path: Path) -> None:
    a = train_cached("digits", (4,), 0.0, 1, 0, cache_dir=tmp_path, progress=False)
    b = train_cached("digits", (4,), 1e-3, 1, 0, cache_dir=tmp_path, progress=False)
    c = train_cached("digits", (4,), 0.0, 1, 1, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.npz"))) == 3
    assert not np.array_equal(a.weights[0], c.weights[0]) and not a.identical(b)
    assert train_cached("digits", (4,), 1e-3, 1, 0, cache_dir=tmp_path, progress=False).identical(b)


def test_equal_settings_written_differently_share_a_key() -> None:
    a = TrainSettings("digits", [6, 5], 0, 3, 1)
    b = TrainSettings("digits", (np.int64(6), 5), 0.0, np.int32(3), 1)
    assert a == b and a.key() == b.key()


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NNC_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    s = TrainSettings("digits", (3,))
    assert cache_path(s).parent == tmp_path / "c"
    monkeypatch.delenv("NNC_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "nncompress"


# ------------------------------------------------------------------------------------------ activation proxy


def test_activation_summary_counts() -> None:
    # neuron 0: x - 2 never active on [0, 1]; neuron 1: x + 1 always active; neuron 2: x - 0.5 sometimes
    weights = [np.array([[1.0], [1.0], [1.0]]), np.array([[1.0, 1.0, 1.0]])]
    biases = [np.array([-2.0, 1.0, -0.5]), np.array([0.0])]
    out = activation_summary(weights, biases, np.linspace(0, 1, 11)[:, None])
    assert out["never_active_per_layer"] == [1] and out["always_active_per_layer"] == [1]
    assert out["never_active"] == out["always_active"] == 1 / 3 and out["n_hidden"] == 3


def test_activation_summary_rejects_nan() -> None:
    with pytest.raises(ValueError, match="X"):
        activation_summary([np.ones((2, 1)), np.ones((1, 2))], [np.zeros(2), np.zeros(1)], [[np.nan]])


# ------------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(hidden=(0, 3)), ValueError, "hidden"),
    (dict(hidden=(-1,)), ValueError, "hidden"),
    (dict(hidden=(2.5,)), TypeError, "hidden"),
    (dict(hidden=5), TypeError, "hidden"),
    (dict(hidden="55"), TypeError, "hidden"),
    (dict(l1=-1e-3), ValueError, "l1"),
    (dict(l1=float("nan")), ValueError, "l1"),
    (dict(l1="0.1"), TypeError, "l1"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(epochs=2.0), TypeError, "epochs"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(seed=None), TypeError, "seed"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(momentum=-0.1), ValueError, "momentum"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(milestones=(0.5, 1.5)), ValueError, "milestones"),
    (dict(milestones=0.5), TypeError, "milestones"),
    (dict(gamma=0), ValueError, "gamma"),
])
def test_bad_arguments_name_themselves(kwargs: dict, error: type, name: str) -> None:
    args = {**TINY, **kwargs}
    with pytest.raises(error, match=name):
        train_classifier(TrainSettings("digits", **args), progress=False)
    with pytest.raises(error, match=name):
        train_cached("digits", progress=False, cache_dir="/nonexistent-never-written", **args)


def test_bad_dataset() -> None:
    with pytest.raises(ValueError, match="'mnist5k', 'digits'"):
        train_cached("cifar", (3,))
    with pytest.raises(TypeError, match="dataset"):
        train_cached(load_dataset("digits"), (3,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="settings"):
        train_classifier(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="data"):
        train_classifier(TrainSettings("digits", (3,)), data=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="settings.dataset"):
        train_classifier(TrainSettings("mnist5k", (3,)), data=load_dataset("digits"))


@settings(max_examples=40)
@given(
    hidden=st.lists(st.integers(1, 500), min_size=1, max_size=5).map(tuple),
    l1=st.floats(0, 1, allow_nan=False),
    epochs=st.integers(1, 10**4),
    seed=st.integers(0, 2**63),
)
def test_settings_key_is_stable_and_round_trips(hidden, l1, epochs, seed) -> None:
    s = TrainSettings("digits", hidden, l1, epochs, seed)
    assert s.key() == TrainSettings("digits", list(hidden), l1, epochs, seed).key()
    assert len(s.key()) == 64
    # the key distinguishes neighbouring floats
    if l1 > 0:
        assert TrainSettings("digits", hidden, np.nextafter(l1, 0), epochs, seed).key() != s.key()
    # epoch schedule: non-increasing learning rates
    lrs = [s.lr_at(e) for e in range(0, epochs, max(1, epochs // 7))]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_one_thread_restores_the_thread_count_even_on_error():
    import torch

    from nncompress.torch_io import one_thread

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="inside"):
            with one_thread():
                assert torch.get_num_threads() == 1
                raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
