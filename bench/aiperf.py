"""The load generator: NVIDIA AIPerf (`aiperf profile`), one run per concurrency level.

One process per level (not AIPerf's own sweep) so that the engine's /metrics can be read
around each level: acceptance length and KV-cache peak belong to a concurrency. The argv is
built here as a list; AIPerf's summary JSON is read back, bounded in size, and reduced to the
few numbers the report needs.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .workloads import Workload

AIPERF = "aiperf"
# The summary is a few KB; anything near this is not AIPerf's summary.
MAX_SUMMARY_BYTES = 16 * 1024 * 1024
SUMMARY = "profile_export_aiperf.json"
SEED = 42


@dataclass(frozen=True)
class Level:
    workload: Workload
    concurrency: int
    requests: int


def argv(level: Level, *, url: str, model: str, tokenizer: str, artifact_dir: Path,
         request_timeout_s: float) -> list[str]:
    w = level.workload
    return [
        AIPERF, "profile",
        "--model", model,
        "--tokenizer", tokenizer,
        "--url", url,
        "--endpoint-type", "chat",
        "--streaming",
        "--concurrency", str(level.concurrency),
        "--request-count", str(level.requests),
        "--isl", str(w.input_tokens),
        "--synthetic-input-tokens-stddev", "0",
        "--osl", str(w.output_tokens),
        # Without it a model that stops early measures shorter answers than the workload says.
        # vLLM and SGLang both honour ignore_eos.
        "--extra-inputs", "ignore_eos:true",
        "--random-seed", str(SEED),
        "--request-timeout-seconds", f"{request_timeout_s:g}",
        "--artifact-dir", str(artifact_dir),
        "--export-level", "summary",
        # This tool reads /metrics itself (bench.metrics); no DCGM exporter is expected.
        "--no-server-metrics",
        "--no-gpu-telemetry",
        "--ui", "none",
    ]


def environment(tokenizer_offline: bool) -> dict[str, str]:
    env = dict(os.environ)
    if tokenizer_offline:
        # The tokenizer comes from the mounted HF cache; never a download during a benchmark.
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
    return env


def run(cmd: list[str], *, log_path: Path, timeout_s: float, env: dict[str, str]) -> str | None:
    """Run AIPerf with its output in log_path. Returns an error (with the bound hit) or None."""
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
        except OSError as err:
            return f"could not start {cmd[0]}: {err.strerror}"
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return f"aiperf still running after {timeout_s:g} s (time bound): stopped"
        except BaseException:
            _kill_group(proc)
            raise
    return None if code == 0 else f"aiperf exited {code}: {log_tail(log_path)}"


def _kill_group(proc: subprocess.Popen) -> None:
    # AIPerf runs its services as child processes of its own session.
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(path: Path, max_bytes: int = 4000, lines: int = 3) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", errors="replace")
    except OSError as err:
        return f"(no log: {err.strerror})"
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[:600]


def _stat(block: dict | None, key: str) -> float | None:
    if not isinstance(block, dict):
        return None
    value = block.get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def read_summary(artifact_dir: Path) -> tuple[dict | None, str | None]:
    """AIPerf's summary -> the numbers the report keeps (ms, tok/s), or an error."""
    path = artifact_dir / SUMMARY
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SUMMARY_BYTES + 1)
    except OSError as err:
        return None, f"no AIPerf summary at {path}: {err.strerror}"
    if len(raw) > MAX_SUMMARY_BYTES:
        return None, f"{path} is larger than {MAX_SUMMARY_BYTES} bytes (size bound)"
    try:
        data = json.loads(raw)
    except ValueError as err:
        return None, f"{path} is not JSON: {err}"
    if not isinstance(data, dict):
        return None, f"{path} is not an AIPerf summary (top level is not an object)"
    ttft, itl = data.get("time_to_first_token"), data.get("inter_token_latency")
    errors = data.get("error_summary") or []
    return {
        "aiperf_version": data.get("aiperf_version"),
        "completed": _stat(data.get("completed_request_count"), "avg") or 0.0,
        "errors": sum(int(e.get("count", 0)) for e in errors if isinstance(e, dict)),
        "error_kinds": [str(e.get("error_details", e))[:200] for e in errors][:5],
        "duration_s": _stat(data.get("benchmark_duration"), "avg"),
        "output_tok_s": _stat(data.get("output_token_throughput"), "avg"),
        "request_s": _stat(data.get("request_throughput"), "avg"),
        "ttft_ms": {p: _stat(ttft, p) for p in ("avg", "p50", "p90", "p99")},
        # AIPerf's inter_token_latency is per request (end - first token) / (tokens - 1): the
        # TPOT of the published tables.
        "tpot_ms": {p: _stat(itl, p) for p in ("avg", "p50", "p90", "p99")},
        "input_tokens_avg": _stat(data.get("input_sequence_length"), "avg"),
        "output_tokens_avg": _stat(data.get("output_sequence_length"), "avg"),
    }, None
