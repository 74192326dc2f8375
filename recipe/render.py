"""Profile -> compose file text. The command line is built here, as a list; templates only place it."""

import hashlib
import json
import os
import shlex
from pathlib import Path

import jinja2

from .engines import ENGINES
from .escape import comment, compose_scalar
from .releases import dialect
from .catalog import BENCH_HF_MOUNT, HF_MOUNT, MODELS
from . import gateway as gw
from .gateway import Gateway, error_body
from .catalog import BENCH_IMAGE
from .monitoring import (CONFIG_ENV, PROMETHEUS_COMMAND, PROMETHEUS_ENTRYPOINT, RULES_FILE, RULES_PATH,
                         prometheus_config)
from .profile import DEFAULTS, Profile, default_of, option_name, target_recipe

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
# Every value is placed by `q` (a YAML scalar that Compose reads back unchanged: JSON-quoted,
# `$` doubled) or, in a comment, by `comment` (one line). The rules are in escape.py.
_env.filters["q"] = compose_scalar
_env.filters["comment"] = comment


def literal_block(text: str, indent: int) -> str:
    """Our own multi-line text (nginx config, start script) as a YAML literal block, readable in
    the render; `$` doubled (as `q` does) so Compose leaves nginx's variables alone."""
    if "\r" in text or text[:1] in (" ", "\n") or not text.endswith("\n") or text.endswith("\n\n"):
        raise ValueError("text for a literal block must start with a non-blank and end in one newline")
    pad = " " * indent
    return "|\n" + "\n".join(pad + line if line else "" for line in text.replace("$", "$$").split("\n")[:-1])


_env.filters["block"] = literal_block


def nginx_conf(g: Gateway) -> str:
    """The gateway's nginx configuration."""
    return _env.get_template("gateway.conf.j2").render(g=g, error_body=error_body)


def gateway_service(p: Profile, published: str, root_rel: str) -> dict | None:
    """What the template places for the gateway service and its secrets."""
    if not p.gateway:
        return None
    e = ENGINES[p.engine]
    secrets = {gw.KEYS_SECRET: os.path.join(root_rel, gw.KEYS_FILE)}
    if p.tls_cert:
        secrets.update(tls_cert=p.tls_cert, tls_key=p.tls_key)
    g = Gateway(upstream=f"engine:{e.port}", rate_per_minute=p.rate_limit,
                tls_cert="/run/secrets/tls_cert" if p.tls_cert else None,
                tls_key="/run/secrets/tls_key" if p.tls_key else None)
    return dict(
        image=p.gateway_image,
        # sh -c SCRIPT $0 $1 $2: the start script inline, then its arguments.
        script=gw.start_script(),
        args=["gateway-start", f"/run/secrets/{gw.KEYS_SECRET}", g.run_dir],
        conf_env=gw.CONF_ENV,
        conf=nginx_conf(g),
        port=f"{published}:{g.published}",
        # The sidecar's way in: the plain port on the Compose network, with a key.
        url=f"http://gateway:{g.listen}",
        secrets=secrets,
        run_dir=g.run_dir,
        healthcheck=gw.HEALTHCHECK,
    )




def host_network(p: Profile) -> bool:
    """Two GPU hosts share no Docker network: each engine is on its host's network stack."""
    return p.nodes > 1 and p.target.node_network is None


