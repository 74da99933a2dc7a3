# One command each, on a fresh machine: `make book`, `make test`, `make lab`.
# Every target creates .venv and installs the pinned requirements when they are missing or changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book
# pytest exits 5 when it collected nothing: that is a failure here, and make treats it as one.
PYTEST := $(BIN)/python -m pytest

.PHONY: help setup test lint test-lib test-notebooks test-book test-site book lab bench clean

help:
	@echo "make book   build the website into _build/html (strict: warnings and failing cells fail)"
	@echo "make test   lint, library tests, notebooks under nbval, book build, browser tests"
	@echo "make lab    JupyterLab at the repository root with cnnlib importable"
	@echo "make bench  benchmark cnnlib against torch"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-lib: $(STAMP)
	$(PYTEST) tests -m "not book and not browser" -n 2

test: lint test-lib

book: $(STAMP)
	$(JB) build -W -n --keep-going .

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=.

clean:
	rm -rf _build .jupyter_cache .pytest_cache
