"""python -m smoke: prove tool calling and reasoning parsing on a live GLM-5 endpoint."""

from __future__ import annotations

import math
import os
import re
import sys
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import click

from . import auth, spec
from .client import Client
from .report import print_table, to_json, write_json
from .result import EXIT_USAGE
from .runner import ALL_CHECKS, run

KEY_FILE_CAP = 64 * 1024
# A bearer token goes into a header line: printable ASCII, no spaces (RFC 6750's b64token
# and more), so it can never break the request or smuggle a header.
KEY_RE = re.compile(r"[!-~]{1,4096}")
URL_RE = re.compile(r"https?://[^\s/?#@]*@?[^\s/?#]+(/[^\s?#]*)?")


def shown_url(url: str) -> str:
    """The URL as printed and reported: credentials in it are secrets like --api-key."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


class Number(click.ParamType):
    """A finite number that `ok` accepts, else "'VALUE' is not WHAT; give e.g. EXAMPLE"."""

    def __init__(self, name: str, ok, what: str, example: str):
        self.name, self.ok, self.what, self.example = name, ok, what, example

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and self.ok(number)):
            self.fail(f"{value!r} is not {self.what}; give e.g. {self.example}", param, ctx)
        return number


SECONDS = Number("SECONDS", lambda s: s > 0, "a number of seconds > 0", "30")
TEMPERATURE = Number("FLOAT", lambda t: 0 <= t <= 2, "a temperature between 0 and 2", "0.6")
_LOW, _HIGH = spec.FLOOR_RANGE
FLOOR = Number("LENGTH", lambda f: _LOW <= f <= _HIGH, f"an acceptance length between {_LOW:g} and {_HIGH:g} (it "
               "counts the bonus token: 1 = every draft rejected)", "1.3")


class BaseUrl(click.ParamType):
    name = "URL"

    def convert(self, value, param, ctx):
        shown = shown_url(value) if "://" in value else value
        if not URL_RE.fullmatch(value):
            self.fail(f"{shown!r} is not http(s)://host[:port]; give the engine's root, e.g. http://engine:8000",
                      param, ctx)
        try:
            urlsplit(value).port
        except ValueError:
            self.fail(f"{shown!r} has no valid port; give e.g. http://engine:8000", param, ctx)
        base = value.rstrip("/")
        # People paste the OpenAI-style URL; the root is what /health lives under.
        return base[: -len("/v1")] if base.endswith("/v1") else base


def _read_key_file(path: str) -> str:
    """The first non-empty line of a secret file (e.g. the gateway's /run/secrets/api_keys)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(KEY_FILE_CAP)
    except OSError as e:
        raise click.BadParameter(f"cannot read {path!r} ({e.strerror}); give a readable file, e.g. "
                                 "/run/secrets/api_keys", param_hint="'--api-key-file'") from None
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            return line.strip()
    raise click.BadParameter(f"{path!r} holds no key (no non-empty line); write one key per line",
                             param_hint="'--api-key-file'")


def _api_key(key: str | None, key_file: str | None) -> str | None:
    if key and key_file:
        raise click.UsageError("--api-key and --api-key-file (or SMOKE_API_KEY and SMOKE_API_KEY_FILE) are "
                               "both set; give one (the file keeps the key out of argv and the environment)")
    where = "--api-key-file" if key_file else "--api-key"
    if key_file:
        key = _read_key_file(key_file)
    if key is not None and not KEY_RE.fullmatch(key):
        # Never the value: it is a secret, and a wrong one is still somebody's key.
        raise click.BadParameter("the key is not a bearer token (printable ASCII without spaces, at most "
                                 "4096 characters); check the file or variable", param_hint=f"'{where}'")
    return key


class OneLineErrors(click.Command):
    """Usage errors as one line on stderr (what, the value, the fix) and exit 2."""

    def main(self, args=None, prog_name=None, **extra):
        extra["standalone_mode"] = False
        try:
            code = super().main(args, prog_name, **extra)
        except click.ClickException as e:
            click.echo(f"Error: {' '.join(e.format_message().split())}", err=True)
            sys.exit(EXIT_USAGE)
        except click.Abort:
            sys.exit(EXIT_USAGE)
        sys.exit(code or 0)


def _opt(*decls, envvar, **kw):
    # show_envvar prints the variable's name, never its value (a URL may hold a password).
    return click.option(*decls, envvar=envvar, show_envvar=True, **kw)


@click.command(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@_opt("--base-url", envvar="SMOKE_BASE_URL", type=BaseUrl(), help="Server root, e.g. http://engine:8000 (/v1 is added).")
@_opt("--model", envvar="SMOKE_MODEL", metavar="NAME", help="The engine's --served-model-name, e.g. glm-5-fp8.")
@_opt("--api-key-file", envvar="SMOKE_API_KEY_FILE", metavar="PATH",
      help="Send the first non-empty line of this file as the bearer key (e.g. the gateway's "
           "/run/secrets/api_keys) and run the auth check. Never printed.")
@_opt("--api-key", envvar="SMOKE_API_KEY", metavar="KEY",
      help="The bearer key itself (prefer --api-key-file: an argv is visible to every user). Never printed.")
@_opt("--metrics-url", envvar="SMOKE_METRICS_URL", type=BaseUrl(),
      help="Where the spec-decode check reads /metrics, when --base-url is a gateway that keeps it for "
           "monitoring (e.g. http://engine:8000); no key is sent there.  [default: --base-url]")
@_opt("--report", envvar="SMOKE_REPORT", metavar="PATH", help="Write the JSON report here (its folder must exist).")
@_opt("--deadline", envvar="SMOKE_DEADLINE", type=SECONDS, default=3600.0, show_default=True,
      help="Seconds to wait for readiness (a GLM-5 load takes 10-40 min).")
@_opt("--timeout", envvar="SMOKE_TIMEOUT", type=SECONDS, default=300.0, show_default=True,
      help="Seconds allowed for each check request, from connect to the last byte.")
@_opt("--poll-interval", envvar="SMOKE_POLL_INTERVAL", type=SECONDS, default=5.0, show_default=True,
      help="Seconds between readiness polls.")
@_opt("--temperature", envvar="SMOKE_TEMPERATURE", type=TEMPERATURE,
      help="Sampling temperature.  [default: the model's own]")
@_opt("--speculative", envvar="SMOKE_SPECULATIVE", type=click.Choice(spec.METHODS), default="off",
      show_default=True, help="Speculative decoding the engine was started with: mtp (vLLM) or eagle (SGLang) "
                              "turn on the spec-decode check, which reads /metrics.")
@_opt("--spec-floor", envvar="SMOKE_SPEC_FLOOR", type=FLOOR,
      help="Acceptance length below which spec-decode fails, for a draft setup these floors do not describe "
           "(e.g. a draft model of your own).  [default: "
           + ", ".join(f"{method} {floor}" for method, floor in spec.FLOORS.items()) + ", at most 1 + N/2 with --spec-tokens N]")
@_opt("--spec-tokens", envvar="SMOKE_SPEC_TOKENS", type=click.IntRange(1, 64), metavar="N",
      help="Speculative tokens per step the engine drafts (the render sets it): the floor is capped at 1 + N/2, "
           "below the 1 + N a step can reach.")
def main(base_url, model, api_key_file, api_key, metrics_url, report, deadline, timeout, poll_interval, temperature,
         speculative, spec_floor, spec_tokens):
    """Wait for an OpenAI-compatible GLM-5 server (vLLM or SGLang) to become ready, then check
    that chat, reasoning (on and off) and tool calls come back correctly parsed, streamed and
    not; with --speculative, that drafts are still accepted; with a key, that the gateway
    refuses requests without it and hides management routes.

    Every request is bounded: at most --timeout from connect to the last byte, with caps on
    its size, and no redirect is followed. The whole run ends within --deadline + --timeout
    (+ 2 x 10 s for /metrics with --speculative).

    Exit codes: 0 all checks passed, 1 a check failed, 2 usage error, 3 never ready before
    --deadline.
    """
    for value, flag, env in ((base_url, "--base-url", "SMOKE_BASE_URL"), (model, "--model", "SMOKE_MODEL")):
        if not value:
            raise click.UsageError(f"{flag} (or {env}) is required")
    key = _api_key(api_key, api_key_file)
    if report:
        folder = os.path.dirname(os.path.abspath(report))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            # Found now, not after a 40-minute wait.
            raise click.BadParameter(f"folder {folder} does not exist or is not writable; create it first",
                                     param_hint="'--report'")
    started = datetime.now(timezone.utc)
    url = shown_url(base_url)
    out = sys.stdout
    print(f"[smoke] {url} model {model!r}: waiting for readiness (deadline {deadline:g} s)", file=out, flush=True)
    client = Client(base_url, key, timeout)
    # The key is the gateway's: never sent to another URL.
    metrics = Client(metrics_url, None, timeout) if metrics_url else None
    checks = ALL_CHECKS + [spec.check(speculative, spec_floor, spec_tokens), auth.check(key is not None)]
    result = run(client, model, deadline_s=deadline, poll_s=poll_interval, out=out, temperature=temperature,
                 checks=checks, probes={**spec.probes(metrics), **auth.PROBES})
    print_table(result, out)
    if report:
        try:
            write_json(to_json(result, base_url=url, model=model, started_at=started), report)
            print(f"[smoke] report: {report}", file=out, flush=True)
        except OSError as e:
            print(f"[smoke] could not write the report {report}: {e.strerror}", file=sys.stderr, flush=True)
    return result.exit_code


if __name__ == "__main__":
    main(prog_name="python -m smoke")
