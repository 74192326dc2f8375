# The smoke sidecar's own tests: fake engines in vLLM's and SGLang's shapes on local HTTP
# servers, every check passing and failing (seconds; no engine, no GPU, no Docker).
PY ?= .venv/bin/python

.PHONY: test-smoke

test-smoke: ## sidecar tests (tests/smoke): each check passes and fails, both engine shapes
	$(PY) -m pytest -q tests/smoke
