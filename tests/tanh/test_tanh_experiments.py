"""The Chapter 1 experiment functions: reproducible, checked, refusing bad input."""

from __future__ import annotations

import numpy as np
import pytest

from nncompress.tanh import TanhNetwork, random_network, rank
from nncompress.tanh.experiments import (
    compress_times,
    power_law_fit,
    proximate_rank_curve,
    theorem_checks,
    trace_table,
    train_tanh_regression,
)


def test_theorem_checks_find_the_built_in_rank():
    checks = theorem_checks(40, rng=1)
    assert len(checks) == 40
    assert (checks["rank"] == checks["r"]).all() and (checks["width"] == checks["r"]).all()
    assert checks["error"].max() < 1e-13 and not checks["compressed_reducible"].any()


def test_trace_table_names_each_fate():
    net = TanhNetwork([2.0, 1.0, -2.0, 0.0], [1.0, 0.0, 1.0, 3.0], [0.5, 1.0, 0.5, 1.0], 0.0)
    table = trace_table(net)
    assert table["fate"].tolist() == [
        "Stage 2: group 1 -> Stage 3: removed (alpha = 0)",
        "Stage 1: eliminated (b = 0)",
        "Stage 2: group 1 -> Stage 3: removed (alpha = 0)",
        "Stage 2: group 2 -> Stage 3: removed (alpha = 0)",
    ]
    assert rank(net) == 0
    with pytest.raises(ValueError, match="n = m = 1"):
        trace_table(random_network(2, 2, 1, rng=0))


@pytest.mark.slow
def test_training_is_reproducible_and_fits():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(64, 1))
    y = np.tanh(2 * x - 0.5)
    first, losses = train_tanh_regression(x, y, 3, epochs=400, rng=5, progress=False)
    again, _ = train_tanh_regression(x, y, 3, epochs=400, rng=5, progress=False)
    assert first.allclose(again, atol=0.0)
    assert losses[-1] < 0.01 * losses[0]
    with pytest.raises(ValueError, match="same number of rows"):
        train_tanh_regression(x, y[:10], 3, epochs=1, progress=False)


def test_proximate_rank_curve_is_ordered():
    net = random_network(5, rng=3)
    x = np.linspace(-2, 2, 50)[:, None]
    curve = proximate_rank_curve(net, [0.5, 0.0, 0.1], x)
    assert curve["eps"].tolist() == [0.0, 0.1, 0.5]
    assert curve["greedy"].iloc[0] == curve["exact"].iloc[0] == 5 and curve["greedy_error"].iloc[0] == 0.0
    assert (curve["exact"] <= curve["greedy_envelope"]).all()
    assert (curve["greedy_envelope"] <= curve["greedy"]).all()


def test_power_law_fit_and_times():
    slope, intercept = power_law_fit([1.0, 10.0, 100.0], [2.0, 20.0, 200.0])
    assert slope == pytest.approx(1.0) and intercept == pytest.approx(np.log(2.0))
    with pytest.raises(ValueError, match="positive"):
        power_law_fit([1.0, -1.0], [1.0, 1.0])
    times = compress_times([10, 100], rng=0, repeat=1)
    assert times.shape == (2,) and np.all(times > 0)
