"""The checks of DESIGN section 4, as pure functions of the answers.

Requests ("probes") are made once and shared: several checks judge the same answer from
different angles, and streamed checks compare against their non-streamed twin. A probe is
named after its kind of request (smoke/kinds.py), plus `-stream` for the streamed twin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import jsonschema

from . import hints
from .answer import Answer, BadAnswer, ToolCall, read_answer
from .client import Exchange, excerpt
from .kinds import CHAT, CHAT_QUESTION, NOTHINK, RESULT, TOOL, TOOL_QUESTION
from .result import CheckResult, failed, passed

# The seed document's tool, verbatim.
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string", "description": "City name"}},
        },
    },
}
TOOL_NAME = WEATHER_TOOL["function"]["name"]
TOOL_SCHEMA = WEATHER_TOOL["function"]["parameters"]

# Caps, not targets: a real GLM-5 thinks before it answers, and a cut-off answer would fail
# for the wrong reason.
THINKING_MAX_TOKENS = 1024
PLAIN_MAX_TOKENS = 256
# vLLM refuses max_tokens beyond the context (HTTP 400), so on a short --max-model-len the caps
# shrink to leave this much room for the longest prompt (the round trip's, ~250 tokens).
PROMPT_ROOM = 320

# Round trip: a canned earlier call, so that this check runs concurrently with (and
# independently of) the tool-call check instead of waiting for its answer.
CANNED_CALL = {
    "id": "call_smoke_1",
    "type": "function",
    "function": {"name": TOOL_NAME, "arguments": json.dumps({"city": "Tokyo"})},
}
CANNED_RESULT = json.dumps({"city": "Tokyo", "temperature_c": 22, "condition": "sunny"})

TOOL_MARKERS = ("<tool_call>", "</tool_call>", "<arg_key>", "<arg_value>")
THINK_MARKERS = ("<think>", "</think>")


def caps(max_model_len: int | None) -> tuple[int, int]:
    """(thinking cap, plain cap) for max_tokens on a server with this context length."""
    room = max(16, max_model_len - PROMPT_ROOM) if max_model_len else THINKING_MAX_TOKENS
    return min(THINKING_MAX_TOKENS, room), min(PLAIN_MAX_TOKENS, room)


TOOLS_AUTO = {"tools": [WEATHER_TOOL], "tool_choice": "auto"}
TOOL_USER = [{"role": "user", "content": TOOL_QUESTION}]
# A conversation whose last message is the canned call's result.
RESULT_MESSAGES = TOOL_USER + [
    {"role": "assistant", "content": None, "tool_calls": [CANNED_CALL]},
    {"role": "tool", "tool_call_id": CANNED_CALL["id"], "content": CANNED_RESULT},
]


def finish_bodies(base: dict[str, dict], model: str, temperature: float | None, streamed: set[str]) -> dict[str, dict]:
    """Add the model (and temperature) to each body; `streamed` probes also get a `-stream` twin."""
    bodies = {}
    for name, body in base.items():
        body = {"model": model, **body}
        if temperature is not None:
            body["temperature"] = temperature
        bodies[name] = body
        if name in streamed:
            bodies[name + "-stream"] = {**body, "stream": True}
    return bodies


def probe_bodies(model: str, temperature: float | None = None, max_model_len: int | None = None) -> dict[str, dict]:
    """Request bodies by probe name. Streamed probes are their twin plus `stream: true`."""
    thinking_cap, plain_cap = caps(max_model_len)
    user = [{"role": "user", "content": CHAT_QUESTION}]
    base = {
        CHAT: {"messages": user, "max_tokens": thinking_cap},
        NOTHINK: {
            "messages": user,
            "max_tokens": plain_cap,
            "chat_template_kwargs": {"enable_thinking": False},
        },
        TOOL: {"messages": TOOL_USER, "max_tokens": thinking_cap, **TOOLS_AUTO},
        RESULT: {"messages": RESULT_MESSAGES, "max_tokens": thinking_cap, **TOOLS_AUTO},
    }
    return finish_bodies(base, model, temperature, streamed={CHAT, NOTHINK, TOOL})


@dataclass(frozen=True)
class Check:
    name: str
    probes: tuple[str, ...]  # the first one's latency is reported as the check's
    judge: Callable[..., CheckResult]


class _Fail(Exception):
    def __init__(self, detail: str, hint: str | None = None, about: str | None = None):
        super().__init__(detail)
        # `about` ("name", "args") lets a streamed check name a streaming bug instead of a flag
        # when the non-streamed twin got the same thing right.
        self.detail, self.hint, self.about = detail, hint, about


def _leaked(text: str, markers: tuple[str, ...]) -> str | None:
    for m in markers:
        if m in text:
            at = text.index(m)
            return f"{m!s} in content: {excerpt(text[max(0, at - 40):], 100)!r}"
    return None


def _no_think_tags(a: Answer) -> None:
    leak = _leaked(a.content, THINK_MARKERS)
    if leak:
        raise _Fail(leak, hints.REASONING_PARSER)


def _no_tool_text(a: Answer, hint: str = hints.TOOL_PARSER) -> None:
    leak = _leaked(a.content, TOOL_MARKERS)
    if leak:
        raise _Fail(f"tool call left as text: {leak}", hint)


def _content_present(a: Answer) -> None:
    if a.content.strip():
        return
    if a.reasoning.strip():
        raise _Fail(
            f"content is empty and the whole answer is in {a.reasoning_field}: "
            f"{excerpt(a.reasoning, 80)!r}",
            hints.WHOLE_ANSWER_IN_REASONING,
        )
    raise _Fail(f"empty content (finish_reason={a.finish_reason})", hints.EMPTY_ANSWER)


def _no_tool_calls(a: Answer, hint: str) -> None:
    if a.tool_calls:
        names = ", ".join(c.name or "?" for c in a.tool_calls)
        raise _Fail(f"unexpected tool_calls ({names}), finish_reason={a.finish_reason}", hint)


def _reasoning_present(a: Answer) -> None:
    _no_think_tags(a)
    if not a.reasoning.strip():
        raise _Fail("no `reasoning` or `reasoning_content` in the answer", hints.NO_REASONING)
    _content_present(a)


def _valid_call(call: ToolCall) -> dict:
    if call.name != TOOL_NAME:
        raise _Fail(f"called {call.name!r}, not {TOOL_NAME!r}", hints.TOOL_PARSER, "name")
    try:
        args = json.loads(call.arguments)
    except ValueError as e:
        raise _Fail(
            f"{TOOL_NAME} arguments are not JSON ({e.msg} at {e.pos}): {excerpt(call.arguments, 100)!r}",
            hints.TOOL_PARSER,
            "args",
        ) from None
    try:
        jsonschema.validate(args, TOOL_SCHEMA)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        raise _Fail(
            f"{TOOL_NAME} arguments break the tool's schema at {where}: {e.message}; "
            f"got {excerpt(call.arguments, 100)}",
            hints.TOOL_PARSER,
            "args",
        ) from None
    return args


def _tool_call_ok(a: Answer) -> list[dict]:
    """All the tool-call rules; returns the parsed arguments of each call."""
    # Thinking is on for tool requests: no reasoning (or </think> in content) means the
    # reasoning parser is missing, which also stops vLLM from extracting the call.
    unsplit = not a.reasoning.strip() or any(m in a.content for m in THINK_MARKERS)
    parser_hint = hints.TOOLS_NEED_REASONING if unsplit and not a.tool_calls else hints.TOOL_PARSER
    _no_tool_text(a, parser_hint)
    at = min((a.reasoning.find(m) for m in TOOL_MARKERS if m in a.reasoning), default=-1)
    if at >= 0:
        raise _Fail(
            f"no tool call outside the reasoning; {a.reasoning_field} holds {excerpt(a.reasoning[at:], 80)!r}",
            hints.TOOL_CALL_IN_REASONING,
        )
    if not a.tool_calls:
        raise _Fail(
            f"no tool_calls (finish_reason={a.finish_reason}); content: {excerpt(a.content, 80)!r}",
            parser_hint,
        )
    if a.finish_reason != "tool_calls":
        raise _Fail(f'finish_reason is {a.finish_reason!r}, not "tool_calls"', hints.FINISH_REASON)
    _no_think_tags(a)
    return [_valid_call(c) for c in a.tool_calls]


def _describe_calls(a: Answer, args: list[dict]) -> str:
    return ", ".join(f"{c.name}({json.dumps(x, ensure_ascii=False)})" for c, x in zip(a.tool_calls, args))


def _stream_fragments_ok(a: Answer) -> None:
    """Streamed tool-call pieces must concatenate to one JSON object; name them the bug if not."""
    for call in a.tool_calls:
        distinct = sorted(set(call.names))
        if len(distinct) > 1:
            raise _Fail(f"one streamed call carried several names: {distinct}", hints.STREAM_WRONG_NAME, "name")
        try:
            json.loads(call.arguments)
            continue
        except ValueError:
            pass
        frags = call.fragments
        joined = excerpt(call.arguments, 100)
        if len(frags) > 1 and _is_object(frags[-1]):
            raise _Fail(
                f"the last of {len(frags)} argument fragments re-sends the whole object "
                f"{excerpt(frags[-1], 60)!r}; concatenated: {joined!r}",
                hints.STREAM_ARGS_RESENT,
                "args",
            )
        raise _Fail(
            f"{len(frags)} streamed argument fragments do not concatenate to JSON: {joined!r}",
            hints.STREAM_ARGS_MALFORMED,
            "args",
        )


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _judge(name: str, body: Callable[[], str]) -> CheckResult:
    try:
        return passed(name, body())
    except _Fail as f:
        return failed(name, f.detail, f.hint)
    except BadAnswer as b:
        return failed(name, b.detail, b.hint)


# --- the checks --------------------------------------------------------------------------


def check_chat(ex: dict[str, Exchange]) -> CheckResult:
    def body():
        a = read_answer(ex["chat"])
        _content_present(a)
        return f"content {excerpt(a.content, 60)!r}"

    return _judge("chat", body)


def check_reasoning_on(ex) -> CheckResult:
    def body():
        a = read_answer(ex["chat"])
        _reasoning_present(a)
        return f"{len(a.reasoning)} chars in {a.reasoning_field}, content {excerpt(a.content, 40)!r}"

    return _judge("reasoning-on", body)


def _reasoning_absent(a: Answer) -> str:
    _no_think_tags(a)
    if a.reasoning.strip():
        where = ("delta." if a.streamed else "") + str(a.reasoning_field)
        if a.content.strip():
            raise _Fail(f"enable_thinking=false, yet {len(a.reasoning)} chars in {where}", hints.THINKING_NOT_OFF)
        raise _Fail(
            f"enable_thinking=false, yet {len(a.reasoning)} chars in {where} and content is empty",
            hints.WHOLE_ANSWER_IN_REASONING,
        )
    _content_present(a)
    return f"no reasoning, content {excerpt(a.content, 60)!r}"


def check_reasoning_off(ex) -> CheckResult:
    return _judge("reasoning-off", lambda: _reasoning_absent(read_answer(ex["nothink"])))


def check_tool_call(ex) -> CheckResult:
    def body():
        a = read_answer(ex["tool"])
        return _describe_calls(a, _tool_call_ok(a))

    return _judge("tool-call", body)


def _twin_note(streamed_ok: Callable[[Answer], str], a: Answer, twin: Exchange, agree) -> str:
    """Compare with the non-streamed twin when that one is usable; its own faults are its
    own check's business."""
    try:
        t = read_answer(twin)
    except BadAnswer:
        return streamed_ok(a) + " (non-streamed twin unusable: not compared)"
    detail = streamed_ok(a)
    agree(a, t)
    return detail + "; agrees with non-streamed"


