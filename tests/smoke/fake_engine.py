"""The fake engine: a real local HTTP server answering like vLLM or SGLang, correct by default.

Tests break it at the level of meaning (`engine.reply(kind, Reply(...))`) so that `shapes.py`
renders the breakage the way each engine would, or at the HTTP level (`engine.raw[...]`) for
500s, HTML, truncated streams and hangs. (Own module, not conftest: test files import it, and
`conftest` is a name other test folders use too.)
"""

from __future__ import annotations

import json
import re
import threading
import time

import shapes
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

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
        # How the chat template gets a tool message's content: see shapes.prompt.
        self.tool_content = "string"
        self.tokenize_status = 200  # e.g. 404: an engine without /tokenize
        self.seen_tokenize: list[dict] = []
        # A key makes it act like the gateway: /v1 routes want `Bearer <key>` (401 otherwise)
        # and every path it does not serve is 404. `open_routes` lets management routes reach
        # "the engine" instead (405 to a GET, as vLLM answers), as without a gateway.
        self.api_key: str | None = None
        self.any_key = False  # a broken gateway: any bearer key passes
        self.refusal = 401
        self.open_routes = False
        self.open_raw: set[str] = set()  # request targets, as sent, that slip through to "the engine"
        self.metrics: str | None = None  # /metrics text; None: 404
        self.metrics_after: str | None = None  # served from the second read on, if set
        self.metrics_reads = 0
        self.seen: list[dict] = []  # chat requests
        self.release = threading.Event()  # lets hanging handlers go at teardown
        self.lock = threading.Lock()
        server.expect_request("/health").respond_with_handler(self._health)
        server.expect_request("/v1/models").respond_with_handler(self._models)
        server.expect_request("/version").respond_with_handler(self._version)
        server.expect_request("/server_info").respond_with_handler(self._server_info)
        server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(self._chat)
        server.expect_request("/tokenize", method="POST").respond_with_handler(self._tokenize)
        server.expect_request("/detokenize", method="POST").respond_with_handler(self._detokenize)
        server.expect_request("/metrics").respond_with_handler(self._metrics)
        server.expect_request(re.compile(".*")).respond_with_handler(self._other)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def reply(self, kind: str, reply: shapes.Reply, stream: bool | None = None) -> None:
        """Make the model answer `kind` requests with `reply` (streamed, not, or both)."""
        for s in (False, True) if stream is None else (stream,):
            self.replies[(kind, s)] = reply

    def _refused(self, request: Request) -> Response | None:
        given = request.headers.get("Authorization") or ""
        if self.api_key is None or given == f"Bearer {self.api_key}" or (self.any_key and given.startswith("Bearer ")):
            return None
        error = {"error": {"message": "Invalid or missing API key", "type": "invalid_request_error",
                           "code": self.refusal}}
        return Response(json.dumps(error), status=self.refusal, content_type="application/json")

    def _other(self, request: Request) -> Response:
        route = request.path.rsplit("/", 1)[-1]
        raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
        if (self.open_routes and route in ("tokenize", "collective_rpc")) or raw in self.open_raw:
            return Response('{"detail":"Method Not Allowed"}', status=405, content_type="application/json")
        return Response('{"error": "not found"}', status=404, content_type="application/json")

    def _metrics(self, request: Request) -> Response:
        with self.lock:
            self.metrics_reads += 1
            text = self.metrics_after if self.metrics_reads > 1 and self.metrics_after is not None else self.metrics
        if text is None:
            return Response("Not Found", status=404)
        return Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")

    def _health(self, request: Request) -> Response:
        with self.lock:
            status = self.health_sequence.pop(0) if self.health_sequence else self.health
        return Response("", status=status)

    def _models(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
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

    def _tokenize(self, request: Request) -> Response:
        body = request.get_json()
        with self.lock:
            self.seen_tokenize.append({"body": body, "auth": request.headers.get("Authorization")})
        if self.tokenize_status != 200:
            return Response('{"detail": "Not Found"}', status=self.tokenize_status, content_type="application/json")
        # One token per character: enough for /detokenize to give the prompt back.
        tokens = [ord(c) for c in shapes.prompt(body, self.tool_content)]
        answer = {"count": len(tokens), "max_model_len": self.max_model_len or 202752, "tokens": tokens}
        if self.engine == "vllm":
            answer["token_strs"] = None
        return Response(json.dumps(answer), content_type="application/json")

    def _detokenize(self, request: Request) -> Response:
        text = "".join(chr(t) for t in request.get_json()["tokens"])
        key = "prompt" if self.engine == "vllm" else "text"  # vLLM's and SGLang's answers
        return Response(json.dumps({key: text}), content_type="application/json")

    def _chat(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
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
