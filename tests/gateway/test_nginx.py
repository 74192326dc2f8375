"""The gateway's nginx configuration, run by real nginx against a recording upstream."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import KEYS
from proxy import NOBODY, SSE_EVENTS, SSE_GAP_S, Nginx, free_port

from recipe.gateway import ERRORS, ROUTES

TIMEOUT_S = 10


def call(gw, path, key=None, method="GET", body=None, headers=None, context=None):
    """One request with the path sent exactly as written (no client-side normalisation)."""
    if gw.gateway.tls:
        conn = http.client.HTTPSConnection("127.0.0.1", gw.port, timeout=TIMEOUT_S, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=TIMEOUT_S)
    h = dict(headers or {})
    if key is not None:
        h["Authorization"] = f"Bearer {key}"
    if body is not None:
        h.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def error_code(body: bytes) -> str:
    err = json.loads(body)["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    return err["code"]


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-a-key-of-this-gateway"},
    {"Authorization": f"Bearer {KEYS[0].upper()}"},  # nginx map strings ignore case: keys must not
    {"Authorization": f"Bearer {KEYS[0]}x"},
    {"Authorization": f"Bearer {KEYS[0][:-1]}"},
    {"Authorization": f"bearer{KEYS[0]}"},
    {"Authorization": KEYS[0]},
    {"Authorization": f"Basic {KEYS[0]}"},
    {"X-Api-Key": KEYS[0]},
], ids=["none", "wrong", "upper-case", "longer", "shorter", "no-space", "no-scheme", "basic", "x-api-key"])
def test_missing_or_wrong_key_is_401_in_openai_shape(gateway, upstream, headers):
    for route, methods in ROUTES.items():
        status, head, body = call(gateway, route, method=methods[0], headers=headers,
                                  body=b"{}" if methods[0] == "POST" else None)
        assert status == 401, (route, body)
        assert head["Content-Type"] == "application/json"
        assert head["WWW-Authenticate"].startswith("Bearer")
        assert error_code(body) == "invalid_api_key"
    assert upstream.seen == []


@pytest.mark.parametrize("key", KEYS, ids=["first", "second"])
def test_a_key_passes_and_the_engine_never_sees_it(gateway, upstream, key):
    status, _, body = call(gateway, "/v1/models", key=key)
    assert status == 200, body
    assert json.loads(body)["data"][0]["id"] == "glm-5-fp8"
    status, _, body = call(gateway, "/v1/chat/completions", key=key, method="POST",
                           body=b'{"model": "glm-5-fp8", "messages": []}')
    assert status == 200, body
    assert upstream.paths() == ["/v1/models", "/v1/chat/completions"]
    assert upstream.seen[1].body == b'{"model": "glm-5-fp8", "messages": []}'
    for seen in upstream.seen:
        assert "Authorization" not in seen.headers and key not in json.dumps(seen.headers)


MANAGEMENT = [
    # vLLM
    "/tokenize", "/detokenize", "/metrics", "/sleep", "/wake_up", "/is_sleeping", "/collective_rpc",
    "/reset_prefix_cache", "/v1/load_lora_adapter", "/v1/unload_lora_adapter", "/scale_elastic_ep",
    "/start_profile", "/stop_profile", "/version", "/docs", "/openapi.json", "/pooling", "/invocations",
    "/v1/embeddings", "/v1/responses", "/v1/audio/transcriptions", "/server_info", "/ping",
    # SGLang
    "/get_server_info", "/flush_cache", "/update_weights_from_disk", "/generate", "/health_generate",
    "/get_model_info", "/v1/rerank", "/shutdown",
]
VARIANTS = [
    "/%74okenize", "//tokenize", "/./tokenize", "/v1/chat/completions/../../tokenize",
    "/v1/models%2F..%2Ftokenize", "/v1/models/%2e%2e/%2e%2e/tokenize", "/v1/models/../../metrics",
    "/health/../sleep", "/%2e%2e/tokenize", "/v1/models/", "/v1/models/glm-5-fp8", "/V1/MODELS",
    "/v1//models/../../collective_rpc", "/health%00", "/v1/chat/completions%3F", "/v1/completions.json",
    "/v1/chat/completions/", "/health/", "/", "",
]


@pytest.mark.parametrize("path", MANAGEMENT + VARIANTS)
@pytest.mark.parametrize("with_key", [True, False], ids=["key", "no-key"])
def test_every_other_route_is_404_and_never_reaches_the_engine(gateway, upstream, path, with_key):
    for method in ("GET", "POST"):
        status, head, body = call(gateway, path or "/", key=KEYS[0] if with_key else None,
                                  method=method, body=b"{}" if method == "POST" else None)
        assert status in (400, 404), (method, path, status, body)
        if status == 404:  # 400: nginx refused to parse the request line (e.g. %00), same outcome
            assert error_code(body) == "not_found"
    assert upstream.seen == []


@pytest.mark.parametrize("path,route", [
    ("/tokenize/../v1/models", "/v1/models"),
    ("/v1/%6dodels", "/v1/models"),
    ("//v1//models", "/v1/models"),
    ("/v1/models?x=/../tokenize", "/v1/models"),
    ("/v1/./chat/completions", "/v1/chat/completions"),
])
def test_the_engine_gets_the_route_as_the_gateway_spells_it(gateway, upstream, path, route):
    """nginx matches the normalised path; the engine must get that path, not the client's spelling."""
    method = ROUTES[route][0]
    status, _, body = call(gateway, path, key=KEYS[1], method=method,
                           body=b"{}" if method == "POST" else None)
    assert status == 200, body
    assert upstream.paths() == [route]


