"""Check results and the run's verdict; the exit code comes from here and nowhere else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_READY = 3


@dataclass
class CheckResult:
    name: str
    status: Status
    detail: str
    hint: str | None = None
    latency_s: float | None = None  # latency of the request(s) the check judged
    # The probes the check judged: request sent and raw answer (runner.record), so an
    # operator can file an engine bug from the report alone.
    exchanges: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        d["latency_s"] = None if self.latency_s is None else round(self.latency_s, 3)
        return d


def passed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.PASS, detail)


def failed(name: str, detail: str, hint: str | None = None) -> CheckResult:
    return CheckResult(name, Status.FAIL, detail, hint)


def skipped(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.SKIP, detail)


@dataclass
class RunResult:
    ready: bool
    checks: list[CheckResult] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    server: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if not self.ready:
            return EXIT_NOT_READY
        if any(c.status is Status.FAIL for c in self.checks):
            return EXIT_FAILED
        return EXIT_OK

    @property
    def verdict(self) -> str:
        return {EXIT_OK: "pass", EXIT_FAILED: "fail", EXIT_NOT_READY: "not-ready"}[self.exit_code]
