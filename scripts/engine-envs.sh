#!/usr/bin/env bash
# Every engine version the release catalog (recipe/releases.py) is judged by, each in its own
# venv: the newest under $CACHE/<engine>-venv (the folder the e2e tests also use), every other
# under $CACHE/<engine>-<version>-venv (scripts/vllm-env.sh, scripts/sglang-env.sh).
#
#   scripts/engine-envs.sh build [all]    build the venvs ("all": the ends of version ranges too)
#   scripts/engine-envs.sh flags [all]    build them, then write recipe/flags/<engine>-<version>.txt
#   scripts/engine-envs.sh venv ENGINE VERSION   print the venv folder of one version
#
# PY is the interpreter that can import recipe/ (the repo's .venv or any python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE=${CACHE:-$PWD/.cache}
PY=${PY:-python3}

venv() {  # engine version
    if [[ $2 == "$("$PY" -m recipe.releases newest "$1")" ]]; then
        echo "$CACHE/$1-venv"
    else
        echo "$CACHE/$1-$2-venv"
    fi
}

case "${1:-}" in
venv)
    [[ $# == 3 ]] || { echo "usage: $0 venv ENGINE VERSION" >&2; exit 2; }
    venv "$2" "$3"
    exit 0 ;;
build|flags) ;;
*) echo "usage: $0 build|flags [all] | venv ENGINE VERSION" >&2; exit 2 ;;
esac
mode=$1
scope=${2:-}
[[ -z $scope || $scope == all ]] || { echo "$0: the scope is 'all' or nothing, not '$scope'" >&2; exit 2; }

for engine in vllm sglang; do
    for version in $("$PY" -m recipe.releases versions "$engine" $scope); do
        start=$SECONDS
        VERSION=$version "scripts/$engine-env.sh" "$CACHE"
        echo "engine-envs: $engine $version ready in $((SECONDS - start)) s"
        if [[ $mode == flags ]]; then
            HF_HUB_OFFLINE=1 PYTHONPATH=$PWD "$(venv "$engine" "$version")/bin/python" \
                -m conformance.flags "$engine" --out recipe/flags
        fi
    done
done
