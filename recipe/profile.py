"""The one typed profile: every option of a deployment, resolved and checked.

`build()` turns the CLI's options (None = not given) into a Profile or raises RecipeError
naming the option, the value and the fix. Nothing is rendered from an unchecked value.
"""

import ipaddress
import math
import os
import re
from dataclasses import asdict, dataclass, fields, replace as dc_replace

from .engines import ENGINES, engine_of_image
from .errors import RecipeError
from .escape import text_problem
from .catalog import GATEWAY_IMAGE, GPUS, MODELS, TARGETS, Target
from . import passthrough, releases, sizing

# glm47 is right for GLM-4.7 and GLM-5. The others exist to rehearse a wrong flag: glm45 is the
# GLM-4.5 format (it misses GLM-5's calls on the Feb 2026 glm5 images; vLLM 0.32 made it an alias
# of glm47), hermes is another model family's parser and misses them on every version.
TOOL_PARSERS = ("glm47", "glm45", "hermes")
REASONING_PARSERS = ("glm45", "none")
KV_CACHE_DTYPES = ("auto", "fp8")
RESTART_POLICIES = ("no", "on-failure", "unless-stopped")

# Docker's reference grammar (distribution/reference), without the optional lower-casing.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)"
# Both are matched whole (fullmatch): `$` would also match before a trailing newline.
IMAGE_RE = re.compile(
    rf"{_DOMAIN}?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?"
)
SERVED_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
# A Linux interface name (IFNAMSIZ: 15 characters), or a prefix of one: NCCL and Gloo take a
# prefix (NCCL_SOCKET_IFNAME=eth matches eth0).
IFACE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")

# Folders the HF cache must not be: mounted read-write into a root container, they would hand
# the engine the host (its configuration, programs, devices, processes, the Docker socket under
# /run). SYSTEM_FOLDERS: the folder itself; SYSTEM_TREES: the folder and everything under it.
SYSTEM_FOLDERS = ("/", "/root", "/home", "/var", "/var/lib")
SYSTEM_TREES = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev",
                "/proc", "/sys", "/run", "/var/run", "/var/lib/docker", "/var/lib/containerd")


