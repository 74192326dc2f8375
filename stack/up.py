"""Start the stack, follow the engine's load phase by phase, then hand over to the sidecar.

Runs `docker compose -f FILE up -d SERVICE`, then reads the engine container's log and state
over the Docker API every second and prints a line each time the load moves on. Stops at once
on a known fatal error or when the engine container exits. When the engine serves, runs
`docker compose -f FILE run --rm SIDECAR` and exits with its verdict.

Two hosts: run it on the head with the node0 file first, then on the worker with the node1
file. The worker serves no API: it exits 0 once it has joined the head (the head's run then
follows the load to the end and runs the sidecar).

\b
Exit codes:
  0    the engine serves (and the sidecar passed); a worker host: it joined the head
  1-3  the sidecar's own verdict: 1 a check failed, 2 usage, 3 never ready
  2    usage: bad option, unreadable compose file, unknown engine or service
  10   a known fatal error in the engine log (the hint says what to change)
  11   the engine container exited or restarted, no known error in its log
  12   timed out (the engine keeps loading; the stack keeps running)
  13   Docker or Compose failed (daemon unreachable, `compose up` failed)
  130  interrupted: the waiting stopped, the stack keeps running
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from datetime import datetime, timezone
from pathlib import Path

import click
import docker
import docker.errors
import requests

from recipe.catalog import HF_MOUNT
from recipe.errors import HostError, UsageError
from stack.cli import EXIT_INTERRUPTED
from stack.follow import Follower, LineSplitter, Outcome, State, elapsed, status, watch
from stack.logrules import COMPOSE_UP, RULES, WORKER_RULES
from stack.rendered import EXIT_DOCKER, load_render

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_FATAL = 10
EXIT_EXITED = 11
EXIT_TIMEOUT = 12

API_TIMEOUT = 10  # seconds, for every Docker API call
COMPOSE_TIMEOUT = 60  # seconds, for quick compose commands (config, ps)
TAIL = 20
# A bar is shown at most this often (plus its first and last frame): a 141-shard load at
# ~4 s a shard still gets a line every tenth, a 10-second CUDA graph capture gets two.
BAR_INTERVAL = 15.0


class DockerFailure(HostError):
    """Docker or Compose did not do what was asked; str() says what and how to check (exit 13)."""

    def __init__(self, message: str):
        super().__init__(message, EXIT_DOCKER)


def compose(file: str, *args: str, timeout: float, capture: bool = True) -> subprocess.CompletedProcess:
    # Global options (--profile) may come first in args: Compose accepts them after -f too.
    command = ["docker", "compose", "-f", file, *args]
    try:
        return subprocess.run(command, capture_output=capture, text=True, timeout=timeout)
    except FileNotFoundError:
        raise DockerFailure("the docker CLI is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise DockerFailure(f"`{' '.join(command)}` took more than {timeout:.0f} s") from None


def start_stack(file: str, services: list[str], timeout: float) -> None:
    """`docker compose up -d SERVICE...`, its progress shown as it comes (pulls take minutes).

    On failure, names the cause when the daemon's message is a known one.
    """
    command = ["docker", "compose", "-f", file, "up", "-d", *services]
    last: deque[str] = deque(maxlen=50)
    try:
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, errors="replace")
    except FileNotFoundError:
        raise DockerFailure("the docker CLI is not on PATH") from None

    def relay() -> None:  # Compose reports progress on stderr
        for line in proc.stderr:
            sys.stderr.write(line)
            last.append(line.rstrip())

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise DockerFailure(f"`{' '.join(command)}` took more than {timeout:.0f} s") from None
    reader.join(timeout=5)
    if code == 0:
        return
    message = f"`{' '.join(command)}` exited with {code}"
    for rule in COMPOSE_UP:
        if any(rule.pattern.search(line) for line in last):
            message += f"\n  cause: {rule.name}\n  hint: {rule.hint}"
            break
    raise DockerFailure(message)


def _ns(stamp: str) -> int:
    """Docker's RFC 3339 timestamp (nanoseconds, trailing zeros trimmed, UTC) -> epoch ns."""
    stamp = stamp.rstrip("Z")
    whole, _, frac = stamp.partition(".")
    base = datetime.fromisoformat(whole).replace(tzinfo=timezone.utc)
    return int(base.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


class DockerSource:
    """The engine container's new log lines and state, one bounded API call each.

    Polls `logs(since=...)` instead of holding a follow stream open, so that no call waits
    longer than API_TIMEOUT. stdout and stderr are stamped by separate copiers, so entries do
    not arrive in stamp order: each poll re-reads the last WINDOW seconds and skips the
    entries (stamp, text) it has already handed over.
    """

    WINDOW = 5  # seconds

    def __init__(self, container) -> None:
        self.container = container
        container.reload()
        # Only this run's log: a container that crashed and was restarted keeps the old one.
        self.started = _ns(container.attrs["State"]["StartedAt"])
        self.newest = self.started
        self.seen: Counter[tuple[str, str]] = Counter()
        self.splitter = LineSplitter()

    def new_lines(self) -> list[str]:
        since = max(1, self.newest // 1_000_000_000 - self.WINDOW)
        try:
            raw = self.container.logs(stdout=True, stderr=True, timestamps=True, since=since)
        except docker.errors.APIError as e:
            if _gone(e):
                return []  # `state` says so
            raise
        lines: list[str] = []
        counts: Counter[tuple[str, str]] = Counter()
        for entry in raw.decode("utf-8", errors="replace").split("\n"):
            stamp, _, message = entry.partition(" ")
            try:
                at = _ns(stamp)
            except ValueError:
                continue
            if at < self.started:
                continue
            key = (stamp, message)
            counts[key] += 1
            if counts[key] <= self.seen[key]:
                continue
            self.seen[key] += 1
            self.newest = max(self.newest, at)
            lines.extend(self.splitter.feed(message + "\n"))
        horizon = self.newest - (self.WINDOW + 1) * 1_000_000_000
        for key in [k for k in self.seen if _ns(k[0]) < horizon]:
            del self.seen[key]
        return lines

    def state(self) -> State:
        try:
            self.container.reload()
        except docker.errors.APIError as e:
            if _gone(e):
                return State(running=False)
            raise
        state = self.container.attrs["State"]
        return State(
            running=state.get("Status") == "running" and not state.get("Restarting"),
            exit_code=state.get("ExitCode"),
            health=(state.get("Health") or {}).get("Status"),
            restarts=self.container.attrs.get("RestartCount", 0),
            oom_killed=bool(state.get("OOMKilled")),
        )


def hf_hub_of(service: dict) -> Path | None:
    """The host folder behind the engine's Hugging Face cache, when it is a bind mount."""
    targets = {HF_MOUNT, (service.get("environment") or {}).get("HF_HOME")}
    for volume in service.get("volumes") or []:
        if (isinstance(volume, dict) and volume.get("type") == "bind"
                and str(volume.get("target", "")).rstrip("/") in targets):
            return Path(volume["source"]) / "hub"
    return None


def tree_size(root: Path) -> int:
    """Bytes in the files under `root`; symlinks (HF snapshots point into blobs/) not counted."""
    total, stack = 0, [root]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


class CacheGrowth:
    """Download progress that neither engine logs: how fast the HF cache on the host grows."""

    def __init__(self, hub: Path, clock=time.monotonic) -> None:
        self.hub, self.clock = hub, clock
        self.size, self.when = tree_size(hub), clock()

    def __call__(self, phase: str | None) -> str | None:
        if phase not in (None, "starting", "weights"):
            return None
        size, when = tree_size(self.hub), self.clock()
        grown, seconds = size - self.size, max(when - self.when, 1e-9)
        self.size, self.when = size, when
        if grown <= 0:
            return None
        return f"downloading: {size / 1e9:.1f} GB in {self.hub} (+{grown / seconds / 1e6:.0f} MB/s)"


def _gone(error: docker.errors.APIError) -> bool:
    """The container was removed under us (404), or is being removed (409), e.g. by `make down`."""
    return error.status_code in (404, 409)


def how_to_go_on(file: str, service: str, headline: str = "Nothing was stopped.") -> str:
    return (f"\n{headline}\n"
            f"  Follow: docker compose -f {file} logs -f {service}\n"
            f"  Stop:   make down   (or: docker compose -f {file} down)")


def report_failure(outcome: Outcome, file: str, service: str, engine: str) -> int:
    echo = click.echo
    if outcome.status == "fatal":
        rule = outcome.fatal.rule
        echo(f"\nFAILED after {elapsed(outcome.seconds).strip()}: {rule.name}")
        echo(f"  line: {outcome.fatal.line.strip()}")
        echo(f"  hint: {rule.hint}")
        code = EXIT_FATAL
    elif outcome.status == "exited":
        state = outcome.state
        why = " (killed by the kernel's OOM killer: the host ran out of RAM)" if state.oom_killed else ""
        if state.running:
            stopped = "restarted"
        elif state.exit_code is None:
            stopped = "is gone (removed, e.g. by `make down`)"
        else:
            stopped = f"exited with code {state.exit_code}"
        echo(f"\nFAILED after {elapsed(outcome.seconds).strip()}: the {engine} container {stopped}{why}")
        echo("  no known error in its log: the cause should be in the last lines below")
        code = EXIT_EXITED
    else:
        echo(f"\nTIMED OUT after {elapsed(outcome.seconds).strip()}; the engine is still loading")
        code = EXIT_TIMEOUT
    if outcome.tail:
        echo(f"\nlast {len(outcome.tail)} lines of the {service} log:")
        for line in outcome.tail:
            echo(f"  | {line}")
    echo(how_to_go_on(file, service))
    return code


def run(file: str, service: str, sidecar: str | None, timeout: float,
        grace: float, up_timeout: float, smoke_timeout: float) -> int:
    started = time.monotonic()

    def say(phase: str, text: str) -> None:
        click.echo(status(time.monotonic() - started, phase, text))

    rendered = load_render(file)
    engine = rendered.profile.engine  # the profile states it: no guessing from the image name
    services = rendered.services
    if service not in services:
        raise UsageError(f"{file} has no service {service!r} (it has: {', '.join(services)})")
    if rendered.worker:
        sidecar = None  # the sidecar runs on the head, against the API
        p = rendered.profile
        say("worker", f"host {rendered.rank} of {p.nodes}: joins the head at {p.head_address}; "
                      "start the head first (make up with its node0 file)")
    if sidecar and sidecar not in services:
        raise UsageError(f"{file} has no service {sidecar!r}: pass --no-smoke or --sidecar NAME")

    try:
        client = docker.from_env(timeout=API_TIMEOUT)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as e:
        raise DockerFailure(f"cannot reach the Docker daemon ({e}); is it running? is DOCKER_HOST set?")

    image = services[service].get("image")
    if image:
        try:
            client.images.get(image)
            say("image", f"{image}: present")
        except docker.errors.ImageNotFound:
            say("image", f"{image}: not here yet, compose pulls or builds it (GLM images are ~20 GB)")

    # The engine and what runs beside it in every profile (the gateway); not the sidecar's profile.
    start = [service, *(name for name, cfg in services.items() if name != service and not cfg.get("profiles"))]
    say("compose", f"docker compose -f {file} up -d {' '.join(start)}")
    start_stack(file, start, up_timeout)
    ids = compose(file, "ps", "-a", "-q", service, timeout=COMPOSE_TIMEOUT).stdout.split()
    if not ids:
        raise DockerFailure(f"compose started no container for service {service!r}")
    container = client.containers.get(ids[0])
    say("container", f"{service} {container.short_id} running {engine}; following its log")

    rules = WORKER_RULES[engine] if rendered.worker else RULES[engine]
    follower = Follower(rules, tail=TAIL, interval=BAR_INTERVAL)
    hub = hf_hub_of(services[service])
    outcome = watch(DockerSource(container), follower, click.echo, timeout=timeout, grace=grace,
                    probe=CacheGrowth(hub) if hub else None, started=started)
    if outcome.status != "ready":
        return report_failure(outcome, file, service, engine)
    if rendered.worker:
        say("ready", f"{engine} worker joined the head; it loads its share of the weights now. "
                     "The head's `make up` reports when the model serves. Follow this host: "
                     f"docker compose -f {file} logs -f {service}")
        return EXIT_OK
    how = "its healthcheck passes" if outcome.reason == "healthcheck" else "its log says so"
    say("ready", f"{engine} serves ({how})")
    if not sidecar:
        return EXIT_OK
    say("smoke", f"docker compose -f {file} run --rm --no-deps {sidecar}")
    # --no-deps: the engine already serves; never let `run` recreate it (Compose recreates a
    # dependency whose image changed since it started, e.g. a rebuilt local tag).
    verdict = compose(file, "run", "--rm", "--no-deps", sidecar, timeout=smoke_timeout,
                      capture=False).returncode
    say("smoke", "passed" if verdict == 0 else f"failed (exit {verdict})")
    return verdict


@click.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--compose-file", "-f", "file", required=True,
              type=click.Path(exists=True, dir_okay=False), help="The rendered compose file.")
@click.option("--service", default="engine", show_default=True, help="The engine's service.")
@click.option("--sidecar", default="smoke", show_default=True,
              help="The service run once the engine serves.")
@click.option("--no-smoke", is_flag=True, help="Exit 0 as soon as the engine serves.")
@click.option("--timeout", default=5400.0, show_default=True,
              help="Seconds to wait for the engine to serve (GLM-5 loads for 10-40 min).")
@click.option("--grace", default=3.0, show_default=True,
              help="Seconds to wait for the cause after a line that only says the engine died.")
@click.option("--up-timeout", default=7200.0, show_default=True,
              help="Seconds for `compose up` itself, image pull included.")
@click.option("--smoke-timeout", default=1800.0, show_default=True,
              help="Seconds for the sidecar run.")
def main(file, service, sidecar, no_smoke, timeout, grace, up_timeout, smoke_timeout):
    try:
        return run(file, service, None if no_smoke else sidecar, timeout, grace, up_timeout, smoke_timeout)
    except (docker.errors.DockerException, requests.RequestException) as e:
        raise DockerFailure(f"Docker API call failed: {e}") from None
    except KeyboardInterrupt:
        click.echo(how_to_go_on(file, service, "Stopped waiting; the stack keeps running."))
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    from stack.cli import run as run_command

    run_command(main, "python -m stack.up")