@pytest.mark.parametrize("route", ROUTES)
def test_other_methods_are_405(gateway, upstream, route):
    method = "GET" if "POST" in ROUTES[route] else "DELETE"
    status, _, body = call(gateway, route, key=KEYS[0], method=method)
    assert status == 405
    assert error_code(body) == "method_not_allowed"
    assert upstream.seen == []


def test_streaming_passes_through_unbuffered(gateway, upstream):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=TIMEOUT_S)
    t0 = time.monotonic()
    # As the openai client sends it: gzip offered, which must not be used on an event stream.
    conn.request("POST", "/v1/chat/completions", body=b'{"stream": true}',
                 headers={"Authorization": f"Bearer {KEYS[0]}", "Content-Type": "application/json",
                          "Accept-Encoding": "gzip, deflate"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/event-stream"
    assert resp.getheader("Content-Encoding") is None
    first = resp.readline()
    first_at = time.monotonic()
    rest = resp.read()
    conn.close()
    assert first.startswith(b"data: ")
    assert rest.count(b"data: ") == SSE_EVENTS  # the others and [DONE]
    done_at = upstream.stream_done_at[0]
    # The first event arrives while the engine is still generating the others.
    assert first_at < done_at - (SSE_EVENTS - 2) * SSE_GAP_S, (first_at - t0, done_at - t0)


def test_a_body_over_the_limit_is_413_and_never_reaches_the_engine(make_gateway, upstream):
    gw = make_gateway(max_body="1k")
    status, _, body = call(gw, "/v1/chat/completions", key=KEYS[0], method="POST", body=b"x" * 2048)
    assert status == 413
    assert error_code(body) == "request_too_large"
    status, _, _ = call(gw, "/v1/chat/completions", key=KEYS[0], method="POST", body=b"{}")
    assert status == 200
    assert upstream.paths() == ["/v1/chat/completions"]


def test_rate_limit_per_key(make_gateway, upstream):
    gw = make_gateway(rate_per_minute=6, rate_burst=2)
    statuses = [call(gw, "/v1/models", key=KEYS[0])[0] for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:], statuses
    status, _, body = call(gw, "/v1/models", key=KEYS[0])
    assert status == 429 and error_code(body) == "rate_limit_exceeded"
    # The other key has its own budget.
    assert call(gw, "/v1/models", key=KEYS[1])[0] == 200


def test_engine_down_is_a_json_502(nginx_binary, upstream):
    dead = Nginx({}, KEYS, free_port()).start()  # nothing listens on its upstream port
    try:
        status, _, body = call(dead, "/v1/models", key=KEYS[0])
    finally:
        dead.stop()
    assert status == 502
    assert error_code(body) == "engine_unavailable"


def test_healthcheck_door_is_nginx_itself(gateway, upstream):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.health_port, timeout=TIMEOUT_S)
    conn.request("GET", "/ping")
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read()) == {"status": "ok"}
    conn.close()
    assert upstream.seen == []


