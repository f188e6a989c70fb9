# Everyday commands. `make test` sets up .venv from the hashed lock on first use, then runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  ?= dev
OUT    ?= build/$(STACK)

.PHONY: test lint typecheck preview up schema package-schema readme render dev-up dev-down integration bench mutate clean lock stack-init

# The venv comes only from requirements-lock.txt, every file checked against its hash (as in CI and .ci/run).
$(VENV)/.installed: requirements-lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

# Regenerate the hashed lock from the pinned requirements*.txt (after changing a pin; needs PyPI).
lock: $(VENV)/.installed
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --output-file requirements-lock.txt requirements-dev.txt

# Create a stack with the right secrets provider: `make stack-init STACK=prod KMS_KEY=alias/...` (awskms, prod),
# `make stack-init STACK=dev` (passphrase, dev only). See docs/pipelines.md "Production: one-time setup".
stack-init:
	scripts/stack-init.sh $(STACK) $(KMS_KEY)

# One pytest worker per core (pytest-xdist); a test file stays on one worker, so its cached program runs and
# the script tests' stub state are not split. `.venv/bin/python -m pytest <path>` runs a part serially.
test: $(VENV)/.installed
	$(BIN)/python -m pytest -n auto --dist loadfile

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
	$(BIN)/python -m secure_mesh schema > settings.schema.json

# The component package's schema (provider/schema.json) and its reference in docs/components.md, from the code.
package-schema: $(VENV)/.installed
	$(BIN)/python -m secure_mesh package-schema > provider/schema.json
	$(BIN)/python -m secure_mesh package-schema --docs

readme: $(VENV)/.installed
	$(BIN)/python -m secure_mesh readme

# The offline review: what STACK would create, without credentials or network (see README, Quick start).
render: $(VENV)/.installed
	$(BIN)/python -m secure_mesh render --stack $(STACK) --out $(OUT)
	$(BIN)/python policy/check_inventory.py $(OUT)/inventory.json

# The scale benchmark: the program and the offline render for 10–2,000 services under mocks, each in a fresh
# process; prints a table, writes benchmarks/results.json and benchmarks/scale.png. Not part of `make test`
# (its regression check, tests/benchmarks, is). About 5 minutes on 2 cores (median of 3 runs per size).
bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m benchmarks.run

# Mutation testing of the core modules (issue 19): mutmut mutates each module, runs its own test folders against
# every mutant and re-runs survivors against the whole suite; writes mutation/results.json and mutation/REPORT.md.
# Not part of `make test` or CI (hours on 2 cores). `make mutate MODULES="layout policy.auth"` measures a few;
# MUTATE_ARGS=--no-whole-suite skips the whole-suite re-run while iterating; MUTATE_ARGS=--resume decides the survivors
# of the last run again against the current tests (docs/pipelines.md, "Mutation testing").
mutate: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-mutate.txt
	$(BIN)/python -m scripts.mutate $(MODULES) $(MUTATE_ARGS)

# The laptop environment: kind + Vault dev server serving TLS with a per-laptop CA (.pulumi-state/vault-ca.pem;
# injector, CSI provider) + `pulumi up` of the dev stack into a local file backend under .pulumi-state (no Pulumi
# Cloud account), refreshed first when Vault came back empty after a restart. Idempotent.
dev-up: $(VENV)/.installed
	scripts/dev-up.sh

# `pulumi destroy` the dev stack, stop the Vault port-forward, delete the kind cluster (and the laptop Vault's CA).
dev-down:
	scripts/dev-down.sh

# The Automation API tests against the dev environment (up, checks through Vault/Consul, destroy); dev.env gives
# them VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN.
integration: $(VENV)/.installed
	scripts/dev-up.sh --env-only
	. ./.pulumi-state/dev.env && SECURE_MESH_INTEGRATION=1 $(BIN)/python -m pytest tests/integration -m integration -rs

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
