"""Profile -> compose file text. The command line is built here, as a list; templates only place it."""

import hashlib
import json
import os
import shlex
from pathlib import Path

import jinja2

from .engines import ENGINES
from .catalog import HF_MOUNT, MODELS
from .profile import DEFAULTS, Profile, default_of, option_name

ROOT = Path(__file__).resolve().parent.parent
CHECKSUM_PREFIX = "# generator-checksum: sha256:"
SMOKE_IMAGE = "glm5-compose/smoke:local"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(ROOT / "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)
# A JSON string is a valid YAML double-quoted scalar: every value is quoted the same safe way.
_env.filters["q"] = json.dumps


def engine_command(p: Profile) -> list[str]:
    """The engine's arguments after its entrypoint, in the order of the recipes."""
    e = ENGINES[p.engine]
    args = [e.model_flag, p.model] if e.model_flag else [p.model]
    args += [*e.fixed_args, e.tp_flag, str(p.tp)]
    if p.speculative != "off":
        n = p.spec_tokens
        args += [a.format(n=n, n_plus_1=n + 1) for a in e.speculative[p.speculative]]
    args += [e.tool_parser_flag, p.tool_call_parser]
    if p.reasoning_parser != "none":
        args += [e.reasoning_parser_flag, p.reasoning_parser]
    args += [*e.tool_choice_args, e.served_name_flag, p.served_model_name]
    if p.mem_fraction is not None:
        args += [e.mem_flag, f"{p.mem_fraction:g}"]
    if p.max_model_len is not None:
        args += [e.context_flag, str(p.max_model_len)]
    if not p.target.gpu:
        args += e.cpu_args
    return [*args, *e.extra_args]


def engine_env(p: Profile) -> dict[str, str]:
    e = ENGINES[p.engine]
    env = {k: v.format(ready_s=p.start_period * 60) for k, v in e.env.items()}
    env.update(e.cache_env)
    if p.offline:
        # Weights are already in the cache: never start a surprise 800 GB download.
        env["HF_HUB_OFFLINE"] = "1"
    if not p.target.gpu:
        env.update(e.cpu_env)
    return env


def cli_args(p: Profile) -> list[str]:
    """Generator options that reproduce this profile: those whose value is not the default that
    the options before it imply (DEFAULTS, in its order: --tp is left out when it follows --gpus,
    the served name when it follows the model). Printed in the x-profile's field order."""
    values = p.to_dict()
    resolved: dict = {}
    given: dict[str, list[str]] = {}
    for field in DEFAULTS:
        value = values[field]
        if isinstance(value, list):
            value = tuple(value)
        default = default_of(field, resolved)
        resolved[field] = value
        if field == "gpu_type" and p.rehearsal:
            continue  # the cpu target is spelled --rehearsal, last
        if field != "engine" and (value is None or value == default):
            continue
        option = option_name(field)
        if isinstance(value, bool):
            given[field] = [option]
        elif isinstance(value, tuple):
            given[field] = [option, ",".join(map(str, value))]
        else:
            given[field] = [option, f"{value:g}" if isinstance(value, float) else str(value)]
    args = [a for field in values if field in given for a in given[field]]
    return args + (["--rehearsal"] if p.rehearsal else [])


def render_compose(p: Profile, out_dir: Path | None = None) -> str:
    """The compose file for this profile. out_dir is where it will live: paths are relative to it."""
    out_dir = Path(out_dir or ROOT / "compose").resolve()
    e = ENGINES[p.engine]
    root_rel = os.path.relpath(ROOT, out_dir)
    bind = f"[{p.bind}]" if ":" in p.bind else p.bind
    target = p.target
    body = _env.get_template("compose.yaml.j2").render(
        p=p,
        engine=e,
        model=MODELS[p.model],
        target=target,
        hf_mount=HF_MOUNT,
        command=engine_command(p),
        ulimits=target.ulimits,
        environment=engine_env(p),
        port=f"{bind}:{p.port}:{e.port}",
        healthcheck=["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen("
                     f"'http://127.0.0.1:{e.port}/health', timeout=5)"],
        project=f"glm5-{'rehearsal' if p.rehearsal else p.engine}",
        build_context=root_rel,
        reports=os.path.join(root_rel, "reports"),
        smoke_image=SMOKE_IMAGE,
        regenerate=shlex.join(["python", "generator.py", *cli_args(p)]),
    )
    return f"{body}{CHECKSUM_PREFIX}{checksum(body)}\n"


def checksum(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def split_checksum(text: str) -> tuple[str, str | None]:
    """(body, recorded checksum or None): the checksum is the last line of a generated file."""
    head, _, last = text.rstrip("\n").rpartition("\n")
    if last.startswith(CHECKSUM_PREFIX):
        return head + "\n", last[len(CHECKSUM_PREFIX):]
    return text, None
