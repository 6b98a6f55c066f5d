# Bootstraps uv into .tools/ when it is missing, then everything runs from the locked environment.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

.PHONY: run test lint bench demo

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

## Run the service on the embedded SQLite database (./var/), with the demo city on first start.
run: .venv/.synced
	$(UV) run --frozen pension-cert serve --demo

## Run the test suite (PENSION_CERT_TEST_DATABASE_URL selects PostgreSQL; default SQLite).
test: .venv/.synced
	$(UV) run --frozen pytest

## Lint: ruff, mypy, the import-layer contract (pyproject [tool.importlinter]) and the 60-line function limit.
lint: .venv/.synced
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports
	$(UV) run --frozen python tools/function_length.py

demo: .venv/.synced
	$(UV) run --frozen pension-cert demo
