"""Follow an engine's start: log lines in, phases and fatal verdicts out.

No Docker here. `Follower` turns lines into events using the engine's table in
`stack.logrules`; `watch` runs the wait loop against anything that can hand over new lines and
the container's state (`stack.up` gives it Docker; the tests give it a script).
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from stack.logrules import PHASES, RULES, EngineRules, Fatal

# ESC [ ... letter: vLLM colours its log prefix and logo; uvicorn colours "INFO".
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_GROUP = re.compile(r"\{(\w+)\}")


def clean(line: str) -> str:
    return _ANSI.sub("", line).rstrip()


class LineSplitter:
    """Bytes in, complete lines out; a tqdm bar redraws with "\\r", so that ends a line too."""

    def __init__(self) -> None:
        self._rest = ""

    def feed(self, data: bytes | str) -> list[str]:
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="replace")
        parts = re.split(r"\r\n|\r|\n", self._rest + data)
        self._rest = parts.pop()
        return [p for p in parts if p.strip()]

    def flush(self) -> list[str]:
        rest, self._rest = self._rest, ""
        return [rest] if rest.strip() else []


@dataclass(frozen=True)
class Event:
    """kind: "phase" (the load moved on), "detail" (a fact about the current phase),
    "progress" (a bar moved), "fatal" (the start has failed: `rule` says how)."""

    kind: str
    phase: str
    text: str
    line: str
    n: int | None = None
    total: int | None = None
    rule: Fatal | None = None


class Follower:
    """Reads an engine's log line by line and says where the load is and whether it failed.

    Phases only move forward. A progress bar is reported when it passes another tenth
    (`steps`) and at least `interval` seconds after the bar was last reported, however many
    ranks print it; its first and last frames are always reported. A detail is reported once
    per phase. The first specific fatal line wins over a generic one ("the engine died"),
    which usually comes first and is followed by its cause.
    """

    def __init__(self, rules: EngineRules, tail: int = 20, steps: int = 10,
                 interval: float = 0.0) -> None:
        self.rules = rules
        self.steps = steps
        self.interval = interval
        self.phase: str | None = None
        self.fatal: Event | None = None
        self.tail: deque[str] = deque(maxlen=tail)
        self._shown: set[int] = set()  # indexes of the steps already reported in this phase
        self._bars: dict[tuple[str, int], tuple[int, float]] = {}  # -> (bucket, when) last shown

    @property
    def ready(self) -> bool:
        return self.phase == "ready"

    def feed(self, raw: str, now: float = 0.0) -> list[Event]:
        """One log line in (`now`: seconds on any clock, for rate-limiting bars)."""
        line = clean(raw)
        if not line.strip():
            return []
        self.tail.append(line)
        return self._fatal(line) or self._step(line, now)

    def feed_all(self, lines: Iterable[str]) -> list[Event]:
        return [event for line in lines for event in self.feed(line)]

    def _fatal(self, line: str) -> list[Event]:
        for rule in self.rules.fatals:
            if rule.pattern.search(line):
                if self.fatal is None or (self.fatal.rule.generic and not rule.generic):
                    self.fatal = Event("fatal", self.phase or "starting", rule.name, line, rule=rule)
                    return [self.fatal]
                return []
        return []

    def _step(self, line: str, now: float) -> list[Event]:
        for index, step in enumerate(self.rules.steps):
            match = step.pattern.search(line)
            if not match:
                continue
            current = PHASES.index(self.phase) if self.phase else -1
            at = PHASES.index(step.phase)
            if at < current:
                return []  # a late line from a slower rank
            groups = match.groupdict()
            text = _GROUP.sub(lambda m: groups.get(m.group(1)) or "", step.label).strip()
            if at > current:
                self.phase = step.phase
                self._shown.clear()
                self._bars.clear()
            elif index in self._shown and not step.progress:
                return []
            self._shown.add(index)
            if not step.progress:
                return [Event("phase" if at > current else "detail", step.phase, text, line)]
            return self._progress(step.phase, text, int(groups["n"]), int(groups["total"]),
                                  line, now, at > current)
        return []

    def _progress(self, phase: str, text: str, n: int, total: int, line: str, now: float,
                  new_phase: bool) -> list[Event]:
        if total <= 0:
            return []
        bucket = min(n, total) * self.steps // total
        key = (text, total)
        if key in self._bars:
            last_bucket, last_time = self._bars[key]
            if bucket <= last_bucket or (n < total and now - last_time < self.interval):
                return []
        self._bars[key] = (bucket, now)
        return [Event("phase" if new_phase else "progress", phase, text, line, n=n, total=total)]


def replay(engine: str, lines: Iterable[str]) -> tuple[list[Event], Follower]:
    """Run a whole recorded log through a fresh follower."""
    follower = Follower(RULES[engine])
    return follower.feed_all(lines), follower


# --- presenting events ---------------------------------------------------------------------


def elapsed(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:2d}:{s:02d}"


def bar(n: int, total: int, width: int = 20) -> str:
    done = width * min(n, total) // total if total else 0
    return "[" + "#" * done + "-" * (width - done) + "]"


def describe(event: Event) -> str:
    if event.total:
        pct = 100 * min(event.n, event.total) // event.total
        width = len(str(event.total))
        return f"{event.text} {bar(event.n, event.total)} {event.n:>{width}}/{event.total} {pct:3d}%"
    if event.kind == "fatal":
        return f"FATAL {event.rule.name}"
    return event.text


def status(seconds: float, phase: str, text: str) -> str:
    """One line of `make up` output: elapsed time, phase, what happened."""
    return f"[{elapsed(seconds)}] {phase:<10} {text}"


def line_for(event: Event, seconds: float) -> str:
    return status(seconds, event.phase, describe(event))


# --- the wait loop -------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What the container says about itself. health: None when it has no healthcheck."""

    running: bool
    exit_code: int | None = None
    health: str | None = None
    restarts: int = 0
    oom_killed: bool = False


