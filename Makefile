# Everyday commands. `make test` sets up .venv from the pinned files on first use, then runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= dev
OUT    ?= build/$(STACK)

.PHONY: test lint typecheck preview up schema clean

$(VENV)/.installed: requirements.txt requirements-dev.txt policy/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

typecheck: $(VENV)/.installed
	$(BIN)/mypy

preview: $(VENV)/.installed
	pulumi preview --stack $(STACK) --policy-pack policy

up: $(VENV)/.installed
	pulumi up --stack $(STACK) --policy-pack policy

schema: $(VENV)/.installed
	$(BIN)/python -m components schema > settings.schema.json

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
