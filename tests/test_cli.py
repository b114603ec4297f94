"""The command line, end to end: files in, answers and files out, exit codes scripts can rely on."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

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
        else:
            small = TanhNetwork.from_torch(torch.load(out, weights_only=False))
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
