# shellcheck shell=bash
# What every rehearsal (scripts/rehearse*.sh) does the same way around the stack it rehearses.
# Sourced after `set -euo pipefail`; it sets ROOT, CACHE (exported) and PY, cds to the repo, and
# defines:
#   log MESSAGE              a line on stderr, prefixed with the script's name
#   rehearsal_up             the Docker daemon that answers (scripts/docker.sh: one started
#                            here is stopped here) and its environment; from then on, every exit
#                            (pass, fail, Ctrl-C) runs the script's own stack_down first
#   rehearsal_images WHAT... scripts/images.sh WHAT for each (cached by their inputs)
#   rehearsal_tiny_model [ARGS...]  the tiny GLM-format model into $TINY_HF (scripts/tinymodel.py)
#   rehearsal_bench FILE     `make bench` on FILE's stack (as an operator would); sets REPORT to
#                            the reports/bench-*.json this run wrote, or fails
# A script sets TINY_HF and defines stack_down, which runs with errexit off: each step is tried.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
CACHE=$(realpath -m "${CACHE:-$ROOT/.cache}")
export CACHE
PY=${PY:-$ROOT/.venv/bin/python}
REHEARSAL_NAME=$(basename "$0" .sh)

log() { printf '\n%s: %s\n' "$REHEARSAL_NAME" "$*" >&2; }

rehearsal_up() {
    had_daemon=0
    scripts/docker.sh status >/dev/null 2>&1 && had_daemon=1
    scripts/docker.sh up >&2
    eval "$(scripts/docker.sh env)"
    trap rehearsal_exit EXIT
    trap 'exit 130' INT TERM
}

rehearsal_exit() {  # the EXIT trap: the stack down, then the daemon if ours, with the exit code
    local code=$?
    stack_down || true
    [ "$had_daemon" = 1 ] || scripts/docker.sh down >&2 || true
    exit $code
}

rehearsal_images() {
    local image
    for image; do scripts/images.sh "$image" >&2; done
}

rehearsal_tiny_model() {
    [ -x "$CACHE/vllm-venv/bin/python" ] || scripts/vllm-env.sh "$CACHE" >&2
    "$CACHE/vllm-venv/bin/python" scripts/tinymodel.py "$@" --hf-home "$TINY_HF" >&2
}

rehearsal_bench() {
    local t0=$SECONDS start_mark
    start_mark=$(date -u +%Y%m%dT%H%M%SZ)
    make --no-print-directory bench COMPOSE_FILE="$1" ARGS="--level-timeout 600"
    log "make bench: $((SECONDS - t0)) s"
    REPORT=$(ls -1 reports/bench-*.json | awk -v m="reports/bench-$start_mark" '$0 >= m' | tail -n 1)
    [ -n "$REPORT" ] || { log "no reports/bench-*.json written by this run"; exit 1; }
}
