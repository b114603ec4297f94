"""Every example in a public docstring runs and prints what it shows (the API page renders these examples)."""

from __future__ import annotations

import doctest
import importlib

import pytest

PACKAGES = ["tanh", "rank_regions", "stability", "relu_symmetry", "phases", "depth", "data", "train", "sweep"]


def _examples() -> list[tuple[str, doctest.DocTest]]:
    finder = doctest.DocTestFinder(recurse=False)
    found = []
    for package in PACKAGES:
        module = importlib.import_module(f"nncompress.{package}")
        for name in module.__all__:
            for test in finder.find(getattr(module, name), name=f"nncompress.{package}.{name}", globs={}):
                if test.examples:
                    found.append((test.name, test))
    return found


EXAMPLES = _examples()


def test_the_main_functions_have_examples() -> None:
    names = {name for name, _ in EXAMPLES}
    for expected in ("nncompress.tanh.compress", "nncompress.rank_regions.bounded_rank_subspaces",
                     "nncompress.stability.find_stable_neurons", "nncompress.stability.leo_compress",
                     "nncompress.relu_symmetry.classify", "nncompress.phases.local_learning_coefficient",
                     "nncompress.depth.parity_network"):
        assert expected in names


@pytest.mark.parametrize("name,test", EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_docstring_example(name: str, test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)
