"""HTTP/1.1 over one socket, every read bounded: the only reader of what the sidecar receives.

Why not requests/urllib3: they bound each socket read, not the exchange. A server that sends
a byte just before each read timeout, a chunk-size or SSE line that never ends, or an endless
body held them for minutes at 100% CPU or filled memory; and they follow redirects to other
hosts. Here each `recv` may wait only for what is left of the exchange's deadline, every byte
counts against a cap, framing lines have their own caps, and nothing is followed. A bound that
is hit ends the exchange with a `Limit` that names it (a `Kind` plus a one-line detail).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Iterator
from urllib.parse import SplitResult

RECV = 65536
HEAD_CAP = 64 * 1024  # status line + headers (+ trailers)
MAX_HEADERS = 100
CHUNK_LINE_CAP = 1024  # "1a2b;ext\r\n"
CONNECT_TIMEOUT = 10.0


class Kind(str, Enum):
    """What became of an exchange. Hints are chosen by this, never by the wording of a detail."""

    OK = "ok"  # a complete answer with status 200, decoded
    HTTP = "http"  # a complete answer with another status (not 3xx)
    REDIRECT = "redirect"  # a 3xx: never followed
    TIMEOUT = "timeout"  # no answer (not even a status line) before the deadline
    DEADLINE = "deadline"  # the answer began but was not complete by the deadline
    TOO_LARGE = "too_large"  # a byte, line or header cap was hit
    TRUNCATED = "truncated"  # the server closed before the answer was complete
    NOT_JSON = "not_json"  # not JSON, not an object, not an event stream
    BAD_ENCODING = "bad_encoding"  # not valid UTF-8
    CONNECTION = "connection"  # refused, unresolvable, reset, TLS failure
    PROTOCOL = "protocol"  # not HTTP/1.x framing


class Limit(Exception):
    def __init__(self, kind: Kind, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


def size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 and n % (1024 * 1024) == 0 else (
        f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"
    )


@dataclass
class Head:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names; repeats joined by ", "


def _resolve(host: str, port: int, left: float) -> list:
    """getaddrinfo has no timeout of its own: run it aside and stop waiting at the deadline."""
    try:
        ipaddress.ip_address(host)
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except ValueError:
        pass
    box: list = []

    def work():
        try:
            box.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as e:
            box.append(e)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(left)
    if not box:
        raise Limit(Kind.TIMEOUT, f"no answer within {left:.3g} s (resolving {host})")
    if isinstance(box[0], OSError):
        raise Limit(Kind.CONNECTION, f"cannot resolve {host}: {box[0].strerror or box[0]}")
    return box[0]


class Connection:
    """One request and its answer on a fresh connection (Connection: close), within `deadline`
    (a time.monotonic() value)."""

    def __init__(self, url: SplitResult, deadline: float):
        self.url, self.deadline = url, deadline
        self.budget = max(0.0, deadline - time.monotonic())
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.answered = False  # a status line came: a timeout is now "not complete", not "no answer"
        self.body_bytes = 0

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self._late()
        return left

    def _late(self) -> Limit:
        if not self.answered:
            return Limit(Kind.TIMEOUT, f"no answer within {self.budget:.3g} s")
        return Limit(
            Kind.DEADLINE,
            f"answer not complete within {self.budget:.3g} s ({self.body_bytes} bytes of body by then)",
        )

    # --- sending ----------------------------------------------------------------------------

    def send(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> None:
        host, port = self.url.hostname or "", self.url.port or (443 if self.url.scheme == "https" else 80)
        infos = _resolve(host, port, self._left())
        last: OSError | None = None
        for family, kind, proto, _, addr in infos:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(min(CONNECT_TIMEOUT, self._left()))
            try:
                sock.connect(addr)
                self.sock = sock
                break
            except socket.timeout:
                sock.close()
                raise Limit(Kind.TIMEOUT, f"no connection within {min(CONNECT_TIMEOUT, self.budget):.3g} s") from None
            except OSError as e:
                sock.close()
                last = e
        if self.sock is None:
            what = "connection refused" if isinstance(last, ConnectionRefusedError) else f"cannot connect: {_why(last)}"
            raise Limit(Kind.CONNECTION, what)
        if self.url.scheme == "https":
            try:
                self.sock.settimeout(self._left())
                self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=host)
            except socket.timeout:
                raise Limit(Kind.TIMEOUT, f"no TLS handshake within {self.budget:.3g} s") from None
            except (ssl.SSLError, OSError) as e:
                raise Limit(Kind.CONNECTION, f"TLS failed: {_why(e)}") from None
        lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        try:
            self.sock.settimeout(self._left())
            self.sock.sendall(data)
        except socket.timeout:
            raise Limit(Kind.TIMEOUT, f"request not sent within {self.budget:.3g} s") from None
        except OSError as e:
            raise Limit(Kind.CONNECTION, f"connection broken while sending: {_why(e)}") from None

    # --- receiving --------------------------------------------------------------------------

    def _fill(self) -> bool:
        """One recv into the buffer, waiting at most until the deadline; False at end of stream."""
        assert self.sock is not None
        self.sock.settimeout(self._left())
        try:
            data = self.sock.recv(RECV)
        except socket.timeout:
            raise self._late() from None
        except OSError as e:
            raise Limit(Kind.TRUNCATED if self.answered else Kind.CONNECTION,
                        f"connection broken: {_why(e)}") from None
        if not data:
            return False
        self.buf += data
        return True

    def _line(self, cap: int, what: str) -> bytes:
        """One line (without CRLF) of at most `cap` bytes."""
        scanned = 0
        while True:
            at = self.buf.find(b"\n", scanned)
            if at >= 0:
                if at > cap:
                    break
                line = bytes(self.buf[:at])
                del self.buf[: at + 1]
                return line[:-1] if line.endswith(b"\r") else line
            scanned = len(self.buf)
            if scanned > cap:
                break
            if not self._fill():
                if not self.answered and not self.buf:
                    raise Limit(Kind.CONNECTION, "the server closed the connection without answering")
                raise Limit(Kind.TRUNCATED, f"the connection closed inside {what}")
        raise Limit(Kind.TOO_LARGE, f"{what} longer than {size(cap)}")

    def head(self) -> Head:
        used = 0
        for _ in range(5):  # 1xx interim answers come before the real one
            line = self._line(HEAD_CAP, "the status line")
            used += len(line)
            m = re.fullmatch(rb"HTTP/1\.[01] ([1-5]\d\d)(?: (.*))?", line)
            if not m:
                raise Limit(Kind.PROTOCOL, f"not an HTTP/1.x answer: {_show(line)}")
            self.answered = True
            head = Head(int(m.group(1)), (m.group(2) or b"").decode("latin-1"))
            used = self._headers(head.headers, used)
            if not 100 <= head.status < 200:
                return head
        raise Limit(Kind.PROTOCOL, "more than 5 interim (1xx) answers")

    def _headers(self, into: dict[str, str], used: int) -> int:
        for _ in range(MAX_HEADERS + 1):
            line = self._line(HEAD_CAP - used, "the headers")
            used += len(line) + 2
            if not line:
                return used
            m = re.fullmatch(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*", line)
            if not m:
                raise Limit(Kind.PROTOCOL, f"malformed header line: {_show(line)}")
            name, value = m.group(1).decode("ascii").lower(), m.group(2).decode("latin-1")
            into[name] = f"{into[name]}, {value}" if name in into else value
        raise Limit(Kind.TOO_LARGE, f"more than {MAX_HEADERS} header lines")

    def body(self, head: Head, cap: int, method: str = "GET") -> Iterator[bytes]:
        """The body's bytes as they arrive (de-chunked), at most `cap` in all."""
        if method == "HEAD" or head.status in (204, 304):
            return
        te = head.headers.get("transfer-encoding", "").lower()
        if te:
            if [t.strip() for t in te.split(",")] != ["chunked"]:
                raise Limit(Kind.PROTOCOL, f"unsupported Transfer-Encoding {te!r}")
            yield from self._chunked(cap)
            return
        if "content-length" in head.headers:
            text = head.headers["content-length"]
            if not re.fullmatch(r"\d{1,18}", text):
                raise Limit(Kind.PROTOCOL, f"malformed Content-Length {text[:40]!r}")
            n = int(text)
            if n > cap:
                raise Limit(Kind.TOO_LARGE, f"the answer announces {n} bytes, over the {size(cap)} cap")
            yield from self._exact(n, cap, "the body (Content-Length)")
            return
        while True:  # no framing: the body ends when the server closes
            if self.buf:
                yield self._take(len(self.buf), cap)
            if not self._fill():
                return

    def _take(self, n: int, cap: int) -> bytes:
        piece = bytes(self.buf[:n])
        del self.buf[:n]
        self.body_bytes += len(piece)
        if self.body_bytes > cap:
            raise Limit(Kind.TOO_LARGE, f"the answer is larger than the {size(cap)} cap (stopped reading there)")
        return piece

    def _exact(self, n: int, cap: int, what: str) -> Iterator[bytes]:
        while n > 0:
            if not self.buf and not self._fill():
                raise Limit(Kind.TRUNCATED, f"the connection closed inside {what}, {n} bytes short")
            piece = self._take(min(n, len(self.buf)), cap)
            n -= len(piece)
            yield piece

    def _chunked(self, cap: int) -> Iterator[bytes]:
        while True:
            line = self._line(CHUNK_LINE_CAP, "a chunk-size line")
            text = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,15}", text):
                raise Limit(Kind.PROTOCOL, f"malformed chunk size {_show(line)}")
            n = int(text, 16)
            if n == 0:
                self._headers({}, 0)  # trailers, bounded like headers
                return
            if self.body_bytes + n > cap:
                raise Limit(Kind.TOO_LARGE, f"the answer is larger than the {size(cap)} cap (a chunk of {n} bytes)")
            yield from self._exact(n, cap, "a chunk")
            if self._line(CHUNK_LINE_CAP, "a chunk end"):
                raise Limit(Kind.PROTOCOL, "a chunk is longer than its size says")


def _why(e: BaseException | None) -> str:
    if e is None:
        return "no address"
    text = getattr(e, "strerror", None) or getattr(e, "reason", None) or str(e) or type(e).__name__
    return " ".join(str(text).split())[:160]


def _show(raw: bytes) -> str:
    text = raw[:60].decode("latin-1")
    return repr(text + ("..." if len(raw) > 60 else ""))
