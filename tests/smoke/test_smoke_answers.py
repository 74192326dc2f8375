"""Each way a GLM server answers wrongly fails exactly the checks it should, with the right hint.

Every case breaks the correct fake engine in one way, in both engines' shapes, and asserts
the full set of failing checks (so the others are shown to still pass: checks are
independent) and a hint fragment for each failing check.
"""

from dataclasses import replace

import pytest
from shapes import CHAT, NOTHINK, RAW, RESULT, SCRIPT, TOOL, WEATHER, Call, Reply

TOOL_XML = RAW[TOOL].split("</think>")[1]
A, B, C, D = SCRIPT[CHAT], SCRIPT[NOTHINK], SCRIPT[TOOL], SCRIPT[RESULT]


def both(kind, reply):
    return [(kind, None, reply)]


def streamed(kind, reply):
    return [(kind, True, reply)]


GLM47 = "--tool-call-parser glm47"
GLM45 = "--reasoning-parser glm45"

# id: (replies to set, {failing check: hint fragment})
CASES = {
    # --tool-call-parser glm45 (or none): GLM-5's call stays XML text in content.
    "tool call XML left in content": (
        both(TOOL, replace(C, content=TOOL_XML, calls=())),
        {"tool-call": GLM47, "tool-call-stream": GLM47},
    ),
    # No --reasoning-parser, as vLLM 0.32 answered a tool request on the CPU test server.
    "no reasoning parser: the call is lost": (
        both(TOOL, Reply(content="The user asks for the weather in Tokyo; call get_weather.")),
        {"tool-call": GLM45, "tool-call-stream": GLM45},
    ),
    "no reasoning parser: </think> and the call XML in content": (
        both(TOOL, Reply(content=RAW[TOOL])),
        {"tool-call": GLM45, "tool-call-stream": GLM45},
    ),
    # No --reasoning-parser: vLLM returns the raw `reasoning</think>answer` as content.
    "</think> in content": (
        both(CHAT, Reply(content=RAW[CHAT])),
        {"reasoning-on": GLM45, "reasoning-on-stream": GLM45, "no-tools": GLM45},
    ),
    "<think> in content": (
        both(CHAT, Reply(content="<think>" + RAW[CHAT])),
        {"reasoning-on": GLM45, "reasoning-on-stream": GLM45, "no-tools": GLM45},
    ),
    "no reasoning at all with thinking on": (
        both(CHAT, replace(A, reasoning="")),
        {"reasoning-on": GLM45, "reasoning-on-stream": GLM45},
    ),
    "arguments not JSON": (
        both(TOOL, replace(C, calls=(Call("get_weather", "city=Tokyo"),))),
        {"tool-call": GLM47, "tool-call-stream": "wrong too"},
    ),
    "arguments missing the required key": (
        both(TOOL, replace(C, calls=(Call("get_weather", {"location": "Tokyo"}),))),
        {"tool-call": GLM47, "tool-call-stream": GLM47},
    ),
    "argument of the wrong type": (
        both(TOOL, replace(C, calls=(Call("get_weather", {"city": 42}),))),
        {"tool-call": GLM47, "tool-call-stream": GLM47},
    ),
    "wrong function name": (
        both(TOOL, replace(C, calls=(replace(WEATHER, name="get_weather<arg_key>city"),))),
        {"tool-call": GLM47, "tool-call-stream": GLM47},
    ),
    'finish_reason "stop" with tool calls': (
        both(TOOL, replace(C, finish_reason="stop")),
        {"tool-call": '"tool_calls"', "tool-call-stream": '"tool_calls"'},
    ),
    "tool call left inside the reasoning": (
        both(TOOL, Reply(reasoning=RAW[TOOL].replace("</think>", " "))),
        {"tool-call": "inside the reasoning", "tool-call-stream": "inside the reasoning"},
    ),
    "streamed fragments that do not concatenate to JSON": (
        streamed(TOOL, replace(C, calls=(replace(WEATHER, fragments=('{"city": "Tok', 'yo"')),))),
        {"tool-call-stream": "vllm#34449"},
    ),
    "final streamed chunk re-sends the whole arguments": (
        streamed(TOOL, replace(C, calls=(replace(WEATHER, fragments=('{"city": "', 'Tokyo"}', '{"city": "Tokyo"}')),))),
        {"tool-call-stream": "vllm#42167"},
    ),
    "wrong name only when streamed": (
        streamed(TOOL, replace(C, calls=(replace(WEATHER, name="get_time"),))),
        {"tool-call-stream": "vllm#39757"},
    ),
    "schema broken only when streamed": (
        streamed(TOOL, replace(C, calls=(Call("get_weather", {"town": "Tokyo"}),))),
        {"tool-call-stream": "vllm#34449"},
    ),
    "streamed call has other argument keys than the non-streamed one": (
        streamed(TOOL, replace(C, calls=(Call("get_weather", {"city": "Tokyo", "unit": "C"}),))),
        {"tool-call-stream": "disagree"},
    ),
    "whole answer in reasoning, empty content (thinking on)": (
        both(CHAT, Reply(reasoning=A.content)),
        {n: "sglang#37645" for n in ("chat", "reasoning-on", "reasoning-on-stream", "no-tools")},
    ),
    "whole answer in reasoning, empty content (thinking off)": (
        both(NOTHINK, Reply(reasoning=B.content)),
        {"reasoning-off": "sglang#37645", "reasoning-off-stream": "sglang#37645"},
    ),
    "reasoning despite enable_thinking=false": (
        both(NOTHINK, replace(B, reasoning="Let me think.")),
        {"reasoning-off": "enable_thinking=false was ignored", "reasoning-off-stream": "enable_thinking=false was ignored"},
    ),
    "</think> in content with thinking off": (
        both(NOTHINK, Reply(content="</think>" + B.content)),
        {"reasoning-off": GLM45, "reasoning-off-stream": GLM45},
    ),
    "empty answer with thinking off": (
        both(NOTHINK, Reply()),
        {"reasoning-off": "returned no text", "reasoning-off-stream": "returned no text"},
    ),
    "tool call on a request without tools": (
        both(CHAT, replace(A, calls=(WEATHER,))),
        {"no-tools": "offered no tools"},
    ),
    "tool XML in a plain answer": (
        both(CHAT, replace(A, content=A.content + TOOL_XML)),
        {"no-tools": GLM47},
    ),
    "streamed plain answer grows a tool call": (
        streamed(CHAT, replace(A, calls=(WEATHER,))),
        {"reasoning-on-stream": "disagree"},
    ),
    "tool result answered with another call": (
        both(RESULT, replace(D, content="", calls=(WEATHER,))),
        {"tool-round-trip": "tool result did not lead to an answer"},
    ),
    "tool result answered with nothing": (
        both(RESULT, Reply()),
        {"tool-round-trip": "tool result did not lead to an answer"},
    ),
    "tool result answered in reasoning only": (
        both(RESULT, Reply(reasoning=D.content)),
        {"tool-round-trip": "sglang#37645"},
    ),
    "tool XML after the tool result": (
        both(RESULT, replace(D, content=TOOL_XML)),
        {"tool-round-trip": GLM47},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_answer_fails_the_right_checks_with_the_right_hint(engine, run_smoke, case):
    replies, expected = CASES[case]
    for kind, stream, reply in replies:
        engine.reply(kind, reply, stream)
    run = run_smoke(engine.url)
    assert run.code == 1, run.out
    assert run.failed() == set(expected), run.out
    for name, fragment in expected.items():
        assert fragment in (run.check(name)["hint"] + run.check(name)["detail"]), run.out
        assert run.check(name)["hint"], name


def test_a_stream_whose_one_call_changes_name_matches_vllm_39757(engine, run_smoke):
    def rename_later(chunks):
        head = next(c for c in chunks if c["choices"][0]["delta"].get("tool_calls"))
        again = {**head, "choices": [{**head["choices"][0], "delta": {"tool_calls": [
            {"index": 0, "function": {"name": "get_time", "arguments": ""}}]}}]}
        at = chunks.index(head) + 1
        return chunks[:at] + [again] + chunks[at:]

    engine.edit_chunks[TOOL] = rename_later
    run = run_smoke(engine.url)
    assert run.failed() == {"tool-call-stream"}, run.out
    assert "vllm#39757" in run.check("tool-call-stream")["hint"]
    assert "several names" in run.check("tool-call-stream")["detail"]


def test_the_table_shows_each_failure_and_its_hint(engine, run_smoke):
    engine.reply(TOOL, replace(C, content=TOOL_XML, calls=()))
    run = run_smoke(engine.url)
    lines = run.out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("tool-call "))
    assert " FAIL " in lines[row] and "<tool_call> in content" in lines[row]
    assert lines[row + 1].strip().startswith("hint: start the engine with --tool-call-parser glm47")
    assert lines[-2].startswith("verdict: FAIL: 14 passed, 2 failed, 2 skipped")
