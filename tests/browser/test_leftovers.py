"""The leftover patterns of ``leftovers.py`` on strings: they catch what the book must not show, and nothing else.

Runs without a built book; the browser test applies the same patterns to every page.
"""

from __future__ import annotations

import pytest

from leftovers import ALLOWED, PATTERNS, find_leftovers, unexpected


@pytest.mark.parametrize("text, name", [
    ("off by at most 1 unit(s)", "plural (s)"),
    ("except for 0 value(s) of r", "plural (s)"),
    ("a spread of nan between seeds", "nan"),
    ("| 0.5 | NaN |", "nan"),
    ("the ratio is <NA>", "nan"),
    (r"In \emph{Advances in Neural Information Processing Systems}", "raw LaTeX"),
    (r"\textit{arXiv preprint}", "raw LaTeX"),
    ("as shown by {cite}`serra2021scaling`", "unrendered role"),
    ("the rank is {glue:text}`worked_rank`", "unrendered role"),
    ("see {numref}`fig-slices`", "unrendered role"),
    ("(see the module docstring)", "module docstring"),
    ("the proof in this module's docstring", "module docstring"),
    ("= {'identity': <function _identity>, 'tanh': <ufunc 'tanh'>}", "private name"),
    ("Name: mean_units_removed, dtype: float64", "pandas dtype"),
    ("| arch | stably_active | seconds_baseline |", "raw column name"),
    ("| one_node_sd | lam_depth2 |", "raw column name"),
    ("estimate 5.636 exceeds d/2 = 4.5 (a learning c...", "truncated"),
])
def test_each_leftover_is_caught(text: str, name: str) -> None:
    assert name in [found for found, _ in find_leftovers(text)]


@pytest.mark.parametrize("text", [
    "the units (one or more) are merged",
    "takes 40 nanoseconds per unit",
    "finance and nano-scale",
    "np.nan(3)",
    "a tolerance of 1e-9 (in natural units)",
    "the cite key and the glue key",
    "Proof. Upper bound: one node per kinked hyperplane.",
    "the module's documentation page",
    "the ratio is X, and the gap is X (in s).",
    "a triangle wave X with X = F(s)",
    "the paper's well-known result... and more",
    "a self-contained, two-layer network",
    "the term a_i tanh(b_i x + c_i) on linux-x86_64",
    "see benchmarks/claims_phases.py and f_test[0], c_truth - c_model",
])
def test_clean_text_passes(text: str) -> None:
    assert find_leftovers(text) == []


def test_allow_list_names_pages_of_the_book() -> None:
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = {toc["root"]} | {c["file"] for part in toc["parts"] for c in part["chapters"]}
    assert set(ALLOWED) <= pages
    for page, strings in ALLOWED.items():
        assert strings, f"empty allow-list entry for {page}: delete it"
        for s in strings:
            assert find_leftovers(s), f"allow-list entry {s!r} of {page} is not a leftover"


def test_unexpected_subtracts_the_allow_list() -> None:
    other = ("raw LaTeX", r"\emph")
    assert unexpected("no/such/page", [other]) == [other]
    for page, strings in ALLOWED.items():
        allowed = [("any", match) for match in sorted(strings)]
        assert unexpected(page, allowed + [other]) == [other]
    assert len(PATTERNS) == len({name for name, _ in PATTERNS})


@pytest.mark.parametrize("text", [
    "The fitted exponent is , and a network",
    "with fitted p = , the proven lower bound",
    "standard errors up to , largest R-hat )",
])
def test_missing_glue_is_caught(text: str) -> None:
    assert "missing glue" in [name for name, _ in find_leftovers(text)]


def test_exempt_pages() -> None:
    assert find_leftovers("returns NaN if the fit fails", page="book/api") == []
    assert find_leftovers("returns NaN if the fit fails", page="notebooks/03_mnist_stability") == [("nan", "NaN")]
