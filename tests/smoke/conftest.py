"""Fixtures for the sidecar's tests: a fake engine per engine shape, and a CLI runner."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

HERE = Path(__file__).resolve().parent
# Found whatever pytest's import mode: the sidecar package, shapes.py and fake_engine.py.
for p in (str(HERE.parent.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import shapes  # noqa: E402
from fake_engine import MODEL, FakeEngine  # noqa: E402

from smoke.__main__ import main  # noqa: E402


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


def invoke(argv: list[str], environ: dict | None = None):
    """The CLI through Click's CliRunner, with no SMOKE_* variable but those given."""
    env = {k: None for k in os.environ if k.startswith("SMOKE_")}
    env.update(environ or {})
    return CliRunner().invoke(main, argv, env=env, prog_name="python -m smoke", catch_exceptions=False)


@pytest.fixture
def run_smoke(tmp_path):
    """Run the sidecar's CLI in-process against a URL; returns exit code, stdout, report."""

    def _run(base_url: str, *extra: str, model: str = MODEL, environ: dict | None = None) -> Run:
        report = tmp_path / "report.json"
        argv = ["--base-url", base_url, "--model", model, "--report", str(report)]
        argv += ["--deadline", "5", "--poll-interval", "0.05", "--timeout", "5", *extra]
        result = invoke(argv, environ)
        data = json.loads(report.read_text()) if report.exists() else None
        return Run(result.exit_code, result.output, data)

    return _run

