"""Reporters: a table for people, a JSON file for machines. Neither knows how checks run."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from typing import TextIO

from .result import RunResult, Status


def _latency(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}s"


def print_table(result: RunResult, out: TextIO) -> None:
    width = max(len(c.name) for c in result.checks)
    print(f"{'CHECK'.ljust(width)}  STATUS  LATENCY  DETAIL", file=out)
    for c in result.checks:
        print(f"{c.name.ljust(width)}  {c.status.value:<6}  {_latency(c.latency_s):>7}  {c.detail}", file=out)
        if c.status is Status.FAIL and c.hint:
            print(f"{''.ljust(width)}  hint: {c.hint}", file=out)
    counts = {s: sum(c.status is s for c in result.checks) for s in Status}
    t = result.timings
    timing = f" in {t['total_s']:.1f} s (checks {t['checks_wall_s']:.1f} s)" if "total_s" in t else ""
    print(
        f"verdict: {result.verdict.upper()}: {counts[Status.PASS]} passed, "
        f"{counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped{timing}",
        file=out,
        flush=True,
    )


def to_json(result: RunResult, *, base_url: str, model: str, started_at: datetime) -> dict:
    return {
        "verdict": result.verdict,
        "exit_code": result.exit_code,
        "base_url": base_url,
        "model": model,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "timings": result.timings,
        "server": result.server,
        "checks": [c.to_json() for c in result.checks],
        "requests": result.requests,
    }


def write_json(report: dict, path: str) -> None:
    # Write then rename: a reader (make smoke, CI) never sees half a report.
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".smoke-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
