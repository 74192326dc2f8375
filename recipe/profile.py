"""The one typed profile: every option of a deployment, resolved and checked.

`build()` turns the CLI's options (None = not given) into a Profile or raises RecipeError
naming the option, the value and the fix. Nothing is rendered from an unchecked value.
"""

import ipaddress
import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .engines import ENGINES
from .errors import RecipeError
from .hardware import GPUS, MODELS
from . import sizing

# glm47 is right for GLM-4.7 and GLM-5. The others exist to rehearse a wrong flag: glm45 is the
# GLM-4.5 format (it misses GLM-5's calls on the Feb 2026 glm5 images; vLLM 0.32 made it an alias
# of glm47), hermes is another model family's parser and misses them on every version.
TOOL_PARSERS = ("glm47", "glm45", "hermes")
REASONING_PARSERS = ("glm45", "none")
REHEARSAL_IMAGE = "glm5-compose/vllm-cpu:rehearsal"
REHEARSAL_MODEL = "glm5-compose/tiny-glm5"

# Docker's reference grammar (distribution/reference), without the optional lower-casing.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)"
IMAGE_RE = re.compile(
    rf"^{_DOMAIN}?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?$"
)
SERVED_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: Literal["vllm", "sglang"]
    model: str
    gpu_type: Literal["h200", "h100", "cpu"]
    gpus: int = Field(ge=0, le=8)
    tp: int = Field(ge=1, le=64)
    gpu_ids: tuple[int, ...] | None = None
    speculative: Literal["mtp", "eagle", "off"]
    spec_tokens: int | None = Field(default=None, ge=1, le=8)
    mem_fraction: float | None = Field(default=None, ge=0.3, le=0.95)
    max_model_len: int | None = Field(default=None, ge=256)
    served_model_name: str
    port: int = Field(ge=1, le=65535)
    bind: str
    hf_cache: str = Field(min_length=1)
    image: str
    tool_call_parser: Literal["glm47", "glm45", "hermes"] = "glm47"
    reasoning_parser: Literal["glm45", "none"] = "glm45"
    offline: bool = False
    start_period: int = Field(default=60, ge=1, le=240)  # minutes
    rehearsal: bool = False


