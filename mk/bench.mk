# How well it serves: AIPerf load + the engine's /metrics -> reports/bench-<time>.{json,md,png}.
#   make bench-env     $(CACHE)/bench-venv: AIPerf and bench/'s imports (scripts/bench-env.sh)
#   make bench-host    python -m bench on the host against BENCH_URL (any OpenAI-compatible server)
#   make test-bench    tests/bench in the bench venv (the plot and the CLI's whole flow need it)
CACHE ?= $(CURDIR)/.cache
BENCH_PY := $(CACHE)/bench-venv/bin/python
BENCH_URL ?= http://127.0.0.1:8000
BENCH_MODEL ?= glm-5-fp8
BENCH_ARGS ?=

.PHONY: bench-env bench-host test-bench

bench-env:
	scripts/bench-env.sh $(CACHE)

bench-host: bench-env ## benchmark BENCH_URL from this host (BENCH_MODEL, BENCH_ARGS="--workload chat-1k1k ...")
	@mkdir -p reports
	PATH=$(CACHE)/bench-venv/bin:$$PATH $(BENCH_PY) -m bench --base-url $(BENCH_URL) \
		--model $(BENCH_MODEL) $(BENCH_ARGS)

test-bench: bench-env ## bench/ tests with AIPerf's venv: metrics arithmetic, reports, plot, CLI
	PATH=$(CACHE)/bench-venv/bin:$$PATH $(BENCH_PY) -m pytest -q tests/bench

# The monitoring profile's files judged by promtool from Debian's prometheus package.
.PHONY: test-monitoring
test-monitoring: $(VENV)/.stamp ## promtool checks the Prometheus config, recording rules (and their unit tests), dashboard queries
	PROMTOOL=$$(scripts/promtool.sh $(CACHE)) MONITORING_REQUIRED=1 $(PY) -m pytest -q tests/monitoring

# The bench and monitoring profiles on the rehearsal stack (Docker, no GPU).
.PHONY: rehearse-bench
rehearse-bench: $(VENV)/.stamp ## make bench + Prometheus on the rehearsal stack: a real report, the engine's series, the rules' results
	CACHE=$(CACHE) PY=$(PY) scripts/rehearse-bench.sh

# The load generator's own cost (a stand-in server on 127.0.0.1, so the CPU measured is AIPerf's).
.PHONY: bench-overhead
bench-overhead: bench-env tiny-model ## AIPerf's client CPU: start-up and per request (medians of 3), against a local stand-in server
	PATH=$(CACHE)/bench-venv/bin:$$PATH CACHE=$(CACHE) $(BENCH_PY) scripts/bench_aiperf_overhead.py
