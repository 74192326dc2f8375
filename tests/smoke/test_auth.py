"""The auth check: through a gateway with a key, no key and a wrong key get 401 and every
management route (plain, percent-encoded, behind a dot segment) gets 404. The fake engine
plays the gateway (engine.api_key) and breaks it one way per case."""

import json

import pytest

from smoke import hints
from smoke.client import WRONG_KEY

KEY = "sk-gateway-key-0123"


@pytest.fixture
def gateway(engine):
    engine.api_key = KEY
    return engine


def test_a_gateway_that_refuses_and_hides_passes(gateway, run_smoke):
    run = run_smoke(gateway.url, "--api-key", KEY)
    assert run.code == 0, run.out
    assert run.check("auth")["detail"] == (
        "no key and a wrong key: 401; /tokenize, /collective_rpc, /%74okenize, /v1/../tokenize: 404"
    )
    sent = {r["probe"]: r for r in run.report["requests"]}
    assert {sent[p]["status"] for p in ("auth-none", "auth-wrong")} == {401}
    assert KEY not in run.out + json.dumps(run.report) and WRONG_KEY != KEY


def test_without_a_key_the_check_skips(engine, run_smoke):
    run = run_smoke(engine.url)
    assert run.status("auth") == "SKIP"
    assert run.check("auth")["detail"] == "no --api-key-file / --api-key: no gateway to test"


def _breaks(engine, how):
    if how == "no gateway at all":
        engine.api_key = None
    elif how == "any key passes":
        engine.any_key = True
    elif how == "403, not 401":
        engine.refusal = 403
    elif how == "management routes reach the engine":
        engine.open_routes = True
    else:
        engine.open_raw.add(how)


@pytest.mark.parametrize("how, detail, hint", [
    ("no gateway at all", "GET /v1/models with no key got HTTP 200, not 401", hints.AUTH_OPEN),
    ("any key passes", "GET /v1/models with a wrong key got HTTP 200, not 401", hints.AUTH_OPEN),
    ("403, not 401", "GET /v1/models with no key got HTTP 403, not 401", hints.AUTH_OPEN),
    ("management routes reach the engine",
     "GET /tokenize with the key got HTTP 405, not 404: the route reaches the engine", hints.MANAGEMENT_ROUTE),
    ("/%74okenize", "GET /%74okenize with the key got HTTP 405, not 404", hints.MANAGEMENT_ROUTE),
    ("/v1/../tokenize", "GET /v1/../tokenize with the key got HTTP 405, not 404", hints.MANAGEMENT_ROUTE),
])
def test_each_gateway_defect_fails_the_auth_check(gateway, run_smoke, how, detail, hint):
    _breaks(gateway, how)
    run = run_smoke(gateway.url, "--api-key", KEY)
    assert run.code == 1, run.out
    assert run.failed() == {"auth"}, run.out
    assert run.check("auth")["detail"].startswith(detail), run.check("auth")
    assert run.check("auth")["hint"] == hint
    assert KEY not in run.out + json.dumps(run.report)


def test_every_request_but_the_auth_probes_carries_the_key(gateway, run_smoke):
    run_smoke(gateway.url, "--api-key", KEY)
    auths = [s["auth"] for s in gateway.seen]
    assert auths and set(auths) == {f"Bearer {KEY}"}
