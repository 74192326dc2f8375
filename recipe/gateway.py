"""The gateway in front of the engine: nginx, its configuration as data (placed by
templates/gateway.conf.j2 through render.nginx_conf).

Why a gateway at all: the engines' own `--api-key` guards only the /v1 routes (vLLM leaves
/tokenize, /sleep, /collective_rpc and more open), so an engine port on the network is open to
anyone. nginx passes only the serving routes, each behind a Bearer key from a Compose secret.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Serving routes and the methods each accepts. Nothing else passes: not /tokenize, /metrics,
# /sleep, /collective_rpc, /v1/load_lora_adapter, /docs, ...
ROUTES = {
    "/v1/chat/completions": ("POST",),
    "/v1/completions": ("POST",),
    "/v1/models": ("GET", "HEAD"),
    "/health": ("GET", "HEAD"),
}

# nginx's own answers, in OpenAI's error shape: named location -> (status, code, message).
ERRORS = {
    "unauthorized": (401, "invalid_api_key",
                     "Missing or wrong API key: send the header Authorization: Bearer KEY."),
    "not_found": (404, "not_found",
                  "Not found: this gateway serves " + ", ".join(ROUTES) + "."),
    "method_not_allowed": (405, "method_not_allowed", "Method not allowed on this route."),
    "too_large": (413, "request_too_large", "Request body too large for this gateway."),
    "rate_limited": (429, "rate_limit_exceeded", "Too many requests for this API key; retry later."),
    "engine_unavailable": (502, "engine_unavailable",
                           "The model server is not reachable yet (still loading?); retry later."),
}


# Where the render puts things in the gateway's container (and the sidecar's, for the keys).
KEYS_SECRET = "api_keys"  # /run/secrets/api_keys, from secrets/api-keys (make keys)
KEYS_FILE = "secrets/api-keys"  # relative to the repo root, like reports/
# The configuration travels in this variable (start script -> tmpfs): Compose refuses `configs:`
# other than files for a read-only container ("`file` is the sole supported option").
CONF_ENV = "GATEWAY_NGINX_CONF"
# nginx answers its healthcheck on the container's loopback; wget is in both images (busybox's
# in the official alpine one, Debian's in the rehearsal's).
HEALTHCHECK = ["CMD", "wget", "-q", "-T", "3", "-O", "/dev/null", "http://127.0.0.1:8081/ping"]


@dataclass(frozen=True)
class Gateway:
    """Everything the nginx configuration depends on."""

    upstream: str  # host:port of the engine, as the gateway reaches it
    listen: int = 8080  # inside the container: above 1024, nginx runs as a non-root user
    tls_listen: int = 8443  # with a certificate: the port that is published
    health_port: int = 8081  # loopback only: the healthcheck's door
    run_dir: str = "/tmp/gateway"  # the only place nginx writes (a tmpfs in the container)
    max_body: str = "16m"  # a full 200K-token prompt is ~1 MB of JSON
    read_timeout_s: int = 1800  # silence allowed from the engine: a long prefill, a long answer
    rate_per_minute: int | None = None
    rate_burst: int = 20
    tls_cert: str | None = None
    tls_key: str | None = None
    resolver: str = "127.0.0.11"  # Docker's DNS on a Compose network
    routes: dict = field(default_factory=lambda: dict(ROUTES))
    errors: dict = field(default_factory=lambda: dict(ERRORS))

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def published(self) -> int:
        """The container port the host publishes."""
        return self.tls_listen if self.tls else self.listen


def error_body(code: str, message: str) -> str:
    """An OpenAI-style error as a single-quoted nginx string (`return` expands $ variables)."""
    text = json.dumps({"error": {"message": message, "type": "invalid_request_error",
                                 "param": None, "code": code}}, separators=(",", ":"))
    if any(c in text for c in "$'\\"):
        raise ValueError(f"error body {code!r} holds a character nginx would reinterpret")
    return f"'{text}\\n'"


def start_script() -> str:
    """The container's start (templates/gateway-start.sh): keys secret -> key map -> nginx."""
    return (TEMPLATES / "gateway-start.sh").read_text()
