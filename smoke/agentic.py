"""The second tier of checks: what breaks for agents a step further in than one tool call.

- `parallel-tools` (and `-stream`): a question about two cities gets two calls with distinct
  ids and valid arguments; streamed, the deltas assemble to the same calls.
- `tool-result-reaches-model`: the prompt the chat template made of a conversation holds the
  tool result verbatim (not a list repr, not empty), seen through vLLM's /tokenize.
- `reasoning-truncated`: thinking cut by max_tokens stays in the reasoning field.
- `tool-choice-required`, `tool-choice-named`: a forced call comes back parsed and valid.

Same rules as smoke/checks.py: probes are made once, concurrently with the first tier's, and
each check is a pure function of the exchanges.
"""

from __future__ import annotations

import json
import time
from typing import Callable

from . import hints
from .answer import Answer, BadAnswer, _raise_for_exchange, read_answer
from .checks import (
    CANNED_RESULT,
    RESULT_MESSAGES,
    THINK_MARKERS,
    TOOL_MARKERS,
    TOOL_NAME,
    TOOL_USER,
    TOOLS_AUTO,
    WEATHER_TOOL,
    Check,
    _describe_calls,
    _Fail,
    _holds,
    _leaked,
    _no_think_tags,
    _stream_fragments_ok,
    _tool_call_ok,
    _valid_call,
    caps,
    finish_bodies,
)
from .client import Client, Exchange, Kind, excerpt
from .kinds import (
    NAMED,
    PARALLEL,
    PARALLEL_CITIES,
    PARALLEL_QUESTION,
    REQUIRED,
    TOOL,
    TRUNCATED,
    TRUNCATED_QUESTION,
)
from .result import CheckResult, failed, passed, skipped

# Small enough that any GLM-5 thinking runs past it, large enough to hold some reasoning.
TRUNCATED_MAX_TOKENS = 24
RESULT_PROMPT = "result-prompt"  # not a chat request: /tokenize + /detokenize
NAMED_CHOICE = {"type": "function", "function": {"name": TOOL_NAME}}
# How a Python list of OpenAI content parts looks once a template prints it.
LIST_REPRS = ("[{'type': 'text'", "{'type': 'text', 'text':", '[{"type": "text"', "{'text':")


def probe_bodies(model: str, temperature: float | None = None, max_model_len: int | None = None) -> dict[str, dict]:
    thinking_cap, _ = caps(max_model_len)
    forced = {"messages": TOOL_USER, "max_tokens": thinking_cap, "tools": [WEATHER_TOOL]}
    base = {
        PARALLEL: {
            "messages": [{"role": "user", "content": PARALLEL_QUESTION}],
            "max_tokens": thinking_cap,
            **TOOLS_AUTO,
            "parallel_tool_calls": True,  # the default on both engines, said out loud
        },
        TRUNCATED: {"messages": [{"role": "user", "content": TRUNCATED_QUESTION}], "max_tokens": TRUNCATED_MAX_TOKENS},
        REQUIRED: {**forced, "tool_choice": "required"},
        NAMED: {**forced, "tool_choice": NAMED_CHOICE},
    }
    bodies = finish_bodies(base, model, temperature, streamed={PARALLEL})
    # Without add_generation_prompt both engines render the messages as for a chat request
    # (vLLM's default is true; SGLang renders "as given" once the field is set).
    bodies[RESULT_PROMPT] = {"model": model, "messages": RESULT_MESSAGES, "tools": [WEATHER_TOOL]}
    return bodies


def rendered_prompt(client: Client, body: dict) -> Exchange:
    """The prompt the chat template makes of `body`: /tokenize with chat `messages` (vLLM, and
    SGLang since 0.5.x, apply the template as a chat request would, vLLM with its
    --chat-template-content-format), then /detokenize of those tokens. A failed step is
    returned as it is."""
    # Both steps share one --timeout, so this probe ends on time like every other.
    deadline = time.monotonic() + client.timeout
    tok = client.post("/tokenize", body, deadline)
    if not tok.ok:
        return tok
    tokens = tok.body.get("tokens") if isinstance(tok.body, dict) else None
    if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
        tok.kind, tok.detail = Kind.NOT_JSON, f"/tokenize answered without a `tokens` list: {excerpt(tok.text, 120)!r}"
        return tok
    detok = client.post("/detokenize", {"model": body["model"], "tokens": tokens}, deadline)
    detok.path = "/tokenize + /detokenize"
    detok.latency_s += tok.latency_s
    return detok


def send(client: Client, name: str, body: dict) -> Exchange:
    """Make one probe of this tier (or of the first: every other probe is a chat request)."""
    return rendered_prompt(client, body) if name == RESULT_PROMPT else client.chat(body)


class _Skip(Exception):
    pass


def _judge(name: str, body: Callable[[], str]) -> CheckResult:
    try:
        return passed(name, body())
    except _Skip as s:
        return skipped(name, str(s))
    except _Fail as f:
        return failed(name, f.detail, f.hint)
    except BadAnswer as b:
        return failed(name, b.detail, b.hint)


