# Conformance: the engines' own argument parsers judge every rendered command (goldens and the
# checked-in renders), with negative cases proving the checks can fail.
#   make sglang-env    $(CACHE)/sglang-venv: SGLang's argument parser, no GPU deps (scripts/sglang-env.sh)
#   make conformance   both engine venvs (vllm-env from mk/vllm.mk), then tests/conformance
CACHE ?= $(CURDIR)/.cache
PY ?= .venv/bin/python
VENV_STAMP ?= .venv/.stamp

.PHONY: sglang-env conformance

sglang-env: ## build $(CACHE)/sglang-venv: SGLang's argument parser without GPU deps
	scripts/sglang-env.sh $(CACHE)

# CONFORMANCE_REQUIRED: a missing engine venv fails the run instead of skipping its checks.
conformance: vllm-env sglang-env engine-envs $(VENV_STAMP) ## each catalog engine version's own parser judges what is rendered for it
	CACHE=$(CACHE) CONFORMANCE_REQUIRED=1 $(PY) -m pytest -q tests/conformance
