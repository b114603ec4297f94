"""The command line, end to end: files in, answers and files out, exit codes scripts can rely on."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from nncompress.cli import main
from nncompress.stability import forward, to_torch
from nncompress.tanh import TanhNetwork, random_expansion, random_network


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nncompress", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture()
def tanh_file(tmp_path):
    net = random_expansion(random_network(3, 2, 1, rng=0), 7, rng=1)
    path = tmp_path / "tanh.npz"
    np.savez(path, a=net.a, b=net.b, c=net.c, d=net.d)
    return net, path


def test_tanh_rank_and_compress(tanh_file, tmp_path, capsys):
    net, path = tanh_file
    assert main(["tanh-rank", str(path)]) == 0 and capsys.readouterr().out.strip() == "3"
    for out in (tmp_path / "small.npz", tmp_path / "small.pt"):
        assert main(["tanh-compress", str(path), "--out", str(out)]) == 0
        if out.suffix == ".npz":
            with np.load(out) as data:
                small = TanhNetwork(data["a"], data["b"], data["c"], data["d"])
        else:  # .pt outputs load safely: weights only, with the documented allow-list
            with torch.serialization.safe_globals([nn.Sequential, nn.Linear, nn.ReLU, nn.Tanh]):
                small = TanhNetwork.from_torch(torch.load(out, weights_only=True))
        x = np.random.default_rng(0).normal(size=(50, 2))
        assert small.width == 3 and np.max(np.abs(small(x) - net(x))) < 1e-12
    torch.save(net.to_torch(), tmp_path / "tanh.pt")
    assert main(["tanh-rank", str(tmp_path / "tanh.pt")]) == 0


def test_relu_stable_writes_an_exact_compression(tmp_path):
    rng = np.random.default_rng(2)
    weights = [rng.normal(size=(8, 3)), rng.normal(size=(5, 8)), rng.normal(size=(2, 5))]
    biases = [rng.normal(size=8) - 1.0, rng.normal(size=5) + 1.0, rng.normal(size=2)]
    torch.save(to_torch(weights, biases), tmp_path / "mlp.pt")
    np.save(tmp_path / "X.npy", rng.uniform(0, 1, size=(40, 3)))
    result = run("relu-stable", str(tmp_path / "mlp.pt"), "--lower", "0", "--upper", "1", "--data",
                 str(tmp_path / "X.npy"), "--out", str(tmp_path / "small.npz"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "complete" in result.stdout and "written to" in result.stdout
    with np.load(tmp_path / "small.npz") as data:
        n = len([k for k in data.files if k.startswith("weights_")])
        w2, b2 = [data[f"weights_{l}"] for l in range(n)], [data[f"biases_{l}"] for l in range(n)]
    x = rng.uniform(0, 1, size=(1000, 3))
    assert np.max(np.abs(forward(weights, biases, x) - forward(w2, b2, x))) < 1e-9


def test_relu_stable_isa_completes_and_names_the_deciding_phases(tmp_path, capsys):
    rng = np.random.default_rng(4)
    weights = [rng.normal(size=(8, 3)), rng.normal(size=(6, 8)), rng.normal(size=(2, 6))]
    biases = [rng.normal(size=8) - 0.5, rng.normal(size=6) + 0.5, rng.normal(size=2)]
    np.savez(tmp_path / "mlp.npz", **{f"weights_{l}": w for l, w in enumerate(weights)},
             **{f"biases_{l}": b for l, b in enumerate(biases)})
    code = main(["relu-stable", str(tmp_path / "mlp.npz"), "--lower", "-1", "--upper", "1", "--method", "isa",
                 "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "isa: complete" in out
    assert "decided by" in out and ("milp" in out or "bounds" in out)


def test_relu_stable_device_option(tmp_path, capsys):
    rng = np.random.default_rng(4)
    weights = [rng.normal(size=(8, 3)), rng.normal(size=(6, 8)), rng.normal(size=(2, 6))]
    biases = [rng.normal(size=8) - 0.5, rng.normal(size=6) + 0.5, rng.normal(size=2)]
    np.savez(tmp_path / "mlp.npz", **{f"weights_{l}": w for l, w in enumerate(weights)},
             **{f"biases_{l}": b for l, b in enumerate(biases)})
    np.save(tmp_path / "x.npy", rng.uniform(-1, 1, size=(50, 3)))
    args = ["relu-stable", str(tmp_path / "mlp.npz"), "--lower", "-1", "--upper", "1", "--data",
            str(tmp_path / "x.npy"), "--quiet"]
    assert main(args + ["--device", "cpu"]) == 0 and "pipeline: complete" in capsys.readouterr().out
    assert main(args + ["--device", "no-such-device"]) == 2
    err = capsys.readouterr().err
    assert "device 'no-such-device' cannot be used" in err and len(err.strip().splitlines()) == 1


def test_incomplete_analysis_exits_1(tmp_path):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(30, 6)), rng.normal(size=(30, 30)), rng.normal(size=(1, 30))]
    biases = [rng.normal(size=30), rng.normal(size=30), rng.normal(size=1)]
    np.savez(tmp_path / "mlp.npz", **{f"weights_{l}": w for l, w in enumerate(weights)},
             **{f"biases_{l}": b for l, b in enumerate(biases)})
    code = main(["relu-stable", str(tmp_path / "mlp.npz"), "--lower", "-1", "--upper", "1", "--method", "isa",
                 "--time-limit", "0", "--quiet"])
    assert code == 1


def test_bad_files_exit_2(tmp_path, capsys):
    assert main(["tanh-rank", str(tmp_path / "missing.npz")]) == 2
    assert "no such file" in capsys.readouterr().err
    np.savez(tmp_path / "nan.npz", a=np.array([1.0]), b=np.array([np.nan]), c=np.array([0.0]), d=np.array([0.0]))
    assert main(["tanh-rank", str(tmp_path / "nan.npz")]) == 2
    assert "finite" in capsys.readouterr().err
    np.savez(tmp_path / "shape.npz", a=np.ones(3), b=np.ones(2), c=np.ones(3), d=np.zeros(1))
    assert main(["tanh-rank", str(tmp_path / "shape.npz")]) == 2
    assert "b must have shape" in capsys.readouterr().err
    np.savez(tmp_path / "partial.npz", a=np.ones(3))
    assert main(["tanh-rank", str(tmp_path / "partial.npz")]) == 2
    assert "missing array" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_text("not a zip")
    assert main(["tanh-rank", str(tmp_path / "junk.npz")]) == 2
    np.savez(tmp_path / "mlp.npz", weights_0=np.ones((2, 2)), biases_0=np.zeros(2), weights_1=np.ones((1, 2)),
             biases_1=np.zeros(1))
    assert main(["relu-stable", str(tmp_path / "mlp.npz"), "--lower", "1", "--upper", "0"]) == 2
    assert "lower must be <= upper" in capsys.readouterr().err


def test_usage_errors_exit_2():
    result = run("tanh-rank")
    assert result.returncode == 2 and "usage" in result.stderr
    assert run("--help").returncode == 0


def test_relu_equivalent_names_the_symmetry(tmp_path, capsys):
    from nncompress.relu_symmetry import ReluNetwork

    rng = np.random.default_rng(3)
    net = ReluNetwork(rng.normal(size=(4, 2)), rng.normal(size=4), rng.normal(size=4), 0.5)
    perm, alpha = rng.permutation(4), rng.uniform(0.5, 2.0, size=4)
    same = ReluNetwork(net.w[perm] * alpha[perm, None], net.b[perm] * alpha[perm], net.q[perm] / alpha[perm], net.c)
    np.savez(tmp_path / "a.npz", w=net.w, b=net.b, q=net.q, c=np.array(net.c))
    torch.save(same.to_torch(), tmp_path / "b.pt")
    assert main(["relu-equivalent", str(tmp_path / "a.npz"), str(tmp_path / "b.pt")]) == 0
    assert "equivalent" in capsys.readouterr().out.lower()
    other = ReluNetwork(net.w, net.b, net.q * 1.5, net.c)
    np.savez(tmp_path / "c.npz", w=other.w, b=other.b, q=other.q, c=np.array(other.c))
    assert main(["relu-equivalent", str(tmp_path / "a.npz"), str(tmp_path / "c.npz")]) == 1
    out = capsys.readouterr().out.lower()
    assert "not equivalent" in out and "witness" in out
    np.savez(tmp_path / "bad.npz", w=net.w, b=net.b)
    assert main(["relu-equivalent", str(tmp_path / "a.npz"), str(tmp_path / "bad.npz")]) == 2
    assert "missing array" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- safe by default


class Payload:
    """Unpickling this runs code: it creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("nncompress"), err
    return err


