#!/usr/bin/env bash
# Builds an SGLang venv: SGLang's server-argument parser and its parser-name registries,
# without SGLang's GPU dependencies (a full `pip install sglang` pulls 11 GB of CUDA torch, and
# SGLang cannot serve on CPU anyway). Used by the conformance checks (`make conformance`).
#
#   scripts/sglang-env.sh [CACHE]                      $CACHE/sglang-venv, sglang 0.5.23 (the default)
#   VERSION=0.5.8.post1 scripts/sglang-env.sh [CACHE]  $CACHE/sglang-0.5.8.post1-venv
#
# CACHE defaults to $CACHE, then <repo>/.cache.
#
# Idempotent: the venv carries a stamp holding a hash of the pins below; a matching stamp means
# "done", anything else (no stamp, other pins, a build that died half-way) is deleted and rebuilt.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${1:-${CACHE:-$REPO/.cache}}
PYTHON=${PYTHON:-python3}
DEFAULT_VERSION=0.5.23
VERSION=${VERSION:-$DEFAULT_VERSION}
[[ $VERSION =~ ^[0-9]+(\.[0-9]+)+(\.post[0-9]+)?$ ]] || { echo "sglang-env: VERSION=$VERSION is not a release number like 0.5.8.post1" >&2; exit 2; }
if [[ $VERSION == "$DEFAULT_VERSION" ]]; then VENV=$CACHE/sglang-venv; else VENV=$CACHE/sglang-$VERSION-venv; fi
STAMP=$VENV/.sglang-env.stamp

# sglang is installed with --no-deps: its declared deps include CUDA torch, sglang-kernel,
# flashinfer, tilelang... none needed to parse arguments. TOP is what `sglang.srt.server_args`
# and the parser modules import (triton and IPython are imported at module top level).
# torch 2.13.0 is the CPU wheel on the machine's disk; sglang 0.5.23 declares torch 2.14.1 but
# its argument parser does not care.
TORCH=torch==2.13.0
SGLANG=sglang==$VERSION
TOP="numpy orjson psutil pybase64 requests triton packaging pillow starlette msgspec pydantic
pyzmq tqdm IPython aiohttp openai partial_json_parser regex xgrammar transformers PyYAML"
OLDER="dill sentencepiece"
# Full lock of what TOP resolved to for the default version (pip freeze of a working build,
# 2026-11-28). Another version gets its own exact pins instead (transformers, xgrammar, openai...
# read from its metadata; torch and its companions left out): the argument parser of an older
# release imports from the transformers it was released with.
LOCK="aiohappyeyeballs==2.7.1 aiohttp==3.14.5 aiosignal==1.4.0 annotated-doc==0.0.7
annotated-types==0.8.0 anyio==4.16.0 apache-tvm-ffi==0.1.15.post2 asttokens==3.0.2 attrs==26.1.0
certifi==2026.10.19.post1 charset-normalizer==3.5.3 click==8.5.1 executing==2.3.0 filelock==4.3.1
frozenlist==1.8.0 fsspec==2026.9.0 h11==0.16.0 hf-xet==1.8.0 httpcore2==2.16.2 httpx2==2.16.2
huggingface_hub==2.4.0 idna==3.20 ipython==9.18.1 ipython_pygments_lexers==1.1.1 jedi==0.20.1
Jinja2==3.1.6 jiter==0.19.0 markdown-it-py==4.3.0 MarkupSafe==3.0.4 matplotlib-inline==0.2.2
mdurl==0.1.2 mpmath==1.3.0 msgspec==0.22.0 multidict==7.2.1 networkx==3.6.1 numpy==2.4.6
openai==3.57.0 orjson==3.13.0 packaging==26.4 parso==0.8.7 partial-json-parser==0.2.1.1.post7
pexpect==4.9.0 pillow==13.0.0 prompt_toolkit==3.0.53 propcache==0.5.4 psutil==7.2.2
ptyprocess==0.7.0 pure_eval==0.2.4 pybase64==1.5.1 pydantic==2.14.4 pydantic_core==2.50.5
Pygments==2.21.0 PyYAML==6.0.4 pyzmq==27.3.0 regex==2026.11.19 requests==2.34.2 rich==15.0.0
safetensors==0.8.0 shellingham==1.5.4 sniffio==1.3.1 stack-data==0.6.3 starlette==1.10.0
sympy==1.14.0 tokenizers==0.23.3 tqdm==4.70.1 traitlets==5.16.1 transformers==5.19.0
triton==3.9.0 truststore==0.10.5 typer==0.29.2 typing-inspection==0.4.5 typing_extensions==4.16.0
urllib3==2.8.0 wcwidth==0.9.4 xgrammar==0.2.7 yarl==1.25.1"

