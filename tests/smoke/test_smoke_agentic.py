"""The second tier (smoke/agentic.py): each defect an operator has hit a step further in than
one tool call fails exactly the check it should, with the hint that names the flag, the image
or the known bug. Every case breaks the correct fake engine in one way, in both engines'
shapes, and asserts the full set of failing checks."""

import json
from dataclasses import replace

import pytest
from shapes import NAMED, PARALLEL, PARIS, RAW, REQUIRED, SCRIPT, TOOL, TRUNCATED, WEATHER, Call, Reply

from smoke import hints
from smoke.agentic import TRUNCATED_MAX_TOKENS

P, T, F = SCRIPT[PARALLEL], SCRIPT[TRUNCATED], SCRIPT[REQUIRED]
TOOL_XML = RAW[TOOL].split("</think>")[1]
MERGED = Call("get_weather", '{"city": "Tokyo"}{"city": "Paris"}')
GLM5_58 = "zai-org/GLM-5#58"
BOTH_PARALLEL = {"parallel-tools": GLM5_58, "parallel-tools-stream": GLM5_58}


def both(kind, reply):
    return [(kind, None, reply)]


def streamed(kind, reply):
    return [(kind, True, reply)]


# id: (replies to set, {failing check: hint fragment})
CASES = {
    "one call of two dropped": (both(PARALLEL, replace(P, calls=(WEATHER,))), BOTH_PARALLEL),
    "two calls merged into one's arguments": (both(PARALLEL, replace(P, calls=(MERGED,))), BOTH_PARALLEL),
    "two cities merged into one call": (
        both(PARALLEL, replace(P, calls=(Call("get_weather", {"city": "Tokyo", "city2": "Paris"}),))),
        BOTH_PARALLEL,
    ),
    "ids repeated": (
        both(PARALLEL, replace(P, calls=(replace(WEATHER, id="call_0"), replace(PARIS, id="call_0")))),
        BOTH_PARALLEL,
    ),
    "the same city twice": (both(PARALLEL, replace(P, calls=(WEATHER, WEATHER))), BOTH_PARALLEL),
    "the second call's arguments break the schema": (
        both(PARALLEL, replace(P, calls=(WEATHER, Call("get_weather", {"town": "Paris"})))),
        BOTH_PARALLEL,
    ),
    "a call dropped only when streamed": (
        streamed(PARALLEL, replace(P, calls=(WEATHER,))),
        {"parallel-tools-stream": "sglang#35564"},
    ),
    "arguments merged only when streamed": (
        streamed(PARALLEL, replace(P, calls=(MERGED,))),
        {"parallel-tools-stream": "non-streamed answer is right"},
    ),
    "streamed calls with other argument keys": (
        streamed(PARALLEL, replace(P, calls=(WEATHER, Call("get_weather", {"city": "Paris", "unit": "C"})))),
        {"parallel-tools-stream": "sglang#35564"},
    ),
    "<think> in a truncated content": (
        both(TRUNCATED, Reply(content="<think>" + T.reasoning, finish_reason="length")),
        {"reasoning-truncated": "vllm#48201"},
    ),
    "</think> in a truncated content": (
        both(TRUNCATED, Reply(reasoning="A kilo", content="</think>is a kilo", finish_reason="length")),
        {"reasoning-truncated": "--reasoning-parser glm45"},
    ),
    "truncated thinking returned as content": (
        both(TRUNCATED, Reply(content=T.reasoning, finish_reason="length")),
        {"reasoning-truncated": "vllm#48201"},
    ),
    "truncated thinking lost: an empty answer": (
        both(TRUNCATED, Reply(finish_reason="length")),
        {"reasoning-truncated": "thinking_token_budget"},
    ),
    "max_tokens ignored": (
        both(TRUNCATED, replace(T, content="Equal.", finish_reason="stop", completion_tokens=300)),
        {"reasoning-truncated": "more tokens than max_tokens"},
    ),
    "required: the call left as text": (
        both(REQUIRED, Reply(reasoning=F.reasoning, content=TOOL_XML)),
        {"tool-choice-required": "--enable-auto-tool-choice"},
    ),
    "required: a JSON array left unparsed in content": (
        both(REQUIRED, Reply(content='[{"name": "get_weather", "parameters": {"city": "Tokyo"}}]')),
        {"tool-choice-required": "structured output"},
    ),
    "required: arguments not JSON": (
        both(REQUIRED, replace(F, calls=(Call("get_weather", "city=Tokyo"),))),
        {"tool-choice-required": "structured output"},
    ),
    "named: the call left as text": (
        both(NAMED, Reply(reasoning=F.reasoning, content=TOOL_XML)),
        {"tool-choice-named": "--enable-auto-tool-choice"},
    ),
    "named: another function called": (
        both(NAMED, replace(F, calls=(Call("get_time", {"city": "Tokyo"}),))),
        {"tool-choice-named": "structured output"},
    ),
    "named: the whole call text as arguments": (
        both(NAMED, replace(F, calls=(Call("get_weather", TOOL_XML),))),
        {"tool-choice-named": "structured output"},
    ),
    "named: cut by max_tokens": (
        both(NAMED, replace(F, finish_reason="length")),
        {"tool-choice-named": "structured output"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_agent_level_defect_fails_the_right_check_with_the_right_hint(engine, run_smoke, case):
    replies, expected = CASES[case]
    for kind, stream, reply in replies:
        engine.reply(kind, reply, stream)
    run = run_smoke(engine.url)
    assert run.code == 1, run.out
    assert run.failed() == set(expected), run.out
    for name, fragment in expected.items():
        assert fragment in (run.check(name)["hint"] + run.check(name)["detail"]), run.out
        assert run.check(name)["hint"], name


@pytest.mark.parametrize(
    "content, hint",
    [("list", hints.TOOL_RESULT_LIST), ("empty", hints.TOOL_RESULT_MISSING)],
)
def test_a_tool_result_missing_from_the_prompt_names_the_content_format(engine, run_smoke, content, hint):
    engine.tool_content = content
    run = run_smoke(engine.url)
    assert run.failed() == {"tool-result-reaches-model"}, run.out
    check = run.check("tool-result-reaches-model")
    assert check["hint"] == hint
    assert "--chat-template-content-format string" in check["hint"]
    if content == "list":
        assert "[{'type': 'text'" in check["detail"]


@pytest.mark.parametrize("status, says", [(404, "no /tokenize here (HTTP 404"), (422, "does not take chat messages")])
def test_no_chat_aware_tokenize_is_a_skip_with_the_reason(engine, run_smoke, status, says):
    engine.tokenize_status = status
    run = run_smoke(engine.url)
    assert run.code == 0, run.out
    assert run.status("tool-result-reaches-model") == "SKIP"
    assert says in run.check("tool-result-reaches-model")["detail"]


def test_a_failing_tokenize_is_a_fail_not_a_skip(engine, run_smoke):
    engine.tokenize_status = 500
    run = run_smoke(engine.url)
    assert run.failed() == {"tool-result-reaches-model"}, run.out
    check = run.check("tool-result-reaches-model")
    assert check["hint"] == hints.PROMPT_ENDPOINT and "/tokenize: HTTP 500" in check["detail"]


def test_thinking_that_ends_within_max_tokens_is_a_skip(engine, run_smoke):
    engine.reply(TRUNCATED, replace(T, content="Equal.", finish_reason="stop", completion_tokens=TRUNCATED_MAX_TOKENS))
    run = run_smoke(engine.url)
    assert run.code == 0, run.out
    assert run.status("reasoning-truncated") == "SKIP"
    assert "nothing was cut" in run.check("reasoning-truncated")["detail"]


def test_a_single_broken_call_names_the_flag_not_the_parallel_bug(engine, run_smoke):
    # --tool-call-parser wrong: one call and two calls fail alike, and the hint says the flag.
    for kind in (TOOL, PARALLEL):
        engine.reply(kind, replace(SCRIPT[kind], content=RAW[kind].split("</think>")[1], calls=()))
    run = run_smoke(engine.url)
    for name in ("parallel-tools", "parallel-tools-stream", "tool-call", "tool-call-stream"):
        assert run.check(name)["hint"] == hints.TOOL_PARSER, run.out


def test_each_check_records_its_requests_and_raw_answers(engine, run_smoke):
    engine.reply(PARALLEL, replace(P, calls=(WEATHER,)))
    run = run_smoke(engine.url, "--api-key", "sk-secret-123")
    assert "sk-secret-123" not in json.dumps(run.report)
    check = run.check("parallel-tools-stream")
    assert [e["probe"] for e in check["exchanges"]] == ["parallel-stream", "parallel", "tool"]
    stream, plain, _ = check["exchanges"]
    assert stream["request"]["stream"] is True and stream["request"]["messages"][0]["content"].endswith("both cities.")
    assert stream["answer"].endswith("[DONE]") and '"tool_calls"' in stream["answer"]
    assert json.loads(plain["answer"])["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert (plain["method"], plain["path"], plain["status"]) == ("POST", "/v1/chat/completions", 200)
    prompt = run.check("tool-result-reaches-model")["exchanges"][0]
    assert prompt["path"] == "/tokenize + /detokenize" and "tool_response" in prompt["answer"]


def test_a_huge_answer_is_recorded_cut(engine, run_smoke):
    engine.reply(TRUNCATED, replace(T, reasoning="x" * 20000))
    run = run_smoke(engine.url)
    answer = run.check("reasoning-truncated")["exchanges"][0]["answer"]
    assert len(answer) < 4100 and answer.endswith("chars]")
