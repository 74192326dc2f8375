"""A fake engine on a real local HTTP server: correct by default, broken on request.

Tests break it at the level of meaning (`engine.replies[("c", True)] = Reply(...)`) so that
the shapes in `shapes.py` render the breakage the way each engine would, or at the HTTP level
(`engine.raw[...] = handler`) for 500s, HTML, truncated streams and hangs.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

HERE = Path(__file__).resolve().parent
# Found whatever pytest's import mode: the sidecar package and the shapes module.
for p in (str(HERE.parent.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import shapes  # noqa: E402
from smoke.__main__ import main  # noqa: E402

MODEL = "glm-5-fp8"


class FakeEngine:
    def __init__(self, server: HTTPServer, engine: str):
        self.server = server
        self.engine = engine
        self.models = [MODEL]
        self.health = 200
        self.health_sequence: list[int] = []  # statuses served before `health`
        self.models_status = 200
        # vLLM lists the context length with the model (GLM-5's is 202752); SGLang does not.
        self.max_model_len = 202752 if engine == "vllm" else None
        self.delay = 0.0  # seconds before each chat answer
        # (kind, stream) -> Reply; missing keys fall back to the script.
        self.replies: dict[tuple[str, bool], shapes.Reply] = {}
        # (kind, stream) -> handler(request) -> Response, for answers no engine shape makes.
        self.raw: dict = {}
        # kind -> edit(chunks) -> chunks, for streams that no Reply can express.
        self.edit_chunks: dict = {}
        self.seen: list[dict] = []
        self.release = threading.Event()  # lets hanging handlers go at teardown
        self.lock = threading.Lock()
        server.expect_request("/health").respond_with_handler(self._health)
        server.expect_request("/v1/models").respond_with_handler(self._models)
        server.expect_request("/version").respond_with_handler(self._version)
        server.expect_request("/server_info").respond_with_handler(self._server_info)
        server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(self._chat)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def reply(self, kind: str, reply: shapes.Reply, stream: bool | None = None) -> None:
        """Make the model answer `kind` requests with `reply` (streamed, not, or both)."""
        for s in (False, True) if stream is None else (stream,):
            self.replies[(kind, s)] = reply

    def _health(self, request: Request) -> Response:
        with self.lock:
            status = self.health_sequence.pop(0) if self.health_sequence else self.health
        return Response("", status=status)

    def _models(self, request: Request) -> Response:
        if self.models_status != 200:
            return Response('{"error": "unauthorized"}', status=self.models_status, content_type="application/json")
        data = [{"id": m, "object": "model", "owned_by": self.engine, "root": "zai-org/GLM-5-FP8"} for m in self.models]
        if self.max_model_len:
            for m in data:
                m["max_model_len"] = self.max_model_len
        return Response(json.dumps({"object": "list", "data": data}), content_type="application/json")

    def _version(self, request: Request) -> Response:
        if self.engine == "vllm":
            return Response(json.dumps({"version": "0.32.0"}), content_type="application/json")
        return Response("Not Found", status=404)

    def _server_info(self, request: Request) -> Response:
        if self.engine == "sglang":
            info = {"version": "0.5.23", "tool_call_parser": "glm47", "reasoning_parser": "glm45", "tp_size": 8}
            return Response(json.dumps(info), content_type="application/json")
        return Response("Not Found", status=404)

    def _chat(self, request: Request) -> Response:
        body = request.get_json()
        with self.lock:
            self.seen.append({"body": body, "auth": request.headers.get("Authorization")})
        if self.delay:
            time.sleep(self.delay)
        kind, stream = shapes.kind_of(body), bool(body.get("stream"))
        if (kind, stream) in self.raw:
            return self.raw[(kind, stream)](request)
        reply = self.replies.get((kind, stream), shapes.SCRIPT[kind])
        if stream:
            payloads = shapes.chunks(self.engine, reply, body["model"])
            if kind in self.edit_chunks:
                payloads = self.edit_chunks[kind](payloads)
            lines = shapes.sse(payloads)
            return Response(iter(lines), content_type="text/event-stream")
        payload = shapes.completion(self.engine, reply, body["model"])
        return Response(json.dumps(payload, ensure_ascii=False), content_type="application/json")


@pytest.fixture(scope="session")
def http_server():
    # One server for the session: stopping one costs werkzeug's 0.5 s shutdown poll.
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=shapes.ENGINES)
def engine(request, http_server):
    """A correct engine in each shape; tests break it."""
    http_server.clear()
    fake = FakeEngine(http_server, request.param)
    yield fake
    fake.release.set()  # hanging handlers answer (to nobody) and free their threads
    http_server.clear()


@pytest.fixture
def free_port() -> int:
    """A port nobody listens on: what vLLM looks like while it loads."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    def __init__(self, code: int, out: str, report: dict | None):
        self.code, self.out, self.report = code, out, report

    def check(self, name: str) -> dict:
        return next(c for c in self.report["checks"] if c["name"] == name)

    def status(self, name: str) -> str:
        return self.check(name)["status"]

    def statuses(self) -> dict[str, str]:
        return {c["name"]: c["status"] for c in self.report["checks"]}

    def failed(self) -> set[str]:
        return {n for n, s in self.statuses().items() if s == "FAIL"}


@pytest.fixture
def run_smoke(tmp_path):
    """Run the sidecar's CLI in-process against a URL; returns exit code, stdout, report."""

    def _run(base_url: str, *extra: str, model: str = MODEL, environ: dict | None = None) -> Run:
        report = tmp_path / "report.json"
        argv = ["--base-url", base_url, "--model", model, "--report", str(report)]
        argv += ["--deadline", "5", "--poll-interval", "0.05", "--timeout", "5", *extra]
        out = io.StringIO()
        code = main(argv, environ=environ or {}, out=out)
        data = json.loads(report.read_text()) if report.exists() else None
        return Run(code, out.getvalue(), data)

    return _run

