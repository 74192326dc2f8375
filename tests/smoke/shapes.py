"""What a correct engine answers, in vLLM's and SGLang's response shapes.

The one place that knows the engines' JSON: swap these builders for ones driven by the
engines' own parsers (SGLang's `ReasoningParser`/`FunctionCallParser`, a real vLLM CPU
server's recordings) without touching the tests. A `Reply` is what the model meant; `RAW`
is the GLM-format text that means it, for builders that parse raw text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

ENGINES = ("vllm", "sglang")
REASONING_FIELD = {"vllm": "reasoning", "sglang": "reasoning_content"}


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict | str  # a str is sent verbatim (e.g. not JSON)
    fragments: tuple[str, ...] | None = None  # streamed pieces; default: split `arguments`

    @property
    def text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class Reply:
    content: str = ""
    reasoning: str = ""
    calls: tuple[Call, ...] = ()
    finish_reason: str | None = None  # default: tool_calls if calls else stop

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.calls else "stop")


WEATHER = Call("get_weather", {"city": "Tokyo"})

# The kinds of request the CI's scripted model tells apart (see smoke/checks.py).
SCRIPT = {
    "a": Reply(reasoning="The user wants a short greeting.", content="Hello! Nice to meet you."),
    "b": Reply(content="Hello! Nice to meet you."),
    "c": Reply(reasoning="The user asks for the weather in Tokyo; call get_weather.", calls=(WEATHER,)),
    "d": Reply(reasoning="The tool says sunny and 22 C.", content="It is sunny and 22 °C in Tokyo."),
}

RAW = {
    "a": "The user wants a short greeting.</think>Hello! Nice to meet you.",
    "b": "Hello! Nice to meet you.",
    "c": "The user asks for the weather in Tokyo; call get_weather.</think>"
    "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Tokyo</arg_value></tool_call>",
    "d": "The tool says sunny and 22 C.</think>It is sunny and 22 °C in Tokyo.",
}


def kind_of(body: dict) -> str:
    """Which scripted reply a request gets: the same rule as the CI's tiny model."""
    if body.get("tools"):
        return "d" if (body.get("messages") or [{}])[-1].get("role") == "tool" else "c"
    if (body.get("chat_template_kwargs") or {}).get("enable_thinking") is False:
        return "b"
    return "a"


def pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def default_fragments(engine: str, call: Call) -> list[str]:
    text = call.text
    if engine == "sglang":
        # SGLang's GLM detector streams `{`, then key/value pieces, then `}`.
        if text.startswith("{") and text.endswith("}") and len(text) > 2:
            return ["{"] + pieces(text[1:-1], 9) + ["}"]
        return pieces(text, 9)
    return pieces(text, 6)


# --- non-streamed ------------------------------------------------------------------------


def _tool_call(engine: str, i: int, call: Call) -> dict:
    fn = {"name": call.name, "arguments": call.text}
    if engine == "vllm":
        return {"id": f"chatcmpl-tool-{i:032x}", "type": "function", "function": fn}
    return {"id": f"call_{i:024x}", "index": i, "type": "function", "function": fn}


def message(engine: str, reply: Reply) -> dict:
    calls = [_tool_call(engine, i, c) for i, c in enumerate(reply.calls)]
    if engine == "vllm":
        return {
            "role": "assistant",
            "content": reply.content or None,
            "refusal": None,
            "annotations": None,
            "audio": None,
            "function_call": None,
            "tool_calls": calls,
            "reasoning": reply.reasoning or None,
        }
    return {
        "role": "assistant",
        "content": reply.content or None,
        "reasoning_content": reply.reasoning or None,
        "tool_calls": calls or None,
    }


def completion(engine: str, reply: Reply, model: str) -> dict:
    choice = {"index": 0, "message": message(engine, reply), "logprobs": None, "finish_reason": reply.finish}
    if engine == "vllm":
        choice["stop_reason"] = None
    else:
        choice["matched_stop"] = 151336
    return {
        "id": "chatcmpl-smoke",
        "object": "chat.completion",
        "created": 1767225600,
        "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32},
    }


# --- streamed ----------------------------------------------------------------------------


def _chunk(model: str, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-smoke",
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def chunks(engine: str, reply: Reply, model: str) -> list[dict]:
    """The `data:` payloads of a streamed answer, without the closing `[DONE]`."""
    field_ = REASONING_FIELD[engine]
    sg = engine == "sglang"
    out = [_chunk(model, {"role": "assistant", "content": None if sg else ""})]
    for p in pieces(reply.reasoning):
        out.append(_chunk(model, {field_: p, **({"content": None} if sg else {})}))
    for p in pieces(reply.content):
        out.append(_chunk(model, {"content": p}))
    for i, call in enumerate(reply.calls):
        head = _tool_call(engine, i, call)
        head["index"] = i
        head["function"] = {"name": call.name, "arguments": ""}
        out.append(_chunk(model, {"tool_calls": [head]}))
        for frag in call.fragments if call.fragments is not None else default_fragments(engine, call):
            fn = {"arguments": frag, **({"name": None} if sg else {})}
            out.append(_chunk(model, {"tool_calls": [{"index": i, "function": fn}]}))
    out.append(_chunk(model, {} if sg else {"content": ""}, reply.finish))
    return out


def sse(payloads: list[dict], done: bool = True) -> list[str]:
    lines = [f"data: {json.dumps(p, ensure_ascii=False)}\n\n" for p in payloads]
    return lines + (["data: [DONE]\n\n"] if done else [])

