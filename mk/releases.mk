# Engine releases (recipe/releases.py): each catalog row is judged by its own engine version,
# each version in its own venv (scripts/engine-envs.sh), with its flag list in recipe/flags/.
#   make engine-envs      the venvs of every version the catalog rows are checked with
#   make flags            rewrite recipe/flags/<engine>-<version>.txt from each version's parser
#   make conformance-all  conformance over every version: the launch renders judged by both ends
#                         of their unconfirmed version ranges too
CACHE ?= $(CURDIR)/.cache
PY ?= .venv/bin/python
VENV_STAMP ?= .venv/.stamp

.PHONY: engine-envs engine-envs-all flags conformance-all

engine-envs: $(VENV_STAMP)
	CACHE=$(CACHE) PY=$(PY) scripts/engine-envs.sh build

engine-envs-all: $(VENV_STAMP)
	CACHE=$(CACHE) PY=$(PY) scripts/engine-envs.sh build all

flags: $(VENV_STAMP) ## rewrite recipe/flags/ from each catalog engine version's own argument parser
	CACHE=$(CACHE) PY=$(PY) scripts/engine-envs.sh flags all

conformance-all: engine-envs-all $(VENV_STAMP) ## conformance over every engine version of the catalog, range ends included
	CACHE=$(CACHE) CONFORMANCE_REQUIRED=1 CONFORMANCE_ALL=1 $(PY) -m pytest -q tests/conformance
