# GovFlow — `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
# The first interpreter that really runs and is 3.11 or 3.12 (a pyenv shim may exist and fail).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' 2>/dev/null \
	&& { echo $$p; break; }; done)
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.govflow-runtime
DEV := $(VENV)/.govflow-dev

.DEFAULT_GOAL := help
.PHONY: help install install-dev up test test-unit mutants lint format typecheck bench clean chromium

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[embedded]'
	@touch $(RUNTIME)

$(DEV): pyproject.toml $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[embedded,dev]'
	@touch $(DEV)

install: $(RUNTIME) ## Create .venv (first use) and install GovFlow with its embedded servers

install-dev: $(DEV) ## Also install the test and lint tools

up: $(RUNTIME) ## Run GovFlow: embedded PostgreSQL + Redis, API on http://127.0.0.1:8000, worker, scheduler
	$(BIN)/govflow up

lint: $(DEV) ## ruff, mypy and the import-layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(DEV) ## Format and auto-fix the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(DEV) ## mypy --strict on the package
	$(BIN)/mypy

CHROMIUM_PACKAGES := chromium chromium-driver

chromium: ## Install Debian's chromium and chromium-driver (the browser tests) when they are missing
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq $(CHROMIUM_PACKAGES) >/dev/null; \
	else \
		echo "The browser tests need Debian's packages $(CHROMIUM_PACKAGES): install them as root (apt-get install $(CHROMIUM_PACKAGES))"; \
		exit 1; \
	fi

# Test files run on parallel workers (pytest-xdist), each file whole on one worker so that its
# module fixtures (servers, browsers) start once; each worker has its own databases and key space.
TEST_WORKERS ?= 3

test: $(DEV) lint chromium ## The whole test suite (embedded servers unless GOVFLOW_TEST_DATABASE_URL/REDIS_URL are set)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

test-unit: $(DEV) ## Only the pure unit tests (no servers)
	$(BIN)/pytest -q tests/unit

mutants: $(DEV) ## Mutation testing of govflow/core against tests/unit (mutmut); fails below the recorded floor
	$(BIN)/mutmut run
	$(BIN)/python tools/mutation_score.py

bench: $(DEV) ## The benchmarks (bench/); figures go to docs/benchmarks.md
	$(BIN)/python bench/w5.py

clean: ## Remove caches (keeps .venv and .govflow data)
	rm -rf .pytest_cache .ruff_cache .mypy_cache build dist
