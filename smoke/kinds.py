"""The kinds of request the sidecar makes: one vocabulary for its checks, the tests' fake
engines (tests/smoke/shapes.py) and the CI's scripted tiny model (scripts/tinymodel.py).

A kind is whatever decides what a model answers: thinking on or off, tools offered or not,
the last message, the question asked, the tool choice. Every probe is one kind of request;
the tiny model's chat template computes the same kind from the same request (see `kind_of`)
and gives each its own scripted continuation. Standard library only: the tiny model's
builder imports this from the vLLM venv.
"""

from __future__ import annotations

CHAT = "chat"  # thinking on, no tools: reasoning</think>answer
NOTHINK = "nothink"  # enable_thinking false, no tools: answer
TOOL = "tool"  # tools offered, the user asks about one city: one call
RESULT = "result"  # tools offered, the last message is a tool result: an answer
PARALLEL = "parallel"  # tools offered, the user asks about two cities: two calls
TRUNCATED = "truncated"  # thinking on, a question that takes long thought, small max_tokens
REQUIRED = "required"  # TOOL with tool_choice "required"
NAMED = "named"  # TOOL with tool_choice naming the function

KINDS = (CHAT, NOTHINK, TOOL, RESULT, PARALLEL, TRUNCATED, REQUIRED, NAMED)

CHAT_QUESTION = "Say hello in one short sentence."
TOOL_QUESTION = "What's the weather in Tokyo?"
PARALLEL_QUESTION = "What's the weather in Tokyo and in Paris? Look up both cities."
PARALLEL_CITIES = ("Tokyo", "Paris")
TRUNCATED_QUESTION = "Think it through step by step: which is heavier, a kilo of iron or a kilo of feathers?"


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(messages: list) -> str:
    for m in reversed(messages or []):
        if isinstance(m, dict) and m.get("role") == "user":
            return _text(m.get("content"))
    return ""


def kind_of(body: dict) -> str:
    """The kind of a chat request body (or of a /tokenize body with `messages`)."""
    messages = body.get("messages") or [{}]
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    if body.get("tools"):
        if last.get("role") == "tool":
            return RESULT
        choice = body.get("tool_choice")
        if choice == "required":
            return REQUIRED
        if isinstance(choice, dict):
            return NAMED
        return PARALLEL if last_user_text(messages) == PARALLEL_QUESTION else TOOL
    if (body.get("chat_template_kwargs") or {}).get("enable_thinking") is False:
        return NOTHINK
    return TRUNCATED if last_user_text(messages) == TRUNCATED_QUESTION else CHAT
