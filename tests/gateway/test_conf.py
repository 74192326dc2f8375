"""The rendered nginx configuration as text, and nginx's own syntax check on every variant."""

import json
import re
import shutil
import subprocess

import pytest

from recipe.gateway import ERRORS, ROUTES, Gateway, error_body
from recipe.render import nginx_conf

VARIANTS = {
    "plain": Gateway(upstream="engine:8000"),
    "tls": Gateway(upstream="engine:8000", tls_cert="/run/secrets/tls_cert", tls_key="/run/secrets/tls_key"),
    "rate": Gateway(upstream="engine:30000", rate_per_minute=120, rate_burst=10),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_only_the_serving_routes_reach_the_engine(name):
    conf = nginx_conf(VARIANTS[name])
    locations = re.findall(r"^\s*location (.+?) \{", conf, re.M)
    exact = [loc[2:] for loc in locations if loc.startswith("= ")]
    assert exact == [*ROUTES, "/ping"]
    assert locations.count("/") == 2  # the catch-alls of the two servers
    # proxy_pass appears once per route, with the route's literal path.
    passes = re.findall(r"proxy_pass (\S+);", conf)
    assert passes == [f"http://$engine{route}" for route in ROUTES]
    assert "location / {\n            return 404;\n        }" in conf
    for route in ROUTES:
        block = conf.split(f"location = {route} {{", 1)[1].split("\n        }", 1)[0]
        assert 'if ($api_key_id = "") { return 401; }' in block


@pytest.mark.parametrize("name", VARIANTS)
def test_streaming_timeouts_and_limits(name):
    conf = nginx_conf(VARIANTS[name])
    for line in ("proxy_buffering off;", "gzip off;", "proxy_http_version 1.1;",
                 'proxy_set_header Authorization "";', "proxy_read_timeout 1800s;",
                 "client_max_body_size 16m;"):
        assert line in conf


def test_no_log_format_holds_a_credential():
    conf = nginx_conf(VARIANTS["plain"])
    fmt = conf.split("log_format gateway", 1)[1].split(";", 1)[0]
    for leak in ("$http_authorization", "$request ", "$request_uri", "$args", "$query_string",
                 "$http_", "$request_body"):
        assert leak not in fmt
    assert conf.count("log_format") == 1 and conf.count("access_log") == 2  # ours, and off


def test_tls_and_rate_limit_only_when_asked():
    plain, tls, rate = (nginx_conf(VARIANTS[n]) for n in ("plain", "tls", "rate"))
    assert "ssl" not in plain and "limit_req" not in plain
    assert "listen 8443 ssl;" in tls and "ssl_certificate_key /run/secrets/tls_key;" in tls
    assert "listen 8080;" in tls  # the unpublished plain port for the sidecar
    assert "rate=120r/m" in rate and rate.count("limit_req zone=per_key burst=10 nodelay;") == len(ROUTES)


@pytest.mark.parametrize("name", ERRORS)
def test_error_bodies_are_openai_shaped_json(name):
    status, code, _ = ERRORS[name]
    conf = nginx_conf(VARIANTS["plain"])
    body = re.search(rf"location @{name} \{{.*?return {status} '(.*?)\\n';", conf, re.S).group(1)
    err = json.loads(body)["error"]
    assert err["code"] == code and err["message"] and err["type"] == "invalid_request_error"


def test_error_body_refuses_what_nginx_would_reinterpret():
    with pytest.raises(ValueError, match="reinterpret"):
        error_body("x", "costs $5")


def test_render_is_deterministic():
    assert nginx_conf(VARIANTS["tls"]) == nginx_conf(VARIANTS["tls"])


@pytest.fixture
def nginx_t(tmp_path):
    """nginx -t on a rendered config (run_dir in tmp_path, an empty key map in place)."""
    if not shutil.which("nginx"):
        pytest.skip("nginx is not installed: apt-get install -y nginx")

    def check(conf: str) -> subprocess.CompletedProcess:
        (tmp_path / "run").mkdir(exist_ok=True)
        (tmp_path / "run" / "keys.map").write_text('"~^Bearer abcdefghijklmnop$" k1;\n')
        path = tmp_path / "nginx.conf"
        path.write_text(conf)
        return subprocess.run(["nginx", "-t", "-e", "stderr", "-c", str(path)], capture_output=True,
                              text=True, timeout=30)

    return check


@pytest.mark.parametrize("name", ["plain", "rate"])
def test_nginx_accepts_each_variant(nginx_t, tmp_path, name):
    g = VARIANTS[name]
    g = Gateway(**{**g.__dict__, "run_dir": str(tmp_path / "run")})
    result = nginx_t(nginx_conf(g))
    assert result.returncode == 0, result.stderr


def test_nginx_rejects_a_broken_config(nginx_t, tmp_path):
    conf = nginx_conf(Gateway(upstream="engine:8000", run_dir=str(tmp_path / "run")))
    result = nginx_t(conf.replace("proxy_buffering off;", "proxy_buffering sometimes;"))
    assert result.returncode != 0 and "proxy_buffering" in result.stderr
