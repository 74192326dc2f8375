"""Hostile servers (issue 17): the sidecar ends on time, within its memory cap, and says which
bound it hit; it follows no redirect and passes no invalid answer.

Each case runs `python -m smoke` as a subprocess against tests/smoke/hostile.py and measures
its wall time (from its first line, once the interpreter has started, to its exit) and its
peak RSS (os.wait4's ru_maxrss of that child only, taken by a small launcher process: a child
forked from pytest itself would count pytest's own pages until its exec), under an
address-space limit so that a regression cannot take the test machine with it.
Bounds: exit within the run's budget + 1 s, where the budget is --deadline for a server that
never gets ready and --timeout for the checks once it is (every check request runs at once);
peak RSS below MEMORY_CAP_MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile import EVENT, MODEL, HostileServer, Request, answer, chunk, chunked, head

REPO = Path(__file__).resolve().parents[2]
# The sidecar's peak RSS on every hostile server stays below this (an idle run is ~35 MB;
# caps: 1 MiB per JSON answer, 4 MiB and 8192 events per stream, 13 requests at once; measured peak ~65 MB).
MEMORY_CAP_MB = 100
ADDRESS_SPACE = 4 << 30  # a safety net for the test machine, not the bound under test
DEADLINE, TIMEOUT = 1.2, 1.5
BIG = 50 * 1024 * 1024


@dataclass
class Outcome:
    code: int
    wall_s: float  # from the sidecar's first line to its exit
    peak_mb: float
    out: str
    report: dict | None

    def check(self, name: str) -> dict:
        return next(c for c in self.report["checks"] if c["name"] == name)


# Runs argv[3:] under RLIMIT_AS = argv[1], writes its ru_maxrss (KiB) to fd argv[2], exits
# with its code.
LAUNCHER = """
import os, resource, subprocess, sys
limit, fd = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
child = subprocess.Popen(sys.argv[3:])
_, status, usage = os.wait4(child.pid, 0)
os.write(fd, str(usage.ru_maxrss).encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def sidecar(url: str, tmp_path: Path, *extra: str) -> Outcome:
    report = tmp_path / "report.json"
    argv = [sys.executable, "-m", "smoke", "--base-url", url, "--model", MODEL, "--report", str(report),
            "--deadline", str(DEADLINE), "--timeout", str(TIMEOUT), "--poll-interval", "0.2", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKE_")}
    rss_read, rss_write = os.pipe()
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(ADDRESS_SPACE), str(rss_write), *argv], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(rss_write,))
    os.close(rss_write)
    killer = threading.Timer(60, proc.kill)  # a hang fails the test instead of stalling the suite
    killer.start()
    first = proc.stdout.readline()
    began = time.monotonic()
    out = (first + proc.stdout.read()).decode(errors="replace")
    proc.wait()
    wall = time.monotonic() - began
    killer.cancel()
    with os.fdopen(rss_read, "rb") as f:
        peak_mb = int(f.read() or 0) / 1024
    data = json.loads(report.read_text()) if report.exists() else None
    print(f"wall {wall:.2f} s (start-up {began - start:.2f} s), peak RSS {peak_mb:.1f} MB")
    return Outcome(proc.returncode, wall, peak_mb, out, data)


# --- hostile routes ---------------------------------------------------------------------------

def drip_body(r: Request) -> None:
    r.send(head(200, {"Content-Type": "application/json", "Content-Length": 100000}))
    r.drip(b'{"object": "list", "data": []}', 0.05)


def drip_headers(r: Request) -> None:
    r.send(b"HTTP/1.1 200 OK\r\n")
    r.drip(b"X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n", 0.05)


def drip_events(r: Request) -> None:
    r.send(chunked("text/event-stream"))
    while not r.stop.wait(0.1) and r.send(chunk(EVENT)):
        pass


def drip_chunk_size(r: Request) -> None:
    r.send(chunked())
    r.drip(b"0000", 0.05)  # a chunk-size line that grows one digit at a time


def endless_events(r: Request) -> None:
    r.send(chunked("text/event-stream"))
    r.forever(chunk(EVENT * 1000))


def endless_close_delimited(r: Request) -> None:
    r.send(head(200, {"Content-Type": "application/json"}))  # no length: the body ends at close
    r.forever(b'{"a": [' + b"1, " * 10000)


def endless_chunked_json(r: Request) -> None:
    r.send(chunked())
    r.forever(chunk(b"[1, " * 5000))


def endless_line(r: Request) -> None:
    r.send(chunked("text/event-stream"))
    r.send(chunk(b"data: "))
    r.forever(chunk(b"a" * 65536))


