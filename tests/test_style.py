"""nncompress.style: the shared plotting style and the versions watermark."""

from __future__ import annotations

import importlib.metadata
import platform

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from nncompress.style import CYCLE, PALETTE, rc_params, style_context, use_style, versions  # noqa: E402

OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}


@pytest.fixture(autouse=True)
def _restore_rcparams():
    with mpl.rc_context():
        yield
    plt.close("all")


def test_palette_is_okabe_ito() -> None:
    assert {c.upper() for c in PALETTE.values()} == OKABE_ITO
    assert all(mcolors.is_color_like(c) for c in PALETTE.values())
    assert set(CYCLE) <= set(PALETTE) and len(set(CYCLE)) == len(CYCLE)


def test_use_style_sets_cycle_to_palette() -> None:
    use_style()
    cycle = [c.upper() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle == [PALETTE[name].upper() for name in CYCLE]
    # and new lines actually get those colours, in order
    fig, ax = plt.subplots()
    lines = [ax.plot([0, 1], [i, i])[0] for i in range(len(CYCLE))]
    assert [mcolors.to_hex(line.get_color()).upper() for line in lines] == cycle


def test_use_style_settings() -> None:
    use_style(font_size=12, dpi=120)
    assert mpl.rcParams["font.size"] == 12
    assert mpl.rcParams["xtick.labelsize"] == 11
    assert mpl.rcParams["axes.grid"] is True
    assert mpl.rcParams["figure.dpi"] == 120
    assert mpl.rcParams["savefig.bbox"] == "tight"


def test_style_context_restores() -> None:
    before = mpl.rcParams["axes.prop_cycle"]
    with style_context():
        assert mpl.rcParams["savefig.bbox"] == "tight"
        assert mpl.rcParams["axes.prop_cycle"] != before
    assert mpl.rcParams["axes.prop_cycle"] == before


def test_rc_params_valid_for_matplotlib() -> None:
    params = rc_params()
    for key in params:
        assert key in mpl.rcParams, key
    with mpl.rc_context(params):  # matplotlib validates every value
        pass


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "11", True])
def test_rc_params_rejects_bad_sizes(bad) -> None:
    with pytest.raises(ValueError, match="font_size"):
        rc_params(font_size=bad)


def test_versions_lists_real_versions() -> None:
    table = versions(("numpy", "matplotlib"))
    lines = table.splitlines()
    assert lines[:2] == ["| package | version |", "|---|---|"]
    assert f"| numpy | {importlib.metadata.version('numpy')} |" in lines
    assert f"| matplotlib | {importlib.metadata.version('matplotlib')} |" in lines
    assert any(line.startswith(f"| Python | {platform.python_version()}") for line in lines)
    assert len(lines) == 2 + 2 + 2  # header, Python, platform, two packages


def test_versions_default_includes_library() -> None:
    assert f"| nncompress | {importlib.metadata.version('nncompress')} |" in versions()


def test_versions_text_format() -> None:
    text = versions(["numpy"], fmt="text")
    rows = dict(line.split(None, 1) for line in text.splitlines())
    assert rows["numpy"] == importlib.metadata.version("numpy")
    assert "|" not in text


def test_versions_unknown_package_raises_by_default() -> None:
    with pytest.raises(importlib.metadata.PackageNotFoundError, match="no-such-package-xyz"):
        versions(["numpy", "no-such-package-xyz"])


def test_versions_unknown_package_reported() -> None:
    table = versions(["no-such-package-xyz"], missing="report")
    assert "| no-such-package-xyz | not installed |" in table


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"packages": "numpy"}, TypeError),
        ({"packages": ["numpy", ""]}, TypeError),
        ({"packages": ["numpy"], "fmt": "html"}, ValueError),
        ({"packages": ["numpy"], "missing": "ignore"}, ValueError),
    ],
)
def test_versions_bad_arguments(kwargs, error) -> None:
    with pytest.raises(error):
        versions(**kwargs)


def test_readable_renames_labels_and_shows_missing_values():
    import numpy as np
    import pandas as pd

    from nncompress.style import readable

    table = pd.DataFrame({"max_relative_error": [1e-3, np.nan], "n": [1, 2]},
                         index=pd.Index(["a", "b"], name="model_name"))
    shown = readable(table, missing="not run")
    assert list(shown.columns) == ["max relative error", "n"]
    assert shown.index.name == "model name"
    assert shown.loc["b", "max relative error"] == "not run" and shown.loc["a", "max relative error"] == 1e-3
    assert list(table.columns) == ["max_relative_error", "n"] and np.isnan(table.iloc[1, 0])  # input untouched
    assert table.index.name == "model_name"
    pivot = pd.DataFrame({("exact", 4): [1], ("greedy_bound", 4): [2]})
    assert [c[0] for c in readable(pivot).columns] == ["exact", "greedy bound"]
    with pytest.raises(TypeError, match="table"):
        readable([[1, 2]])
    with pytest.raises(TypeError, match="missing"):
        readable(table, missing=0)