# --- parallel calls ------------------------------------------------------------------------


def _parallel_ok(a: Answer) -> str:
    args = _tool_call_ok(a)
    calls = _describe_calls(a, args)
    if len(a.tool_calls) != 2:
        # One valid call may also be a model that calls one city at a time; the report's raw
        # answer tells which (a dropped call often leaves its text or a cut-off argument).
        alone = " (or the model chose one call at a time: read the raw answer)" if len(a.tool_calls) == 1 else ""
        raise _Fail(f"{len(a.tool_calls)} call(s) for a question about two cities: {calls}{alone}", hints.PARALLEL_TOOLS)
    ids = [c.id for c in a.tool_calls]
    if not all(ids):
        raise _Fail(f"a call without an id (ids {ids}): a client cannot match results to calls", hints.PARALLEL_TOOLS)
    if ids[0] == ids[1]:
        raise _Fail(f"both calls carry the id {ids[0]!r}: a client cannot match results to calls", hints.PARALLEL_TOOLS)
    cities = [str(x.get("city", "")).lower() for x in args]
    missing = [c for c in PARALLEL_CITIES if not any(c.lower() in got for got in cities)]
    if missing:
        raise _Fail(f"no call for {', '.join(missing)}: {calls}", hints.PARALLEL_TOOLS)
    return f"{calls}, distinct ids"


# Hints that name a flag or a streaming bug; when a single call is parsed right and only two
# are not, the parallel-calls bug is the better guess.
PARALLEL_BLAMABLE = (
    hints.TOOL_PARSER,
    hints.FINISH_REASON,
    hints.TOOLS_NEED_REASONING,
    hints.STREAM_ARGS_MALFORMED,
    hints.STREAM_ARGS_RESENT,
    hints.STREAM_WRONG_NAME,
)


def _parallel_blame(f: _Fail, single: Exchange) -> _Fail:
    """A flag's hint when a single call is wrong too; the parallel bug when only two are."""
    if f.hint == hints.PARALLEL_TOOLS:
        return f
    try:
        single_right = _holds(_tool_call_ok, read_answer(single))
    except BadAnswer:
        single_right = False
    if single_right and f.hint in PARALLEL_BLAMABLE:
        return _Fail(f.detail + " (a single call is parsed right)", hints.PARALLEL_TOOLS, f.about)
    return f


def check_parallel_tools(ex: dict[str, Exchange]) -> CheckResult:
    def body():
        try:
            return _parallel_ok(read_answer(ex[PARALLEL]))
        except _Fail as f:
            raise _parallel_blame(f, ex[TOOL]) from None

    return _judge("parallel-tools", body)


def _call_keys(a: Answer) -> list[tuple[str, list[str]]]:
    out = []
    for c in a.tool_calls:
        try:
            keys = sorted(json.loads(c.arguments))
        except (ValueError, TypeError):
            keys = []
        out.append((c.name, keys))
    return out


def check_parallel_tools_stream(ex: dict[str, Exchange]) -> CheckResult:
    def body():
        a = read_answer(ex[PARALLEL + "-stream"])
        try:
            twin = read_answer(ex[PARALLEL])
        except BadAnswer:
            twin = None
        twin_right = twin is not None and _holds(_parallel_ok, twin)
        try:
            _stream_fragments_ok(a)
            detail = _parallel_ok(a)
        except _Fail as f:
            if twin_right:
                raise _Fail(f.detail + " (the non-streamed answer is right)", hints.PARALLEL_STREAM) from None
            raise _parallel_blame(f, ex[TOOL]) from None
        if not twin_right:
            return detail + " (non-streamed twin wrong or unusable: not compared)"
        # Names and argument keys, not values: with sampling on, "Paris" and "Paris, France"
        # are both right.
        if _call_keys(a) != _call_keys(twin):
            raise _Fail(
                f"streamed calls {_call_keys(a)}, non-streamed {_call_keys(twin)}", hints.PARALLEL_STREAM
            )
        return detail + "; agrees with non-streamed"

    return _judge("parallel-tools-stream", body)


# --- the tool result in the prompt ---------------------------------------------------------


