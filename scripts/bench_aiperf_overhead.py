"""The load generator's own cost: client CPU seconds per request of AIPerf (make bench-overhead).

A stand-in OpenAI server on 127.0.0.1 (standard library, one thread per connection) streams a
fixed 32-chunk answer at once, so nearly all CPU of a run is the client's. AIPerf runs the
rehearsal workload (128 prompt tokens, 32 output tokens, concurrency 4) with few and with many
requests, REPS times each; the CPU of its process tree (user + system, from getrusage of the
children) is measured per run. Reported: the median start-up cost (the small runs) and the
median marginal cost per request ((many - few) / (N_MANY - N_FEW)).

    python scripts/bench_aiperf_overhead.py        (needs aiperf on PATH: make bench-env)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

N_FEW, N_MANY, REPS = 20, 220, 3
TOKENIZER = "glm5-compose/tiny-glm5"  # in $CACHE/tiny-hf (make tiny-model)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        body = b""
        if self.path.startswith("/v1/models"):
            body = json.dumps({"object": "list", "data": [{"id": "glm-5-fp8", "object": "model"}]}).encode()
        self.send_response(200 if body or self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(length, 10_000_000))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        for i in range(32):
            event = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "glm-5-fp8",
                     "choices": [{"index": 0, "delta": {"content": " word"}, "finish_reason": None}]}
            chunk(b"data: " + json.dumps(event).encode() + b"\n\n")
        usage = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "glm-5-fp8",
                 "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
                 "usage": {"prompt_tokens": 128, "completion_tokens": 32, "total_tokens": 160}}
        chunk(b"data: " + json.dumps(usage).encode() + b"\n\n")
        chunk(b"data: [DONE]\n\n")
        chunk(b"")


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(url: str, n: int, out: Path) -> float:
    cmd = ["aiperf", "profile", "--model", "glm-5-fp8", "--tokenizer", TOKENIZER, "--url", url,
           "--endpoint-type", "chat", "--streaming", "--concurrency", "4", "--request-count", str(n),
           "--isl", "128", "--synthetic-input-tokens-stddev", "0", "--osl", "32", "--random-seed", "42",
           "--artifact-dir", str(out), "--export-level", "summary", "--no-server-metrics",
           "--no-gpu-telemetry", "--ui", "none"]
    before = children_cpu()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        sys.exit(f"aiperf exited {done.returncode} (see {out})")
    summary = json.loads((out / "profile_export_aiperf.json").read_text())
    completed = summary["completed_request_count"]["avg"]
    if completed != n:
        sys.exit(f"aiperf completed {completed} of {n} requests")
    return children_cpu() - before


def main() -> None:
    if shutil.which("aiperf") is None:
        sys.exit("aiperf is not on PATH: make bench-env, then PATH=$CACHE/bench-venv/bin:$PATH")
    cache = Path(os.environ.get("CACHE") or Path(__file__).resolve().parents[1] / ".cache")
    os.environ.setdefault("HF_HOME", str(cache / "tiny-hf"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    few, many = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(REPS):
            few.append(run(url, N_FEW, Path(tmp) / f"few-{rep}"))
            many.append(run(url, N_MANY, Path(tmp) / f"many-{rep}"))
            print(f"rep {rep + 1}: {N_FEW} requests {few[-1]:.2f} s CPU, {N_MANY} requests {many[-1]:.2f} s CPU",
                  flush=True)
    server.shutdown()
    marginal = [(m - f) / (N_MANY - N_FEW) * 1000 for f, m in zip(few, many)]
    print(f"AIPerf start-up (median of {REPS}, {N_FEW}-request runs): {statistics.median(few):.2f} s CPU")
    print(f"AIPerf per request (median of {REPS}): {statistics.median(marginal):.1f} ms CPU "
          f"(runs: {', '.join(f'{m:.1f}' for m in marginal)})")


if __name__ == "__main__":
    main()
