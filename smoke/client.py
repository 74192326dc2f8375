"""HTTP to the engine: one session helper, explicit timeouts, SSE reading.

Nothing here raises on a bad answer: every call returns an `Exchange` that carries either the
decoded body (or SSE events) or an `error` string that a check turns into a FAIL.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

USER_AGENT = "glm5-smoke/1"


@dataclass
class Exchange:
    """One request and what came back."""

    method: str
    path: str
    status: int | None = None
    body: Any = None  # decoded JSON (non-streamed)
    events: list[dict] = field(default_factory=list)  # decoded SSE `data:` payloads (streamed)
    done: bool = False  # saw `data: [DONE]`
    text: str = ""  # raw body excerpt, for details
    error: str | None = None  # transport or decoding problem; None when the answer is usable
    latency_s: float = 0.0
    first_event_s: float | None = None  # time to the first SSE event

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200


def excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Client:
    """Talks to an OpenAI-compatible server at `base_url` (the server root; `/v1` is added here)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 300.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        # NOTE: requests.Session is not documented as thread-safe; checks run in a thread pool,
        # so each thread gets its own session (connection reuse still works per thread).
        self._local = threading.local()

    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = USER_AGENT
            if self.api_key:
                s.headers["Authorization"] = f"Bearer {self.api_key}"
            self._local.session = s
        return s

    def get(self, path: str, timeout: float | None = None, retries: int = 0) -> Exchange:
        """GET a JSON (or empty) endpoint. `retries` re-tries failed connections (with backoff);
        an HTTP status is an answer, and the readiness loop does its own polling."""
        for attempt in range(retries + 1):
            ex = self._send("GET", path, None, timeout or self.timeout, stream=False)
            if ex.status is not None or attempt == retries:
                return ex
            time.sleep(min(0.5 * 2**attempt, 5.0))
        return ex  # pragma: no cover - loop always returns

    def chat(self, body: dict) -> Exchange:
        """POST /v1/chat/completions. A 500 is an answer (a failed check), so it is not retried;
        only a refused connection is, once."""
        stream = bool(body.get("stream"))
        ex = self._send("POST", "/v1/chat/completions", body, self.timeout, stream=stream)
        if ex.status is None and ex.error and ex.error.startswith("connection failed"):
            time.sleep(1.0)
            ex = self._send("POST", "/v1/chat/completions", body, self.timeout, stream=stream)
        return ex

    def post(self, path: str, body: dict) -> Exchange:
        """POST a JSON body to a non-streaming endpoint (e.g. vLLM's /tokenize); not retried."""
        return self._send("POST", path, body, self.timeout, stream=False)

    def _send(self, method: str, path: str, body: dict | None, timeout: float, stream: bool) -> Exchange:
        ex = Exchange(method, path)
        start = time.monotonic()
        # `timeout` bounds the whole exchange, not just each socket read: a server that drips
        # bytes forever must still end as a failed check.
        deadline = start + timeout
        try:
            resp = self.session().request(
                method,
                self.base_url + path,
                json=body,
                timeout=(min(10.0, timeout), timeout),
                stream=True,
            )
        except requests.Timeout:
            ex.error = f"no answer within --timeout {timeout:g} s (timed out)"
            ex.latency_s = time.monotonic() - start
            return ex
        except requests.ConnectionError as e:
            ex.error = _describe_connection_error(e, timeout)
            ex.latency_s = time.monotonic() - start
            return ex
        except requests.RequestException as e:
            ex.error = f"request failed: {type(e).__name__}: {e}"
            ex.latency_s = time.monotonic() - start
            return ex
        ex.status = resp.status_code
        try:
            with resp:
                ctype = resp.headers.get("Content-Type", "")
                if stream and resp.status_code == 200 and "event-stream" not in ctype:
                    _read_json(resp, ex, deadline)
                    ex.body = None
                    ex.error = f"answer is not an event stream (Content-Type {ctype or '?'}): {ex.text[:120]!r}"
                elif stream and resp.status_code == 200:
                    _read_sse(resp, ex, start, deadline)
                else:
                    _read_json(resp, ex, deadline)
        except requests.RequestException as e:
            # NOTE: a read timeout while iterating a streamed body surfaces as ConnectionError.
            if "timed out" in str(e).lower() or isinstance(e, requests.Timeout):
                ex.error = f"no answer within --timeout {timeout:g} s (read timed out)"
            else:
                ex.error = f"connection broken mid-answer: {type(e).__name__}: {excerpt(str(e))}"
        except _Overdue:
            ex.error = f"answer not complete within --timeout {timeout:g} s"
        ex.latency_s = time.monotonic() - start
        return ex


class _Overdue(Exception):
    pass


def _describe_connection_error(e: requests.ConnectionError, timeout: float) -> str:
    text = str(e)
    if isinstance(e, requests.ConnectTimeout) or "timed out" in text.lower():
        return f"no answer within --timeout {timeout:g} s (timed out)"
    if "refused" in text.lower():
        return "connection failed: connection refused"
    return f"connection failed: {excerpt(text)}"


def _read_body(resp: requests.Response, deadline: float) -> bytes:
    chunks = []
    for chunk in resp.iter_content(chunk_size=65536):
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise _Overdue()
    return b"".join(chunks)


def _read_json(resp: requests.Response, ex: Exchange, deadline: float) -> None:
    raw = _read_body(resp, deadline)
    text = raw.decode("utf-8", errors="replace")
    ex.text = excerpt(text, 300)
    if not text.strip():
        ex.body = None
        return
    try:
        ex.body = json.loads(text)
    except ValueError:
        ctype = resp.headers.get("Content-Type", "?")
        if resp.status_code == 200:
            ex.error = f"answer is not JSON (Content-Type {ctype}): {excerpt(text, 120)!r}"
        # A non-200 body that is not JSON is kept as text; the status already says enough.


def _read_sse(resp: requests.Response, ex: Exchange, start: float, deadline: float) -> None:
    data_lines: list[str] = []

    def dispatch() -> bool:
        """Handle one complete event; False to stop reading."""
        payload = "\n".join(data_lines)
        data_lines.clear()
        if payload.strip() == "[DONE]":
            ex.done = True
            return False
        try:
            event = json.loads(payload)
        except ValueError:
            ex.error = f"stream event {len(ex.events) + 1} is not JSON: {excerpt(payload, 120)!r}"
            return False
        if not isinstance(event, dict):
            ex.error = f"stream event {len(ex.events) + 1} is not an object: {excerpt(payload, 120)!r}"
            return False
        if ex.first_event_s is None:
            ex.first_event_s = time.monotonic() - start
        ex.events.append(event)
        return True

    for line in resp.iter_lines(decode_unicode=False):
        if time.monotonic() > deadline:
            raise _Overdue()
        line = line.decode("utf-8", errors="replace").rstrip("\r")
        if line == "":
            if data_lines and not dispatch():
                break
        elif line.startswith("data:"):
            data_lines.append(line[5:].lstrip(" "))
        # `event:`, `id:`, `retry:` and `:` comment lines carry nothing we check.
    else:
        # The body ended; a last event without its blank line still counts, and one that is
        # not JSON was cut off mid-way.
        if data_lines and not dispatch() and ex.error:
            ex.error = f"stream cut off inside event {len(ex.events) + 1} (truncated): " + ex.error.split(": ", 1)[1]
    if ex.error is None and not ex.done:
        ex.error = f"stream ended without `data: [DONE]` after {len(ex.events)} events (truncated)"
