# Build, test and benchmark the book. Every target installs what it needs into .venv first.
#
#   make book    execute every notebook and build the HTML book in _build/html (fails on any error or warning)
#   make test    unit/property tests, then every notebook in smoke mode (NNC_SMOKE=1)
#   make bench   run every benchmarks/bench_*.py (BENCH_ARGS=--quick for a smoke run)
#   make clean   remove build outputs and caches (keeps .venv); `make distclean` also removes .venv
#
# Variables: PYTHON (the interpreter that creates .venv, default python3); TORCH_PIP_ARGS (extra pip arguments
# for torch, e.g. TORCH_PIP_ARGS='--index-url https://download.pytorch.org/whl/cpu' to get the CPU-only build);
# NNC_SMOKE (passed through to the notebooks: 1 shrinks every experiment for a quick check).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_SPEC := torch==2.13.0
TORCH_PIP_ARGS ?=
BENCH_ARGS ?=

# Use the venv's tools without activation; PATH also lets subprocesses (kernels, nbmake) find them.
RUN := PATH="$(CURDIR)/$(BIN):$$PATH"
PYTEST := $(RUN) $(BIN)/python -m pytest -p no:cacheprovider
NB_TIMEOUT := 1800
BENCHES := $(sort $(wildcard benchmarks/bench_*.py))

.PHONY: help setup book test bench clean distclean

help:
	@sed -n '1,11p' Makefile

setup: $(STAMP)

# torch first and explicitly, so that the package's torch requirement never makes pip pick another build.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) '$(TORCH_SPEC)'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

book: setup
	$(RUN) $(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "Book built: $(CURDIR)/_build/html/index.html"

test: setup
	MPLBACKEND=Agg $(PYTEST) tests/
	NNC_SMOKE=1 $(PYTEST) --nbmake --nbmake-timeout=$(NB_TIMEOUT) notebooks/

bench: setup
	@if [ -z "$(BENCHES)" ]; then echo "no benchmarks/bench_*.py found" >&2; exit 1; fi
	@for f in $(BENCHES); do echo "== $$f"; $(RUN) $(BIN)/python "$$f" $(BENCH_ARGS); done

clean:
	rm -rf _build .pytest_cache .hypothesis .jupyter_cache
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) lib/*.egg-info
