"""One plotting style for every chapter, and the versions watermark printed at the end of each chapter.

Every notebook calls :func:`use_style` once, in its first code cell, and ends with :func:`versions`::

    from nncompress.style import PALETTE, use_style, versions
    use_style()
    ...
    print(versions())

The colours are the Okabe-Ito palette (Okabe and Ito, *Color Universal Design*, 2008), which stays distinguishable
under the common forms of colour blindness and in greyscale print; the default line colours cycle through it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import platform
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

__all__ = [
    "CYCLE",
    "PALETTE",
    "rc_params",
    "readable",
    "style_context",
    "use_style",
    "versions",
]

#: The eight Okabe-Ito colours by name (hex strings, as matplotlib accepts them).
PALETTE: Mapping[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Order of the default colour cycle: strong colours first, the pale yellow last; black is left out of the cycle
#: and kept for reference curves (a total, a ground truth) drawn explicitly with ``color=PALETTE["black"]``.
CYCLE: tuple[str, ...] = (
    "blue",
    "vermillion",
    "bluish_green",
    "orange",
    "reddish_purple",
    "sky_blue",
    "yellow",
)

#: The packages listed by :func:`versions` when none are given.
DEFAULT_PACKAGES: tuple[str, ...] = ("nncompress", "numpy", "scipy", "matplotlib", "torch")


def rc_params(font_size: float = 11.0, dpi: int = 110, savefig_dpi: int = 200) -> dict[str, Any]:
    """The matplotlib settings of the book's style.

    Parameters
    ----------
    font_size : float, default 11.0
        Base font size in points; titles are one point larger, tick labels and legends one point smaller.
    dpi : int, default 110
        Resolution of figures shown in notebooks and embedded in the HTML book (``figure.dpi``).
    savefig_dpi : int, default 200
        Resolution of figures written with ``savefig`` (``savefig.dpi``).

    Returns
    -------
    dict of str to Any
        rcParams keys and values, ready for ``matplotlib.rcParams.update`` or ``matplotlib.rc_context``.

    Raises
    ------
    ValueError
        If ``font_size``, ``dpi`` or ``savefig_dpi`` is not a positive finite number.
    """
    for name, value in (("font_size", font_size), ("dpi", dpi), ("savefig_dpi", savefig_dpi)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")

    from cycler import cycler

    return {
        "axes.prop_cycle": cycler(color=[PALETTE[name] for name in CYCLE]),
        "image.cmap": "viridis",
        "font.size": font_size,
        "axes.titlesize": font_size + 1,
        "axes.labelsize": font_size,
        "xtick.labelsize": font_size - 1,
        "ytick.labelsize": font_size - 1,
        "legend.fontsize": font_size - 1,
        "figure.titlesize": font_size + 2,
        "mathtext.fontset": "cm",
        "axes.grid": True,
        "grid.color": "#b0b0b0",
        "grid.alpha": 0.4,
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.axisbelow": True,
        "lines.linewidth": 1.8,
        "lines.markersize": 5.0,
        "legend.frameon": False,
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": dpi,
        "savefig.dpi": savefig_dpi,
        "savefig.bbox": "tight",
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
    }


def use_style(font_size: float = 11.0, dpi: int = 110, savefig_dpi: int = 200) -> None:
    """Apply the book's plotting style to matplotlib for the rest of the session.

    Sets the Okabe-Ito colour cycle (:data:`PALETTE`, in the order :data:`CYCLE`), readable font sizes, a light
    grid, the resolution of figures in the book and ``savefig.bbox = "tight"``. Call it once at the top of a
    notebook; use :func:`style_context` to apply the style to a block only.

    Parameters
    ----------
    font_size, dpi, savefig_dpi
        As in :func:`rc_params`.

    Raises
    ------
    ValueError
        As in :func:`rc_params`.
    """
    import matplotlib as mpl

    mpl.rcParams.update(rc_params(font_size=font_size, dpi=dpi, savefig_dpi=savefig_dpi))


@contextlib.contextmanager
def style_context(font_size: float = 11.0, dpi: int = 110, savefig_dpi: int = 200) -> Iterator[None]:
    """Apply the book's style inside a ``with`` block only; matplotlib's settings are restored afterwards.

    Parameters
    ----------
    font_size, dpi, savefig_dpi
        As in :func:`rc_params`.
    """
    import matplotlib as mpl

    with mpl.rc_context(rc_params(font_size=font_size, dpi=dpi, savefig_dpi=savefig_dpi)):
        yield


def readable(table: Any, missing: str = "n/a") -> Any:
    """A copy of a pandas DataFrame for display: column and index names with spaces for underscores
    (``max_relative_error`` -> ``max relative error``) and missing values (NaN, None) shown as ``missing``.

    The chapters' tables keep machine-friendly column names for the code that reads them; only what a reader sees is
    renamed. Numbers are not rounded here: round before calling, as the chapters do.
    """
    import pandas as pd  # pandas is heavy; style is imported by every chapter first

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame; got {type(table).__name__}")
    if not isinstance(missing, str):
        raise TypeError(f"missing must be a string; got {type(missing).__name__}")

    def label(name: Any) -> Any:
        return name.replace("_", " ") if isinstance(name, str) else name

    shown = table.rename(columns=label)
    shown.index = shown.index.set_names([label(n) for n in shown.index.names])
    shown.columns = shown.columns.set_names([label(n) for n in shown.columns.names])
    if shown.isna().to_numpy().any():
        shown = shown.astype(object).where(shown.notna(), missing)
    return shown


def _version_rows(packages: Iterable[str], missing: Literal["raise", "report"]) -> list[tuple[str, str]]:
    if missing not in ("raise", "report"):
        raise ValueError(f"missing must be 'raise' or 'report', got {missing!r}")
    if isinstance(packages, str):
        raise TypeError("packages must be an iterable of distribution names, not a single string")
    impl = platform.python_implementation()
    rows = [("Python", f"{platform.python_version()} ({impl})"), ("platform", f"{sys.platform}-{platform.machine()}")]
    for name in packages:
        if not isinstance(name, str) or not name:
            raise TypeError(f"each package must be a non-empty string, got {name!r}")
        try:
            rows.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            if missing == "raise":
                raise  # "No package metadata was found for <name>"
            rows.append((name, "not installed"))
    return rows


def versions(
    packages: Iterable[str] = DEFAULT_PACKAGES,
    fmt: Literal["markdown", "text"] = "markdown",
    missing: Literal["raise", "report"] = "raise",
) -> str:
    """A small table of the Python version, the platform and installed package versions: each chapter's watermark.

    Versions come from the installed distributions' metadata (:func:`importlib.metadata.version`), so they are
    the versions that ran the chapter, not the ones a requirements file asked for.

    Parameters
    ----------
    packages : iterable of str, default ``("nncompress", "numpy", "scipy", "matplotlib", "torch")``
        Distribution names as pip knows them (e.g. ``"scikit-learn"``, not ``"sklearn"``), in display order.
    fmt : {"markdown", "text"}, default "markdown"
        ``"markdown"`` gives a Markdown table (display it with ``IPython.display.Markdown``); ``"text"`` gives
        aligned plain-text columns for ``print``.
    missing : {"raise", "report"}, default "raise"
        What to do with a package that is not installed. ``"raise"`` raises, so that a misspelt name in a
        notebook fails the build instead of printing a wrong watermark; ``"report"`` lists it as
        ``not installed``.

    Returns
    -------
    str
        The table, one row per entry: ``Python``, ``platform``, then each package.

    Raises
    ------
    importlib.metadata.PackageNotFoundError
        If a package is not installed and ``missing="raise"``; its message, "No package metadata was found for
        <name>", names the package.
    ValueError
        If ``fmt`` or ``missing`` is not one of the values above.
    TypeError
        If ``packages`` is a single string or contains something other than non-empty strings.
    """
    if fmt not in ("markdown", "text"):
        raise ValueError(f"fmt must be 'markdown' or 'text', got {fmt!r}")
    rows = _version_rows(packages, missing)
    if fmt == "markdown":
        lines = ["| package | version |", "|---|---|"]
        lines += [f"| {name} | {version} |" for name, version in rows]
        return "\n".join(lines)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {version}" for name, version in rows)
