#!/usr/bin/env bash
# The bench and monitoring profiles on the rehearsal stack (make rehearse-bench): the engine
# (vLLM on CPU, the tiny model) and Prometheus from Debian's package come up, `make bench` runs
# AIPerf from the bench image against the engine and must write the JSON, table and plot, then
# tests/rehearsal/test_bench_live.py reads that report and queries Prometheus's HTTP API for the
# engine's series and the recording rules' results. Nothing is left running, pass or fail.
#
#   REHEARSAL_PORT (8000), PROMETHEUS_PORT (9090): host ports; COMPOSE_PROJECT_NAME: another
#   project name than the file's, so a second stack on the same daemon does not collide.
set -euo pipefail
# shellcheck source=scripts/lib/rehearsal.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/rehearsal.sh"

PORT=${REHEARSAL_PORT:-8000}
PROM_PORT=${PROMETHEUS_PORT:-9090}
TINY_HF=$(realpath -m "${TINY_HF:-$CACHE/tiny-hf}")
FILE=compose/rehearsal-bench.yaml

stack_down() {
    log "down -v"
    docker compose -f "$FILE" --profile monitoring --profile bench down -v --remove-orphans >&2
}
rehearsal_up

t0=$SECONDS
log "images (cached by their inputs) and the tiny model"
rehearsal_images engine bench prometheus
rehearsal_tiny_model

"$PY" generator.py --rehearsal --port "$PORT" --prometheus-port "$PROM_PORT" \
    --hf-cache "$TINY_HF" --output "$FILE" --force
log "up: engine and Prometheus ($FILE)"
t1=$SECONDS
docker compose -f "$FILE" --profile monitoring up -d --wait engine prometheus >&2
log "healthy in $((SECONDS - t1)) s"

log "make bench"
rehearsal_bench "$FILE"

log "the report, and Prometheus's HTTP API"
BENCH_REPORT="$REPORT" PROMETHEUS_URL="http://127.0.0.1:$PROM_PORT" \
    "$PY" -m pytest -q -m docker tests/rehearsal/test_bench_live.py
log "done in $((SECONDS - t0)) s"
