#!/usr/bin/env bash
# Rehearse the whole deployment on a machine with Docker and no GPU (make rehearse).
#
#   scripts/rehearse.sh            render --rehearsal, make up (phases, then the sidecar), the seed
#                                  guide's client snippets, then down -v; exits with the verdict
#   scripts/rehearse.sh negative   the same stack with a wrong --tool-call-parser: passes only if
#                                  the sidecar fails and its hint names glm47
#   scripts/rehearse.sh gateway    the stack behind the nginx gateway (--gateway, TLS with a
#                                  self-signed pair): the sidecar through it with a key, then
#                                  tests/rehearsal/test_gateway_stack.py from outside
#
# Images are built locally (scripts/images.sh: no registry); the tiny GLM-format model is mounted
# as the HF cache. A Docker daemon is found or started (scripts/docker.sh); one started here is
# stopped here. Nothing is left running, pass or fail.
set -euo pipefail
# shellcheck source=scripts/lib/rehearsal.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/rehearsal.sh"

MODE=${1:-positive}
PORT=${REHEARSAL_PORT:-8000}
# The HF cache holding the tiny model (make tiny-model's by default; another build for a
# change to scripts/tinymodel.py in progress).
TINY_HF=$(realpath -m "${TINY_HF:-$CACHE/tiny-hf}")
case $MODE in
    positive) FILE=compose/rehearsal.yaml; EXTRA=() ;;
    negative) FILE=compose/rehearsal-negative.yaml; EXTRA=(--tool-call-parser hermes) ;;
    gateway) FILE=compose/rehearsal-gateway.yaml
             EXTRA=(--gateway --tls-cert secrets/tls.crt --tls-key secrets/tls.key) ;;
    *) echo "usage: $0 [positive|negative|gateway]" >&2; exit 2 ;;
esac

stack_down() {
    log "down -v"
    docker compose -f "$FILE" --profile smoke down -v --remove-orphans >&2
}
rehearsal_up

t0=$SECONDS
log "images (cached by their inputs)"
rehearsal_images all
rehearsal_tiny_model
log "images and tiny model ready in $((SECONDS - t0)) s"

mkdir -p reports
if [ "$MODE" = gateway ]; then
    make -s keys
    [ -s secrets/tls.key ] || make -s tls-selfsigned
    if [ "$(id -u)" = 0 ]; then
        # Compose mounts a secret file with its host owner and mode (600), and the gateway and
        # the sidecar run as that owner: as root, hand the files (and reports/) to an
        # unprivileged uid so that no container of the rehearsal runs as root.
        chown 10003:10003 secrets/api-keys secrets/tls.key secrets/tls.crt reports
    fi
    export GATEWAY_USER=$(stat -c %u:%g secrets/api-keys)
fi
"$PY" generator.py --rehearsal --port "$PORT" --hf-cache "$TINY_HF" "${EXTRA[@]}" \
    --output "$FILE" --force
export SMOKE_USER=$(stat -c %u:%g reports)

log "up: $FILE"
t1=$SECONDS
set +e
"$PY" -m stack.up --compose-file "$FILE" 2>&1 | tee "$CACHE/rehearsal-$MODE.log"
code=${PIPESTATUS[0]}
set -e
log "compose up -> sidecar verdict: $((SECONDS - t1)) s, exit $code"

if [ "$MODE" = negative ]; then
    if [ "$code" = 1 ] && grep -q -- "--tool-call-parser glm47" "$CACHE/rehearsal-$MODE.log"; then
        log "negative rehearsal: the sidecar failed and named --tool-call-parser glm47, as it must"
        exit 0
    fi
    log "negative rehearsal: expected the sidecar to fail (exit 1) naming --tool-call-parser glm47; got exit $code"
    exit 1
fi
[ "$code" = 0 ] || exit "$code"

if [ "$MODE" = gateway ]; then
    log "from outside: keys, routes, TLS streaming, and no key in inspect, logs or reports"
    REHEARSAL_BASE_URL="https://127.0.0.1:$PORT" REHEARSAL_CA=secrets/tls.crt \
        REHEARSAL_KEYS=secrets/api-keys REHEARSAL_COMPOSE_FILE="$FILE" \
        "$PY" -m pytest -q -m docker tests/rehearsal/test_gateway_stack.py
    exit
fi

log "the seed guide's client snippets and the README's client examples against the stack"
REHEARSAL_BASE_URL="http://127.0.0.1:$PORT" "$PY" -m pytest -q -m docker tests/rehearsal/test_seed_snippets.py \
    tests/rehearsal/test_readme_clients.py