def check_tool_result_reaches_model(ex: dict[str, Exchange]) -> CheckResult:
    def body():
        got = ex[RESULT_PROMPT]
        refused = got.kind is Kind.HTTP  # a complete answer with a status: the engine's own word
        if refused and got.status in (404, 405):
            raise _Skip(
                f"no /tokenize here (HTTP {got.status} on {got.path}: the engine, or a proxy in front of "
                "it, does not serve it), so the prompt the template made cannot be seen"
            )
        if refused and got.status in (400, 422) and got.path == "/tokenize":
            raise _Skip(f"this engine's /tokenize does not take chat messages: HTTP {got.status}: {excerpt(got.text, 160)}")
        try:
            _raise_for_exchange(got)
        except BadAnswer as b:
            raise _Fail(f"{got.path}: {b.detail}", hints.PROMPT_ENDPOINT) from None
        # vLLM answers {"prompt": ...}, SGLang {"text": ...}.
        prompt = next((got.body.get(k) for k in ("prompt", "text") if isinstance(got.body, dict) and k in got.body), None)
        if not isinstance(prompt, str):
            raise _Fail(f"/detokenize answered without the text: {excerpt(got.text, 160)!r}", hints.PROMPT_ENDPOINT)
        # A repr holds the result too, so it is looked for first.
        for mark in LIST_REPRS:
            if mark in prompt:
                at = prompt.index(mark)
                raise _Fail(
                    f"the prompt holds a list of content parts where the tool result belongs: "
                    f"{excerpt(prompt[at:], 120)}",
                    hints.TOOL_RESULT_LIST,
                )
        if CANNED_RESULT in prompt:
            return f"the prompt ({len(prompt)} chars) holds the tool result verbatim"
        raise _Fail(
            f"the tool result {CANNED_RESULT!r} is not in the prompt ({len(prompt)} chars), which ends "
            f"{excerpt(prompt[-160:], 160)!r}",
            hints.TOOL_RESULT_MISSING,
        )

    return _judge("tool-result-reaches-model", body)


# --- thinking cut by max_tokens ------------------------------------------------------------


def check_reasoning_truncated(ex: dict[str, Exchange]) -> CheckResult:
    def body():
        a = read_answer(ex[TRUNCATED])
        leak = _leaked(a.content, THINK_MARKERS)
        if leak:
            raise _Fail(f"cut at max_tokens {TRUNCATED_MAX_TOKENS}, and {leak}", hints.TRUNCATED_LEAK)
        if a.finish_reason != "length":
            if a.completion_tokens is not None and a.completion_tokens > TRUNCATED_MAX_TOKENS:
                raise _Fail(
                    f"{a.completion_tokens} tokens for max_tokens {TRUNCATED_MAX_TOKENS}, "
                    f"finish_reason {a.finish_reason!r}",
                    hints.MAX_TOKENS_IGNORED,
                )
            raise _Skip(
                f"the model finished within max_tokens {TRUNCATED_MAX_TOKENS} (finish_reason "
                f"{a.finish_reason!r}): nothing was cut, so nothing to judge"
            )
        if not a.reasoning.strip():
            if a.content.strip():
                raise _Fail(
                    f"cut at max_tokens {TRUNCATED_MAX_TOKENS}: no reasoning, and the partial thinking "
                    f"is in content: {excerpt(a.content, 80)!r}",
                    hints.TRUNCATED_LEAK,
                )
            raise _Fail(
                f"cut at max_tokens {TRUNCATED_MAX_TOKENS}: no reasoning and empty content, no sign why",
                hints.TRUNCATED_EMPTY,
            )
        return (
            f'finish_reason "length" at max_tokens {TRUNCATED_MAX_TOKENS}: {len(a.reasoning)} chars in '
            f"{a.reasoning_field}, content {excerpt(a.content, 40)!r}"
        )

    return _judge("reasoning-truncated", body)


# --- forced tool choice --------------------------------------------------------------------


def _forced_ok(a: Answer, choice: str) -> str:
    leak = _leaked(a.content, TOOL_MARKERS)
    if leak:
        raise _Fail(f"tool_choice {choice}: the call was left as text: {leak}", hints.FORCED_CALL)
    if not a.tool_calls:
        raise _Fail(
            f"tool_choice {choice}, yet no tool_calls (finish_reason={a.finish_reason}); content: "
            f"{excerpt(a.content, 80)!r}",
            hints.FORCED_CALL,
        )
    try:
        args = [_valid_call(c) for c in a.tool_calls]
    except _Fail as f:
        raise _Fail(f"tool_choice {choice}: {f.detail}", hints.FORCED_CALL) from None
    # OpenAI answers "tool_calls" for required and "stop" for a named function; vLLM follows.
    if a.finish_reason not in ("tool_calls", "stop"):
        raise _Fail(f"tool_choice {choice}: finish_reason {a.finish_reason!r}", hints.FORCED_CALL)
    _no_think_tags(a)
    return f"{_describe_calls(a, args)}, finish_reason {a.finish_reason!r}"


def check_tool_choice_required(ex: dict[str, Exchange]) -> CheckResult:
    return _judge("tool-choice-required", lambda: _forced_ok(read_answer(ex[REQUIRED]), '"required"'))


def check_tool_choice_named(ex: dict[str, Exchange]) -> CheckResult:
    return _judge("tool-choice-named", lambda: _forced_ok(read_answer(ex[NAMED]), f"named {TOOL_NAME}"))


CHECKS: list[Check] = [
    Check("parallel-tools", (PARALLEL, TOOL), check_parallel_tools),
    Check("parallel-tools-stream", (PARALLEL + "-stream", PARALLEL, TOOL), check_parallel_tools_stream),
    Check("tool-result-reaches-model", (RESULT_PROMPT,), check_tool_result_reaches_model),
    Check("reasoning-truncated", (TRUNCATED,), check_reasoning_truncated),
    Check("tool-choice-required", (REQUIRED,), check_tool_choice_required),
    Check("tool-choice-named", (NAMED,), check_tool_choice_named),
]
