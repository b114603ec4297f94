"""environment.yml (conda) must list the same requirements as pyproject.toml (pip).

pyproject.toml is the source of truth: its ``[project] dependencies`` and the ``dev`` extra. environment.yml repeats
them in its ``pip:`` section (next to ``-e .[dev]``) so that conda users see what they get. These tests fail, naming
the difference, when one file changes without the other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def normalise(spec: str) -> tuple[str, str, str]:
    """(canonical name, sorted extras, specifier set as a canonical string) of one PEP 508 requirement."""
    req = Requirement(spec)
    specifier = ",".join(sorted(str(s) for s in req.specifier))
    marker = f";{req.marker}" if req.marker else ""
    return canonicalize_name(req.name), ",".join(sorted(req.extras)), specifier + marker


def pyproject_requirements() -> set[tuple[str, str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return {normalise(s) for s in specs}


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def environment_pip_entries() -> list[str]:
    sections = [d["pip"] for d in environment()["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml must have exactly one pip: section"
    return [str(entry) for entry in sections[0]]


def environment_requirements() -> set[tuple[str, str, str]]:
    return {normalise(e) for e in environment_pip_entries() if not e.startswith("-")}


def test_same_requirements() -> None:
    ours, theirs = pyproject_requirements(), environment_requirements()
    assert ours == theirs, (
        f"only in pyproject.toml: {sorted(ours - theirs)}; only in environment.yml: {sorted(theirs - ours)}"
    )


def test_no_duplicate_requirements() -> None:
    names = [canonicalize_name(Requirement(e).name) for e in environment_pip_entries() if not e.startswith("-")]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    assert len(names) == len(set(names)), f"duplicated in environment.yml: {duplicated}"


def test_installs_the_package_itself() -> None:
    entries = environment_pip_entries()
    assert "-e .[dev]" in entries, "environment.yml must install the package itself: '-e .[dev]' in its pip: section"


def test_python_and_pip_listed() -> None:
    conda = [d for d in environment()["dependencies"] if isinstance(d, str)]
    assert "pip" in conda
    pythons = [d for d in conda if d.startswith("python")]
    assert len(pythons) == 1
    version = pythons[0].split("=", 1)[1]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(requires).contains(version + ".0"), f"python={version} violates requires-python {requires}"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("torch>=2.2,<=2.13.0", "torch <=2.13.0, >=2.2", True),
        ("Jupyter_Book>=1.0.4,<2", "jupyter-book>=1.0.4,<2", True),
        ("numpy>=1.26", "numpy>=1.27", False),
        ("numpy>=1.26", "numpy", False),
        ("jupyter-book>=1.0.4,<2", "jupyter-book>=1.0.4", False),
    ],
)
def test_normalise_detects_drift(a: str, b: str, same: bool) -> None:
    assert (normalise(a) == normalise(b)) is same
