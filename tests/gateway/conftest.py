import os
import shutil

import pytest

from proxy import Nginx, start_upstream

# Two keys: one like `make keys` writes, one with every character a key may hold.
KEYS = ["k8Jq2Zr0_Vx-4Lm9Tn7Pw3Hy6Bc1Df5Gs", "Ab.Cd+Ef/Gh=Ij~Kl-Mn_Op0123456789"]


@pytest.fixture(scope="session")
def nginx_binary():
    """Without nginx these tests skip, saying how to get it. CI sets GATEWAY_NGINX_REQUIRED=1, so
    a CI machine without nginx fails here instead of passing on skips."""
    path = shutil.which("nginx")
    if path:
        return path
    reason = "nginx is not installed: apt-get install -y nginx (Debian's package; .ci/run installs it)"
    if os.environ.get("GATEWAY_NGINX_REQUIRED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def upstream():
    up = start_upstream()
    yield up
    up.server.shutdown()


@pytest.fixture
def make_gateway(nginx_binary, upstream):
    """make_gateway(keys=..., **Gateway fields) -> a running Nginx, stopped after the test."""
    started = []

    def make(keys=KEYS, wait=True, **gateway_kwargs) -> Nginx:
        n = Nginx(gateway_kwargs, keys, upstream.port)
        started.append(n)
        return n.start(wait=wait)

    yield make
    for n in started:
        n.stop()


@pytest.fixture(scope="module")
def gateway(nginx_binary, upstream):
    """The default configuration, shared by a module's tests."""
    n = Nginx({}, KEYS, upstream.port).start()
    yield n
    n.stop()


@pytest.fixture(autouse=True)
def _fresh_upstream(upstream):
    upstream.clear()
