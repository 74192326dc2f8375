"""python -m bench: refusals (exact text, exit 2, nothing written), an unreachable server
(exit 3), and the whole flow against a fake engine (recorded /metrics pages) with a fake
`aiperf` on PATH that writes AIPerf's recorded summary or fails: the fakes inject the
outcomes; the real AIPerf against the real vLLM server runs in `make bench-rehearsal-run`."""

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.__main__ import main

FIXTURES = Path(__file__).parent / "fixtures"


def invoke(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


@pytest.mark.parametrize("args, message", [
    (["--base-url", "localhost:8000", "--model", "m"],
     "Error: --base-url 'localhost:8000': expected http://host:port. "
     "Fix: give the server root, e.g. http://127.0.0.1:8000"),
    (["--base-url", "http://h:8000", "--model", "m", "--concurrency", "1,0"],
     "Error: --concurrency '1,0': expected positive whole numbers separated by commas. "
     "Fix: e.g. --concurrency 1,4,16"),
    (["--base-url", "http://h:8000", "--model", "m", "--concurrency", "4\n"],
     "Error: --concurrency '4\\n': expected positive whole numbers separated by commas. "
     "Fix: e.g. --concurrency 1,4,16"),
    (["--base-url", "http://h:8000", "--model", "m", "--hardware", "H200"],
     "Error: --hardware 'H200': expected COUNTxTYPE. Fix: e.g. --hardware 8xH200"),
    (["--base-url", "http://user:secret@h:8000 x", "--model", "m"],
     "Error: --base-url 'http://***@h:8000 x': expected http://host:port. "
     "Fix: give the server root, e.g. http://127.0.0.1:8000"),
])
def test_refusals(args, message, tmp_path):
    os.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message
    assert "secret" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_unknown_workload_is_a_usage_error():
    result = invoke("--base-url", "http://h:8000", "--model", "m", "--workload", "chat")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--workload' (env var: 'BENCH_WORKLOADS'): 'chat' is not one "
        "of 'chat-1k1k', 'long-8k1k', 'rehearsal'.")


def test_help_names_the_workloads_and_exit_codes():
    out = invoke("--help").output
    for text in ("chat-1k1k", "long-8k1k", "rehearsal", "Exit codes", "BENCH_BASE_URL"):
        assert text in out


FAKE_AIPERF = """#!{python}
import shutil, sys
args = sys.argv[1:]
if {fail}:
    print("aiperf: something broke", file=sys.stderr)
    sys.exit(1)
out = args[args.index("--artifact-dir") + 1]
shutil.copy({summary!r}, out + "/profile_export_aiperf.json")
"""


def fake_aiperf(folder: Path, fail: bool = False) -> dict:
    folder.mkdir()
    script = folder / "aiperf"
    script.write_text(FAKE_AIPERF.format(python=sys.executable, fail=fail,
                                         summary=str(FIXTURES / "aiperf-0.13.0-summary.json")))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture
def engine(httpserver):
    """A fake vLLM: /v1/models, and /metrics answering the recorded pages before and after."""
    httpserver.expect_request("/v1/models").respond_with_json(
        {"object": "list", "data": [{"id": "glm-5-fp8", "root": "glm5-compose/tiny-glm5"}]})
    pages = [(FIXTURES / f"vllm-0.32-cpu-ngram-{w}.prom").read_text() for w in ("before", "after")]
    calls = {"n": 0}

    def metrics_page(_request):
        from werkzeug import Response
        calls["n"] += 1
        return Response(pages[0] if calls["n"] == 1 else pages[1], content_type="text/plain")

    httpserver.expect_request("/metrics").respond_with_handler(metrics_page)
    return httpserver


def test_unreachable_server_exits_3(tmp_path):
    env = fake_aiperf(tmp_path / "bin")
    result = invoke("--base-url", "http://127.0.0.1:9", "--model", "m", "--reports",
                    str(tmp_path / "r"), env=env)
    assert result.exit_code == 3
    assert result.output.startswith("Error: GET http://127.0.0.1:9/v1/models: ")
    assert result.output.rstrip().endswith("Fix: start the server (make up) or check --base-url and --model")


def test_a_model_the_server_does_not_serve_exits_3(engine, tmp_path):
    env = fake_aiperf(tmp_path / "bin")
    result = invoke("--base-url", engine.url_for("/"), "--model", "glm-5", "--reports",
                    str(tmp_path / "r"), env=env)
    assert result.exit_code == 3
    assert "the server does not serve 'glm-5' (it serves: glm-5-fp8)" in result.output


def test_whole_flow_writes_json_table_and_plot(engine, tmp_path):
    pytest.importorskip("matplotlib")
    env = fake_aiperf(tmp_path / "bin")
    reports = tmp_path / "r"
    result = invoke("--base-url", engine.url_for("/v1"), "--model", "glm-5-fp8", "--workload",
                    "rehearsal", "--concurrency", "4", "--reports", str(reports), env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(next(reports.glob("bench-*.json")).read_text())
    assert doc["tokenizer"] == "glm5-compose/tiny-glm5"  # from /v1/models' root
    assert doc["engine"] == "vllm" and doc["ok"] is True
    (lvl,) = doc["levels"]
    assert lvl["engine"]["acceptance_length"] == pytest.approx(1 + 22 / 61)
    assert lvl["client"]["completed"] == 12
    assert next(reports.glob("bench-*.png")).read_bytes()[:4] == b"\x89PNG"
    assert "| rehearsal | 4 | 12/0 |" in next(reports.glob("bench-*.md")).read_text()


def test_a_failed_level_exits_1_and_is_in_the_report(engine, tmp_path):
    pytest.importorskip("matplotlib")
    env = fake_aiperf(tmp_path / "bin", fail=True)
    reports = tmp_path / "r"
    result = invoke("--base-url", engine.url_for("/"), "--model", "glm-5-fp8", "--workload",
                    "rehearsal", "--concurrency", "1", "--reports", str(reports), env=env)
    assert result.exit_code == 1
    doc = json.loads(next(reports.glob("bench-*.json")).read_text())
    assert doc["ok"] is False
    assert doc["levels"][0]["error"] == "aiperf exited 1: aiperf: something broke"
    assert shutil.which("aiperf", path=env["PATH"])
