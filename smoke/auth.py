"""The auth check, for a sidecar that goes through the gateway with a key.

Requests without a key and with a wrong one must get 401; management routes, plain,
percent-encoded and behind a dot segment, must get 404 even with the right key (vLLM's own
--api-key leaves /tokenize, /collective_rpc and others open: vllm PR #29922). Every request
is a GET: vLLM's management actions are POSTs, so the check can never trigger one, and a
route that reaches the engine still shows itself (405 or 200 instead of 404). The paths are
sent byte for byte as written here (smoke/wire.py normalises nothing).
"""

from __future__ import annotations

from . import hints
from .checks import Check
from .client import AUTH_NONE, AUTH_WRONG, Exchange, Kind, Probe
from .result import CheckResult, failed, passed, skipped

NAME = "auth"
TIMEOUT = 30.0  # a gateway refuses at once; never more than --timeout

KEYLESS = {"auth-none": ("no key", AUTH_NONE), "auth-wrong": ("a wrong key", AUTH_WRONG)}
ROUTES = {
    "route-tokenize": "/tokenize",
    "route-collective-rpc": "/collective_rpc",
    "route-encoded": "/%74okenize",
    "route-dot-segment": "/v1/../tokenize",
}


def _get(path: str, auth: str = "key"):
    return lambda client: client.get(path, timeout=min(TIMEOUT, client.timeout), auth=auth)


PROBES = {name: Probe(_get("/v1/models", auth)) for name, (_, auth) in KEYLESS.items()}
PROBES.update({name: Probe(_get(path)) for name, path in ROUTES.items()})


def check(has_key: bool) -> Check:
    if not has_key:
        return Check(NAME, (), lambda ex: skipped(NAME, "no --api-key-file / --api-key: no gateway to test"))
    return Check(NAME, tuple(KEYLESS) + tuple(ROUTES), judge)


def _status(ex: Exchange) -> str:
    return f"HTTP {ex.status}" if ex.kind in (Kind.OK, Kind.HTTP) else ex.detail


def judge(ex: dict[str, Exchange]) -> CheckResult:
    for name, (who, _) in KEYLESS.items():
        got = ex[name]
        if got.kind is Kind.HTTP and got.status == 401:
            continue
        if got.kind in (Kind.OK, Kind.HTTP):
            return failed(NAME, f"GET /v1/models with {who} got {_status(got)}, not 401", hints.AUTH_OPEN)
        return failed(NAME, f"GET /v1/models with {who}: {got.detail}", hints.for_exchange(got.kind, got.status, got.text))
    for name, path in ROUTES.items():
        got = ex[name]
        if got.kind is Kind.HTTP and got.status == 404:
            continue
        if got.kind in (Kind.OK, Kind.HTTP):
            return failed(NAME, f"GET {path} with the key got {_status(got)}, not 404: the route reaches the engine",
                          hints.MANAGEMENT_ROUTE)
        return failed(NAME, f"GET {path}: {got.detail}", hints.for_exchange(got.kind, got.status, got.text))
    return passed(NAME, "no key and a wrong key: 401; " + ", ".join(ROUTES.values()) + ": 404")
