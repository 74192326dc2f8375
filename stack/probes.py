"""The host's probes, one method each: nvidia-smi, the Docker API, Compose, disk, ports, limits,
the network between two hosts (`ip -j`), devices and the engine image's digest.

`Host` is the real machine; tests pass an object with the same methods (recorded outputs).
A probe that cannot read the host raises `Unavailable`, which a check turns into a result.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from recipe.errors import HostError

NVIDIA_SMI = ["nvidia-smi", "--query-gpu=name,memory.total,driver_version,compute_cap",
              "--format=csv,noheader,nounits"]
PROBE_TIMEOUT = 20  # seconds, for nvidia-smi, `docker version` and `docker compose version`
DOCKER_TIMEOUT = 5  # seconds, for each Docker API call


MAX_IP_JSON = 1 << 20  # bytes of `ip -j` output read (a host with thousands of routes)


class Unavailable(HostError):
    """A probe could not read the host. str() says what was seen; fix says what to do."""

    def __init__(self, seen: str, fix: str = ""):
        super().__init__(seen)
        self.fix = fix


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    # The SDK wraps the socket error in two layers of text; name the cause the user can act on.
    for cause, said in (("FileNotFoundError", "no such socket"), ("ConnectionRefused", "connection refused"),
                        ("PermissionError", "permission denied"), ("Read timed out", "no answer"),
                        ("timed out", "no answer")):
        if cause in text:
            return said
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Host:
    """The real machine, one method per probe. Tests pass an object with the same methods."""

    def nvidia_smi(self) -> str:
        try:
            done = subprocess.run(NVIDIA_SMI, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
        except FileNotFoundError:
            raise Unavailable("nvidia-smi not found: no NVIDIA driver on this host",
                              "install the NVIDIA data-center driver (nvidia-smi comes with it)") from None
        except subprocess.TimeoutExpired:
            raise Unavailable(f"nvidia-smi did not answer within {PROBE_TIMEOUT} s",
                              "check the driver (dmesg | grep -i nvrm); a hung GPU needs a reset or reboot") from None
        if done.returncode != 0:
            raise Unavailable(_first_line(done.stdout + "\n" + done.stderr) or f"nvidia-smi exited {done.returncode}",
                              "load the NVIDIA driver for this kernel (reinstall it, then reboot)")
        return done.stdout

    def docker_info(self) -> dict:
        import docker
        import docker.errors
        import requests

        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        try:
            client = docker.from_env(timeout=DOCKER_TIMEOUT)
        except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
            raise Unavailable(f"unreachable at {where}: {_short(exc)}") from None
        try:
            return client.info()
        except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
            raise Unavailable(f"unreachable at {where}: {_short(exc)}") from None
        finally:
            client.close()

    def compose_version(self) -> str:
        try:
            done = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True,
                                  timeout=PROBE_TIMEOUT)
        except FileNotFoundError:
            raise Unavailable("the docker CLI is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise Unavailable(f"`docker compose version` took more than {PROBE_TIMEOUT} s") from None
        if done.returncode != 0:
            raise Unavailable(_first_line(done.stderr + "\n" + done.stdout) or "`docker compose` failed")
        return done.stdout.strip()

    def docker_version(self) -> str:
        """`docker version` as a person would paste it: the client's and the daemon's sections.
        Exits non-zero when the daemon is unreachable, yet prints the client part: keep both."""
        try:
            done = subprocess.run(["docker", "version"], capture_output=True, text=True, timeout=PROBE_TIMEOUT)
        except FileNotFoundError:
            raise Unavailable("the docker CLI is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise Unavailable(f"`docker version` took more than {PROBE_TIMEOUT} s") from None
        return done.stdout[:20000] + done.stderr[:2000]

    def disk_free(self, path: Path) -> int:
        return shutil.disk_usage(path).free

    def try_bind(self, address: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            # Like Docker's proxy: a port held only by TIME_WAIT connections is free.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
            s.listen(1)

    def env(self, name: str) -> str | None:
        return os.environ.get(name)

    def memlock(self) -> tuple[int, int]:
        return resource.getrlimit(resource.RLIMIT_MEMLOCK)

    def shm_bytes(self) -> int | None:
        try:
            st = os.statvfs("/dev/shm")
        except OSError:
            return None
        return st.f_blocks * st.f_frsize

    def cdi_specs(self, dirs: tuple[str, ...]) -> list[str]:
        found = []
        for d in dirs:
            if os.path.isdir(d):
                found += sorted(str(p) for p in Path(d).iterdir()
                                if "nvidia" in p.name.lower() and p.suffix in (".yaml", ".yml", ".json"))
        return found

    def which(self, name: str) -> str | None:
        return shutil.which(name)

    def _ip_json(self, *args: str) -> list:
        argv = ["ip", "-j", *args]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
        except FileNotFoundError:
            raise Unavailable("`ip` not found", "install iproute2") from None
        except subprocess.TimeoutExpired:
            raise Unavailable(f"`{' '.join(argv)}` took more than {PROBE_TIMEOUT} s") from None
        if done.returncode != 0:
            raise Unavailable(_first_line(done.stderr) or f"`{' '.join(argv)}` exited {done.returncode}")
        try:
            return json.loads(done.stdout[:MAX_IP_JSON])
        except ValueError:
            raise Unavailable(f"`{' '.join(argv)}` printed no JSON within {MAX_IP_JSON} bytes "
                              "(iproute2 too old for -j?)") from None

    def ip_addr(self) -> list:
        """`ip -j addr`: the interfaces and their addresses."""
        return self._ip_json("addr")

    def route_get(self, address: str) -> list:
        """`ip -j route get ADDRESS`: the kernel's route to it (a lookup; sends nothing)."""
        return self._ip_json("route", "get", address)

    def listdir(self, path: str) -> list[str] | None:
        """The names in a folder, or None when there is none (e.g. /dev/infiniband)."""
        try:
            return sorted(os.listdir(path))
        except OSError:
            return None

    def image_digests(self, image: str) -> tuple[str, list[str]]:
        """(the local image's ID, its repo digests); Unavailable when the image is not here."""
        try:
            done = subprocess.run(["docker", "image", "inspect", "--format",
                                   "{{.Id}} {{json .RepoDigests}}", image],
                                  capture_output=True, text=True, timeout=PROBE_TIMEOUT)
        except FileNotFoundError:
            raise Unavailable("the docker CLI is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise Unavailable(f"`docker image inspect` took more than {PROBE_TIMEOUT} s") from None
        if done.returncode != 0:
            raise Unavailable(f"{image} is not on this host yet")
        image_id, _, digests = done.stdout.strip().partition(" ")
        try:
            return image_id, list(json.loads(digests or "[]") or [])
        except ValueError:
            return image_id, []


def parse_docker_engine(text: str) -> tuple[int, ...]:
    """The daemon's version from `docker version` output: the first `Version:` after the
    `Server:` line (under ` Engine:` on Docker CE and Debian's docker.io alike)."""
    _, server, rest = text.partition("\nServer:")
    if not server:
        raise Unavailable("`docker version` shows no Server section: the daemon did not answer",
                          "start Docker, or point DOCKER_HOST at it")
    match = re.search(r"^\s*Version:\s*(\d+)\.(\d+)(?:\.(\d+))?", rest, re.M)
    if not match:
        raise Unavailable(f"no Engine version in `docker version`'s Server section: {_first_line(rest)[:80]!r}",
                          "run `docker version` by hand")
    return tuple(int(g) for g in match.groups() if g is not None)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_mib: int
    driver: str
    compute_cap: tuple[int, int]

    @property
    def gib(self) -> float:
        return self.memory_mib / 1024


def parse_gpus(text: str) -> list[GpuInfo]:
    gpus = []
    for line in (line for line in text.splitlines() if line.strip()):
        fields = [f.strip() for f in line.split(",")]
        try:
            name, memory, driver, cap = fields
            major, minor = cap.split(".")
            gpus.append(GpuInfo(len(gpus), name, int(float(memory)), driver, (int(major), int(minor))))
        except ValueError:
            raise Unavailable(f"unexpected nvidia-smi output: {line.strip()[:100]!r}",
                              "run the nvidia-smi query by hand; a broken driver install prints errors here") from None
    if not gpus:
        raise Unavailable("nvidia-smi lists no GPUs", "check that the GPUs are visible to the driver (nvidia-smi -L)")
    return gpus