def endless_status_line(r: Request) -> None:
    r.forever(b"HTTP/1.1 200 " + b"O" * 65536)


def endless_header_line(r: Request) -> None:
    r.send(b"HTTP/1.1 200 OK\r\nX-Big: ")
    r.forever(b"b" * 65536)


def endless_chunk_size(r: Request) -> None:
    r.send(chunked())
    r.forever(b"f" * 65536)


def many_headers(r: Request) -> None:
    r.send(b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 10000 + b"\r\n")


def huge_announced(r: Request) -> None:
    r.send(head(200, {"Content-Type": "application/json", "Content-Length": BIG}))
    r.forever(b" " * 65536)


def huge_chunked(r: Request) -> None:
    r.send(chunked() + chunk(b'{"choices": [{"message": {"content": "'))
    piece = chunk(b"x" * (1 << 20))
    for _ in range(BIG >> 20):
        if not r.send(piece):
            return
    r.send(chunk(b'"}}]}') + b"0\r\n\r\n")


def huge_declared_chunk(r: Request) -> None:
    r.send(chunked() + b"%x\r\n" % BIG)
    r.forever(b"y" * 65536)


BAD_UTF8 = json.dumps({"choices": [{"message": {"role": "assistant", "content": "Hello"},
                                    "finish_reason": "stop"}]}).encode().replace(b"Hello", b"Hel\xff\xfelo")


def bad_utf8_events(r: Request) -> None:
    r.send(chunked("text/event-stream") + chunk(EVENT.replace(b"Hel", b"H\xc3\x28l")) + chunk(b"data: [DONE]\n\n")
           + b"0\r\n\r\n")


def not_http(r: Request) -> None:
    r.send(b"SSH-2.0-OpenSSH_9.2\r\n")


def bad_chunk_size(r: Request) -> None:
    r.send(chunked() + b"zz\r\nabc\r\n0\r\n\r\n")


def redirect(to: str, status: int = 302) -> object:
    return answer(b"", status, extra={"Location": to})


def refused(status: int) -> object:
    return answer(b'{"error": {"message": "Invalid API key", "code": %d}}' % status, status)


CHAT = "/v1/chat/completions"
READY = "ready"  # the server never gets ready: exit 3 within --deadline + 1 s
CHECKS = "checks"  # ready at once; every check request is hostile: exit 1 within --timeout + 1 s
QUICK = "quick"  # waiting cannot help: exit 3 at once

