# GovFlow — `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
# The first interpreter that really runs and is 3.11 or 3.12 (a pyenv shim may exist and fail).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' 2>/dev/null \
	&& { echo $$p; break; }; done)
BIN := $(VENV)/bin
STAMP := $(VENV)/.govflow-installed

.DEFAULT_GOAL := help
.PHONY: help install up test test-unit lint format typecheck bench clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[embedded,dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv (first use) and install GovFlow with its embedded servers and dev tools

up: $(STAMP) ## Run GovFlow: embedded PostgreSQL + Redis, API on http://127.0.0.1:8000, worker, scheduler
	$(BIN)/govflow up

lint: $(STAMP) ## ruff, mypy and the import-layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP) ## Format and auto-fix the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP) ## mypy --strict on the package
	$(BIN)/mypy

test: $(STAMP) lint ## The whole test suite (embedded servers unless GOVFLOW_TEST_DATABASE_URL/REDIS_URL are set)
	$(BIN)/pytest -q

test-unit: $(STAMP) ## Only the pure unit tests (no servers)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP) ## The benchmarks (bench/); figures go to docs/benchmarks.md
	$(BIN)/python bench/w5.py

clean: ## Remove caches (keeps .venv and .govflow data)
	rm -rf .pytest_cache .ruff_cache .mypy_cache build dist