def engine_command(p: Profile, rank: int = 0) -> list[str]:
    """The engine's arguments after its entrypoint, in the order of the recipes. rank: which
    host of a two-host deployment (0 = the head)."""
    e = ENGINES[p.engine]
    args = [e.model_flag, p.model] if e.model_flag else [p.model]
    if host_network(p):
        # No port mapping: --bind and --port are where the engine itself listens.
        args += [a.format(host=p.bind, port=p.port) for a in e.listen_args]
    elif e.listen_in_container:
        args += [a.format(host="0.0.0.0", port=e.port) for a in e.listen_args]
    args += [e.tp_flag, str(p.tp)]
    if p.pp > 1:
        args += [e.pp_flag, str(p.pp)]
    if p.nodes > 1:
        args += [a.format(nodes=p.nodes, rank=rank, head=p.head_address) for a in e.node_args]
        if rank > 0:
            args += e.worker_args
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
    if p.max_num_seqs is not None:
        args += [e.max_seqs_flag, str(p.max_num_seqs)]
    if p.kv_cache_dtype != "auto":
        args += [e.kv_dtype_flag, e.kv_dtypes[p.kv_cache_dtype]]
    if not p.target.gpu:
        args += e.cpu_pp_args if p.pp > 1 else e.cpu_args
    # What this release needs on top of the engine's recipe (recipe/releases.py), then the
    # user's own flags last (checked by profile.check).
    return [*args, *e.extra_args, *dialect(p.engine, p.image).args, *target_recipe(p)[0], *p.engine_args]


def engine_env(p: Profile, rank: int = 0) -> dict[str, str | None]:
    e = ENGINES[p.engine]
    env = {k: v.format(ready_s=p.start_period * 60) for k, v in e.env.items()}
    env.update(e.cache_env)
    env.update(dialect(p.engine, p.image).env)
    env.update(target_recipe(p)[1])
    if p.offline:
        # Weights are already in the cache: never start a surprise 800 GB download.
        env["HF_HUB_OFFLINE"] = "1"
    if not p.target.gpu:
        env.update(e.cpu_env)
    if p.iface:
        # The interface between the hosts, for NCCL's and Gloo's sockets (bootstrap, and all of
        # NCCL's traffic without InfiniBand); otherwise they may pick docker0 or a public NIC.
        env["NCCL_SOCKET_IFNAME"] = p.iface
        env["GLOO_SOCKET_IFNAME"] = p.iface
    if p.nodes > 1 and rank == 0:
        env.update({k: v.format(head=p.head_address) for k, v in e.head_env.items()})
    for item in p.env:
        name, eq, value = item.partition("=")
        # KEY alone: no value here, so Compose passes the one from its shell or .env.
        env[name] = value if eq else None
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
        elif field == "engine_args":
            given[field] = [option, shlex.join(value)]
        elif field == "env":
            given[field] = [a for item in value for a in (option, item)]
        elif isinstance(value, tuple):
            given[field] = [option, ",".join(map(str, value))]
        else:
            given[field] = [option, f"{value:g}" if isinstance(value, float) else str(value)]
    args = [a for field in values if field in given for a in given[field]]
    return args + (["--rehearsal"] if p.rehearsal else [])


def file_names(p: Profile) -> list[str]:
    """The files a profile renders to, under compose/: one per host, the head first."""
    base = "rehearsal" if p.rehearsal else p.engine
    if p.nodes == 1:
        return [f"{base}.yaml"]
    return [f"{base}-node{rank}.yaml" for rank in range(p.nodes)]