@dataclass(frozen=True)
class Rule:
    """What one field accepts: its type, a range or a set of choices, and the fix to print."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    optional: bool = False
    fix: str = "see --help"
    items: type = int  # what a tuple holds: device numbers, or strings (engine args, env)

    def problem(self, value) -> str | None:
        if value is None:
            return None if self.optional else "a value is required"
        if self.kind is tuple:
            if self.items is str:
                ok = isinstance(value, tuple) and all(isinstance(i, str) for i in value)
                return None if ok else "should be a list of strings"
            ok = isinstance(value, tuple) and all(isinstance(i, int) and i >= 0 for i in value)
            return None if ok else "should be a list of device numbers"
        number = self.kind is float and isinstance(value, int) and not isinstance(value, bool)
        if (isinstance(value, bool) and self.kind is not bool) or not (number or isinstance(value, self.kind)):
            return f"should be {self.kind.__name__}, not {type(value).__name__}"
        if self.kind is float and not math.isfinite(value):
            return "should be a finite number"
        if self.kind is str and text_problem(value):
            return text_problem(value)
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
    "gpu_type": Rule(str, choices=tuple(TARGETS)),
    "gpus": Rule(int, 0, 8, fix="use 1 to 8 GPUs on one host"),
    "nodes": Rule(int, 1, 2, fix="use 1, or 2 for two hosts"),
    "tp": Rule(int, 1, 64, fix="use a tensor-parallel size from 1 to 64"),
    "pp": Rule(int, 1, 16, fix="use 1, or 2 for one pipeline stage per host"),
    "speculative": Rule(str, choices=("mtp", "eagle", "off")),
    "served_model_name": Rule(str),
    "port": Rule(int, 1, 65535, fix="use a port from 1 to 65535"),
    "bind": Rule(str),
    "prometheus_port": Rule(int, 1, 65535, fix="use a port from 1 to 65535"),
    "grafana_port": Rule(int, 1, 65535, fix="use a port from 1 to 65535"),
    "head_address": Rule(str, optional=True),
    "iface": Rule(str, optional=True),
    "ib": Rule(bool),
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
    "max_num_seqs": Rule(int, 1, 4096, optional=True, fix="use 1 to 4096 requests at once"),
    "kv_cache_dtype": Rule(str, choices=KV_CACHE_DTYPES),
    "restart": Rule(str, choices=RESTART_POLICIES),
    "engine_args": Rule(tuple, items=str),
    "env": Rule(tuple, items=str),
    "gateway": Rule(bool),
    "gateway_image": Rule(str),
    "tls_cert": Rule(str, optional=True, fix="give the certificate file (PEM), e.g. from make tls-selfsigned"),
    "tls_key": Rule(str, optional=True, fix="give the private key file (PEM) of --tls-cert"),
    "rate_limit": Rule(int, 1, 100000, optional=True, fix="give requests per minute per key, e.g. 60"),
    "allow_unauthenticated": Rule(bool),
}


@dataclass(frozen=True)
class Profile:
    """Every option of one deployment. Making one checks each field against RULES (a plain
    dataclass, not pydantic: pydantic's import alone was half the CLI's 0.5 s budget)."""

    engine: str
    model: str
    gpu_type: str
    gpus: int  # per host
    nodes: int
    tp: int
    pp: int
    speculative: str
    served_model_name: str
    port: int
    bind: str
    prometheus_port: int  # the monitoring profile's host ports
    grafana_port: int
    head_address: str | None
    iface: str | None
    ib: bool
    hf_cache: str
    image: str
    gpu_ids: tuple[int, ...] | None
    spec_tokens: int | None
    mem_fraction: float | None
    max_model_len: int | None
    tool_call_parser: str
    reasoning_parser: str
    offline: bool
    start_period: int  # minutes
    max_num_seqs: int | None
    kv_cache_dtype: str
    restart: str
    engine_args: tuple[str, ...]  # appended after the recipe's flags, as split by the shell
    env: tuple[str, ...]  # KEY=VALUE, or KEY alone: passed through from the shell or .env
    gateway: bool  # nginx in front: API keys, the serving routes only (recipe/gateway.py)
    gateway_image: str
    tls_cert: str | None
    tls_key: str | None
    rate_limit: int | None  # requests per minute per API key
    allow_unauthenticated: bool  # --bind off loopback without --gateway, said out loud

    def __post_init__(self):
        for f in fields(self):
            value, rule = getattr(self, f.name), RULES[f.name]
            problem = rule.problem(value)
            if problem:
                fix = rule.fix
                if isinstance(value, str) and text_problem(value):
                    fix = "give it on one line, without control characters"
                raise RecipeError(option_name(f.name), value, problem, fix)
            if rule.kind is float and value is not None:
                object.__setattr__(self, f.name, float(value))

    @property
    def target(self) -> Target:
        return TARGETS[self.gpu_type]

    @property
    def local_gpus(self) -> int:
        """GPUs (engine ranks) on each host."""
        return self.tp * self.pp // self.nodes

    @property
    def rehearsal(self) -> bool:
        """Rendered for the CPU target: the tiny model and the CPU engine, no GPU."""
        return not self.target.gpu

    def to_dict(self) -> dict:
        """Plain JSON values, in field order (the x-profile block of a render). `rehearsal` is
        derived from the target and kept in the block for readers of older renders."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        return {**out, "rehearsal": self.rehearsal}

    def replace(self, **changes) -> "Profile":
        return dc_replace(self, **changes)


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


@dataclass(frozen=True)
class Default:
    """A field's default: a constant, or a function of the values resolved before it.

    `shown` is what --help prints for a derived default (Click's show_default)."""

    value: object
    shown: str | None = None

    def resolve(self, values: dict):
        return self.value(values) if callable(self.value) else self.value

    def help(self) -> str | None:
        if self.shown is not None:
            return self.shown
        return None if self.value is None or isinstance(self.value, (bool, tuple)) else str(self.value)


def _engine(values: dict):
    return ENGINES[values["engine"]]


