# esimhub: `make run` serves a demo, `make test` runs every test (SQLite, then PostgreSQL + Redis).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install dev check lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

run: install
	$(BIN)/esimhub serve --demo

test: dev
	scripts/test

check: dev
	scripts/check

format: dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) esimhub.db esimhub.db-wal esimhub.db-shm
