"""HTTP to the engine: one client, every exchange bounded in time and size (smoke/wire.py).

Nothing here raises on a bad answer: every call returns an `Exchange` whose `kind` says what
became of it (ok, timeout, deadline, too_large, truncated, not_json, bad_encoding, connection,
http, redirect, protocol) with a one-line `detail`; checks and hints key on the kind.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import unquote, urlsplit

from .wire import Connection, Kind, Limit, size

USER_AGENT = "glm5-smoke/2"

# Caps, each far above what an engine sends for these small requests (a 1024-token GLM-5
# answer is ~10 KB as JSON and ~300 KB as a vLLM event stream) and far below what would
# hurt the sidecar next to a production engine.
JSON_CAP = 1024 * 1024  # a non-streamed answer, /health, /v1/models, /version, /server_info
STREAM_CAP = 4 * 1024 * 1024  # a whole event stream
LINE_CAP = 256 * 1024  # one line of an event stream
EVENT_CAP = 8192  # events in one stream (~1,100 for a 1024-token answer): bounds the decoded objects
TEXT_CAP = 4 * 1024 * 1024  # /metrics (vLLM's is ~100-300 KB)

# Who the request says it is: the configured key, no key at all, or a key that cannot be
# right (for the auth check; never derived from the real one).
AUTH_KEY, AUTH_NONE, AUTH_WRONG = "key", "none", "wrong"
WRONG_KEY = "sk-smoke-wrong-" + secrets.token_hex(8)

__all__ = ["Client", "Exchange", "Kind", "Probe", "excerpt"]


@dataclass
class Exchange:
    """One request and what came back."""

    method: str
    path: str
    kind: Kind = Kind.OK
    detail: str = ""  # one line: what happened, for a FAIL's detail (never holds a secret)
    status: int | None = None
    body: Any = None  # decoded JSON (or the text of a text answer)
    events: list[dict] = field(default_factory=list)  # decoded SSE `data:` payloads (streamed)
    done: bool = False  # saw `data: [DONE]`
    text: str = ""  # raw body excerpt, for details
    received: int = 0  # body bytes read
    latency_s: float = 0.0
    first_event_s: float | None = None  # time to the first SSE event

    @property
    def ok(self) -> bool:
        return self.kind is Kind.OK

    @property
    def error(self) -> str | None:
        """The detail when the exchange failed below HTTP (a status is an answer, not an error)."""
        return None if self.kind in (Kind.OK, Kind.HTTP) else self.detail

    def summary(self) -> str:
        """A few words for progress lines: the status only when the answer was complete."""
        return f"HTTP {self.status}" if self.kind in (Kind.OK, Kind.HTTP) else self.detail


@dataclass(frozen=True)
class Probe:
    """A request a check needs besides the chat probes, and when it goes relative to them."""

    send: Callable[[Client], Exchange]
    phase: str = "during"  # "before" the chat probes, "during" (concurrently), or "after" them


def excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Client:
    """Talks to an OpenAI-compatible server at `base_url` (the server root; `/v1` is added here)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 300.0):
        self.base_url = base_url.rstrip("/")
        self.url = urlsplit(self.base_url)
        self.api_key = api_key
        self.timeout = timeout
        self._basic = None
        if self.url.username is not None and not api_key:
            pair = f"{unquote(self.url.username)}:{unquote(self.url.password or '')}"
            self._basic = "Basic " + base64.b64encode(pair.encode()).decode()

    # --- the calls the checks make ----------------------------------------------------------

    def get(self, path: str, timeout: float | None = None, retries: int = 0, parse: str = "json",
            auth: str = AUTH_KEY) -> Exchange:
        """GET an endpoint. `retries` re-tries failed connections (with backoff) within the same
        time; an HTTP status is an answer, and the readiness loop does its own polling."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        for attempt in range(retries + 1):
            ex = self.request("GET", path, deadline=deadline, parse=parse, auth=auth)
            if ex.kind is not Kind.CONNECTION or attempt == retries:
                return ex
            time.sleep(max(0.0, min(0.5 * 2**attempt, deadline - time.monotonic())))
        return ex  # pragma: no cover - the loop always returns

    def chat(self, body: dict) -> Exchange:
        """POST /v1/chat/completions. A 500 is an answer (a failed check), so it is not retried;
        only a refused connection is, once, within the same --timeout."""
        deadline = time.monotonic() + self.timeout
        stream = bool(body.get("stream"))
        ex = self.request("POST", "/v1/chat/completions", body, stream=stream, deadline=deadline)
        if ex.kind is Kind.CONNECTION and deadline - time.monotonic() > 1.0:
            time.sleep(1.0)
            ex = self.request("POST", "/v1/chat/completions", body, stream=stream, deadline=deadline)
        return ex

    def post(self, path: str, body: dict, deadline: float | None = None) -> Exchange:
        """POST a JSON body to a non-streaming endpoint (e.g. vLLM's /tokenize); not retried.
        `deadline` (time.monotonic()) lets several calls share one --timeout."""
        return self.request("POST", path, body, deadline=deadline)

    # --- the one exchange -------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict | None = None, *, stream: bool = False,
                deadline: float | None = None, parse: str = "json", auth: str = AUTH_KEY) -> Exchange:
        """One bounded exchange. `parse`: "json" (the body must be JSON when the status is 200),
        "text" (UTF-8 text, e.g. /metrics), "none" (read and drop, e.g. /health); a `stream`
        answer with status 200 must be an event stream."""
        start = time.monotonic()
        deadline = start + self.timeout if deadline is None else deadline
        ex = Exchange(method, path)
        payload = None if body is None else json.dumps(body).encode()
        try:
            with Connection(self.url, deadline) as conn:
                conn.send(method, self.url.path + path, self._headers(payload, stream, auth), payload)
                head = conn.head()
                ex.status = head.status
                try:
                    _read(conn, head, ex, method, stream, parse, start)
                finally:
                    ex.received = conn.body_bytes
        except Limit as lim:
            ex.kind, ex.detail = lim.kind, lim.detail
        ex.latency_s = time.monotonic() - start
        return ex

    def _headers(self, payload: bytes | None, stream: bool, auth: str) -> dict[str, str]:
        host = self.url.hostname or ""
        host = f"[{host}]" if ":" in host else host
        h = {
            "Host": host + (f":{self.url.port}" if self.url.port else ""),
            "User-Agent": USER_AGENT,
            "Accept": "text/event-stream" if stream else "application/json",
            "Connection": "close",
        }
        key = {AUTH_KEY: self.api_key, AUTH_WRONG: WRONG_KEY, AUTH_NONE: None}[auth]
        if key:
            h["Authorization"] = f"Bearer {key}"
        elif self._basic and auth == AUTH_KEY:
            h["Authorization"] = self._basic
        if payload is not None:
            h["Content-Type"] = "application/json"
            h["Content-Length"] = str(len(payload))
        return h


def _read(conn: Connection, head, ex: Exchange, method: str, stream: bool, parse: str, start: float) -> None:
    if 300 <= head.status < 400:
        where = excerpt(head.headers.get("location", "(no Location)"), 120)
        raise Limit(Kind.REDIRECT, f"HTTP {head.status} redirect to {where} (not followed: only --base-url is judged)")
    ctype = head.headers.get("content-type", "")
    if head.status != 200:
        raw = b"".join(conn.body(head, JSON_CAP, method))
        ex.text = excerpt(raw.decode("utf-8", errors="backslashreplace"), 300)
        try:
            ex.body = json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError):
            ex.body = None  # the status says enough; the text is kept for the detail
        ex.kind, ex.detail = Kind.HTTP, f"HTTP {head.status}: {excerpt(ex.text or '(empty body)', 200)}"
        return
    if stream and "event-stream" not in ctype:
        raw = b"".join(conn.body(head, JSON_CAP, method))
        ex.text = excerpt(raw.decode("utf-8", errors="backslashreplace"), 300)
        raise Limit(Kind.NOT_JSON, f"answer is not an event stream (Content-Type {ctype or '?'}): {ex.text[:120]!r}")
    if stream:
        _read_sse(conn.body(head, STREAM_CAP, method), ex, start)
        return
    raw = b"".join(conn.body(head, TEXT_CAP if parse == "text" else JSON_CAP, method))
    if parse == "none":
        return
    text = _utf8(raw, "the answer")
    ex.text = excerpt(text, 300)
    if parse == "text":
        ex.body = text
        return
    if not text.strip():
        return
    try:
        ex.body = json.loads(text)
    except RecursionError:
        raise Limit(Kind.NOT_JSON, "answer is JSON nested too deep to read") from None
    except ValueError:
        raise Limit(Kind.NOT_JSON, f"answer is not JSON (Content-Type {ctype or '?'}): {excerpt(text, 120)!r}") from None


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Limit(Kind.BAD_ENCODING, f"{what} is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})") from None


def _lines(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Split the body into lines as it arrives; a line longer than LINE_CAP ends the exchange."""
    pending = bytearray()  # grows in place: a line dripped byte by byte costs O(n), not O(n^2)
    for piece in pieces:
        pending += piece
        if b"\n" not in piece:
            if len(pending) > LINE_CAP:
                raise Limit(Kind.TOO_LARGE, f"an event-stream line longer than {size(LINE_CAP)} (no newline)")
            continue
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if len(line) > LINE_CAP:
                raise Limit(Kind.TOO_LARGE, f"an event-stream line longer than {size(LINE_CAP)}")
            yield bytes(line)
        if len(pending) > LINE_CAP:
            raise Limit(Kind.TOO_LARGE, f"an event-stream line longer than {size(LINE_CAP)} (no newline)")
    if pending:
        yield bytes(pending)


def _read_sse(pieces: Iterator[bytes], ex: Exchange, start: float) -> None:
    data_lines: list[str] = []

    def dispatch(cut: bool = False) -> bool:
        """Handle one complete event; False to stop reading."""
        payload = "\n".join(data_lines)
        data_lines.clear()
        if payload.strip() == "[DONE]":
            ex.done = True
            return False
        n = len(ex.events) + 1
        try:
            event = json.loads(payload)
        except (ValueError, RecursionError):
            if cut:
                raise Limit(Kind.TRUNCATED, f"stream cut off inside event {n}: {excerpt(payload, 120)!r}") from None
            raise Limit(Kind.NOT_JSON, f"stream event {n} is not JSON: {excerpt(payload, 120)!r}") from None
        if not isinstance(event, dict):
            raise Limit(Kind.NOT_JSON, f"stream event {n} is not an object: {excerpt(payload, 120)!r}")
        if ex.first_event_s is None:
            ex.first_event_s = time.monotonic() - start
        if len(ex.events) >= EVENT_CAP:
            raise Limit(Kind.TOO_LARGE, f"the stream has more than {EVENT_CAP} events (the cap)")
        ex.events.append(event)
        return True

    for n, raw in enumerate(_lines(pieces), 1):
        line = _utf8(raw, f"stream line {n}").rstrip("\r")
        if line == "":
            if data_lines and not dispatch():
                return
        elif line.startswith("data:"):
            data_lines.append(line[5:].lstrip(" "))
        # `event:`, `id:`, `retry:` and `:` comment lines carry nothing we check.
    # The body ended; a last event without its blank line still counts, and one that is not
    # JSON was cut off mid-way.
    if data_lines and not dispatch(cut=True):
        return
    raise Limit(Kind.TRUNCATED, f"stream ended without `data: [DONE]` after {len(ex.events)} events")
