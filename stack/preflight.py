"""Check this host against a rendered profile before `make up`.

Reads the profile a compose file was rendered from (its x-profile block) and checks the host
against what that deployment needs: Docker and Compose v2, the NVIDIA container runtime,
GPUs (count, memory, architecture) from nvidia-smi, disk for the weights, the port, HF_TOKEN,
locked-memory and shared-memory limits. Two hosts (run it on each, with that host's file): the
head's address (local on the head, routed from the worker), the interface between the hosts,
InfiniBand devices, the image's ID to compare between the hosts, the ports the head accepts. Every check runs; each says PASS, WARN, FAIL or SKIP
with what it measured, what the profile needs and, when not PASS, the fix.

\b
Exit codes:
  0  nothing FAILs (WARNs are worth reading)
  1  at least one check FAILs: `up` would fail or stall on this host
  2  usage: bad option, unreadable compose file
"""

from __future__ import annotations

import errno
import json
import re
import resource
from collections import Counter
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import click

from recipe import releases
from recipe.catalog import GPUS, MODELS, Gpu
from recipe.errors import BundleError, UsageError
from recipe.render import ROOT
from recipe.sizing import alternatives, weights_fit
from stack.cli import compose_file_option, default_compose_file, run
from stack.hfcache import cached_bytes, disk_target, human, repo_folder, weights_present
from stack.probes import GpuInfo, Host, Unavailable, parse_docker_engine, parse_gpus
from stack.rendered import Rendered, load_render

CDI_DIRS = ("/etc/cdi", "/var/run/cdi")
NVIDIA_HOOK = "nvidia-container-runtime-hook"  # what Docker's "nvidia" device driver runs
# Nominal GPU "GB" (141 for an H200) is about GiB, and nvidia-smi reports slightly less than
# that (an H200 shows 143771 MiB = 140.4 GiB): compare with this much slack.
MEMORY_SLACK = 0.02
SHM_MIN, SHM_WANT = 1 << 30, 16 << 30
RLIM_INFINITY = resource.RLIM_INFINITY
DEFAULT_REPORT = ROOT / "reports" / "preflight.json"


@dataclass(frozen=True)
class Finding:
    """What one check found: PASS, WARN, FAIL or SKIP, what it measured, what the profile
    needs, and (when not PASS) the fix."""

    status: str
    measured: str
    need: str
    fix: str = ""


@dataclass(frozen=True)
class Result:
    name: str
    status: str  # PASS, WARN, FAIL or SKIP
    measured: str
    need: str
    fix: str = ""


class Context:
    """What the checks look at: the render (profile and engine service) and the host's probes."""

    def __init__(self, rendered: Rendered, host):
        self.rendered, self.host = rendered, host
        self.profile, self.compose_file = rendered.profile, Path(rendered.path)
        self.model = MODELS[self.profile.model]

    @cached_property
    def service(self) -> dict | BundleError:
        """The engine service as Compose resolves it, or why Compose could not."""
        try:
            return self.rendered.service("engine")
        except BundleError as exc:
            return exc

    @cached_property
    def gpus(self) -> list[GpuInfo] | Unavailable:
        try:
            return parse_gpus(self.host.nvidia_smi())
        except Unavailable as exc:
            return exc

    @cached_property
    def docker_engine(self) -> tuple[int, ...] | Unavailable:
        try:
            return parse_docker_engine(self.host.docker_version())
        except Unavailable as exc:
            return exc

    @cached_property
    def docker(self) -> dict | Unavailable:
        try:
            return self.host.docker_info()
        except Unavailable as exc:
            return exc

    def engine_gpus(self) -> list[GpuInfo]:
        """The GPUs the engine would get: --gpu-ids, else the first TP of them."""
        gpus = self.gpus if isinstance(self.gpus, list) else []
        if self.profile.gpu_ids is not None:
            return [g for g in gpus if g.index in self.profile.gpu_ids]
        return gpus[: self.profile.local_gpus]


CHECKS: list[tuple[str, Callable[[Context], Result]]] = []


