"""A misbehaving HTTP server on 127.0.0.1, byte by byte: what no well-behaved framework
(werkzeug, pytest-httpserver) can be made to send. Each route is a function that writes raw
bytes to the socket; the defaults answer like a healthy engine, so a test breaks one route.

    with HostileServer({"/v1/chat/completions": endless_events}) as server:
        ... server.url ...
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from typing import Callable

MODEL = "glm-5-fp8"
MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}).encode()
EVENT = b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]}\n\n'

Route = Callable[["Request"], None]


class Request:
    def __init__(self, sock: socket.socket, method: str, path: str, stop: threading.Event):
        self.sock, self.method, self.path, self.stop = sock, method, path, stop

    def send(self, data: bytes) -> bool:
        """Write; False once the client has gone (or the test ended)."""
        if self.stop.is_set():
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def drip(self, data: bytes, every: float) -> None:
        """One byte at a time, `every` seconds apart, cycling through `data` until the client goes."""
        i = 0
        while not self.stop.wait(every) and self.send(data[i % len(data) : i % len(data) + 1]):
            i += 1

    def forever(self, data: bytes) -> None:
        while self.send(data):
            pass


def head(status: int = 200, headers: dict | None = None, reason: str = "OK") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(body: bytes, status: int = 200, ctype: str = "application/json", extra: dict | None = None) -> Route:
    def route(r: Request) -> None:
        r.send(head(status, {"Content-Type": ctype, "Content-Length": len(body), **(extra or {})}) + body)

    return route


def chunked(ctype: str = "application/json") -> bytes:
    return head(200, {"Content-Type": ctype, "Transfer-Encoding": "chunked"})


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


DEFAULTS: dict[str, Route] = {
    "/health": answer(b""),
    "/v1/models": answer(MODELS),
}


class HostileServer:
    def __init__(self, routes: dict[str, Route]):
        self.routes = {**DEFAULTS, **routes}
        self.stop = threading.Event()
        self.seen: list[str] = []
        self.heads: list[bytes] = []  # each request's head as received
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                outer._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 64

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                piece = sock.recv(65536)
                if not piece:
                    return
                data += piece
            line = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            method, path = line[0], line[1]
            head_end = data.index(b"\r\n\r\n") + 4
            length = 0
            for h in data[:head_end].split(b"\r\n"):
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":", 1)[1])
            while len(data) - head_end < length:
                data += sock.recv(65536)
        except (OSError, ValueError, IndexError):
            return
        self.seen.append(path)
        self.heads.append(data[:head_end])
        route = self.routes.get(path) or answer(b'{"error": "not found"}', 404)
        try:
            route(Request(sock, method, path, self.stop))
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        time.sleep(0.05)
