# Preflight and weights, for the file the last `generate` wrote (or COMPOSE_FILE=path).
#   make preflight    check this host against the profile: table + reports/preflight.json; exit 1 on a FAIL
#   make download     fetch the profile's weights into its HF cache ahead of `up` (resumable)
# ARGS="..." goes to the tool: make download ARGS=--dry-run, make preflight ARGS="--report FILE".
PY ?= .venv/bin/python

.PHONY: preflight download

preflight: $(VENV)/.stamp ## check this host against the rendered profile (GPUs, Docker, disk, port, ...)
	$(PY) -m stack.preflight --compose-file $(RENDER) $(ARGS)

download: $(VENV)/.stamp ## fetch the profile's weights into its HF cache ahead of `up` (resumable)
	$(PY) -m stack.download --compose-file $(RENDER) $(ARGS)
