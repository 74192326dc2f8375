"""Reporters: the JSON for machines, a Markdown table and "yours / published" lines for people.
Neither knows how a level was run."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .run import LevelResult
from .workloads import ANCHORS, Anchor, anchors_for

COLUMNS = ("workload", "conc", "ok/err", "out tok/s", "TTFT p50 ms", "TPOT p50 ms",
           "TPOT p90 ms", "accept len", "accept rate", "KV peak", "preempt", "prefix hit",
           "client CPU ms/req")


def _num(value, fmt: str = ".1f", scale: float = 1.0) -> str:
    return "-" if value is None else format(value * scale, fmt)


def row(r: LevelResult) -> list[str]:
    c = r.client or {}
    e = r.engine or {}
    ttft, tpot = c.get("ttft_ms") or {}, c.get("tpot_ms") or {}
    per_req = (r.client_cpu_s * 1000 / c["completed"]
               if r.client_cpu_s is not None and c.get("completed") else None)
    ok = f"{c['completed']:.0f}/{c['errors']}" if c else "FAILED"
    return [r.workload, str(r.concurrency), ok, _num(c.get("output_tok_s")),
            _num(ttft.get("p50")), _num(tpot.get("p50"), ".2f"), _num(tpot.get("p90"), ".2f"),
            _num(e.get("acceptance_length"), ".2f"), _num(e.get("acceptance_rate"), ".0%"),
            _num(e.get("kv_usage_peak"), ".0%"), _num(e.get("preemptions"), ".0f"),
            _num(e.get("prefix_cache_hit_rate"), ".0%"), _num(per_req, ".0f")]


def markdown_table(results: list[LevelResult]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    return "\n".join(lines) + "\n"


def _ratio(yours, published) -> str:
    return f" ({yours / published:.2f}x)" if yours is not None and published else ""


def compare(results: list[LevelResult], engine: str | None, hardware: str | None) -> list[str]:
    """One line per workload and published anchor on the same engine and hardware."""
    lines = []
    for workload in dict.fromkeys(r.workload for r in results):
        for a in anchors_for(workload, engine, hardware):
            lines.append(_compare_one(a, [r for r in results if r.workload == workload]))
    return lines


def _compare_one(a: Anchor, results: list[LevelResult]) -> str:
    head = f"{a.workload} conc {a.concurrency} on {a.hardware} {a.engine}"
    match = next((r for r in results if r.concurrency == a.concurrency and r.client), None)
    if match is None:
        return f"{head}: not measured at conc {a.concurrency} (add it to --concurrency); published {a.output_tok_s:g} tok/s"
    c, e = match.client, match.engine or {}
    tok = c.get("output_tok_s")
    parts = [f"{_num(tok)} / {a.output_tok_s:g} tok/s{_ratio(tok, a.output_tok_s)}"]
    tpot = (c.get("tpot_ms") or {}).get("p50")
    if a.tpot_ms is not None:
        parts.append(f"TPOT {_num(tpot)} / {a.tpot_ms:g} ms")
    if a.acceptance_length is not None:
        parts.append(f"acceptance length {_num(e.get('acceptance_length'), '.2f')} / {a.acceptance_length:g}")
    return f"{head}: yours / published: " + ", ".join(parts) + f" [{a.source}]"


def document(*, meta: dict, results: list[LevelResult], engine: str | None,
             hardware: str | None) -> dict:
    used = [a.__dict__ for a in ANCHORS
            if a.engine == engine and a.hardware == hardware
            and a.workload in {r.workload for r in results}]
    return {
        **meta,
        "engine": engine,
        "hardware": hardware,
        "ok": all(r.ok for r in results),
        "levels": [r.to_json() for r in results],
        "anchors": used,
        "comparisons": compare(results, engine, hardware),
    }


def write_atomic(path: Path, data: bytes) -> None:
    # Write then rename: a reader never sees half a report.
    fd, tmp = tempfile.mkstemp(prefix=".bench-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(doc: dict, path: Path) -> None:
    write_atomic(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())


def markdown(doc: dict, results: list[LevelResult], plot_name: str | None) -> str:
    out = [f"# Benchmark {doc['started_at']}", "",
           f"Server {doc['base_url']}, model `{doc['model']}`, engine {doc['engine'] or 'unknown'}, "
           f"hardware {doc['hardware'] or 'not given'}; load generator AIPerf "
           f"{doc.get('aiperf_version') or '?'}.", "", markdown_table(results)]
    if doc["comparisons"]:
        out += ["Against the published numbers:", ""] + [f"- {line}" for line in doc["comparisons"]] + [""]
    if plot_name:
        out += [f"![throughput against latency]({plot_name})", ""]
    return "\n".join(out)
