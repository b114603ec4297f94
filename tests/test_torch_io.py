"""The library's one torch adapter: every reader of ``nn.Sequential`` follows the same rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nncompress.layered import LayeredNetwork
from nncompress.relu_symmetry import ReluNetwork
from nncompress.stability import as_mlp, find_stable_neurons, from_torch, to_torch
from nncompress.tanh import TanhNetwork
from nncompress.torch_io import layers_to_sequential, sequential_to_layers


def _relu_mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3, 5), nn.ReLU(), nn.Identity(), nn.Linear(5, 4), nn.ReLU(),
                         nn.Linear(4, 2)).double()


def test_flatten_and_identity_are_skipped_by_every_reader() -> None:
    module = _relu_mlp()
    weights, biases, acts = sequential_to_layers(module)
    assert acts == ["relu", "relu", "identity"] and [w.shape for w in weights] == [(5, 3), (4, 5), (2, 4)]
    net = LayeredNetwork.from_torch(module)
    w2, b2 = from_torch(module)
    x = np.random.default_rng(0).normal(size=(7, 3))
    expected = module(torch.from_numpy(x)).detach().numpy()
    assert np.allclose(net(x), expected, rtol=1e-12, atol=1e-12)
    assert all(np.array_equal(a, b) for a, b in zip(w2, net.weights))
    assert all(np.array_equal(a, b) for a, b in zip(b2, net.biases))


def test_a_bias_free_linear_has_zero_bias_for_every_reader() -> None:
    torch.manual_seed(1)
    relu = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 1)).double()
    tanh = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Tanh(), nn.Linear(3, 1)).double()
    assert np.all(LayeredNetwork.from_torch(relu).biases[0] == 0)
    assert np.all(from_torch(relu)[1][0] == 0)
    assert np.all(ReluNetwork.from_torch(relu).b == 0)
    assert np.all(TanhNetwork.from_torch(tanh).c == 0)
    x = np.random.default_rng(1).normal(size=(5, 2))
    assert np.allclose(ReluNetwork.from_torch(relu)(x).ravel(), relu(torch.from_numpy(x)).detach().numpy().ravel())


@pytest.mark.parametrize("module,error,words", [
    (nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)), TypeError, "Sigmoid"),
    (nn.Sequential(nn.ReLU(), nn.Linear(2, 3)), TypeError, "ReLU"),
    (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.ReLU(), nn.Linear(3, 1)), TypeError, "ReLU"),
    (nn.Sequential(nn.Flatten()), TypeError, "at least one"),
    (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1)), ValueError, "chain"),
    (nn.Linear(2, 3), TypeError, "Sequential"),
])
def test_what_no_reader_accepts(module: nn.Module, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        sequential_to_layers(module)
    with pytest.raises(error):
        LayeredNetwork.from_torch(module)
    with pytest.raises(error):
        from_torch(module)


def test_each_chapter_reader_checks_its_form() -> None:
    relu_deep = _relu_mlp()
    with pytest.raises(TypeError, match="module must be"):
        ReluNetwork.from_torch(relu_deep)
    with pytest.raises(TypeError, match="module must be"):
        TanhNetwork.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
    with pytest.raises(TypeError, match="ReLU"):
        from_torch(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))
    with pytest.raises(TypeError, match="ReLU"):
        from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_round_trips_are_exact(scale: float) -> None:
    rng = np.random.default_rng(2)
    ws = [scale * rng.normal(size=(4, 3)), scale * rng.normal(size=(2, 4))]
    bs = [scale * rng.normal(size=4), scale * rng.normal(size=2)]
    for acts in (["relu", "identity"], ["tanh", "tanh"], ["identity", "relu"]):
        back = sequential_to_layers(layers_to_sequential(ws, bs, acts))
        assert back[2] == acts
        assert all(np.array_equal(a, b) for a, b in zip(back[0] + back[1], ws + bs))
    net = LayeredNetwork(ws, bs)
    again = LayeredNetwork.from_torch(net.to_torch())
    assert all(np.array_equal(a, b) for a, b in zip(again.weights + again.biases, net.weights + net.biases))
    w2, b2 = from_torch(to_torch(ws, bs))
    assert all(np.array_equal(a, b) for a, b in zip(w2 + b2, ws + bs))


def test_the_stability_engine_takes_a_layered_network() -> None:
    rng = np.random.default_rng(3)
    ws = [rng.normal(size=(6, 2)), rng.normal(size=(3, 6)), rng.normal(size=(1, 3))]
    bs = [rng.normal(size=6), rng.normal(size=3), rng.normal(size=1)]
    net = LayeredNetwork(ws, bs)
    assert net.is_relu_mlp
    lists = as_mlp(net)
    assert all(np.array_equal(a, b) for a, b in zip(lists[0] + lists[1], ws + bs))
    a = find_stable_neurons(net, None, -1.0, 1.0)
    b = find_stable_neurons(ws, bs, -1.0, 1.0)
    assert a.fingerprint == b.fingerprint
    assert all(np.array_equal(x, y) for x, y in zip(a.stably_active + a.stably_inactive,
                                                    b.stably_active + b.stably_inactive))
    with pytest.raises(TypeError, match="ReLU hidden layers"):
        as_mlp(LayeredNetwork(ws, bs, "tanh"))
    with pytest.raises(TypeError, match="weights"):
        as_mlp("not a network")
