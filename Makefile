# esimhub: `make run` serves a demo, `make test` runs every test (SQLite, then PostgreSQL + Redis).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: help run test test-fast install dev lock check lint format bench bench-load bench-cli clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

LOCK := requirements/dev.lock

install: $(BIN)/python  ## install esimhub into .venv (versions pinned by the lock file)
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[server]'

dev: $(BIN)/python  ## install esimhub with the development tools (versions pinned by the lock file)
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'

lock: $(BIN)/python  ## resolve the dependencies again into the lock file (after editing pyproject.toml)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header --quiet -o $(LOCK)

run: install  ## serve the demo on 127.0.0.1:$(PORT) (SQLite, demo catalogue and partner)
	$(BIN)/esimhub serve --demo --port $(PORT)

test: dev  ## every test, on SQLite then PostgreSQL + Redis, with branch coverage
	scripts/test

test-fast: dev  ## SQLite only, no subprocess, server or browser tests
	ESIMHUB_TEST_SKIP_POSTGRES=1 ESIMHUB_TEST_COVERAGE=0 scripts/test -m "not slow and not external"

check: dev  ## ruff, format, mypy --strict, import contracts, house rules
	scripts/check

lint: check  ## the same as check

format: dev  ## format and fix what ruff can
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

bench: dev  ## the benchmarks (see bench/)
	$(BIN)/python -m bench

bench-cli: dev  ## how fast the admin CLI answers (esimhub --help against bare Typer)
	$(BIN)/python -m bench.cli

bench-load: dev  ## the load bench: wrk against same-run anchors, into bench/results/ (needs wrk)
	@command -v wrk >/dev/null || { echo "the load bench needs wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench.load

clean:  ## remove the venv and the demo database
	rm -rf $(VENV) esimhub.db esimhub.db-wal esimhub.db-shm
