#!/usr/bin/env bash
# Rehearse a two-host deployment on one machine with Docker and no GPU (make rehearse-nodes).
#
# Renders `generator.py --rehearsal --nodes 2`: the head's file and the worker's, as for two GPU
# hosts, but the two engine containers sit on a Docker network of their own (the head at a
# fixed address) instead of host networking. vLLM's CPU build splits the tiny GLM-format model
# into two pipeline stages (PP 2, one layer each) over the two containers with the rendered
# multi-node flags (mp executor, --nnodes 2, --node-rank, --master-addr, --headless on the
# worker). Then, as an operator would: `make up` with the head's file (it follows the load and
# runs the sidecar against the head's API), and `make up` with the worker's file on "the
# second host" (it exits 0 once the worker has joined), then `make bench` with the head's file
# (AIPerf from the head, against the engine both hosts serve). Passes when all three do.
# Nothing is left running, pass or fail: both projects down -v, the network removed.
set -euo pipefail
# shellcheck source=scripts/lib/rehearsal.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/rehearsal.sh"

PORT=${REHEARSAL_NODES_PORT:-18700}
# A tiny-model folder of its own: the two-layer build (make tiny-model's has one layer).
TINY_HF=$(realpath -m "${TINY_HF:-$CACHE/tiny-hf-nodes}")
NETWORK=glm5-nodes-rehearsal  # the name recipe/catalog.py's cpu target renders
SUBNET=${REHEARSAL_NODES_SUBNET:-172.30.87.0/24}
HEAD_ADDRESS=${SUBNET%.*}.2
BASE=compose/rehearsal-nodes.yaml
HEAD_FILE=compose/rehearsal-nodes-node0.yaml
WORKER_FILE=compose/rehearsal-nodes-node1.yaml
# The two "hosts" share one Docker daemon here: a project name each.
HEAD_PROJECT=glm5-nodes-head
WORKER_PROJECT=glm5-nodes-worker
LOGS=$CACHE/rehearsal-nodes
# An engine image tag of its own, built from this checkout's rehearsal/: the shared tag
# (glm5-compose/vllm-cpu:rehearsal) may be rebuilt from another checkout while this runs, and
# Compose recreates a container whose image changed under it.
ENGINE_IMAGE=${REHEARSAL_NODES_IMAGE:-glm5-compose/vllm-cpu:rehearsal-nodes}

worker_pid=
stack_down() {
    [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null
    log "down -v (both hosts), network $NETWORK removed"
    COMPOSE_PROJECT_NAME=$WORKER_PROJECT docker compose -f "$WORKER_FILE" down -v --remove-orphans >&2
    COMPOSE_PROJECT_NAME=$HEAD_PROJECT docker compose -f "$HEAD_FILE" --profile smoke --profile bench \
        down -v --remove-orphans >&2
    docker network rm "$NETWORK" >/dev/null 2>&1
}
rehearsal_up

t0=$SECONDS
log "images (cached by their inputs) and the tiny model"
ENGINE_IMAGE=$ENGINE_IMAGE rehearsal_images engine
rehearsal_images sidecar bench
# Two layers, one per pipeline stage (the second adds nothing: same replies).
rehearsal_tiny_model --layers 2
log "ready in $((SECONDS - t0)) s"

"$PY" generator.py --rehearsal --nodes 2 --head-address "$HEAD_ADDRESS" --port "$PORT" \
    --hf-cache "$TINY_HF" --image "$ENGINE_IMAGE" --output "$BASE" --force
docker network inspect "$NETWORK" >/dev/null 2>&1 || docker network create --subnet "$SUBNET" "$NETWORK" >/dev/null
mkdir -p reports "$LOGS"
export SMOKE_USER=$(stat -c %u:%g reports)

log "head: make up with $HEAD_FILE (follows the load, then the sidecar)"
t1=$SECONDS
set +e
COMPOSE_PROJECT_NAME=$HEAD_PROJECT "$PY" -m stack.up --compose-file "$HEAD_FILE" >"$LOGS/head.log" 2>&1 &
head_pid=$!
# The head's container first, as on two hosts: the worker dials its master port.
for _ in $(seq 60); do
    [ -n "$(COMPOSE_PROJECT_NAME=$HEAD_PROJECT docker compose -f "$HEAD_FILE" ps -q engine 2>/dev/null)" ] && break
    sleep 1
done
log "worker: make up with $WORKER_FILE (exits 0 once it has joined the head)"
COMPOSE_PROJECT_NAME=$WORKER_PROJECT "$PY" -m stack.up --compose-file "$WORKER_FILE" >"$LOGS/worker.log" 2>&1 &
worker_pid=$!
wait "$worker_pid"; worker_code=$?
worker_pid=
log "worker exit $worker_code after $((SECONDS - t1)) s:"
cat "$LOGS/worker.log" >&2
wait "$head_pid"; head_code=$?
set -e
log "head exit $head_code after $((SECONDS - t1)) s:"
cat "$LOGS/head.log" >&2
if [ "$worker_code" != 0 ] || [ "$head_code" != 0 ]; then
    log "FAILED: worker exit $worker_code, head exit $head_code; the worker's engine log:"
    COMPOSE_PROJECT_NAME=$WORKER_PROJECT docker compose -f "$WORKER_FILE" logs --tail 40 engine >&2 || true
    exit 1
fi
grep -q "joined the head: rank 1 of 2 (PP rank 1)" "$LOGS/worker.log"

log "head: make bench with $HEAD_FILE"
COMPOSE_PROJECT_NAME=$HEAD_PROJECT rehearsal_bench "$HEAD_FILE"
BENCH_REPORT="$REPORT" BENCH_URL="http://$HEAD_ADDRESS:8000" \
    "$PY" -m pytest -q -m docker tests/rehearsal/test_bench_live.py
log "two hosts rehearsed: the worker joined, the head served PP 2 over both, the sidecar passed and make bench measured it"