@pytest.fixture()
def good_files(tmp_path):
    """A valid file for each command: tanh (a, b, c, d), a ReLU MLP, a two-layer ReLU network, data."""
    from nncompress.relu_symmetry import ReluNetwork

    rng = np.random.default_rng(0)
    net = random_network(2, 2, 1, rng=0)
    np.savez(tmp_path / "tanh.npz", a=net.a, b=net.b, c=net.c, d=net.d)
    weights = [rng.normal(size=(4, 2)), rng.normal(size=(1, 4))]
    biases = [rng.normal(size=4), rng.normal(size=1)]
    np.savez(tmp_path / "mlp.npz", weights_0=weights[0], biases_0=biases[0], weights_1=weights[1], biases_1=biases[1])
    relu = ReluNetwork(rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=3), 0.5)
    np.savez(tmp_path / "relu.npz", w=relu.w, b=relu.b, q=relu.q, c=np.array(relu.c))
    np.save(tmp_path / "X.npy", rng.uniform(0, 1, size=(10, 2)))
    return tmp_path


def malicious_files(tmp_path, marker):
    """Files whose loading would run code: torch.save of the payload, a raw pickle, a state dict holding the
    payload, an nn.Sequential with a layer outside the allow-list, and .npy/.npz files of pickled objects."""
    import pickle

    torch.save(Payload(marker), tmp_path / "evil.pt")
    (tmp_path / "evil_raw.pt").write_bytes(pickle.dumps(Payload(marker)))
    torch.save({"0.weight": torch.ones(3, 2), "0.bias": Payload(marker)}, tmp_path / "evil_state.pth")
    torch.save(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)), tmp_path / "sigmoid.pt")
    np.save(tmp_path / "evil.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "evil.npz", a=np.array([Payload(marker)], dtype=object))
    (tmp_path / "evil_raw.npy").write_bytes(pickle.dumps(Payload(marker)))
    return ["evil.pt", "evil_raw.pt", "evil_state.pth", "sigmoid.pt", "evil.npz"]


COMMANDS = {  # each subcommand with EVIL where the malicious file goes
    "tanh-rank": ["tanh-rank", "EVIL"],
    "tanh-compress": ["tanh-compress", "EVIL", "--out", "OUT/small.npz"],
    "relu-stable": ["relu-stable", "EVIL", "--lower", "0", "--upper", "1", "--quiet"],
    "relu-equivalent (first)": ["relu-equivalent", "EVIL", "OUT/relu.npz"],
    "relu-equivalent (second)": ["relu-equivalent", "OUT/relu.npz", "EVIL"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_malicious_model_file_is_refused_without_running(command, good_files, capsys):
    marker = good_files / "PAYLOAD_RAN"
    for name in malicious_files(good_files, marker):
        args = [a.replace("EVIL", str(good_files / name)).replace("OUT", str(good_files)) for a in COMMANDS[command]]
        assert main(args) == 2, name
        err = one_line_error(capsys)
        assert name in err
        assert not marker.exists(), f"{name}: the payload ran"
    assert not (good_files / "small.npz").exists()


@pytest.mark.parametrize("name", ["evil.npy", "evil_raw.npy", "evil.npz"])
def test_malicious_data_file_is_refused_without_running(name, good_files, capsys):
    marker = good_files / "PAYLOAD_RAN"
    malicious_files(good_files, marker)
    args = ["relu-stable", str(good_files / "mlp.npz"), "--lower", "0", "--upper", "1", "--quiet",
            "--data", str(good_files / name)]
    assert main(args) == 2
    one_line_error(capsys)
    assert not marker.exists()


def test_malicious_file_through_the_installed_command(good_files):
    marker = good_files / "PAYLOAD_RAN"
    malicious_files(good_files, marker)
    result = run("tanh-rank", str(good_files / "evil.pt"))
    assert result.returncode == 2 and not marker.exists()
    assert result.stderr.count("\n") == 1 and "refused" in result.stderr and "Traceback" not in result.stderr


def test_state_dicts_and_allowed_modules_are_accepted(tmp_path, capsys):
    from nncompress.relu_symmetry import ReluNetwork

    net = random_expansion(random_network(3, 2, 1, rng=0), 7, rng=1)
    torch.save(net.to_torch().state_dict(), tmp_path / "tanh_state.pt")
    assert main(["tanh-rank", str(tmp_path / "tanh_state.pt")]) == 0 and capsys.readouterr().out.strip() == "3"
    rng = np.random.default_rng(1)
    module = nn.Sequential(nn.Flatten(), nn.Linear(3, 5), nn.ReLU(), nn.Identity(), nn.Linear(5, 2))
    torch.save(module, tmp_path / "mlp.pt")
    torch.save(module.state_dict(), tmp_path / "mlp_state.pth")
    for name in ("mlp.pt", "mlp_state.pth"):
        assert main(["relu-stable", str(tmp_path / name), "--lower", "-1", "--upper", "1", "--quiet"]) in (0, 1)
        assert "layer 0" in capsys.readouterr().out
    relu = ReluNetwork(rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=3), 0.5)
    torch.save(relu.to_torch().state_dict(), tmp_path / "relu_state.pt")
    np.savez(tmp_path / "relu.npz", w=relu.w, b=relu.b, q=relu.q, c=np.array([relu.c]))
    assert main(["relu-equivalent", str(tmp_path / "relu_state.pt"), str(tmp_path / "relu.npz")]) == 0
    # a bias-free layer: its state dict has no "bias" entry; read with zero bias, as a module would be
    free = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Tanh(), nn.Linear(3, 1)).double()
    torch.save(free.state_dict(), tmp_path / "bias_free_state.pt")
    torch.save(free, tmp_path / "bias_free.pt")
    capsys.readouterr()
    ranks = [main(["tanh-rank", str(tmp_path / name)]) for name in ("bias_free_state.pt", "bias_free.pt")]
    assert ranks == [0, 0] and capsys.readouterr().out.split() == ["3", "3"]
    torch.save({"0.weight": torch.ones(3, 2, dtype=torch.int64), "0.bias": torch.zeros(3)}, tmp_path / "ints.pt")
    assert main(["tanh-rank", str(tmp_path / "ints.pt")]) == 2
    assert "expected floats" in one_line_error(capsys)


def test_help_says_which_files_are_accepted_and_that_loading_is_safe():
    result = run("--help")
    assert result.returncode == 0 and "weights_only=True" in result.stdout and "state dict" in result.stdout
    result = run("relu-stable", "--help")
    text = " ".join(result.stdout.split())
    assert "without running code" in text and "default 300" in text and "'none': no limit" in text
    assert "--force" in text


BAD_DATA = {
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: (np.save(p, np.zeros((10, 2))), p.write_bytes(p.read_bytes()[:90])),
    "text": lambda p: p.write_text("0.5, 0.5\n0.1, 0.2\n"),
    "object": lambda p: np.save(p, np.array([[0.5, None]], dtype=object), allow_pickle=True),
    "bool": lambda p: np.save(p, np.ones((4, 2), dtype=bool)),
    "strings": lambda p: np.save(p, np.array([["0.5", "0.5"]])),
    "wrong shape": lambda p: np.save(p, np.zeros((4, 3))),
    "one-dimensional": lambda p: np.save(p, np.zeros(4)),
    "no rows": lambda p: np.save(p, np.zeros((0, 2))),
    "nan": lambda p: np.save(p, np.array([[0.5, np.nan]])),
    "outside the box": lambda p: np.save(p, np.array([[0.5, 2.0]])),
}


@pytest.mark.parametrize("method", ["pipeline", "baseline"])
@pytest.mark.parametrize("kind", list(BAD_DATA))
def test_bad_data_exits_2_with_one_line(kind, method, good_files, capsys):
    path = good_files / "bad.npy"
    BAD_DATA[kind](path)
    args = ["relu-stable", str(good_files / "mlp.npz"), "--lower", "0", "--upper", "1", "--quiet", "--method", method,
            "--data", str(path)]
    assert main(args) == 2
    assert "bad.npy" in one_line_error(capsys)


def test_npz_data_is_refused(good_files, capsys):
    np.savez(good_files / "X.npz", X=np.zeros((3, 2)))
    assert main(["relu-stable", str(good_files / "mlp.npz"), "--lower", "0", "--upper", "1", "--data",
                 str(good_files / "X.npz")]) == 2
    assert ".npy" in one_line_error(capsys)


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf", "abc"])
@pytest.mark.parametrize("command", ["tanh-rank", "tanh-compress", "relu-equivalent"])
def test_bad_tolerance_exits_2_with_one_line(command, value, good_files, capsys):
    args = {"tanh-rank": ["tanh-rank", str(good_files / "tanh.npz")],
            "tanh-compress": ["tanh-compress", str(good_files / "tanh.npz"), "--out", str(good_files / "o.npz")],
            "relu-equivalent": ["relu-equivalent", str(good_files / "relu.npz"), str(good_files / "relu.npz")]}
    assert main(args[command] + [f"--atol={value}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--atol" in err and "Traceback" not in err
    assert not (good_files / "o.npz").exists()


@pytest.mark.parametrize("args", [["--time-limit=-1"], ["--time-limit=nan"], ["--lower", "nan"],
                                  ["--upper", "0,1,2"], ["--method", "magic"]])
def test_bad_relu_stable_options_exit_2(args, good_files, capsys):
    base = ["relu-stable", str(good_files / "mlp.npz"), "--lower", "0", "--upper", "1", "--quiet"]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("c, ok", [(np.array(0.5), True), (np.array([0.5]), True), (np.zeros(0), False),
                                   (np.array([0.5, 0.7]), False), (np.zeros((1, 1)), False),
                                   (np.array(True), False), (np.array(np.nan), False)])
def test_two_layer_output_bias_must_be_one_number(c, ok, good_files, capsys):
    with np.load(good_files / "relu.npz") as f:
        arrays = {k: f[k] for k in f.files}
    np.savez(good_files / "c.npz", **{**arrays, "c": c})
    code = main(["relu-equivalent", str(good_files / "c.npz"), str(good_files / "c.npz")])
    if ok:
        assert code == 0
    else:
        assert code == 2 and "c.npz" in one_line_error(capsys)


# ---------------------------------------------------------------------------------------------- output files


def test_out_never_overwrites_an_input(good_files, capsys):
    model = good_files / "tanh.npz"
    before = model.read_bytes()
    (good_files / "link.npz").symlink_to(model)
    os.link(model, good_files / "hard.npz")
    for out in (model, good_files / "link.npz", good_files / "hard.npz", good_files / "sub" / ".." / "tanh.npz"):
        (good_files / "sub").mkdir(exist_ok=True)
        for force in ([], ["--force"]):
            assert main(["tanh-compress", str(model), "--out", str(out), *force]) == 2
            assert "input file" in one_line_error(capsys)
    # the input given through a link, the output the real file
    assert main(["tanh-compress", str(good_files / "link.npz"), "--out", str(model), "--force"]) == 2
    one_line_error(capsys)
    mlp = good_files / "mlp.npz"
    for out in (mlp, good_files / "X.npy"):
        args = ["relu-stable", str(mlp), "--lower", "0", "--upper", "1", "--data", str(good_files / "X.npy"),
                "--out", str(out), "--force", "--quiet"]
        assert main(args) == 2
        assert "input file" in one_line_error(capsys)
    assert model.read_bytes() == before and (good_files / "link.npz").is_symlink()


def test_existing_out_needs_force(good_files, capsys):
    model, out = good_files / "tanh.npz", good_files / "small.npz"
    out.write_bytes(b"precious")
    assert main(["tanh-compress", str(model), "--out", str(out)]) == 2
    assert "--force" in one_line_error(capsys) and out.read_bytes() == b"precious"
    assert main(["tanh-compress", str(model), "--out", str(out), "--force"]) == 0
    with np.load(out) as data:
        assert set(data.files) == {"a", "b", "c", "d"}
    # --force replaces a symbolic link itself, never writing through it into its target
    target = good_files / "target.npz"
    target.write_bytes(b"keep me")
    (good_files / "link_out.npz").symlink_to(target)
    assert main(["tanh-compress", str(model), "--out", str(good_files / "link_out.npz")]) == 2
    one_line_error(capsys)
    assert main(["tanh-compress", str(model), "--out", str(good_files / "link_out.npz"), "--force"]) == 0
    assert target.read_bytes() == b"keep me" and not (good_files / "link_out.npz").is_symlink()


@pytest.mark.parametrize("out, message", [("missing/small.npz", "does not exist"), ("adir.npz", "directory"),
                                          ("small.txt", "unknown output type")])
@pytest.mark.parametrize("command", ["tanh-compress", "relu-stable"])
def test_unwritable_out_is_refused_before_any_work(command, out, message, good_files, capsys, monkeypatch):
    import nncompress.stability
    import nncompress.tanh

    (good_files / "adir.npz").mkdir()

    def must_not_run(*args, **kwargs):
        raise AssertionError("the analysis ran before --out was checked")

    monkeypatch.setattr(nncompress.stability, "find_stable_neurons", must_not_run)
    monkeypatch.setattr(nncompress.tanh, "compress", must_not_run)
    model = good_files / ("tanh.npz" if command == "tanh-compress" else "mlp.npz")
    extra = [] if command == "tanh-compress" else ["--lower", "0", "--upper", "1", "--quiet"]
    assert main([command, str(model), *extra, "--out", str(good_files / out)]) == 2
    assert message in one_line_error(capsys)


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_failed_write_leaves_no_file_and_keeps_the_old_one(suffix, good_files, capsys, monkeypatch):
    import errno

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    monkeypatch.setattr(torch, "save", disk_full)
    out = good_files / f"small{suffix}"
    for force in ([], ["--force"]):
        assert main(["tanh-compress", str(good_files / "tanh.npz"), "--out", str(out), *force]) == 2
        assert "No space left" in one_line_error(capsys)
        assert not out.exists() or out.read_bytes() == b"old"
        assert sorted(p.name for p in good_files.iterdir() if p.name.startswith(".")) == []  # no temporary file
        out.write_bytes(b"old")


def test_relu_stable_checks_out_before_the_analysis_and_writes_atomically(good_files, capsys):
    args = ["relu-stable", str(good_files / "mlp.npz"), "--lower", "0", "--upper", "1", "--quiet"]
    assert main(args + ["--out", str(good_files / "nowhere" / "small.npz")]) == 2
    assert capsys.readouterr().out == ""  # refused before any analysis was printed
    assert main(args + ["--out", str(good_files / "small.pt")]) in (0, 1)
    assert "written to" in capsys.readouterr().out
    assert main(args + ["--out", str(good_files / "small.pt")]) == 2
    one_line_error(capsys)
    assert [p.name for p in good_files.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------------------------------------- time limits


def test_relu_stable_has_a_default_time_limit_and_states_it(good_files, monkeypatch, capsys):
    import nncompress.stability
    from nncompress.cli import DEFAULT_TIME_LIMIT

    seen = {}
    real = nncompress.stability.find_stable_neurons

    def spy(*args, **kwargs):
        seen["time_limit"] = kwargs["time_limit"]
        return real(*args, **kwargs)

    monkeypatch.setattr(nncompress.stability, "find_stable_neurons", spy)
    base = ["relu-stable", str(good_files / "mlp.npz"), "--lower", "0", "--upper", "1", "--quiet"]
    main(base)
    assert seen["time_limit"] == DEFAULT_TIME_LIMIT == 300
    main(base + ["--time-limit", "none"])
    assert seen["time_limit"] is None
    main(base + ["--time-limit", "2.5"])
    assert seen["time_limit"] == 2.5


def near_degenerate_network(seed=0, width=30):
    """A 2 x 30 network on [-1, 1]^2 whose second hidden layer has neurons with extremes 1e-3, 3e-6, 2e-6 and 1e-8
    from zero (planted exactly: the layers are piecewise linear on the arrangement of the first layer's lines, so
    their extremes lie at its vertices). Without a time limit the default analysis takes many seconds."""
    import itertools

    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(width, 2)), rng.normal(size=(width, width)) / np.sqrt(width),
               rng.normal(size=(1, width))]
    biases = [rng.normal(size=width) * 0.3, rng.normal(size=width) * 0.3, np.zeros(1)]
    w0, b0 = weights[0], biases[0]
    points = [np.array([sx, sy]) for sx in (-1.0, 1.0) for sy in (-1.0, 1.0)]
    for k, axis, value in itertools.product(range(width), (0, 1), (-1.0, 1.0)):
        p = np.empty(2)
        p[axis], p[1 - axis] = value, -(b0[k] + w0[k, axis] * value) / w0[k, 1 - axis]
        points.append(p)
    points += [np.linalg.solve(w0[[k, m]], -b0[[k, m]]) for k, m in itertools.combinations(range(width), 2)]
    P = np.array(points)
    P = P[np.all(np.abs(P) <= 1.0, axis=1)]
    y1 = np.maximum(P @ w0.T + b0, 0) @ weights[1].T + biases[1]
    low, high = y1.min(axis=0), y1.max(axis=0)
    biases[1][:5] += [-high[0] - 1e-3, -high[1] - 3e-6, -low[2] + 2e-6, -high[3] + 1e-8, -high[4] - 1e-8]
    return weights, biases


def test_relu_stable_stops_at_the_time_limit_with_exit_1(tmp_path, capsys):
    import time

    weights, biases = near_degenerate_network()
    np.savez(tmp_path / "mlp.npz", **{f"weights_{l}": w for l, w in enumerate(weights)},
             **{f"biases_{l}": b for l, b in enumerate(biases)})
    start = time.perf_counter()
    # a limit well below the analysis's own time (about a second on 2 cores: the planted near-zero neurons)
    code = main(["relu-stable", str(tmp_path / "mlp.npz"), "--lower", "-1", "--upper", "1", "--time-limit", "0.05",
                 "--quiet", "--out", str(tmp_path / "small.npz")])
    assert time.perf_counter() - start < 0.05 + 3.0
    out = capsys.readouterr().out
    assert code == 1 and "time limit" in out and "written to" in out
    with np.load(tmp_path / "small.npz") as data:  # what was proven in time still compresses exactly
        n = len([k for k in data.files if k.startswith("weights_")])
        w2, b2 = [data[f"weights_{l}"] for l in range(n)], [data[f"biases_{l}"] for l in range(n)]
    x = np.random.default_rng(0).uniform(-1, 1, size=(2000, 2))
    assert np.max(np.abs(forward(weights, biases, x) - forward(w2, b2, x))) < 1e-9
