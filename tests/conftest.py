"""Shared test setup: the hypothesis settings profiles.

Every property test runs numerical code (LPs and MILPs, numba compiling on its first call, torch) whose time per
example depends on the machine and its load, so no profile has a deadline; each test sets only its ``max_examples``.

* ``default``: hypothesis's default profile without the deadline (random examples, example database on).
* ``ci``: also derandomised, without the example database, printing the blob that reproduces a failure.
  Hypothesis (6.131 and later) loads it by itself when it detects a CI service (e.g. the ``CI`` variable); choose
  it by hand with ``pytest --hypothesis-profile=ci``.

Shared strategies live in ``strategies.py`` (a module, so that ``@given`` can use them at import time).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("default", settings.get_profile("default"), deadline=None)
settings.register_profile("ci", settings.get_profile("default"), deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
