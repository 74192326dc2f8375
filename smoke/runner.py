"""Readiness, then every probe at once, then every check: one `RunResult`."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from . import agentic, checks
from .checks import Check
from .client import Client, Exchange, Probe
from .ready import wait_ready
from .result import CheckResult, RunResult, Status, failed, skipped

# Things worth knowing about the server, where the engine offers them (SGLang's
# /server_info carries its launch arguments; vLLM has /version).
ALL_CHECKS: list[Check] = checks.CHECKS + agentic.CHECKS
# The raw answer kept in the report per probe: enough to file an engine bug, bounded.
ANSWER_LIMIT = 4000

SERVER_INFO_KEYS = (
    "version",
    "served_model_name",
    "tool_call_parser",
    "reasoning_parser",
    "tp_size",
    "speculative_algorithm",
    "context_length",
)


INFO_TIMEOUT = 10.0  # each /version, /server_info, /metrics read (never more than --timeout)


def _info(exchanges: list[Exchange], model: str) -> dict:
    version, server_info, models = exchanges
    info: dict = {}
    if version.ok and isinstance(version.body, dict):
        info.update({k: v for k, v in version.body.items() if k in SERVER_INFO_KEYS})
    if server_info.ok and isinstance(server_info.body, dict):
        info.update({k: server_info.body[k] for k in SERVER_INFO_KEYS if k in server_info.body})
    if models.ok and isinstance(models.body, dict):
        for m in models.body.get("data") or []:
            if isinstance(m, dict) and m.get("id") == model:
                info.update({k: m[k] for k in ("owned_by", "root", "max_model_len") if k in m})
    return info


def all_bodies(model: str, temperature: float | None, max_model_len: int | None) -> dict[str, dict]:
    return {
        **checks.probe_bodies(model, temperature, max_model_len),
        **agentic.probe_bodies(model, temperature, max_model_len),
    }


def raw_answer(ex: Exchange) -> str:
    """What came back, bounded: the JSON body, or a stream's events one per line."""
    if ex.events or ex.done:
        lines = [json.dumps(e, ensure_ascii=False) for e in ex.events] + (["[DONE]"] if ex.done else [])
        text = "\n".join(lines)
    elif ex.body is not None:
        text = json.dumps(ex.body, ensure_ascii=False)
    else:
        text = ex.text
    if len(text) > ANSWER_LIMIT:
        text = text[:ANSWER_LIMIT] + f"... [cut at {ANSWER_LIMIT} of {len(text)} chars]"
    return text


def record(name: str, body: dict | None, ex: Exchange) -> dict:
    """One probe for the report: the request as sent (the body carries no key: the API key
    travels in a header that is never recorded) and the raw answer."""
    return {
        "probe": name,
        "method": ex.method,
        "path": ex.path,
        "request": body,
        "status": ex.status,
        "kind": ex.kind.value,
        "error": ex.error,
        "answer": raw_answer(ex),
    }


def _judge(check: Check, exchanges: dict[str, Exchange], records: dict[str, dict]) -> CheckResult:
    try:
        result = check.judge(exchanges)
    except Exception as e:  # a sidecar bug must still end as a row, not a traceback
        result = failed(check.name, f"internal error: {type(e).__name__}: {e}", "a bug in the smoke sidecar")
    first = exchanges.get(check.probes[0]) if check.probes else None
    result.latency_s = first.latency_s if first else None
    result.exchanges = [records[p] for p in check.probes if p in records]
    return result


def run(
    client: Client,
    model: str,
    *,
    deadline_s: float,
    poll_s: float,
    out: TextIO,
    temperature: float | None = None,
    checks: list[Check] = ALL_CHECKS,
    probes: dict[str, Probe] | None = None,
) -> RunResult:
    """`probes`: requests other than the chat probes that some check needs, by name."""
    t0 = time.monotonic()
    ready = wait_ready(client, model, deadline_s, poll_s, out)
    row = CheckResult(
        "readiness",
        Status.PASS if ready.ready else Status.FAIL,
        ready.detail,
        ready.hint,
        ready.waited_s,
    )
    if not ready.ready:
        rows = [row] + [skipped(c.name, "server not ready") for c in checks]
        return RunResult(False, rows, timings={"ready_wait_s": round(ready.waited_s, 3)})

    bodies = all_bodies(model, temperature, ready.max_model_len)
    extra = probes or {}
    # A probe nobody sends leaves its check to fail as an internal error (a sidecar bug).
    needed = [p for p in dict.fromkeys(p for c in checks for p in c.probes) if p in bodies or p in extra]
    phase = {name: extra[name].phase if name in extra else "during" for name in needed}
    exchanges = {n: extra[n].send(client) for n in needed if phase[n] == "before"}
    during = [n for n in needed if phase[n] == "during"]
    t1 = time.monotonic()
    # Every probe is independent, so they all go at once: the run takes as long as the
    # slowest answer, not the sum of them.
    info_timeout = min(INFO_TIMEOUT, client.timeout)
    with ThreadPoolExecutor(max_workers=len(during) + 3) as pool:
        futures = {
            n: pool.submit(agentic.send, client, n, bodies[n]) if n in bodies else pool.submit(extra[n].send, client)
            for n in during
        }
        info = [pool.submit(client.get, p, info_timeout, 1) for p in ("/version", "/server_info", "/v1/models")]
        exchanges.update({n: f.result() for n, f in futures.items()})
        server = _info([f.result() for f in info], model)
    checks_wall = time.monotonic() - t1
    # Judged after every other request, so that what they measure (e.g. /metrics counters)
    # includes this run's traffic.
    exchanges.update({n: extra[n].send(client) for n in needed if phase[n] == "after"})

    records = {name: record(name, bodies.get(name), ex) for name, ex in exchanges.items()}
    rows = [row] + [_judge(c, exchanges, records) for c in checks]
    timed = [n for n in needed if phase[n] == "during"]
    requests = [
        {
            "probe": name,
            "method": ex.method,
            "path": ex.path,
            "stream": bool(bodies.get(name, {}).get("stream")),
            "status": ex.status,
            "kind": ex.kind.value,
            "latency_s": round(ex.latency_s, 3),
            "first_event_s": None if ex.first_event_s is None else round(ex.first_event_s, 3),
            "received_bytes": ex.received,
            "error": ex.error,
        }
        for name, ex in exchanges.items()
    ]
    latency_sum = sum(exchanges[n].latency_s for n in timed)
    timings = {
        "ready_wait_s": round(ready.waited_s, 3),
        "checks_wall_s": round(checks_wall, 3),
        "request_latency_sum_s": round(latency_sum, 3),
        "wall_over_latency_sum": round(checks_wall / latency_sum, 3) if latency_sum else None,
        "total_s": round(time.monotonic() - t0, 3),
    }
    return RunResult(True, rows, requests, server, timings)
