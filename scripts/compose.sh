#!/usr/bin/env bash
# `docker compose "$@"` for the operator targets (make up, smoke, logs, down). On a host
# without Docker or without the Compose v2 plugin it says how to install them on a GPU host
# instead of Docker's "unknown command", and exits 13 (make up's code for Docker or Compose).
# The rehearsal's scripts/docker.sh is no answer there: it links a test binary from a venv.
set -euo pipefail

where="Docker's apt repository (https://docs.docker.com/engine/install/; the steps are in README.md, \"Host requirements\")"
DOCKER=${DOCKER:-docker}  # tests point it at a stand-in to inject a missing CLI or plugin
if ! command -v "$DOCKER" >/dev/null 2>&1; then
    echo "Error: docker: not found. Fix: install Docker Engine 25+ (docker-ce) and docker-compose-plugin from $where" >&2
    exit 13
fi
# `version` needs no daemon; 20 s bounds a wedged CLI plugin.
if ! timeout 20 "$DOCKER" compose version >/dev/null 2>&1; then
    echo "Error: docker compose: the Compose v2 plugin is not installed. Fix: install docker-compose-plugin from $where, then check \`docker compose version\`" >&2
    exit 13
fi
exec "$DOCKER" compose "$@"