class Source(Protocol):
    def new_lines(self) -> list[str]: ...

    def state(self) -> State: ...


@dataclass(frozen=True)
class Outcome:
    """status: "ready", "fatal" (a known error in the log), "exited" (the container stopped or
    restarted without one), "timeout"."""

    status: str
    seconds: float
    fatal: Event | None = None
    state: State | None = None
    tail: tuple[str, ...] = ()
    reason: str = ""


def watch(
    source: Source,
    follower: Follower,
    emit: Callable[[str], None],
    *,
    timeout: float,
    grace: float = 3.0,
    poll: float = 1.0,
    quiet: float = 300.0,
    probe: Callable[[str | None], str | None] | None = None,
    probe_every: float = 30.0,
    started: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Wait until the engine serves, fails, exits, or `timeout` seconds pass.

    A specific fatal line ends the wait at once. A generic one ("the engine died") ends it
    after `grace` seconds or when the container stops, whichever is first, so that the cause
    logged right after it can be named instead. After `quiet` seconds without a line of
    output, says that it is still waiting and when the engine last logged. `probe(phase)`,
    called every `probe_every` seconds, may add a line of its own (e.g. download progress
    that the engine does not log).
    """
    start = clock() if started is None else started
    deadline = clock() + timeout
    grace_until: float | None = None
    first: State | None = None
    warned_unhealthy = False
    last_said = last_line = phase_since = clock()
    next_probe = clock() + probe_every
    phase = follower.phase

    def say(text: str) -> None:
        nonlocal last_said
        last_said = clock()
        emit(status(clock() - start, follower.phase or "starting", text))

    def done(status: str, state: State | None = None, reason: str = "") -> Outcome:
        return Outcome(status, clock() - start, follower.fatal, state, tuple(follower.tail), reason)

    def read() -> None:
        nonlocal last_said, last_line, phase_since, phase
        for raw in source.new_lines():
            last_line = clock()
            for event in follower.feed(raw, clock()):
                last_said = clock()
                emit(line_for(event, clock() - start))
            if follower.phase != phase:
                phase, phase_since = follower.phase, clock()

    while True:
        read()
        if follower.fatal and not follower.fatal.rule.generic:
            return done("fatal")
        if follower.fatal and grace_until is None:
            grace_until = clock() + grace
        if follower.ready and not follower.fatal:
            return done("ready", reason="log")
        state = source.state()
        first = first or state
        if state.health == "healthy" and not follower.fatal:
            return done("ready", state, reason="healthcheck")
        if not state.running or state.restarts > first.restarts:
            read()  # the last words of a dying engine
            return done("fatal" if follower.fatal else "exited", state)
        if state.health == "unhealthy" and not warned_unhealthy:
            warned_unhealthy = True
            say("the healthcheck says unhealthy; still following the log "
                "(is its start_period shorter than the load?)")
        if grace_until is not None and clock() >= grace_until:
            return done("fatal", state)
        if clock() >= deadline:
            return done("timeout", state)
        if probe is not None and clock() >= next_probe:
            next_probe = clock() + probe_every
            if text := probe(follower.phase):
                say(text)
        if clock() - last_said >= quiet:
            say(f"still here after {elapsed(clock() - phase_since).strip()} in this phase; "
                f"the engine last logged {elapsed(clock() - last_line).strip()} ago")
        sleep(poll)