def _agree_reasoning(s: Answer, t: Answer) -> None:
    for what, sv, tv in (
        ("reasoning", bool(s.reasoning.strip()), bool(t.reasoning.strip())),
        ("content", bool(s.content.strip()), bool(t.content.strip())),
        ("tool calls", bool(s.tool_calls), bool(t.tool_calls)),
    ):
        if sv != tv:
            raise _Fail(
                f"streamed {'has' if sv else 'has no'} {what}, non-streamed {'has' if tv else 'has no'}",
                hints.STREAM_DISAGREES,
            )


def check_reasoning_on_stream(ex) -> CheckResult:
    def ok(a: Answer) -> str:
        _reasoning_present(a)
        return f"{len(a.reasoning)} chars in delta.{a.reasoning_field}, content {excerpt(a.content, 40)!r}"

    return _judge(
        "reasoning-on-stream",
        lambda: _twin_note(ok, read_answer(ex["chat-stream"]), ex["chat"], _agree_reasoning),
    )


def check_reasoning_off_stream(ex) -> CheckResult:
    return _judge(
        "reasoning-off-stream",
        lambda: _twin_note(
            _reasoning_absent, read_answer(ex["nothink-stream"]), ex["nothink"], _agree_reasoning
        ),
    )


def _agree_tools(s: Answer, t: Answer) -> None:
    sn, tn = [c.name for c in s.tool_calls], [c.name for c in t.tool_calls]
    if sn != tn:
        raise _Fail(f"streamed calls {sn}, non-streamed {tn}", hints.STREAM_WRONG_NAME)
    for sc, tc in zip(s.tool_calls, t.tool_calls):
        try:
            sk, tk = sorted(json.loads(sc.arguments)), sorted(json.loads(tc.arguments))
        except (ValueError, TypeError):
            continue  # the non-streamed twin's own check reports unparsable arguments
        # Keys, not values: with sampling on, "Tokyo" and "Tokyo, Japan" are both fine.
        if sk != tk:
            raise _Fail(f"streamed argument keys {sk}, non-streamed {tk}", hints.STREAM_DISAGREES)


