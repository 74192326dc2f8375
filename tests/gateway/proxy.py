"""Real nginx on 127.0.0.1 with the rendered configuration, in front of a recording upstream.

No Docker: the host's nginx (Debian's package, as in the rehearsal image) runs the gateway's own
start script as a non-root user, exactly as the container does. The upstream is a fake engine
(a threaded HTTP server) that records every request that reached it and streams SSE slowly.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from recipe.gateway import CONF_ENV, Gateway
from recipe.render import nginx_conf, ROOT

START_SCRIPT = ROOT / "templates" / "gateway-start.sh"
NOBODY = 65534  # the user nginx runs as when the tests run as root
SSE_EVENTS = 5
SSE_GAP_S = 0.4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Upstream:
    """The fake engine: answers the serving routes, records everything, and notes when a stream ended."""

    server: ThreadingHTTPServer
    seen: list[Seen] = field(default_factory=list)
    stream_done_at: list[float] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def clear(self) -> None:
        self.seen.clear()
        self.stream_done_at.clear()


def start_upstream() -> Upstream:
    up: Upstream

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _record(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            up.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            return body

        def _json(self, status: int, obj) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._record()
            if self.path == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": "glm-5-fp8", "object": "model"}]})
            elif self.path == "/health":
                self._json(200, {})
            else:  # an engine would answer its management routes: the test must never get here
                self._json(200, {"leaked": self.path})

        do_HEAD = do_GET

        def do_POST(self):
            body = self._record()
            if self.path == "/v1/chat/completions" and b'"stream": true' in body:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(SSE_EVENTS):
                    event = f"data: {json.dumps({'choices': [{'delta': {'content': str(i)}}]})}\n\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event.encode()))
                    self.wfile.flush()
                    time.sleep(SSE_GAP_S)
                # Stamped before the last write: once it is written the client may read the
                # whole stream and look here before this thread runs again.
                up.stream_done_at.append(time.monotonic())
                done = b"data: [DONE]\n\n"
                self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
                self.wfile.flush()
            elif self.path in ("/v1/chat/completions", "/v1/completions"):
                self._json(200, {"choices": [{"message": {"content": "ok"}}]})
            else:
                self._json(200, {"leaked": self.path})

        do_PUT = do_DELETE = do_POST

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    up = Upstream(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return up


class Nginx:
    """One nginx process running the gateway's start script with a rendered configuration."""

    def __init__(self, gateway_kwargs: dict, keys: list[str], upstream_port: int):
        self.dir = Path(tempfile.mkdtemp(prefix="glm5-gateway-"))
        self.plain_port = free_port()
        self.health_port = free_port()
        self.keys_file = self.dir / "api-keys"
        self.keys_file.write_text("".join(k + "\n" for k in keys))
        self.keys_file.chmod(0o600)
        self.gateway = Gateway(upstream=f"127.0.0.1:{upstream_port}", listen=self.plain_port,
                               tls_listen=free_port(), health_port=self.health_port,
                               run_dir=str(self.dir / "run"), **gateway_kwargs)
        self.port = self.gateway.published
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(nginx_conf(self.gateway))
        self.log = self.dir / "out.log"
        self.proc = None
        self.final_output = None

    def _as_user(self) -> list[str]:
        """Non-root like the container: as root, drop to nobody (the files become nobody's)."""
        if os.geteuid() != 0:
            return []
        for path in (self.dir, self.keys_file):
            os.chown(path, NOBODY, NOBODY)
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]

    def start(self, wait: bool = True) -> "Nginx":
        self.proc = subprocess.Popen(
            [*self._as_user(), "sh", str(START_SCRIPT), str(self.keys_file), self.gateway.run_dir],
            stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, CONF_ENV: self.conf.read_text()},
        )
        if wait:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx exited {self.proc.returncode}: {self.output()}")
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            raise RuntimeError(f"nginx did not listen on {self.port} within 10 s: {self.output()}")
        return self

    def output(self) -> str:
        if self.final_output is not None:
            return self.final_output
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # nginx: fast shutdown; cat ends when the FIFO closes
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.final_output is None:
            self.final_output = self.output()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.gateway.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"