# name: (routes, when it ends, words of the readiness or chat detail, kind reported). Every
# chat request gets the same answer; the non-streamed ones are read as JSON (1 MiB cap), the
# streamed ones as event streams (4 MiB, lines 256 KiB): STREAMED cases are judged on those.
CASES = {
    # a trickle: each byte arrives well inside any socket timeout, the whole never does
    "a /health body dripped a byte at a time": ({"/health": drip_body}, READY, "answer not complete within", None),
    "headers dripped a byte at a time": ({"/health": drip_headers}, READY, "answer not complete within", None),
    "a chunk-size line dripped a digit at a time": ({"/v1/models": drip_chunk_size}, READY, "not complete", None),
    "a JSON answer dripped a byte at a time": ({CHAT: drip_body}, CHECKS, "answer not complete within", "deadline"),
    "an event stream that drips events": ({CHAT: drip_events}, CHECKS, "answer not complete within", "deadline"),
    # endless, as fast as the socket goes
    "an endless event stream": ({CHAT: endless_events}, CHECKS, "more than 8192 events", "too_large"),
    "an endless stream of big events": ({CHAT: lambda r: (r.send(chunked("text/event-stream")),
                                                          r.forever(chunk(b"data: {\"a\": \"" + b"z" * 60000
                                                                          + b"\"}\n\n")))},
                                        CHECKS, "larger than the 4 MiB cap", "too_large"),
    "an endless body without framing": ({CHAT: endless_close_delimited}, CHECKS, "larger than the 1 MiB cap",
                                        "too_large"),
    "an endless chunked /v1/models": ({"/v1/models": endless_chunked_json}, READY, "larger than the 1 MiB cap", None),
    # lines that never end
    "an event-stream line without a newline": ({CHAT: endless_line}, CHECKS, "line longer than 256 KiB (no newline)",
                                               "too_large"),
    "a status line without a newline": ({"/health": endless_status_line}, READY, "the status line longer than 64 KiB",
                                        None),
    "a header line without a newline": ({CHAT: endless_header_line}, CHECKS, "the headers longer than", "too_large"),
    "a chunk-size line without a newline": ({CHAT: endless_chunk_size}, CHECKS, "a chunk-size line longer than 1 KiB",
                                            "too_large"),
    "ten thousand headers": ({"/health": many_headers}, READY, "more than 100 header lines", None),
    # huge
    "a 50 MB answer announced by Content-Length": ({CHAT: huge_announced}, CHECKS,
                                                   f"announces {BIG} bytes, over the 1 MiB cap", "too_large"),
    "a 50 MB chunked answer": ({CHAT: huge_chunked}, CHECKS, "larger than the", "too_large"),
    "a 50 MB chunk announced": ({CHAT: huge_declared_chunk}, CHECKS, f"a chunk of {BIG} bytes", "too_large"),
    "a 50 MB /v1/models": ({"/v1/models": huge_announced}, READY, "over the 1 MiB cap", None),
    # invalid
    "invalid UTF-8 in an answer": ({CHAT: answer(BAD_UTF8)}, CHECKS, "not valid UTF-8 (byte 0xff at offset",
                                   "bad_encoding"),
    "invalid UTF-8 in an event": ({CHAT: bad_utf8_events}, CHECKS, "not valid UTF-8 (byte 0xc3", "bad_encoding"),
    "JSON nested a million deep": ({CHAT: answer(b"[" * 1000000 + b"]" * 1000000)}, CHECKS, "over the 1 MiB cap",
                                   "too_large"),
    "JSON nested too deep to read": ({CHAT: answer(b"[" * 500000 + b"]" * 500000)}, CHECKS, "nested too deep",
                                     "not_json"),
    "not HTTP at all": ({"/health": not_http}, READY, "not an HTTP/1.x answer: 'SSH-2.0-OpenSSH_9.2'", None),
    "a malformed chunk size": ({CHAT: bad_chunk_size}, CHECKS, "malformed chunk size 'zz'", "protocol"),
    # redirects are never followed
    "a redirect on /health": ({"/health": redirect("http://198.51.100.7/health")}, QUICK,
                              "HTTP 302 redirect to http://198.51.100.7/health (not followed", None),
    "a redirect on /v1/models": ({"/v1/models": redirect("https://example.org/v1/models", 301)}, QUICK,
                                 "HTTP 301 redirect to https://example.org/v1/models", None),
    "a redirect on every chat": ({CHAT: redirect("http://198.51.100.7/v1/chat/completions", 307)}, CHECKS,
                                 "HTTP 307 redirect to http://198.51.100.7/v1/chat/completions (not followed",
                                 "redirect"),
    # a refused key ends the wait at once
    "401 on /health": ({"/health": refused(401)}, QUICK, "/health answered HTTP 401", None),
    "403 on /v1/models": ({"/v1/models": refused(403)}, QUICK, "/v1/models answered HTTP 403", None),
    "401 on every chat": ({CHAT: refused(401)}, CHECKS, "HTTP 401", "http"),
}

STREAMED = {"an endless event stream", "an endless stream of big events", "an event-stream line without a newline",
            "an event stream that drips events", "invalid UTF-8 in an event"}

HINT_WORDS = {
    "deadline": "was not complete within --timeout", "too_large": "size cap", "bad_encoding": "not valid UTF-8",
    "not_json": "not the engine's JSON", "protocol": "not HTTP/1.x", "redirect": "never follows",
    "http": "API key",
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_server_is_judged_on_time_within_memory_naming_the_bound(case, tmp_path):
    routes, ends, words, kind = CASES[case]
    with HostileServer(routes) as server:
        run = sidecar(server.url, tmp_path)
    assert run.report is not None, run.out
    assert "Traceback" not in run.out and "MemoryError" not in run.out, run.out
    assert run.peak_mb < MEMORY_CAP_MB, f"peak RSS {run.peak_mb:.0f} MB"
    readiness = run.check("readiness")
    if ends in (READY, QUICK):
        assert run.code == 3, run.out
        assert words in readiness["detail"], readiness
        assert "HTTP 200" not in readiness["detail"], "a cut answer is not an HTTP 200"
        budget = 0.0 if ends == QUICK else DEADLINE
        assert readiness["hint"], readiness
    else:
        assert run.code == 1, run.out
        assert readiness["status"] == "PASS"
        chat = run.check("reasoning-on-stream" if case in STREAMED else "chat")
        assert chat["status"] == "FAIL" and words in chat["detail"], chat
        assert HINT_WORDS[kind] in chat["hint"], chat
        assert kind in {r["kind"] for r in run.report["requests"] if r["path"] == CHAT}, run.report["requests"]
        assert all(r["kind"] != "ok" for r in run.report["requests"] if r["path"] == CHAT)
        budget = TIMEOUT
    assert run.wall_s < budget + 1.0, f"{run.wall_s:.2f} s for a budget of {budget} s"