def check_tool_call_stream(ex) -> CheckResult:
    def body():
        a = read_answer(ex["tool-stream"])
        try:
            twin = read_answer(ex["tool"])
        except BadAnswer:
            twin = None
        twin_right = twin is not None and _holds(_tool_call_ok, twin)
        try:
            _stream_fragments_ok(a)
            args = _tool_call_ok(a)
        except _Fail as f:
            raise _stream_blame(f, twin, twin_right) from None
        detail = f"{_describe_calls(a, args)} from {sum(len(c.fragments) for c in a.tool_calls)} fragments"
        if twin is None:
            return detail + " (non-streamed twin unusable: not compared)"
        if twin_right:
            _agree_tools(a, twin)
        return detail + ("; agrees with non-streamed" if twin_right else "")

    return _judge("tool-call-stream", body)


def _holds(rule: Callable[[Answer], object], a: Answer) -> bool:
    try:
        rule(a)
        return True
    except _Fail:
        return False


def _stream_blame(f: _Fail, twin: Answer | None, twin_right: bool) -> _Fail:
    """Point the hint at the right culprit: a flag when both paths are wrong, a streaming bug
    when only the streamed path is."""
    if twin_right and f.hint in (hints.TOOL_PARSER, hints.FINISH_REASON):
        by_what = {"name": hints.STREAM_WRONG_NAME, "args": hints.STREAM_ARGS_MALFORMED}
        hint = by_what.get(f.about, hints.STREAM_DISAGREES)
        return _Fail(f.detail + " (the non-streamed answer is right)", hint, f.about)
    if twin is not None and not twin_right and f.hint in (hints.STREAM_ARGS_MALFORMED, hints.STREAM_WRONG_NAME):
        return _Fail(f.detail + " (the non-streamed answer is wrong too)", hints.TOOL_PARSER, f.about)
    return f


