"""Readiness: wait through a load with progress, give up at the deadline with exit 3."""

import io

from fake_engine import MODEL
from smoke.client import Client
from smoke.ready import wait_ready

QUICK = ["--deadline", "1"]


def test_a_server_that_refuses_connections_is_never_ready(free_port, run_smoke):
    # vLLM binds its port only once the weights are loaded.
    run = run_smoke(f"http://127.0.0.1:{free_port}", *QUICK)
    assert run.code == 3, run.out
    assert run.report["verdict"] == "not-ready"
    readiness = run.check("readiness")
    assert readiness["status"] == "FAIL"
    assert "waiting for /health (last: connection refused)" in readiness["detail"]
    assert "did not become ready before --deadline" in readiness["hint"]
    assert {c["status"] for c in run.report["checks"][1:]} == {"SKIP"}


def test_a_server_that_stays_503_is_never_ready(engine, run_smoke):
    # SGLang answers 503 while it starts; so does vLLM once its engine died.
    engine.health = 503
    run = run_smoke(engine.url, *QUICK)
    assert run.code == 3, run.out
    assert "(last: HTTP 503)" in run.check("readiness")["detail"]
    assert not engine.seen, "no check may run before the server is ready"


def test_a_server_serving_another_name_is_never_ready_and_says_so(engine, run_smoke):
    engine.models = ["zai-org/GLM-5-FP8"]
    run = run_smoke(engine.url, *QUICK)
    assert run.code == 3, run.out
    assert "serves ['zai-org/GLM-5-FP8'], not 'glm-5-fp8'" in run.check("readiness")["detail"]
    assert "--served-model-name" in run.check("readiness")["hint"]


def test_a_refused_api_key_ends_the_wait_at_once(engine, run_smoke):
    engine.models_status = 401
    run = run_smoke(engine.url, "--deadline", "30")
    assert run.code == 3, run.out
    assert run.check("readiness")["latency_s"] < 5
    assert "--api-key / SMOKE_API_KEY" in run.check("readiness")["hint"]


def test_a_server_that_finishes_loading_passes(engine, run_smoke):
    engine.health_sequence = [503] * 5
    run = run_smoke(engine.url)
    assert run.code == 0, run.out
    assert "waiting for /health (last: HTTP 503)" in run.out
    assert "ready after" in run.check("readiness")["detail"]


def test_progress_comes_at_a_steady_pace(engine):
    """A line at once, then one per progress interval while nothing changes."""
    engine.health = 503
    now = [0.0]
    out = io.StringIO()
    result = wait_ready(
        Client(engine.url, timeout=5),
        MODEL,
        deadline_s=100,
        poll_s=5,
        out=out,
        progress_s=30,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert not result.ready
    stamps = [line.split()[1] for line in out.getvalue().splitlines()]
    assert stamps == ["0:00:00", "0:00:30", "0:01:00", "0:01:30"]
    assert all("waiting for /health (last: HTTP 503)" in line for line in out.getvalue().splitlines())
