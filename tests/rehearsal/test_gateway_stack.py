"""The rehearsal stack with --gateway, from outside, on the real Docker daemon and the real proxy.

scripts/rehearse.sh gateway starts it (engine + nginx gateway, TLS with a self-signed pair) and
sets REHEARSAL_BASE_URL (https), REHEARSAL_CA (the certificate), REHEARSAL_KEYS (the key file)
and REHEARSAL_COMPOSE_FILE. A key is read from the file and never printed: failures show
statuses and paths only.
"""

import http.client
import json
import os
import ssl
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.docker

TIMEOUT_S = 120
ROOT = Path(__file__).resolve().parents[2]


def env(name: str) -> str:
    value = os.environ.get(name)
    assert value, f"run through scripts/rehearse.sh gateway (make rehearse-gateway), which sets {name}"
    return value


@pytest.fixture(scope="module")
def stack():
    url = urlsplit(env("REHEARSAL_BASE_URL"))
    assert url.scheme == "https"
    key = Path(env("REHEARSAL_KEYS")).read_text().splitlines()[0].strip()
    context = ssl.create_default_context(cafile=env("REHEARSAL_CA"))
    return dict(host=url.hostname, port=url.port, key=key, context=context,
                compose_file=env("REHEARSAL_COMPOSE_FILE"))


def call(stack, path, key=None, method="GET", body=None, tls=True):
    if tls:
        conn = http.client.HTTPSConnection(stack["host"], stack["port"], timeout=TIMEOUT_S,
                                           context=stack["context"])
    else:
        conn = http.client.HTTPConnection(stack["host"], stack["port"], timeout=TIMEOUT_S)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def compose(stack, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "compose", "-f", stack["compose_file"], *args],
                          capture_output=True, text=True, timeout=timeout)


def test_a_key_gets_the_model_list(stack):
    status, body = call(stack, "/v1/models", key=stack["key"])
    assert status == 200
    assert [m["id"] for m in json.loads(body)["data"]] == ["glm-5-fp8"]


@pytest.mark.parametrize("key", [None, "glm5-not-a-key-of-this-gateway-000000"], ids=["no-key", "wrong-key"])
@pytest.mark.parametrize("path,method", [("/v1/models", "GET"), ("/v1/chat/completions", "POST"),
                                         ("/health", "GET")])
def test_no_key_or_a_wrong_one_is_401(stack, key, path, method):
    status, body = call(stack, path, key=key, method=method, body=b"{}" if method == "POST" else None)
    assert status == 401
    assert json.loads(body)["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("path", [
    "/tokenize", "/detokenize", "/metrics", "/collective_rpc", "/sleep", "/version", "/docs",
    "/%74okenize", "/%2e%2e/tokenize", "//tokenize", "/v1/chat/completions/../../tokenize",
    "/v1/models%2F..%2Ftokenize", "/v1/../collective_rpc",
])
def test_management_routes_are_404_even_with_the_key(stack, path):
    for method in ("GET", "POST"):
        status, body = call(stack, path, key=stack["key"], method=method,
                            body=b"{}" if method == "POST" else None)
        if path.startswith("/%2e%2e/"):  # above the root: nginx refuses the request line itself
            assert status == 400, (method, path)
            continue
        assert status == 404, (method, path)
        assert json.loads(body)["error"]["code"] == "not_found"


def test_plain_http_on_the_tls_port_gets_nothing(stack):
    status, _ = call(stack, "/v1/models", key=stack["key"], tls=False)
    assert status == 400


def test_streaming_through_tls_arrives_in_pieces(stack):
    conn = http.client.HTTPSConnection(stack["host"], stack["port"], timeout=TIMEOUT_S,
                                       context=stack["context"])
    body = json.dumps({"model": "glm-5-fp8", "stream": True, "max_tokens": 64,
                       "messages": [{"role": "user", "content": "Write a quicksort in Rust"}],
                       "chat_template_kwargs": {"enable_thinking": False}})
    conn.request("POST", "/v1/chat/completions", body=body,
                 headers={"Authorization": f"Bearer {stack['key']}", "Content-Type": "application/json",
                          "Accept-Encoding": "gzip"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    assert resp.getheader("Content-Encoding") is None
    events, content = [], []
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        line = resp.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            events.append(line)
            if line.strip() == b"data: [DONE]":
                break
            delta = json.loads(line[6:])["choices"][0]["delta"]
            content.append(delta.get("content") or "")
    conn.close()
    assert events and events[-1].strip() == b"data: [DONE]"
    assert len(events) >= 4 and "".join(content).strip()
    # That events arrive one by one while the engine still generates is timed in tests/gateway
    # against a slow upstream: the tiny model answers in a few milliseconds.


def test_the_engine_publishes_nothing(stack):
    ps = compose(stack, "ps", "--format", "json")
    assert ps.returncode == 0, ps.stderr
    rows = [json.loads(line) for line in ps.stdout.splitlines() if line.strip()]
    published = {r["Service"]: [p for p in r.get("Publishers") or [] if p.get("PublishedPort")] for r in rows}
    assert published.get("engine") == []
    assert [p["PublishedPort"] for p in published["gateway"]] == [stack["port"]]


def test_the_gateway_runs_as_non_root(stack):
    result = compose(stack, "exec", "-T", "gateway", "id", "-u")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != "0"


def test_no_key_in_inspect_logs_reports_or_the_render(stack):
    keys = [k.strip() for k in Path(env("REHEARSAL_KEYS")).read_text().splitlines() if k.strip()]
    ids = compose(stack, "ps", "-a", "-q").stdout.split()
    assert ids
    places = {
        "docker inspect": subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True,
                                         timeout=60).stdout,
        "compose logs": compose(stack, "logs", "--no-color", "--no-log-prefix").stdout,
        "compose config": compose(stack, "config").stdout,
        "the render": Path(stack["compose_file"]).read_text(),
    }
    for report in (ROOT / "reports").glob("*.json"):
        places[str(report)] = report.read_text()
    assert "key=k1" in places["compose logs"]  # the gateway's access log names the key by number
    for where, text in places.items():
        for key in keys:
            assert key not in text, f"an API key appears in {where}"