def check_tool_round_trip(ex) -> CheckResult:
    def body():
        a = read_answer(ex["result"])
        _no_tool_text(a)
        _no_think_tags(a)
        if a.tool_calls or a.finish_reason == "tool_calls":
            raise _Fail(
                f"answered the tool result with another call ({', '.join(c.name for c in a.tool_calls)})",
                hints.ROUND_TRIP,
            )
        try:
            _content_present(a)
        except _Fail as f:
            raise _Fail(f.detail, f.hint if f.hint == hints.WHOLE_ANSWER_IN_REASONING else hints.ROUND_TRIP)
        return f"final answer {excerpt(a.content, 60)!r}"

    return _judge("tool-round-trip", body)


def check_no_tools(ex) -> CheckResult:
    def body():
        a = read_answer(ex["chat"])
        _no_tool_calls(a, hints.TOOLS_WITHOUT_TOOLS)
        _no_tool_text(a)
        _no_think_tags(a)
        _content_present(a)
        return f"plain content, finish_reason={a.finish_reason}"

    return _judge("no-tools", body)


CHECKS: list[Check] = [
    Check("chat", ("chat",), check_chat),
    Check("reasoning-on", ("chat",), check_reasoning_on),
    Check("reasoning-off", ("nothink",), check_reasoning_off),
    Check("tool-call", ("tool",), check_tool_call),
    Check("reasoning-on-stream", ("chat-stream", "chat"), check_reasoning_on_stream),
    Check("reasoning-off-stream", ("nothink-stream", "nothink"), check_reasoning_off_stream),
    Check("tool-call-stream", ("tool-stream", "tool"), check_tool_call_stream),
    Check("tool-round-trip", ("result",), check_tool_round_trip),
    Check("no-tools", ("chat",), check_no_tools),
]