def check(name: str):
    def register(fn):
        def run_check(ctx: Context) -> Result:
            f = fn(ctx)
            return Result(name, f.status, f.measured, f.need, f.fix if f.status not in ("PASS", "SKIP") else "")
        CHECKS.append((name, run_check))
        return run_check
    return register


@check("docker")
def docker_daemon(ctx):
    need = "a Docker daemon this user can reach"
    info = ctx.docker
    if isinstance(info, Unavailable):
        return Finding("FAIL", str(info), need, "start Docker (`sudo systemctl start docker`) or point DOCKER_HOST at "
                "it; to use it without sudo, add your user to the docker group")
    rootless = any("rootless" in str(o) for o in info.get("SecurityOptions") or [])
    return Finding("PASS", f"Docker {info.get('ServerVersion', '?')}{' (rootless)' if rootless else ''}", need, "")


# `start_interval` in a healthcheck: Engine API 1.44, Docker 25.0 (moby/moby#40894).
DOCKER_FOR_START_INTERVAL = (25, 0)


@check("docker-engine")
def docker_engine(ctx):
    if not ctx.profile.target.start_interval:
        return Finding("SKIP", "this render's healthcheck has no start_interval", "any Docker Engine", "")
    need = "Docker Engine 25.0+ (the healthcheck's start_interval)"
    version = ctx.docker_engine
    if isinstance(version, Unavailable):
        return Finding("FAIL", str(version), need, version.fix)
    measured = "Docker Engine " + ".".join(map(str, version))
    if version < DOCKER_FOR_START_INTERVAL:
        return Finding("FAIL", measured, need, "upgrade to Docker Engine 25 or newer (Docker's apt repository: "
                       "docker-ce; Debian 12's docker.io is 20.10)")
    return Finding("PASS", measured, need, "")


@check("compose")
def compose_v2(ctx):
    need = "Docker Compose v2 (`docker compose`)"
    fix = "install the Compose v2 plugin (Debian/Ubuntu: apt install docker-compose-plugin)"
    try:
        text = ctx.host.compose_version()
    except Unavailable as exc:
        return Finding("FAIL", str(exc), need, fix)
    match = re.search(r"v?(\d+)\.(\d+)\.?(\d*)", text)
    if not match:
        return Finding("FAIL", f"unrecognised version: {text[:80]!r}", need, fix)
    version = match.group(0).lstrip("v")
    if int(match.group(1)) < 2:
        return Finding("FAIL", f"Compose {version}", need, fix)
    return Finding("PASS", f"Compose {version}", need, "")


@check("nvidia-runtime")
def nvidia_runtime(ctx):
    need = "the NVIDIA Container Toolkit, so Docker can give the engine its GPUs"
    if ctx.profile.rehearsal:
        return Finding("SKIP", "a rehearsal uses no GPU", "none", "")
    fix = ("install nvidia-container-toolkit, run `sudo nvidia-ctk runtime configure --runtime=docker` and restart "
           "Docker (without it `up` fails: could not select device driver \"nvidia\")")
    info = ctx.docker
    known = not isinstance(info, Unavailable)
    dirs = tuple(info.get("CDISpecDirs") or CDI_DIRS) if known else CDI_DIRS
    found = []
    if known and "nvidia" in (info.get("Runtimes") or {}):
        found.append("runtime nvidia")
    if ctx.host.which(NVIDIA_HOOK):
        found.append(NVIDIA_HOOK)
    found += [f"CDI spec {p}" for p in ctx.host.cdi_specs(dirs)]
    if found and known:
        return Finding("PASS", ", ".join(found), need, "")
    if found:
        return Finding("WARN", f"{', '.join(found)} on the host; Docker unreachable to confirm", need,
            "start Docker and run preflight again")
    runtimes = ", ".join(sorted(info.get("Runtimes") or {})) if known else "Docker unreachable"
    return Finding("FAIL", f"no nvidia runtime, {NVIDIA_HOOK} or CDI spec ({runtimes})", need, fix)


def _summary(gpus: list[GpuInfo]) -> str:
    names = Counter(g.name for g in gpus)
    return ", ".join(f"{n}x {name}" for name, n in names.items())


