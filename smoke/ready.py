"""Wait for the engine: `/health`, then `/v1/models` listing the served name, within a deadline.

"Not yet" covers a refused connection (vLLM binds only after the weights are loaded), 503
(SGLang while starting) and any other error; a refused API key (401/403) or a redirect on
/health or /v1/models ends the wait at once, because no amount of waiting fixes them. Each
probe gets at most what is left of the deadline, so the wait ends on time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TextIO

from . import hints
from .client import Client, Exchange, Kind, excerpt

PROBE_TIMEOUT = 10.0  # per readiness request; the deadline bounds the whole wait
# Less time than this left after a poll: stop rather than send a probe that can only time out
# (its "no answer within 0.01 s" would hide what the server really said last).
MIN_PROBE = 0.25


@dataclass
class Readiness:
    ready: bool
    waited_s: float
    detail: str
    hint: str | None = None
    models: list[str] | None = None
    max_model_len: int | None = None  # vLLM lists it; requests must fit in it


def _max_model_len(ex: Exchange, model: str) -> int | None:
    for m in ex.body["data"]:
        if isinstance(m, dict) and m.get("id") == model and isinstance(m.get("max_model_len"), int):
            return m["max_model_len"]
    return None


def _seen(ex: Exchange) -> str:
    # The status only for a complete answer: a cut or late body is said as such.
    return ex.summary() or "no answer"


def _model_ids(ex: Exchange) -> list[str] | None:
    try:
        return [str(m["id"]) for m in ex.body["data"]]
    except (KeyError, TypeError):
        return None


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def wait_ready(
    client: Client,
    model: str,
    deadline_s: float,
    poll_s: float,
    out: TextIO,
    progress_s: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Readiness:
    start = clock()
    stage, last, models = "/health", "no answer yet", None
    last_line_at, last_line = None, None
    tried = False
    while True:
        left = deadline_s - (clock() - start)
        if tried and left < MIN_PROBE:
            waited = clock() - start
            hint = hints.MODEL_NAME if models is not None else hints.NOT_READY
            return Readiness(
                False, waited, f"not ready after {waited:.0f} s: waiting for {stage} (last: {last})", hint, models
            )
        tried = True
        timeout = max(0.05, min(PROBE_TIMEOUT, client.timeout, left))
        if stage == "/health":
            ex = client.get("/health", timeout=timeout, parse="none")
            # A server without /health (a proxy, say) can still be judged by /v1/models.
            if ex.kind is Kind.OK or (ex.kind is Kind.HTTP and ex.status == 404):
                stage = "/v1/models"
            else:
                stop = _hopeless(ex, clock() - start)
                if stop:
                    return stop
                last = _seen(ex)
        if stage == "/v1/models":
            ex = client.get("/v1/models", timeout=timeout)
            models = _model_ids(ex) if ex.kind is Kind.OK else None
            waited = clock() - start
            if models is not None and model in models:
                return Readiness(
                    True, waited, f"ready after {waited:.1f} s; serves {models}", models=models,
                    max_model_len=_max_model_len(ex, model),
                )
            stop = _hopeless(ex, waited)
            if stop:
                return stop
            if models is not None:
                last = f"serves {models}, not {model!r}"
            elif ex.kind is Kind.OK:
                last = "/v1/models answered without a data[].id list"
            else:
                last = _seen(ex)
                if ex.kind in (Kind.CONNECTION, Kind.TIMEOUT):
                    stage = "/health"  # the server went away again (restart): start over
        waited = clock() - start
        if waited >= deadline_s:
            hint = hints.MODEL_NAME if models is not None else hints.NOT_READY
            return Readiness(
                False, waited, f"not ready after {waited:.0f} s: waiting for {stage} (last: {last})", hint, models
            )
        line = f"waiting for {stage} (last: {last})"
        # A line at a steady pace, and at once when something changes.
        if last_line_at is None or line != last_line or clock() - last_line_at >= progress_s:
            print(f"[smoke] {_clock(waited)} {line}", file=out, flush=True)
            last_line_at, last_line = clock(), line
        sleep(max(0.0, min(poll_s, deadline_s - waited)))


def _hopeless(ex: Exchange, waited: float) -> Readiness | None:
    """Answers that waiting cannot change: a refused key, a redirect elsewhere."""
    if ex.kind is Kind.HTTP and ex.status in (401, 403):
        return Readiness(False, waited, f"{ex.path} answered HTTP {ex.status}: {excerpt(ex.text, 80)}", hints.API_KEY)
    if ex.kind is Kind.REDIRECT:
        return Readiness(False, waited, f"{ex.path}: {ex.detail}", hints.REDIRECT)
    return None
