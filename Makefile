# `make demo` and `make test` do all set-up themselves: venv, install, run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs docs-serve screenshots bench mutants clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/quickstart.py

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# The PostgreSQL tests use METERLIB_TEST_POSTGRES_URL if set; otherwise tests/postgres/cluster.py
# starts a throwaway server on a loopback port (installing PostgreSQL as root when missing) and
# stops it afterwards, whatever pytest did.
test: lint docs
	$(BIN)/python -m tests.postgres.cluster $(BIN)/pytest

# The documentation site (mkdocs.yml): built offline with --strict into site/, so a broken link
# or a missing API reference fails; docs-serve serves it with live reload on 127.0.0.1:8000.
# screenshots renders pages (headless Chromium) and the example notebook's chart to PNG in
# build/screenshots/, to look at them as a user would.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs
docs: $(STAMP)
	$(MKDOCS) build --strict --quiet

docs-serve: $(STAMP)
	$(MKDOCS) serve

screenshots: docs
	$(BIN)/python tools/screenshots.py

# Every seeded mutant of tests/mutants (make test runs a sample): prints the catch rate and how
# short each failing example shrank; fails if one survives or shrinks to more than 5 steps.
# Flags via MUTANTS_ARGS, e.g. `make mutants MUTANTS_ARGS="--seeds 4"`.
MUTANTS_ARGS ?=
mutants: $(STAMP)
	$(BIN)/python -m tests.mutants $(MUTANTS_ARGS)

# Benchmarks against the floor, sqlite3 and DuckDB (a bench-only dependency); flags via
# BENCH_ARGS, e.g. `make bench BENCH_ARGS=--quick`. A default run writes bench/results/latest.json.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site build