def _no_gpus(ctx, need):
    if ctx.profile.rehearsal:
        return Finding("SKIP", "a rehearsal runs on the CPU", "none", "")
    if isinstance(ctx.gpus, Unavailable):
        return Finding("SKIP", "no GPU readout (see gpus)", need, "")
    return None


@check("gpus")
def gpu_count(ctx):
    p = ctx.profile
    layout = f"TP {p.tp}" + (f" x PP {p.pp}" if p.pp > 1 else "") + (f" over {p.nodes} hosts" if p.nodes > 1 else "")
    need = f"{p.local_gpus} NVIDIA GPUs ({layout})" + (f": ids {','.join(map(str, p.gpu_ids))}" if p.gpu_ids else "")
    if p.rehearsal:
        return Finding("SKIP", "a rehearsal runs on the CPU", "none", "")
    gpus = ctx.gpus
    if isinstance(gpus, Unavailable):
        return Finding("FAIL", str(gpus), need, gpus.fix)
    measured = f"{_summary(gpus)} (driver {gpus[0].driver})"
    if p.gpu_ids is not None:
        missing = sorted(set(p.gpu_ids) - {g.index for g in gpus})
        if missing:
            return Finding("FAIL", measured, need, (f"this host has GPUs 0-{len(gpus) - 1}: re-render with --gpu-ids "
                                            "among them, or without --gpu-ids"))
    if len(gpus) < p.local_gpus:
        sizes = [t for t in range(1, len(gpus) + 1) if ctx.model.heads % t == 0]
        return Finding("FAIL", measured, need, (f"use a host with {p.local_gpus} GPUs, or re-render with --gpus {len(gpus)} --tp "
                                        f"{sizes[-1]} (the generator refuses it if the model does not fit)"))
    return Finding("PASS", measured, need, "")


def _host_gpu(info: GpuInfo) -> Gpu:
    """The host's GPU as the sizing code knows it (for naming alternatives)."""
    for gpu in GPUS.values():
        if gpu.label.lower() in info.name.lower():
            return gpu
    label = info.name.removeprefix("NVIDIA ").split()[0] if info.name.strip() else "GPU"
    return Gpu("host", round(info.gib), label)


@check("gpu-memory")
def gpu_memory(ctx):
    p, m = ctx.profile, ctx.model
    need = f"~{m.vram_gb} GB for {p.model} (nominal GB, the sizing table's)"
    skipped = _no_gpus(ctx, need)
    if skipped:
        return skipped
    gpus = ctx.engine_gpus()
    if not gpus:
        return Finding("SKIP", "none of the profile's GPUs is on this host (see gpus)", need, "")
    smallest = min(gpus, key=lambda g: g.memory_mib)
    ranks = p.tp * p.pp  # two hosts: this host's GPUs stand for the other's too (same model)
    have = ranks * smallest.gib
    measured = f"{ranks}x {smallest.gib:.1f} GiB = {have:.0f} GB" + (f" on {p.nodes} hosts" if p.nodes > 1 else "")
    if have < m.vram_gb * (1 - MEMORY_SLACK):
        return Finding("FAIL", measured, need, alternatives(p, m, _host_gpu(smallest)))
    usable, per_gpu, fraction = weights_fit(m, ranks, p.mem_fraction or 0.85, smallest.gib)
    measured += f"; {usable:.0f} GB per GPU at --mem-fraction {p.mem_fraction:g} for ~{per_gpu:.0f} GB of weights"
    if fraction:
        return Finding("FAIL", measured, need + " and room for the KV cache",
            f"re-render with --mem-fraction {fraction:g}, or use more GPUs")
    return Finding("PASS", measured, need, "")


