# GLM-5 Compose bundle. `make help` lists the targets: operator targets first, developer after.
#   make generate ENGINE=sglang   render compose/sglang.yaml (any generator option: ARGS="--tp 4 ...")
#   make preflight / download / up / smoke / logs / down  act on what the last generate wrote;
#                                 ARGS="..." is passed to the tool (e.g. make download ARGS=--dry-run)
#   make test                     the fast suite (generator, compose loader, sidecar)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CACHE ?= $(CURDIR)/.cache
ENGINE ?= vllm
# Options for the target's own tool, appended to its command line (every operator target).
ARGS ?=
# The rendered file that up, down, logs, smoke, preflight and download act on: COMPOSE_FILE=path,
# else the file the last `generate` recorded in .last-render, else compose/vllm.yaml. A path is
# data, never shell text: it reaches each recipe through the environment and one double-quoted
# expansion, so a space or a `;` in it stays part of one argument and runs nothing.
export GLM5_COMPOSE_FILE := $(value COMPOSE_FILE)
RENDER = "$${GLM5_COMPOSE_FILE:-$$(grep -m1 . .last-render 2>/dev/null || echo compose/vllm.yaml)}"
# `docker compose`, or the fix when the Compose v2 plugin is missing (scripts/compose.sh).
COMPOSE ?= scripts/compose.sh -f $(RENDER)
# What an operator runs, in order; `make help` lists these first.
OPERATOR_TARGETS := venv generate preflight download up smoke bench monitoring logs down
# With --gateway: the gateway and the sidecar read secrets/api-keys, which Compose mounts with the
# file's own owner and mode (600), so the gateway runs as that owner (never root when you are not).
export GATEWAY_USER ?= $(shell stat -c %u:%g secrets/api-keys 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help venv generate up down logs smoke bench monitoring test lint sglang-shapes e2e rehearse rehearse-negative rehearse-gateway rehearse-nodes test-docker golden bench-cli bench-up bench-rehearsal bench-smoke

help: ## this list
	@echo 'Operator targets, in the order you run them (ARGS="..." passes options to the tool):'
	@for t in $(OPERATOR_TARGETS); do grep -hE "^$$t:.*## " $(MAKEFILE_LIST); done | $(HELP_LINE)
	@echo; echo 'Developer targets:'
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | grep -vE '^($(subst $(SPACE),|,$(OPERATOR_TARGETS))):' \
		| sort -t: -k1,1 | $(HELP_LINE)
SPACE := $(subst ,, )
HELP_LINE = sed 's/^\([a-z-]*\):.*\#\# /  \1\t/' | expand -t 22

# The venv is rebuilt when a requirements file changes.
$(VENV)/.stamp: requirements.txt requirements-dev.txt smoke/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.stamp ## create .venv with the pinned requirements

generate: $(VENV)/.stamp ## render the deployment: ENGINE=vllm|sglang, ARGS="more generator options"
	$(PY) generator.py --engine $(ENGINE) $(ARGS)

up: $(VENV)/.stamp ## start what the last generate wrote, follow the load phase by phase, then run the sidecar
	@scripts/compose.sh version >/dev/null
	@mkdir -p reports
	SMOKE_USER=$$(stat -c %u:%g reports) $(PY) -m stack.up --compose-file $(RENDER) $(ARGS)

down: ## stop the stack (the HF cache and the JIT-cache volume stay; ARGS=-v drops the JIT cache)
	$(COMPOSE) --profile smoke --profile bench --profile monitoring down $(ARGS)

bench: ## benchmark the running stack (AIPerf in the bench container): reports/bench-<time>.json, .md, .png (e.g. ARGS="--workload chat-1k1k --concurrency 1,16")
	@mkdir -p reports
	BENCH_USER=$$(stat -c %u:%g reports) $(COMPOSE) --profile bench run --rm --no-deps bench $(ARGS)

monitoring: ## start Prometheus (recording rules) and Grafana (our dashboard) for the running stack, on 127.0.0.1 only
	$(COMPOSE) --profile monitoring up -d $(ARGS)

logs: ## follow the engine's logs (e.g. ARGS="--tail 200")
	$(COMPOSE) logs -f $(ARGS) engine

smoke: ## re-run the health-check sidecar against the running stack; exits with its verdict
	@mkdir -p reports
	SMOKE_USER=$$(stat -c %u:%g reports) $(COMPOSE) --profile smoke run --rm --no-deps smoke $(ARGS)

test: $(VENV)/.stamp ## the fast test suite: generator, Compose loader, sidecar
	$(PY) -m pytest -q tests --ignore=tests/e2e --ignore=tests/conformance \
		--ignore=tests/smoke/test_sglang_parsers.py -m "not docker"

sglang-shapes: $(VENV)/.stamp sglang-env ## the sidecar judges answers built by SGLang's own parser classes
	CACHE=$(CACHE) $(PY) -m pytest -q tests/smoke/test_sglang_parsers.py

e2e: $(VENV)/.stamp tiny-model ## the sidecar against a real vLLM CPU server started with the rendered flags
	CACHE=$(CACHE) TINY_HF=$(TINY_HF) $(PY) -m pytest -q -s tests/e2e

rehearse: $(VENV)/.stamp ## the whole stack with Docker and no GPU: up, sidecar, seed snippets, down
	CACHE=$(CACHE) PY=$(PY) scripts/rehearse.sh

rehearse-negative: $(VENV)/.stamp ## the same with a wrong tool parser: passes if the sidecar catches it
	CACHE=$(CACHE) PY=$(PY) scripts/rehearse.sh negative

rehearse-gateway: $(VENV)/.stamp ## the stack behind the gateway (keys, TLS): sidecar through it, routes and keys from outside
	CACHE=$(CACHE) PY=$(PY) scripts/rehearse.sh gateway

rehearse-nodes: $(VENV)/.stamp ## two hosts on one machine: head and worker containers, PP 2 over both, sidecar and bench via the head
	CACHE=$(CACHE) PY=$(PY) scripts/rehearse-nodes.sh

test-docker: $(VENV)/.stamp ## Docker-marked tests (make up's follower, images); needs make docker-up
	CACHE=$(CACHE) scripts/docker.sh run $(PY) -m pytest -q -m docker tests --ignore=tests/rehearsal/test_seed_snippets.py \
		--ignore=tests/rehearsal/test_readme_clients.py \
		--ignore=tests/rehearsal/test_gateway_stack.py

lint: $(VENV)/.stamp ## compose-lint (OWASP/CIS rules) on the render (COMPOSE_FILE, else the last generate's); reasons in .compose-lint.yml
	@# Not --strict-config: that refuses a service the config names and the file lacks, and one
	@# file need not have them all (a worker host has no sidecar). tests/test_lint.py keeps it,
	@# over every golden together.
	$(PY) -m compose_lint check --config .compose-lint.yml -- $(RENDER)

golden: $(VENV)/.stamp ## rewrite tests/golden/ and compose/{vllm,sglang}.yaml from the code
	$(PY) -m recipe.goldens
	$(PY) -m stack.troubleshooting --write

bench-cli: $(VENV)/.stamp ## time a cold `python generator.py --stdout` (median of 15)
	$(PY) scripts/bench_cli.py

bench-smoke: $(VENV)/.stamp tiny-model ## the sidecar's wall time vs the sum of its request latencies on a real vLLM CPU server (median of 7)
	CACHE=$(CACHE) TINY_HF=$(TINY_HF) $(PY) scripts/bench_smoke.py

bench-rehearsal: $(VENV)/.stamp tiny-model rehearsal-images ## rehearsal stack (up -> verdict) vs a bare engine start
	CACHE=$(CACHE) scripts/docker.sh run $(PY) scripts/bench_rehearsal.py

bench-up: $(VENV)/.stamp ## how fast make up reacts to a fatal log line and to healthy (needs make docker-up)
	CACHE=$(CACHE) scripts/docker.sh run $(PY) scripts/bench_up.py

-include mk/*.mk
