# The smoke sidecar's own tests: fake engines in vLLM's and SGLang's shapes on local HTTP
# servers, every check passing and failing (seconds; no engine, no GPU, no Docker). The
# SGLang-parser-built answers need the SGLang venv: make sglang-shapes.
PY ?= .venv/bin/python

.PHONY: test-smoke

test-smoke: ## sidecar tests (tests/smoke): each check passes and fails, both engine shapes
	$(PY) -m pytest -q tests/smoke --ignore=tests/smoke/test_sglang_parsers.py  # that one: make sglang-shapes
