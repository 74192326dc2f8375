"""What a correct engine answers, in vLLM's and SGLang's response shapes.

The one place that knows the engines' JSON: swap these builders for ones driven by the
engines' own parsers (SGLang's `ReasoningParser`/`FunctionCallParser`, a real vLLM CPU
server's recordings) without touching the tests. A `Reply` is what the model meant; `RAW`
is the GLM-format text that means it, for builders that parse raw text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from smoke.kinds import CHAT, NAMED, NOTHINK, PARALLEL, REQUIRED, RESULT, TOOL, TRUNCATED, kind_of  # noqa: F401

ENGINES = ("vllm", "sglang")
REASONING_FIELD = {"vllm": "reasoning", "sglang": "reasoning_content"}


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict | str  # a str is sent verbatim (e.g. not JSON)
    fragments: tuple[str, ...] | None = None  # streamed pieces; default: split `arguments`
    id: str | None = None  # default: the engine's id for the call's position

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
    completion_tokens: int = 20  # usage.completion_tokens

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.calls else "stop")


WEATHER = Call("get_weather", {"city": "Tokyo"})
PARIS = Call("get_weather", {"city": "Paris"})

# What the model means for each kind of request (smoke/kinds.py).
SCRIPT = {
    CHAT: Reply(reasoning="The user wants a short greeting.", content="Hello! Nice to meet you."),
    NOTHINK: Reply(content="Hello! Nice to meet you."),
    TOOL: Reply(reasoning="The user asks for the weather in Tokyo; call get_weather.", calls=(WEATHER,)),
    RESULT: Reply(reasoning="The tool says sunny and 22 C.", content="It is sunny and 22 °C in Tokyo."),
    PARALLEL: Reply(reasoning="Two cities, so two calls.", calls=(WEATHER, PARIS)),
    # Thinking cut by max_tokens: all of it in reasoning, nothing else.
    TRUNCATED: Reply(reasoning="A kilo is a kilo whatever it is made of, so", finish_reason="length"),
    REQUIRED: Reply(reasoning="The user asks for the weather in Tokyo; call get_weather.", calls=(WEATHER,)),
    NAMED: Reply(reasoning="The user asks for the weather in Tokyo; call get_weather.", calls=(WEATHER,)),
}

_CALL_XML = "<tool_call>get_weather<arg_key>city</arg_key><arg_value>{}</arg_value></tool_call>"
RAW = {
    CHAT: "The user wants a short greeting.</think>Hello! Nice to meet you.",
    NOTHINK: "Hello! Nice to meet you.",
    TOOL: "The user asks for the weather in Tokyo; call get_weather.</think>" + _CALL_XML.format("Tokyo"),
    RESULT: "The tool says sunny and 22 C.</think>It is sunny and 22 °C in Tokyo.",
    PARALLEL: "Two cities, so two calls.</think>" + _CALL_XML.format("Tokyo") + _CALL_XML.format("Paris"),
    TRUNCATED: "A kilo is a kilo whatever it is made of, so",
}
RAW[REQUIRED] = RAW[NAMED] = RAW[TOOL]


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
        return {"id": call.id or f"chatcmpl-tool-{i:032x}", "type": "function", "function": fn}
    return {"id": call.id or f"call_{i:024x}", "index": i, "type": "function", "function": fn}


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
    n = reply.completion_tokens
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
        "usage": {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n},
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



# --- the prompt, as /tokenize + /detokenize show it --------------------------------------


def prompt(body: dict, tool_content: str = "string") -> str:
    """A GLM-5-like rendering of a chat conversation. `tool_content` is how the template gets a
    tool message's content: "string" (right), "list" (a list of content parts, printed as
    GLM-5's template prints it: a Python repr) or "empty" (GLM-5.1's template with a list)."""
    out = ["[gMASK]<sop>"]
    if body.get("tools"):
        out.append("<|system|># Tools\n<tools>" + "".join(json.dumps(t) for t in body["tools"]) + "</tools>")
    for m in body.get("messages") or []:
        role, content = m.get("role"), m.get("content") or ""
        if role == "tool":
            shown = {"string": content, "list": repr([{"type": "text", "text": content}]), "empty": ""}
            out.append(f"<|observation|><tool_response>{shown[tool_content]}</tool_response>")
        elif role == "assistant":
            calls = "".join(
                _CALL_XML.format(json.loads(c["function"]["arguments"]).get("city", ""))
                for c in m.get("tool_calls") or []
            )
            out.append(f"<|assistant|></think>{content}{calls}")
        else:
            out.append(f"<|{role}|>{content}")
    thinking = (body.get("chat_template_kwargs") or {}).get("enable_thinking") is not False
    out.append("<|assistant|>" + ("<think>" if thinking else "</think>"))
    return "".join(out)
