#!/usr/bin/env bash
# Builds $CACHE/bench-venv: AIPerf and what bench/ imports (bench/requirements.txt, every
# package pinned by bench/constraints.txt), plus the test tools, so that `python -m bench` and
# tests/bench run on the host. The bench image installs the same two files.
#
#   scripts/bench-env.sh [CACHE]      CACHE defaults to $CACHE, then <repo>/.cache
#
# Idempotent: the venv carries a stamp holding a hash of the pins; a matching stamp means
# "done", anything else (no stamp, other pins, a build that died half-way) is rebuilt.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${1:-${CACHE:-$REPO/.cache}}
PYTHON=${PYTHON:-python3}
VENV=$CACHE/bench-venv
STAMP=$VENV/.bench-env.stamp
# The test tools, at the versions of requirements-dev.txt.
TEST_PINS=$(grep -E '^(pytest|pytest-httpserver)==' "$REPO/requirements-dev.txt")

PY_VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
KEY=$( (echo "$PY_VERSION" "$TEST_PINS"; cat "$REPO/bench/requirements.txt" "$REPO/bench/constraints.txt") \
    | sha256sum | cut -d' ' -f1)

log() { printf '[bench-env %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.bench-venv.lock"
flock 9

if [[ -f $STAMP && $(cat "$STAMP") == "$KEY" ]]; then
    log "up to date: $VENV"
    exit 0
fi
START=$SECONDS
[[ -e $VENV ]] && { log "removing stale or half-built $VENV"; rm -rf "$VENV"; }
log "creating venv with $PYTHON $PY_VERSION"
"$PYTHON" -m venv "$VENV"
BUILD_LOG=$VENV/build.log
# shellcheck disable=SC2086  # TEST_PINS is a word list on purpose
if ! "$VENV/bin/python" -m pip --disable-pip-version-check --no-input install \
        -r "$REPO/bench/requirements.txt" -c "$REPO/bench/constraints.txt" $TEST_PINS >"$BUILD_LOG" 2>&1; then
    tail -n 40 "$BUILD_LOG" >&2
    log "FAILED: pip install (full log: $BUILD_LOG)"
    exit 1
fi
log "smoke test: aiperf runs, bench's imports load"
"$VENV/bin/aiperf" --version >/dev/null
"$VENV/bin/python" -c 'import click, matplotlib, prometheus_client'
echo "$KEY" >"$STAMP"
log "done in $((SECONDS - START)) s: $VENV ($(du -sh "$VENV" | cut -f1))"
