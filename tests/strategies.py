"""Hypothesis strategies shared by the test files: ``from strategies import seeds, dims``.

pyproject.toml's ``[tool.pytest.ini_options] pythonpath`` puts tests/ on ``sys.path``, so this module imports the
same way from every folder under tests/.
"""

from __future__ import annotations

from hypothesis import strategies as st

#: A seed for ``numpy.random.default_rng``: any unsigned 32-bit integer.
seeds = st.integers(0, 2**32 - 1)

#: An input or output dimension of a small network.
dims = st.integers(1, 3)