def test_tls(make_gateway, upstream):
    folder = Path(tempfile.mkdtemp(prefix="glm5-gateway-tls-"))  # one nobody can enter
    folder.chmod(0o755)
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    if os.geteuid() == 0:
        for f in (cert, key):
            os.chown(f, NOBODY, NOBODY)
    gw = make_gateway(tls_cert=str(cert), tls_key=str(key))
    context = ssl.create_default_context(cafile=str(cert))
    shutil.rmtree(folder)  # nginx and the client have read them
    status, _, body = call(gw, "/v1/models", key=KEYS[0], context=context)
    assert status == 200, body
    assert call(gw, "/v1/models", context=context)[0] == 401
    assert call(gw, "/tokenize", key=KEYS[0], context=context)[0] == 404
    # Plain HTTP on the TLS port gets nothing through.
    plain = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=TIMEOUT_S)
    plain.request("GET", "/v1/models", headers={"Authorization": f"Bearer {KEYS[0]}"})
    assert plain.getresponse().status == 400
    plain.close()
    # The plain port (unpublished in a render, for the sidecar) has the same rules.
    plain = http.client.HTTPConnection("127.0.0.1", gw.plain_port, timeout=TIMEOUT_S)
    for path, key, status in (("/v1/models", KEYS[0], 200), ("/v1/models", None, 401),
                              ("/tokenize", KEYS[0], 404)):
        plain.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
        resp = plain.getresponse()
        resp.read()
        assert resp.status == status, path
    plain.close()
    assert upstream.paths() == ["/v1/models", "/v1/models"]


def test_no_key_in_nginx_output(make_gateway, upstream):
    """Access and error logs: after accepted, refused, 404 and 502 requests, no key anywhere."""
    gw = make_gateway()
    for key in KEYS + ["wrong-key-wrong-key-1234"]:
        call(gw, "/v1/models", key=key)
        call(gw, "/tokenize", key=key)
        call(gw, "/v1/chat/completions", key=key, method="POST", body=b'{"stream": true}')
    gw.stop()
    out = gw.output()
    assert '"GET /v1/models" 200' in out and "key=k1" in out and "key=k2" in out
    for secret in KEYS + ["wrong-key-wrong-key-1234"]:
        assert secret not in out


@pytest.mark.parametrize("content,message", [
    ("", "no key in"),
    ("\n\n", "no key in"),
    ("# a comment is not a key\n", "line 1: a key may hold only letters"),
    ("short\n", "line 1: a key needs 16 to 512 characters, this one has 5"),
    (f"{KEYS[0]}\nbad key with spaces\n", "line 2: a key may hold only letters"),
    (f'{KEYS[0]}"$x;\n', "line 1: a key may hold only letters"),
])
def test_start_refuses_a_bad_key_file_without_printing_it(make_gateway, content, message):
    gw = make_gateway(keys=content.splitlines(), wait=False)
    assert gw.proc.wait(timeout=10) == 1
    out = gw.output()
    assert message in out
    for line in content.splitlines():
        if line:
            assert line not in out


def test_keys_with_windows_line_ends_and_blank_lines(make_gateway, upstream):
    gw = make_gateway(keys=["", KEYS[0] + "\r", ""])
    assert call(gw, "/v1/models", key=KEYS[0])[0] == 200
    assert "1 key(s) loaded" in gw.output()
