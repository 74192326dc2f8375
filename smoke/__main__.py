"""python -m smoke: prove tool calling and reasoning parsing on a live GLM-5 endpoint."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from .client import Client
from .report import print_table, to_json, write_json
from .result import EXIT_USAGE
from .runner import run

DESCRIPTION = """\
Wait for an OpenAI-compatible GLM-5 server (vLLM or SGLang) to become ready, then check that
chat, reasoning (on and off) and tool calls come back correctly parsed, streamed and not.
Exit codes: 0 all checks passed, 1 a check failed, 2 usage error, 3 never ready before the
deadline. Every option can also be set by the environment variable shown.
"""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2, got {text!r}")
    return value


# (flag, env var, type, default, help)
OPTIONS = [
    ("--base-url", "SMOKE_BASE_URL", str, None, "server root, e.g. http://engine:8000 (/v1 is added)"),
    ("--model", "SMOKE_MODEL", str, None, "the engine's --served-model-name, e.g. glm-5-fp8"),
    ("--api-key", "SMOKE_API_KEY", str, None, "bearer token, if the engine has --api-key (never printed)"),
    ("--report", "SMOKE_REPORT", str, None, "write the JSON report here (its folder must exist)"),
    ("--deadline", "SMOKE_DEADLINE", _positive, 3600.0, "seconds to wait for readiness (a GLM-5 load: 10-40 min)"),
    ("--timeout", "SMOKE_TIMEOUT", _positive, 300.0, "seconds allowed for each check request"),
    ("--poll-interval", "SMOKE_POLL_INTERVAL", _positive, 5.0, "seconds between readiness polls"),
    ("--temperature", "SMOKE_TEMPERATURE", _temperature, None, "sampling temperature (default: the model's own)"),
]


def build_parser(environ) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m smoke", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for flag, env, kind, default, text in OPTIONS:
        raw = environ.get(env)
        if raw not in (None, ""):
            try:
                default = kind(raw)
            except argparse.ArgumentTypeError as e:
                parser.error(f"{env}: {e}")
        shown = "(set)" if flag == "--api-key" and default else default
        parser.add_argument(flag, type=kind, default=default, metavar=env, help=f"{text} [env {env}; now: {shown}]")
    return parser


def parse_args(argv, environ) -> argparse.Namespace:
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    for flag, env in (("--base-url", "SMOKE_BASE_URL"), ("--model", "SMOKE_MODEL")):
        if not getattr(args, flag[2:].replace("-", "_")):
            parser.error(f"{flag} (or {env}) is required")
    if not args.base_url.startswith(("http://", "https://")):
        parser.error(f"--base-url: expected http://host:port, got {args.base_url!r}")
    base = args.base_url.rstrip("/")
    # People paste the OpenAI-style URL; the root is what /health lives under.
    args.base_url = base[: -len("/v1")] if base.endswith("/v1") else base
    if args.report:
        folder = os.path.dirname(os.path.abspath(args.report))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            # Found now, not after a 40-minute wait.
            parser.error(f"--report: folder {folder} does not exist or is not writable")
    return args


def shown_url(url: str) -> str:
    """The URL as printed and reported: credentials in it are secrets like --api-key."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def main(argv=None, environ=None, out=None) -> int:
    environ = os.environ if environ is None else environ
    out = sys.stdout if out is None else out
    try:
        args = parse_args(argv, environ)
    except SystemExit as e:  # argparse already printed the message
        return EXIT_USAGE if e.code else 0
    started = datetime.now(timezone.utc)
    url = shown_url(args.base_url)
    intro = f"[smoke] {url} model {args.model!r}: waiting for readiness (deadline {args.deadline:g} s)"
    print(intro, file=out, flush=True)
    client = Client(args.base_url, args.api_key, args.timeout)
    result = run(
        client, args.model, deadline_s=args.deadline, poll_s=args.poll_interval, out=out, temperature=args.temperature
    )
    print_table(result, out)
    if args.report:
        try:
            write_json(to_json(result, base_url=url, model=args.model, started_at=started), args.report)
            print(f"[smoke] report: {args.report}", file=out, flush=True)
        except OSError as e:
            print(f"[smoke] could not write the report {args.report}: {e}", file=sys.stderr, flush=True)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