@check("driver")
def driver(ctx):
    p = ctx.profile
    row = releases.lookup(p.engine, p.image)
    if row is None:
        return Finding("WARN", f"{p.image} is not in the release catalog: its CUDA is unknown",
                       "a driver for the image's CUDA", "check the image's CUDA against NVIDIA's compatibility "
                       "table (CUDA 12.x: driver 525+, 13.x: 580+), or use an image from --images")
    if row.min_driver is None:
        return Finding("SKIP", f"{row.image} is a CPU build", "no NVIDIA driver", "")
    need = f"driver {row.min_driver}+ for {row.image} (CUDA {row.cuda})"
    skipped = _no_gpus(ctx, need)
    if skipped:
        return skipped
    text = min((g.driver for g in ctx.gpus), key=_driver_key)
    measured = f"driver {text}"
    if _driver_key(text)[0] < row.min_driver:
        older = [r.name for r in releases.RELEASES.values() if r.engine == p.engine and r.min_driver is not None
                 and r.checked_with == row.checked_with and r.min_driver <= _driver_key(text)[0]]
        other = f", or re-render with --image {older[0]} (the same release for CUDA {releases.RELEASES[older[0]].cuda})" if older else ""
        return Finding("FAIL", measured, need, f"install NVIDIA driver {row.min_driver} or newer{other}")
    return Finding("PASS", measured, need, "")


def _driver_key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3]) or (0,)


@check("gpu-arch")
def gpu_arch(ctx):
    p, m = ctx.profile, ctx.model
    want = (9, 0) if m.hopper_only else (8, 0)
    need = ("compute capability 9.0+ (Hopper or newer): DeepGEMM's FP8 kernels" if m.hopper_only
            else "compute capability 8.0+ (Ampere or newer)")
    skipped = _no_gpus(ctx, need)
    if skipped:
        return skipped
    gpus = ctx.engine_gpus() or ctx.gpus
    oldest = min(gpus, key=lambda g: g.compute_cap)
    measured = f"{oldest.name}: {oldest.compute_cap[0]}.{oldest.compute_cap[1]}"
    if oldest.compute_cap < want:
        fallback = ", or --model zai-org/GLM-4.7-FP8 if it fits this host's memory" if m.hopper_only else ""
        return Finding("FAIL", measured, need, f"{p.model} does not run on {oldest.name}: use H100 or H200 GPUs{fallback}")
    return Finding("PASS", measured, need, "")


@check("disk")
def disk(ctx):
    p, m = ctx.profile, ctx.model
    cache = Path(p.hf_cache)
    need = f"~{m.weights_gb} GB for {p.model} in {p.hf_cache}" if m.weights_gb else f"{p.model} in {p.hf_cache}"
    if weights_present(cache, p.model):
        return Finding("PASS", f"weights complete in {repo_folder(cache, p.model)}", need, "")
    if p.rehearsal:
        return Finding("FAIL", f"the tiny model is not in {cache}", need, "build it: make tiny-model")
    where = disk_target(cache)
    free = ctx.host.disk_free(where)
    cached = cached_bytes(cache, p.model)
    remaining = max(0, m.weights_gb * 10**9 - cached)
    measured = f"{human(free)} free at {where}" + (f"; {human(cached)} already fetched" if cached else "")
    if p.offline:
        return Finding("FAIL", f"weights not complete in {cache} ({measured})", need + ", before an offline start",
            "the render sets HF_HUB_OFFLINE=1: fetch them first with `make download`")
    if free < remaining:
        return Finding("FAIL", measured, need, (f"free {human(remaining - free)} there, or re-render with --hf-cache on a "
                                        f"disk with {human(remaining)} free"))
    if free < remaining * 1.1:
        return Finding("WARN", measured, need, "less than 10% headroom after the weights: free some space")
    return Finding("PASS", measured + "; `make download` fetches the weights ahead of `up`", need, "")