# What to tell the user when a single value is out of range; keyed by field.
FIXES = {
    "gpus": "use 1 to 8 GPUs on one host",
    "tp": "use a tensor-parallel size from 1 to 64",
    "spec_tokens": "use 1 to 8 (vLLM recipe: 1; SGLang recipe: 3)",
    "mem_fraction": "use a fraction between 0.3 and 0.95 (recipe: 0.85)",
    "max_model_len": "use at least 256 tokens, or leave it out for the model's full context",
    "port": "use a port from 1 to 65535",
    "hf_cache": "give the folder that holds (or will hold) the Hugging Face cache",
    "start_period": "use 1 to 240 minutes (a cold GLM-5 load takes 10-40)",
}


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def build(
    *,
    engine="vllm",
    model=None,
    gpu_type=None,
    gpus=None,
    tp=None,
    gpu_ids=None,
    speculative="auto",
    spec_tokens=None,
    mem_fraction=None,
    max_model_len=None,
    served_model_name=None,
    port=None,
    bind="127.0.0.1",
    hf_cache="~/.cache/huggingface",
    image=None,
    tool_call_parser="glm47",
    reasoning_parser="glm45",
    offline=False,
    start_period=None,
    rehearsal=False,
) -> Profile:
    if engine not in ENGINES:
        raise RecipeError("--engine", engine, "unknown engine", f"use one of: {', '.join(ENGINES)}")
    spec = ENGINES[engine]

    if rehearsal:
        if engine != "vllm":
            raise RecipeError(
                "--engine", engine, "SGLang cannot serve on a CPU (its kernels need CUDA), so it "
                "cannot be rehearsed", "rehearse with --engine vllm; SGLang's flags are checked by "
                "`make conformance`",
            )
        model = model or REHEARSAL_MODEL
        gpu_type = gpu_type or "cpu"
        gpus = 0 if gpus is None else gpus
        tp = tp or 1
        speculative = "off" if speculative == "auto" else speculative
        image = image or REHEARSAL_IMAGE
        max_model_len = max_model_len or 512
        if hf_cache == "~/.cache/huggingface":
            # Where `make tiny-model` puts the tiny model, in the layout of an HF cache.
            cache = os.environ.get("CACHE") or os.path.join(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__))), ".cache")
            hf_cache = os.path.join(cache, "tiny-hf")
        offline = True  # the tiny model is in the mounted cache; there is no hub to reach
    model = model or "zai-org/GLM-5-FP8"
    if model not in MODELS:
        known = ", ".join(m for m in MODELS if not MODELS[m].rehearsal)
        raise RecipeError("--model", model, "unknown model", f"use one of: {known}")
    facts = MODELS[model]
    if facts.rehearsal and not rehearsal:
        raise RecipeError("--model", model, "the tiny model is for rehearsals only",
                          "add --rehearsal, or use zai-org/GLM-5-FP8")
    if rehearsal and not facts.rehearsal:
        raise RecipeError("--model", model, "a rehearsal serves the tiny CPU model; GLM models "
                          "cannot run on a CPU", "leave --model out with --rehearsal")
    gpu_type = gpu_type or "h200"
    if gpu_type == "cpu" and not rehearsal:
        raise RecipeError("--gpu-type", "cpu", "GLM-5 needs GPUs", "use h200, or --rehearsal")
    if rehearsal and gpu_type != "cpu":
        raise RecipeError("--gpu-type", gpu_type, "a rehearsal runs on the CPU", "leave --gpu-type out")
    gpus = 8 if gpus is None else gpus
    if speculative == "auto":
        speculative = spec.default_speculative
    if speculative != "off" and spec_tokens is None:
        spec_tokens = spec.default_spec_tokens
    if port is None:
        port = spec.port
    if hf_cache and not hf_cache.startswith("~") and not os.path.isabs(hf_cache):
        hf_cache = os.path.abspath(hf_cache)

    values = dict(
        engine=engine, model=model, gpu_type=gpu_type, gpus=gpus, tp=tp or max(gpus, 1),
        gpu_ids=tuple(gpu_ids) if gpu_ids else None, speculative=speculative,
        spec_tokens=spec_tokens, mem_fraction=None if rehearsal else (mem_fraction or 0.85),
        max_model_len=max_model_len, served_model_name=served_model_name or facts.served_name,
        port=port, bind=bind, hf_cache=hf_cache, image=image or spec.image,
        tool_call_parser=tool_call_parser, reasoning_parser=reasoning_parser,
        # A rehearsal loads in seconds: a short start period makes a broken one fail fast.
        offline=offline, start_period=start_period or (10 if rehearsal else 60),
        rehearsal=rehearsal,
    )
    try:
        profile = Profile(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "profile"
        raise RecipeError(
            option_name(field), values.get(field, err.get("input")), err["msg"].lower(),
            FIXES.get(field, "see --help"),
        ) from None
    check(profile)
    return profile


def check(p: Profile) -> None:
    """Cross-field rules: what each value means for the others."""
    spec, facts = ENGINES[p.engine], MODELS[p.model]
    if not IMAGE_RE.match(p.image):
        raise RecipeError(
            "--image", p.image, "not a valid image reference",
            "use NAME[:TAG] or NAME@sha256:DIGEST, e.g. vllm/vllm-openai:glm5",
        )
    if not SERVED_NAME_RE.match(p.served_model_name):
        raise RecipeError(
            "--served-model-name", p.served_model_name, "not a usable model name",
            "use letters, digits and . _ / - (e.g. glm-5-fp8)",
        )
    try:
        ipaddress.ip_address(p.bind)
    except ValueError:
        raise RecipeError(
            "--bind", p.bind, "not an IP address", "use 127.0.0.1 (default), or 0.0.0.0 to publish "
            "on every interface",
        ) from None
    if p.rehearsal:
        if p.gpus or p.tp != 1 or p.gpu_ids:
            raise RecipeError("--tp", p.tp, "a rehearsal runs one CPU engine", "leave --gpus, --tp and --gpu-ids out")
    else:
        if p.gpus < 1:
            raise RecipeError("--gpus", p.gpus, "GLM-5 needs GPUs", "use 1 to 8")
        if p.tp > p.gpus:
            raise RecipeError(
                "--tp", p.tp, f"more than the {p.gpus} GPUs given by --gpus", f"use --tp {p.gpus} or raise --gpus",
            )
        if facts.heads % p.tp:
            sizes = [t for t in range(1, p.gpus + 1) if facts.heads % t == 0]
            raise RecipeError(
                "--tp", p.tp, f"must divide {p.model}'s {facts.heads} attention heads",
                f"use --tp {' or '.join(map(str, sizes[-2:]))}",
            )
        if p.gpu_ids is not None:
            if len(p.gpu_ids) != p.tp or len(set(p.gpu_ids)) != len(p.gpu_ids):
                raise RecipeError(
                    "--gpu-ids", ",".join(map(str, p.gpu_ids)), f"must name {p.tp} different GPUs, "
                    "one per tensor-parallel rank", f"list {p.tp} distinct device ids",
                )
    if p.speculative != "off" and p.speculative not in spec.speculative:
        runs = " or ".join(f"--speculative {m}" for m in spec.speculative)
        why = {
            "eagle": "vLLM needs a separate EAGLE draft model, and GLM ships none",
            "mtp": "SGLang runs GLM's MTP layer through its EAGLE algorithm",
        }[p.speculative]
        raise RecipeError("--speculative", p.speculative, f"{spec.label} cannot run it for GLM: {why}",
                          f"use {runs}, or off")
    if p.speculative == "off" and p.spec_tokens is not None:
        raise RecipeError("--spec-tokens", p.spec_tokens, "speculative decoding is off",
                          "leave --spec-tokens out, or turn --speculative on")
    if p.max_model_len is not None and p.max_model_len > facts.context:
        raise RecipeError("--max-model-len", p.max_model_len, f"longer than {p.model}'s context of "
                          f"{facts.context} tokens", f"use at most {facts.context}, or leave it out")
    if not p.rehearsal:
        sizing.check_fit(p, facts, GPUS[p.gpu_type])


def from_compose(path) -> Profile:
    """The profile a rendered compose file was made from (its x-profile block), checked again."""
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f)
        p = Profile(**data["x-profile"])
    except FileNotFoundError:
        raise RecipeError("--compose-file", path, "no such file", "run `make generate` first") from None
    except (KeyError, TypeError, ValidationError, yaml.YAMLError):
        raise RecipeError("--compose-file", path, "has no valid x-profile block (not rendered by "
                          "generator.py?)", "re-render it with generator.py") from None
    check(p)
    return p