def render_compose(p: Profile, out_dir: Path | None = None, rank: int = 0) -> str:
    """The compose file for this profile (for host `rank` of a two-host deployment; 0 = the
    head). out_dir is where it will live: paths are relative to it."""
    out_dir = Path(out_dir or ROOT / "compose").resolve()
    e = ENGINES[p.engine]
    root_rel = os.path.relpath(ROOT, out_dir)
    bind = f"[{p.bind}]" if ":" in p.bind else p.bind
    target = p.target
    head = rank == 0
    on_host = host_network(p)
    # The API port inside the engine's network namespace: host networking moves it to --port.
    api_port = p.port if on_host else e.port
    api_host = p.bind if on_host and p.bind not in ("0.0.0.0", "::") else "127.0.0.1"
    node = None
    if p.nodes > 1:
        node = {"rank": rank, "role": "head" if head else "worker", "head_address": p.head_address}
    project = f"glm5-{'rehearsal' if p.rehearsal else p.engine}" + (f"-node{rank}" if node else "")
    gateway = gateway_service(p, f"{bind}:{p.port}", root_rel)
    # The engine's own API, as the head's other services reach it: on the host's network stack
    # (two GPU hosts), at the head's fixed address (the two-host rehearsal's shared network,
    # where both hosts' services are called engine), else by name on the compose network.
    engine_url = (f"http://{api_host}:{api_port}" if on_host else f"http://{p.head_address}:{e.port}" if node
                  else f"http://engine:{e.port}")
    bench = monitoring = None
    if head:
        bench = {
            "image": BENCH_IMAGE,
            # The engine itself, not the gateway: its /metrics is there (the gateway passes only
            # the serving routes) and no key is needed.
            "url": engine_url,
            "workloads": " ".join(target.bench_workloads),
            "cpus": target.bench_cpus,
            # The published numbers are compared on the same hardware: COUNTxTYPE.
            "hardware": f"{p.gpus * p.nodes}x{target.name.upper()}" if target.gpu else None,
        }
    # Monitoring scrapes and serves on the compose network (Prometheus and Grafana by name,
    # their ports published on 127.0.0.1): one host only.
    if p.nodes == 1:
        monitoring = {
            "prometheus_image": target.prometheus_image,
            "prometheus_entrypoint": PROMETHEUS_ENTRYPOINT,
            "prometheus_command": PROMETHEUS_COMMAND,
            "config_env": CONFIG_ENV,
            "prometheus_config": json.dumps(prometheus_config(
                "engine", e.port, interval_s=target.scrape_interval_s), indent=2),
            # Loopback only, whatever --bind says: neither has the gateway's keys in front.
            "prometheus_port": f"127.0.0.1:{p.prometheus_port}:9090",
            "rules": os.path.join(root_rel, "monitoring", RULES_FILE),
            "rules_target": RULES_PATH,
            "grafana_image": target.grafana_image,
            "grafana_port": f"127.0.0.1:{p.grafana_port}:3000",
            "grafana_provisioning": os.path.join(root_rel, "monitoring", "grafana", "provisioning"),
            "grafana_dashboards": os.path.join(root_rel, "monitoring", "grafana", "dashboards"),
        }
    body = _env.get_template("compose.yaml.j2").render(
        p=p,
        engine=e,
        model=MODELS[p.model],
        target=target,
        hf_mount=HF_MOUNT,
        bench_hf_mount=BENCH_HF_MOUNT,
        entrypoint=list(dialect(p.engine, p.image).entrypoint),
        command=engine_command(p, rank),
        ulimits=target.ulimits,
        environment=engine_env(p, rank),
        node=node,
        network_mode="host" if on_host else None,
        # The rehearsal's head has a fixed address on its Docker network; the worker any.
        node_network=target.node_network if node else None,
        ipv4_address=p.head_address if node and head and not on_host else None,
        # With the gateway the engine publishes nothing: the gateway is the only way in.
        port=f"{bind}:{p.port}:{e.port}" if head and not on_host and not gateway else None,
        gateway=gateway,
        # A worker serves no HTTP (vLLM --headless, SGLang rank >= 1): its health is its
        # process and its log (make up follows them), not a probe.
        healthcheck=["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen("
                     f"'http://{api_host}:{api_port}/health', timeout=5)"] if head else None,
        smoke=head,
        # Both hosts' services are called engine: on a shared network, name the head by address.
        smoke_url=gateway["url"] if gateway else engine_url,
        # The gateway keeps /metrics off its routes: the spec-decode check reads the engine's.
        metrics_url=engine_url if gateway else None,
        devices=["/dev/infiniband"] if p.ib else [],
        # RDMA registers (pins) memory: IPC_LOCK, as vLLM's multi-node docs say for GPUDirect.
        cap_add=["IPC_LOCK"] if p.ib else [],
        project=project,
        build_context=root_rel,
        reports=os.path.join(root_rel, "reports"),
        smoke_image=SMOKE_IMAGE,
        bench=bench,
        monitoring=monitoring,
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