PY_VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [[ $VERSION == "$DEFAULT_VERSION" ]]; then
    # Kept byte-identical to before versions were selectable, so existing caches stay valid.
    KEY=$(printf '%s\n' "$PY_VERSION" "$TORCH" "$SGLANG" "$TOP" "$LOCK" | sha256sum | cut -d' ' -f1)
else
    KEY=$(printf '%s\n' "$PY_VERSION" "$TORCH" "$SGLANG" "$TOP" "own exact pins" "$OLDER" "torchvision stand-in" | sha256sum | cut -d' ' -f1)
fi

log() { printf '[sglang-env %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

mkdir -p "$CACHE"
# Two builds at once (make -j, two CI jobs) would trample each other's venv.
exec 9>"$CACHE/.${VENV##*/}.lock"
flock 9

if [[ -f $STAMP && $(cat "$STAMP") == "$KEY" ]]; then
    log "up to date: $VENV ($SGLANG)"
    exit 0
fi

START=$SECONDS
if [[ -e $VENV ]]; then
    log "removing stale or half-built $VENV"
    rm -rf "$VENV"
fi

log "creating venv with $PYTHON $PY_VERSION"
"$PYTHON" -m venv "$VENV"
# pip's output goes to a log: it lists every sglang dependency left out on purpose (--no-deps).
BUILD_LOG=$VENV/build.log
pip_install() {
    if ! "$VENV/bin/python" -m pip --disable-pip-version-check --no-input install "$@" >>"$BUILD_LOG" 2>&1; then
        tail -n 40 "$BUILD_LOG" >&2
        log "FAILED: pip install $*  (full log: $BUILD_LOG)"
        exit 1
    fi
}

log "installing $TORCH (CPU)"
pip_install "$TORCH"
log "installing $SGLANG without its dependencies"
pip_install --no-deps "$SGLANG"
CONSTRAINTS=$VENV/constraints.txt
if [[ $VERSION == "$DEFAULT_VERSION" ]]; then
    printf '%s\n' $TORCH $LOCK >"$CONSTRAINTS"
else
    { echo "$TORCH"; "$VENV/bin/python" - <<'EOF'
from importlib.metadata import requires
from pip._vendor.packaging.requirements import Requirement  # pip is in every venv

for line in requires("sglang") or []:
    req = Requirement(line)
    pins = [s for s in req.specifier if s.operator == "=="]
    if req.marker is None and len(pins) == 1 and not req.name.lower().startswith("torch"):
        print(f"{req.name}=={pins[0].version}")
EOF
    } >"$CONSTRAINTS"
fi
log "installing the slim dependency set"
# shellcheck disable=SC2086  # TOP is a word list on purpose
pip_install -c "$CONSTRAINTS" $TOP
if [[ $VERSION != "$DEFAULT_VERSION" ]]; then
    # Older releases import more at server_args import time (0.5.8.post1: dill through the
    # custom logit processors, sentencepiece through the tokenizer utils)...
    log "installing what older server_args imports: $OLDER"
    # shellcheck disable=SC2086
    pip_install -c "$CONSTRAINTS" $OLDER
    # ...and torchvision.transforms through the vision-language model configs (internvl_utils:
    # InterpolationMode at module level). PyPI has only CUDA builds of torchvision, which do not
    # import beside a CPU torch ("operator torchvision::nms does not exist"). Argument parsing
    # never calls into it, so a stand-in package provides just that name; it says what it is.
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    mkdir -p "$site/torchvision/transforms"
    printf '"""Stand-in written by scripts/sglang-env.sh: not torchvision. Only the names an older\nSGLang imports at module level while building its argument parser."""\n' >"$site/torchvision/__init__.py"
    : >"$site/torchvision/transforms/__init__.py"
    printf 'import enum\n\n\nclass InterpolationMode(enum.Enum):\n    NEAREST = "nearest"\n    BILINEAR = "bilinear"\n    BICUBIC = "bicubic"\n' \
        >"$site/torchvision/transforms/functional.py"
fi

log "smoke test: import the argument parser and the parser-name registries"
# The checker's own lookup, which knows where each release keeps the names.
PYTHONPATH=$REPO "$VENV/bin/python" - <<'EOF'
from sglang.srt.server_args import prepare_server_args  # noqa: F401
from conformance.sglang import registries

regs = registries()
assert "glm47" in regs["tool_call_parser"] and "glm45" in regs["reasoning_parser"], regs
EOF

echo "$KEY" >"$STAMP"
log "done in $((SECONDS - START)) s: $VENV ($(du -sh "$VENV" | cut -f1))"