# Every default, stated once and in resolution order (a derived default reads the fields above
# it). build() fills what the user left out from here, Click shows it, and cli_args() leaves out
# what equals it. A target (the cpu rehearsal) overrides some of them: catalog.TARGETS.
DEFAULTS = {
    "engine": Default("vllm"),
    "gpu_type": Default("h200"),
    "model": Default("zai-org/GLM-5-FP8"),
    "gpus": Default(8),
    "nodes": Default(1),
    "tp": Default(lambda v: max(v["gpus"], 1) * (1 if _engine(v).nodes_tp == "node" else v["nodes"]),
                  "--gpus; two hosts: 8 on vLLM (x PP 2), 16 on SGLang"),
    # max(tp, 1): a --tp 0 is refused by its rule, after the defaults are resolved.
    "pp": Default(lambda v: max(max(v["gpus"], 1) * v["nodes"] // max(v["tp"], 1), 1) if v["nodes"] > 1 else 1,
                  "1; two hosts: the GPUs of both / --tp"),
    "gpu_ids": Default(None),
    # Off with pipeline stages on vLLM whatever the image: the launch images refuse MTP with PP
    # (recipe/engines.py); --speculative mtp asks for it on an image that takes it.
    "speculative": Default(lambda v: "off" if v["pp"] > 1 and _engine(v).pp_flag else _engine(v).default_speculative,
                           "auto: mtp on vLLM, eagle on SGLang; off with pipeline stages on vLLM"),
    "spec_tokens": Default(lambda v: None if v["speculative"] == "off" else _engine(v).default_spec_tokens,
                           "1 for MTP, 3 for EAGLE"),
    "mem_fraction": Default(0.85),
    "max_model_len": Default(None, "the model's context, 202752"),
    "served_model_name": Default(lambda v: MODELS[v["model"]].served_name, "from the model, e.g. glm-5-fp8"),
    "port": Default(lambda v: _engine(v).port, "8000 vLLM, 30000 SGLang"),
    "bind": Default("127.0.0.1"),
    "prometheus_port": Default(9090),
    "grafana_port": Default(3000),
    "head_address": Default(None),
    "iface": Default(None),
    "ib": Default(False),
    "hf_cache": Default(lambda v: host_folder("~/.cache/huggingface"), "~/.cache/huggingface"),
    "image": Default(lambda v: releases.default_for(v["engine"], v["gpu_type"]).image,
                     "vllm/vllm-openai:glm5, lmsysorg/sglang:glm5-hopper (glm5-blackwell on b200)"),
    "tool_call_parser": Default("glm47"),
    "reasoning_parser": Default("glm45"),
    "offline": Default(False),
    "start_period": Default(lambda v: TARGETS[v["gpu_type"]].start_period, "60 (10 for --rehearsal)"),
    "max_num_seqs": Default(None, "the engine's own"),
    "kv_cache_dtype": Default("auto"),
    "restart": Default("no"),
    "engine_args": Default(()),
    "env": Default(()),
    "gateway": Default(False),
    "gateway_image": Default(GATEWAY_IMAGE, "nginx:1.28.0-alpine, pinned by digest"),
    "tls_cert": Default(None),
    "tls_key": Default(None),
    "rate_limit": Default(None, "none"),
    "allow_unauthenticated": Default(False),
}


def default_of(field: str, values: dict):
    """The default of `field` given the values resolved before it (the target's own first)."""
    target = TARGETS.get(values.get("gpu_type"))
    if target is not None and field in target.defaults:
        chosen = target.defaults[field]
        return chosen() if callable(chosen) else chosen
    return DEFAULTS[field].resolve(values)


def resolve(options: dict) -> dict:
    """The CLI's options (None = not given) with every missing one filled from DEFAULTS."""
    values = {}
    for field in DEFAULTS:
        given = options.get(field)
        if field == "speculative" and given == "auto":
            given = None
        values[field] = given if given is not None else default_of(field, values)
    return values


def build(*, rehearsal: bool = False, **options) -> Profile:
    """A checked Profile from the CLI's options; None (or absent) means "the default"."""
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown options: {', '.join(sorted(unknown))}")
    engine = options.get("engine") or DEFAULTS["engine"].value
    if engine not in ENGINES:
        raise RecipeError("--engine", engine, "unknown engine", f"use one of: {', '.join(ENGINES)}")
    gpu_type = options.get("gpu_type")
    if rehearsal:
        if engine != "vllm":
            raise RecipeError(
                "--engine", engine, "SGLang cannot serve on a CPU (its kernels need CUDA), so it "
                "cannot be rehearsed", "rehearse with --engine vllm; SGLang's flags are checked by "
                "`make conformance`",
            )
        if gpu_type not in (None, "cpu"):
            raise RecipeError("--gpu-type", gpu_type, "a rehearsal runs on the CPU", "leave --gpu-type out")
        gpu_type = "cpu"
    elif gpu_type == "cpu":
        raise RecipeError("--gpu-type", "cpu", "GLM-5 needs GPUs", "use h200, or --rehearsal")
    model = options.get("model")
    if model is not None:
        if model not in MODELS:
            known = ", ".join(m for m in MODELS if not MODELS[m].rehearsal)
            raise RecipeError("--model", model, "unknown model", f"use one of: {known}")
        if MODELS[model].rehearsal and not rehearsal:
            raise RecipeError("--model", model, "the tiny model is for rehearsals only",
                              "add --rehearsal, or use zai-org/GLM-5-FP8")
        if rehearsal and not MODELS[model].rehearsal:
            raise RecipeError("--model", model, "a rehearsal serves the tiny CPU model; GLM models "
                              "cannot run on a CPU", "leave --model out with --rehearsal")
    options = {**options, "engine": engine, "gpu_type": gpu_type}
    if options.get("image") in releases.RELEASES:  # a catalog name (python generator.py --images)
        options["image"] = releases.RELEASES[options["image"]].image
    # Click gives each repeated value as typed; the profile keeps the arguments the engine gets.
    if options.get("engine_args"):
        args = passthrough.split_args("--engine-args", options["engine_args"])
        options["engine_args"], lifted = passthrough.lift(args, ENGINES[engine])
        for field, value in lifted.items():
            if options.get(field) is not None and options[field] != value:
                raise RecipeError("--engine-args", f"{passthrough.option_for(field)} {value}",
                                  f"{passthrough.option_for(field)} {options[field]} is given too",
                                  f"give it once, as {passthrough.option_for(field)}")
            options[field] = value
    if options.get("env"):
        options["env"] = passthrough.parse_env(options["env"])
    values = resolve(options)
    if values["nodes"] > 1:
        # Monitoring reaches the engine on one host's Compose network, so a two-host render has
        # none: a port given for it would be silently unused.
        for option, field in (("--prometheus-port", "prometheus_port"), ("--grafana-port", "grafana_port")):
            if options.get(field) is not None:
                raise RecipeError(option, options[field], "two-host renders have no monitoring profile (make "
                                  "monitoring runs beside a one-host engine)", "leave it out with --nodes 2")
    if values["gpu_ids"] is not None:
        values["gpu_ids"] = tuple(values["gpu_ids"])
    hf_cache = values["hf_cache"]
    if isinstance(hf_cache, str) and hf_cache and not text_problem(hf_cache):
        values["hf_cache"] = host_folder(hf_cache)
    for field in ("tls_cert", "tls_key"):  # files on this host, stated absolute like --hf-cache
        path = values[field]
        if isinstance(path, str) and path and not text_problem(path):
            values[field] = os.path.abspath(os.path.expanduser(path))
    profile = Profile(**values)
    check(profile)
    return profile


def host_folder(path: str) -> str:
    """--hf-cache as the one absolute path that Compose, preflight and download all use. `~` and
    `~user` are expanded here, once: Compose would expand `~` to the home of whoever runs it (root
    under sudo) and read `~user` as a folder of that name under it."""
    if path.startswith("~"):
        expanded = os.path.expanduser(path)
        if expanded.startswith("~"):
            user = path[1:].split("/", 1)[0]
            raise RecipeError("--hf-cache", path, f"there is no user {user!r} on this machine",
                              "give an absolute path, or ~/... for your own home")
        path = expanded
    # normpath keeps a leading "//" (POSIX leaves it to the system); on Linux it is "/".
    return "/" + os.path.normpath(os.path.abspath(path)).lstrip("/")


def check_host_folder(path: str) -> None:
    """Refuse an HF cache that is a system folder (or a link to one), or not a folder at all."""
    if not os.path.isabs(path):
        raise RecipeError("--hf-cache", path, "not an absolute path (renders state the expanded path)",
                          "re-render with generator.py")
    real = os.path.realpath(path)
    for candidate in dict.fromkeys((path, real)):
        if candidate in SYSTEM_FOLDERS or any(candidate == t or candidate.startswith(t + "/") for t in SYSTEM_TREES):
            via = f" (it resolves to {candidate})" if candidate != path else ""
            raise RecipeError("--hf-cache", path, f"a system folder{via}: mounted read-write into the engine's "
                              "root container, it would let the engine change the host",
                              "give a folder of its own, e.g. ~/.cache/huggingface or /data/hf")
    if os.path.lexists(path) and not os.path.isdir(path):
        raise RecipeError("--hf-cache", path, "exists and is not a folder (a socket, device or file would be "
                          "mounted into the engine)", "give a folder, e.g. ~/.cache/huggingface or /data/hf")


def check(p: Profile) -> None:
    """Cross-field rules: what each value means for the others."""
    spec, facts = ENGINES[p.engine], MODELS[p.model]
    if not IMAGE_RE.fullmatch(p.image):
        raise RecipeError(
            "--image", p.image, "not a valid image reference",
            "use NAME[:TAG] or NAME@sha256:DIGEST, e.g. vllm/vllm-openai:glm5",
        )
    holds = engine_of_image(p.image)
    if holds is not None and holds is not spec:
        raise RecipeError("--image", p.image, f"it holds {holds.label}, and --engine is {p.engine}",
                          f"use --engine {holds.name}, or a {spec.label} image such as "
                          f"{releases.default_for(p.engine, p.gpu_type).image}")
    check_image_target(p)
    if not SERVED_NAME_RE.fullmatch(p.served_model_name):
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
    if "%" in p.bind:
        raise RecipeError("--bind", p.bind, "Docker cannot publish on a scoped IPv6 address (%zone)",
                          "give the address without its %zone, e.g. ::1")
    check_gateway(p)
    check_host_folder(p.hf_cache)
    seen: dict[int, str] = {}
    for option, value in (("--port", p.port), ("--prometheus-port", p.prometheus_port),
                          ("--grafana-port", p.grafana_port)):
        if value in seen:
            raise RecipeError(option, value, f"the same host port as {seen[value]}",
                              "give each of --port, --prometheus-port and --grafana-port its own")
        seen[value] = option
    check_nodes(p, spec)
    if not p.target.gpu:
        if p.gpus or p.tp != 1 or p.gpu_ids:
            raise RecipeError("--tp", p.tp, "a rehearsal runs one CPU engine", "leave --gpus, --tp and --gpu-ids out")
        if p.mem_fraction is not None:
            raise RecipeError("--mem-fraction", p.mem_fraction, "a rehearsal runs on the CPU, with no GPU "
                              "memory to share", "leave --mem-fraction out with --rehearsal")
    else:
        if p.gpus < 1:
            raise RecipeError("--gpus", p.gpus, "GLM-5 needs GPUs", "use 1 to 8")
        if p.nodes == 1 and p.tp > p.gpus:
            two_hosts = " (or --nodes 2 --head-address HEAD_IP: TP over two hosts)" if p.tp == 2 * p.gpus else ""
            raise RecipeError(
                "--tp", p.tp, f"more than the {p.gpus} GPUs given by --gpus",
                f"use --tp {p.gpus} or raise --gpus{two_hosts}",
            )
        if facts.heads % p.tp:
            sizes = [t for t in range(1, p.gpus * p.nodes + 1) if facts.heads % t == 0]
            raise RecipeError(
                "--tp", p.tp, f"must divide {p.model}'s {facts.heads} attention heads",
                f"use --tp {' or '.join(map(str, sizes[-2:]))}",
            )
        if p.gpu_ids is not None:
            if len(p.gpu_ids) != p.local_gpus or len(set(p.gpu_ids)) != len(p.gpu_ids):
                raise RecipeError(
                    "--gpu-ids", ",".join(map(str, p.gpu_ids)), f"must name {p.local_gpus} different GPUs, "
                    "one per engine rank on this host", f"list {p.local_gpus} distinct device ids",
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
    row = releases.dialect(p.engine, p.image)
    names = releases.registered(row.engine, row.checked_with)
    for kind, value, choices in (("tool_call_parser", p.tool_call_parser, TOOL_PARSERS),
                                 ("reasoning_parser", p.reasoning_parser, REASONING_PARSERS)):
        if value != "none" and value not in names[kind]:
            usable = [c for c in choices if c == "none" or c in names[kind]]
            raise RecipeError(option_name(kind), value, f"{spec.label} {row.checked_with} (what {row.image} is "
                              f"checked with) has no {value} {kind.replace('_', ' ')}", f"use {' or '.join(usable)}")
    if not releases.serves(p.engine, p.image, facts):
        row, needed = releases.lookup(p.engine, p.image), facts.needs[p.engine]
        newer = [r.name for r in releases.RELEASES.values() if r.engine == p.engine and r.cuda and r.may_run(needed)]
        raise RecipeError("--model", p.model, f"needs {spec.label} {needed} or newer, and {row.image} runs "
                          f"{spec.label} {row.version}", f"add --image {' or '.join(newer)}, or use --model "
                          f"{next(m for m in MODELS if not MODELS[m].needs and not MODELS[m].rehearsal)}")
    if p.max_model_len is not None and p.max_model_len > facts.context:
        raise RecipeError("--max-model-len", p.max_model_len, f"longer than {p.model}'s context of "
                          f"{facts.context} tokens", f"use at most {facts.context}, or leave it out")
    # What the image's release and the GPU's recipe need is rendered too: not to be given again.
    release = releases.dialect(p.engine, p.image)
    needs = f"leave it out: the generator renders it for {release.image} ({release.name} in recipe/releases.py)"
    gpu_args, gpu_env = target_recipe(p)
    for_gpu = f"leave it out: the generator renders it for --gpu-type {p.gpu_type} (recipe/catalog.py)"
    also = {**{a: needs for a in release.args if a.startswith("-")},
            **{a: for_gpu for a in gpu_args if a.startswith("-")}}
    if p.engine_args:
        version, known, _ = passthrough.flags_for(spec, p.image)
        passthrough.check_args(p.engine_args, engine=spec, version=version, known=known, also=also)
    passthrough.check_env(p.env, owned={**spec.owned_env(), **{name: needs for name in release.env},
                                        **{name: for_gpu for name in gpu_env}})
    if p.target.gpu:
        sizing.check_fit(p, facts, GPUS[p.gpu_type])


def check_image_target(p: Profile) -> None:
    """A catalog image built for other GPUs (the Hopper and Blackwell launch builds) is refused."""
    row = releases.lookup(p.engine, p.image)
    if row is None or not p.target.gpu or row.engine != p.engine or row.runs_on(p.gpu_type):
        return
    built = ", ".join(TARGETS[t].label for t in row.targets)
    usable = [r.name for r in releases.RELEASES.values()
              if r.engine == p.engine and r.cuda and r.runs_on(p.gpu_type) and (r.default or r.confirmed)]
    raise RecipeError("--image", p.image, f"{row.targets_source}, for {built}, not {p.target.label}",
                      f"leave --image out ({releases.default_for(p.engine, p.gpu_type).image}), or use "
                      f"--image {' or '.join(n for n in usable if not releases.RELEASES[n].default)}")


def target_recipe(p: Profile) -> tuple[tuple[str, ...], dict[str, str]]:
    """(arguments, environment) the GPU's recipe adds for this engine, model and image
    (catalog.Recipe). Its arguments only on an image whose release row proves a version that
    takes them, in that release's spelling; an unknown image renders the newest dialect."""
    model = MODELS[p.model]
    recipe = p.target.recipe(p.engine, model)
    if recipe is None:
        return (), {}
    row = releases.dialect(p.engine, p.image)
    args: tuple[str, ...] = ()
    if recipe.since is None or (row.confirmed and row.may_run(recipe.since)):
        args = recipe.args + (recipe.fp8_args if model.quantization == "fp8" else ())
        args = tuple(row.renamed.get(a, a) for a in args)
    return args, dict(recipe.env)


def target_recipe_note(p: Profile) -> str | None:
    """Why the GPU's recipe flags are not rendered for this image, or None when they are."""
    recipe = p.target.recipe(p.engine, MODELS[p.model])
    if recipe is None or not recipe.args or target_recipe(p)[0]:
        return None
    row = releases.dialect(p.engine, p.image)
    newer = [r.name for r in releases.RELEASES.values()
             if r.engine == p.engine and r.confirmed and r.cuda and r.runs_on(p.gpu_type) and r.may_run(recipe.since)]
    return (f"{row.image} runs {ENGINES[p.engine].label} {releases._version_text(row)}, older than "
            f"{recipe.since}, the oldest proven to take the {p.target.label} recipe's "
            f"{' '.join(a for a in recipe.args if a.startswith('-'))}: rendered without them (its own "
            f"launch command; the engine picks its backends for the GPU). For them: --image {' or '.join(newer)}")


def check_gateway(p: Profile) -> None:
    """An API on the network needs the gateway: the engines' own key leaves management routes open."""
    address = ipaddress.ip_address(p.bind)
    loopback = (getattr(address, "ipv4_mapped", None) or address).is_loopback  # ::ffff:127.0.0.1 too
    if not loopback and not p.gateway and not p.allow_unauthenticated:
        raise RecipeError(
            "--bind", p.bind, "would publish the engine itself: no API keys, and its management "
            "routes (/tokenize, /collective_rpc, ...) open to the network",
            "add --gateway (API keys, serving routes only; make keys), or --allow-unauthenticated "
            "if something else guards this port",
        )
    if p.gateway and p.allow_unauthenticated:
        raise RecipeError("--allow-unauthenticated", True, "the gateway authenticates every request",
                          "leave --allow-unauthenticated out with --gateway")
    if p.gateway and p.nodes > 1:
        raise RecipeError("--gateway", True, "two hosts run their engines on the hosts' own networks, "
                          "where the gateway's Compose network cannot front them",
                          "leave --gateway out with --nodes 2 and keep --bind on a private address")
    if not IMAGE_RE.fullmatch(p.gateway_image):
        raise RecipeError("--gateway-image", p.gateway_image, "not a valid image reference",
                          "use NAME[:TAG] or NAME@sha256:DIGEST, e.g. nginx:1.28.0-alpine")
    for option, value in (("--tls-cert", p.tls_cert), ("--tls-key", p.tls_key), ("--rate-limit", p.rate_limit)):
        if value is not None and not p.gateway:
            raise RecipeError(option, value, "only the gateway serves TLS and limits rates", "add --gateway")
    if (p.tls_cert is None) != (p.tls_key is None):
        option, value = ("--tls-cert", p.tls_cert) if p.tls_cert else ("--tls-key", p.tls_key)
        raise RecipeError(option, value, "TLS needs both the certificate and its key",
                          "give --tls-cert and --tls-key together (make tls-selfsigned makes a pair)")


def check_nodes(p: Profile, spec) -> None:
    """Two hosts: the head's address, how the GPUs of both split the model, what the engine's
    multi-node serving takes. One host: none of the two-host options."""
    if p.nodes == 1:
        for option, value in (("--head-address", p.head_address), ("--iface", p.iface)):
            if value is not None:
                raise RecipeError(option, value, "only two hosts have a head to join or an "
                                  "interface between them", "add --nodes 2, or leave it out")
        if p.ib:
            raise RecipeError("--ib", "on", "InfiniBand is for the traffic between two hosts",
                              "add --nodes 2, or leave --ib out")
        if p.pp != 1:
            raise RecipeError("--pp", p.pp, "pipeline stages are rendered only across two hosts",
                              "leave --pp out, or add --nodes 2")
        return
    if p.head_address is None:
        raise RecipeError("--nodes", p.nodes, "two hosts need the head's address",
                          "add --head-address IP: the head host's private IPv4 address, which the "
                          "worker reaches")
    try:
        head = ipaddress.IPv4Address(p.head_address)
    except ValueError:
        raise RecipeError("--head-address", p.head_address, "not an IPv4 address",
                          "give the head host's private IPv4 address, e.g. 10.0.0.1") from None
    if head.is_loopback or head.is_unspecified or head.is_multicast or head.is_link_local:
        raise RecipeError("--head-address", p.head_address, "the worker cannot reach the head there",
                          "give the head host's address on the network between the hosts, e.g. 10.0.0.1")
    if p.iface is not None and not IFACE_RE.fullmatch(p.iface):
        raise RecipeError("--iface", p.iface, "not a network interface name",
                          "give the name `ip -br addr` shows for the private network, e.g. eth1 or ens5")
    ranks = max(p.gpus, 1) * p.nodes
    if p.tp * p.pp != ranks:
        layout = "TP 8 x PP 2" if spec.pp_flag else "TP 16"
        raise RecipeError("--tp", p.tp, f"TP {p.tp} x PP {p.pp} does not use the {ranks} GPUs of "
                          f"{p.nodes} hosts x --gpus {p.gpus}", f"leave --tp and --pp out ({spec.label}: "
                          f"{layout}), or make --tp x --pp equal {ranks}")
    if p.pp > 1 and spec.pp_flag is None:
        raise RecipeError("--tp", p.tp, f"{spec.label}'s two-host recipe spreads tensor parallel over "
                          f"both hosts, with no pipeline stages (--pp {p.pp})",
                          f"leave --tp and --pp out (TP {ranks})")
    if p.pp > 1 and p.speculative != "off" and not speculative_with_pp(p, spec):
        since = spec.speculative_with_pp
        newer = [r.name for r in releases.RELEASES.values()
                 if r.engine == p.engine and r.confirmed and r.cuda and since and r.may_run(since)]
        other = f", or an image from {spec.label} {since} on (--image {newer[0]})" if newer else ""
        row = releases.lookup(p.engine, p.image)
        has = f"{spec.label} {row.version}" if row is not None else "not in the catalog"
        raise RecipeError("--speculative", p.speculative, f"speculative decoding with pipeline parallel "
                          f"needs {spec.label} {since} or newer (before it, MTP's draft model does not "
                          f"support PP: vllm#52069, #49355) and this image is {has}",
                          f"use --speculative off with PP {p.pp}, or --tp {ranks} (TP over both hosts, "
                          f"MTP on){other}")


def speculative_with_pp(p: Profile, spec) -> bool:
    """The image's catalog row proves an engine version that takes speculative decoding with
    pipeline parallel; an unknown image or a version range does not."""
    row = releases.lookup(p.engine, p.image)
    since = spec.speculative_with_pp
    return bool(since and row is not None and row.confirmed and row.may_run(since))


def from_block(block: dict) -> Profile:
    """The profile stated by a render's x-profile block, checked again (stack.rendered reads it)."""
    block = dict(block)
    block.pop("rehearsal", None)  # derived from gpu_type
    # Renders from before two hosts existed state one host.
    for key, value in (("nodes", 1), ("pp", 1), ("head_address", None), ("iface", None), ("ib", False)):
        block.setdefault(key, value)
    for field in ("max_num_seqs", "kv_cache_dtype", "restart", "engine_args", "env"):
        block.setdefault(field, DEFAULTS[field].value)  # renders from before these options
    for field in ("engine_args", "env"):
        block[field] = tuple(block[field])
    # ... and before the gateway: none.
    for key in ("gateway", "gateway_image", "tls_cert", "tls_key", "rate_limit", "allow_unauthenticated"):
        if key not in block:
            block[key] = default_of(key, block)
    if block.get("gpu_ids") is not None:
        block["gpu_ids"] = tuple(block["gpu_ids"])
    profile = Profile(**block)
    check(profile)
    return profile
