"""The one typed profile: every option of a deployment, resolved and checked.

`build()` turns the CLI's options (None = not given) into a Profile or raises RecipeError
naming the option, the value and the fix. Nothing is rendered from an unchecked value.
"""

import ipaddress
import os
import re
from dataclasses import asdict, dataclass, fields, replace as dc_replace

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


@dataclass(frozen=True)
class Rule:
    """What one field accepts: its type, a range or a set of choices, and the fix to print."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    optional: bool = False
    fix: str = "see --help"

    def problem(self, value) -> str | None:
        if value is None:
            return None if self.optional else "a value is required"
        if self.kind is tuple:
            ok = isinstance(value, tuple) and all(isinstance(i, int) and i >= 0 for i in value)
            return None if ok else "should be a list of device numbers"
        number = self.kind is float and isinstance(value, int) and not isinstance(value, bool)
        if (isinstance(value, bool) and self.kind is not bool) or not (number or isinstance(value, self.kind)):
            return f"should be {self.kind.__name__}, not {type(value).__name__}"
        if self.choices is not None and value not in self.choices:
            return f"should be one of {', '.join(map(str, self.choices))}"
        if self.low is not None and value < self.low:
            return f"input should be greater than or equal to {self.low:g}"
        if self.high is not None and value > self.high:
            return f"input should be less than or equal to {self.high:g}"
        if self.kind is str and not value:
            return "should not be empty"
        return None


# One rule per field: every limit in one place. Cross-field rules are in check().
RULES = {
    "engine": Rule(str, choices=("vllm", "sglang")),
    "model": Rule(str, choices=tuple(MODELS)),
    "gpu_type": Rule(str, choices=(*GPUS, "cpu")),
    "gpus": Rule(int, 0, 8, fix="use 1 to 8 GPUs on one host"),
    "tp": Rule(int, 1, 64, fix="use a tensor-parallel size from 1 to 64"),
    "speculative": Rule(str, choices=("mtp", "eagle", "off")),
    "served_model_name": Rule(str),
    "port": Rule(int, 1, 65535, fix="use a port from 1 to 65535"),
    "bind": Rule(str),
    "hf_cache": Rule(str, fix="give the folder that holds (or will hold) the Hugging Face cache"),
    "image": Rule(str),
    "gpu_ids": Rule(tuple, optional=True, fix="give comma-separated device numbers, e.g. 0,1,2,3"),
    "spec_tokens": Rule(int, 1, 8, optional=True, fix="use 1 to 8 (vLLM recipe: 1; SGLang recipe: 3)"),
    "mem_fraction": Rule(float, 0.3, 0.95, optional=True,
                         fix="use a fraction between 0.3 and 0.95 (recipe: 0.85)"),
    "max_model_len": Rule(int, 256, optional=True,
                          fix="use at least 256 tokens, or leave it out for the model's full context"),
    "tool_call_parser": Rule(str, choices=TOOL_PARSERS),
    "reasoning_parser": Rule(str, choices=REASONING_PARSERS),
    "offline": Rule(bool),
    "start_period": Rule(int, 1, 240, fix="use 1 to 240 minutes (a cold GLM-5 load takes 10-40)"),
    "rehearsal": Rule(bool),
}


@dataclass(frozen=True)
class Profile:
    """Every option of one deployment. Making one checks each field against RULES (a plain
    dataclass, not pydantic: pydantic's import alone was half the CLI's 0.5 s budget)."""

    engine: str
    model: str
    gpu_type: str
    gpus: int
    tp: int
    speculative: str
    served_model_name: str
    port: int
    bind: str
    hf_cache: str
    image: str
    gpu_ids: tuple[int, ...] | None = None
    spec_tokens: int | None = None
    mem_fraction: float | None = None
    max_model_len: int | None = None
    tool_call_parser: str = "glm47"
    reasoning_parser: str = "glm45"
    offline: bool = False
    start_period: int = 60  # minutes
    rehearsal: bool = False

    def __post_init__(self):
        for f in fields(self):
            value, rule = getattr(self, f.name), RULES[f.name]
            problem = rule.problem(value)
            if problem:
                raise RecipeError(option_name(f.name), value, problem, rule.fix)
            if rule.kind is float and value is not None:
                object.__setattr__(self, f.name, float(value))

    def to_dict(self) -> dict:
        """Plain JSON values, in field order (the x-profile block of a render)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def replace(self, **changes) -> "Profile":
        return dc_replace(self, **changes)


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
        max_model_len = max_model_len or 8192  # the tiny model's context: the seed's snippets ask 4096
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
    profile = Profile(**values)
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
        block = dict(data["x-profile"])
        if block.get("gpu_ids") is not None:
            block["gpu_ids"] = tuple(block["gpu_ids"])
        p = Profile(**block)
    except FileNotFoundError:
        raise RecipeError("--compose-file", path, "no such file", "run `make generate` first") from None
    except (KeyError, TypeError, ValueError, RecipeError, yaml.YAMLError):
        raise RecipeError("--compose-file", path, "has no valid x-profile block (not rendered by "
                          "generator.py?)", "re-render it with generator.py") from None
    check(p)
    return p
