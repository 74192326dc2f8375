"""Turn an `Exchange` into what the model said: content, reasoning, tool calls, finish reason.

Both engines' shapes are read: vLLM puts reasoning in `reasoning` (older builds also, or
only, in `reasoning_content`), SGLang in `reasoning_content`. A streamed answer is assembled
from its deltas the way an OpenAI client would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import hints
from .client import Exchange, Kind, excerpt

REASONING_FIELDS = ("reasoning", "reasoning_content")


class BadAnswer(Exception):
    """The exchange gave nothing a check can judge; carries the FAIL detail and hint."""

    def __init__(self, detail: str, hint: str | None):
        super().__init__(detail)
        self.detail = detail
        self.hint = hint


@dataclass
class ToolCall:
    name: str = ""
    arguments: str = ""
    fragments: list[str] = field(default_factory=list)  # streamed argument pieces, in order
    names: list[str] = field(default_factory=list)  # every non-empty name a delta carried
    id: str = ""  # the call's id (streamed: the first one its deltas carried)


@dataclass
class Answer:
    content: str = ""
    reasoning: str = ""
    reasoning_field: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    streamed: bool = False
    completion_tokens: int | None = None  # usage.completion_tokens, when the engine sends it


def read_answer(ex: Exchange) -> Answer:
    """The answer in `ex`, or BadAnswer with the reason it cannot be judged."""
    _raise_for_exchange(ex)
    return _from_events(ex.events) if ex.events or ex.done else _from_body(ex.body)


def _raise_for_exchange(ex: Exchange) -> None:
    if ex.kind is Kind.OK:
        return
    if ex.kind is Kind.HTTP:
        body = ex.text or "(empty body)"
        raise BadAnswer(f"HTTP {ex.status}: {excerpt(body, 200)}", hints.for_status(ex.status or 0, body))
    raise BadAnswer(ex.detail, hints.for_exchange(ex.kind, ex.status, ex.text))


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _reasoning(obj: dict) -> tuple[str, str | None]:
    # NOTE: vLLM during the rename (PR #27752 .. #33402) sent the same text in both fields;
    # take the first present one so it is never counted twice.
    for name in REASONING_FIELDS:
        if obj.get(name):
            return _text(obj[name]), name
    return "", None


def _from_body(body) -> Answer:
    if not isinstance(body, dict):
        raise BadAnswer(f"answer is not a JSON object: {excerpt(repr(body), 120)}", hints.NOT_JSON)
    if "error" in body and "choices" not in body:
        raise BadAnswer(f"engine error: {excerpt(str(body['error']), 200)}", hints.SERVER_ERROR)
    try:
        choice = body["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise BadAnswer(
            f"answer has no choices[0].message: {excerpt(str(body), 160)}", hints.NOT_JSON
        ) from None
    if not isinstance(message, dict):
        raise BadAnswer(f"choices[0].message is not an object: {excerpt(str(message))}", hints.NOT_JSON)
    answer = Answer(content=_text(message.get("content")), finish_reason=choice.get("finish_reason"))
    answer.reasoning, answer.reasoning_field = _reasoning(message)
    answer.completion_tokens = _completion_tokens(body)
    for call in message.get("tool_calls") or []:
        call = call if isinstance(call, dict) else {}
        fn = call.get("function") or {}
        name, args = _text(fn.get("name")), fn.get("arguments")
        # Arguments must be a JSON string per the OpenAI API; keep a non-string visible as-is.
        args_text = args if isinstance(args, str) else repr(args)
        answer.tool_calls.append(
            ToolCall(name=name, arguments=args_text, names=[name] if name else [], id=_text(call.get("id")))
        )
    return answer


def _completion_tokens(obj: dict) -> int | None:
    usage = obj.get("usage")
    n = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return n if isinstance(n, int) else None


def _from_events(events: list[dict]) -> Answer:
    answer = Answer(streamed=True)
    content, reasoning = [], []
    calls: dict[int, ToolCall] = {}
    for n, event in enumerate(events, 1):
        if "error" in event and not event.get("choices"):
            raise BadAnswer(
                f"engine error in stream event {n}: {excerpt(str(event['error']), 200)}",
                hints.SERVER_ERROR,
            )
        answer.completion_tokens = _completion_tokens(event) or answer.completion_tokens
        choices = event.get("choices") or []
        if not choices:
            continue  # e.g. a usage-only chunk
        choice = choices[0]
        delta = choice.get("delta") or {}
        content.append(_text(delta.get("content")))
        piece, name = _reasoning(delta)
        if piece:
            reasoning.append(piece)
            answer.reasoning_field = answer.reasoning_field or name
        for pos, tc in enumerate(delta.get("tool_calls") or []):
            tc = tc or {}
            call = calls.setdefault(tc.get("index", pos), ToolCall())
            fn = tc.get("function") or {}
            if tc.get("id") and not call.id:
                call.id = _text(tc["id"])
            if fn.get("name"):
                call.names.append(fn["name"])
                call.name = call.name or fn["name"]
            args = fn.get("arguments")
            if isinstance(args, str) and args:
                call.fragments.append(args)
        if choice.get("finish_reason"):
            answer.finish_reason = choice["finish_reason"]
    answer.content = "".join(content)
    answer.reasoning = "".join(reasoning)
    for _, call in sorted(calls.items()):
        call.arguments = "".join(call.fragments)
        answer.tool_calls.append(call)
    return answer
