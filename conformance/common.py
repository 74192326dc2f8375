"""What both checkers share: read the engine's argv from a compose file, run a check, report.

Imports nothing from either engine, so it is safe (and fast) to import from the test venv too.
"""

import contextlib
import io
import json
import os
import sys
import time
from typing import Callable

SERVICE = "engine"


class Rejected(Exception):
    """The engine (or one of its registries) refuses the command; the message says why."""


def _argv_list(value, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Rejected(f"services.{SERVICE}.{key} is not a list of strings: {value!r}")
    return value


def engine_environment(path: str) -> dict:
    """The engine service's environment as Compose resolved it (a value None: passed through
    from the shell running Compose, so nothing to judge here)."""
    with open(path, encoding="utf-8") as f:
        service = json.load(f).get("service") or {}
    env = service.get("environment") or {}
    if not isinstance(env, dict):
        raise Rejected(f"services.{SERVICE}.environment is not a mapping: {env!r}")
    return env


def engine_argv(path: str) -> tuple[list[str], list[str]]:
    """(entrypoint, command) of the engine service, as Compose hands them to the container.

    The file is the engine service as the Compose v2 loader resolved it (JSON, written by the
    test side with stack.rendered.resolve_services): `$$`, `${VAR:-x}` and .env are Compose's
    business, not a second interpolator's here. The engine venvs have no Compose to call.
    """
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    service = doc.get("service")
    if not isinstance(service, dict):
        raise Rejected(f"no services.{SERVICE} in {doc.get('file', path)}")
    return _argv_list(service.get("entrypoint"), "entrypoint"), _argv_list(service.get("command"), "command")


def expect_entrypoint(entrypoint: list[str], *known: list[str]) -> None:
    """The entrypoint must be one this engine's releases run the checked parser from (which
    one an image uses is the release catalog's business, compared on the test side)."""
    if entrypoint not in known:
        raise Rejected(f"entrypoint is {entrypoint!r}, the checked command line needs exactly "
                       + " or ".join(map(repr, known)))


def first_import(*targets: str):
    """The first of "module:attribute" that imports: newest location first, older ones after.

    The checked versions use the first; the others are where older engine releases (like the
    ones inside the default images) kept the same thing, so a checker can run in those too.
    """
    import importlib

    errors = []
    for target in targets:
        module, _, attr = target.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            errors.append(f"{target}: {exc}")
    raise ImportError("none of these import: " + "; ".join(errors))


def check_names(what: str, name, registry) -> None:
    """The engines' argument parsers take any parser name (vLLM) or only check it late."""
    if name is not None and name not in registry:
        raise Rejected(f"{what} {name!r} is not registered in this engine; known: {', '.join(sorted(registry))}")


def _rejection(exc: BaseException, captured: str) -> str:
    if isinstance(exc, SystemExit):
        # argparse prints usage + "prog: error: message" and exits 2; keep the message line.
        lines = [l for l in captured.splitlines() if l.strip()]
        errors = [l for l in lines if ": error: " in l]
        text = errors[-1] if errors else (lines[-1] if lines else "")
        return f"exit {exc.code}: {text}".strip()
    if isinstance(exc, Rejected):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def judge(path: str, check: Callable[[list[str], list[str], dict], dict]) -> dict:
    start = time.monotonic()
    argv = None
    captured = io.StringIO()
    try:
        entrypoint, command = engine_argv(path)
        argv = entrypoint + command
        with contextlib.redirect_stderr(captured):
            values = check(entrypoint, command, engine_environment(path))
        result = {"ok": True, "values": values}
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure is a verdict
        result = {"ok": False, "error": _rejection(exc, captured.getvalue())}
    return {"file": _original(path), "argv": argv, **result, "seconds": round(time.monotonic() - start, 3)}


def _original(path: str) -> str:
    """The compose file a resolved JSON document was made from (its own path otherwise)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("file") or path
    except (OSError, ValueError, AttributeError):
        return path


def option_groups(parser) -> list[list[str]]:
    """The option strings of each action of an argparse parser: one list per action, its aliases
    together (SGLang's ["--tp-size", "--tensor-parallel-size"]). The tests prove with them that
    every spelling of a flag the generator renders is refused in --engine-args, and that
    recipe/flags/ lists exactly what the parser takes."""
    return [list(a.option_strings) for a in parser._actions if a.option_strings]


def flag_data(regs: dict) -> dict:
    """What recipe/flags/<engine>-<version>.txt and .parsers.txt hold for this version: every
    option string of the server parser (aliases included), sorted; `KIND NAME` per registered
    parser name. From the checker's registries, so the lists and the verdicts come from one import."""
    return {"options": sorted({s for group in regs["option_groups"] for s in group}),
            "parser_lines": [f"{kind} {name}" for kind in ("reasoning_parser", "tool_call_parser")
                             for name in sorted(regs[kind])]}


def main(engine: str, version: Callable[[], str], registries: Callable[[], dict],
         check: Callable[[list[str], list[str], dict], dict]) -> int:
    """Judge every file named on the command line; one JSON document on the real stdout.

    Engines log to stdout at import time, so fd 1 is pointed at stderr for everything else.
    Exit 0 when the checker itself ran (verdicts are data); 2 on usage errors.
    """
    paths = sys.argv[1:]
    if not paths or any(p.startswith("-") for p in paths):
        print(f"usage: python -m conformance.{engine} RESOLVED.json...", file=sys.stderr)
        return 2
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    start = time.monotonic()
    regs = registries()  # imports the engine; its cost is the import time reported below
    import_s = time.monotonic() - start
    results = [judge(p, check) for p in paths]
    json.dump({"engine": engine, "version": version(), "python": sys.version.split()[0],
               "import_seconds": round(import_s, 3), "registries": regs, "results": results,
               **flag_data(regs)}, out, indent=1, sort_keys=True)
    out.write("\n")
    out.close()
    return 0