@check("port")
def port(ctx):
    p = ctx.profile
    address = f"[{p.bind}]:{p.port}" if ":" in p.bind else f"{p.bind}:{p.port}"
    need = f"{address} free for the API"
    if ctx.rendered.worker:
        return Finding("SKIP", "a worker host serves no API", "none", "")
    try:
        ctx.host.try_bind(p.bind, p.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return Finding("FAIL", f"{address} in use", need, (
                f"stop what listens there (`ss -ltnp 'sport = :{p.port}'`; `make down` if it is this stack), "
                "or re-render with --port N"))
        if exc.errno == errno.EADDRNOTAVAIL:
            return Finding("FAIL", f"{p.bind} is not an address of this host", need,
                "re-render with --bind 127.0.0.1, or an address of this host")
        if exc.errno == errno.EACCES:
            return Finding("WARN", f"cannot test port {p.port} as this user", need,
                "Docker binds it as root; check nothing else listens there")
        return Finding("FAIL", f"cannot bind {address}: {exc.strerror or exc}", need, "re-render with --port N")
    return Finding("PASS", f"{address} free", need, "")


def _dotenv_has(path: Path, name: str) -> bool:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == name and value.strip().strip("'\""):
            return True
    return False


@check("hf-token")
def hf_token(ctx):
    p = ctx.profile
    need = f"optional: {p.model} is public; a token lifts anonymous download limits"
    if p.rehearsal or p.offline:
        return Finding("SKIP", "the render runs offline (HF_HUB_OFFLINE=1)", "none", "")
    if ctx.host.env("HF_TOKEN"):
        return Finding("PASS", "HF_TOKEN set in this shell (value not shown)", need, "")
    dotenv = ctx.compose_file.parent / ".env"
    if _dotenv_has(dotenv, "HF_TOKEN"):
        return Finding("PASS", f"HF_TOKEN set in {dotenv} (value not shown)", need, "")
    return Finding("WARN", "HF_TOKEN not set", need, (
        f"export HF_TOKEN=hf_... (or put it in {dotenv}) before `make download` / `make up`; "
        "it is read at start and never written to the compose file"))


KEYS_CAP = 1 << 20  # bytes of the key file read: a key file is a few lines


def keys_file(compose_file: Path) -> Path | None:
    """The API-key secret's file as the render names it (relative to the render's folder)."""
    import yaml

    try:
        data = yaml.safe_load(compose_file.read_text(encoding="utf-8"))
        return compose_file.parent / data["secrets"]["api_keys"]["file"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None


@check("api-keys")
def api_keys(ctx):
    if not ctx.profile.gateway:
        return Finding("SKIP", "no gateway in this render", "none", "")
    path = keys_file(ctx.compose_file)
    need = "the gateway's keys: one per line, mode 600, owned by the user who runs make up"
    if path is None:
        return Finding("FAIL", "the render names no api_keys secret", need, "re-render it with generator.py --gateway")
    try:
        info = path.stat()
        with open(path, "rb") as f:
            text = f.read(KEYS_CAP).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return Finding("FAIL", f"no key file at {path}", need, "make keys")
    except OSError as exc:
        return Finding("FAIL", f"cannot read {path} ({exc.strerror or exc})", need,
                       "run make up as the file's owner, or re-create it with make keys")
    count = sum(1 for line in text.splitlines() if line.strip())
    if not count:
        return Finding("FAIL", f"{path} holds no key", need, f"delete {path} and run make keys")
    measured = f"{count} key(s) in {path} (not shown), mode {info.st_mode & 0o777:o}, uid {info.st_uid}"
    if info.st_mode & 0o077:
        return Finding("WARN", measured, need, f"chmod 600 {path}: other users of this host can read the keys")
    if info.st_uid == 0:
        return Finding("WARN", measured, need, "the gateway runs as the file's owner, here root: create it as "
                       "a normal user (make keys), or chown it to one")
    return Finding("PASS", measured, need, "")


def _limit(value: int) -> str:
    return "unlimited" if value == RLIM_INFINITY else f"{value // 1024} KiB"


@check("memlock")
def memlock(ctx):
    need = "unlimited locked memory in the engine (NCCL, pinned buffers)"
    if ctx.profile.rehearsal:
        return Finding("SKIP", "a rehearsal runs on the CPU: nothing is pinned", "none", "")
    soft, hard = ctx.host.memlock()
    host = f"host shell: {_limit(soft)} (hard {_limit(hard)})"
    if isinstance(ctx.service, BundleError):
        return Finding("FAIL", f"cannot read the engine service: {ctx.service}", need, "see the compose check")
    rendered = (ctx.service.get("ulimits") or {}).get("memlock")
    if isinstance(rendered, dict) and "single" in rendered:
        rendered = rendered["single"]
    unlimited = rendered == -1 or (isinstance(rendered, dict) and rendered.get("soft") == -1
                                   and rendered.get("hard") == -1)
    if not unlimited:
        return Finding("WARN", f"the render sets no unlimited memlock ({rendered!r}); {host}", need,
            "re-render with generator.py (it sets ulimits memlock: -1)")
    info = ctx.docker
    rootless = not isinstance(info, Unavailable) and any("rootless" in str(o) for o in info.get("SecurityOptions") or [])
    if rootless and hard != RLIM_INFINITY:
        return Finding("FAIL", f"rootless Docker cannot raise it above the {host}", need, (
            "raise memlock for your user (/etc/security/limits.conf: `USER - memlock unlimited`), log in "
            "again and restart the rootless daemon; or use rootful Docker"))
    return Finding("PASS", f"engine: unlimited (the render's ulimits, set by Docker); {host}", need, "")


@check("shm")
def shm(ctx):
    need = f"/dev/shm of {SHM_WANT >> 30} GiB or more (the engine's workers and NCCL share memory there)"
    fix = "enlarge it: `sudo mount -o remount,size=64G /dev/shm` (and in /etc/fstab to keep it)"
    if isinstance(ctx.service, BundleError):
        return Finding("FAIL", f"cannot read the engine service: {ctx.service}", need, "see the compose check")
    if ctx.service.get("ipc") != "host":
        if ctx.service.get("shm_size"):
            return Finding("PASS", f"shm_size {ctx.service['shm_size']} in the render", need, "")
        return Finding("FAIL", "the engine has no `ipc: host` nor shm_size: Docker gives it 64 MB", need,
            "re-render with generator.py (it sets ipc: host)")
    size = ctx.host.shm_bytes()
    if size is None:
        return Finding("FAIL", "no /dev/shm on this host", need, "mount a tmpfs at /dev/shm")
    measured = f"/dev/shm {size / 2**30:.1f} GiB (ipc: host: the engine uses the host's)"
    if size < SHM_MIN:
        return Finding("FAIL", measured, need, fix)
    if size < SHM_WANT:
        return Finding("WARN", measured, need, fix)
    return Finding("PASS", measured, need, "")


# --- two hosts: the network between them, InfiniBand, the same image on both ---------------

ONE_HOST = "a one-host render"


def _addresses(addr: list) -> dict[str, list[str]]:
    """`ip -j addr` -> interface name -> its addresses."""
    return {i.get("ifname", "?"): [a.get("local") for a in i.get("addr_info") or [] if a.get("local")]
            for i in addr if isinstance(i, dict)}


def _role(ctx) -> str:
    return "head" if ctx.rendered.rank == 0 else f"worker (node rank {ctx.rendered.rank})"


@check("head-address")
def head_address(ctx):
    p = ctx.profile
    if p.nodes == 1:
        return Finding("SKIP", ONE_HOST, "none", "")
    head = p.head_address
    try:
        addresses = _addresses(ctx.host.ip_addr())
    except Unavailable as exc:
        return Finding("FAIL", str(exc), f"the network to the head at {head}", exc.fix)
    local = [name for name, addrs in addresses.items() if head in addrs]
    if ctx.rendered.rank == 0:
        need = f"{head} is an address of this host (the head)"
        if local:
            return Finding("PASS", f"{head} on {local[0]}", need, "")
        return Finding("FAIL", f"{head} is not an address of this host", need,
                       "run the node0 file on the host that has that address, or re-render both files "
                       "with --head-address set to this host's private address (`ip -br addr`)")
    need = f"a route from this worker to the head at {head}"
    if local:
        return Finding("FAIL", f"{head} is an address of this host: this is the head", need,
                       "run the node1 file on the other host (the worker), the node0 file here")
    try:
        route = ctx.host.route_get(head)
    except Unavailable as exc:
        return Finding("FAIL", f"no route to {head}: {exc}", need,
                       "connect this host to the head's private network, or fix --head-address")
    dev = (route[0] if route else {}).get("dev", "?")
    return Finding("PASS", f"{head} via {dev}", need, "")


@check("iface")
def iface(ctx):
    p = ctx.profile
    if p.nodes == 1:
        return Finding("SKIP", ONE_HOST, "none", "")
    need = (f"{p.iface} exists and carries the traffic to the head at {p.head_address}" if p.iface
            else "NCCL and Gloo find the interface between the hosts themselves")
    if p.iface is None:
        return Finding("WARN", "no --iface in the render", need,
                       "re-render both files with --iface NAME (the private interface, `ip -br addr`): "
                       "otherwise NCCL and Gloo may pick docker0 or a public interface")
    try:
        addresses = _addresses(ctx.host.ip_addr())
    except Unavailable as exc:
        return Finding("FAIL", str(exc), need, exc.fix)
    # NCCL_SOCKET_IFNAME is a prefix: eth matches eth0.
    matching = [name for name in addresses if name.startswith(p.iface)]
    if not matching:
        return Finding("FAIL", f"no interface {p.iface} (this host has {', '.join(sorted(addresses))})", need,
                       "re-render both files with --iface set to the private interface's name")
    if ctx.rendered.rank == 0:
        on = [name for name in matching if p.head_address in addresses[name]]
        if on:
            return Finding("PASS", f"{p.head_address} is on {on[0]}", need, "")
        return Finding("FAIL", f"{p.head_address} is not on {', '.join(matching)}", need,
                       f"re-render with the interface that has {p.head_address}, or that interface's address")
    try:
        route = ctx.host.route_get(p.head_address)
    except Unavailable as exc:
        return Finding("FAIL", f"no route to {p.head_address}: {exc}", need, "see head-address")
    dev = (route[0] if route else {}).get("dev", "?")
    if dev in matching:
        return Finding("PASS", f"the route to {p.head_address} goes via {dev}", need, "")
    return Finding("FAIL", f"the route to {p.head_address} goes via {dev}, not {p.iface}", need,
                   f"re-render both files with --iface {dev}, or route the head's subnet through {p.iface}")


@check("infiniband")
def infiniband(ctx):
    p = ctx.profile
    need = "InfiniBand devices in /dev/infiniband (uverbs*)" if p.ib else "none"
    entries = ctx.host.listdir("/dev/infiniband") if p.nodes > 1 else None
    if p.nodes == 1:
        return Finding("SKIP", ONE_HOST, "none", "")
    verbs = [e for e in entries or [] if e.startswith("uverbs")]
    if not p.ib:
        if verbs:
            return Finding("WARN", f"/dev/infiniband has {', '.join(verbs)} but the render does not use it",
                           "none", "re-render both files with --ib: NCCL over RDMA instead of TCP sockets")
        return Finding("SKIP", "the render uses no InfiniBand", "none", "")
    if verbs:
        return Finding("PASS", f"/dev/infiniband: {', '.join(verbs)}", need, "")
    seen = "no /dev/infiniband" if entries is None else f"/dev/infiniband has no uverbs device ({', '.join(entries) or 'empty'})"
    return Finding("FAIL", seen, need, "install the RDMA drivers (MLNX_OFED or rdma-core; `ibv_devices` lists "
                   "the HCAs), or re-render without --ib")


@check("image")
def image(ctx):
    p = ctx.profile
    if p.nodes == 1:
        return Finding("SKIP", ONE_HOST, "none", "")
    # A tag such as :glm5 may point at different builds on the two hosts; the ID says which.
    need = (f"the same {p.image} on both hosts: this line must equal the other host's, or compare "
            f"`docker image inspect --format '{{{{.Id}}}} {{{{.RepoDigests}}}}' {p.image}` on both")
    try:
        image_id, digests = ctx.host.image_digests(p.image)
    except Unavailable as exc:
        return Finding("WARN", str(exc), need, f"pull it on both hosts first (`docker pull {p.image}`)")
    return Finding("PASS", f"{image_id[:19]} {', '.join(digests) or '(no repo digest: built here)'}", need, "")


@check("head-ports")
def head_ports(ctx):
    from recipe.engines import ENGINES

    p = ctx.profile
    if p.nodes == 1:
        return Finding("SKIP", ONE_HOST, "none", "")
    ports = ENGINES[p.engine].head_ports
    listed = ", ".join(f"TCP {port}" for port in ports)
    need = (f"{listed} on {p.head_address} free on the head and open to the worker, and all TCP "
            "between the hosts' private interfaces (NCCL and the engines open random ports)")
    if ctx.rendered.rank != 0:
        return Finding("SKIP", f"checked by the head's preflight ({listed} on {p.head_address})", need, "")
    taken = []
    for port in ports:
        try:
            ctx.host.try_bind(p.head_address, port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                taken.append(port)
            elif exc.errno == errno.EADDRNOTAVAIL:
                return Finding("SKIP", f"{p.head_address} is not an address of this host (see head-address)", need, "")
            else:
                raise
    if taken:
        return Finding("FAIL", f"{', '.join(map(str, taken))} in use on {p.head_address}", need,
                       f"stop what listens there (`ss -ltnp 'sport = :{taken[0]}'`)")
    return Finding("PASS", f"{listed} free on {p.head_address}", need,
                   "allow all TCP from the worker's private address in the head's firewall")


@dataclass
class Report:
    compose_file: str
    profile: dict
    results: list[Result]

    @property
    def failed(self) -> bool:
        return any(r.status == "FAIL" for r in self.results)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def counts(self) -> dict:
        counts = Counter(r.status for r in self.results)
        return {s: counts.get(s, 0) for s in ("FAIL", "WARN", "PASS", "SKIP")}

    def to_json(self) -> dict:
        return {"status": "fail" if self.failed else "pass", "compose_file": self.compose_file,
                "profile": self.profile, "counts": self.counts(), "checks": [asdict(r) for r in self.results]}


def run_checks(ctx: Context) -> list[Result]:
    return [run(ctx) for _, run in CHECKS]


def preflight(compose_file: Path, host=None) -> Report:
    ctx = Context(load_render(compose_file), host or Host())
    return Report(str(compose_file), ctx.profile.to_dict(), run_checks(ctx))


def text_report(report: Report) -> str:
    """One line per check; under a non-PASS one, what the profile needs and the fix."""
    p = report.profile
    gpus = "CPU rehearsal" if p["rehearsal"] else f"{p['gpus']}x {p['gpu_type'].upper()} (TP {p['tp']})"
    width = max(len(r.name) for r in report.results)
    lines = [f"Preflight of {report.compose_file}: {p['model']} on {p['engine']}, {gpus}", ""]
    for r in report.results:
        lines.append(f"{r.status}  {r.name:<{width}}  {r.measured}")
        if r.status in ("FAIL", "WARN"):
            lines.append(f"{'':6}{'':<{width}}  need: {r.need}")
            lines.append(f"{'':6}{'':<{width}}  fix:  {r.fix}")
    counts = report.counts()
    lines += ["", ", ".join(f"{n} {s}" for s, n in counts.items())
              + (": `up` would fail on this host." if report.failed else ": this host can run the profile.")]
    return "\n".join(lines) + "\n"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@compose_file_option("Rendered compose file to check the host against.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_REPORT,
              show_default="reports/preflight.json", help="Where to write the JSON report.")
def main(compose_file, report):
    """Check this host against a rendered profile before `make up`.

    Checks Docker and Compose v2, the NVIDIA container runtime, the GPUs (count, memory,
    Hopper or newer) from nvidia-smi, disk for the weights at the HF cache, the port, HF_TOKEN
    (never printed), and memlock and /dev/shm limits. Prints a table, writes a JSON report,
    exits 0 when nothing FAILs and 1 otherwise.
    """
    result = preflight(compose_file or default_compose_file())
    click.echo(text_report(result), nl=False)
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    except OSError as exc:
        raise UsageError(f"--report {report}: cannot write it ({exc.strerror or exc}). Fix: give a writable path") from None
    click.echo(f"JSON report: {report}")
    return result.exit_code


if __name__ == "__main__":
    run(main, "python -m stack.preflight")
