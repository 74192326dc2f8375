"""Readiness, then every probe at once, then every check: one `RunResult`."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from . import agentic, checks
from .checks import Check
from .client import Client, Exchange
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


def server_info(client: Client, model: str) -> dict:
    info: dict = {}
    ex = client.get("/version", timeout=10.0, retries=1)
    if ex.status == 200 and isinstance(ex.body, dict):
        info.update({k: v for k, v in ex.body.items() if k in SERVER_INFO_KEYS})
    ex = client.get("/server_info", timeout=10.0, retries=1)
    if ex.status == 200 and isinstance(ex.body, dict):
        info.update({k: ex.body[k] for k in SERVER_INFO_KEYS if k in ex.body})
    ex = client.get("/v1/models", timeout=10.0, retries=1)
    if ex.status == 200 and isinstance(ex.body, dict):
        for m in ex.body.get("data") or []:
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


def record(name: str, body: dict, ex: Exchange) -> dict:
    """One probe for the report: the request as sent (the body carries no key: the API key
    travels in a header that is never recorded) and the raw answer."""
    return {
        "probe": name,
        "method": ex.method,
        "path": ex.path,
        "request": body,
        "status": ex.status,
        "error": ex.error,
        "answer": raw_answer(ex),
    }


def _judge(check: Check, exchanges: dict[str, Exchange], records: dict[str, dict]) -> CheckResult:
    try:
        result = check.judge(exchanges)
    except Exception as e:  # a sidecar bug must still end as a row, not a traceback
        result = failed(check.name, f"internal error: {type(e).__name__}: {e}", "a bug in the smoke sidecar")
    result.latency_s = exchanges[check.probes[0]].latency_s
    result.exchanges = [records[p] for p in check.probes]
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
) -> RunResult:
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
    needed = list(dict.fromkeys(p for c in checks for p in c.probes))
    t1 = time.monotonic()
    # Every probe is independent, so they all go at once: the run takes as long as the
    # slowest answer, not the sum of them.
    with ThreadPoolExecutor(max_workers=len(needed) + 1) as pool:
        futures = {name: pool.submit(agentic.send, client, name, bodies[name]) for name in needed}
        info = pool.submit(server_info, client, model)
        exchanges = {name: f.result() for name, f in futures.items()}
        server = info.result()
    checks_wall = time.monotonic() - t1

    records = {name: record(name, bodies[name], ex) for name, ex in exchanges.items()}
    rows = [row] + [_judge(c, exchanges, records) for c in checks]
    requests = [
        {
            "probe": name,
            "stream": bool(bodies[name].get("stream")),
            "status": ex.status,
            "latency_s": round(ex.latency_s, 3),
            "first_event_s": None if ex.first_event_s is None else round(ex.first_event_s, 3),
            "error": ex.error,
        }
        for name, ex in exchanges.items()
    ]
    timings = {
        "ready_wait_s": round(ready.waited_s, 3),
        "checks_wall_s": round(checks_wall, 3),
        "request_latency_sum_s": round(sum(ex.latency_s for ex in exchanges.values()), 3),
        "total_s": round(time.monotonic() - t0, 3),
    }
    return RunResult(True, rows, requests, server, timings)
