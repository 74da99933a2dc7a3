# One command each, on a fresh machine: `make book`, `make test`, `make lab`.
# Every target creates .venv and installs the pinned requirements when they are missing or changed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book
# pytest exits 5 when it collected nothing: that is a failure here, and make treats it as one.
PYTEST := $(BIN)/python -m pytest
# Kernels (book build, nbval, JupyterLab) start the `python` on PATH: make it the venv's, so
# the project's own kernel, with cnnlib installed, runs every notebook.
export PATH := $(abspath $(BIN)):$(PATH)
# Offline copies of the CDN scripts the site loads, for the browser tests (tests/book/npm).
NPM_DIR   := tests/book/npm
NPM_STAMP := $(NPM_DIR)/node_modules/.installed
CHROMIUM  := /usr/bin/chromium

# torch: on Linux x86_64, PyPI's torch==2.13.0 is the CUDA build (several GB of CUDA libraries
# the course never needs). PyTorch's own index has the CPU build, 2.13.0+cpu, which satisfies the
# pin; it is added when it answers within 10 s. Where it does not (offline mirrors, networks that
# reach only PyPI) pip takes torch from the usual indexes. `make TORCH_INDEX= setup` skips it.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PLATFORM    ?= $(shell uname -s)-$(shell uname -m)
torch_index_option = $(shell \
	if [ -n "$(TORCH_INDEX)" ] && [ "$(PLATFORM)" = Linux-x86_64 ] && $(PYTHON) -c \
		'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' \
		"$(TORCH_INDEX)/torch/" >/dev/null 2>&1; then \
		echo "--extra-index-url $(TORCH_INDEX)"; fi)

# JupyterLab refuses to start as root (Docker, Codespaces) unless told it may.
USER_ID  ?= $(shell id -u)
LAB_ARGS ?=

.PHONY: help setup constraints torch-index test lint test-lib test-notebooks test-book test-site \
	browser-setup book lab bench costs clean

help:
	@echo "make book   build the website into _build/html (strict: warnings and failing cells fail)"
	@echo "make test   lint, library tests, notebooks under nbval, book build, browser tests"
	@echo "make lab    JupyterLab at the repository root with cnnlib importable"
	@echo "make test-notebooks | test-book | test-site   the book's parts of make test"
	@echo "make bench  benchmark cnnlib against torch"
	@echo "make costs  time and memory of every chapter (benchmarks/results/notebooks.json)"

# requirements.txt names what the course needs; constraints.txt pins everything those pull in.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -r requirements.txt -c constraints.txt $(torch_index_option)
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Which index torch comes from on this machine (empty: the usual ones).
torch-index:
	@echo "$(torch_index_option)"

# Rewrite constraints.txt from the venv after a deliberate upgrade in requirements.txt:
# `pip freeze --all` (setuptools and wheel are dependencies too: torch, sphinx-togglebutton)
# minus pip and cnnlib itself; torch without its +cpu label, which the pin matches.
constraints: $(STAMP)
	{ sed -n '/^#/p' constraints.txt; \
	  $(BIN)/python -m pip freeze --all --exclude-editable | grep -v -E '^(cnnlib|pip)==' \
	    | sed 's/^\(torch==[^+]*\)+.*/\1/'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-lib: $(STAMP)
	$(PYTEST) tests -m "not book and not browser" -n 2

test: lint test-lib test-notebooks test-book test-site

# nbval runs every notebook listed in _toc.yml on the venv's kernel; cells meant to raise carry
# the raises-exception tag. With no notebook listed yet there is nothing to run (and pytest
# would exit 5), so the step says so instead.
test-notebooks: $(STAMP)
	@notebooks="$$($(BIN)/python tests/book/booktools.py --notebooks)"; \
	if [ -z "$$notebooks" ]; then \
		echo "test-notebooks: _toc.yml lists no notebooks yet, so there is nothing for nbval to run"; \
	else \
		echo "test-notebooks: nbval over" $$notebooks; \
		$(PYTEST) --nbval-lax --nbval-current-env --nbval-cell-timeout=300 -n 2 --dist loadfile \
			$$notebooks; \
	fi

# The strict build, then the tests of the configuration, binder/ and the built site's links.
test-book: book
	$(PYTEST) tests/book -m "book and not browser"

# The built site and a local JupyterLab, driven in headless Chromium.
test-site: book browser-setup
	$(PYTEST) tests/book -m browser

browser-setup: $(NPM_STAMP) $(CHROMIUM)

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests"
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium

$(NPM_STAMP): $(NPM_DIR)/package.json $(NPM_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: the browser tests need it to install"\
		"their offline copies of the site's scripts (Debian: apt-get install npm)"; exit 1; }
	cd $(NPM_DIR) && npm ci --no-audit --no-fund
	touch $@

# Strict: a warning or a failing cell fails the build. Notebooks run once, cached in _build.
# jupyter-cache keys a notebook on its own code only, so when cnnlib (or the book's Sphinx
# extension) changes, the cached outputs and the pages built from them are dropped.
BOOK_CACHE_STAMP := _build/.cnnlib-sources
$(BOOK_CACHE_STAMP): $(shell find cnnlib book/_ext -name '*.py' -o -name '*.js' -o -name '*.css' 2>/dev/null)
	rm -rf _build/.jupyter_cache _build/.doctrees _build/html
	mkdir -p _build && touch $@

book: $(STAMP) $(BOOK_CACHE_STAMP)
	$(JB) build -W -n --keep-going .

# LAB_ARGS passes more options, e.g. `make lab LAB_ARGS="--no-browser --port=8890"`.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(USER_ID)),--allow-root) $(LAB_ARGS)

clean:
	rm -rf _build .jupyter_cache .pytest_cache test-artifacts

# Speed of cnnlib against torch on the backbones' layer shapes; writes a JSON record.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --out benchmarks/results/latest.json

# Run time, peak kernel memory and slowest cells of every chapter (read by the teachers' page).
costs: $(STAMP)
	$(BIN)/python benchmarks/notebook_costs.py
